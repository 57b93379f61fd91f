//! Everything a reviewer weighs about one submission, for `sluice-inner review show` and the
//! review page alike: the subject and its principal, every website with its domains, IP
//! ranges, access and pre-approval documents and its principal, the scanned certificates, each
//! version received with what changed from the one before, the review history, and the
//! conflicts with other filings and who holds them. The details are decoded from the stored
//! version (the bundle it came in); the queue entry, history and conflicts are
//! [`crate::queue::show`]'s.

use bundle_format::records::{
    Access, AttachmentKind, CancellationScope, Change, Person, ProviderDecision, Request, ScanOf,
    Subject, Submission, SubmissionVersion, Website,
};
use postgres::GenericClient;
use serde::Serialize;
use sha2::{Digest as _, Sha256};

use crate::names;
use crate::queue::{self, HistoryEntry, QueueEntry, QueueError};

/// Most versions of one receipt the view decodes and compares (the newest ones).
pub const MAX_VERSIONS_SHOWN: i64 = 20;

/// A person as a reviewer sees them (in full: the reviewer checks the numbers against the
/// scans).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PersonView {
    /// Name.
    pub name: String,
    /// Identity document kind.
    pub certificate_type: &'static str,
    /// Identity document number.
    pub certificate_number: String,
    /// Mobile phones.
    pub mobile_phones: Vec<String>,
    /// Office phones.
    pub office_phones: Vec<String>,
    /// E-mail.
    pub email: String,
}

/// The subject (主办单位).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubjectView {
    /// Full registered name.
    pub name: String,
    /// Nature (`enterprise`…).
    pub nature: &'static str,
    /// Certificate kind.
    pub certificate_type: &'static str,
    /// Certificate number.
    pub certificate_number: String,
    /// Six-digit region code.
    pub region_code: u32,
    /// Address.
    pub address: String,
    /// Investor or supervising body.
    pub investor: String,
    /// Its principal.
    pub principal: PersonView,
}

/// A pre-approval document (前置审批).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PreApprovalView {
    /// What was approved (`news`…).
    pub item: &'static str,
    /// The approving department's document number.
    pub document_number: String,
}

/// How a website is connected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccessView {
    /// Access provider.
    pub provider: String,
    /// Method (`cloud`…).
    pub method: &'static str,
    /// Where the servers stand (six-digit region code).
    pub server_region_code: u32,
    /// IP ranges, `first-last`.
    pub ip_ranges: Vec<String>,
}

/// One website in full.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WebsiteDetail {
    /// The website's number (filing number with `-n`), when it has one.
    pub website_number: Option<String>,
    /// Name.
    pub name: String,
    /// Home URLs.
    pub home_urls: Vec<String>,
    /// Domains, as entered.
    pub domains: Vec<String>,
    /// Service types.
    pub service_types: Vec<&'static str>,
    /// Pre-approval documents.
    pub pre_approvals: Vec<PreApprovalView>,
    /// Access.
    pub access: AccessView,
    /// Principal (none for an access change, which carries only the access).
    pub principal: Option<PersonView>,
}

/// A scanned document uploaded with the submission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScanView {
    /// Its number in the submission, from 0 (what [`scan`] takes).
    pub index: usize,
    /// What it shows (`subject-certificate`…).
    pub kind: &'static str,
    /// What it belongs to: `submission`, or the pre-approval entry of a website it documents
    /// (`pre-approval news of website 0 (新闻网)`).
    pub shows: String,
    /// Media type as uploaded.
    pub media_type: String,
    /// Size in bytes.
    pub bytes: usize,
    /// SHA-256 of the image, hex.
    pub sha256: String,
}

/// One version received for the receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VersionView {
    /// Version number.
    pub version: i64,
    /// When it was imported, Unix seconds.
    pub received_at: i64,
    /// What the import did (`applied`, `conflict`, `rejected`, `superseded`).
    pub outcome: String,
    /// The import's reason, if any.
    pub reason: Option<String>,
    /// What changed from the version before (`field: old → new`); empty for the first.
    pub changes: Vec<String>,
}

/// A conflict and who holds the other side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConflictView {
    /// Kind (see [`crate::queue::Conflict`]).
    pub kind: String,
    /// The domain, subject key or IP range.
    pub value: String,
    /// The other filing's number, or the other receipt.
    pub other: String,
    /// Who holds it: the filing's subject, or the account that submitted the receipt.
    pub holder: Option<String>,
}

