//! The record types that cross the gap, version 1 (SPEC.md §6).
//!
//! Every type here is encoded with bincode 2 under [`wire_config`]: little-endian, fixed-width
//! integers, so that one value has exactly one encoding and an accepted message re-encodes to the
//! same bytes. Enum variants are encoded by their index, so **variants and fields are only ever
//! appended in a new wire version, never reordered or removed**; v1 as published stays decodable.
//!
//! Shape limits (how many websites, domains, bytes of text…) are enforced by [`Record::check`]
//! after decoding and by the writer before encoding; the byte limit of the decoder bounds every
//! length prefix before any allocation.

use std::net::IpAddr;

use bincode::{Decode, Encode};
use sha2::{Digest, Sha256};

mod approved;
mod encoded;
mod passwords;
mod receipts;
mod register;
mod request;
mod returns;
mod scans;
mod shape;

pub use approved::*;
pub use encoded::*;
pub use passwords::*;
pub use receipts::*;
pub use register::*;
pub use request::Request;
pub use returns::*;
pub use scans::*;
pub use shape::{Path, ShapeError};
use shape::{at_most, opt_text_field, text_field, text_list};

/// Wire version of the record types in this module: 7 since [`Submission::ProviderCheck`]
/// (carried only in format version 9 bundles; SPEC.md §6). Version 6 added [`ApprovedRecord`]
/// (format version 8), version 5 [`Submission::ChangeWithScans`],
/// [`Submission::NewFilingWithScans`] and [`FilingPassword`] (format version 7), version 4
/// [`ReturnReceipt`], [`RegisterEntry`] and [`RegisterRemoval`] (format version 6).
pub const RECORDS_VERSION: u16 = 7;

/// Most websites one filing may list.
pub const MAX_WEBSITES: usize = 64;
/// Most domains one website may list.
pub const MAX_DOMAINS_PER_WEBSITE: usize = 256;
/// Most home URLs one website may list.
pub const MAX_HOME_URLS_PER_WEBSITE: usize = 64;
/// Most IP addresses or ranges one website's access record may list.
pub const MAX_IP_RANGES_PER_WEBSITE: usize = 256;
/// Most entries in any other list (service types, pre-approvals, phone numbers…).
pub const MAX_SMALL_LIST: usize = 32;
/// Most bytes of any one text field (UTF-8).
pub const MAX_TEXT_BYTES: usize = 1024;
/// Most attachments (scanned certificates) on one submission.
pub const MAX_ATTACHMENTS: usize = 16;
/// Most bytes of one attachment: the filing manuals allow scans of at most 512 KiB.
pub const MAX_ATTACHMENT_BYTES: usize = 512 * 1024;
/// Most receipts one ack may name: one per submission version of the acknowledged bundle, and a
/// bundle holds at most 100 000 records (SPEC.md §5.2). A million would not fit the 16 MiB
/// record limit.
pub const MAX_ACKED_RECEIPTS: usize = 100_000;
/// Most missing sequence numbers one sequence report may list.
pub const MAX_MISSING_SEQUENCES: usize = 10_000;
/// Most bytes of one signed certificate document.
pub const MAX_CERTIFICATE_BYTES: usize = 64 * 1024;
/// Most bytes of one signed keyset document.
pub const MAX_KEYSET_BYTES: usize = 1024 * 1024;

/// The bincode configuration every record is encoded and decoded with, before a byte limit is
/// added: little-endian, fixed-width integers (one encoding per value).
pub fn wire_config() -> bincode::config::Configuration<
    bincode::config::LittleEndian,
    bincode::config::Fixint,
    bincode::config::NoLimit,
> {
    bincode::config::standard()
        .with_little_endian()
        .with_fixed_int_encoding()
}

/// A 32-byte SHA-256 digest.
pub type Sha256Digest = [u8; 32];

