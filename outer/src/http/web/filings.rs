//! The account's own filings: the list with each receipt's state in the manuals' words (an
//! approved filing with its number, annual review date and certificate, which the account
//! downloads here by its session), the filing password of a newly approved filing, shown once
//! (taking it clears it in the store's same transaction), and the requests
//! sent from it: withdrawing a submission not yet reviewed (or an application for
//! cancellation still pending), and asking to cancel an approved subject or website (not one
//! the authority revoked), and the approved records the account may read (its own filings'
//! and, for an access provider, those that name it), each linking to the record's page, where a
//! change starts. The requests go through the API's checks (`filing_form::file`), ownership
//! included: only the account that filed may withdraw or cancel.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bundle_format::records::ReviewState;

use super::filing_form::{Refused, file, may_file};
use super::{CurrentUser, PageError, UserForm, html};
use crate::api;
use crate::http::AppState;
use crate::http::pages::{kind_label, state_label};
use crate::store::{ReceiptState, UnseenPassword};

/// Most receipts the filings page lists.
pub const MAX_LISTED_RECEIPTS: i64 = 200;
/// Most characters of the reason given for a withdrawal or cancellation.
pub const MAX_REASON_CHARS: usize = 500;

/// One receipt in the filings list.
struct FilingRow {
    receipt: String,
    kind_zh: &'static str,
    kind_en: &'static str,
    state_zh: &'static str,
    state_en: &'static str,
    filing_number: String,
    /// The annual review date: one year after the last approval, when the certificate
    /// issued by it expires.
    review_date: String,
    /// Where the certificate (`bazs.cert`) is downloaded, while it is served.
    certificate_url: Option<String>,
    /// Not yet reviewed (or a pending application for cancellation), so it may be withdrawn.
    withdrawable: bool,
    /// Approved under a filing number, so its cancellation may be requested.
    cancellable: bool,
    updated: String,
}

/// One approved record the account may read.
struct RecordRow {
    filing_number: String,
    url: String,
    decided: String,
    /// The account filed it (else it is the access provider recorded for it).
    owner: bool,
}

#[derive(Template)]
#[template(path = "filings.html")]
struct FilingsPage<'a> {
    rows: &'a [FilingRow],
    records: &'a [RecordRow],
    passwords: &'a [UnseenPassword],
    csrf: &'a str,
    problems: &'a [(String, String)],
    message: Option<&'a str>,
    user: Option<&'a str>,
}