/// Everything about one submission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FilingView {
    /// The queue entry.
    pub entry: QueueEntry,
    /// What the submission asks, in a line (`new filing`, `change of website 京ICP备…-1`…).
    pub asks: String,
    /// The subject, when the submission carries one.
    pub subject: Option<SubjectView>,
    /// The websites it carries.
    pub websites: Vec<WebsiteDetail>,
    /// The scanned documents.
    pub scans: Vec<ScanView>,
    /// Versions received, oldest first, with what changed.
    pub versions: Vec<VersionView>,
    /// Review history, oldest first.
    pub history: Vec<HistoryEntry>,
    /// Conflicts with other filings.
    pub conflicts: Vec<ConflictView>,
}

/// The whole view of `receipt`.
pub fn filing_view(
    client: &mut impl GenericClient,
    receipt: &str,
) -> Result<FilingView, QueueError> {
    let shown = queue::show(client, receipt)?;
    let content_hash: Vec<u8> = client
        .query_one(
            "SELECT content_hash FROM receipts WHERE receipt = $1",
            &[&receipt],
        )?
        .get(0);
    let current =
        crate::store::versions::read_version(client, receipt, shown.entry.version, &content_hash)?;
    let filing_number = shown.entry.filing_number.clone();
    let (asks, subject, mut websites) = details(&current.body);
    // An approved new filing's websites have numbers now: the approval wrote them in order.
    if let Some(number) = &filing_number {
        let seqs: Vec<Option<i32>> = shown.websites.iter().map(|w| w.website_seq).collect();
        if seqs.len() == websites.len() {
            for (website, seq) in websites.iter_mut().zip(seqs) {
                if website.website_number.is_none() {
                    website.website_number = seq.map(|s| format!("{number}-{s}"));
                }
            }
        }
    }
    let scans = current
        .body
        .scans()
        .enumerate()
        .map(|(index, scan)| ScanView {
            index,
            kind: attachment_kind(scan.attachment.kind),
            shows: scan_shows(&current.body, scan.shows),
            media_type: scan.attachment.media_type.clone(),
            bytes: scan.attachment.bytes.len(),
            sha256: hex::encode(Sha256::digest(&scan.attachment.bytes)),
        })
        .collect();
    let versions = versions(client, receipt)?;
    let mut conflicts = Vec::with_capacity(shown.conflicts.len());
    for c in shown.conflicts {
        let holder = holder(client, &c.other)?;
        conflicts.push(ConflictView {
            kind: c.kind,
            value: c.value,
            other: c.other,
            holder,
        });
    }
    Ok(FilingView {
        entry: shown.entry,
        asks,
        subject,
        websites,
        scans,
        versions,
        history: shown.history,
        conflicts,
    })
}

/// Scan number `index` of `receipt`'s current version: its media type and bytes. `None` if
/// there is no such scan.
pub fn scan(
    client: &mut impl GenericClient,
    receipt: &str,
    index: usize,
) -> Result<Option<(String, Vec<u8>)>, QueueError> {
    let row = client
        .query_opt(
            "SELECT version, content_hash FROM receipts WHERE receipt = $1",
            &[&receipt],
        )?
        .ok_or_else(|| QueueError::UnknownReceipt(receipt.to_owned()))?;
    let hash: Vec<u8> = row.get(1);
    let current = crate::store::versions::read_version(client, receipt, row.get(0), &hash)?;
    Ok(current.body.scans().nth(index).map(|scan| {
        (
            scan.attachment.media_type.clone(),
            scan.attachment.bytes.clone(),
        )
    }))
}

/// What a scan belongs to, in words a reviewer reads beside the image: the pre-approval entry
/// by item, website index and the website's name.
fn scan_shows(body: &Submission, shows: ScanOf) -> String {
    match shows {
        ScanOf::Submission => "submission".to_owned(),
        ScanOf::PreApproval { website, item } => {
            let websites = body.listed_websites();
            let listed = usize::try_from(website).ok().and_then(|i| websites.get(i));
            let name = listed.map_or("", |w| w.name.as_str());
            let document = listed
                .into_iter()
                .flat_map(|w| &w.pre_approvals)
                .find(|p| p.item == item)
                .map_or("", |p| p.document_number.as_str());
            format!(
                "pre-approval {} {document} of website {website} ({name})",
                names::pre_approval_item(item)
            )
        }
    }
}

/// Who holds `other`: an approved filing's subject, or a receipt's submitting account.
fn holder(client: &mut impl GenericClient, other: &str) -> Result<Option<String>, QueueError> {
    if let Some(row) = client.query_opt(
        "SELECT s.name FROM filings f
         JOIN subject_records s ON s.filing_id = f.filing_id AND s.status = 'active'
         WHERE f.filing_number = $1 LIMIT 1",
        &[&other],
    )? {
        return Ok(Some(row.get(0)));
    }
    Ok(client
        .query_opt(
            "SELECT submitter, access_provider FROM receipts WHERE receipt = $1",
            &[&other],
        )?
        .map(|row| {
            let submitter: String = row.get(0);
            match row.get::<_, Option<String>>(1) {
                Some(provider) => format!("account {submitter} through {provider}"),
                None => format!("account {submitter}"),
            }
        }))
}