/// One record of a bundle payload. Which variants a bundle may hold depends on its kind
/// (SPEC.md §3.3): submissions bundles hold `Submission` (from version 7 also with a body of
/// wire version 5, [`Submission::format_version`]) and, from version 6, `ReturnReceipt`;
/// return bundles hold `Ack`, `SequenceReport`, `StatusChange`, `Certificate` and their later
/// additions (from version 7 a `FilingPassword`, from version 8 an `ApprovedRecord`); keyset bundles hold one `Keyset`; heartbeat
/// bundles hold nothing or, from version 6, `ReturnReceipt` only.
// A submission is far larger than the other variants; boxing it would change the type that
// the inner and outer crates construct and match on, for no gain: records are moved a few times.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum Record {
    /// One version of one submission, outer→inner.
    Submission(SubmissionVersion),
    /// The inner side confirms which submission versions of a bundle are safe inside.
    Ack(Ack),
    /// The inner side's view of a channel's sequence numbers: what arrived and what is missing.
    SequenceReport(SequenceReport),
    /// A receipt's status changed inside (review states, filing number).
    StatusChange(StatusChange),
    /// A signed electronic certificate for an approved filing.
    Certificate(CertificateRecord),
    /// A signed keyset document, carried verbatim.
    Keyset(KeysetRecord),
    /// The inner side's confirmation of a whole submissions bundle by its members digest,
    /// naming only the versions whose outcome is not a plain `Applied` (wire version 2; a
    /// bundle holding one has format version 3, SPEC.md §3.2).
    RangeAck(RangeAck),
    /// The inner side refused a whole submissions bundle for its signer (wire version 3; a
    /// bundle holding one has format version 4, SPEC.md §3.2).
    BundleRefusal(BundleRefusal),
    /// A certificate the inner side issued was revoked (wire version 3; a bundle holding one
    /// has format version 4, SPEC.md §3.2).
    CertificateRevocation(CertificateRevocation),
    /// The outer side's receipt for the return bundles it applied (wire version 4; a bundle
    /// holding one has format version 6, SPEC.md §3.2).
    ReturnReceipt(ReturnReceipt),
    /// An approved filing as the public register shows it (wire version 4; a bundle holding
    /// one has format version 6, SPEC.md §3.2).
    RegisterEntry(RegisterEntry),
    /// A filing left the public register, cancelled or revoked (wire version 4; format
    /// version 6).
    RegisterRemoval(RegisterRemoval),
    /// A filing's password, sent once to the intake node of the receipt whose approval issued
    /// it (wire version 5; a bundle holding one has format version 7, SPEC.md §3.2).
    FilingPassword(FilingPassword),
    /// A filing as approved (or its withdrawal), for its owner and the access provider
    /// recorded for it (wire version 6; a bundle holding one has format version 8, SPEC.md
    /// §3.2).
    ApprovedRecord(ApprovedRecord),
    /// A range ack with the time its bundle's versions arrived inside, which stands for their
    /// arrivals' status changes (wire version 8; a bundle holding one has format version 11,
    /// SPEC.md §3.2).
    ArrivalAck(ArrivalAck),
}

