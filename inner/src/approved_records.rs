//! The approved record that crosses back out (SPEC.md §6.3, wire version 6): after every
//! decision that changes a filing's records in service (an approval of a new filing, a change
//! or an added website; a cancellation; a revocation), the filing as it now stands — or its
//! withdrawal once no website of it is in service — is queued in the decision's transaction
//! for the intake node whose channel created the filing's first receipt. It is read from the
//! normalised tables, so it is exactly what was approved. The outer side shows it only to the
//! filing's owner and the access provider recorded for each website; it is personal, unlike
//! the public register ([`crate::register`]).

use std::net::IpAddr;

use bundle_format::records::{
    Access, AccessMethod, ApprovedRecord, ApprovedState, ApprovedWebsite, CertificateType, IpRange,
    Person, PreApproval, PreApprovalItem, Record, ServiceType, Subject, SubjectNature,
    WITHDRAWN_FILING_CANCELLED, WITHDRAWN_FILING_REVOKED, Website,
};
use postgres::Transaction;

use crate::names;
use crate::returns::{self, EntryKind};
use crate::store::{StoreError, db};

/// Queues the approved record of filing `filing_id` as it stands in the caller's transaction:
/// the filing while it is active with a website in service, else its withdrawal (cancelled or
/// revoked). Returns what was queued; nothing for a filing that never had a number.
pub fn publish(
    tx: &mut Transaction<'_>,
    filing_id: i64,
    now: i64,
) -> Result<Option<ApprovedRecord>, StoreError> {
    let Some(filing) = tx
        .query_opt(
            // The account that filed: the access provider that sent it for a customer, or
            // the owner who sent it directly (DESIGN.md invariant 8), as the outer store knows
            // the account of the receipt it issued.
            "SELECT f.filing_number, f.status, f.origin_receipt,
                    coalesce(r.access_provider, r.submitter, '')
             FROM filings f LEFT JOIN receipts r ON r.receipt = f.origin_receipt
             WHERE f.filing_id = $1",
            &[&filing_id],
        )
        .map_err(db("reading the filing for its approved record"))?
    else {
        return Ok(None);
    };
    let Some(filing_number) = filing.get::<_, Option<String>>(0) else {
        return Ok(None);
    };
    let status: String = filing.get(1);
    let subject = read_subject(tx, filing_id)?;
    let websites = read_websites(tx, filing_id, &filing_number)?;
    let state = match subject {
        Some(subject) if status == "active" && !websites.is_empty() => {
            ApprovedState::Approved { subject, websites }
        }
        _ => ApprovedState::Withdrawn {
            reason: if status == "revoked" {
                WITHDRAWN_FILING_REVOKED
            } else {
                WITHDRAWN_FILING_CANCELLED
            }
            .to_owned(),
        },
    };
    let event: i64 = tx
        .query_one("SELECT nextval('approved_record_events')", &[])
        .map_err(db("taking an approved record event id"))?
        .get(0);
    let record = ApprovedRecord {
        event: event.unsigned_abs(),
        filing_number,
        origin_receipt: filing.get(2),
        filer: filing.get(3),
        at: now,
        state,
    };
    returns::queue(
        tx,
        EntryKind::ApprovedRecord,
        &Record::ApprovedRecord(record.clone()),
        now,
    )?;
    Ok(Some(record))
}

/// Queues the approved record of up to `limit` (at most
/// [`crate::register::MAX_PUBLISHED_PER_BATCH`]) active filings whose id is above `after`, in id
/// order, in the caller's transaction; returns how many and the last id, for the next call. This
/// sends every approved filing's record once, e.g. for filings approved before inner migration
/// 16, which no decision has sent since. A withdrawn filing sends nothing: its owner's node never
/// had a record of it.
pub fn publish_approved(
    tx: &mut Transaction<'_>,
    after: i64,
    limit: usize,
    now: i64,
) -> Result<(usize, i64), StoreError> {
    crate::register::publish_each_approved(tx, after, limit, |tx, filing_id| {
        publish(tx, filing_id, now).map(drop)
    })
}