/// The newest [`MAX_VERSIONS_SHOWN`] versions of `receipt`, oldest first, each compared with
/// the one before it.
fn versions(
    client: &mut impl GenericClient,
    receipt: &str,
) -> Result<Vec<VersionView>, QueueError> {
    let rows = client.query(
        "SELECT version, content_hash, outcome, reason, received_at FROM (
             SELECT * FROM submission_versions WHERE receipt = $1
             ORDER BY version DESC, received_at DESC LIMIT $2) newest
         ORDER BY version, received_at",
        &[&receipt, &MAX_VERSIONS_SHOWN],
    )?;
    let mut shown = Vec::with_capacity(rows.len());
    let mut before: Option<Vec<(String, String)>> = None;
    for row in rows {
        let version: i64 = row.get(0);
        let hash: Vec<u8> = row.get(1);
        let fields = crate::store::versions::read_version(client, receipt, version, &hash)
            .map(|v: SubmissionVersion| flatten(&v.body));
        let changes = match (&before, &fields) {
            (_, Err(e)) => vec![format!("cannot be read: {e}")],
            (Some(old), Ok(new)) => diff(old, new),
            (None, Ok(_)) => Vec::new(),
        };
        if let Ok(fields) = fields {
            before = Some(fields);
        }
        shown.push(VersionView {
            version,
            received_at: row.get(4),
            outcome: row.get(2),
            reason: row.get(3),
            changes,
        });
    }
    Ok(shown)
}