impl Record {
    /// Checks the shape limits of this module; returns the path of the first field out of
    /// bounds and what is wrong with it.
    pub fn check(&self) -> Result<(), ShapeError> {
        match self {
            Record::Submission(version) => version.check(),
            Record::Ack(ack) => {
                at_most(
                    &Path::Root("ack.receipts"),
                    ack.receipts.len(),
                    MAX_ACKED_RECEIPTS,
                )?;
                for (i, receipt) in ack.receipts.iter().enumerate() {
                    text_field(
                        &Path::Root("ack.receipts").index(i).field("receipt"),
                        &receipt.receipt,
                    )?;
                    if let Some(reason) = &receipt.reason {
                        text_field(&Path::Root("ack.receipts").index(i).field("reason"), reason)?;
                    }
                }
                Ok(())
            }
            Record::SequenceReport(report) => at_most(
                &Path::Root("sequence_report.missing"),
                report.missing.len(),
                MAX_MISSING_SEQUENCES,
            ),
            Record::StatusChange(change) => {
                text_field(&Path::Root("status_change.receipt"), &change.receipt)?;
                opt_text_field(&Path::Root("status_change.reason"), &change.reason)?;
                opt_text_field(
                    &Path::Root("status_change.filing_number"),
                    &change.filing_number,
                )
            }
            Record::Certificate(certificate) => {
                text_field(
                    &Path::Root("certificate.filing_number"),
                    &certificate.filing_number,
                )?;
                text_field(&Path::Root("certificate.receipt"), &certificate.receipt)?;
                opt_text_field(
                    &Path::Root("certificate.supersedes"),
                    &certificate.supersedes,
                )?;
                at_most(
                    &Path::Root("certificate.document"),
                    certificate.document.len(),
                    MAX_CERTIFICATE_BYTES,
                )
            }
            Record::Keyset(keyset) => at_most(
                &Path::Root("keyset.document"),
                keyset.document.len(),
                MAX_KEYSET_BYTES,
            ),
            Record::RangeAck(ack) => ack.check("range_ack.members", "range_ack.exceptions"),
            Record::ArrivalAck(arrival) => arrival
                .ack
                .check("arrival_ack.ack.members", "arrival_ack.ack.exceptions"),
            Record::BundleRefusal(refusal) => {
                text_field(&Path::Root("bundle_refusal.code"), &refusal.code)?;
                text_field(&Path::Root("bundle_refusal.reason"), &refusal.reason)
            }
            Record::CertificateRevocation(revocation) => {
                let root = "certificate_revocation";
                text_field(
                    &Path::Root(root).field("filing_number"),
                    &revocation.filing_number,
                )?;
                text_field(&Path::Root(root).field("receipt"), &revocation.receipt)?;
                text_field(&Path::Root(root).field("reason"), &revocation.reason)
            }
            Record::ReturnReceipt(receipt) => receipt.check(),
            Record::RegisterEntry(entry) => entry.check(),
            Record::RegisterRemoval(removal) => removal.check(),
            Record::FilingPassword(password) => password.check(),
            Record::ApprovedRecord(record) => record.check(),
        }
    }

    /// The lowest format version (SPEC.md §3.2) whose bundles may hold this record: 3 for a
    /// [`RangeAck`], 4 for a [`BundleRefusal`] or a [`CertificateRevocation`], 6 for a
    /// [`ReturnReceipt`], [`RegisterEntry`] or [`RegisterRemoval`], 7 for a submission whose
    /// body is a wire version 5 variant ([`Submission::format_version`]) or a
    /// [`FilingPassword`], 8 for an [`ApprovedRecord`], 11 for an [`ArrivalAck`], 1 for
    /// everything else.
    pub fn format_version(&self) -> u16 {
        match self {
            Record::Submission(version) => version.body.format_version(),
            Record::RangeAck(_) => crate::header::FORMAT_VERSION_3,
            Record::BundleRefusal(_) | Record::CertificateRevocation(_) => {
                crate::header::FORMAT_VERSION_4
            }
            Record::ReturnReceipt(_) | Record::RegisterEntry(_) | Record::RegisterRemoval(_) => {
                crate::header::FORMAT_VERSION_6
            }
            Record::FilingPassword(_) => crate::header::FORMAT_VERSION_7,
            Record::ApprovedRecord(_) => crate::header::FORMAT_VERSION_8,
            Record::ArrivalAck(_) => crate::header::FORMAT_VERSION_11,
            _ => crate::header::FORMAT_VERSION_1,
        }
    }

