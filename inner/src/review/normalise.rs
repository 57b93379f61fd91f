//! Writing an approved submission's normalised rows: the subject record, and each website
//! record with its access, domains, IP ranges, home URLs and pre-approvals. Only approval writes
//! them, in its own transaction, from the submission's stored record, so these tables hold
//! approved filings only. Each table takes one statement per website (arrays unnested
//! server-side), whatever the number of domains or addresses.

use std::net::IpAddr;

use bundle_format::records::{Access, Person, Subject, Website};
use postgres::Transaction;

use super::{ReviewError, db};
use crate::names;

/// The unique index that keeps a domain from being actively filed twice.
const ONE_ACTIVE_DOMAIN: &str = "website_domains_one_active";

/// The lower-case domains of `websites`, as the store holds them.
pub(super) fn domains_of<'w>(websites: impl IntoIterator<Item = &'w Website>) -> Vec<String> {
    websites
        .into_iter()
        .flat_map(|w| &w.domains)
        .map(|d| d.to_ascii_lowercase())
        .collect()
}

/// Writes `subject` as the filing's active subject record.
pub(super) fn insert_subject(
    tx: &mut Transaction<'_>,
    filing_id: i64,
    receipt: &str,
    subject: &Subject,
) -> Result<(), ReviewError> {
    let p = &subject.principal;
    let region = i32::try_from(subject.region_code).unwrap_or(i32::MAX);
    tx.execute(
        "INSERT INTO subject_records (filing_id, receipt, status, name, nature, certificate_type,
             certificate_number, region_code, address, investor, principal_name,
             principal_certificate_type, principal_certificate_number, principal_mobile_phones,
             principal_office_phones, principal_email)
         VALUES ($1, $2, 'active', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        &[
            &filing_id,
            &receipt,
            &subject.name,
            &names::nature(subject.nature),
            &names::certificate_type(subject.certificate_type),
            &subject.certificate_number,
            &region,
            &subject.address,
            &subject.investor,
            &p.name,
            &names::certificate_type(p.certificate_type),
            &p.certificate_number,
            &p.mobile_phones,
            &p.office_phones,
            &p.email,
        ],
    )
    .map_err(db("writing the subject record"))?;
    Ok(())
}

/// Writes `website` as the active website `website_seq` of the filing, with everything under
/// it. A domain actively filed elsewhere meanwhile is refused by the unique index.
pub(super) fn insert_website(
    tx: &mut Transaction<'_>,
    filing_id: i64,
    receipt: &str,
    website_seq: i32,
    website: &Website,
) -> Result<(), ReviewError> {
    let record_id = insert_website_record(tx, filing_id, receipt, website_seq, website)?;
    insert_access(tx, record_id, filing_id, &website.access)?;
    let domains = domains_of([website]);
    tx.execute(
        "INSERT INTO website_domains (record_id, filing_id, domain, active)
         SELECT $1, $2, d, true FROM unnest($3::text[]) AS d",
        &[&record_id, &filing_id, &domains],
    )
    .map_err(domain_conflict(receipt, "writing domains"))?;
    tx.execute(
        "INSERT INTO website_home_urls (record_id, url, active)
         SELECT $1, u, true FROM unnest($2::text[]) AS u",
        &[&record_id, &website.home_urls],
    )
    .map_err(db("writing home URLs"))?;
    let items: Vec<&str> = website
        .pre_approvals
        .iter()
        .map(|p| names::pre_approval_item(p.item))
        .collect();
    let documents: Vec<&str> = website
        .pre_approvals
        .iter()
        .map(|p| p.document_number.as_str())
        .collect();
    tx.execute(
        "INSERT INTO website_pre_approvals (record_id, item, document_number)
         SELECT $1, i, n FROM unnest($2::text[], $3::text[]) AS p (i, n)",
        &[&record_id, &items, &documents],
    )
    .map_err(db("writing pre-approvals"))?;
    Ok(())
}