/// `field: old → new` for every field that differs, `field: + new` and `field: - old` for
/// those only one side has.
fn diff(old: &[(String, String)], new: &[(String, String)]) -> Vec<String> {
    let find = |fields: &[(String, String)], key: &str| {
        fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    let mut changes = Vec::new();
    for (key, value) in new {
        match find(old, key) {
            Some(was) if &was == value => {}
            Some(was) => changes.push(format!("{key}: {was} → {value}")),
            None => changes.push(format!("{key}: + {value}")),
        }
    }
    for (key, value) in old {
        if find(new, key).is_none() {
            changes.push(format!("{key}: - {value}"));
        }
    }
    changes
}

/// Every field of a submission as (path, value) for [`diff`].
fn flatten(body: &Submission) -> Vec<(String, String)> {
    let (asks, subject, websites) = details(body);
    let mut fields = vec![("asks".to_owned(), asks)];
    if let Some(s) = subject {
        fields.extend([
            ("subject.name".to_owned(), s.name),
            ("subject.nature".to_owned(), s.nature.to_owned()),
            (
                "subject.certificate".to_owned(),
                format!("{} {}", s.certificate_type, s.certificate_number),
            ),
            ("subject.region_code".to_owned(), s.region_code.to_string()),
            ("subject.address".to_owned(), s.address),
            ("subject.investor".to_owned(), s.investor),
        ]);
        person(&mut fields, "subject.principal", &s.principal);
    }
    for (i, w) in websites.into_iter().enumerate() {
        let at = format!("websites[{i}]");
        fields.extend([
            (format!("{at}.name"), w.name),
            (format!("{at}.home_urls"), w.home_urls.join(" ")),
            (format!("{at}.domains"), w.domains.join(" ")),
            (format!("{at}.service_types"), w.service_types.join(" ")),
            (
                format!("{at}.pre_approvals"),
                w.pre_approvals
                    .iter()
                    .map(|p| format!("{} {}", p.item, p.document_number))
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            (format!("{at}.access.provider"), w.access.provider),
            (format!("{at}.access.method"), w.access.method.to_owned()),
            (
                format!("{at}.access.server_region_code"),
                w.access.server_region_code.to_string(),
            ),
            (
                format!("{at}.access.ip_ranges"),
                w.access.ip_ranges.join(" "),
            ),
        ]);
        if let Some(p) = &w.principal {
            person(&mut fields, &format!("{at}.principal"), p);
        }
    }
    for (i, scan) in body.scans().enumerate() {
        let a = scan.attachment;
        fields.push((
            format!("scans[{i}]"),
            format!(
                "{} of {} {} bytes sha256 {}",
                attachment_kind(a.kind),
                scan_shows(body, scan.shows),
                a.bytes.len(),
                &hex::encode(Sha256::digest(&a.bytes))[..12]
            ),
        ));
    }
    fields
}

fn person(fields: &mut Vec<(String, String)>, at: &str, p: &PersonView) {
    fields.extend([
        (format!("{at}.name"), p.name.clone()),
        (
            format!("{at}.certificate"),
            format!("{} {}", p.certificate_type, p.certificate_number),
        ),
        (format!("{at}.mobile_phones"), p.mobile_phones.join(" ")),
        (format!("{at}.office_phones"), p.office_phones.join(" ")),
        (format!("{at}.email"), p.email.clone()),
    ]);
}

/// What a submission asks, its subject and its websites.
fn details(body: &Submission) -> (String, Option<SubjectView>, Vec<WebsiteDetail>) {
    let site = |number: Option<&str>, w: &Website| website(number, w);
    match body.request() {
        Request::NewFiling { filing, .. } => (
            "new filing".to_owned(),
            Some(subject(&filing.subject)),
            filing.websites.iter().map(|w| site(None, w)).collect(),
        ),
        Request::Change {
            filing_number,
            change,
            ..
        } => match change {
            Change::Subject(s) => (
                format!("change of the subject of {filing_number}"),
                Some(subject(s)),
                Vec::new(),
            ),
            Change::Website {
                website_number,
                website,
            } => (
                format!("change of website {website_number}"),
                None,
                vec![site(Some(website_number), website)],
            ),
            Change::Access {
                website_number,
                access,
            } => (
                format!("change of the access of website {website_number}"),
                None,
                vec![WebsiteDetail {
                    website_number: Some(website_number.clone()),
                    name: String::new(),
                    home_urls: Vec::new(),
                    domains: Vec::new(),
                    service_types: Vec::new(),
                    pre_approvals: Vec::new(),
                    access: access_view(access),
                    principal: None,
                }],
            ),
            Change::AddedWebsite(website) => (
                format!("website added to {filing_number}"),
                None,
                vec![site(None, website)],
            ),
        },
        Request::Cancellation {
            filing_number: number,
            scope,
            reason,
        } => {
            let what = match scope {
                CancellationScope::Subject => "cancellation of the subject",
                CancellationScope::Website => "cancellation of the website",
                CancellationScope::Access => "cancellation of the access of",
            };
            (format!("{what} {number}: {reason}"), None, Vec::new())
        }
        Request::Withdrawal { receipt, reason } => (
            format!("withdrawal of receipt {receipt}: {reason}"),
            None,
            Vec::new(),
        ),
        Request::ProviderCheck {
            receipt,
            version,
            decision,
            ..
        } => (
            match decision {
                ProviderDecision::Confirm => {
                    format!("access provider's confirmation of receipt {receipt} version {version}")
                }
                ProviderDecision::Return { reason } => format!(
                    "access provider's return of receipt {receipt} version {version}: {reason}"
                ),
            },
            None,
            Vec::new(),
        ),
    }
}

fn person_view(p: &Person) -> PersonView {
    PersonView {
        name: p.name.clone(),
        certificate_type: names::certificate_type(p.certificate_type),
        certificate_number: p.certificate_number.clone(),
        mobile_phones: p.mobile_phones.clone(),
        office_phones: p.office_phones.clone(),
        email: p.email.clone(),
    }
}

fn subject(s: &Subject) -> SubjectView {
    SubjectView {
        name: s.name.clone(),
        nature: names::nature(s.nature),
        certificate_type: names::certificate_type(s.certificate_type),
        certificate_number: s.certificate_number.clone(),
        region_code: s.region_code,
        address: s.address.clone(),
        investor: s.investor.clone(),
        principal: person_view(&s.principal),
    }
}

fn access_view(a: &Access) -> AccessView {
    AccessView {
        provider: a.provider.clone(),
        method: names::access_method(a.method),
        server_region_code: a.server_region_code,
        ip_ranges: a
            .ip_ranges
            .iter()
            .map(|r| format!("{}-{}", r.first, r.last))
            .collect(),
    }
}

fn website(number: Option<&str>, w: &Website) -> WebsiteDetail {
    WebsiteDetail {
        website_number: number.map(str::to_owned),
        name: w.name.clone(),
        home_urls: w.home_urls.clone(),
        domains: w.domains.clone(),
        service_types: w
            .service_types
            .iter()
            .map(|s| names::service_type(*s))
            .collect(),
        pre_approvals: w
            .pre_approvals
            .iter()
            .map(|p| PreApprovalView {
                item: names::pre_approval_item(p.item),
                document_number: p.document_number.clone(),
            })
            .collect(),
        access: access_view(&w.access),
        principal: Some(person_view(&w.principal)),
    }
}

/// The name of a scan's kind.
pub fn attachment_kind(kind: AttachmentKind) -> &'static str {
    match kind {
        AttachmentKind::SubjectCertificate => "subject-certificate",
        AttachmentKind::PrincipalIdentity => "principal-identity",
        AttachmentKind::PreApproval => "pre-approval",
        AttachmentKind::PrincipalPhoto => "principal-photo",
        AttachmentKind::Other => "other",
    }
}
