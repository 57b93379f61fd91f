//! The review page inside, served by `sluice-inner serve-review`: the queues per stage and
//! province (oldest first, with counts), one submission whole ([`crate::filing_view`]) with its
//! scanned certificates as images, the forms that approve, return or reject it, and the
//! authority's form that revokes an approved filing or one of its websites. Server
//! rendered (askama templates in `inner/templates/`), in Chinese with English beside it, with
//! no script.
//!
//! A reviewer signs in on the form with name and password, checked by
//! [`crate::reviewers::authenticate`] with its lockout, and the browser then carries a session
//! cookie ([`crate::reviewers::start_session`]: `HttpOnly`, `SameSite=Strict`, eight hours at
//! most, thirty minutes idle). HTTP Basic credentials are accepted too, checked on every
//! request (for tools, and for a browser given them in the address). A decision goes through [`crate::review`], so the page and the command line
//! make the same checks. A reviewer other than the ministry sees only its own province's
//! queues and filings. A form is accepted only from the page's own origin (`Origin` or
//! `Sec-Fetch-Site`), since the browser would send the credentials with a forged one too.

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Form, Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

mod auth;
mod revocation;

use self::auth::as_reviewer;
use crate::filing_view::FilingView;
use crate::queue::{ListFilter, QueueCount, QueueEntry};
use crate::review::ReviewError;
use crate::reviewers::{Reviewer, Role};
use crate::workflow::ReturnTo;

/// Most bytes of a decision form.
pub const MAX_FORM_BYTES: usize = 16 * 1024;
/// Entries the queue page lists (the oldest); the counts cover every one.
pub const MAX_QUEUE_SHOWN: usize = 500;
/// Requests worked on at once; the others wait their turn. Each checks a password with
/// Argon2id (19 MiB) on a blocking thread, so this bounds the page's memory and threads.
pub const MAX_CONCURRENT_REQUESTS: usize = 8;

/// What every response carries: no script at all, images and forms from this origin only,
/// never framed, never sniffed, no referrer, no copy kept.
const HEADERS: [(&str, &str); 5] = [
    (
        "content-security-policy",
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'",
    ),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("x-frame-options", "DENY"),
    ("cache-control", "no-store"),
];

/// What the page needs: where the database is and the key that signs certificates.
pub struct PageState {
    database: crate::db::Target,
    certifier: keys::SecretKey,
    permits: tokio::sync::Semaphore,
}

impl PageState {
    /// The state for a database and an `inner-cert` key.
    pub fn new(database: crate::db::Target, certifier: keys::SecretKey) -> PageState {
        PageState {
            database,
            certifier,
            permits: tokio::sync::Semaphore::new(MAX_CONCURRENT_REQUESTS),
        }
    }
}

/// The page's router: `GET /` (the queues), `GET /filings/{receipt}`,
/// `GET /filings/{receipt}/scans/{index}`, `POST /filings/{receipt}/decision`,
/// `POST /revocations`, `GET` and
/// `POST /login`, `POST /logout`, `GET /healthz`.
pub fn router(state: Arc<PageState>) -> Router {
    Router::new()
        .route("/", get(queues))
        .route("/filings/{receipt}", get(filing))
        .route("/filings/{receipt}/scans/{index}", get(scan))
        .route("/filings/{receipt}/decision", post(decision))
        .route("/revocations", post(revocation::revoke))
        .route("/login", get(auth::login_form).post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/healthz", get(|| async { "ok\n" }))
        .layer(DefaultBodyLimit::max(MAX_FORM_BYTES))
        .with_state(state)
}

/// Serves the page on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<PageState>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn with_headers(mut response: Response) -> Response {
    for (name, value) in HEADERS {
        response.headers_mut().insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    response
}

#[derive(Template)]
#[template(path = "review_message.html")]
struct MessagePage<'a> {
    title_zh: &'a str,
    title_en: &'a str,
    message: &'a str,
    back: bool,
}

/// A page with one message, in the status given.
fn message(status: StatusCode, title_zh: &str, title_en: &str, text: &str, back: bool) -> Response {
    let page = MessagePage {
        title_zh,
        title_en,
        message: text,
        back,
    };
    let body = page.render().unwrap_or_else(|_| text.to_owned());
    with_headers((status, Html(body)).into_response())
}

