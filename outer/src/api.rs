//! The JSON shapes of the HTTP API. They are not the wire shapes of `bundle_format::records`:
//! enums are snake_case names, domains are accepted as typed (Unicode or punycode), IP ranges
//! are strings, attachments are base64. [`crate::convert`] is the one place that turns one into
//! the other, validating on the way in.

use serde::{Deserialize, Serialize};

/// A submission as posted to `POST /api/v1/submissions` or `PUT /api/v1/submissions/{receipt}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmissionRequest {
    /// Access providers only: the customer account (or subject) the submission is made for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_behalf_of: Option<String>,
    /// What is submitted.
    pub submission: SubmissionBody,
}

/// What a submitter asks for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SubmissionBody {
    /// A first filing for a subject with all its websites.
    NewFiling {
        /// The filing.
        filing: FilingBody,
    },
    /// A change to an approved filing.
    Change {
        /// The subject's filing number.
        filing_number: String,
        /// What changes.
        change: ChangeBody,
        /// Scans supporting the change (a new certificate, a pre-approval document of the
        /// changed or added website).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        attachments: Vec<AttachmentBody>,
    },
    /// A cancellation.
    Cancellation {
        /// Filing number of the subject, or of a website (with its `-n` suffix).
        filing_number: String,
        /// What is cancelled.
        scope: CancellationScope,
        /// Why.
        reason: String,
    },
    /// Withdraws an earlier submission that has not been reviewed yet.
    Withdrawal {
        /// The receipt withdrawn.
        receipt: String,
        /// Why.
        reason: String,
    },
    /// An access provider's check (待接入商核验) of a submission whose access details name it:
    /// confirmed, or returned to its submitter with a reason.
    ProviderCheck {
        /// The receipt checked.
        receipt: String,
        /// The version checked, as the provider was shown it.
        version: u32,
        /// That version's content hash, 64 lower-case hex digits.
        content_hash: String,
        /// What the provider decided.
        decision: ProviderDecision,
        /// Why, for a return (required then, not allowed with a confirmation).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
}

/// An access provider's decision on a submission it checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderDecision {
    /// The access details are the provider's: on to the next review stage.
    Confirm,
    /// The access details are not right: back to the submitter.
    Return,
}

/// The kind name of a submission body, as stored and reported in metrics.
pub fn kind_name(body: &SubmissionBody) -> &'static str {
    match body {
        SubmissionBody::NewFiling { .. } => "new_filing",
        SubmissionBody::Change { .. } => "change",
        SubmissionBody::Cancellation { .. } => "cancellation",
        SubmissionBody::Withdrawal { .. } => "withdrawal",
        SubmissionBody::ProviderCheck { .. } => "provider_check",
    }
}

/// The changes allowed on an approved filing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "what", rename_all = "snake_case")]
pub enum ChangeBody {
    /// The subject's details change.
    Subject {
        /// The subject as it is to be.
        subject: SubjectBody,
    },
    /// One website's details change.
    Website {
        /// The website's filing number with its suffix.
        website_number: String,
        /// The website as it is to be.
        website: WebsiteBody,
    },
    /// One website's access changes.
    Access {
        /// The website's filing number with its suffix.
        website_number: String,
        /// The access record as it is to be.
        access: AccessBody,
    },
    /// A website is added under the filed subject.
    AddedWebsite {
        /// The new website.
        website: WebsiteBody,
    },
}

/// What a cancellation removes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CancellationScope {
    /// The subject and all its websites.
    Subject,
    /// One website.
    Website,
    /// One website's access.
    Access,
}

/// A filing: one subject and its websites.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilingBody {
    /// The organiser.
    pub subject: SubjectBody,
    /// One or more websites.
    pub websites: Vec<WebsiteBody>,
    /// Scanned certificates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<AttachmentBody>,
}

/// The organiser of a filing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubjectBody {
    /// Full registered name; an individual's real name.
    pub name: String,
    /// Kind of organiser.
    pub nature: SubjectNature,
    /// Kind of identifying certificate.
    pub certificate_type: CertificateType,
    /// Certificate number.
    pub certificate_number: String,
    /// Six-digit GB/T 2260 region code of the residence.
    pub region_code: String,
    /// Complete address.
    pub address: String,
    /// Investor or supervising body.
    pub investor: String,
    /// Responsible person.
    pub principal: PersonBody,
}

/// Kinds of organiser.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CertificateType {
    /// 统一社会信用代码
    UnifiedSocialCreditCode,
    /// 工商营业执照
    BusinessLicense,
    /// 组织机构代码
    OrganizationCode,
    /// 事业单位法人证书
    PublicInstitutionCertificate,
    /// 社会团体法人登记证书
    SocialGroupCertificate,
    /// 军队代号
    MilitaryCode,
    /// 居民身份证
    ResidentId,
    /// 护照
    Passport,
    /// 港澳居民来往内地通行证
    HongKongMacaoPermit,
    /// 台湾居民来往大陆通行证
    TaiwanPermit,
}

