//! The intake HTTP service: the router with its limits, the state every handler shares, and
//! serving with a graceful shutdown.
//!
//! Handlers depend on the core of this module and never on each other: [`AppState`] here,
//! bearer tokens and rate limits in `auth` ([`Auth`]), the one place errors become responses in
//! `error` ([`AppError`]), and the acceptance of one submission (validate, convert, build the
//! version to store) in `accept` ([`check_submission`]), which both the single-submission
//! handlers and the batch upload use. The handlers are grouped by what they serve: submissions,
//! certificates, [`batch`] uploads, the status [`pages`], [`metrics`] and the [`openapi`]
//! description. The account pages for people in a browser (registration, login, passwords,
//! the accounts the ministry and authorities create, API tokens) are in [`web`].

mod accept;
mod auth;
pub mod batch;
mod certificates;
pub mod connections;
mod error;
pub mod metrics;
pub mod openapi;
pub mod ops;
pub mod pages;
mod provider_checks;
mod records;
pub mod register;
pub mod site_checks;
mod submissions;
mod views;
pub mod web;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use tower::ServiceBuilder;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::config::{AccountsConfig, Limits};
use crate::mail::Mailer;
use crate::store::Store;

pub use accept::{Prepared, check_submission, new_receipt_id, prepare};
pub use auth::{Auth, TOKEN_CACHE_ENTRIES, TOKEN_CACHE_TTL};
pub use error::{AppError, SUBJECT_ALREADY_FILED};
pub use pages::StatusQuery;
pub use submissions::MAX_IDEMPOTENCY_KEY_BYTES;
pub use views::status_view;

use auth::{RateLimiter, TokenCache};
use metrics::Metrics;

/// Everything a request handler needs.
#[derive(Clone)]
pub struct AppState {
    /// The store.
    pub store: Store,
    /// Request limits.
    pub limits: Limits,
    /// Counters for `/metrics`.
    pub metrics: Arc<Metrics>,
    /// Connections refused or closed early by the limits of [`connections`].
    pub connections: Arc<connections::ConnectionCounters>,
    /// Sessions, codes and login throttling of the account pages.
    pub accounts: AccountsConfig,
    /// The SMTP relay codes are sent through; `None` turns registration and resets off.
    pub mailer: Option<Mailer>,
    /// The crawler's check offered on the public register; `None` (no certificate key
    /// configured) offers none.
    pub site_checks: Option<Arc<site_checks::SiteChecks>>,
    rate: Arc<RateLimiter>,
    tokens: Arc<TokenCache>,
    throttle: Arc<web::throttle::Throttle>,
    hashing: Arc<tokio::sync::Semaphore>,
}

impl AppState {
    /// State for a router over `store` with `limits`.
    pub fn new(store: Store, limits: Limits) -> AppState {
        AppState::with_accounts(store, limits, AccountsConfig::default(), None)
    }

    /// State with the account pages' settings and, for registration and resets, a mailer.
    pub fn with_accounts(
        store: Store,
        limits: Limits,
        accounts: AccountsConfig,
        mailer: Option<Mailer>,
    ) -> AppState {
        AppState {
            throttle: Arc::new(web::throttle::Throttle::new(
                accounts.max_failed_logins_per_account,
                accounts.max_failed_logins_per_address,
                std::time::Duration::from_secs(accounts.login_window_secs),
            )),
            hashing: Arc::new(tokio::sync::Semaphore::new(
                accounts.max_concurrent_password_hashes.max(1),
            )),
            accounts,
            mailer,
            site_checks: None,
            rate: Arc::new(RateLimiter::new(limits.rate_per_minute, limits.rate_burst)),
            tokens: Arc::new(TokenCache::default()),
            store,
            limits,
            metrics: Arc::new(Metrics::default()),
            connections: Arc::new(connections::ConnectionCounters::default()),
        }
    }
}

