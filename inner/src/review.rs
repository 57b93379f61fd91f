//! Reviewers' decisions: approve, return, reject. Each one is checked by
//! [`workflow::transition`], recorded as a review event, and queued as a status change for the
//! outer side, in the caller's transaction. The final approval of a filing assigns its number,
//! makes its records public and issues its certificate.

use bundle_format::records::ReviewState;
use postgres::Transaction;

use crate::certificates::{self, CertificateError};
use crate::filing_number;
use crate::returns;
use crate::store::events::record_transition;
use crate::store::kinds::SubmissionKind;
use crate::store::{self, StoreError};
use crate::workflow::{self, Action, Facts, Refused, ReturnTo};

/// Why a review action failed. The caller's transaction must then be rolled back.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReviewError {
    /// The database failed.
    #[error("database error while {step}: {}", store::describe(source))]
    Database {
        /// What was being done.
        step: &'static str,
        /// The error.
        #[source]
        source: postgres::Error,
    },
    /// No such receipt inside.
    #[error("no submission with receipt {receipt} is stored here")]
    UnknownReceipt {
        /// The receipt asked for.
        receipt: String,
    },
    /// The workflow does not allow this.
    #[error("receipt {receipt}: {refused}")]
    Refused {
        /// The receipt.
        receipt: String,
        /// What the workflow said.
        refused: Refused,
    },
    /// Approving would file a domain that another filing holds.
    #[error(
        "receipt {receipt}: domain {domain} is filed under {holder}; resolve that filing first"
    )]
    DomainConflict {
        /// The receipt being approved.
        receipt: String,
        /// The domain.
        domain: String,
        /// Filing number holding it.
        holder: String,
    },
    /// The subject already holds an approved filing; a second filing must come as a change.
    #[error(
        "receipt {receipt}: the subject already holds filing {holder}; a second filing must be \
         submitted as a change"
    )]
    SubjectAlreadyFiled {
        /// The receipt being approved.
        receipt: String,
        /// The subject's existing filing number.
        holder: String,
    },
    /// The year's six-digit serials of a province are used up.
    #[error("no filing numbers left for province {province} in {year}")]
    NumbersExhausted {
        /// Province code.
        province: i16,
        /// Year.
        year: i32,
    },
    /// The stored submission is inconsistent (e.g. a change without its filing).
    #[error("receipt {receipt}: {problem}")]
    Inconsistent {
        /// The receipt.
        receipt: String,
        /// What is wrong.
        problem: String,
    },
    /// Issuing or revoking the certificate failed.
    #[error(transparent)]
    Certificate(#[from] CertificateError),
    /// Queueing the status change failed.
    #[error(transparent)]
    Queue(StoreError),
}

/// A failure of recording the review event keeps the variants it had when the review wrote
/// events itself: a database error is a [`ReviewError::Database`], a receipt that moved on is
/// [`ReviewError::Inconsistent`]. Queueing maps its errors to [`ReviewError::Queue`] explicitly.
impl From<StoreError> for ReviewError {
    fn from(error: StoreError) -> ReviewError {
        match error {
            StoreError::Database { step, source } => ReviewError::Database { step, source },
            StoreError::StateMoved { receipt, from } => ReviewError::Inconsistent {
                receipt,
                problem: format!("is no longer {from}"),
            },
            other => ReviewError::Queue(other),
        }
    }
}

fn db(step: &'static str) -> impl FnOnce(postgres::Error) -> ReviewError {
    move |source| ReviewError::Database { step, source }
}

/// What a review action did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The receipt.
    pub receipt: String,
    /// State before.
    pub from: ReviewState,
    /// State after.
    pub to: ReviewState,
    /// The review event recorded (also the status change's id).
    pub event_id: i64,
    /// The filing number, when the decision finished an approval.
    pub filing_number: Option<String>,
    /// Id of the certificate issued, if one was.
    pub certificate_id: Option<i64>,
}

struct ReceiptRow {
    kind: SubmissionKind,
    state: ReviewState,
    filing_id: Option<i64>,
    target_seq: Option<i32>,
    province: i16,
    needs_pre_approval: bool,
}

fn load(tx: &mut Transaction<'_>, receipt: &str) -> Result<ReceiptRow, ReviewError> {
    let row = tx
        .query_opt(
            "SELECT kind, state, filing_id, target_website_seq, province, needs_pre_approval
             FROM receipts WHERE receipt = $1 FOR UPDATE",
            &[&receipt],
        )
        .map_err(db("reading the receipt"))?
        .ok_or_else(|| ReviewError::UnknownReceipt {
            receipt: receipt.to_owned(),
        })?;
    let kind: &str = row.get(0);
    let state: &str = row.get(1);
    Ok(ReceiptRow {
        kind: SubmissionKind::parse(kind).ok_or_else(|| ReviewError::Inconsistent {
            receipt: receipt.to_owned(),
            problem: format!("unknown kind {kind:?}"),
        })?,
        state: workflow::parse_state(state).ok_or_else(|| ReviewError::Inconsistent {
            receipt: receipt.to_owned(),
            problem: format!("unknown state {state:?}"),
        })?,
        filing_id: row.get(2),
        target_seq: row.get(3),
        province: row.get(4),
        needs_pre_approval: row.get(5),
    })
}

