//! Accepting one submission, whichever way it came in: validate and convert the request for the
//! account that sent it, and build the version to store. The single-submission handlers call
//! [`prepare`]; a batch upload calls its pure part, [`check_submission`], once per row.

use bundle_format::records::{self, SubmissionVersion};

use super::{AppError, AppState};
use crate::api::{self, Problem};
use crate::convert;
use crate::store::{AccountKind, Principal};

/// A submission checked and ready to store.
pub struct Prepared {
    /// Kind name.
    pub kind: &'static str,
    /// Filing number it names.
    pub filing_number: Option<String>,
    /// For new filings, the subject's key (one subject files once).
    pub subject_key: Option<String>,
    /// The version (receipt and version number filled in by the caller).
    pub version: SubmissionVersion,
}

/// Validates a request for `principal` and builds the version to store (receipt left empty).
/// Withdrawals are checked against the receipt they name, changes and cancellations against
/// who filed the filing they name (when this store knows); everything else is pure.
pub async fn prepare(
    state: &AppState,
    principal: &Principal,
    request: &api::SubmissionRequest,
) -> Result<Prepared, AppError> {
    let mut problems = Vec::new();
    if let api::SubmissionBody::ProviderCheck { .. } = &request.submission {
        // Interim, until the checks against the stored version are in place: refused.
        problems.push(Problem {
            field: "submission".into(),
            code: "provider_check.not_open".into(),
            message: "provider checks are not taken yet".into(),
        });
    }
    if let api::SubmissionBody::Withdrawal { receipt, .. } = &request.submission
        && filing::receipt_id(receipt).is_ok()
    {
        match state.store.receipt(receipt).await? {
            None => problems.push(Problem {
                field: "submission.receipt".into(),
                code: "withdrawal.unknown_receipt".into(),
                message: format!("no receipt {receipt}"),
            }),
            Some(target) if target.status.account_id != principal.account_id => {
                problems.push(Problem {
                    field: "submission.receipt".into(),
                    code: "withdrawal.other_account".into(),
                    message: format!("receipt {receipt} belongs to another account"),
                })
            }
            // An application for cancellation may be withdrawn while it is pending, even
            // under review: withdrawing it leaves the filing as it was.
            Some(target)
                if target.status.state.is_under_review()
                    && !is_pending_cancellation(&target.status) =>
            {
                problems.push(Problem {
                field: "submission.receipt".into(),
                code: "withdrawal.under_review".into(),
                    message: format!(
                        "receipt {receipt} is {} and can no longer be withdrawn; file a cancellation instead",
                        target.status.state
                    ),
                })
            }
            Some(_) => {}
        }
    }
    if let Some(number) = named_filing(&request.submission)
        && let Some(owner) = state.store.filing_owner(number).await?
        && owner != principal.account_id
    {
        problems.push(Problem {
            field: "submission.filing_number".into(),
            code: "filing.other_account".into(),
            message: format!(
                "filing {number} belongs to another account; only the account that filed it \
                 may change or cancel it"
            ),
        });
    }
    check_submission(principal, request, problems, state.limits.max_scan_bytes).map_err(
        |problems| {
            state
                .metrics
                .submission(api::kind_name(&request.submission), "invalid");
            for problem in &problems {
                state.metrics.validation_failure(&problem.code);
            }
            AppError::Validation(problems)
        },
    )
}

/// The subject's filing number a change or cancellation names (a website number without its
/// `-n` suffix).
fn named_filing(body: &api::SubmissionBody) -> Option<&str> {
    let number = match body {
        api::SubmissionBody::Change { filing_number, .. }
        | api::SubmissionBody::Cancellation { filing_number, .. } => filing_number.trim(),
        api::SubmissionBody::NewFiling { .. }
        | api::SubmissionBody::Withdrawal { .. }
        | api::SubmissionBody::ProviderCheck { .. } => {
            return None;
        }
    };
    Some(filing::number::split_website_number(number).map_or(number, |(base, _)| base))
}

/// The pure part of [`prepare`]: validates and converts, adding `problems` found elsewhere.
/// Scans above `max_scan_bytes` are refused.
pub fn check_submission(
    principal: &Principal,
    request: &api::SubmissionRequest,
    mut problems: Vec<Problem>,
    max_scan_bytes: usize,
) -> Result<Prepared, Vec<Problem>> {
    let kind = api::kind_name(&request.submission);
    let is_provider = principal.kind == AccountKind::AccessProvider;
    let submitter = match &request.on_behalf_of {
        Some(customer) if is_provider => {
            match filing::required_text(customer, records::MAX_TEXT_BYTES) {
                Ok(customer) => customer,
                Err(rule) => {
                    problems.push(Problem {
                        field: "on_behalf_of".into(),
                        code: rule.code.into(),
                        message: rule.message,
                    });
                    String::new()
                }
            }
        }
        Some(_) => {
            problems.push(Problem {
                field: "on_behalf_of".into(),
                code: "on_behalf_of.not_allowed".into(),
                message: "only access providers submit for others".into(),
            });
            String::new()
        }
        None => principal.account.clone(),
    };
    let context = convert::Context {
        access_provider: is_provider.then(|| principal.account.clone()),
        max_scan_bytes,
    };
    let body = match convert::submission(&request.submission, &context) {
        Ok(body) if problems.is_empty() => body,
        Ok(_) => return Err(problems),
        Err(found) => {
            problems.extend(found);
            return Err(problems);
        }
    };
    let filing_number = match &body {
        records::Submission::Change { filing_number, .. }
        | records::Submission::ChangeWithScans { filing_number, .. }
        | records::Submission::Cancellation { filing_number, .. } => Some(filing_number.clone()),
        records::Submission::NewFiling(_)
        | records::Submission::NewFilingWithScans { .. }
        | records::Submission::Withdrawal { .. }
        | records::Submission::ProviderCheck { .. } => None,
    };
    let subject_key = match &body {
        records::Submission::NewFiling(filing)
        | records::Submission::NewFilingWithScans { filing, .. } => {
            Some(convert::subject_key(&filing.subject))
        }
        _ => None,
    };
    let version = SubmissionVersion {
        receipt: String::new(),
        version: 1,
        content_hash: records::content_hash(&body),
        submitted_at: now(),
        submitter,
        access_provider: context.access_provider,
        body,
    };
    if let Err(shape) = version.check() {
        return Err(vec![Problem {
            field: shape.field,
            code: "shape.limit".into(),
            message: shape.problem,
        }]);
    }
    Ok(Prepared {
        kind,
        filing_number,
        subject_key,
        version,
    })
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A fresh receipt id: `R`, today's date, `-`, 8 random Crockford base32 characters.
pub fn new_receipt_id() -> String {
    use rand_core::RngCore;
    let mut random = [0u8; 8];
    rand_core::OsRng.fill_bytes(&mut random);
    let date = time::OffsetDateTime::now_utc().date();
    let mut id = format!(
        "R{:04}{:02}{:02}-",
        date.year(),
        u8::from(date.month()),
        date.day()
    );
    for byte in random {
        id.push(char::from(filing::RECEIPT_ALPHABET[usize::from(byte & 31)]));
    }
    id
}

/// Whether a receipt is an application for cancellation not yet decided: its owner may
/// withdraw it even under review, since that leaves the filing as it was.
fn is_pending_cancellation(status: &crate::store::ReceiptStatus) -> bool {
    status.kind == "cancellation" && !status.state.is_final()
}