/// A responsible person.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonBody {
    /// Real full name.
    pub name: String,
    /// Identity document kind.
    pub certificate_type: CertificateType,
    /// Identity document number.
    pub certificate_number: String,
    /// Mobile phones.
    #[serde(default)]
    pub mobile_phones: Vec<String>,
    /// Office phones with area code.
    #[serde(default)]
    pub office_phones: Vec<String>,
    /// E-mail address.
    pub email: String,
}

/// One website.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebsiteBody {
    /// The website's name.
    pub name: String,
    /// Home page URLs.
    #[serde(default)]
    pub home_urls: Vec<String>,
    /// Every domain the site serves, as typed.
    #[serde(default)]
    pub domains: Vec<String>,
    /// Service types.
    #[serde(default)]
    pub service_types: Vec<ServiceType>,
    /// Pre-approvals held.
    #[serde(default)]
    pub pre_approvals: Vec<PreApprovalBody>,
    /// How the site is connected.
    pub access: AccessBody,
    /// The person responsible for the website.
    pub principal: PersonBody,
}

/// Service types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceType {
    /// 企业/个人展示
    Showcase,
    /// 综合门户
    Portal,
    /// 新闻
    News,
    /// 论坛/社区
    Forum,
    /// 博客
    Blog,
    /// 电子商务
    Ecommerce,
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
    /// 出版
    Publishing,
    /// 政务
    PublicAffairs,
    /// 其他
    Other,
}

/// Content areas that need a pre-approval.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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

/// A pre-approval held.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreApprovalBody {
    /// What was approved.
    pub item: PreApprovalItem,
    /// The approving department's document number.
    pub document_number: String,
}

/// How a website is connected.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessBody {
    /// The access provider's account name.
    pub provider: String,
    /// Hosting method.
    pub method: AccessMethod,
    /// Six-digit region code where the servers stand.
    pub server_region_code: String,
    /// Addresses and ranges: `a.b.c.d`, `a.b.c.d/len`, `first-last` (IPv4 or IPv6).
    #[serde(default)]
    pub ip_ranges: Vec<String>,
}

/// Hosting methods.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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

/// A scanned document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttachmentBody {
    /// What it shows.
    pub kind: AttachmentKind,
    /// `image/jpeg` or `image/png`.
    pub media_type: String,
    /// The image, base64 (standard alphabet, padded).
    pub base64: String,
    /// For a pre-approval document: the pre-approval entry it documents. Absent, the scan
    /// belongs to the submission as a whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre_approval: Option<PreApprovalRef>,
}

/// The pre-approval entry a scanned document belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreApprovalRef {
    /// The website, counted from 0 among the websites the submission lists (a change lists
    /// one: the changed or added website).
    pub website: u32,
    /// The pre-approval item of that website the document approves.
    pub item: PreApprovalItem,
}

/// What a scanned document shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttachmentKind {
    /// The subject's certificate.
    SubjectCertificate,
    /// A principal's identity document.
    PrincipalIdentity,
    /// A pre-approval document.
    PreApproval,
    /// The principal's verification photo.
    PrincipalPhoto,
    /// Anything else.
    Other,
}

/// One problem found by validation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// Path of the field, e.g. `submission.filing.websites[0].domains[1]`.
    pub field: String,
    /// Stable machine-readable code, e.g. `domain.not_registrable`.
    pub code: String,
    /// What is wrong, for people.
    pub message: String,
}

/// The answer to a created (or replayed) submission.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptResponse {
    /// Receipt id.
    pub receipt: String,
    /// Version stored.
    pub version: u32,
    /// Where to ask for the status.
    pub status_url: String,
}

/// One version in a submission's history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionView {
    /// Version number.
    pub version: u32,
    /// Content hash, lower-case hex SHA-256.
    pub content_hash: String,
    /// RFC 3339.
    pub submitted_at: String,
    /// Submitter.
    pub submitter: String,
    /// Access provider, if any.
    pub access_provider: Option<String>,
    /// Sequence of the bundle it was exported in.
    pub exported_in_bundle: Option<u64>,
    /// Whether the inner side has acknowledged it.
    pub acknowledged: bool,
    /// Whether its content is still stored on the outer side.
    pub payload_stored: bool,
}

/// One version awaiting the caller's check, in the answer to `GET /api/v1/provider-checks`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AwaitingProviderCheckView {
    /// The receipt to name in the check.
    pub receipt: String,
    /// The version to name in the check.
    pub version: u32,
    /// Its content hash, lower-case hex SHA-256, to name in the check.
    pub content_hash: String,
    /// RFC 3339.
    pub submitted_at: String,
    /// The account that submitted it (the website's owner).
    pub submitter: String,
    /// The submission as its owner sent it.
    pub submission: SubmissionBody,
    /// The receipt of the caller's check of this version, once sent (it is on its way
    /// inward); absent while it waits for one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_sent: Option<String>,
}

