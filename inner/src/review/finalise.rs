//! The last stage of an approval: what becomes of the filing's records when a submission of
//! each kind is finally approved (numbers assigned, the submission's normalised rows written
//! from its stored record, the rows it replaces superseded or cancelled), and whether the
//! certificate is then issued, revoked or kept.

use bundle_format::records::{Change, Submission};
use postgres::Transaction;

use super::normalise::{domains_of, insert_access_change, insert_subject, insert_website};
use super::{ReceiptRow, ReviewError, db};
use crate::filing_number;
use crate::store::kinds::SubmissionKind;
use crate::store::versions::read_version;

/// What an approval does to the filing's certificate.
pub(super) enum CertificateEffect {
    Issue,
    Revoke,
    Keep,
}

/// Makes an approved submission the filed one: writes its normalised rows (read from its
/// stored record) and retires the ones it replaces. Returns the subject's filing number and the
/// filing's id (a new filing gets its filing here).
pub(super) fn finalise(
    tx: &mut Transaction<'_>,
    receipt: &str,
    row: &ReceiptRow,
    now: i64,
) -> Result<(String, i64, CertificateEffect), ReviewError> {
    let inconsistent = |problem: &str| ReviewError::Inconsistent {
        receipt: receipt.to_owned(),
        problem: problem.to_owned(),
    };
    let needs_filing = || row.filing_id.ok_or_else(|| inconsistent("has no filing"));
    let body = match row.kind {
        SubmissionKind::NewFiling
        | SubmissionKind::ChangeSubject
        | SubmissionKind::ChangeWebsite
        | SubmissionKind::ChangeAccess
        | SubmissionKind::AddedWebsite => {
            Some(read_version(&mut *tx, receipt, row.version, &row.content_hash)?.body)
        }
        _ => None,
    };
    let wrong_body = || inconsistent(&format!("its stored record is not a {}", row.kind.name()));
    let new_filing = body.as_ref().and_then(Submission::new_filing);
    let change = body
        .as_ref()
        .and_then(Submission::change)
        .map(|(_, change)| change);
    let (filing_id, effect) = match (row.kind, new_filing, change) {
        (SubmissionKind::NewFiling, Some(filing), _) => {
            check_domains(tx, receipt, &domains_of(&filing.websites), None)?;
            if let Some(row) = tx
                .query_opt(
                    "SELECT f.filing_number FROM subject_records other
                     JOIN filings f ON f.filing_id = other.filing_id
                     WHERE other.certificate_number = $1 AND other.status = 'active' LIMIT 1",
                    &[&filing.subject.certificate_number],
                )
                .map_err(db("checking for an existing filing of the subject"))?
            {
                return Err(ReviewError::SubjectAlreadyFiled {
                    receipt: receipt.to_owned(),
                    holder: row.get::<_, Option<String>>(0).unwrap_or_default(),
                });
            }
            // A receipt imported before migration 5 has its pending filing already.
            let filing_id = match row.filing_id {
                Some(id) => id,
                None => create_filing(tx, receipt, row.province)?,
            };
            let number = allocate_number(tx, row.province, now)?;
            tx.execute(
                "UPDATE filings SET status = 'active', filing_number = $2,
                        first_approved_at = $3, last_approved_at = $3
                 WHERE filing_id = $1",
                &[&filing_id, &number, &now],
            )
            .map_err(db("approving the filing"))?;
            insert_subject(tx, filing_id, receipt, &filing.subject)?;
            let first = take_website_seqs(tx, filing_id, filing.websites.len())?;
            for (seq, website) in (first..).zip(&filing.websites) {
                insert_website(tx, filing_id, receipt, seq, website)?;
            }
            (filing_id, CertificateEffect::Issue)
        }
        (SubmissionKind::ChangeSubject, _, Some(Change::Subject(subject))) => {
            let filing_id = needs_filing()?;
            tx.execute(
                "UPDATE subject_records SET status = 'superseded'
                 WHERE filing_id = $1 AND status = 'active'",
                &[&filing_id],
            )
            .map_err(db("superseding the subject record"))?;
            insert_subject(tx, filing_id, receipt, subject)?;
            (filing_id, CertificateEffect::Issue)
        }
        (SubmissionKind::ChangeWebsite, _, Some(Change::Website { website, .. })) => {
            let filing_id = needs_filing()?;
            let seq = row
                .target_seq
                .ok_or_else(|| inconsistent("names no website"))?;
            check_domains(tx, receipt, &domains_of([website]), Some((filing_id, seq)))?;
            retire_website(tx, filing_id, row.target_seq, Retirement::Superseded)?;
            insert_website(tx, filing_id, receipt, seq, website)?;
            (filing_id, CertificateEffect::Issue)
        }
        (SubmissionKind::ChangeAccess, _, Some(Change::Access { access, .. })) => {
            let filing_id = needs_filing()?;
            let retired = retire_website(tx, filing_id, row.target_seq, Retirement::Superseded)?;
            let [replaced] = retired[..] else {
                return Err(inconsistent("names a website that is not filed"));
            };
            insert_access_change(tx, replaced, receipt, access)?;
            (filing_id, CertificateEffect::Issue)
        }
        (SubmissionKind::AddedWebsite, _, Some(Change::AddedWebsite(website))) => {
            let filing_id = needs_filing()?;
            check_domains(tx, receipt, &domains_of([website]), None)?;
            let seq = take_website_seqs(tx, filing_id, 1)?;
            insert_website(tx, filing_id, receipt, seq, website)?;
            (filing_id, CertificateEffect::Issue)
        }
        (SubmissionKind::CancelSubject, _, _) => {
            let filing_id = needs_filing()?;
            for table in ["website_records", "subject_records"] {
                tx.execute(
                    &format!(
                        "UPDATE {table} SET status = 'cancelled'
                         WHERE filing_id = $1 AND status = 'active'"
                    ),
                    &[&filing_id],
                )
                .map_err(db("cancelling the filing's records"))?;
            }
            deactivate_children(
                tx,
                "SELECT record_id FROM website_records WHERE filing_id = $1",
                filing_id,
            )?;
            tx.execute(
                "UPDATE filings SET status = 'cancelled' WHERE filing_id = $1",
                &[&filing_id],
            )
            .map_err(db("cancelling the filing"))?;
            (filing_id, CertificateEffect::Revoke)
        }
        (SubmissionKind::CancelWebsite, _, _) => {
            let filing_id = needs_filing()?;
            retire_website(tx, filing_id, row.target_seq, Retirement::Cancelled)?;
            if active_websites(tx, filing_id)? == 0 {
                (filing_id, CertificateEffect::Revoke)
            } else {
                (filing_id, CertificateEffect::Issue)
            }
        }
        (SubmissionKind::CancelAccess, _, _) => {
            let filing_id = needs_filing()?;
            tx.execute(
                "UPDATE website_ips SET active = false WHERE record_id IN (
                     SELECT record_id FROM website_records
                     WHERE filing_id = $1 AND website_seq = $2 AND status = 'active')",
                &[&filing_id, &row.target_seq],
            )
            .map_err(db("cancelling access"))?;
            tx.execute(
                "UPDATE website_access SET cancelled = true WHERE record_id IN (
                     SELECT record_id FROM website_records
                     WHERE filing_id = $1 AND website_seq = $2 AND status = 'active')",
                &[&filing_id, &row.target_seq],
            )
            .map_err(db("cancelling access"))?;
            (filing_id, CertificateEffect::Keep)
        }
        (SubmissionKind::Withdrawal, _, _) => {
            return Err(inconsistent(&format!(
                "a {} submission cannot be approved",
                row.kind.name()
            )));
        }
        _ => return Err(wrong_body()),
    };
    if !row.kind.is_cancellation() {
        tx.execute(
            "UPDATE filings SET last_approved_at = $2 WHERE filing_id = $1",
            &[&filing_id, &now],
        )
        .map_err(db("noting the approval time"))?;
    }
    let number: Option<String> = tx
        .query_one(
            "SELECT filing_number FROM filings WHERE filing_id = $1",
            &[&filing_id],
        )
        .map_err(db("reading the filing number"))?
        .get(0);
    let number = number.ok_or_else(|| inconsistent("filing has no number"))?;
    Ok((number, filing_id, effect))
}

