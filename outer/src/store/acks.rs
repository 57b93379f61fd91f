//! Signed acknowledgements from the inner side: the only thing that removes a payload
//! (DESIGN.md invariant 3), and only of the exact version and content hash an entry names (a
//! wire version 1 ack) or of exactly the versions a members digest covers (a range ack, wire
//! version 2). A receipt still waiting on an acknowledged version moves to "delivered", or to
//! "rejected" with the inner side's reason when the inner side refused that version: a refused
//! version keeps its payload (the inner side did not accept it, so it is not safe inside).
//! A version flagged as waiting for an access provider's check keeps its payload too, though
//! it is recorded delivered, until its receipt moves on (`provider_checks`): the provider is
//! shown it outside.

use bundle_format::records::{self, Ack, ImportOutcome, ReviewState};
use keys::ChannelId;
use rusqlite::{Connection, OptionalExtension, params};

use super::ledger;
use super::status::add_history;
use super::{ReceiptState, Store, StoreError, db, hash_col, i64_of, u32_col};

/// What applying an ack did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AckSummary {
    /// Versions whose payload was removed now.
    pub removed: usize,
    /// Versions acknowledged now whose payload is kept for an access provider's check.
    pub kept: usize,
    /// Versions acknowledged before (nothing to do).
    pub already: usize,
    /// Entries naming a version or hash the store does not have; nothing was deleted for them.
    pub mismatched: Vec<(String, u32)>,
    /// Versions the inner side refused: acknowledged, their payload kept, the refusal on the
    /// receipt's status.
    pub refused: usize,
}

/// What one ack entry did to the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckEffect {
    /// The acknowledged version's payload was removed now.
    Removed,
    /// The version is acknowledged and waits for an access provider's check: its payload is
    /// kept for the provider's page until its receipt moves past the check.
    Kept,
    /// The version was acknowledged before; nothing to do.
    Already,
    /// The store has no such version, or its content hash differs: nothing was deleted.
    Mismatch,
    /// The inner side refused this version (outcome `Rejected`): it is acknowledged with the
    /// reason, its payload is kept, and a receipt waiting on it shows "rejected" with the
    /// reason.
    Refused,
}

/// The state a receipt waiting on an acknowledged version moves to, as SQL over the ack's
/// outcome column `outcome_column` (outcome names as [`outcome_name`] writes them): "rejected"
/// when the inner side refused the version, else the state in parameter `delivered_parameter`
/// ("delivered").
fn acked_state(outcome_column: &str, delivered_parameter: &str) -> String {
    format!(
        "CASE WHEN {outcome_column} = 'rejected' THEN '{}' ELSE {delivered_parameter} END",
        ReceiptState::Review(ReviewState::Rejected).as_str()
    )
}

