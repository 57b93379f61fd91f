//! The access provider's check (待接入商核验) on the account pages: for a logged-in
//! access-provider account, the filings awaiting its check that this store holds (their
//! payloads kept after their ack for this), each shown as the owner sent it (the rows of the
//! approved record's page), with a button to confirm it and a form to return it with a reason.
//! The decision is the API's submission of kind `provider_check`, through its checks
//! (`filing_form::file`), and the page then shows the check's own receipt.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::filing_form::{Refused, file};
use super::filings::{MAX_REASON_CHARS, too_long};
use super::records::{access_rows, subject_rows, website_rows};
use super::{CurrentUser, PageError, UserForm, html};
use crate::api;
use crate::convert;
use crate::http::AppState;
use crate::store::AccountKind;

/// One website of a filing awaiting the check.
struct CheckWebsite {
    /// The website's number for a change, else its place in the filing (from 1).
    label: String,
    /// Its access details name the logged-in provider.
    yours: bool,
    rows: Vec<(&'static str, String)>,
}

/// One version awaiting the logged-in provider's check.
struct CheckCard {
    receipt: String,
    version: u32,
    content_hash: String,
    submitted: String,
    submitter: String,
    what_zh: &'static str,
    what_en: &'static str,
    filing_number: String,
    subject: Vec<(&'static str, String)>,
    websites: Vec<CheckWebsite>,
    /// The receipt of this provider's check of it, once sent.
    sent: Option<String>,
}

#[derive(Template)]
#[template(path = "provider_checks.html")]
struct ProviderChecksPage<'a> {
    checks: &'a [CheckCard],
    csrf: &'a str,
    problems: &'a [(String, String)],
    message: Option<&'a str>,
    /// The receipt of the check just sent.
    sent_receipt: Option<&'a str>,
    max_reason: usize,
    user: Option<&'a str>,
}

fn only_providers(user: &CurrentUser) -> Result<(), PageError> {
    if user.session.account.kind == AccountKind::AccessProvider {
        Ok(())
    } else {
        Err(PageError::new(
            StatusCode::FORBIDDEN,
            "只有接入服务商核验备案 · Only access providers check filings",
        ))
    }
}

/// What the submission asks, its subject (if it brings one) and its websites.
fn card(provider: &str, check: &crate::store::AwaitingCheck) -> CheckCard {
    let version = &check.version;
    let website = |label: String, site: &api::WebsiteBody| CheckWebsite {
        label,
        yours: site.access.provider == provider,
        rows: website_rows(site),
    };
    let (what_zh, what_en, filing_number, subject, websites) =
        match convert::submission_to_api(&version.body) {
            api::SubmissionBody::NewFiling { filing } => (
                "新增备案",
                "New filing",
                String::new(),
                subject_rows(&filing.subject),
                filing
                    .websites
                    .iter()
                    .enumerate()
                    .map(|(i, site)| website(format!("{}", i + 1), site))
                    .collect(),
            ),
            api::SubmissionBody::Change {
                filing_number,
                change,
                ..
            } => match change {
                api::ChangeBody::Subject { subject } => (
                    "变更主体",
                    "Change of the subject",
                    filing_number,
                    subject_rows(&subject),
                    Vec::new(),
                ),
                api::ChangeBody::Website {
                    website_number,
                    website: site,
                } => (
                    "变更网站",
                    "Change of a website",
                    filing_number,
                    Vec::new(),
                    vec![website(website_number, &site)],
                ),
                api::ChangeBody::Access {
                    website_number,
                    access,
                } => (
                    "变更接入",
                    "Change of a website's access",
                    filing_number,
                    Vec::new(),
                    vec![CheckWebsite {
                        label: website_number,
                        yours: access.provider == provider,
                        rows: access_rows(&access),
                    }],
                ),
                api::ChangeBody::AddedWebsite { website: site } => (
                    "新增网站",
                    "Website added",
                    filing_number,
                    Vec::new(),
                    vec![website("+".to_owned(), &site)],
                ),
            },
            // Nothing else brings in access details, so nothing else awaits a provider.
            _ => ("其他", "Other", String::new(), Vec::new(), Vec::new()),
        };
    CheckCard {
        receipt: version.receipt.clone(),
        version: version.version,
        content_hash: hex::encode(version.content_hash),
        submitted: keys::time::rfc3339(version.submitted_at),
        submitter: version.submitter.clone(),
        what_zh,
        what_en,
        filing_number,
        subject,
        websites,
        sent: check.sent.clone(),
    }
}

/// The list, with the problems of a check sent from it, or a message.
async fn render(
    state: &AppState,
    user: &CurrentUser,
    status: StatusCode,
    problems: &[(String, String)],
    message: Option<&str>,
    sent_receipt: Option<&str>,
) -> Result<Response, PageError> {
    let provider = &user.session.account.name;
    let checks: Vec<CheckCard> = state
        .store
        .provider_checks_awaiting(provider)
        .await?
        .iter()
        .map(|check| card(provider, check))
        .collect();
    let page = ProviderChecksPage {
        checks: &checks,
        csrf: &user.session.csrf_token,
        problems,
        message,
        sent_receipt,
        max_reason: MAX_REASON_CHARS,
        user: Some(provider),
    };
    Ok((status, html(&page)).into_response())
}

/// `GET /account/provider-checks`: the filings awaiting the logged-in provider's check.
pub(in crate::http) async fn provider_checks_page(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, PageError> {
    only_providers(&user)?;
    render(&state, &user, StatusCode::OK, &[], None, None).await
}

/// `POST /account/provider-checks/{receipt}`: the provider's decision on the version the page
/// showed (`version`, `content_hash`): `decision` `confirm`, or `return` with a `reason`. It is
/// the API's `provider_check` submission, with its checks; the page then shows its receipt.
pub(in crate::http) async fn submit_provider_check(
    State(state): State<AppState>,
    Path(receipt): Path<String>,
    UserForm { user, form }: UserForm,
) -> Result<Response, PageError> {
    only_providers(&user)?;
    let version = form.get("version", 10).map_err(too_long)?;
    let Ok(version) = version.parse::<u32>() else {
        return Err(PageError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("版本号须为数字 · version must be a number, not {version:?}"),
        ));
    };
    let content_hash = form.get("content_hash", 64).map_err(too_long)?;
    let reason = form.get("reason", MAX_REASON_CHARS).map_err(too_long)?;
    let (decision, reason) = match form.get("decision", 16).unwrap_or("") {
        "confirm" => (api::ProviderDecision::Confirm, None),
        "return" => (api::ProviderDecision::Return, Some(reason.to_owned())),
        other => {
            return Err(PageError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!(
                    "核验结论须为确认或退回 · decision must be confirm or return, not {other:?}"
                ),
            ));
        }
    };
    let request = api::SubmissionRequest {
        on_behalf_of: None,
        submission: api::SubmissionBody::ProviderCheck {
            receipt,
            version,
            content_hash: content_hash.to_owned(),
            decision,
            reason,
        },
    };
    match file(&state, &user, &request).await {
        Ok(sent) => {
            let message = format!(
                "核验结论已提交，受理编号 {sent} · Your check is sent; its receipt is {sent}"
            );
            render(
                &state,
                &user,
                StatusCode::CREATED,
                &[],
                Some(&message),
                Some(&sent),
            )
            .await
        }
        Err(Refused::Problems(problems)) => {
            render(
                &state,
                &user,
                StatusCode::UNPROCESSABLE_ENTITY,
                &problems,
                None,
                None,
            )
            .await
        }
        Err(Refused::Conflict(message)) => {
            render(
                &state,
                &user,
                StatusCode::CONFLICT,
                &[],
                Some(&message),
                None,
            )
            .await
        }
        Err(Refused::Page(error)) => Err(error),
    }
}
