//! The last stage of an approval: what becomes of the filing's records when a submission of
//! each kind is finally approved (numbers assigned, records activated, superseded or
//! cancelled), and whether the certificate is then issued, revoked or kept.

use postgres::Transaction;

use super::{ReceiptRow, ReviewError, db};
use crate::filing_number;
use crate::store::kinds::SubmissionKind;

/// What an approval does to the filing's certificate.
pub(super) enum CertificateEffect {
    Issue,
    Revoke,
    Keep,
}

/// Makes an approved submission's records the filed ones. Returns the subject's filing number.
pub(super) fn finalise(
    tx: &mut Transaction<'_>,
    receipt: &str,
    row: &ReceiptRow,
    now: i64,
) -> Result<(String, CertificateEffect), ReviewError> {
    let filing_id = row.filing_id.ok_or_else(|| ReviewError::Inconsistent {
        receipt: receipt.to_owned(),
        problem: "has no filing".to_owned(),
    })?;
    let effect = match row.kind {
        SubmissionKind::NewFiling => {
            check_domains(tx, receipt)?;
            if let Some(row) = tx
                .query_opt(
                    "SELECT f.filing_number FROM subject_records mine
                     JOIN subject_records other ON other.certificate_number = mine.certificate_number
                          AND other.status = 'active'
                     JOIN filings f ON f.filing_id = other.filing_id
                     WHERE mine.receipt = $1 AND mine.status = 'pending' LIMIT 1",
                    &[&receipt],
                )
                .map_err(db("checking for an existing filing of the subject"))?
            {
                return Err(ReviewError::SubjectAlreadyFiled {
                    receipt: receipt.to_owned(),
                    holder: row.get::<_, Option<String>>(0).unwrap_or_default(),
                });
            }
            let number = allocate_number(tx, row.province, now)?;
            tx.execute(
                "UPDATE filings SET status = 'active', filing_number = $2,
                        first_approved_at = $3, last_approved_at = $3
                 WHERE filing_id = $1",
                &[&filing_id, &number, &now],
            )
            .map_err(db("approving the filing"))?;
            number_new_websites(tx, receipt, filing_id)?;
            activate(tx, receipt)?;
            CertificateEffect::Issue
        }
        SubmissionKind::ChangeSubject => {
            tx.execute(
                "UPDATE subject_records SET status = 'superseded'
                 WHERE filing_id = $1 AND status = 'active'",
                &[&filing_id],
            )
            .map_err(db("superseding the subject record"))?;
            activate(tx, receipt)?;
            CertificateEffect::Issue
        }
        SubmissionKind::ChangeWebsite | SubmissionKind::ChangeAccess => {
            check_domains(tx, receipt)?;
            retire_website(tx, filing_id, row.target_seq, Retirement::Superseded)?;
            activate(tx, receipt)?;
            CertificateEffect::Issue
        }
        SubmissionKind::AddedWebsite => {
            check_domains(tx, receipt)?;
            number_new_websites(tx, receipt, filing_id)?;
            activate(tx, receipt)?;
            CertificateEffect::Issue
        }
        SubmissionKind::CancelSubject => {
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
            CertificateEffect::Revoke
        }
        SubmissionKind::CancelWebsite => {
            retire_website(tx, filing_id, row.target_seq, Retirement::Cancelled)?;
            let left: i64 = tx
                .query_one(
                    "SELECT count(*) FROM website_records WHERE filing_id = $1 AND status = 'active'",
                    &[&filing_id],
                )
                .map_err(db("counting websites left"))?
                .get(0);
            if left == 0 {
                CertificateEffect::Revoke
            } else {
                CertificateEffect::Issue
            }
        }
        SubmissionKind::CancelAccess => {
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
            CertificateEffect::Keep
        }
        SubmissionKind::Withdrawal => {
            return Err(ReviewError::Inconsistent {
                receipt: receipt.to_owned(),
                problem: format!("a {} submission cannot be approved", row.kind.name()),
            });
        }
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
    let number = number.ok_or_else(|| ReviewError::Inconsistent {
        receipt: receipt.to_owned(),
        problem: "filing has no number".to_owned(),
    })?;
    Ok((number, effect))
}

/// Refuses approval while a domain of the receipt is actively filed elsewhere. The unique index
/// on active domains stands behind this check; this only names the culprit.
fn check_domains(tx: &mut Transaction<'_>, receipt: &str) -> Result<(), ReviewError> {
    let conflict = tx
        .query_opt(
            "SELECT d.domain, f.filing_number, a.record_id
             FROM website_records w
             JOIN website_domains d ON d.record_id = w.record_id
             JOIN website_domains a ON a.domain = d.domain AND a.active
             JOIN website_records aw ON aw.record_id = a.record_id
             JOIN filings f ON f.filing_id = a.filing_id
             WHERE w.receipt = $1 AND w.status = 'pending'
               AND NOT (aw.filing_id = w.filing_id AND aw.website_seq IS NOT DISTINCT FROM w.website_seq)
             LIMIT 1",
            &[&receipt],
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

/// Gives the receipt's new website records the filing's next suffixes, in the order they were
/// submitted. Suffixes are never reused: the counter lives on the filing and only grows.
fn number_new_websites(
    tx: &mut Transaction<'_>,
    receipt: &str,
    filing_id: i64,
) -> Result<(), ReviewError> {
    tx.execute(
        "WITH counter AS (
             SELECT next_website_seq AS next FROM filings WHERE filing_id = $2 FOR UPDATE
         ), numbered AS (
             SELECT record_id, row_number() OVER (ORDER BY record_id) - 1 AS offset_in_receipt
             FROM website_records WHERE receipt = $1 AND status = 'pending'
         )
         UPDATE website_records w SET website_seq = counter.next + numbered.offset_in_receipt
         FROM numbered, counter WHERE w.record_id = numbered.record_id",
        &[&receipt, &filing_id],
    )
    .map_err(db("numbering websites"))?;
    tx.execute(
        "UPDATE filings SET next_website_seq = next_website_seq + (
             SELECT count(*) FROM website_records WHERE receipt = $1 AND status = 'pending')
         WHERE filing_id = $2",
        &[&receipt, &filing_id],
    )
    .map_err(db("advancing the website counter"))?;
    Ok(())
}

fn activate(tx: &mut Transaction<'_>, receipt: &str) -> Result<(), ReviewError> {
    tx.execute(
        "UPDATE subject_records SET status = 'active' WHERE receipt = $1 AND status = 'pending'",
        &[&receipt],
    )
    .map_err(db("activating the subject record"))?;
    let records: Vec<i64> = tx
        .query(
            "UPDATE website_records SET status = 'active' WHERE receipt = $1 AND status = 'pending'
             RETURNING record_id",
            &[&receipt],
        )
        .map_err(db("activating website records"))?
        .into_iter()
        .map(|row| row.get(0))
        .collect();
    for table in ["website_domains", "website_ips", "website_home_urls"] {
        tx.execute(
            &format!("UPDATE {table} SET active = true WHERE record_id = ANY($1)"),
            &[&records],
        )
        .map_err(|source| match source.as_db_error() {
            Some(e) if e.constraint() == Some("website_domains_one_active") => {
                ReviewError::DomainConflict {
                    receipt: receipt.to_owned(),
                    domain: e.detail().unwrap_or_default().to_owned(),
                    holder: "another filing".to_owned(),
                }
            }
            _ => ReviewError::Database {
                step: "activating child rows",
                source,
            },
        })?;
    }
    Ok(())
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

fn retire_website(
    tx: &mut Transaction<'_>,
    filing_id: i64,
    website_seq: Option<i32>,
    retirement: Retirement,
) -> Result<(), ReviewError> {
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
    Ok(())
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
