//! `status` on the outer host: receipts by state, versions pending and in transit, bundles not
//! yet acknowledged, and when the last return bundle was applied.

use keys::ChannelId;

use super::ledger::send_state;
use super::{OuterError, OuterHost, db, u64_of};

/// One unacknowledged bundle, for `status`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Unacknowledged {
    /// Sequence number.
    pub sequence: u64,
    /// Kind.
    pub kind: String,
    /// Records it holds.
    pub records: u64,
    /// Seconds since it was created.
    pub age_seconds: i64,
    /// How often it was published.
    pub send_count: u64,
}

/// The outer side's view for `status`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OuterStatus {
    /// Receipts by state name.
    pub receipts: std::collections::BTreeMap<String, u64>,
    /// Versions not yet exported.
    pub pending_versions: u64,
    /// Versions exported and not yet acknowledged.
    pub in_transit_versions: u64,
    /// Bundles published and not yet acknowledged.
    pub unacknowledged: Vec<Unacknowledged>,
    /// Next sequence number to send.
    pub next_sequence: u64,
    /// Highest return sequence applied, and when the last return bundle was applied.
    pub last_return: Option<(u64, i64)>,
}

/// Reads the outer side's status.
pub fn status(host: &OuterHost, channel: ChannelId, now: i64) -> Result<OuterStatus, OuterError> {
    Ok(host.store.read_blocking(|conn| {
        let mut receipts = std::collections::BTreeMap::new();
        let mut stmt = conn
            .prepare("SELECT state, count(*) FROM receipts GROUP BY state ORDER BY state")
            .map_err(db("counting receipts"))?;
        let rows = stmt
            .query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?)))
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(db("counting receipts"))?;
        for (state, count) in rows {
            receipts.insert(state, u64_of(count));
        }
        let (pending, in_transit): (i64, i64) = conn
            .query_row(
                "SELECT count(*) FILTER (WHERE exported_sequence IS NULL AND payload_removed_at IS NULL),
                        count(*) FILTER (WHERE exported_sequence IS NOT NULL AND acknowledged_at IS NULL)
                 FROM submission_versions",
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .map_err(db("counting versions"))?;
        let mut stmt = conn
            .prepare(
                "SELECT sequence, kind, records, created, send_count FROM transfer_outbox
                 WHERE channel = ?1 AND acknowledged_at IS NULL ORDER BY sequence",
            )
            .map_err(db("reading the outbox index"))?;
        let unacknowledged = stmt
            .query_map([channel.0], |row| {
                Ok(Unacknowledged {
                    sequence: u64_of(row.get(0)?),
                    kind: row.get(1)?,
                    records: u64_of(row.get(2)?),
                    age_seconds: now.saturating_sub(row.get::<_, i64>(3)?),
                    send_count: u64_of(row.get(4)?),
                })
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(db("reading the outbox index"))?;
        let next_sequence = send_state(conn, channel)?.next_sequence;
        let last_return: Option<(i64, i64)> = conn
            .query_row(
                "SELECT max(sequence), max(applied_at) FROM transfer_return_ledger",
                [],
                |row| Ok((row.get::<_, Option<i64>>(0)?, row.get::<_, Option<i64>>(1)?)),
            )
            .map(|(s, a)| s.zip(a))
            .map_err(db("reading the return ledger"))?;
        Ok(OuterStatus {
            receipts,
            pending_versions: u64_of(pending),
            in_transit_versions: u64_of(in_transit),
            unacknowledged,
            next_sequence,
            last_return: last_return.map(|(s, a)| (u64_of(s), a)),
        })
    })?)
}