fn read_subject(tx: &mut Transaction<'_>, filing_id: i64) -> Result<Option<Subject>, StoreError> {
    let row = tx
        .query_opt(
            "SELECT name, nature, certificate_type, certificate_number, region_code, address,
                    investor, principal_name, principal_certificate_type,
                    principal_certificate_number, principal_mobile_phones,
                    principal_office_phones, principal_email
             FROM subject_records WHERE filing_id = $1 AND status = 'active'
             ORDER BY record_id DESC LIMIT 1",
            &[&filing_id],
        )
        .map_err(db("reading the subject record for the approved record"))?;
    let Some(row) = row else { return Ok(None) };
    let nature: String = row.get(1);
    let certificate_type: String = row.get(2);
    let region: i32 = row.get(4);
    Ok(Some(Subject {
        name: row.get(0),
        nature: stored(&nature, names::nature, NATURES, "subject nature")?,
        certificate_type: stored_certificate_type(&certificate_type)?,
        certificate_number: row.get(3),
        region_code: u32::try_from(region).unwrap_or_default(),
        address: row.get(5),
        investor: row.get(6),
        principal: person(&row, 7)?,
    }))
}

/// The person whose six columns start at `first`: name, certificate type and number, mobile
/// and office phones, e-mail.
fn person(row: &postgres::Row, first: usize) -> Result<Person, StoreError> {
    let certificate_type: String = row.get(first + 1);
    Ok(Person {
        name: row.get(first),
        certificate_type: stored_certificate_type(&certificate_type)?,
        certificate_number: row.get(first + 2),
        mobile_phones: row.get(first + 3),
        office_phones: row.get(first + 4),
        email: row.get(first + 5),
    })
}

fn read_websites(
    tx: &mut Transaction<'_>,
    filing_id: i64,
    filing_number: &str,
) -> Result<Vec<ApprovedWebsite>, StoreError> {
    let rows = tx
        .query(
            "SELECT w.website_seq, w.name, w.service_types, w.principal_name,
                    w.principal_certificate_type, w.principal_certificate_number,
                    w.principal_mobile_phones, w.principal_office_phones, w.principal_email,
                    CASE WHEN a.cancelled THEN '' ELSE coalesce(a.provider, '') END,
                    coalesce(a.method, 'other'),
                    coalesce(a.server_region_code, 0),
                    ARRAY(SELECT u.url FROM website_home_urls u
                          WHERE u.record_id = w.record_id AND u.active ORDER BY u.ctid),
                    ARRAY(SELECT d.domain FROM website_domains d
                          WHERE d.record_id = w.record_id AND d.active ORDER BY d.ctid),
                    ARRAY(SELECT host(lower(i.ips))::inet FROM website_ips i
                          WHERE i.record_id = w.record_id AND i.active ORDER BY i.ips),
                    ARRAY(SELECT host(upper(i.ips))::inet FROM website_ips i
                          WHERE i.record_id = w.record_id AND i.active ORDER BY i.ips),
                    ARRAY(SELECT p.item FROM website_pre_approvals p
                          WHERE p.record_id = w.record_id ORDER BY p.ctid),
                    ARRAY(SELECT p.document_number FROM website_pre_approvals p
                          WHERE p.record_id = w.record_id ORDER BY p.ctid)
             FROM website_records w LEFT JOIN website_access a ON a.record_id = w.record_id
             WHERE w.filing_id = $1 AND w.status = 'active'
             ORDER BY w.website_seq",
            &[&filing_id],
        )
        .map_err(db("reading the websites for the approved record"))?;
    let mut websites = Vec::with_capacity(rows.len());
    for row in rows {
        let seq: Option<i32> = row.get(0);
        let services: Vec<String> = row.get(2);
        let method: String = row.get(10);
        let region: i32 = row.get(11);
        let firsts: Vec<IpAddr> = row.get(14);
        let lasts: Vec<IpAddr> = row.get(15);
        let items: Vec<String> = row.get(16);
        let documents: Vec<String> = row.get(17);
        websites.push(ApprovedWebsite {
            website_number: filing::number::website_number(filing_number, seq.unwrap_or(0)),
            website: Website {
                name: row.get(1),
                home_urls: row.get(12),
                domains: row.get(13),
                service_types: services
                    .iter()
                    .map(|s| stored(s, names::service_type, SERVICE_TYPES, "service type"))
                    .collect::<Result<_, _>>()?,
                pre_approvals: items
                    .iter()
                    .zip(documents)
                    .map(|(item, document_number)| {
                        Ok(PreApproval {
                            item: stored(
                                item,
                                names::pre_approval_item,
                                PRE_APPROVAL_ITEMS,
                                "pre-approval item",
                            )?,
                            document_number,
                        })
                    })
                    .collect::<Result<_, StoreError>>()?,
                access: Access {
                    provider: row.get(9),
                    method: stored(
                        &method,
                        names::access_method,
                        ACCESS_METHODS,
                        "access method",
                    )?,
                    server_region_code: u32::try_from(region).unwrap_or_default(),
                    ip_ranges: firsts
                        .into_iter()
                        .zip(lasts)
                        .map(|(first, last)| IpRange { first, last })
                        .collect(),
                },
                principal: person(&row, 3)?,
            },
        });
    }
    Ok(websites)
}