/// Why a request went no further.
enum Failure {
    /// No or wrong credentials, or the session ended: the sign-in form, and for a `GET` the
    /// HTTP Basic challenge too (`true`).
    Login(String, bool),
    /// The reviewer may not see or do this.
    Forbidden(String),
    /// No such receipt or scan.
    NotFound(String),
    /// The request itself is wrong.
    BadRequest(String),
    /// The workflow or a conflict refused the decision.
    Refused(String),
    /// Something failed inside; logged, answered generically.
    Internal(String),
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        match self {
            Failure::Login(text, challenge) => {
                let page = auth::LoginPage { message: &text };
                let body = page.render().unwrap_or(text);
                let mut response =
                    with_headers((StatusCode::UNAUTHORIZED, Html(body)).into_response());
                if challenge {
                    response.headers_mut().insert(
                        header::WWW_AUTHENTICATE,
                        HeaderValue::from_static(
                            "Basic realm=\"sluice review\", charset=\"UTF-8\"",
                        ),
                    );
                }
                response
            }
            Failure::Forbidden(text) => message(
                StatusCode::FORBIDDEN,
                "无权操作",
                "Not allowed",
                &text,
                true,
            ),
            Failure::NotFound(text) => {
                message(StatusCode::NOT_FOUND, "未找到", "Not found", &text, true)
            }
            Failure::BadRequest(text) => message(
                StatusCode::BAD_REQUEST,
                "请求有误",
                "Bad request",
                &text,
                true,
            ),
            Failure::Refused(text) => {
                message(StatusCode::CONFLICT, "未能办理", "Refused", &text, true)
            }
            Failure::Internal(detail) => {
                tracing::error!(%detail, "the review page failed");
                message(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "内部错误",
                    "Internal error",
                    "内部错误，请查看服务日志。 Something failed; see the service log.",
                    true,
                )
            }
        }
    }
}

fn internal(error: impl std::fmt::Display) -> Failure {
    Failure::Internal(error.to_string())
}

/// The Chinese name of a review state.
pub fn state_zh(state: &str) -> &'static str {
    match state {
        "delivered" => "已送达",
        "awaiting-provider-check" => "待接入商核验",
        "awaiting-pre-approval" => "待前置审批",
        "awaiting-regional-review" => "待管局审核",
        "returned-to-provider" => "已退回接入商",
        "returned-to-submitter" => "已退回申请人",
        "approved" => "已通过",
        "rejected" => "已驳回",
        "cancelled" => "已注销",
        "withdrawn" => "已撤回",
        _ => "",
    }
}

/// A province as the page names it: `浙 33`.
pub fn province_label(province: i16) -> String {
    let prefix = u32::try_from(province)
        .ok()
        .and_then(filing::province::prefix_of_province)
        .map(String::from)
        .unwrap_or_default();
    format!("{prefix} {province}")
}

fn role_label(reviewer: &Reviewer) -> String {
    match (reviewer.role(), reviewer.province()) {
        (Role::Ministry, _) | (_, None) => "部 ministry".to_owned(),
        (Role::Authority, Some(p)) => format!("管局 authority, {}", province_label(p)),
        (Role::PreApproval, Some(p)) => format!(
            "前置审批 pre-approval, {} ({})",
            province_label(p),
            reviewer.service_types().join(", ")
        ),
    }
}

/// The formatting both review templates call on their page: a time, a state's Chinese name, a
/// province's label.
trait Formats {
    fn ts(&self, at: &i64) -> String {
        keys::time::rfc3339(*at)
    }
    fn zh(&self, state: &str) -> &'static str {
        state_zh(state)
    }
    fn province(&self, province: &i16) -> String {
        province_label(*province)
    }
}

#[derive(Template)]
#[template(path = "review_queues.html")]
struct QueuesPage {
    reviewer: String,
    role: String,
    counts: Vec<QueueCount>,
    total: i64,
    entries: Vec<QueueEntry>,
}

impl Formats for QueuesPage {}

async fn queues(State(state): State<Arc<PageState>>, headers: HeaderMap) -> Response {
    let page = as_reviewer(&state, &headers, |client, reviewer, _| {
        let province = match reviewer.role() {
            Role::Ministry => None,
            _ => reviewer.province(),
        };
        let counts = crate::queue::counts(client, province).map_err(internal)?;
        let mut entries = crate::queue::list(
            client,
            &ListFilter {
                province,
                ..ListFilter::default()
            },
            now(),
        )
        .map_err(internal)?;
        entries.truncate(MAX_QUEUE_SHOWN);
        Ok(QueuesPage {
            reviewer: reviewer.name().to_owned(),
            role: role_label(&reviewer),
            total: counts.iter().map(|c| c.count).sum(),
            counts,
            entries,
        })
    })
    .await;
    render(page)
}

