//! The intake HTTP service: routes, token authentication, limits, and the one place errors
//! become responses ([`AppError`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::Bytes;
use axum::error_handling::HandleErrorLayer;
use axum::extract::rejection::{BytesRejection, JsonRejection};
use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use axum::{Json, Router};
use bundle_format::records::{self, SubmissionVersion};
use sha2::{Digest, Sha256};
use tower::ServiceBuilder;

use crate::api::{self, ErrorBody, Problem, ReceiptResponse};
use crate::config::Limits;
use crate::convert;
use crate::metrics::Metrics;
use crate::store::{
    AccountKind, Inserted, NewSubmission, Principal, ReceiptRecord, Store, StoreError,
};

/// Problem code of a new filing for a subject that another live receipt already files.
pub const SUBJECT_ALREADY_FILED: &str = "subject.already_filed";

/// Most bytes of an `Idempotency-Key` header.
pub const MAX_IDEMPOTENCY_KEY_BYTES: usize = 128;

/// Everything a request handler needs.
#[derive(Clone)]
pub struct AppState {
    /// The store.
    pub store: Store,
    /// Request limits.
    pub limits: Limits,
    /// Counters for `/metrics`.
    pub metrics: Arc<Metrics>,
    rate: Arc<RateLimiter>,
    tokens: Arc<TokenCache>,
}

impl AppState {
    /// State for a router over `store` with `limits`.
    pub fn new(store: Store, limits: Limits) -> AppState {
        AppState {
            rate: Arc::new(RateLimiter::new(limits.rate_per_minute, limits.rate_burst)),
            tokens: Arc::new(TokenCache::default()),
            store,
            limits,
            metrics: Arc::new(Metrics::default()),
        }
    }
}

/// How long a checked token is trusted without asking the store again. Revoking a token or
/// disabling an account (from the CLI, another process) takes effect within this time.
pub const TOKEN_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(2);
/// Most tokens remembered at once; the cache is emptied when it is full.
pub const TOKEN_CACHE_ENTRIES: usize = 10_000;

/// Valid tokens seen recently, by hash, so that each request does not cost a database read.
/// Only valid tokens are remembered, so random guesses cannot fill it.
#[derive(Default)]
struct TokenCache {
    entries: Mutex<HashMap<[u8; 32], (Principal, Instant)>>,
}

impl TokenCache {
    fn get(&self, hash: &[u8; 32]) -> Option<Principal> {
        let entries = self.entries.lock().ok()?;
        let (principal, checked) = entries.get(hash)?;
        (checked.elapsed() < TOKEN_CACHE_TTL).then(|| principal.clone())
    }

    fn put(&self, hash: [u8; 32], principal: Principal) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= TOKEN_CACHE_ENTRIES {
                entries.clear();
            }
            entries.insert(hash, (principal, Instant::now()));
        }
    }
}

/// Per-token token buckets.
struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<i64, (f64, Instant)>>,
}