/// `GET /account/filings`: the account's own submissions, newest first, with their states in
/// the manuals' words.
pub(in crate::http) async fn filings_page(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, PageError> {
    render(&state, &user, StatusCode::OK, &[], None).await
}

/// The list, with the problems of a request sent from it, or a message.
async fn render(
    state: &AppState,
    user: &CurrentUser,
    status_code: StatusCode,
    problems: &[(String, String)],
    message: Option<&str>,
) -> Result<Response, PageError> {
    let statuses = state
        .store
        .receipts_of_account(user.session.account.id, MAX_LISTED_RECEIPTS)
        .await?;
    let records: Vec<RecordRow> = state
        .store
        .approved_records_of(user.session.account.id)
        .await?
        .into_iter()
        .map(|r| RecordRow {
            url: format!(
                "/account/records/{}",
                super::records::encoded(&r.filing_number)
            ),
            filing_number: r.filing_number,
            decided: keys::time::rfc3339(r.decided_at),
            owner: r.owner,
        })
        .collect();
    // Taken last thing before rendering: once taken, a password is never shown again.
    let passwords = state
        .store
        .take_unseen_passwords(user.session.account.id)
        .await?;
    let mut rows = Vec::with_capacity(statuses.len());
    for status in &statuses {
        let (kind_zh, kind_en) = kind_label(&status.kind);
        let (state_zh, state_en) = state_label(status.state.as_str());
        let certificate_ready = status.certificate_ready && !status.certificate_revoked;
        let certificate = match (&status.filing_number, certificate_ready) {
            (Some(number), true) => state
                .store
                .certificate(number)
                .await?
                .filter(|c| c.receipt == status.receipt),
            _ => None,
        };
        rows.push(FilingRow {
            receipt: status.receipt.clone(),
            kind_zh,
            kind_en,
            state_zh,
            state_en,
            filing_number: status.filing_number.clone().unwrap_or_default(),
            review_date: certificate.as_ref().map_or(String::new(), |c| {
                keys::time::rfc3339(c.expires_at).chars().take(10).collect()
            }),
            certificate_url: certificate
                .map(|c| format!("/account/filings/{}/bazs.cert", c.receipt)),
            // An application for cancellation may be withdrawn while pending, even under
            // review (as `accept` allows it).
            withdrawable: status.kind != "withdrawal"
                && status.kind != "provider_check"
                && !status.state.is_final()
                && (!status.state.is_under_review() || status.kind == "cancellation"),
            cancellable: status.kind != "cancellation"
                && status.state == ReceiptState::Review(ReviewState::Approved)
                && status.filing_number.is_some()
                && !status.filing_revoked,
            updated: keys::time::rfc3339(status.updated_at),
        });
    }
    let page = FilingsPage {
        rows: &rows,
        records: &records,
        passwords: &passwords,
        csrf: &user.session.csrf_token,
        problems,
        message,
        user: Some(&user.session.account.name),
    };
    Ok((status_code, html(&page)).into_response())
}

/// `GET /account/filings/{receipt}/bazs.cert`: the certificate issued for one of the
/// account's own receipts, by its session alone (no filing password needed).
pub(in crate::http) async fn own_certificate(
    State(state): State<AppState>,
    Path(receipt): Path<String>,
    user: CurrentUser,
) -> Result<Response, PageError> {
    let not_found = || {
        PageError::new(
            StatusCode::NOT_FOUND,
            "没有该受理编号的电子证书 · There is no certificate for this receipt in this account",
        )
    };
    if filing::receipt_id(&receipt).is_err() {
        return Err(not_found());
    }
    let Some(record) = state.store.receipt(&receipt).await? else {
        return Err(not_found());
    };
    let Some(number) = record
        .status
        .filing_number
        .filter(|_| record.status.account_id == user.session.account.id)
    else {
        return Err(not_found());
    };
    let certificate = state
        .store
        .certificate(&number)
        .await?
        .filter(|c| c.receipt == receipt)
        .ok_or_else(not_found)?;
    Ok(crate::http::certificates::bazs_cert(certificate))
}

/// Stores a withdrawal or cancellation built from the list's form, or shows the list again
/// with the API's problems.
async fn request(
    state: &AppState,
    user: &CurrentUser,
    submission: api::SubmissionBody,
) -> Result<Response, PageError> {
    may_file(user)?;
    let request = api::SubmissionRequest {
        on_behalf_of: None,
        submission,
    };
    match file(state, user, &request).await {
        Ok(receipt) => {
            let message = format!("已提交，受理编号 {receipt} · Sent; its receipt is {receipt}");
            render(state, user, StatusCode::CREATED, &[], Some(&message)).await
        }
        Err(Refused::Problems(problems)) => {
            render(
                state,
                user,
                StatusCode::UNPROCESSABLE_ENTITY,
                &problems,
                None,
            )
            .await
        }
        Err(Refused::Conflict(message)) => {
            render(state, user, StatusCode::CONFLICT, &[], Some(&message)).await
        }
        Err(Refused::Page(error)) => Err(error),
    }
}

/// `POST /account/filings/{receipt}/withdraw`: withdraws a submission not yet reviewed.
pub(in crate::http) async fn withdraw(
    State(state): State<AppState>,
    Path(receipt): Path<String>,
    UserForm { user, form }: UserForm,
) -> Result<Response, PageError> {
    let reason = form.get("reason", MAX_REASON_CHARS).map_err(too_long)?;
    request(
        &state,
        &user,
        api::SubmissionBody::Withdrawal {
            receipt,
            reason: reason.to_owned(),
        },
    )
    .await
}

/// `POST /account/filings/cancel`: asks for the cancellation of an approved subject (its
/// filing number) or website (its number with the `-n` suffix).
pub(in crate::http) async fn cancel(
    State(state): State<AppState>,
    UserForm { user, form }: UserForm,
) -> Result<Response, PageError> {
    let filing_number = form.get("filing_number", 64).map_err(too_long)?;
    let reason = form.get("reason", MAX_REASON_CHARS).map_err(too_long)?;
    let scope = match form.get("scope", 16).unwrap_or("") {
        "subject" => api::CancellationScope::Subject,
        "website" => api::CancellationScope::Website,
        other => {
            return Err(PageError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("注销范围须为主体或网站 · scope must be subject or website, not {other:?}"),
            ));
        }
    };
    request(
        &state,
        &user,
        api::SubmissionBody::Cancellation {
            filing_number: filing_number.to_owned(),
            scope,
            reason: reason.to_owned(),
        },
    )
    .await
}

/// A form field longer than its limit: the page answers 422 with the field's problem.
pub(super) fn too_long(problem: crate::accounts::FieldProblem) -> PageError {
    PageError::new(StatusCode::UNPROCESSABLE_ENTITY, problem.message)
}