#[derive(Template)]
#[template(path = "review_filing.html")]
struct FilingPage {
    reviewer: String,
    role: String,
    view: FilingView,
    may_decide: bool,
    not_yours: Option<String>,
}

impl Formats for FilingPage {}

fn render(page: Result<impl Template, Failure>) -> Response {
    match page.map(|p| p.render()) {
        Ok(Ok(html)) => with_headers((StatusCode::OK, Html(html)).into_response()),
        Ok(Err(e)) => Failure::Internal(e.to_string()).into_response(),
        Err(failure) => failure.into_response(),
    }
}

/// The filing view of `receipt`, if `reviewer` may see its province.
fn visible_view(
    client: &mut postgres::Client,
    reviewer: &Reviewer,
    receipt: &str,
) -> Result<FilingView, Failure> {
    let view = crate::filing_view::filing_view(client, receipt).map_err(|e| match e {
        crate::queue::QueueError::UnknownReceipt(_) => Failure::NotFound(e.to_string()),
        other => internal(other),
    })?;
    reviewer
        .may_see(view.entry.province)
        .map_err(|e| Failure::Forbidden(e.to_string()))?;
    Ok(view)
}

async fn filing(
    State(state): State<Arc<PageState>>,
    Path(receipt): Path<String>,
    headers: HeaderMap,
) -> Response {
    let page = as_reviewer(&state, &headers, move |client, reviewer, _| {
        let view = visible_view(client, &reviewer, &receipt)?;
        // The forms show only where this reviewer may decide; the decision checks again.
        let mut needed: Vec<String> = view
            .websites
            .iter()
            .flat_map(|w| {
                w.pre_approvals
                    .iter()
                    .map(|p| p.item)
                    .chain(w.service_types.iter().copied())
            })
            .filter(|name| crate::reviewers::PRE_APPROVAL_SERVICE_TYPES.contains(name))
            .map(str::to_owned)
            .collect();
        needed.sort_unstable();
        needed.dedup();
        let state = crate::workflow::parse_state(&view.entry.state);
        let decision = match state {
            Some(state) if crate::workflow::awaits_review(state) => Some(
                reviewer
                    .may_decide(state, view.entry.province, &needed)
                    .map_err(|e| e.to_string()),
            ),
            _ => None,
        };
        let (may_decide, not_yours) = match decision {
            Some(Ok(())) => (true, None),
            Some(Err(why)) => (false, Some(why)),
            None => (false, None),
        };
        Ok(FilingPage {
            reviewer: reviewer.name().to_owned(),
            role: role_label(&reviewer),
            view,
            may_decide,
            not_yours,
        })
    })
    .await;
    render(page)
}

async fn scan(
    State(state): State<Arc<PageState>>,
    Path((receipt, index)): Path<(String, usize)>,
    headers: HeaderMap,
) -> Response {
    let found = as_reviewer(&state, &headers, move |client, reviewer, _| {
        let province: Option<i16> = client
            .query_opt(
                "SELECT province FROM receipts WHERE receipt = $1",
                &[&receipt],
            )
            .map_err(internal)?
            .map(|r| r.get(0));
        let province = province
            .ok_or_else(|| Failure::NotFound(format!("no submission with receipt {receipt}")))?;
        reviewer
            .may_see(province)
            .map_err(|e| Failure::Forbidden(e.to_string()))?;
        crate::filing_view::scan(client, &receipt, index)
            .map_err(internal)?
            .ok_or_else(|| Failure::NotFound(format!("receipt {receipt} has no scan {index}")))
    })
    .await;
    match found {
        Ok((media_type, bytes)) => {
            // Only the two image types a scan may be are shown as images, and only when the
            // bytes are the type declared (the import checked that; a version stored before
            // it did is judged here again); anything else is offered as a download and never
            // rendered.
            let shown = filing::scan::media_type_of(&bytes).filter(|found| *found == media_type);
            let mut response = bytes.into_response();
            let headers = response.headers_mut();
            if let Some(found) = shown {
                headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(found));
            } else {
                headers.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/octet-stream"),
                );
                headers.insert(
                    header::CONTENT_DISPOSITION,
                    HeaderValue::from_static("attachment"),
                );
            }
            with_headers(response)
        }
        Err(failure) => failure.into_response(),
    }
}