/// Makes the filing of a new filing being approved, and names it on its receipt.
fn create_filing(
    tx: &mut Transaction<'_>,
    receipt: &str,
    province: i16,
) -> Result<i64, ReviewError> {
    let filing_id: i64 = tx
        .query_one(
            "INSERT INTO filings (origin_receipt, province, status) VALUES ($1, $2, 'pending')
             RETURNING filing_id",
            &[&receipt, &province],
        )
        .map_err(db("creating the filing"))?
        .get(0);
    tx.execute(
        "UPDATE receipts SET filing_id = $2 WHERE receipt = $1",
        &[&receipt, &filing_id],
    )
    .map_err(db("naming the filing on its receipt"))?;
    Ok(filing_id)
}

/// Refuses approval while one of `domains` is actively filed elsewhere: by another filing, or
/// by another website of this one than the website `replacing` names (filing id, website
/// number) when the approval replaces it. The unique index on active domains stands behind
/// this check; this only names the culprit.
fn check_domains(
    tx: &mut Transaction<'_>,
    receipt: &str,
    domains: &[String],
    replacing: Option<(i64, i32)>,
) -> Result<(), ReviewError> {
    let (filing_id, website_seq) = replacing.unzip();
    let conflict = tx
        .query_opt(
            "SELECT d.domain, f.filing_number
             FROM unnest($1::text[]) AS d (domain)
             JOIN website_domains a ON a.domain = d.domain AND a.active
             JOIN website_records aw ON aw.record_id = a.record_id
             JOIN filings f ON f.filing_id = a.filing_id
             WHERE NOT (aw.filing_id IS NOT DISTINCT FROM $2
                        AND aw.website_seq IS NOT DISTINCT FROM $3)
             LIMIT 1",
            &[&domains, &filing_id, &website_seq],
        )
        .map_err(db("checking domains"))?;
    match conflict {
        Some(row) => Err(ReviewError::DomainConflict {
            receipt: receipt.to_owned(),
            domain: row.get(0),
            holder: row.get::<_, Option<String>>(1).unwrap_or_default(),
        }),
        None => Ok(()),
    }
}