    /// A short name of the variant, for counts in `inspect` output and error messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Record::Submission(_) => "submission",
            Record::Ack(_) => "ack",
            Record::SequenceReport(_) => "sequence-report",
            Record::StatusChange(_) => "status-change",
            Record::Certificate(_) => "certificate",
            Record::Keyset(_) => "keyset",
            Record::RangeAck(_) => "range-ack",
            Record::BundleRefusal(_) => "bundle-refusal",
            Record::CertificateRevocation(_) => "certificate-revocation",
            Record::ReturnReceipt(_) => "return-receipt",
            Record::RegisterEntry(_) => "register-entry",
            Record::RegisterRemoval(_) => "register-removal",
            Record::FilingPassword(_) => "filing-password",
            Record::ApprovedRecord(_) => "approved-record",
            Record::ArrivalAck(_) => "arrival-ack",
        }
    }
}

/// One version of one submission as the outer side accepted it.
///
/// `(receipt, version)` names it; `content_hash` is [`content_hash`] of `body` and is what the
/// inner side's ack must repeat before the outer side may delete this version.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct SubmissionVersion {
    /// The receipt id the submitter was given, e.g. `R20261122-3F9K2Q7M`.
    pub receipt: String,
    /// Version of this receipt, from 1; an edit makes version n+1.
    pub version: u32,
    /// SHA-256 of the bincode encoding of `body` under [`wire_config`].
    pub content_hash: Sha256Digest,
    /// When the outer side accepted this version, Unix seconds.
    pub submitted_at: i64,
    /// Account name that submitted it.
    pub submitter: String,
    /// The access provider account that submitted it for its customer, if any.
    pub access_provider: Option<String>,
    /// What was submitted.
    pub body: Submission,
}

impl SubmissionVersion {
    /// Checks shape limits; see [`Record::check`].
    pub fn check(&self) -> Result<(), ShapeError> {
        text_field(&Path::Root("submission.receipt"), &self.receipt)?;
        text_field(&Path::Root("submission.submitter"), &self.submitter)?;
        opt_text_field(
            &Path::Root("submission.access_provider"),
            &self.access_provider,
        )?;
        self.body.check(&Path::Root("submission.body"))
    }

    /// Whether `content_hash` matches `body`.
    pub fn hash_matches(&self) -> bool {
        content_hash(&self.body) == self.content_hash
    }
}

/// SHA-256 of the canonical encoding of a submission body: the value acks repeat.
pub fn content_hash(body: &Submission) -> Sha256Digest {
    // Encoding into a Vec cannot fail for these types: no limit is configured and every field
    // is encodable.
    let bytes = bincode::encode_to_vec(body, wire_config()).unwrap_or_default();
    Sha256::digest(&bytes).into()
}

/// What a submitter asked for (the submission kinds of the filing manuals).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum Submission {
    /// A first filing for a subject with all its websites.
    NewFiling(Filing),
    /// A change to an approved filing.
    Change {
        /// The subject's filing number, e.g. `京ICP备2026000123号`.
        filing_number: String,
        /// What changes.
        change: Change,
    },
    /// A cancellation of a subject, a website or a website's access.
    Cancellation {
        /// The filing number of the subject, or of the website (with its `-n` suffix).
        filing_number: String,
        /// What is cancelled.
        scope: CancellationScope,
        /// Why, in the submitter's words.
        reason: String,
    },
    /// Withdraws an earlier submission that has not been reviewed yet.
    Withdrawal {
        /// The receipt being withdrawn.
        receipt: String,
        /// Why, in the submitter's words.
        reason: String,
    },
    /// A change to an approved filing with the scans that support it (wire version 5; a
    /// bundle holding one has format version 7, SPEC.md §3.2).
    ChangeWithScans {
        /// The subject's filing number.
        filing_number: String,
        /// What changes.
        change: Change,
        /// The scans, each saying what it shows.
        scans: Vec<Scan>,
    },
    /// A first filing whose scans say what they show, e.g. which website's pre-approval entry
    /// a document belongs to (wire version 5; format version 7). `filing.attachments` is
    /// empty: the scans travel in `scans`.
    NewFilingWithScans {
        /// The filing, without attachments.
        filing: Filing,
        /// The scans, each saying what it shows.
        scans: Vec<Scan>,
    },
    /// An access provider's check (待接入商核验) of a submission whose access names it, done
    /// outside on the provider's own page or API (wire version 7; a bundle holding one has
    /// format version 9, SPEC.md §3.2). It names the exact version it checked: a check of a
    /// version the owner has changed since is refused inside.
    ProviderCheck {
        /// The receipt of the submission checked.
        receipt: String,
        /// The version checked.
        version: u32,
        /// The content hash of that version, as its submission record carries it.
        content_hash: Sha256Digest,
        /// What the provider decided.
        decision: ProviderDecision,
    },
}

