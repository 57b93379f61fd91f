//! The records of the public register (wire version 4, SPEC.md §6.3): what the outer side may
//! show anyone who asks whether a website is filed. They carry the filing number, the
//! subject's name, the websites' numbers, names and domains and the approval date, and
//! nothing personal (no certificate numbers, no principals, no phones, no e-mail, no address,
//! no IP addresses).

use bincode::{Decode, Encode};

use super::{MAX_DOMAINS_PER_WEBSITE, MAX_WEBSITES, Path, ShapeError, at_most, text_field};

/// One approved filing as the public register shows it, sent when a filing is approved and
/// again whenever an approval, cancellation or revocation changes what it shows. It replaces
/// whatever the outer side holds for the filing number if its `event` is higher.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct RegisterEntry {
    /// Monotonic id of the register change inside; the outer side keeps the highest it
    /// applied per filing number and ignores anything not newer.
    pub event: u64,
    /// The subject's filing number, e.g. `京ICP备2026000001号`.
    pub filing_number: String,
    /// The subject's registered name (an organisation's, or an individual's real name, which
    /// the manuals' public query shows too).
    pub subject_name: String,
    /// The subject's nature as the manuals name it, e.g. `enterprise`, `individual`.
    pub subject_nature: String,
    /// The filing's websites in service, by website number.
    pub websites: Vec<RegisterWebsite>,
    /// When the filing was last approved, Unix seconds.
    pub approved_at: i64,
}

/// One website of a [`RegisterEntry`].
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct RegisterWebsite {
    /// The website's number: the filing number with its `-n` suffix.
    pub website_number: String,
    /// The website's name.
    pub name: String,
    /// Every domain it serves, as filed.
    pub domains: Vec<String>,
}

/// The notice that a filing left the public register: cancelled by its owner or revoked by the
/// authority. The outer side removes the filing number's entry if `event` is newer than the
/// entry's.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct RegisterRemoval {
    /// Monotonic id of the register change inside (the counter of [`RegisterEntry::event`]).
    pub event: u64,
    /// The filing number removed.
    pub filing_number: String,
    /// When, Unix seconds.
    pub removed_at: i64,
    /// Why: `filing-cancelled` or `filing-revoked`.
    pub reason: String,
}

impl RegisterEntry {
    /// The shape limits of SPEC.md §6.4.
    pub(super) fn check(&self) -> Result<(), ShapeError> {
        let root = Path::Root("register_entry");
        text_field(&root.field("filing_number"), &self.filing_number)?;
        text_field(&root.field("subject_name"), &self.subject_name)?;
        text_field(&root.field("subject_nature"), &self.subject_nature)?;
        let websites = root.field("websites");
        at_most(&websites, self.websites.len(), MAX_WEBSITES)?;
        for (i, website) in self.websites.iter().enumerate() {
            let at = websites.index(i);
            text_field(&at.field("website_number"), &website.website_number)?;
            text_field(&at.field("name"), &website.name)?;
            let domains = at.field("domains");
            at_most(&domains, website.domains.len(), MAX_DOMAINS_PER_WEBSITE)?;
            for (j, domain) in website.domains.iter().enumerate() {
                text_field(&domains.index(j), domain)?;
            }
        }
        Ok(())
    }
}

impl RegisterRemoval {
    /// The shape limits of SPEC.md §6.4.
    pub(super) fn check(&self) -> Result<(), ShapeError> {
        let root = Path::Root("register_removal");
        text_field(&root.field("filing_number"), &self.filing_number)?;
        text_field(&root.field("reason"), &self.reason)
    }
}
