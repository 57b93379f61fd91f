//! Where a submission enters review when the inner side accepts it (its entry state), decided
//! from the signed record alone. Both sides decide it with [`entry_state`]: the inner import
//! records it as the version's arrival, and the outer side, told by the bundle's
//! acknowledgement that the version arrived and when, shows its submitter the same state
//! without one status change per version crossing back.

use bundle_format::records::{Change, ReviewState, Submission, SubmissionVersion, Website};

use crate::provider_check::needs_provider_check;
use crate::website::pre_approval_for;

/// The review state `version` enters when the import accepts it: a withdrawal is withdrawn at
/// once; a submission that brings in access details no provider sent waits for the provider's
/// check; one whose websites name a pre-approval, or offer a service that needs one, waits for
/// it; everything else waits for the regional authority's review. `None` for an access
/// provider's check, which is an instruction about another receipt and has no review of its
/// own.
pub fn entry_state(version: &SubmissionVersion) -> Option<ReviewState> {
    match &version.body {
        Submission::Withdrawal { .. } => return Some(ReviewState::Withdrawn),
        Submission::ProviderCheck { .. } => return None,
        _ => {}
    }
    Some(if needs_provider_check(version) {
        ReviewState::AwaitingProviderCheck
    } else if needs_pre_approval(&version.body) {
        ReviewState::AwaitingPreApproval
    } else {
        ReviewState::AwaitingRegionalReview
    })
}

/// Whether a website `submission` files or changes names a pre-approval (前置审批) or offers a
/// service that needs one. A subject or access change, a cancellation, a withdrawal and a
/// provider's check file no website, so they need none.
pub fn needs_pre_approval(submission: &Submission) -> bool {
    websites(submission).into_iter().any(|website| {
        !website.pre_approvals.is_empty()
            || website
                .service_types
                .iter()
                .any(|service| pre_approval_for(*service).is_some())
    })
}

/// The websites `submission` files in full: every website of a new filing, the one a website
/// change or an added website describes.
pub fn websites(submission: &Submission) -> Vec<&Website> {
    match submission {
        Submission::NewFiling(filing) | Submission::NewFilingWithScans { filing, .. } => {
            filing.websites.iter().collect()
        }
        Submission::Change { change, .. } | Submission::ChangeWithScans { change, .. } => {
            match change {
                Change::Website { website, .. } | Change::AddedWebsite(website) => vec![website],
                Change::Access { .. } | Change::Subject(_) => Vec::new(),
            }
        }
        Submission::Cancellation { .. }
        | Submission::Withdrawal { .. }
        | Submission::ProviderCheck { .. } => Vec::new(),
    }
}
