//! Accepting one submission, whichever way it came in: validate and convert the request for the
//! account that sent it, and build the version to store. The single-submission handlers call
//! [`prepare`]; a batch upload calls its pure part, [`check_submission`], once per row.

use bundle_format::records::{self, ReviewState, SubmissionVersion};

use super::{AppError, AppState};
use crate::api::{self, Problem};
use crate::convert;
use crate::store::{AccountKind, Principal, ReceiptState};

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
/// who filed the filing they name (when this store knows), a provider's check against the
/// version it checks; everything else is pure.
pub async fn prepare(
    state: &AppState,
    principal: &Principal,
    request: &api::SubmissionRequest,
) -> Result<Prepared, AppError> {
    let mut problems = Vec::new();
    if let api::SubmissionBody::ProviderCheck {
        receipt,
        version,
        content_hash,
        ..
    } = &request.submission
    {
        problems.extend(
            provider_check_problems(state, principal, request, receipt, *version, content_hash)
                .await?,
        );
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
            // A provider's check is a decision, not an application: it is not withdrawn (its
            // provider may return the filing instead, if its owner changes it).
            Some(target) if target.status.kind == "provider_check" => problems.push(Problem {
                field: "submission.receipt".into(),
                code: "withdrawal.provider_check".into(),
                message: format!("receipt {receipt} is a provider's check, which is not withdrawn"),
            }),
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

/// What stands against a provider's check of `receipt` version `version` (content hash
/// `content_hash`, hex) sent by `principal`: it must be an access-provider account sending as
/// itself; the receipt must be this store's, its current version the one named with that
/// content hash, waiting for the provider's check, its access details naming this provider, its
/// payload still held here; and the provider must not have sent a check of that version already.
/// The receipt's status is public to anyone with its id, so saying which of these fails tells
/// a provider nothing it could not read there.
async fn provider_check_problems(
    state: &AppState,
    principal: &Principal,
    request: &api::SubmissionRequest,
    receipt: &str,
    version: u32,
    content_hash: &str,
) -> Result<Vec<Problem>, AppError> {
    let problem = |field: &str, code: &str, message: String| {
        vec![Problem {
            field: field.into(),
            code: code.into(),
            message,
        }]
    };
    if principal.kind != AccountKind::AccessProvider {
        return Ok(problem(
            "submission",
            "provider_check.not_a_provider",
            format!(
                "only the access provider named by receipt {receipt}'s access details checks it; \
                 a {} account may not",
                principal.kind
            ),
        ));
    }
    if request.on_behalf_of.is_some() {
        return Ok(problem(
            "on_behalf_of",
            "provider_check.on_behalf_of",
            format!("a provider checks receipt {receipt} as itself, never for a customer"),
        ));
    }
    if filing::receipt_id(receipt).is_err() {
        // The conversion names the malformed id.
        return Ok(Vec::new());
    }
    let Some(target) = state.store.receipt(receipt).await? else {
        return Ok(problem(
            "submission.receipt",
            "provider_check.unknown_receipt",
            format!("no receipt {receipt} in this store"),
        ));
    };
    let status = &target.status;
    // The newest body held here: the version checked, or a newer one the owner sent since.
    if let Some(held) = &target.latest
        && !filing::provider_check::may_check(&held.body, &principal.account)
    {
        return Ok(problem(
            "submission.receipt",
            "provider_check.not_named",
            format!(
                "receipt {receipt} does not name {} as the access provider of its websites",
                principal.account
            ),
        ));
    }
    let stored_hash = target
        .versions
        .iter()
        .find(|v| v.version == version)
        .map(|v| hex::encode(v.content_hash));
    // Hex digits in either case name the same hash.
    let same_hash = stored_hash.is_some_and(|stored| stored.eq_ignore_ascii_case(content_hash));
    if version != status.latest_version || !same_hash {
        return Ok(problem(
            "submission.version",
            "provider_check.other_version",
            format!(
                "receipt {receipt} is at version {} with another content hash than the one checked \
                 (version {version}); the owner changed it since: check its current version",
                status.latest_version
            ),
        ));
    }
    if status.state != ReceiptState::Review(ReviewState::AwaitingProviderCheck)
        || status.state_version != version
    {
        return Ok(problem(
            "submission.receipt",
            "provider_check.not_awaiting",
            format!(
                "receipt {receipt} is {}, not awaiting the access provider's check",
                status.state
            ),
        ));
    }
    if target.latest.as_ref().map(|held| held.version) != Some(version) {
        return Ok(problem(
            "submission.receipt",
            "provider_check.not_held",
            format!(
                "receipt {receipt} version {version} is no longer held here, so it cannot be \
                 shown or checked outside; its reviewer inside checks it"
            ),
        ));
    }
    if let Some(sent) = state
        .store
        .provider_check_sent(&principal.account, receipt, version)
        .await?
    {
        return Ok(problem(
            "submission.receipt",
            "provider_check.already_sent",
            format!(
                "your check of receipt {receipt} version {version} was sent already, with \
                 receipt {sent}"
            ),
        ));
    }
    Ok(Vec::new())
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