/// Applies the entries of one ack on `conn`, returning each entry's effect in order: what
/// [`apply_ack_entry_on`] does for each, done set-based (a temporary table and six statements
/// for the whole ack rather than five statements per entry), so that applying the ack of a
/// bundle of 50,000 versions costs a few index lookups per version. An ack that names one
/// version twice is applied entry by entry, which keeps the effects of the repeats exact.
pub fn apply_ack_entries_on(
    conn: &Connection,
    entries: &[records::ReceiptAck],
    at: i64,
) -> Result<Vec<AckEffect>, StoreError> {
    let mut seen = std::collections::HashSet::with_capacity(entries.len());
    if !entries
        .iter()
        .all(|e| seen.insert((e.receipt.as_str(), e.version)))
    {
        return entries
            .iter()
            .map(|entry| apply_ack_entry_on(conn, entry, at))
            .collect();
    }
    drop(seen);
    conn.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS acking (
             position INTEGER PRIMARY KEY, receipt TEXT NOT NULL, version INTEGER NOT NULL,
             content_hash BLOB NOT NULL, outcome TEXT NOT NULL, reason TEXT,
             effect TEXT NOT NULL DEFAULT 'removed'
         );
         CREATE UNIQUE INDEX IF NOT EXISTS temp.acking_version ON acking (receipt, version);
         DELETE FROM temp.acking;",
    )
    .map_err(db("preparing to apply an ack"))?;
    {
        let mut insert = conn
            .prepare_cached(
                "INSERT INTO temp.acking (position, receipt, version, content_hash, outcome, reason)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .map_err(db("applying an ack"))?;
        for (position, entry) in entries.iter().enumerate() {
            insert
                .execute(params![
                    i64::try_from(position).unwrap_or(i64::MAX),
                    entry.receipt,
                    entry.version,
                    &entry.content_hash[..],
                    outcome_name(entry.outcome),
                    entry.reason
                ])
                .map_err(db("applying an ack"))?;
        }
    }
    let delivered = ReceiptState::Review(ReviewState::Delivered);
    let history = format!(
        "INSERT INTO status_history (receipt, version, state, at, reason, filing_number,
                                     bundle_sequence)
         SELECT a.receipt, a.version, {}, ?1, a.reason, NULL, NULL
         FROM temp.acking a JOIN receipts r
           ON r.receipt = a.receipt AND r.state_version = a.version
         WHERE a.effect = 'removed' AND r.state IN (?3, ?4)
         ORDER BY a.position",
        acked_state("a.outcome", "?2")
    );
    let status = format!(
        "UPDATE receipts SET state = (SELECT {} FROM temp.acking a
                                      WHERE a.receipt = receipts.receipt
                                        AND a.version = receipts.state_version),
                reason = (SELECT a.reason FROM temp.acking a
                          WHERE a.receipt = receipts.receipt
                            AND a.version = receipts.state_version
                            AND a.outcome = 'rejected'),
                updated_at = ?1
         WHERE rowid IN (SELECT r.rowid FROM temp.acking a JOIN receipts r
                           ON r.receipt = a.receipt AND r.state_version = a.version
                         WHERE a.effect = 'removed' AND r.state IN (?3, ?4))",
        acked_state("a.outcome", "?2")
    );
    let steps: [(&str, &'static str); 6] = [
        (
            // No such version, or another content hash: nothing is deleted.
            "UPDATE temp.acking SET effect = 'mismatch' WHERE NOT EXISTS (
                 SELECT 1 FROM submission_versions v
                 WHERE v.receipt = acking.receipt AND v.version = acking.version
                   AND v.content_hash = acking.content_hash)",
            "reading versions for an ack",
        ),
        (
            "UPDATE temp.acking SET effect = 'already' WHERE effect = 'removed' AND EXISTS (
                 SELECT 1 FROM submission_versions v
                 WHERE v.receipt = acking.receipt AND v.version = acking.version
                   AND v.acknowledged_at IS NOT NULL)",
            "reading versions for an ack",
        ),
        (
            // Driven from the ack's rows (rowid IN …): an UPDATE … FROM would scan every version.
            "UPDATE submission_versions SET acknowledged_at = ?1,
                    ack_outcome = (SELECT a.outcome FROM temp.acking a
                                   WHERE a.receipt = submission_versions.receipt
                                     AND a.version = submission_versions.version),
                    payload_removed_at = CASE WHEN (SELECT a.outcome FROM temp.acking a
                                   WHERE a.receipt = submission_versions.receipt
                                     AND a.version = submission_versions.version) = 'rejected'
                                     OR kept_for_provider_check = 1
                                   THEN NULL ELSE ?1 END
             WHERE rowid IN (SELECT v.rowid FROM temp.acking a JOIN submission_versions v
                               ON v.receipt = a.receipt AND v.version = a.version
                             WHERE a.effect = 'removed')",
            "applying an ack",
        ),
        (
            // A payload kept for the provider's check stays (its removal mark stays NULL too).
            "DELETE FROM submission_payloads WHERE rowid IN (
                 SELECT p.rowid FROM temp.acking a JOIN submission_payloads p
                   ON p.receipt = a.receipt AND p.version = a.version
                 JOIN submission_versions v ON v.receipt = a.receipt AND v.version = a.version
                 WHERE a.effect = 'removed' AND a.outcome <> 'rejected'
                   AND v.kept_for_provider_check = 0)",
            "removing an acknowledged payload",
        ),
        (&history, "writing status history"),
        (&status, "updating a status row"),
    ];
    for (index, (sql, operation)) in steps.into_iter().enumerate() {
        let mut stmt = conn.prepare_cached(sql).map_err(db(operation))?;
        match index {
            0 | 1 | 3 => stmt.execute([]),
            2 => stmt.execute([at]),
            _ => stmt.execute(params![
                at,
                delivered.as_str(),
                ReceiptState::Received.as_str(),
                ReceiptState::InTransit.as_str()
            ]),
        }
        .map_err(db(operation))?;
    }
    let effects = conn
        .prepare_cached(
            "SELECT a.effect, a.outcome, coalesce(v.kept_for_provider_check, 0)
             FROM temp.acking a LEFT JOIN submission_versions v
               ON v.receipt = a.receipt AND v.version = a.version
             ORDER BY a.position",
        )
        .and_then(|mut stmt| {
            stmt.query_map([], |row| {
                Ok(
                    match (
                        row.get_ref(0)?.as_str()?,
                        row.get_ref(1)?.as_str()?,
                        row.get::<_, i64>(2)? == 1,
                    ) {
                        ("mismatch", _, _) => AckEffect::Mismatch,
                        ("already", _, _) => AckEffect::Already,
                        (_, "rejected", _) => AckEffect::Refused,
                        (_, _, true) => AckEffect::Kept,
                        _ => AckEffect::Removed,
                    },
                )
            })?
            .collect::<Result<Vec<_>, _>>()
        })
        .map_err(db("applying an ack"))?;
    super::provider_checks::release_kept_payloads_on(conn, None, at)?;
    Ok(effects)
}

