//! The operations page's history (`ops_samples`, migration 7): the metrics samples the transfer
//! tool keeps, and the ledger times that show when each timer last ran. `sluice-inner
//! serve-ops` reads these through a read-only session.

use keys::ops::Sample;
use postgres::GenericClient;

use crate::store::{StoreError, db};

/// How long samples are kept: older ones are deleted when a new sample is recorded.
pub const RETENTION_SECONDS: i64 = 30 * 86_400;

/// Keeps `samples` (one metrics run) and deletes those older than [`RETENTION_SECONDS`] before
/// the newest of them, in one transaction.
pub fn record_samples(client: &mut postgres::Client, samples: &[Sample]) -> Result<(), StoreError> {
    let mut tx = client
        .transaction()
        .map_err(db("starting to record metrics samples"))?;
    let insert = tx
        .prepare(
            "INSERT INTO ops_samples (taken_at, metric, labels, value) VALUES ($1, $2, $3, $4)",
        )
        .map_err(db("preparing to record metrics samples"))?;
    for sample in samples {
        tx.execute(
            &insert,
            &[
                &sample.taken_at,
                &sample.metric,
                &sample.labels,
                &sample.value,
            ],
        )
        .map_err(db("recording a metrics sample"))?;
    }
    if let Some(newest) = samples.iter().map(|s| s.taken_at).max() {
        tx.execute(
            "DELETE FROM ops_samples WHERE taken_at < $1",
            &[&(newest - RETENTION_SECONDS)],
        )
        .map_err(db("deleting old metrics samples"))?;
    }
    tx.commit().map_err(db("recording metrics samples"))
}

/// Every sample taken at or after `since`, oldest first.
pub fn samples_since(
    client: &mut impl GenericClient,
    since: i64,
) -> Result<Vec<Sample>, StoreError> {
    Ok(client
        .query(
            "SELECT taken_at, metric, labels, value FROM ops_samples WHERE taken_at >= $1 \
             ORDER BY taken_at",
            &[&since],
        )
        .map_err(db("reading metrics samples"))?
        .iter()
        .map(|row| Sample {
            taken_at: row.get(0),
            metric: row.get(1),
            labels: row.get(2),
            value: row.get(3),
        })
        .collect())
}

/// When the inner side's timers last left a row in its ledger: import (the newest bundle
/// imported; the outer side's idle export sends a heartbeat), return (the newest return
/// bundle written; an idle run writes one with the sequence state), and the metrics run
/// itself (the newest sample).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LastRuns {
    /// Newest bundle imported, Unix seconds.
    pub import: Option<i64>,
    /// Newest return bundle written, Unix seconds.
    pub returns: Option<i64>,
    /// Newest metrics sample, Unix seconds.
    pub metrics: Option<i64>,
}

/// Reads [`LastRuns`].
pub fn last_runs(client: &mut impl GenericClient) -> Result<LastRuns, StoreError> {
    let row = client
        .query_one(
            "SELECT (SELECT max(imported_at) FROM transfer_inbound), \
                    (SELECT max(created) FROM transfer_return_sent), \
                    (SELECT max(taken_at) FROM ops_samples)",
            &[],
        )
        .map_err(db("reading when the timers last ran"))?;
    Ok(LastRuns {
        import: row.get(0),
        returns: row.get(1),
        metrics: row.get(2),
    })
}