/// The decision form.
#[derive(Debug, Deserialize)]
pub struct DecisionForm {
    /// `approve`, `return-to-provider`, `return-to-submitter` or `reject`.
    action: String,
    /// The reason (required to return or reject).
    #[serde(default)]
    reason: String,
}

/// Whether a form post comes from this page's own origin.
fn same_origin(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return site == "same-origin";
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin = headers.get(header::ORIGIN).and_then(|h| h.to_str().ok());
    match (host, origin) {
        (Some(host), Some(origin)) => origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
            .is_some_and(|o| o == host),
        _ => false,
    }
}

async fn decision(
    State(state): State<Arc<PageState>>,
    Path(receipt): Path<String>,
    headers: HeaderMap,
    Form(form): Form<DecisionForm>,
) -> Response {
    if !same_origin(&headers) {
        return Failure::Forbidden(
            "表单须来自本页面。 A decision is accepted from this page only.".to_owned(),
        )
        .into_response();
    }
    let reason = form.reason.trim().to_owned();
    let target = receipt.clone();
    let done = as_reviewer(&state, &headers, move |client, reviewer, state| {
        // Seeing comes first, so a refusal reveals nothing about another province's filing.
        let province: Option<i16> = client
            .query_opt(
                "SELECT province FROM receipts WHERE receipt = $1",
                &[&target],
            )
            .map_err(internal)?
            .map(|r| r.get(0));
        let province = province
            .ok_or_else(|| Failure::NotFound(format!("no submission with receipt {target}")))?;
        reviewer
            .may_see(province)
            .map_err(|e| Failure::Forbidden(e.to_string()))?;
        let needs_reason = |reason: &str| {
            if reason.is_empty() {
                Err(Failure::BadRequest(
                    "请填写理由 give the reason to return or reject".to_owned(),
                ))
            } else {
                Ok(())
            }
        };
        let mut tx = client.transaction().map_err(internal)?;
        let now = now();
        let result = match form.action.as_str() {
            "approve" => {
                let note = (!reason.is_empty()).then_some(reason.as_str());
                crate::review::approve(&mut tx, &target, &reviewer, note, &state.certifier, now)
            }
            "return-to-provider" | "return-to-submitter" => {
                needs_reason(&reason)?;
                let to = if form.action == "return-to-provider" {
                    ReturnTo::Provider
                } else {
                    ReturnTo::Submitter
                };
                crate::review::return_submission(&mut tx, &target, to, &reviewer, &reason, now)
            }
            "reject" => {
                needs_reason(&reason)?;
                crate::review::reject(&mut tx, &target, &reviewer, &reason, now)
            }
            other => {
                return Err(Failure::BadRequest(format!(
                    "unknown action {other:?}; approve, return-to-provider, \
                     return-to-submitter or reject"
                )));
            }
        };
        match result {
            Ok(decision) => {
                tx.commit().map_err(internal)?;
                Ok(decision)
            }
            Err(e @ ReviewError::NotAllowed { .. }) => Err(Failure::Forbidden(e.to_string())),
            Err(
                e @ (ReviewError::Refused { .. }
                | ReviewError::DomainConflict { .. }
                | ReviewError::SubjectAlreadyFiled { .. }
                | ReviewError::FilingNotActive { .. }
                | ReviewError::NumbersExhausted { .. }),
            ) => Err(Failure::Refused(e.to_string())),
            Err(e @ ReviewError::UnknownReceipt { .. }) => Err(Failure::NotFound(e.to_string())),
            Err(e @ ReviewError::ReasonTooLong { .. }) => {
                Err(Failure::BadRequest(format!("理由过长。 {e}")))
            }
            Err(other) => Err(internal(other)),
        }
    })
    .await;
    match done {
        Ok(_) => {
            // Receipt ids are letters, digits and `-`; anything else goes back to the queues.
            let plain = receipt
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            let to = if plain {
                format!("/filings/{receipt}")
            } else {
                "/".to_owned()
            };
            with_headers(Redirect::to(&to).into_response())
        }
        Err(failure) => failure.into_response(),
    }
}