/// Applies one ack entry on `conn`: removes the payload of exactly the acknowledged version
/// when its content hash matches (DESIGN.md invariant 3; never a newer version) and moves a
/// receipt still waiting on that version to "delivered" with a history entry.
pub fn apply_ack_entry_on(
    conn: &Connection,
    entry: &records::ReceiptAck,
    at: i64,
) -> Result<AckEffect, StoreError> {
    let stored: Option<(Vec<u8>, Option<i64>, bool)> = conn
        .prepare_cached(
            "SELECT content_hash, acknowledged_at, kept_for_provider_check = 1
             FROM submission_versions WHERE receipt = ?1 AND version = ?2",
        )
        .and_then(|mut stmt| {
            stmt.query_row(params![entry.receipt, entry.version], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })
            .optional()
        })
        .map_err(db("reading a version for an ack"))?;
    let Some((hash, acknowledged, flagged)) = stored else {
        return Ok(AckEffect::Mismatch);
    };
    if hash_col(hash) != entry.content_hash {
        return Ok(AckEffect::Mismatch);
    }
    if acknowledged.is_some() {
        return Ok(AckEffect::Already);
    }
    // A refused version is not safe inside: it keeps its payload. One waiting for the
    // provider's check keeps it for the provider's page.
    let refused = entry.outcome == ImportOutcome::Rejected;
    conn.prepare_cached(
        "UPDATE submission_versions SET acknowledged_at = ?3, ack_outcome = ?4,
                payload_removed_at = CASE WHEN ?5 OR kept_for_provider_check = 1
                                     THEN NULL ELSE ?3 END
         WHERE receipt = ?1 AND version = ?2",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            entry.receipt,
            entry.version,
            at,
            outcome_name(entry.outcome),
            refused
        ])
    })
    .map_err(db("applying an ack"))?;
    if !refused {
        conn.prepare_cached(
            "DELETE FROM submission_payloads WHERE receipt = ?1 AND version = ?2
               AND NOT EXISTS (SELECT 1 FROM submission_versions v
                               WHERE v.receipt = ?1 AND v.version = ?2
                                 AND v.kept_for_provider_check = 1)",
        )
        .and_then(|mut stmt| stmt.execute(params![entry.receipt, entry.version]))
        .map_err(db("removing an acknowledged payload"))?;
    }
    let next = if refused {
        ReceiptState::Review(ReviewState::Rejected)
    } else {
        ReceiptState::Review(ReviewState::Delivered)
    };
    let moved = conn
        .prepare_cached(
            "UPDATE receipts SET state = ?3, state_version = ?2, updated_at = ?4,
                    reason = CASE WHEN ?7 THEN ?8 END
             WHERE receipt = ?1 AND state_version = ?2 AND state IN (?5, ?6)",
        )
        .and_then(|mut stmt| {
            stmt.execute(params![
                entry.receipt,
                entry.version,
                next.as_str(),
                at,
                ReceiptState::Received.as_str(),
                ReceiptState::InTransit.as_str(),
                refused,
                entry.reason
            ])
        })
        .map_err(db("updating a status row"))?;
    if moved > 0 {
        add_history(
            conn,
            &entry.receipt,
            entry.version,
            next,
            at,
            entry.reason.as_deref(),
            None,
            None,
        )?;
    }
    let kept = !refused && flagged;
    super::provider_checks::release_kept_payloads_on(conn, Some(&entry.receipt), at)?;
    Ok(if refused {
        AckEffect::Refused
    } else if kept {
        AckEffect::Kept
    } else {
        AckEffect::Removed
    })
}