/// The certificate type a stored name (as [`names::certificate_type`] writes it) stands for.
fn stored_certificate_type(name: &str) -> Result<CertificateType, StoreError> {
    stored(
        name,
        names::certificate_type,
        CERTIFICATE_TYPES,
        "certificate type",
    )
}

/// The wire value whose stored name (`names`) is `name`.
fn stored<T: Copy>(
    name: &str,
    named: fn(T) -> &'static str,
    all: &[T],
    what: &'static str,
) -> Result<T, StoreError> {
    all.iter()
        .copied()
        .find(|value| named(*value) == name)
        .ok_or_else(|| StoreError::StoredName {
            what,
            message: format!("{name:?} is not a stored {what} name"),
        })
}

const NATURES: &[SubjectNature] = &[
    SubjectNature::Enterprise,
    SubjectNature::Government,
    SubjectNature::PublicInstitution,
    SubjectNature::SocialGroup,
    SubjectNature::Individual,
    SubjectNature::Military,
];

const CERTIFICATE_TYPES: &[CertificateType] = &[
    CertificateType::UnifiedSocialCreditCode,
    CertificateType::BusinessLicense,
    CertificateType::OrganizationCode,
    CertificateType::PublicInstitutionCertificate,
    CertificateType::SocialGroupCertificate,
    CertificateType::MilitaryCode,
    CertificateType::ResidentId,
    CertificateType::Passport,
    CertificateType::HongKongMacaoPermit,
    CertificateType::TaiwanPermit,
];

const SERVICE_TYPES: &[ServiceType] = &[
    ServiceType::Showcase,
    ServiceType::Portal,
    ServiceType::News,
    ServiceType::Forum,
    ServiceType::Blog,
    ServiceType::Ecommerce,
    ServiceType::Education,
    ServiceType::Medical,
    ServiceType::Drugs,
    ServiceType::Culture,
    ServiceType::Broadcasting,
    ServiceType::Publishing,
    ServiceType::PublicAffairs,
    ServiceType::Other,
];

const ACCESS_METHODS: &[AccessMethod] = &[
    AccessMethod::Dedicated,
    AccessMethod::Colocation,
    AccessMethod::VirtualHost,
    AccessMethod::Cloud,
    AccessMethod::Other,
];

const PRE_APPROVAL_ITEMS: &[PreApprovalItem] = &[
    PreApprovalItem::News,
    PreApprovalItem::Publishing,
    PreApprovalItem::Education,
    PreApprovalItem::Medical,
    PreApprovalItem::Drugs,
    PreApprovalItem::Culture,
    PreApprovalItem::Broadcasting,
];
