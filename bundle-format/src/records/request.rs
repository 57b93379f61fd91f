//! A submission's body by what it asks for. Wire version 5 added a new filing and a change that
//! carry scans as variants of their own (`NewFilingWithScans`, `ChangeWithScans`), so that the
//! published layouts stayed as they were; a reader that asks what a submission requests reads
//! both variants of each alike, with the scans beside the request ([`Submission::request`]).

use super::{CancellationScope, Change, Filing, ProviderDecision, Scan, Sha256Digest, Submission};

/// What a submission asks for, borrowed from its body: one variant per request, whichever
/// wire variant carried it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request<'a> {
    /// A first filing, with the scans that say what they show (none before wire version 5).
    NewFiling {
        /// The filing.
        filing: &'a Filing,
        /// Its scans.
        scans: &'a [Scan],
    },
    /// A change to an approved filing, with the scans that support it.
    Change {
        /// The subject's filing number.
        filing_number: &'a str,
        /// What changes.
        change: &'a Change,
        /// Its scans.
        scans: &'a [Scan],
    },
    /// A cancellation.
    Cancellation {
        /// The filing number of the subject, or of the website.
        filing_number: &'a str,
        /// What is cancelled.
        scope: CancellationScope,
        /// Why, in the submitter's words.
        reason: &'a str,
    },
    /// A withdrawal of an earlier submission.
    Withdrawal {
        /// The receipt withdrawn.
        receipt: &'a str,
        /// Why, in the submitter's words.
        reason: &'a str,
    },
    /// An access provider's check of a version.
    ProviderCheck {
        /// The receipt checked.
        receipt: &'a str,
        /// The version checked.
        version: u32,
        /// That version's content hash.
        content_hash: &'a Sha256Digest,
        /// What the provider decided.
        decision: &'a ProviderDecision,
    },
}

impl Submission {
    /// What this submission asks for, whichever wire variant carries it.
    pub fn request(&self) -> Request<'_> {
        match self {
            Submission::NewFiling(filing) => Request::NewFiling { filing, scans: &[] },
            Submission::NewFilingWithScans { filing, scans } => {
                Request::NewFiling { filing, scans }
            }
            Submission::Change {
                filing_number,
                change,
            } => Request::Change {
                filing_number,
                change,
                scans: &[],
            },
            Submission::ChangeWithScans {
                filing_number,
                change,
                scans,
            } => Request::Change {
                filing_number,
                change,
                scans,
            },
            Submission::Cancellation {
                filing_number,
                scope,
                reason,
            } => Request::Cancellation {
                filing_number,
                scope: *scope,
                reason,
            },
            Submission::Withdrawal { receipt, reason } => Request::Withdrawal { receipt, reason },
            Submission::ProviderCheck {
                receipt,
                version,
                content_hash,
                decision,
            } => Request::ProviderCheck {
                receipt,
                version: *version,
                content_hash,
                decision,
            },
        }
    }

    /// The filing of a new filing, with or without scans.
    pub fn new_filing(&self) -> Option<&Filing> {
        match self.request() {
            Request::NewFiling { filing, .. } => Some(filing),
            _ => None,
        }
    }

    /// The filing number and the change of a change, with or without scans.
    pub fn change(&self) -> Option<(&str, &Change)> {
        match self.request() {
            Request::Change {
                filing_number,
                change,
                ..
            } => Some((filing_number, change)),
            _ => None,
        }
    }
}