/// What applying a range ack did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RangeAckEffect {
    /// The versions this store holds for the bundle gave the ack's count and digest: every
    /// payload of the range not removed before is removed now.
    Applied {
        /// Versions whose payload was removed now.
        removed: usize,
        /// Versions acknowledged before.
        already: usize,
    },
    /// Nothing was deleted: the store's range for the bundle does not match the ack (or the
    /// store has no such bundle). The reason says what differs; the caller may fall back to
    /// the bundle's members one by one.
    Mismatch {
        /// What differs, for the audit trail.
        reason: String,
    },
}

/// Applies a range ack on `conn` (SPEC.md §6.3, [`records::RangeAck`]): finds the bundle's range
/// in the outbox index, recomputes the members digest over the versions stored for it, and only
/// if count and digest equal the ack's removes the whole range's payloads in one statement,
/// records each version's outcome (the ack's exceptions keep theirs and their reasons) and
/// moves the receipts still waiting on those versions to "delivered". A mismatch changes
/// nothing. The outbox row itself is the caller's to mark acknowledged.
pub fn apply_range_ack_on(
    conn: &Connection,
    ack: &records::RangeAck,
    at: i64,
) -> Result<RangeAckEffect, StoreError> {
    let bundle = bundle_format::BundleId(ack.bundle_id);
    let Some(range) = ledger::bundle_range_on(conn, ChannelId(ack.channel), &bundle)? else {
        return Ok(RangeAckEffect::Mismatch {
            reason: format!(
                "bundle {bundle} (channel {}, sequence {}) is not in the outbox index",
                ack.channel, ack.sequence
            ),
        });
    };
    let (first, last) = match range {
        Some(range) => (i64_of(range.first_seq), i64_of(range.last_seq)),
        // A bundle without versions (heartbeat, keyset): an empty range.
        None => (1, 0),
    };
    let mut members = 0u64;
    let digest = {
        let read = "reading the versions of an acknowledged range";
        let mut stmt = conn
            .prepare_cached(
                "SELECT receipt, version, content_hash FROM submission_versions
                 WHERE seq BETWEEN ?1 AND ?2 ORDER BY seq",
            )
            .map_err(db(read))?;
        let mut rows = stmt.query(params![first, last]).map_err(db(read))?;
        let mut hasher = records::MembersDigest::new();
        while let Some(row) = rows.next().map_err(db(read))? {
            let receipt: String = row.get(0).map_err(db(read))?;
            let version = u32_col(row.get(1).map_err(db(read))?);
            let hash = hash_col(row.get(2).map_err(db(read))?);
            hasher.add(&receipt, version, &hash);
            members += 1;
        }
        hasher.finish()
    };
    if members != ack.members || digest != ack.members_digest {
        return Ok(RangeAckEffect::Mismatch {
            reason: format!(
                "bundle {bundle}: this store holds {members} versions for it with members digest \
                 {}, the ack names {} with {}",
                hex::encode(digest),
                ack.members,
                hex::encode(ack.members_digest)
            ),
        });
    }
    // The digest covers every member; an exception must be one of them, with its hash.
    for exception in &ack.exceptions {
        let member: Option<Vec<u8>> = conn
            .prepare_cached(
                "SELECT content_hash FROM submission_versions
                 WHERE receipt = ?1 AND version = ?2 AND seq BETWEEN ?3 AND ?4",
            )
            .and_then(|mut stmt| {
                stmt.query_row(
                    params![exception.receipt, exception.version, first, last],
                    |row| row.get(0),
                )
                .optional()
            })
            .map_err(db("reading the versions of an acknowledged range"))?;
        if member.map(hash_col) != Some(exception.content_hash) {
            return Ok(RangeAckEffect::Mismatch {
                reason: format!(
                    "bundle {bundle}: the ack's exception {}/{} is not one of its versions",
                    exception.receipt, exception.version
                ),
            });
        }
    }
    conn.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS range_exceptions (
             receipt TEXT NOT NULL, version INTEGER NOT NULL, outcome TEXT NOT NULL, reason TEXT,
             PRIMARY KEY (receipt, version)
         ) WITHOUT ROWID;
         DELETE FROM temp.range_exceptions;",
    )
    .map_err(db("preparing to apply a range ack"))?;
    {
        let mut insert = conn
            .prepare_cached(
                "INSERT OR REPLACE INTO temp.range_exceptions (receipt, version, outcome, reason)
                 VALUES (?1, ?2, ?3, ?4)",
            )
            .map_err(db("applying a range ack"))?;
        for exception in &ack.exceptions {
            insert
                .execute(params![
                    exception.receipt,
                    exception.version,
                    outcome_name(exception.outcome),
                    exception.reason
                ])
                .map_err(db("applying a range ack"))?;
        }
    }
    let delivered = ReceiptState::Review(ReviewState::Delivered);
    let already: i64 = conn
        .prepare_cached(
            "SELECT count(*) FROM submission_versions
             WHERE seq BETWEEN ?1 AND ?2 AND acknowledged_at IS NOT NULL",
        )
        .and_then(|mut stmt| stmt.query_row(params![first, last], |row| row.get(0)))
        .map_err(db("reading the versions of an acknowledged range"))?;
    // Both statements pick the receipts whose current version lies in the range, has no ack
    // yet and is still waiting or in transit: ?1..?2 the range, ?3 the new state, ?4 the time.
    let move_receipts = |sql: &str, operation: &'static str| {
        conn.prepare_cached(sql)
            .and_then(|mut stmt| {
                stmt.execute(params![
                    first,
                    last,
                    delivered.as_str(),
                    at,
                    ReceiptState::Received.as_str(),
                    ReceiptState::InTransit.as_str()
                ])
            })
            .map_err(db(operation))
    };
    // Status first, while "not acknowledged yet" still picks the versions this ack moves. A
    // version the inner side refused moves its receipt to "rejected" with the reason.
    move_receipts(
        &format!(
            "INSERT INTO status_history (receipt, version, state, at, reason, filing_number,
                                         bundle_sequence)
             SELECT r.receipt, v.version, {}, ?4, e.reason, NULL, NULL
             FROM submission_versions v CROSS JOIN receipts r
               ON r.receipt = v.receipt AND r.state_version = v.version
             LEFT JOIN temp.range_exceptions e ON e.receipt = v.receipt AND e.version = v.version
             WHERE v.seq BETWEEN ?1 AND ?2 AND v.acknowledged_at IS NULL AND r.state IN (?5, ?6)
             ORDER BY v.seq",
            acked_state("e.outcome", "?3")
        ),
        "writing status history",
    )?;
    move_receipts(
        &format!(
            "UPDATE receipts SET
                 state = (SELECT {} FROM (SELECT NULL) LEFT JOIN temp.range_exceptions e
                            ON e.receipt = receipts.receipt
                           AND e.version = receipts.state_version),
                 reason = (SELECT e.reason FROM temp.range_exceptions e
                           WHERE e.receipt = receipts.receipt
                             AND e.version = receipts.state_version
                             AND e.outcome = 'rejected'),
                 updated_at = ?4
             WHERE rowid IN (SELECT r.rowid FROM submission_versions v CROSS JOIN receipts r
                               ON r.receipt = v.receipt AND r.state_version = v.version
                             WHERE v.seq BETWEEN ?1 AND ?2 AND v.acknowledged_at IS NULL
                               AND r.state IN (?5, ?6))",
            acked_state("e.outcome", "?3")
        ),
        "updating a status row",
    )?;
    conn.prepare_cached(
        "UPDATE submission_versions SET acknowledged_at = ?3,
                ack_outcome = coalesce(
                    (SELECT e.outcome FROM temp.range_exceptions e
                     WHERE e.receipt = submission_versions.receipt
                       AND e.version = submission_versions.version),
                    'applied')
         WHERE seq BETWEEN ?1 AND ?2 AND acknowledged_at IS NULL",
    )
    .and_then(|mut stmt| stmt.execute(params![first, last, at]))
    .map_err(db("applying a range ack"))?;
    // The whole range's payloads in one statement (DESIGN.md invariant 3: the digest named
    // each of these exact versions and content hashes), but never one of a version the inner
    // side refused: that one is not safe inside; nor one kept for the provider's check.
    conn.prepare_cached(
        "UPDATE submission_versions SET payload_removed_at = ?3
         WHERE seq BETWEEN ?1 AND ?2 AND payload_removed_at IS NULL
           AND ack_outcome IS NOT 'rejected' AND kept_for_provider_check = 0",
    )
    .and_then(|mut stmt| stmt.execute(params![first, last, at]))
    .map_err(db("applying a range ack"))?;
    let removed = conn
        .prepare_cached(
            "DELETE FROM submission_payloads WHERE rowid IN (
                 SELECT p.rowid FROM submission_versions v JOIN submission_payloads p
                   ON p.receipt = v.receipt AND p.version = v.version
                 WHERE v.seq BETWEEN ?1 AND ?2 AND v.ack_outcome IS NOT 'rejected'
                   AND v.kept_for_provider_check = 0)",
        )
        .and_then(|mut stmt| stmt.execute(params![first, last]))
        .map_err(db("removing acknowledged payloads"))?;
    let released = super::provider_checks::release_kept_payloads_on(conn, None, at)?;
    Ok(RangeAckEffect::Applied {
        removed: removed + released,
        already: usize::try_from(already).unwrap_or(0),
    })
}