/// The answer to `GET /api/v1/provider-checks`: what awaits the calling access provider's
/// check in this store, oldest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderChecksView {
    /// The versions, at most `limit`.
    pub checks: Vec<AwaitingProviderCheckView>,
    /// Most versions one answer lists.
    pub limit: u32,
}

/// The answer to `GET /api/v1/submissions/{receipt}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmissionView {
    /// Receipt id.
    pub receipt: String,
    /// Kind name.
    pub kind: String,
    /// Newest version.
    pub latest_version: u32,
    /// Current state name.
    pub state: String,
    /// The newest version's content, while it is stored here.
    pub latest: Option<SubmissionRequest>,
    /// Every version, oldest first.
    pub versions: Vec<VersionView>,
}

/// One entry of a status history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryView {
    /// Version it refers to.
    pub version: u32,
    /// State name.
    pub state: String,
    /// RFC 3339.
    pub at: String,
    /// Reason, if any.
    pub reason: Option<String>,
    /// Filing number, if any.
    pub filing_number: Option<String>,
    /// Bundle sequence, if any.
    pub bundle_sequence: Option<u64>,
}

/// The answer to `GET /api/v1/filings/{filing_number}/record`: an approved filing as the inner
/// side approved it, for its owner and the access provider recorded for it. Its `subject` and
/// each website's `website` are in the shapes a change takes (`ChangeBody`), so a client
/// starts a change by editing them and posting them back under the same numbers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovedRecordView {
    /// The subject's filing number.
    pub filing_number: String,
    /// When the decision that sent this record was made inside (RFC 3339).
    pub decided_at: String,
    /// Whether the caller filed it and may change it (an access provider recorded for it
    /// reads it only).
    pub may_change: bool,
    /// The subject in service.
    pub subject: Option<SubjectBody>,
    /// The websites in service, by website number.
    pub websites: Vec<ApprovedWebsiteView>,
}

/// One website of an [`ApprovedRecordView`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovedWebsiteView {
    /// The website's number (the filing number with its `-n` suffix).
    pub website_number: String,
    /// The website as approved.
    pub website: WebsiteBody,
}

/// The answer to `GET /api/v1/submissions/{receipt}/status`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusView {
    /// Receipt id.
    pub receipt: String,
    /// Kind name.
    pub kind: String,
    /// State name.
    pub state: String,
    /// The version the state refers to.
    pub version: u32,
    /// Newest version.
    pub latest_version: u32,
    /// Reviewer's reason.
    pub reason: Option<String>,
    /// Filing number.
    pub filing_number: Option<String>,
    /// Bundle sequence while in transit.
    pub bundle_sequence: Option<u64>,
    /// Since when in transit, RFC 3339.
    pub in_transit_since: Option<String>,
    /// Whether a signed certificate can be downloaded.
    pub certificate_ready: bool,
    /// Whether the certificate this receipt's approval issued was revoked (the filing was
    /// cancelled inside); it is no longer served.
    #[serde(default)]
    pub certificate_revoked: bool,
    /// Whether the filing was revoked by the authority (撤销); its certificate is revoked too.
    #[serde(default)]
    pub filing_revoked: bool,
    /// Every state change, oldest first.
    pub history: Vec<HistoryView>,
}

/// The answer to a batch upload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchResponse {
    /// Rows read (header excluded).
    pub rows: usize,
    /// Rows stored.
    pub accepted: usize,
    /// Rows refused.
    pub rejected: usize,
    /// One entry per row, in file order.
    pub results: Vec<BatchRowResult>,
}

/// What happened to one batch row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchRowResult {
    /// Row number as a spreadsheet shows it (the header is row 1).
    pub row: usize,
    /// Receipt id, when stored.
    pub receipt: Option<String>,
    /// Problems, when refused.
    pub problems: Vec<Problem>,
}

/// The error body of every non-2xx answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Stable code, e.g. `validation_failed`, `unauthorized`.
    pub error: String,
    /// What is wrong and what to do.
    pub message: String,
    /// Field problems, for validation failures.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<Problem>,
}

/// The body of `POST /api/v1/certificates`: a filing number and its filing password, which
/// download the filing's certificate without an account.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificateDownload {
    /// The subject's filing number, e.g. `京ICP备2026000001号`.
    pub filing_number: String,
    /// The filing password its owner was given (case, spaces and hyphens do not matter).
    pub filing_password: String,
}

impl std::fmt::Debug for CertificateDownload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateDownload")
            .field("filing_number", &self.filing_number)
            .finish_non_exhaustive()
    }
}