impl AppState {
    /// The same state, offering the crawler's check on the public register.
    #[must_use]
    pub fn with_site_checks(mut self, checks: site_checks::SiteChecks) -> AppState {
        self.site_checks = Some(Arc::new(checks));
        self
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
        .route("/metrics", &["get"], get(metrics::scrape))
        .route("/ops", &["get"], get(ops::ops_page))
        .route("/api/openapi.json", &["get"], get(openapi::serve_document))
        .route("/status", &["get"], get(pages::status_page))
        .route("/register", &["get"], get(register::register_page))
        .route(
            "/register/check",
            &["get"],
            get(site_checks::site_check_page),
        )
        .route("/api/v1/register", &["get"], get(register::register_api))
        .route("/account", &["get"], get(web::account_page))
        .route(
            "/account/register",
            &["get", "post"],
            get(web::register_page)
                .post(web::register)
                .layer(form_limit()),
        )
        .route(
            "/account/verify",
            &["get", "post"],
            get(web::verify_page).post(web::verify).layer(form_limit()),
        )
        .route(
            "/account/verify/resend",
            &["post"],
            post(web::resend_code).layer(form_limit()),
        )
        .route(
            "/account/login",
            &["get", "post"],
            get(web::login_page).post(web::login).layer(form_limit()),
        )
        .route(
            "/account/logout",
            &["post"],
            post(web::logout).layer(form_limit()),
        )
        .route(
            "/account/reset",
            &["get", "post"],
            get(web::reset_page)
                .post(web::reset_request)
                .layer(form_limit()),
        )
        .route(
            "/account/reset/confirm",
            &["get", "post"],
            get(web::reset_confirm_page)
                .post(web::reset_confirm)
                .layer(form_limit()),
        )
        .route(
            "/account/password",
            &["post"],
            post(web::change_password).layer(form_limit()),
        )
        .route(
            "/account/delete",
            &["post"],
            post(web::delete_account).layer(form_limit()),
        )
        .route(
            "/account/accounts",
            &["post"],
            post(web::create_account).layer(form_limit()),
        )
        .route(
            "/account/tokens",
            &["post"],
            post(web::issue_token).layer(form_limit()),
        )
        .route(
            "/account/tokens/{id}/revoke",
            &["post"],
            post(web::revoke_token).layer(form_limit()),
        )
        .route("/account/filings", &["get"], get(web::filings_page))
        .route(
            "/account/filings/{receipt}/withdraw",
            &["post"],
            post(web::withdraw).layer(form_limit()),
        )
        .route(
            "/account/filings/cancel",
            &["post"],
            post(web::cancel).layer(form_limit()),
        )
        .route(
            "/account/filings/new",
            &["get", "post"],
            get(web::new_filing_page)
                .post(web::submit_new_filing)
                .layer(DefaultBodyLimit::max(web::filing_form_body_limit(limits))),
        )
        .route(
            "/account/provider-checks",
            &["get"],
            get(web::provider_checks_page),
        )
        .route(
            "/account/provider-checks/{receipt}",
            &["post"],
            post(web::submit_provider_check).layer(form_limit()),
        )
        .route(
            "/account/records/{filing_number}",
            &["get"],
            get(web::record_page),
        )
        .route(
            "/account/records/{filing_number}/change",
            &["get", "post"],
            get(web::change_page)
                .post(web::submit_change)
                .layer(DefaultBodyLimit::max(web::filing_form_body_limit(limits))),
        )
        .route(
            "/api/v1/filings/{filing_number}/record",
            &["get"],
            get(records::approved_record),
        )
        .route(
            "/api/v1/submissions",
            &["post"],
            post(submissions::create_submission),
        )
        .route(
            "/api/v1/submissions/{receipt}",
            &["get", "put"],
            get(submissions::get_submission).put(submissions::edit_submission),
        )
        .route(
            "/api/v1/provider-checks",
            &["get"],
            get(provider_checks::awaiting_checks),
        )
        .route(
            "/api/v1/submissions/{receipt}/status",
            &["get"],
            get(submissions::submission_status),
        )
        .route(
            "/api/v1/batches",
            &["post"],
            post(batch::upload).layer(DefaultBodyLimit::max(limits.max_batch_bytes)),
        )
        .route(
            "/api/v1/batches/template.xlsx",
            &["get"],
            get(batch::template_xlsx),
        )
        .route(
            "/api/v1/batches/template.csv",
            &["get"],
            get(batch::template_csv),
        )
        .route(
            "/api/v1/certificates",
            &["post"],
            post(certificates::download),
        )
        .route(
            "/api/v1/certificates/{filing_number}",
            &["get"],
            get(certificates::certificate),
        )
        .route(
            "/certificate",
            &["get", "post"],
            get(web::certificate_page)
                .post(web::certificate_download)
                .layer(form_limit()),
        )
        .route(
            "/account/filings/{receipt}/bazs.cert",
            &["get"],
            get(web::own_certificate),
        )
}

/// The body limit of the account pages' forms.
fn form_limit() -> DefaultBodyLimit {
    DefaultBodyLimit::max(web::MAX_FORM_BYTES)
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
    let router = routes(&limits)
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
        .with_state(state);
    // Outermost, so that no response leaves without them (errors and overload answers too).
    SECURITY_HEADERS
        .iter()
        .fold(router, |router, (name, value)| {
            router.layer(SetResponseHeaderLayer::overriding(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            ))
        })
}

/// What every response tells the browser, errors and overload answers included: run no script,
/// load nothing from elsewhere, never be framed, never sniff a type, send no referrer. The
/// pages are server-rendered with one inline style sheet and no script.
pub const SECURITY_HEADERS: [(&str, &str); 5] = [
    (
        "content-security-policy",
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    ),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("x-frame-options", "DENY"),
    ("cross-origin-resource-policy", "same-origin"),
];

async fn healthz() -> &'static str {
    "ok\n"
}

/// Serves `router` on `listener` until `shutdown` resolves, then finishes in-flight requests
/// and lets the store commit everything queued.
///
/// Connections are held within the limits of [`connections`]: header-read and idle timeouts, a
/// global and a per-client cap, accept errors that neither stop nor spin the loop.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let store = state.store.clone();
    let limits = connections::ConnectionLimits::for_this_process(&state.limits);
    let counters = Arc::clone(&state.connections);
    let app = router(state);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        // Nobody listening any more means the service has stopped already.
        let _ = stop.send(true);
    });
    connections::serve_bounded(listener, app, limits, counters, stopped).await;
    tokio::task::spawn_blocking(move || store.close())
        .await
        .map_err(std::io::Error::other)?;
    Ok(())
}