fn outcome_name(outcome: ImportOutcome) -> &'static str {
    match outcome {
        ImportOutcome::Applied => "applied",
        ImportOutcome::AlreadyApplied => "already_applied",
        ImportOutcome::Superseded => "superseded",
        ImportOutcome::Conflict => "conflict",
        ImportOutcome::Rejected => "rejected",
    }
}

impl Store {
    /// Applies a verified ack: each entry whose receipt, version and content hash match a
    /// stored version removes that version's payload (DESIGN.md invariant 3); anything else
    /// deletes nothing and is reported.
    pub async fn apply_ack(&self, ack: Ack, at: i64) -> Result<AckSummary, StoreError> {
        self.write(move |conn| {
            let mut summary = AckSummary::default();
            let effects = apply_ack_entries_on(conn, &ack.receipts, at)?;
            for (entry, effect) in ack.receipts.iter().zip(effects) {
                match effect {
                    AckEffect::Removed => summary.removed += 1,
                    AckEffect::Kept => summary.kept += 1,
                    AckEffect::Already => summary.already += 1,
                    AckEffect::Refused => summary.refused += 1,
                    AckEffect::Mismatch => summary
                        .mismatched
                        .push((entry.receipt.clone(), entry.version)),
                }
            }
            Ok(summary)
        })
        .await
    }
}
