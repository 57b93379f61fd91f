//! The read-only operations page at `/ops`: plots over time of the transfer's numbers (bundles
//! sent and received, lag, pending and in-transit versions, quarantine) from the samples the
//! metrics runs keep, and when each timer last ran, from the ledger. For operator tokens only,
//! like `/metrics`; a browser may send the token as the password of HTTP Basic credentials.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use keys::ops::{Chart, LastRun, Page, Transform};

use super::{AppError, AppState, Auth};
use crate::store::AccountKind;
use crate::store::ops::{last_runs_on, samples_since_on};

/// The outer side's charts, each from the metrics `sluice-transfer status --prometheus` gives.
pub const CHARTS: [Chart; 4] = [
    Chart {
        id: "bundles",
        zh: "已发送与已收到的批次（序号）",
        en: "Bundles sent and return bundles received",
        unit: "sequence number",
        metrics: &[
            ("sluice_outer_next_sequence", Transform::Value),
            ("sluice_outer_last_return_sequence", Transform::Value),
        ],
    },
    Chart {
        id: "lag",
        zh: "滞后：最早未确认批次与最近回传",
        en: "Lag: oldest unacknowledged bundle, last return applied",
        unit: "seconds",
        metrics: &[
            (
                "sluice_outer_oldest_unacknowledged_age_seconds",
                Transform::Value,
            ),
            ("sluice_outer_last_return_age_seconds", Transform::Value),
        ],
    },
    Chart {
        id: "pending",
        zh: "待导出、传输中的版本与未确认批次",
        en: "Versions pending and in transit, unacknowledged bundles",
        unit: "count",
        metrics: &[
            ("sluice_outer_pending_versions", Transform::Value),
            ("sluice_outer_in_transit_versions", Transform::Value),
            ("sluice_outer_unacknowledged_bundles", Transform::Value),
        ],
    },
    keys::ops::QUARANTINE_CHART,
];

/// `GET /ops`.
pub(super) async fn ops_page(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    auth: Result<Auth, AppError>,
) -> Result<Response, AppError> {
    let auth = match auth {
        Ok(auth) => auth,
        Err(AppError::Unauthorized) => {
            // Lets a browser ask the operator for the token (as the password).
            let mut response = AppError::Unauthorized.into_response();
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"Sluice operations\", charset=\"UTF-8\""),
            );
            return Ok(response);
        }
        Err(error) => return Err(error),
    };
    auth.require(&[AccountKind::Operator], "read the operations page")?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let window = keys::ops::window_asked(query.as_deref());
    let (samples, runs) = state
        .store
        .read(move |conn| Ok((samples_since_on(conn, now - window)?, last_runs_on(conn)?)))
        .await?;
    let last_runs = [
        LastRun {
            timer: "sluice-export",
            zh: "导出",
            en: "export",
            at: runs.export,
            evidence: "newest bundle written (an idle run writes a heartbeat)",
        },
        LastRun {
            timer: "sluice-apply",
            zh: "回传应用",
            en: "apply",
            at: runs.apply,
            evidence: "newest return bundle applied",
        },
        LastRun::metrics(runs.metrics),
    ];
    let html = keys::ops::render(&Page {
        side: "outer",
        zh: "外网运行状态",
        en: "Outer side operations",
        now,
        window,
        charts: &CHARTS,
        samples: &samples,
        last_runs: &last_runs,
    });
    Ok((
        StatusCode::OK,
        [(header::CACHE_CONTROL, "no-store")],
        Html(html),
    )
        .into_response())
}