/// Writes the active website record that an approved access change makes: the details,
/// domains, home URLs and pre-approvals of the record `replaced` (retired just before) with the
/// new `access`.
pub(super) fn insert_access_change(
    tx: &mut Transaction<'_>,
    replaced: i64,
    receipt: &str,
    access: &Access,
) -> Result<(), ReviewError> {
    let row = tx
        .query_one(
            "INSERT INTO website_records (filing_id, receipt, status, website_seq, name,
                 service_types, principal_name, principal_certificate_type,
                 principal_certificate_number, principal_mobile_phones, principal_office_phones,
                 principal_email)
             SELECT filing_id, $2, 'active', website_seq, name, service_types, principal_name,
                    principal_certificate_type, principal_certificate_number,
                    principal_mobile_phones, principal_office_phones, principal_email
             FROM website_records WHERE record_id = $1
             RETURNING record_id, filing_id",
            &[&replaced, &receipt],
        )
        .map_err(db("writing the website record of an access change"))?;
    let record_id: i64 = row.get(0);
    let filing_id: i64 = row.get(1);
    insert_access(tx, record_id, filing_id, access)?;
    tx.execute(
        "INSERT INTO website_domains (record_id, filing_id, domain, active)
         SELECT $1, filing_id, domain, true FROM website_domains WHERE record_id = $2",
        &[&record_id, &replaced],
    )
    .map_err(domain_conflict(
        receipt,
        "writing domains of an access change",
    ))?;
    tx.execute(
        "INSERT INTO website_home_urls (record_id, url, active)
         SELECT $1, url, true FROM website_home_urls WHERE record_id = $2",
        &[&record_id, &replaced],
    )
    .map_err(db("writing home URLs of an access change"))?;
    tx.execute(
        "INSERT INTO website_pre_approvals (record_id, item, document_number)
         SELECT $1, item, document_number FROM website_pre_approvals WHERE record_id = $2",
        &[&record_id, &replaced],
    )
    .map_err(db("writing pre-approvals of an access change"))?;
    Ok(())
}

fn insert_website_record(
    tx: &mut Transaction<'_>,
    filing_id: i64,
    receipt: &str,
    website_seq: i32,
    website: &Website,
) -> Result<i64, ReviewError> {
    let p: &Person = &website.principal;
    let services: Vec<&str> = website
        .service_types
        .iter()
        .map(|s| names::service_type(*s))
        .collect();
    let row = tx
        .query_one(
            "INSERT INTO website_records (filing_id, receipt, status, website_seq, name,
                 service_types, principal_name, principal_certificate_type,
                 principal_certificate_number, principal_mobile_phones, principal_office_phones,
                 principal_email)
             VALUES ($1, $2, 'active', $3, $4, $5, $6, $7, $8, $9, $10, $11)
             RETURNING record_id",
            &[
                &filing_id,
                &receipt,
                &website_seq,
                &website.name,
                &services,
                &p.name,
                &names::certificate_type(p.certificate_type),
                &p.certificate_number,
                &p.mobile_phones,
                &p.office_phones,
                &p.email,
            ],
        )
        .map_err(db("writing the website record"))?;
    Ok(row.get(0))
}

/// Writes a website record's access row and its active IP ranges.
fn insert_access(
    tx: &mut Transaction<'_>,
    record_id: i64,
    filing_id: i64,
    access: &Access,
) -> Result<(), ReviewError> {
    let region = i32::try_from(access.server_region_code).unwrap_or(i32::MAX);
    tx.execute(
        "INSERT INTO website_access (record_id, provider, method, server_region_code)
         VALUES ($1, $2, $3, $4)",
        &[
            &record_id,
            &access.provider,
            &names::access_method(access.method),
            &region,
        ],
    )
    .map_err(db("writing the access record"))?;
    let firsts: Vec<IpAddr> = access.ip_ranges.iter().map(|r| r.first).collect();
    let lasts: Vec<IpAddr> = access.ip_ranges.iter().map(|r| r.last).collect();
    tx.execute(
        "INSERT INTO website_ips (record_id, filing_id, ips, active)
         SELECT $1, $2, inetrange(f, l, '[]'), true FROM unnest($3::inet[], $4::inet[]) AS r (f, l)",
        &[&record_id, &filing_id, &firsts, &lasts],
    )
    .map_err(db("writing IP ranges"))?;
    Ok(())
}

/// Maps the unique index on active domains to a [`ReviewError::DomainConflict`]; any other
/// failure is a database error of `step`.
fn domain_conflict<'r>(
    receipt: &'r str,
    step: &'static str,
) -> impl FnOnce(postgres::Error) -> ReviewError + 'r {
    move |source| match source.as_db_error() {
        Some(e) if e.constraint() == Some(ONE_ACTIVE_DOMAIN) => ReviewError::DomainConflict {
            receipt: receipt.to_owned(),
            domain: e.detail().unwrap_or_default().to_owned(),
            holder: "another filing".to_owned(),
        },
        _ => ReviewError::Database { step, source },
    }
}
