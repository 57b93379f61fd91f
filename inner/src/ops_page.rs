//! The read-only operations page inside, served by `sluice-inner serve-ops`: the inner side's
//! numbers over time (bundles received and return bundles sent, lag and gaps per channel, the
//! return queue, quarantine) from the samples the metrics runs keep, and when each timer last
//! ran, from the ledger.
//!
//! Every request reads through its own connection in a read-only session
//! (`default_transaction_read_only`), so the page cannot change the store even if the role it
//! is given could; give it a role with `SELECT` on `ops_samples`, `transfer_inbound` and
//! `transfer_return_sent` only where one exists.

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use keys::ops::{Chart, LastRun, Page, Transform};

use crate::ops::{last_runs, samples_since};
use crate::store::StoreError;

/// The inner side's charts, each from the metrics `sluice-transfer status --prometheus` gives.
pub const CHARTS: [Chart; 5] = [
    Chart {
        id: "bundles",
        zh: "已收到的批次与已发出的回传批次",
        en: "Bundles received (highest contiguous sequence per channel) and return bundles sent",
        unit: "sequence number, count",
        metrics: &[
            ("sluice_inner_highest_contiguous_sequence", Transform::Value),
            ("sluice_inner_return_bundles_sent_total", Transform::Value),
        ],
    },
    Chart {
        id: "lag",
        zh: "各通道滞后：距最近导入与最近心跳",
        en: "Lag per channel: since the last import and the last heartbeat",
        unit: "seconds",
        metrics: &[
            (
                "sluice_inner_last_import_timestamp_seconds",
                Transform::AgeAt,
            ),
            (
                "sluice_inner_last_heartbeat_timestamp_seconds",
                Transform::AgeAt,
            ),
        ],
    },
    Chart {
        id: "gaps",
        zh: "各通道缺失的批次（缺口）",
        en: "Bundles missing per channel (gaps)",
        unit: "bundles",
        metrics: &[("sluice_inner_missing_bundles", Transform::Value)],
    },
    Chart {
        id: "pending",
        zh: "待回传的条目（确认、状态、证书）",
        en: "Return queue entries pending (acks, status changes, certificates)",
        unit: "entries",
        metrics: &[("sluice_inner_pending_returns", Transform::Value)],
    },
    keys::ops::QUARANTINE_CHART,
];

/// What every response of the page carries: run no script, load nothing from elsewhere,
/// never be framed, never sniff, send no referrer, keep no copy.
const HEADERS: [(&str, &str); 5] = [
    (
        "content-security-policy",
        keys::ops::CONTENT_SECURITY_POLICY,
    ),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("x-frame-options", "DENY"),
    ("cache-control", "no-store"),
];

/// The page's router: `GET /ops` (also `/`) and `GET /healthz`, reading the database at
/// `database_url`.
pub fn router(database_url: String) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/ops", get(page))
        .route("/healthz", get(|| async { "ok\n" }))
        .with_state(database_url)
}

fn with_headers(status: StatusCode, body: String) -> Response {
    let mut response = (status, Html(body)).into_response();
    for (name, value) in HEADERS {
        response.headers_mut().insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    response
}

async fn page(State(database_url): State<String>, RawQuery(query): RawQuery) -> Response {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let window = keys::ops::window_asked(query.as_deref());
    let read = tokio::task::spawn_blocking(move || read(&database_url, now - window)).await;
    match read {
        Ok(Ok((samples, runs))) => {
            let last_runs = [
                LastRun {
                    timer: "sluice-import",
                    zh: "导入",
                    en: "import",
                    at: runs.import,
                    evidence: "newest bundle imported (the outer side's idle export sends a heartbeat)",
                },
                LastRun {
                    timer: "sluice-return",
                    zh: "回传",
                    en: "return",
                    at: runs.returns,
                    evidence: "newest return bundle written (an idle run writes the sequence state)",
                },
                LastRun::metrics(runs.metrics),
            ];
            let html = keys::ops::render(&Page {
                side: "inner",
                zh: "内网运行状态",
                en: "Inner side operations",
                now,
                window,
                charts: &CHARTS,
                samples: &samples,
                last_runs: &last_runs,
            });
            with_headers(StatusCode::OK, html)
        }
        Ok(Err(error)) => {
            tracing::error!(%error, "the operations page could not read the database");
            with_headers(
                StatusCode::SERVICE_UNAVAILABLE,
                "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>运行状态 · Operations</title></head>\
                 <body><p>数据库暂不可读。 Database unavailable; see the service log.</p></body></html>\n"
                    .to_owned(),
            )
        }
        Err(_) => with_headers(StatusCode::INTERNAL_SERVER_ERROR, String::new()),
    }
}

/// Why the page could not read the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpsPageError {
    /// The database URL does not parse.
    #[error("database URL: {0}")]
    Url(#[source] postgres::Error),
    /// Connecting failed.
    #[error("connecting to the database: {0}")]
    Connect(#[source] postgres::Error),
    /// Making the session read-only failed.
    #[error("making the session read-only: {0}")]
    ReadOnly(#[source] postgres::Error),
    /// A query failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn read(
    database_url: &str,
    since: i64,
) -> Result<(Vec<keys::ops::Sample>, crate::ops::LastRuns), OpsPageError> {
    use std::str::FromStr as _;
    let config = postgres::Config::from_str(database_url).map_err(OpsPageError::Url)?;
    let mut client = config
        .connect(postgres::NoTls)
        .map_err(OpsPageError::Connect)?;
    client
        .batch_execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        .map_err(OpsPageError::ReadOnly)?;
    let samples = samples_since(&mut client, since)?;
    let runs = last_runs(&mut client)?;
    Ok((samples, runs))
}

/// Serves the page on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    database_url: String,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(database_url))
        .with_graceful_shutdown(shutdown)
        .await
}