/// An access provider's decision on a submission it was asked to check (wire version 7).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum ProviderDecision {
    /// The access details are the provider's: the submission goes on to its next review stage.
    Confirm,
    /// The access details are not right: the submission goes back to its submitter.
    Return {
        /// Why, in the provider's words; the submitter sees it.
        reason: String,
    },
}

impl Submission {
    /// The lowest format version (SPEC.md §3.2) whose bundles may carry this body: 9 for the
    /// wire version 7 variant, 7 for the wire version 5 variants, 1 for the others.
    pub fn format_version(&self) -> u16 {
        match self {
            Submission::ProviderCheck { .. } => crate::header::FORMAT_VERSION_9,
            Submission::ChangeWithScans { .. } | Submission::NewFilingWithScans { .. } => {
                crate::header::FORMAT_VERSION_7
            }
            Submission::NewFiling(_)
            | Submission::Change { .. }
            | Submission::Cancellation { .. }
            | Submission::Withdrawal { .. } => crate::header::FORMAT_VERSION_1,
        }
    }

    fn check(&self, at: &Path<'_>) -> Result<(), ShapeError> {
        match self {
            Submission::NewFiling(filing) => filing.check(&at.field("new_filing")),
            Submission::ChangeWithScans {
                filing_number,
                change,
                scans,
            } => {
                let at = at.field("change_with_scans");
                text_field(&at.field("filing_number"), filing_number)?;
                change.check(&at.field("change"))?;
                scans::check_scans(&at, scans, &self.listed_websites())
            }
            Submission::NewFilingWithScans { filing, scans } => {
                let at = at.field("new_filing_with_scans");
                filing.check(&at.field("filing"))?;
                scans::check_no_attachments(&at, filing)?;
                scans::check_scans(&at, scans, &self.listed_websites())
            }
            Submission::Change {
                filing_number,
                change,
            } => {
                text_field(&at.field("filing_number"), filing_number)?;
                change.check(&at.field("change"))
            }
            Submission::Cancellation {
                filing_number,
                reason,
                ..
            } => {
                text_field(&at.field("filing_number"), filing_number)?;
                text_field(&at.field("reason"), reason)
            }
            Submission::Withdrawal { receipt, reason } => {
                text_field(&at.field("receipt"), receipt)?;
                text_field(&at.field("reason"), reason)
            }
            Submission::ProviderCheck {
                receipt, decision, ..
            } => {
                let at = at.field("provider_check");
                text_field(&at.field("receipt"), receipt)?;
                match decision {
                    ProviderDecision::Confirm => Ok(()),
                    ProviderDecision::Return { reason } => text_field(&at.field("reason"), reason),
                }
            }
        }
    }
}

/// The changes the filing manuals allow on an approved filing.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum Change {
    /// The subject's details change; its websites stay.
    Subject(Subject),
    /// One website's details change (replacing its domain list and everything else as a unit).
    Website {
        /// The website's filing number with its suffix, e.g. `京ICP备2026000123号-2`.
        website_number: String,
        /// The website as it is to be.
        website: Website,
    },
    /// One website moves to another access provider, method or address space.
    Access {
        /// The website's filing number with its suffix.
        website_number: String,
        /// The access record as it is to be (replacing the IP list as a unit).
        access: Access,
    },
    /// A website is added under an already filed subject.
    AddedWebsite(Website),
}

