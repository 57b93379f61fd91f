//! Writing the website records of the accepted submissions and the rows under them: access,
//! domains, home URLs, pre-approvals and IP ranges. An access change has no website details of
//! its own: its new record copies them from the record it replaces.

use postgres::Transaction;
use postgres::types::Type;

use super::{Decided, person};
use crate::import::copier::Copier;
use crate::import::staging::StagedWebsite;
use crate::import::{ApplyError, db};
use crate::names;
use crate::store::kinds::SubmissionKind as Kind;

/// Writes every website table, records before the rows that reference them.
pub(super) fn write_websites(
    tx: &mut Transaction<'_>,
    decided: &Decided<'_, '_>,
) -> Result<(), ApplyError> {
    write_website_records(tx, decided)?;
    write_access(tx, decided)?;
    write_domains(tx, decided)?;
    write_home_urls(tx, decided)?;
    write_pre_approvals(tx, decided)?;
    copy_ip_ranges(
        tx,
        decided
            .websites()
            .map(|(website, .., accepted)| (website, accepted.filing_id)),
    )
}

/// Writes the website records: from the submission's details, or for an access change from the
/// record it replaces.
fn write_website_records(
    tx: &mut Transaction<'_>,
    decided: &Decided<'_, '_>,
) -> Result<(), ApplyError> {
    let mut copy = Copier::new(
        tx,
        "writing website records",
        "website_records",
        "record_id, filing_id, receipt, status, website_seq, name, service_types, \
         principal_name, principal_certificate_type, principal_certificate_number, \
         principal_mobile_phones, principal_office_phones, principal_email",
        &[
            Type::INT8,
            Type::INT8,
            Type::TEXT,
            Type::TEXT,
            Type::INT4,
            Type::TEXT,
            Type::TEXT_ARRAY,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT_ARRAY,
            Type::TEXT_ARRAY,
            Type::TEXT,
        ],
    )?;
    for (website, version, local, accepted) in decided.websites() {
        let Some(details) = website.details else {
            continue;
        };
        // A changed website keeps its number; a new one is numbered at approval.
        let website_seq = match local.kind {
            Kind::ChangeWebsite => local.target_seq,
            _ => None,
        };
        let p = person(&details.principal);
        let services: Vec<&str> = details
            .service_types
            .iter()
            .map(|s| names::service_type(*s))
            .collect();
        copy.row(&[
            &website.record_id,
            &accepted.filing_id,
            &version.receipt,
            &"pending",
            &website_seq,
            &details.name,
            &services,
            &p.name,
            &p.certificate_type,
            &p.certificate_number,
            &p.mobiles,
            &p.offices,
            &p.email,
        ])?;
    }
    copy.finish()?;
    tx.execute(
        "INSERT INTO website_records (record_id, filing_id, receipt, status, website_seq, name,
             service_types, principal_name, principal_certificate_type,
             principal_certificate_number, principal_mobile_phones, principal_office_phones,
             principal_email)
         SELECT w.record_id, s.filing_id, s.receipt, 'pending', s.target_seq, o.name,
                o.service_types, o.principal_name, o.principal_certificate_type,
                o.principal_certificate_number, o.principal_mobile_phones,
                o.principal_office_phones, o.principal_email
         FROM stage_access_changes w JOIN stage_versions s ON s.ord = w.ord
         JOIN website_records o ON o.record_id = s.source_record_id
         WHERE s.outcome IN ('applied', 'conflict')",
        &[],
    )
    .map_err(db("writing website records of access changes"))?;
    Ok(())
}

/// Writes each website's access record.
fn write_access(tx: &mut Transaction<'_>, decided: &Decided<'_, '_>) -> Result<(), ApplyError> {
    let mut copy = Copier::new(
        tx,
        "writing access records",
        "website_access",
        "record_id, provider, method, server_region_code",
        &[Type::INT8, Type::TEXT, Type::TEXT, Type::INT4],
    )?;
    for (website, ..) in decided.websites() {
        let access = website.access;
        let region = i32::try_from(access.server_region_code).unwrap_or(i32::MAX);
        copy.row(&[
            &website.record_id,
            &access.provider,
            &names::access_method(access.method),
            &region,
        ])?;
    }
    copy.finish()?;
    Ok(())
}

/// Writes each website's domains.
fn write_domains(tx: &mut Transaction<'_>, decided: &Decided<'_, '_>) -> Result<(), ApplyError> {
    let mut copy = Copier::new(
        tx,
        "writing domains",
        "website_domains",
        "record_id, filing_id, domain",
        &[Type::INT8, Type::INT8, Type::TEXT],
    )?;
    for (website, .., accepted) in decided.websites() {
        for domain in website.details.iter().flat_map(|w| &w.domains) {
            // Domains compare case-insensitively; store the canonical lower case.
            copy.row(&[
                &website.record_id,
                &accepted.filing_id,
                &domain.to_ascii_lowercase(),
            ])?;
        }
    }
    copy.finish()?;
    copy_rows_to_access_changes(
        tx,
        "website_domains",
        &[("filing_id", "s.filing_id"), ("domain", "o.domain")],
        "writing domains of access changes",
    )?;
    Ok(())
}