impl RateLimiter {
    fn new(per_minute: u32, burst: u32) -> RateLimiter {
        RateLimiter {
            per_second: f64::from(per_minute) / 60.0,
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request from the token's bucket; false when it is empty.
    fn allow(&self, token_id: i64) -> bool {
        let Ok(mut buckets) = self.buckets.lock() else {
            return true;
        };
        let now = Instant::now();
        let (tokens, last) = buckets.entry(token_id).or_insert((self.burst, now));
        let refill = now.duration_since(*last).as_secs_f64() * self.per_second;
        *tokens = (*tokens + refill).min(self.burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Every error a handler can answer with; the only place errors become responses.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppError {
    /// No valid token.
    #[error("a valid API token is required: send `Authorization: Bearer <token>`")]
    Unauthorized,
    /// The token's kind may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// Nothing by that id.
    #[error("{0}")]
    NotFound(String),
    /// The submission breaks rules; every problem is listed.
    #[error("the submission has {} problem(s)", .0.len())]
    Validation(Vec<Problem>),
    /// The request itself is malformed.
    #[error("{message}")]
    BadRequest {
        /// Stable code.
        code: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The request conflicts with the stored state.
    #[error("{message}")]
    Conflict {
        /// Stable code.
        code: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The body is too large.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// The token made too many requests.
    #[error("too many requests for this token; slow down and retry")]
    RateLimited,
    /// The service is overloaded.
    #[error("the service is busy; retry shortly")]
    Busy,
    /// Something failed on our side; details are logged, not shown.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> AppError {
        match error {
            StoreError::NoSuchReceipt(receipt) => {
                AppError::NotFound(format!("no receipt {receipt}"))
            }
            StoreError::NotOwner(receipt) => {
                AppError::Forbidden(format!("receipt {receipt} belongs to another account"))
            }
            error @ StoreError::Final { .. } => AppError::Conflict {
                code: "receipt_final",
                message: error.to_string(),
            },
            error @ StoreError::KindChanged { .. } => AppError::Conflict {
                code: "kind_changed",
                message: error.to_string(),
            },
            error @ StoreError::IdempotencyKeyReused(_) => AppError::Conflict {
                code: "idempotency_key_reused",
                message: error.to_string(),
            },
            error @ StoreError::SubjectAlreadyFiled { .. } => AppError::Validation(vec![Problem {
                field: "submission.filing.subject.certificate_number".into(),
                code: SUBJECT_ALREADY_FILED.into(),
                message: error.to_string(),
            }]),
            StoreError::Busy | StoreError::Closed => AppError::Busy,
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl From<JsonRejection> for AppError {
    fn from(rejection: JsonRejection) -> AppError {
        match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => {
                AppError::PayloadTooLarge("the request body is larger than the limit".into())
            }
            StatusCode::UNSUPPORTED_MEDIA_TYPE => AppError::BadRequest {
                code: "content_type",
                message: "send the body as application/json".into(),
            },
            _ => AppError::BadRequest {
                code: "malformed_json",
                message: rejection.body_text(),
            },
        }
    }
}

impl From<BytesRejection> for AppError {
    fn from(rejection: BytesRejection) -> AppError {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::PayloadTooLarge("the uploaded file is larger than the limit".into())
        } else {
            AppError::BadRequest {
                code: "unreadable_body",
                message: rejection.body_text(),
            }
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            AppError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            AppError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            AppError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            AppError::Validation(_) => (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            AppError::BadRequest { code, .. } => (StatusCode::BAD_REQUEST, *code),
            AppError::Conflict { code, .. } => (StatusCode::CONFLICT, *code),
            AppError::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            AppError::RateLimited => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            AppError::Busy => (StatusCode::SERVICE_UNAVAILABLE, "busy"),
            AppError::Internal(detail) => {
                tracing::error!(%detail, "request failed");
                let body = ErrorBody {
                    error: "internal".into(),
                    message: "something went wrong on our side; it has been logged".into(),
                    problems: Vec::new(),
                };
                return (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response();
            }
        };
        let problems = match &self {
            AppError::Validation(problems) => problems.clone(),
            _ => Vec::new(),
        };
        let body = ErrorBody {
            error: code.to_owned(),
            message: self.to_string(),
            problems,
        };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

/// The account behind a valid bearer token, after the per-token rate limit.
#[derive(Clone, Debug)]
pub struct Auth(pub Principal);

impl FromRequestParts<AppState> for Auth {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Auth, AppError> {
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(AppError::Unauthorized)?;
        let secret = header
            .strip_prefix("Bearer ")
            .map(str::trim)
            .filter(|s| !s.is_empty() && s.len() <= 256)
            .ok_or(AppError::Unauthorized)?;
        let hash = crate::store::token_hash(secret);
        let principal = match state.tokens.get(&hash) {
            Some(principal) => principal,
            None => {
                let principal = state
                    .store
                    .authenticate(secret)
                    .await?
                    .ok_or(AppError::Unauthorized)?;
                state.tokens.put(hash, principal.clone());
                principal
            }
        };
        if !state.rate.allow(principal.token_id) {
            return Err(AppError::RateLimited);
        }
        Ok(Auth(principal))
    }
}

impl Auth {
    pub(crate) fn require(&self, kinds: &[AccountKind], what: &str) -> Result<(), AppError> {
        if kinds.contains(&self.0.kind) {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!(
                "a {} token may not {what}",
                self.0.kind
            )))
        }
    }
}

/// Routes as they are added, so the OpenAPI test can compare them with the description.
struct Routes {
    router: Router<AppState>,
    served: Vec<(&'static str, &'static str)>,
}

impl Routes {
    fn route(
        mut self,
        path: &'static str,
        methods: &[&'static str],
        handler: MethodRouter<AppState>,
    ) -> Routes {
        for method in methods {
            self.served.push((method, path));
        }
        self.router = self.router.route(path, handler);
        self
    }
}

fn routes(limits: &Limits) -> Routes {
    let routes = Routes {
        router: Router::new(),
        served: Vec::new(),
    };
    routes
        .route("/healthz", &["get"], get(healthz))
        .route("/metrics", &["get"], get(metrics))
        .route("/api/openapi.json", &["get"], get(openapi))
        .route("/status", &["get"], get(status_page))
        .route("/api/v1/submissions", &["post"], post(create_submission))
        .route(
            "/api/v1/submissions/{receipt}",
            &["get", "put"],
            get(get_submission).put(edit_submission),
        )
        .route(
            "/api/v1/submissions/{receipt}/status",
            &["get"],
            get(submission_status),
        )
        .route(
            "/api/v1/batches",
            &["post"],
            post(crate::batch::upload).layer(DefaultBodyLimit::max(limits.max_batch_bytes)),
        )
        .route(
            "/api/v1/batches/template.xlsx",
            &["get"],
            get(crate::batch::template_xlsx),
        )
        .route(
            "/api/v1/batches/template.csv",
            &["get"],
            get(crate::batch::template_csv),
        )
        .route(
            "/api/v1/certificates/{filing_number}",
            &["get"],
            get(certificate),
        )
}

/// Every `(method, path)` the router serves, in the router's path syntax.
pub fn served_routes() -> Vec<(&'static str, &'static str)> {
    routes(&Limits::default()).served
}

async fn handle_overload(error: tower::BoxError) -> Response {
    if error.is::<tower::load_shed::error::Overloaded>() {
        AppError::Busy.into_response()
    } else {
        AppError::Internal(error.to_string()).into_response()
    }
}

async fn record_latency(
    State(state): State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let started = Instant::now();
    let response = next.run(request).await;
    state.metrics.latency(started.elapsed());
    response
}

/// The service's router with every limit applied.
pub fn router(state: AppState) -> Router {
    let limits = state.limits.clone();
    routes(&limits)
        .router
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.request_timeout(),
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            record_latency,
        ))
        .layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(handle_overload))
                .load_shed()
                // One semaphore for the whole router: `Router::layer` builds the layer once per
                // route, and a per-route limit would not bound the service.
                .layer(tower::limit::GlobalConcurrencyLimitLayer::new(
                    limits.max_concurrent_requests,
                )),
        )
        .with_state(state)
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn metrics(State(state): State<AppState>, auth: Auth) -> Result<Response, AppError> {
    auth.require(&[AccountKind::Operator], "read metrics")?;
    let text = state.metrics.render(state.store.size_on_disk());
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response())
}

async fn openapi() -> Json<serde_json::Value> {
    Json(crate::openapi::document())
}

/// Query of the status page.
#[derive(Debug, serde::Deserialize)]
pub struct StatusQuery {
    /// Receipt id or filing number.
    #[serde(default)]
    pub q: String,
}

async fn status_page(
    State(state): State<AppState>,
    Query(query): Query<StatusQuery>,
) -> Result<Html<String>, AppError> {
    let q = query.q.trim();
    if q.is_empty() {
        return Ok(Html(crate::status_page::render(q, &[])));
    }
    if q.len() > 200 {
        return Ok(Html(crate::status_page::render("", &[])));
    }
    let found = if crate::validate::receipt_id(q).is_ok() {
        state.store.receipt(q).await?.into_iter().collect()
    } else {
        state.store.receipts_for_filing_number(q).await?
    };
    let views: Vec<api::StatusView> = found.iter().map(status_view).collect();
    Ok(Html(crate::status_page::render(q, &views)))
}

/// Unix seconds as RFC 3339.
pub fn rfc3339(at: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(at)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| at.to_string())
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
        id.push(char::from(
            crate::validate::RECEIPT_ALPHABET[usize::from(byte & 31)],
        ));
    }
    id
}

fn status_url(receipt: &str) -> String {
    format!("/api/v1/submissions/{receipt}/status")
}

/// The status of a receipt in API form.
pub fn status_view(record: &ReceiptRecord) -> api::StatusView {
    let status = &record.status;
    api::StatusView {
        receipt: status.receipt.clone(),
        kind: status.kind.clone(),
        state: status.state.as_str().to_owned(),
        version: status.state_version,
        latest_version: status.latest_version,
        reason: status.reason.clone(),
        filing_number: status.filing_number.clone(),
        bundle_sequence: status.bundle_sequence,
        in_transit_since: status.in_transit_since.map(rfc3339),
        certificate_ready: status.certificate_ready,
        history: record
            .history
            .iter()
            .map(|h| api::HistoryView {
                version: h.version,
                state: h.state.as_str().to_owned(),
                at: rfc3339(h.at),
                reason: h.reason.clone(),
                filing_number: h.filing_number.clone(),
                bundle_sequence: h.bundle_sequence,
            })
            .collect(),
    }
}

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
/// Withdrawals are checked against the receipt they name; everything else is pure.
pub async fn prepare(
    state: &AppState,
    principal: &Principal,
    request: &api::SubmissionRequest,
) -> Result<Prepared, AppError> {
    let mut problems = Vec::new();
    if let api::SubmissionBody::Withdrawal { receipt, .. } = &request.submission
        && crate::validate::receipt_id(receipt).is_ok()
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
            Some(target) if target.status.state.is_under_review() => problems.push(Problem {
                field: "submission.receipt".into(),
                code: "withdrawal.under_review".into(),
                message: format!(
                    "receipt {receipt} is {} and can no longer be withdrawn; file a cancellation instead",
                    target.status.state
                ),
            }),
            Some(_) => {}
        }
    }
    check_submission(principal, request, problems).map_err(|problems| {
        state
            .metrics
            .submission(api::kind_name(&request.submission), "invalid");
        for problem in &problems {
            state.metrics.validation_failure(&problem.code);
        }
        AppError::Validation(problems)
    })
}

/// The pure part of [`prepare`]: validates and converts, adding `problems` found elsewhere.
pub fn check_submission(
    principal: &Principal,
    request: &api::SubmissionRequest,
    mut problems: Vec<Problem>,
) -> Result<Prepared, Vec<Problem>> {
    let kind = api::kind_name(&request.submission);
    let is_provider = principal.kind == AccountKind::AccessProvider;
    let submitter = match &request.on_behalf_of {
        Some(customer) if is_provider => {
            match crate::validate::required_text(customer, records::MAX_TEXT_BYTES) {
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
        | records::Submission::Cancellation { filing_number, .. } => Some(filing_number.clone()),
        records::Submission::NewFiling(_) | records::Submission::Withdrawal { .. } => None,
    };
    let subject_key = match &body {
        records::Submission::NewFiling(filing) => Some(convert::subject_key(&filing.subject)),
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

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, AppError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= MAX_IDEMPOTENCY_KEY_BYTES)
        .ok_or(AppError::BadRequest {
            code: "idempotency_key",
            message: format!(
                "the Idempotency-Key header must be 1 to {MAX_IDEMPOTENCY_KEY_BYTES} visible ASCII characters"
            ),
        })?;
    Ok(Some(key.to_owned()))
}

async fn create_submission(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    body: Result<Json<api::SubmissionRequest>, JsonRejection>,
) -> Result<Response, AppError> {
    auth.require(
        &[AccountKind::WebsiteOwner, AccountKind::AccessProvider],
        "submit filings",
    )?;
    let key = idempotency_key(&headers)?;
    let Json(request) = body?;
    let prepared = prepare(&state, &auth.0, &request).await?;
    let request_hash: [u8; 32] =
        Sha256::digest(serde_json::to_vec(&request).unwrap_or_default()).into();
    let mut version = prepared.version;
    version.receipt = new_receipt_id();
    let inserted = state
        .store
        .insert_submission(NewSubmission {
            account_id: auth.0.account_id,
            kind: prepared.kind.to_owned(),
            filing_number: prepared.filing_number,
            subject_key: prepared.subject_key,
            version,
            idempotency: key.map(|k| (k, request_hash)),
        })
        .await?;
    let (receipt, version, outcome) = match inserted {
        Inserted::Created { receipt, version } => (receipt, version, "created"),
        Inserted::Replayed { receipt, version } => (receipt, version, "replayed"),
    };
    state.metrics.submission(prepared.kind, outcome);
    let url = status_url(&receipt);
    let mut response = (
        StatusCode::CREATED,
        Json(ReceiptResponse {
            receipt,
            version,
            status_url: url.clone(),
        }),
    )
        .into_response();
    if let Ok(location) = HeaderValue::from_str(&url) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    if outcome == "replayed" {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

fn checked_receipt(receipt: &str) -> Result<&str, AppError> {
    crate::validate::receipt_id(receipt)
        .map(|_| receipt)
        .map_err(|_| AppError::NotFound(format!("no receipt {receipt:?}")))
}

async fn edit_submission(
    State(state): State<AppState>,
    auth: Auth,
    Path(receipt): Path<String>,
    body: Result<Json<api::SubmissionRequest>, JsonRejection>,
) -> Result<Json<ReceiptResponse>, AppError> {
    auth.require(
        &[AccountKind::WebsiteOwner, AccountKind::AccessProvider],
        "edit submissions",
    )?;
    let receipt = checked_receipt(&receipt)?.to_owned();
    let Json(request) = body?;
    let prepared = prepare(&state, &auth.0, &request).await?;
    let mut version = prepared.version;
    version.receipt = receipt.clone();
    let number = state
        .store
        .add_version(
            auth.0.account_id,
            prepared.kind.to_owned(),
            prepared.subject_key,
            version,
        )
        .await?;
    state.metrics.submission(prepared.kind, "edited");
    Ok(Json(ReceiptResponse {
        status_url: status_url(&receipt),
        receipt,
        version: number,
    }))
}

async fn get_submission(
    State(state): State<AppState>,
    auth: Auth,
    Path(receipt): Path<String>,
) -> Result<Json<api::SubmissionView>, AppError> {
    let receipt = checked_receipt(&receipt)?;
    let record = state
        .store
        .receipt(receipt)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no receipt {receipt}")))?;
    if record.status.account_id != auth.0.account_id && auth.0.kind != AccountKind::Operator {
        return Err(AppError::Forbidden(format!(
            "receipt {receipt} belongs to another account"
        )));
    }
    let latest = record
        .latest
        .as_ref()
        .map(|version| api::SubmissionRequest {
            on_behalf_of: version
                .access_provider
                .as_ref()
                .filter(|provider| **provider != version.submitter)
                .map(|_| version.submitter.clone()),
            submission: convert::submission_to_api(&version.body),
        });
    Ok(Json(api::SubmissionView {
        receipt: record.status.receipt.clone(),
        kind: record.status.kind.clone(),
        latest_version: record.status.latest_version,
        state: record.status.state.as_str().to_owned(),
        latest,
        versions: record
            .versions
            .iter()
            .map(|v| api::VersionView {
                version: v.version,
                content_hash: hex::encode(v.content_hash),
                submitted_at: rfc3339(v.submitted_at),
                submitter: v.submitter.clone(),
                access_provider: v.access_provider.clone(),
                exported_in_bundle: v.exported_sequence,
                acknowledged: v.acknowledged_at.is_some(),
                payload_stored: v.payload_stored,
            })
            .collect(),
    }))
}

async fn submission_status(
    State(state): State<AppState>,
    Path(receipt): Path<String>,
) -> Result<Json<api::StatusView>, AppError> {
    let receipt = checked_receipt(&receipt)?;
    let record = state
        .store
        .receipt(receipt)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no receipt {receipt}")))?;
    Ok(Json(status_view(&record)))
}

async fn certificate(
    State(state): State<AppState>,
    Path(filing_number): Path<String>,
) -> Result<Response, AppError> {
    if filing_number.len() > records::MAX_TEXT_BYTES {
        return Err(AppError::NotFound("no such certificate".into()));
    }
    let certificate = state
        .store
        .certificate(&filing_number)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no certificate for {filing_number} yet")))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"bazs.cert\"",
            ),
        ],
        Bytes::from(certificate.document),
    )
        .into_response())
}

/// Serves `router` on `listener` until `shutdown` resolves, then finishes in-flight requests
/// and lets the store commit everything queued.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let store = state.store.clone();
    let app = router(state);
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await;
    tokio::task::spawn_blocking(move || store.close())
        .await
        .map_err(std::io::Error::other)?;
    result
}
