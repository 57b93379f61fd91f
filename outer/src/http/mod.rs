//! The intake HTTP service: the router with its limits, the state every handler shares, and
//! serving with a graceful shutdown.
//!
//! Handlers depend on the core of this module and never on each other: [`AppState`] here,
//! bearer tokens and rate limits in `auth` ([`Auth`]), the one place errors become responses in
//! `error` ([`AppError`]), and the acceptance of one submission (validate, convert, build the
//! version to store) in `accept` ([`check_submission`]), which both the single-submission
//! handlers and the batch upload use. The handlers are grouped by what they serve: submissions,
//! certificates, [`batch`] uploads, the status [`pages`], [`metrics`] and the [`openapi`]
//! description.

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
mod submissions;
mod views;

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

use crate::config::Limits;
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
            connections: Arc::new(connections::ConnectionCounters::default()),
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
        .route("/metrics", &["get"], get(metrics::scrape))
        .route("/ops", &["get"], get(ops::ops_page))
        .route("/api/openapi.json", &["get"], get(openapi::serve_document))
        .route("/status", &["get"], get(pages::status_page))
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
            "/api/v1/certificates/{filing_number}",
            &["get"],
            get(certificates::certificate),
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