/// Passes the receipt's current review stage. At the last stage this approves it (or, for a
/// cancellation, cancels what it names), assigns numbers and issues, re-issues or revokes the
/// certificate signed by `certifier` (an `inner-cert` key).
pub fn approve(
    tx: &mut Transaction<'_>,
    receipt: &str,
    reviewer: &str,
    reason: Option<&str>,
    certifier: &dyn keys::Signer,
    now: i64,
) -> Result<Decision, ReviewError> {
    decide(
        tx,
        receipt,
        Action::Approve,
        reviewer,
        reason,
        Some(certifier),
        now,
    )
}

/// Sends the receipt back to its access provider or submitter.
pub fn return_submission(
    tx: &mut Transaction<'_>,
    receipt: &str,
    to: ReturnTo,
    reviewer: &str,
    reason: &str,
    now: i64,
) -> Result<Decision, ReviewError> {
    decide(
        tx,
        receipt,
        Action::Return(to),
        reviewer,
        Some(reason),
        None,
        now,
    )
}

/// Rejects the receipt.
pub fn reject(
    tx: &mut Transaction<'_>,
    receipt: &str,
    reviewer: &str,
    reason: &str,
    now: i64,
) -> Result<Decision, ReviewError> {
    decide(
        tx,
        receipt,
        Action::Reject,
        reviewer,
        Some(reason),
        None,
        now,
    )
}

fn decide(
    tx: &mut Transaction<'_>,
    receipt: &str,
    action: Action,
    reviewer: &str,
    reason: Option<&str>,
    certifier: Option<&dyn keys::Signer>,
    now: i64,
) -> Result<Decision, ReviewError> {
    let row = load(tx, receipt)?;
    let facts = Facts {
        needs_provider_check: false,
        needs_pre_approval: row.needs_pre_approval,
        is_cancellation: row.kind.is_cancellation(),
    };
    let to = workflow::transition(Some(row.state), action, facts).map_err(|refused| {
        ReviewError::Refused {
            receipt: receipt.to_owned(),
            refused,
        }
    })?;
    let mut filing_number = None;
    let mut certificate_id = None;
    if matches!(to, ReviewState::Approved | ReviewState::Cancelled) {
        let (number, effect) = finalise(tx, receipt, &row, now)?;
        let filing_id = row.filing_id.ok_or_else(|| ReviewError::Inconsistent {
            receipt: receipt.to_owned(),
            problem: "has no filing".to_owned(),
        })?;
        certificate_id = match (effect, certifier) {
            (CertificateEffect::Issue, Some(signer)) => {
                Some(certificates::issue(tx, filing_id, receipt, signer, now)?.certificate_id)
            }
            (CertificateEffect::Revoke, _) => {
                certificates::revoke(tx, filing_id)?;
                None
            }
            _ => None,
        };
        filing_number = Some(number);
    } else if to == ReviewState::Rejected {
        discard_pending(tx, receipt)?;
    }
    let event_id = record_transition(
        tx,
        receipt,
        row.state,
        to,
        reviewer,
        reason,
        filing_number.as_deref(),
        now,
    )?;
    returns::queue_status_changes(tx, &[event_id], now).map_err(ReviewError::Queue)?;
    Ok(Decision {
        receipt: receipt.to_owned(),
        from: row.state,
        to,
        event_id,
        filing_number,
        certificate_id,
    })
}

fn discard_pending(tx: &mut Transaction<'_>, receipt: &str) -> Result<(), ReviewError> {
    tx.execute(
        "UPDATE website_records SET status = 'discarded' WHERE receipt = $1 AND status = 'pending'",
        &[&receipt],
    )
    .map_err(db("discarding rejected website rows"))?;
    tx.execute(
        "UPDATE subject_records SET status = 'discarded' WHERE receipt = $1 AND status = 'pending'",
        &[&receipt],
    )
    .map_err(db("discarding rejected subject rows"))?;
    tx.execute(
        "UPDATE filings SET status = 'rejected' WHERE origin_receipt = $1 AND status = 'pending'",
        &[&receipt],
    )
    .map_err(db("rejecting a pending filing"))?;
    Ok(())
}

enum CertificateEffect {
    Issue,
    Revoke,
    Keep,
}

/// Makes an approved submission's records the filed ones. Returns the subject's filing number.
fn finalise(
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