impl Change {
    fn check(&self, at: &Path<'_>) -> Result<(), ShapeError> {
        match self {
            Change::Subject(subject) => subject.check(&at.field("subject")),
            Change::Website {
                website_number,
                website,
            } => {
                text_field(&at.field("website_number"), website_number)?;
                website.check(&at.field("website"))
            }
            Change::Access {
                website_number,
                access,
            } => {
                text_field(&at.field("website_number"), website_number)?;
                access.check(&at.field("access"))
            }
            Change::AddedWebsite(website) => website.check(&at.field("added_website")),
        }
    }
}

/// What a cancellation removes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub enum CancellationScope {
    /// The subject and every website under it.
    Subject,
    /// One website (named by the filing number with its suffix).
    Website,
    /// One website's access record; the website stays filed until it has access again.
    Access,
}

/// A filing: one subject and the websites it runs.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Filing {
    /// The organiser.
    pub subject: Subject,
    /// One or more websites; a subject files once, listing all of them.
    pub websites: Vec<Website>,
    /// Scanned certificates uploaded with the filing.
    pub attachments: Vec<Attachment>,
}

impl Filing {
    fn check(&self, at: &Path<'_>) -> Result<(), ShapeError> {
        self.subject.check(&at.field("subject"))?;
        at_most(&at.field("websites"), self.websites.len(), MAX_WEBSITES)?;
        for (i, website) in self.websites.iter().enumerate() {
            website.check(&at.field("websites").index(i))?;
        }
        at_most(
            &at.field("attachments"),
            self.attachments.len(),
            MAX_ATTACHMENTS,
        )?;
        for (i, attachment) in self.attachments.iter().enumerate() {
            scans::check_attachment(&at.field("attachments").index(i), attachment)?;
        }
        Ok(())
    }
}

/// The organiser of a filing (主办单位).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Subject {
    /// Full registered name; an individual's real name.
    pub name: String,
    /// What kind of organiser this is.
    pub nature: SubjectNature,
    /// Kind of the identifying certificate; must fit `nature`.
    pub certificate_type: CertificateType,
    /// Number of the identifying certificate.
    pub certificate_number: String,
    /// Six-digit GB/T 2260 region code of the subject's residence; its first two digits pick the
    /// reviewing authority and the filing-number prefix.
    pub region_code: u32,
    /// Complete address: rural to the village, urban to street and number.
    pub address: String,
    /// Investor or supervising body.
    pub investor: String,
    /// The person responsible for the subject.
    pub principal: Person,
}

impl Subject {
    fn check(&self, at: &Path<'_>) -> Result<(), ShapeError> {
        text_field(&at.field("name"), &self.name)?;
        text_field(&at.field("certificate_number"), &self.certificate_number)?;
        text_field(&at.field("address"), &self.address)?;
        text_field(&at.field("investor"), &self.investor)?;
        self.principal.check(&at.field("principal"))
    }
}

/// Kinds of organiser the filing system knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Encode, Decode)]
pub enum SubjectNature {
    /// 企业
    Enterprise,
    /// 政府机关
    Government,
    /// 事业单位
    PublicInstitution,
    /// 社会团体
    SocialGroup,
    /// 个人
    Individual,
    /// 军队
    Military,
}

/// Kinds of identifying certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Encode, Decode)]
pub enum CertificateType {
    /// 统一社会信用代码 (GB 32100, 18 characters with check character).
    UnifiedSocialCreditCode,
    /// 工商营业执照 number from before the unified code.
    BusinessLicense,
    /// 组织机构代码 (GB 11714).
    OrganizationCode,
    /// 事业单位法人证书.
    PublicInstitutionCertificate,
    /// 社会团体法人登记证书.
    SocialGroupCertificate,
    /// 军队代号.
    MilitaryCode,
    /// 居民身份证 (GB 11643, 18 characters with check digit).
    ResidentId,
    /// 护照.
    Passport,
    /// 港澳居民来往内地通行证.
    HongKongMacaoPermit,
    /// 台湾居民来往大陆通行证.
    TaiwanPermit,
}

