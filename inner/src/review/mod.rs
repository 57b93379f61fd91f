//! Reviewers' decisions: approve, return, reject, and the authority's revocation of an
//! approved filing ([`revoke`]). Each decision is made by an authenticated
//! [`Reviewer`], checked by [`workflow::transition`] and then by [`Reviewer::may_decide`] (the
//! stage and the province of the filing, and for the pre-approval stage the service types it
//! needs), recorded as a review event naming the reviewer's account, and queued as a status
//! change for the outer side, in the caller's transaction. The final approval of a filing assigns its number,
//! writes its normalised rows (subject, websites, domains, IP ranges, home URLs, access,
//! pre-approvals) from the submission's stored record, so that they hold approved filings only,
//! and issues its certificate. An approval that fails leaves none of them: the caller rolls
//! the transaction back.

use bundle_format::records::{ReviewState, Submission};
use postgres::Transaction;

mod finalise;
mod normalise;
mod revoke;

pub use self::revoke::{RecordedRevocation, Revocation, history as revocations, revoke};

use self::finalise::{CertificateEffect, finalise};
use crate::certificates::{self, CertificateError};
use crate::returns;
use crate::reviewers::{NotAllowed, Reviewer, Role};
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
    /// The reviewer may not decide this submission (another province, another stage, a
    /// pre-approval it does not confirm, or the account was disabled).
    #[error("receipt {receipt}: {refused}")]
    NotAllowed {
        /// The receipt.
        receipt: String,
        /// Who was refused and what is missing.
        refused: NotAllowed,
    },
    /// The reason is longer than a status change may carry back out.
    #[error(
        "receipt {receipt}: the reason is {bytes} bytes long; at most {max} bytes (about {chars} \
         Chinese characters) cross back to the submitter",
        max = bundle_format::records::MAX_TEXT_BYTES,
        chars = bundle_format::records::MAX_TEXT_BYTES / 3
    )]
    ReasonTooLong {
        /// The receipt.
        receipt: String,
        /// The reason's length in bytes.
        bytes: usize,
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
    /// No approved filing has this number here.
    #[error("no filing numbered {filing} is stored here")]
    UnknownFiling {
        /// The filing number asked for.
        filing: String,
    },
    /// The filing is not approved now (already cancelled or revoked, or never approved).
    #[error("filing {filing} is {status}, not approved; only an approved filing is revoked")]
    FilingNotActive {
        /// The filing number.
        filing: String,
        /// Its status (`cancelled`, `revoked`…).
        status: String,
    },
    /// The filing has no website in service with this number.
    #[error("filing {filing} has no website {website} in service")]
    UnknownWebsite {
        /// The filing number.
        filing: String,
        /// The website number asked for.
        website: String,
    },
    /// The revocation cannot be made as asked (no reason, a reason too long, no key to
    /// re-issue the certificate).
    #[error("revoking filing {filing}: {problem}")]
    RevocationReason {
        /// The filing number.
        filing: String,
        /// What is wrong and what to do.
        problem: String,
    },
    /// The reviewer may not revoke this filing (another province, a pre-approval reviewer, a
    /// disabled account).
    #[error("filing {filing}: {refused}")]
    NotAllowedOnFiling {
        /// The filing number.
        filing: String,
        /// Who was refused and why.
        refused: NotAllowed,
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
            StoreError::StoredVersion {
                receipt,
                version,
                problem,
            } => ReviewError::Inconsistent {
                receipt,
                problem: format!("stored version {version} {problem}"),
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
    version: i64,
    content_hash: Vec<u8>,
}

fn load(tx: &mut Transaction<'_>, receipt: &str) -> Result<ReceiptRow, ReviewError> {
    let row = tx
        .query_opt(
            "SELECT kind, state, filing_id, target_website_seq, province, needs_pre_approval,
                    version, content_hash
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
        version: row.get(6),
        content_hash: row.get(7),
    })
}

/// Passes the receipt's current review stage. At the last stage this approves it (or, for a
/// cancellation, cancels what it names), assigns numbers and issues, re-issues or revokes the
/// certificate signed by `certifier` (an `inner-cert` key).
pub fn approve(
    tx: &mut Transaction<'_>,
    receipt: &str,
    reviewer: &Reviewer,
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
    reviewer: &Reviewer,
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
    reviewer: &Reviewer,
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
    reviewer: &Reviewer,
    reason: Option<&str>,
    certifier: Option<&dyn keys::Signer>,
    now: i64,
) -> Result<Decision, ReviewError> {
    // The reason travels back in the status change, whose text fields the wire format bounds:
    // a longer one would be refused when the return bundle is written.
    if let Some(reason) = reason
        && reason.len() > bundle_format::records::MAX_TEXT_BYTES
    {
        return Err(ReviewError::ReasonTooLong {
            receipt: receipt.to_owned(),
            bytes: reason.len(),
        });
    }
    let row = load(tx, receipt)?;
    let not_allowed = |refused| ReviewError::NotAllowed {
        receipt: receipt.to_owned(),
        refused,
    };
    // The account as it is now: one disabled since its login decides nothing.
    let reviewer = crate::reviewers::current(tx, reviewer.account_id())
        .map_err(db("reading the reviewer account"))?
        .ok_or_else(|| {
            not_allowed(NotAllowed {
                reviewer: reviewer.describe(),
                problem: "is disabled".to_owned(),
            })
        })?;
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
    let needed =
        if reviewer.role() == Role::PreApproval && row.state == ReviewState::AwaitingPreApproval {
            let stored =
                crate::store::versions::read_version(tx, receipt, row.version, &row.content_hash)?;
            needed_pre_approvals(&stored.body)
        } else {
            Vec::new()
        };
    reviewer
        .may_decide(row.state, row.province, &needed)
        .map_err(not_allowed)?;
    let mut filing_number = None;
    let mut certificate_id = None;
    if matches!(to, ReviewState::Approved | ReviewState::Cancelled) {
        refuse_if_filing_ended(tx, receipt, &row)?;
        let (number, filing_id, effect) = finalise(tx, receipt, &row, now)?;
        certificate_id = match (effect, certifier) {
            (CertificateEffect::Issue, Some(signer)) => {
                Some(certificates::issue(tx, filing_id, receipt, signer, now)?.certificate_id)
            }
            (CertificateEffect::Revoke, _) => {
                certificates::revoke(tx, filing_id, certificates::REVOKED_FILING_CANCELLED, now)?;
                None
            }
            _ => None,
        };
        crate::register::publish(tx, filing_id, now).map_err(ReviewError::Queue)?;
        crate::approved_records::publish(tx, filing_id, now).map_err(ReviewError::Queue)?;
        filing_number = Some(number);
    } else if to == ReviewState::Rejected {
        discard_pending(tx, receipt)?;
    }
    let event_id = record_transition(
        tx,
        receipt,
        row.state,
        to,
        reviewer.name(),
        Some(reviewer.account_id()),
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

/// A change or cancellation of a filing that was revoked (or cancelled) since it arrived
/// cannot be approved: the filing's records are no longer in service.
fn refuse_if_filing_ended(
    tx: &mut Transaction<'_>,
    receipt: &str,
    row: &ReceiptRow,
) -> Result<(), ReviewError> {
    if row.kind == SubmissionKind::NewFiling {
        return Ok(());
    }
    let Some(filing_id) = row.filing_id else {
        return Ok(());
    };
    let row = tx
        .query_one(
            "SELECT status, coalesce(filing_number, '') FROM filings WHERE filing_id = $1",
            &[&filing_id],
        )
        .map_err(db("reading the filing's status"))?;
    let status: String = row.get(0);
    if status == "active" {
        Ok(())
    } else {
        tracing::info!(receipt, status = %status, "a submission about an ended filing can only be rejected");
        Err(ReviewError::FilingNotActive {
            filing: row.get(1),
            status,
        })
    }
}

/// A rejected new filing imported before migration 5 has a pending filing: it is rejected too.
/// (Since then a pending submission has no normalised rows to discard.)
fn discard_pending(tx: &mut Transaction<'_>, receipt: &str) -> Result<(), ReviewError> {
    tx.execute(
        "UPDATE filings SET status = 'rejected' WHERE origin_receipt = $1 AND status = 'pending'",
        &[&receipt],
    )
    .map_err(db("rejecting a pending filing"))?;
    Ok(())
}

/// The pre-approvals (service type names, sorted) the websites of a submission need: those it
/// lists and those its service types call for.
fn needed_pre_approvals(body: &Submission) -> Vec<String> {
    let websites = body.listed_websites();
    let mut needed: Vec<String> = websites
        .iter()
        .flat_map(|w| {
            w.pre_approvals.iter().map(|p| p.item).chain(
                w.service_types
                    .iter()
                    .filter_map(|s| filing::website::pre_approval_for(*s)),
            )
        })
        .map(|item| crate::names::pre_approval_item(item).to_owned())
        .collect();
    needed.sort_unstable();
    needed.dedup();
    needed
}
