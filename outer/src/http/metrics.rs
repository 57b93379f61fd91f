//! Operator metrics in the Prometheus text format: submissions by kind and outcome, validation
//! failures by code, request latency, store size.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::{AppError, AppState, Auth};
use crate::store::AccountKind;

/// Upper bounds of the latency histogram buckets, in seconds.
pub const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Default)]
struct Counters {
    submissions: BTreeMap<(String, String), u64>,
    validation_failures: BTreeMap<String, u64>,
    latency_buckets: [u64; LATENCY_BUCKETS.len()],
    latency_count: u64,
    latency_sum: f64,
}

/// The service's counters.
#[derive(Default)]
pub struct Metrics {
    counters: Mutex<Counters>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    /// Counts one submission of `kind` with `outcome` (`created`, `replayed`, `invalid`, …).
    pub fn submission(&self, kind: &str, outcome: &str) {
        if let Ok(mut c) = self.counters.lock() {
            *c.submissions
                .entry((kind.to_owned(), outcome.to_owned()))
                .or_default() += 1;
        }
    }

    /// Counts one validation failure by code.
    pub fn validation_failure(&self, code: &str) {
        if let Ok(mut c) = self.counters.lock() {
            *c.validation_failures.entry(code.to_owned()).or_default() += 1;
        }
    }

    /// Records one request's latency.
    pub fn latency(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        if let Ok(mut c) = self.counters.lock() {
            for (i, bound) in LATENCY_BUCKETS.iter().enumerate() {
                if seconds <= *bound {
                    c.latency_buckets[i] += 1;
                }
            }
            c.latency_count += 1;
            c.latency_sum += seconds;
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self, store_bytes: u64) -> String {
        let mut out = String::new();
        let Ok(c) = self.counters.lock() else {
            return out;
        };
        let _ = writeln!(
            out,
            "# HELP sluice_outer_submissions_total Submissions by kind and outcome."
        );
        let _ = writeln!(out, "# TYPE sluice_outer_submissions_total counter");
        for ((kind, outcome), n) in &c.submissions {
            let _ = writeln!(
                out,
                "sluice_outer_submissions_total{{kind=\"{kind}\",outcome=\"{outcome}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP sluice_outer_validation_failures_total Validation problems by code."
        );
        let _ = writeln!(out, "# TYPE sluice_outer_validation_failures_total counter");
        for (code, n) in &c.validation_failures {
            let _ = writeln!(
                out,
                "sluice_outer_validation_failures_total{{code=\"{code}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP sluice_outer_request_duration_seconds Request latency."
        );
        let _ = writeln!(
            out,
            "# TYPE sluice_outer_request_duration_seconds histogram"
        );
        for (bound, n) in LATENCY_BUCKETS.iter().zip(c.latency_buckets) {
            let _ = writeln!(
                out,
                "sluice_outer_request_duration_seconds_bucket{{le=\"{bound}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "sluice_outer_request_duration_seconds_bucket{{le=\"+Inf\"}} {}",
            c.latency_count
        );
        let _ = writeln!(
            out,
            "sluice_outer_request_duration_seconds_sum {}",
            c.latency_sum
        );
        let _ = writeln!(
            out,
            "sluice_outer_request_duration_seconds_count {}",
            c.latency_count
        );
        let _ = writeln!(
            out,
            "# HELP sluice_outer_store_bytes Bytes of the SQLite database and its WAL."
        );
        let _ = writeln!(out, "# TYPE sluice_outer_store_bytes gauge");
        let _ = writeln!(out, "sluice_outer_store_bytes {store_bytes}");
        out
    }
}

/// `GET /metrics`: the counters and the store's size, for operator tokens only.
pub(super) async fn scrape(
    State(state): State<AppState>,
    auth: Auth,
) -> Result<Response, AppError> {
    auth.require(&[AccountKind::Operator], "read metrics")?;
    let mut text = state.metrics.render(state.store.size_on_disk());
    text.push_str(&state.connections.render());
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response())
}