/// A responsible person (负责人).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Person {
    /// Real full name.
    pub name: String,
    /// Kind of the person's identity document.
    pub certificate_type: CertificateType,
    /// Number of the person's identity document.
    pub certificate_number: String,
    /// Mobile phone numbers.
    pub mobile_phones: Vec<String>,
    /// Office phone numbers, with area code.
    pub office_phones: Vec<String>,
    /// E-mail address.
    pub email: String,
}

impl Person {
    fn check(&self, at: &Path<'_>) -> Result<(), ShapeError> {
        text_field(&at.field("name"), &self.name)?;
        text_field(&at.field("certificate_number"), &self.certificate_number)?;
        text_list(
            &at.field("mobile_phones"),
            &self.mobile_phones,
            MAX_SMALL_LIST,
        )?;
        text_list(
            &at.field("office_phones"),
            &self.office_phones,
            MAX_SMALL_LIST,
        )?;
        text_field(&at.field("email"), &self.email)
    }
}

/// One website of a filing.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Website {
    /// The website's name; never a domain.
    pub name: String,
    /// Home page URLs.
    pub home_urls: Vec<String>,
    /// Every domain the site serves, as entered (`www.` included), in punycode.
    pub domains: Vec<String>,
    /// At least one service type.
    pub service_types: Vec<ServiceType>,
    /// Pre-approvals the site's content needs, with their document numbers.
    pub pre_approvals: Vec<PreApproval>,
    /// How the site is connected.
    pub access: Access,
    /// The person responsible for the website.
    pub principal: Person,
}

impl Website {
    fn check(&self, at: &Path<'_>) -> Result<(), ShapeError> {
        text_field(&at.field("name"), &self.name)?;
        text_list(
            &at.field("home_urls"),
            &self.home_urls,
            MAX_HOME_URLS_PER_WEBSITE,
        )?;
        text_list(&at.field("domains"), &self.domains, MAX_DOMAINS_PER_WEBSITE)?;
        at_most(
            &at.field("service_types"),
            self.service_types.len(),
            MAX_SMALL_LIST,
        )?;
        at_most(
            &at.field("pre_approvals"),
            self.pre_approvals.len(),
            MAX_SMALL_LIST,
        )?;
        for (i, approval) in self.pre_approvals.iter().enumerate() {
            text_field(
                &at.field("pre_approvals").index(i).field("document_number"),
                &approval.document_number,
            )?;
        }
        self.access.check(&at.field("access"))?;
        self.principal.check(&at.field("principal"))
    }
}

/// Service types a website declares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Encode, Decode)]
pub enum ServiceType {
    /// Showcases an organisation or person (企业/个人展示).
    Showcase,
    /// A portal (综合门户).
    Portal,
    /// News (新闻); needs a pre-approval.
    News,
    /// Forum, bulletin board or other interactive posting (论坛/社区).
    Forum,
    /// Blog (博客).
    Blog,
    /// Online shop (电子商务).
    Ecommerce,
    /// Online education (教育).
    Education,
    /// Medical information (医疗保健).
    Medical,
    /// Drug and medical device information (药品和医疗器械).
    Drugs,
    /// Culture (文化).
    Culture,
    /// Audio and video broadcasting (广播电影电视节目).
    Broadcasting,
    /// Publishing (出版).
    Publishing,
    /// Government affairs (政务).
    PublicAffairs,
    /// Anything else.
    Other,
}

/// Content areas that need the approval of a competent department before filing (前置审批).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Encode, Decode)]
pub enum PreApprovalItem {
    /// 新闻
    News,
    /// 出版
    Publishing,
    /// 教育
    Education,
    /// 医疗保健
    Medical,
    /// 药品和医疗器械
    Drugs,
    /// 文化
    Culture,
    /// 广播电影电视节目
    Broadcasting,
}

/// A pre-approval held for a website.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct PreApproval {
    /// What was approved.
    pub item: PreApprovalItem,
    /// The approving department's document number.
    pub document_number: String,
}

