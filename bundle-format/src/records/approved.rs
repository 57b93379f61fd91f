//! The approved record on its way out (wire version 6, SPEC.md §6.3): a filing as approved
//! inside (subject, websites with their numbers, domains, IP ranges, access and pre-approvals),
//! sent back to the intake node whose channel created the filing's first receipt, so that the
//! filing's owner, and the access provider recorded for each of its websites, can read it
//! there after the submission's payload was deleted, and start a change from it. Nobody else
//! is shown it: it is personal (certificate numbers, principals, phones, e-mail, addresses).

use bincode::{Decode, Encode};

use super::{MAX_WEBSITES, Path, ShapeError, Subject, Website, at_most, text_field};

/// Why an approved record was withdrawn: the owner's cancellation was approved.
pub const WITHDRAWN_FILING_CANCELLED: &str = "filing-cancelled";
/// Why an approved record was withdrawn: the authority revoked the filing.
pub const WITHDRAWN_FILING_REVOKED: &str = "filing-revoked";

/// A filing as it stands inside after a decision about it, addressed to its owner. The inner
/// side sends it after every approval of the filing (new filing, change, added website), and
/// after a cancellation or revocation: the filing as it remains, or its withdrawal once no
/// website of it is in service. The outer side keeps, per filing number, the record with the
/// highest `event` it applied, and only for a filing whose `origin_receipt` it issued.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct ApprovedRecord {
    /// Monotonic id of the record inside; a receiver ignores a record not newer than the one
    /// it holds for the filing number.
    pub event: u64,
    /// The subject's filing number, e.g. `京ICP备2026000001号`.
    pub filing_number: String,
    /// The receipt of the new filing that was approved under this number: its channel is the
    /// intake node the record travels to, and its account there is the filing's owner.
    pub origin_receipt: String,
    /// The account that filed `origin_receipt`, as the inner side received it. A receiver
    /// stores the record only if its own receipt names the same account.
    pub filer: String,
    /// When the decision that sent it was made, Unix seconds.
    pub at: i64,
    /// The filing as approved, or its withdrawal.
    pub state: ApprovedState,
}

/// What an [`ApprovedRecord`] says of its filing.
// The approved filing is far larger than a withdrawal; boxing it would only add an allocation
// to a record moved a few times.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum ApprovedState {
    /// The filing is in service with these records.
    Approved {
        /// The subject record in service.
        subject: Subject,
        /// The websites in service, by website number (at least one).
        websites: Vec<ApprovedWebsite>,
    },
    /// No website of the filing is in service any more: the receiver forgets the filing's
    /// records and keeps only the number, with when and why.
    Withdrawn {
        /// `filing-cancelled` or `filing-revoked`.
        reason: String,
    },
}

/// One website in service of an [`ApprovedRecord`].
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct ApprovedWebsite {
    /// The website's number: the filing number with its `-n` suffix.
    pub website_number: String,
    /// The website as approved. Its `access.provider` is the access provider recorded for it,
    /// who may read the record too; its `ip_ranges` are those in service. Once its access was
    /// cancelled, the provider is empty and the IP list too.
    pub website: Website,
}

impl ApprovedRecord {
    /// The access providers recorded for the filing's websites in service, each once, in
    /// order of first appearance.
    pub fn access_providers(&self) -> Vec<&str> {
        let mut providers: Vec<&str> = Vec::new();
        if let ApprovedState::Approved { websites, .. } = &self.state {
            for website in websites {
                let provider = website.website.access.provider.as_str();
                if !provider.is_empty() && !providers.contains(&provider) {
                    providers.push(provider);
                }
            }
        }
        providers
    }

    /// The shape limits of SPEC.md §6.4.
    pub(super) fn check(&self) -> Result<(), ShapeError> {
        let root = Path::Root("approved_record");
        text_field(&root.field("filing_number"), &self.filing_number)?;
        text_field(&root.field("origin_receipt"), &self.origin_receipt)?;
        text_field(&root.field("filer"), &self.filer)?;
        let state = root.field("state");
        match &self.state {
            ApprovedState::Approved { subject, websites } => {
                let at = state.field("approved");
                subject.check(&at.field("subject"))?;
                let list = at.field("websites");
                at_most(&list, websites.len(), MAX_WEBSITES)?;
                if websites.is_empty() {
                    return Err(ShapeError {
                        field: list.to_string(),
                        problem: "is empty; a filing in service has at least one website".into(),
                    });
                }
                for (i, website) in websites.iter().enumerate() {
                    let at = list.index(i);
                    text_field(&at.field("website_number"), &website.website_number)?;
                    website.website.check(&at.field("website"))?;
                }
                Ok(())
            }
            ApprovedState::Withdrawn { reason } => {
                text_field(&state.field("withdrawn").field("reason"), reason)
            }
        }
    }
}
