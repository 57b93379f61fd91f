//! The operations page's history (`ops_samples`, migration 7): the metrics samples the transfer
//! tool keeps, and the ledger times that show when each timer last ran.

use rusqlite::{Connection, params};

use super::{StoreError, db};
use keys::ops::Sample;

/// How long samples are kept: older ones are deleted when a new sample is recorded.
pub const RETENTION_SECONDS: i64 = 30 * 86_400;

/// Keeps `samples` (one metrics run) and deletes those older than [`RETENTION_SECONDS`] before
/// the newest of them.
pub fn record_samples_on(conn: &Connection, samples: &[Sample]) -> Result<(), StoreError> {
    let mut insert = conn
        .prepare_cached(
            "INSERT INTO ops_samples (taken_at, metric, labels, value) VALUES (?1, ?2, ?3, ?4)",
        )
        .map_err(db("preparing to record metrics samples"))?;
    for sample in samples {
        insert
            .execute(params![
                sample.taken_at,
                sample.metric,
                sample.labels,
                sample.value
            ])
            .map_err(db("recording a metrics sample"))?;
    }
    if let Some(newest) = samples.iter().map(|s| s.taken_at).max() {
        conn.execute(
            "DELETE FROM ops_samples WHERE taken_at < ?1",
            [newest - RETENTION_SECONDS],
        )
        .map_err(db("deleting old metrics samples"))?;
    }
    Ok(())
}

/// Every sample taken at or after `since`, oldest first.
pub fn samples_since_on(conn: &Connection, since: i64) -> Result<Vec<Sample>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT taken_at, metric, labels, value FROM ops_samples WHERE taken_at >= ?1 \
             ORDER BY taken_at",
        )
        .map_err(db("preparing to read metrics samples"))?;
    let rows = stmt
        .query_map([since], |row| {
            Ok(Sample {
                taken_at: row.get(0)?,
                metric: row.get(1)?,
                labels: row.get(2)?,
                value: row.get(3)?,
            })
        })
        .map_err(db("reading metrics samples"))?;
    rows.collect::<Result<_, _>>()
        .map_err(db("reading metrics samples"))
}

/// When the outer side's timers last left a row in its ledger: export (the newest bundle
/// written; an idle run writes a heartbeat), apply (the newest return bundle applied), and
/// the metrics run itself (the newest sample).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LastRuns {
    /// Newest bundle written by export, Unix seconds.
    pub export: Option<i64>,
    /// Newest return bundle applied, Unix seconds.
    pub apply: Option<i64>,
    /// Newest metrics sample, Unix seconds.
    pub metrics: Option<i64>,
}

/// Reads [`LastRuns`].
pub fn last_runs_on(conn: &Connection) -> Result<LastRuns, StoreError> {
    conn.query_row(
        "SELECT (SELECT max(created) FROM transfer_outbox), \
                (SELECT max(applied_at) FROM transfer_return_ledger), \
                (SELECT max(taken_at) FROM ops_samples)",
        [],
        |row| {
            Ok(LastRuns {
                export: row.get(0)?,
                apply: row.get(1)?,
                metrics: row.get(2)?,
            })
        },
    )
    .map_err(db("reading when the timers last ran"))
}