/// Hands out the next serial of the province and year. The row lock taken by the increment
/// makes concurrent approvals wait for each other, and a serial is never handed out twice
/// because the counter only grows (a rolled-back approval never issued its number).
fn allocate_number(
    tx: &mut Transaction<'_>,
    province: i16,
    now: i64,
) -> Result<String, ReviewError> {
    let year = time::OffsetDateTime::from_unix_timestamp(now)
        .map(|t| t.year())
        .unwrap_or(1970);
    let current: Option<i32> = tx
        .query_opt(
            "SELECT last_serial FROM filing_number_serials WHERE province = $1 AND year = $2
             FOR UPDATE",
            &[&province, &year],
        )
        .map_err(db("reading the serial counter"))?
        .map(|row| row.get(0));
    let max = i32::try_from(filing_number::MAX_SERIAL).unwrap_or(i32::MAX);
    if current.is_some_and(|serial| serial >= max) {
        return Err(ReviewError::NumbersExhausted { province, year });
    }
    let serial: i32 = tx
        .query_one(
            "INSERT INTO filing_number_serials (province, year, last_serial) VALUES ($1, $2, 1)
             ON CONFLICT (province, year)
             DO UPDATE SET last_serial = filing_number_serials.last_serial + 1
             RETURNING last_serial",
            &[&province, &year],
        )
        .map_err(db("taking the next serial"))?
        .get(0);
    filing_number::format(
        u32::try_from(province).unwrap_or(0),
        year,
        u32::try_from(serial).unwrap_or(0),
    )
    .ok_or(ReviewError::NumbersExhausted { province, year })
}

/// Takes the filing's next `count` website numbers (suffixes) and returns the first. Suffixes
/// are never reused: the counter lives on the filing and only grows, and its row lock makes
/// concurrent approvals of one filing take turns.
fn take_website_seqs(
    tx: &mut Transaction<'_>,
    filing_id: i64,
    count: usize,
) -> Result<i32, ReviewError> {
    let count = i32::try_from(count).unwrap_or(i32::MAX);
    let first: i32 = tx
        .query_one(
            "UPDATE filings SET next_website_seq = next_website_seq + $2 WHERE filing_id = $1
             RETURNING next_website_seq - $2",
            &[&filing_id, &count],
        )
        .map_err(db("numbering websites"))?
        .get(0);
    Ok(first)
}

/// Why an approval takes a website record out of service.
#[derive(Debug, Clone, Copy)]
enum Retirement {
    /// An approved change replaced it.
    Superseded,
    /// An approved cancellation ended it.
    Cancelled,
}

impl Retirement {
    /// The record's status afterwards, as stored in `website_records.status`.
    fn status(self) -> &'static str {
        match self {
            Retirement::Superseded => "superseded",
            Retirement::Cancelled => "cancelled",
        }
    }
}

/// Takes the filing's active website `website_seq` out of service; returns the record retired.
/// How many websites of filing `filing_id` are in service.
pub(super) fn active_websites(
    tx: &mut Transaction<'_>,
    filing_id: i64,
) -> Result<i64, ReviewError> {
    Ok(tx
        .query_one(
            "SELECT count(*) FROM website_records WHERE filing_id = $1 AND status = 'active'",
            &[&filing_id],
        )
        .map_err(db("counting websites left"))?
        .get(0))
}

fn retire_website(
    tx: &mut Transaction<'_>,
    filing_id: i64,
    website_seq: Option<i32>,
    retirement: Retirement,
) -> Result<Vec<i64>, ReviewError> {
    let status = retirement.status();
    let retired: Vec<i64> = tx
        .query(
            "UPDATE website_records SET status = $3
             WHERE filing_id = $1 AND website_seq = $2 AND status = 'active'
             RETURNING record_id",
            &[&filing_id, &website_seq, &status],
        )
        .map_err(db("retiring the website record"))?
        .into_iter()
        .map(|row| row.get(0))
        .collect();
    for table in ["website_domains", "website_ips", "website_home_urls"] {
        tx.execute(
            &format!("UPDATE {table} SET active = false WHERE record_id = ANY($1)"),
            &[&retired],
        )
        .map_err(db("retiring child rows"))?;
    }
    Ok(retired)
}

fn deactivate_children(
    tx: &mut Transaction<'_>,
    records_of_filing: &str,
    filing_id: i64,
) -> Result<(), ReviewError> {
    for table in ["website_domains", "website_ips", "website_home_urls"] {
        tx.execute(
            &format!("UPDATE {table} SET active = false WHERE record_id IN ({records_of_filing})"),
            &[&filing_id],
        )
        .map_err(db("deactivating child rows"))?;
    }
    Ok(())
}
