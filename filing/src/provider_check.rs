//! The access provider's check (待接入商核验): which submissions wait for it, and which provider
//! accounts may do it. Both sides decide it with these functions: the outer side to keep a
//! payload for the provider's page after its acknowledgement and to list what a provider may
//! check, the inner side to set a version's first review state and to accept a check that
//! crossed inward.

use bundle_format::records::{Access, Change, Submission, SubmissionVersion};

/// Whether `version` waits for an access provider's check before review: it brings in access
/// details (a new filing, a website or access change, an added website) and no access provider
/// sent it. A provider that files for its customer has checked the access details itself.
pub fn needs_provider_check(version: &SubmissionVersion) -> bool {
    version.access_provider.is_none() && !named_providers(&version.body).is_empty()
}

/// The provider accounts the access details of `submission` name, each once, in order of
/// appearance. Empty for a submission that brings in no access details (a subject change, a
/// cancellation, a withdrawal, a provider check).
pub fn named_providers(submission: &Submission) -> Vec<&str> {
    let accesses: Vec<&Access> = match submission {
        Submission::NewFiling(filing) | Submission::NewFilingWithScans { filing, .. } => {
            filing.websites.iter().map(|w| &w.access).collect()
        }
        Submission::Change { change, .. } | Submission::ChangeWithScans { change, .. } => {
            match change {
                Change::Website { website, .. } | Change::AddedWebsite(website) => {
                    vec![&website.access]
                }
                Change::Access { access, .. } => vec![access],
                Change::Subject(_) => Vec::new(),
            }
        }
        Submission::Cancellation { .. }
        | Submission::Withdrawal { .. }
        | Submission::ProviderCheck { .. } => Vec::new(),
    };
    let mut named: Vec<&str> = Vec::with_capacity(accesses.len());
    for access in accesses {
        if !named.contains(&access.provider.as_str()) {
            named.push(&access.provider);
        }
    }
    named
}

/// Whether the provider account `provider` may check `submission`: its access details name it.
/// When a filing names several providers (websites hosted by different ones), each of them
/// checks and the submission moves on once every one has confirmed.
pub fn may_check(submission: &Submission, provider: &str) -> bool {
    named_providers(submission).contains(&provider)
}