/// Writes each website's home URLs.
fn write_home_urls(tx: &mut Transaction<'_>, decided: &Decided<'_, '_>) -> Result<(), ApplyError> {
    let mut copy = Copier::new(
        tx,
        "writing home URLs",
        "website_home_urls",
        "record_id, url",
        &[Type::INT8, Type::TEXT],
    )?;
    for (website, ..) in decided.websites() {
        for url in website.details.iter().flat_map(|w| &w.home_urls) {
            copy.row(&[&website.record_id, url])?;
        }
    }
    copy.finish()?;
    copy_rows_to_access_changes(
        tx,
        "website_home_urls",
        &[("url", "o.url")],
        "writing home URLs of access changes",
    )?;
    Ok(())
}

/// Writes each website's pre-approvals.
fn write_pre_approvals(
    tx: &mut Transaction<'_>,
    decided: &Decided<'_, '_>,
) -> Result<(), ApplyError> {
    let mut copy = Copier::new(
        tx,
        "writing pre-approvals",
        "website_pre_approvals",
        "record_id, item, document_number",
        &[Type::INT8, Type::TEXT, Type::TEXT],
    )?;
    for (website, ..) in decided.websites() {
        for approval in website.details.iter().flat_map(|w| &w.pre_approvals) {
            copy.row(&[
                &website.record_id,
                &names::pre_approval_item(approval.item),
                &approval.document_number,
            ])?;
        }
    }
    copy.finish()?;
    copy_rows_to_access_changes(
        tx,
        "website_pre_approvals",
        &[("item", "o.item"), ("document_number", "o.document_number")],
        "writing pre-approvals of access changes",
    )?;
    Ok(())
}

/// Gives the new website record of each accepted access change a copy of `table`'s rows of the
/// record it replaces (an access change keeps the website's domains, home URLs and
/// pre-approvals). `columns` are the table's columns after `record_id` with what each is
/// selected from: `o` is the replaced record's row, `s` the change's staged version.
fn copy_rows_to_access_changes(
    tx: &mut Transaction<'_>,
    table: &'static str,
    columns: &[(&'static str, &'static str)],
    step: &'static str,
) -> Result<(), ApplyError> {
    let names: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
    let sources: Vec<&str> = columns.iter().map(|(_, source)| *source).collect();
    let sql = format!(
        "INSERT INTO {table} (record_id, {})
         SELECT w.record_id, {}
         FROM stage_access_changes w JOIN stage_versions s ON s.ord = w.ord
         JOIN {table} o ON o.record_id = s.source_record_id
         WHERE s.outcome IN ('applied', 'conflict')",
        names.join(", "),
        sources.join(", ")
    );
    tx.execute(sql.as_str(), &[]).map_err(db(step))?;
    Ok(())
}

/// Writes the IP ranges of the accepted websites. They go as COPY text: the range type is the
/// schema's own (`inetrange`), for which the client has no binary encoder, and its text form
/// `[first,last]` is what `inetrange(first, last, '[]')` makes.
fn copy_ip_ranges<'w>(
    tx: &mut Transaction<'_>,
    websites: impl Iterator<Item = (&'w StagedWebsite<'w>, Option<i64>)>,
) -> Result<(), ApplyError> {
    use std::io::Write as _;
    const STEP: &str = "writing IP ranges";
    let mut sink = tx
        .copy_in("COPY website_ips (record_id, filing_id, ips) FROM STDIN")
        .map_err(db(STEP))?;
    let mut line = String::new();
    for (website, filing_id) in websites {
        // A NULL filing id would be refused by the table; `\N` lets the server say so.
        let filing_id = filing_id.map_or_else(|| "\\N".to_owned(), |id| id.to_string());
        for range in &website.access.ip_ranges {
            line.clear();
            line.push_str(&format!(
                "{}\t{filing_id}\t[{},{}]\n",
                website.record_id, range.first, range.last
            ));
            if let Err(error) = sink.write_all(line.as_bytes()) {
                // The writer only fails when sending to the server fails, with the client's
                // error inside.
                return Err(
                    match error.into_inner().map(|e| e.downcast::<postgres::Error>()) {
                        Some(Ok(source)) => ApplyError::Database {
                            step: STEP,
                            source: *source,
                        },
                        Some(Err(other)) => ApplyError::Encode {
                            what: "IP ranges",
                            message: other.to_string(),
                        },
                        None => ApplyError::Encode {
                            what: "IP ranges",
                            message: "the COPY stream failed".to_owned(),
                        },
                    },
                );
            }
            crate::failpoint::hit("import.mid-copy");
        }
    }
    sink.finish().map_err(db(STEP))?;
    Ok(())
}