/// How a website is connected to the network, and by whom.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Access {
    /// The access provider's name (account name of the provider on the outer side).
    pub provider: String,
    /// How the site is hosted.
    pub method: AccessMethod,
    /// Six-digit GB/T 2260 region code where the servers stand.
    pub server_region_code: u32,
    /// Every IP address or range the site is served from.
    pub ip_ranges: Vec<IpRange>,
}

impl Access {
    fn check(&self, at: &Path<'_>) -> Result<(), ShapeError> {
        text_field(&at.field("provider"), &self.provider)?;
        at_most(
            &at.field("ip_ranges"),
            self.ip_ranges.len(),
            MAX_IP_RANGES_PER_WEBSITE,
        )
    }
}

/// Hosting methods.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Encode, Decode)]
pub enum AccessMethod {
    /// 专线
    Dedicated,
    /// 主机托管
    Colocation,
    /// 虚拟主机
    VirtualHost,
    /// 云服务
    Cloud,
    /// 其他
    Other,
}

/// An inclusive range of IP addresses; a single address has `first == last`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Encode, Decode)]
pub struct IpRange {
    /// First address.
    pub first: IpAddr,
    /// Last address, same family as `first` and not below it.
    pub last: IpAddr,
}

/// A scanned document uploaded with a filing.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Attachment {
    /// What the scan shows.
    pub kind: AttachmentKind,
    /// Media type, `image/jpeg` or `image/png`.
    pub media_type: String,
    /// The image, at most [`MAX_ATTACHMENT_BYTES`].
    pub bytes: Vec<u8>,
}

/// What a scanned document shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub enum AttachmentKind {
    /// The subject's identifying certificate.
    SubjectCertificate,
    /// A principal's identity document.
    PrincipalIdentity,
    /// A pre-approval document.
    PreApproval,
    /// The website principal's verification photo.
    PrincipalPhoto,
    /// Anything else the authority asked for.
    Other,
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    use super::*;

    fn enc<T: Encode>(value: &T) -> Vec<u8> {
        bincode::encode_to_vec(value, wire_config()).unwrap()
    }

    /// The primitive encodings SPEC.md §6.2 states, byte for byte.
    #[test]
    fn primitive_encodings_are_as_the_spec_states() {
        assert_eq!(enc(&0x0102_0304u32), [4, 3, 2, 1]);
        assert_eq!(
            enc(&-2i64),
            [0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
        );
        assert_eq!(enc(&"ab".to_owned()), [2, 0, 0, 0, 0, 0, 0, 0, b'a', b'b']);
        assert_eq!(enc(&vec![7u8]), [1, 0, 0, 0, 0, 0, 0, 0, 7]);
        assert_eq!(enc(&[9u8; 32]), [9u8; 32]);
        assert_eq!(enc(&None::<String>), [0]);
        assert_eq!(enc(&Some(5u32)), [1, 5, 0, 0, 0]);
        assert_eq!(enc(&CancellationScope::Access), [2, 0, 0, 0]);
        assert_eq!(
            enc(&IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))),
            [0, 0, 0, 0, 10, 0, 0, 1]
        );
        let v6 = enc(&IpAddr::V6(Ipv6Addr::LOCALHOST));
        assert_eq!(&v6[..4], [1, 0, 0, 0]);
        assert_eq!(v6.len(), 20);
        assert_eq!(v6[19], 1);
    }

    #[test]
    fn a_record_starts_with_its_variant_index() {
        let record = Record::Keyset(KeysetRecord {
            document: vec![1, 2],
        });
        assert_eq!(enc(&record), [5, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1, 2]);
    }

    #[test]
    fn shape_limits_name_the_field() {
        let record = Record::SequenceReport(SequenceReport {
            channel: 1,
            epoch: 1,
            highest_contiguous: 0,
            missing: vec![0; MAX_MISSING_SEQUENCES + 1],
        });
        assert_eq!(record.check().unwrap_err().field, "sequence_report.missing");
    }
}
