//! Signed acknowledgements from the inner side: the only thing that removes a payload
//! (DESIGN.md invariant 3), and only of the exact version and content hash an entry names (a
//! wire version 1 ack) or of exactly the versions a members digest covers (a range ack, wire
//! version 2). A receipt still waiting on an acknowledged version moves to "delivered", or to
//! "rejected" with the inner side's reason when the inner side refused that version: a refused
//! version keeps its payload (the inner side did not accept it, so it is not safe inside).
//! An arrival ack (wire version 8, [`records::ArrivalAck`]) also says when the bundle was
//! imported: a receipt waiting on a version the import accepted moves instead to the version's
//! entry state ([`filing::arrival::entry_state`], stored with the version at intake) at that
//! time, as the inner side's status change for the arrival did before.
//! A version flagged as waiting for an access provider's check keeps its payload too, though
//! it is recorded delivered, until its receipt moves on (`provider_checks`): the provider is
//! shown it outside.

use bundle_format::records::{self, Ack, ImportOutcome, ReviewState};
use keys::ChannelId;
use rusqlite::{Connection, OptionalExtension, params};

use super::ledger;
use super::receipts::decode_version;
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

/// The columns of `temp.receipt_moves` after its receipt and version (state, at, reason,
/// status_reason), as SQL over one acknowledged version: `outcome` its ack outcome (outcome
/// names as [`outcome_name`] writes them; NULL for a range member without an exception,
/// which is `applied`), `reason` the ack's reason for it, `entry` its stored entry state and
/// `kind` its receipt's kind; `at` is the parameter holding the ack's time and `arrived` the one
/// holding the arrival time (NULL for an ack that says none).
///
/// A version the inner side refused moves its receipt to "rejected" with the reason, at `at`.
/// One the import accepted (`applied` or `conflict`) under an arrival ack moves it to its entry
/// state at `arrived`, with the conflict's reason for a conflicting one (on the history and the
/// status row); the state is NULL when the version has no entry state stored (stored before
/// migration 0017), for [`fill_entry_states_from_payloads`] to decide, but "delivered" for a
/// provider's check, which has none. Anything else (another exception, or any version under an
/// ack without an arrival time) moves it to "delivered" at `at`, the history keeping the
/// ack's reason.
fn move_columns(
    outcome: &str,
    reason: &str,
    entry: &str,
    kind: &str,
    at: &str,
    arrived: &str,
) -> String {
    let rejected = ReceiptState::Review(ReviewState::Rejected).as_str();
    let delivered = ReceiptState::Review(ReviewState::Delivered).as_str();
    let accepted = format!(
        "({arrived} IS NOT NULL AND coalesce({outcome}, 'applied') IN ('applied', 'conflict'))"
    );
    format!(
        "CASE WHEN {outcome} = 'rejected' THEN '{rejected}'
              WHEN NOT {accepted} THEN '{delivered}'
              WHEN {entry} IS NOT NULL THEN {entry}
              WHEN {kind} = 'provider_check' THEN '{delivered}'
         END,
         CASE WHEN {accepted} THEN {arrived} ELSE {at} END,
         CASE WHEN {accepted} AND {outcome} IS NOT 'conflict' THEN NULL ELSE {reason} END,
         CASE WHEN {outcome} = 'rejected' OR ({accepted} AND {outcome} = 'conflict')
              THEN {reason} END"
    )
}

/// Empties (creating it if needed) `temp.receipt_moves`, where an ack gathers the receipts it
/// moves, one row per receipt (a receipt waits on one version): the version, its place in the
/// ack (for the history's order), and from [`move_columns`] the state, when, the history's
/// reason and the status row's reason.
fn prepare_moves(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS receipt_moves (
             receipt TEXT PRIMARY KEY, version INTEGER NOT NULL, position INTEGER NOT NULL,
             state TEXT, at INTEGER NOT NULL, reason TEXT, status_reason TEXT
         ) WITHOUT ROWID;
         DELETE FROM temp.receipt_moves;",
    )
    .map_err(db("preparing to move receipts"))
}

/// The state a version stored without an entry state enters on its arrival, decided from its
/// stored `payload` with [`filing::arrival::entry_state`]; "delivered" for a provider's check,
/// and when the payload is gone or does not decode (then logged: the ack still applies).
fn entry_state_of_payload(receipt: &str, version: u32, payload: Option<&[u8]>) -> ReceiptState {
    let decided = payload.map(|bytes| decode_version(receipt, version, bytes));
    match decided {
        Some(Ok(decoded)) => filing::arrival::entry_state(&decoded).map(ReceiptState::Review),
        Some(Err(error)) => {
            tracing::warn!(target: "sluice::audit", event = "ack.entry-state-unreadable",
                receipt, version, %error,
                "the payload of an arrived version does not decode; its receipt shows delivered");
            None
        }
        None => None,
    }
    .unwrap_or(ReceiptState::Review(ReviewState::Delivered))
}

/// Decides, one by one, the moves [`move_columns`] left without a state: arrived versions
/// stored before migration 0017, whose entry state was not stored. Their payloads are still
/// here (moves are gathered before the ack removes any); there are none for a version stored
/// since, so this reads nothing more than the (temporary) moves in the usual case.
fn fill_entry_states_from_payloads(conn: &Connection) -> Result<(), StoreError> {
    let read = "reading the payloads of versions stored without an entry state";
    let undecided: Vec<(String, u32, Option<Vec<u8>>)> = conn
        .prepare_cached(
            "SELECT m.receipt, m.version, p.payload FROM temp.receipt_moves m
             LEFT JOIN submission_payloads p ON p.receipt = m.receipt AND p.version = m.version
             WHERE m.state IS NULL",
        )
        .and_then(|mut stmt| {
            stmt.query_map([], |row| {
                Ok((row.get(0)?, u32_col(row.get(1)?), row.get(2)?))
            })?
            .collect::<Result<Vec<_>, _>>()
        })
        .map_err(db(read))?;
    for (receipt, version, payload) in undecided {
        let state = entry_state_of_payload(&receipt, version, payload.as_deref());
        conn.prepare_cached("UPDATE temp.receipt_moves SET state = ?2 WHERE receipt = ?1")
            .and_then(|mut stmt| stmt.execute(params![receipt, state.as_str()]))
            .map_err(db(read))?;
    }
    Ok(())
}

/// Writes the moves gathered in `temp.receipt_moves`: states decided for the versions stored
/// without one ([`fill_entry_states_from_payloads`]), one history row each in the ack's order,
/// and each receipt's status row (state, reason, updated at the move's time). Three statements
/// for the whole ack in the usual case.
fn apply_moves(conn: &Connection) -> Result<(), StoreError> {
    fill_entry_states_from_payloads(conn)?;
    conn.prepare_cached(
        "INSERT INTO status_history (receipt, version, state, at, reason, filing_number,
                                     bundle_sequence)
         SELECT receipt, version, state, at, reason, NULL, NULL FROM temp.receipt_moves
         ORDER BY position",
    )
    .and_then(|mut stmt| stmt.execute([]))
    .map_err(db("writing status history"))?;
    conn.prepare_cached(
        "UPDATE receipts SET state = m.state, reason = m.status_reason, updated_at = m.at
         FROM temp.receipt_moves m WHERE m.receipt = receipts.receipt",
    )
    .and_then(|mut stmt| stmt.execute([]))
    .map_err(db("updating a status row"))?;
    Ok(())
}

/// Applies the entries of one ack on `conn`, returning each entry's effect in order: what
/// [`apply_ack_entry_on`] does for each, done set-based (temporary tables and a few statements
/// for the whole ack rather than five statements per entry), so that applying the ack of a
/// bundle of 50,000 versions costs a few index lookups per version. An ack that names one
/// version twice is applied entry by entry, which keeps the effects of the repeats exact.
///
/// `arrived_at` is the import time of an arrival ack applied entry by entry (a range ack's
/// fallback when its digest does not match): a receipt waiting on a version the import accepted
/// then moves to the version's entry state at that time, as [`apply_range_ack_on`] does;
/// `None` for an ack that says no arrival (a wire version 1 ack, a plain range ack).
pub fn apply_ack_entries_on(
    conn: &Connection,
    entries: &[records::ReceiptAck],
    at: i64,
    arrived_at: Option<i64>,
) -> Result<Vec<AckEffect>, StoreError> {
    let mut seen = std::collections::HashSet::with_capacity(entries.len());
    if !entries
        .iter()
        .all(|e| seen.insert((e.receipt.as_str(), e.version)))
    {
        return entries
            .iter()
            .map(|entry| apply_ack_entry_on(conn, entry, at, arrived_at))
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
    let marks: [&str; 2] = [
        // No such version, or another content hash: nothing is deleted.
        "UPDATE temp.acking SET effect = 'mismatch' WHERE NOT EXISTS (
             SELECT 1 FROM submission_versions v
             WHERE v.receipt = acking.receipt AND v.version = acking.version
               AND v.content_hash = acking.content_hash)",
        "UPDATE temp.acking SET effect = 'already' WHERE effect = 'removed' AND EXISTS (
             SELECT 1 FROM submission_versions v
             WHERE v.receipt = acking.receipt AND v.version = acking.version
               AND v.acknowledged_at IS NOT NULL)",
    ];
    for sql in marks {
        conn.prepare_cached(sql)
            .and_then(|mut stmt| stmt.execute([]))
            .map_err(db("reading versions for an ack"))?;
    }
    // The receipts first, while the payloads a version stored without an entry state is
    // decided from are still here.
    prepare_moves(conn)?;
    conn.prepare_cached(&format!(
        "INSERT INTO temp.receipt_moves (receipt, version, position, state, at, reason,
                                         status_reason)
         SELECT r.receipt, a.version, a.position, {}
         FROM temp.acking a JOIN receipts r
           ON r.receipt = a.receipt AND r.state_version = a.version
         JOIN submission_versions v ON v.receipt = a.receipt AND v.version = a.version
         WHERE a.effect = 'removed' AND r.state IN (?1, ?2)",
        move_columns(
            "a.outcome",
            "a.reason",
            "v.entry_state",
            "r.kind",
            "?3",
            "?4"
        )
    ))
    .and_then(|mut stmt| {
        stmt.execute(params![
            ReceiptState::Received.as_str(),
            ReceiptState::InTransit.as_str(),
            at,
            arrived_at
        ])
    })
    .map_err(db("reading the receipts an ack moves"))?;
    apply_moves(conn)?;
    // Driven from the ack's rows (rowid IN …): an UPDATE … FROM would scan every version.
    conn.prepare_cached(
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
    )
    .and_then(|mut stmt| stmt.execute([at]))
    .map_err(db("applying an ack"))?;
    // A payload kept for the provider's check stays (its removal mark stays NULL too).
    conn.prepare_cached(
        "DELETE FROM submission_payloads WHERE rowid IN (
             SELECT p.rowid FROM temp.acking a JOIN submission_payloads p
               ON p.receipt = a.receipt AND p.version = a.version
             JOIN submission_versions v ON v.receipt = a.receipt AND v.version = a.version
             WHERE a.effect = 'removed' AND a.outcome <> 'rejected'
               AND v.kept_for_provider_check = 0)",
    )
    .and_then(|mut stmt| stmt.execute([]))
    .map_err(db("removing an acknowledged payload"))?;
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
/// receipt still waiting on that version to "delivered" with a history entry, or, when the
/// ack says the version arrived (`arrived_at`, see [`apply_ack_entries_on`]) and the import
/// accepted it, to its entry state at that time.
pub fn apply_ack_entry_on(
    conn: &Connection,
    entry: &records::ReceiptAck,
    at: i64,
    arrived_at: Option<i64>,
) -> Result<AckEffect, StoreError> {
    // The stored version: content hash, ack time, whether kept for the provider's check,
    // entry state.
    type Stored = (Vec<u8>, Option<i64>, bool, Option<String>);
    let stored: Option<Stored> = conn
        .prepare_cached(
            "SELECT content_hash, acknowledged_at, kept_for_provider_check = 1, entry_state
             FROM submission_versions WHERE receipt = ?1 AND version = ?2",
        )
        .and_then(|mut stmt| {
            stmt.query_row(params![entry.receipt, entry.version], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
            })
            .optional()
        })
        .map_err(db("reading a version for an ack"))?;
    let Some((hash, acknowledged, flagged, entry_state)) = stored else {
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
    let conflict = entry.outcome == ImportOutcome::Conflict;
    // Where a receipt waiting on the version moves, when, and the reasons for its history and
    // its status row: decided before the payload (which a version stored without an entry
    // state is decided from) goes.
    let (next, moved_at, reason, status_reason) = match arrived_at {
        Some(arrived) if entry.outcome == ImportOutcome::Applied || conflict => {
            let state = match entry_state.as_deref().and_then(ReceiptState::parse) {
                Some(state) => state,
                None => arrived_state_without_entry_state(conn, entry)?,
            };
            let reason = entry.reason.as_deref().filter(|_| conflict);
            (state, arrived, reason, reason)
        }
        _ if refused => (
            ReceiptState::Review(ReviewState::Rejected),
            at,
            entry.reason.as_deref(),
            entry.reason.as_deref(),
        ),
        _ => (
            ReceiptState::Review(ReviewState::Delivered),
            at,
            entry.reason.as_deref(),
            None,
        ),
    };
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
    let moved = conn
        .prepare_cached(
            "UPDATE receipts SET state = ?3, state_version = ?2, updated_at = ?4, reason = ?7
             WHERE receipt = ?1 AND state_version = ?2 AND state IN (?5, ?6)",
        )
        .and_then(|mut stmt| {
            stmt.execute(params![
                entry.receipt,
                entry.version,
                next.as_str(),
                moved_at,
                ReceiptState::Received.as_str(),
                ReceiptState::InTransit.as_str(),
                status_reason,
            ])
        })
        .map_err(db("updating a status row"))?;
    if moved > 0 {
        add_history(
            conn,
            &entry.receipt,
            entry.version,
            next,
            moved_at,
            reason,
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

/// The state the version `entry` acknowledges enters on its arrival when it has no entry state
/// stored: "delivered" for a provider's check (read from its receipt's kind), else decided from
/// its payload ([`entry_state_of_payload`]).
fn arrived_state_without_entry_state(
    conn: &Connection,
    entry: &records::ReceiptAck,
) -> Result<ReceiptState, StoreError> {
    let (kind, payload): (Option<String>, Option<Vec<u8>>) = conn
        .prepare_cached(
            "SELECT (SELECT kind FROM receipts WHERE receipt = ?1),
                    (SELECT payload FROM submission_payloads WHERE receipt = ?1 AND version = ?2)",
        )
        .and_then(|mut stmt| {
            stmt.query_row(params![entry.receipt, entry.version], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
        })
        .map_err(db(
            "reading the payload of a version stored without an entry state",
        ))?;
    if kind.as_deref() == Some("provider_check") {
        return Ok(ReceiptState::Review(ReviewState::Delivered));
    }
    Ok(entry_state_of_payload(
        &entry.receipt,
        entry.version,
        payload.as_deref(),
    ))
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

/// Gathers into `temp.receipt_moves` the receipts a range ack moves (see [`move_columns`]):
/// those waiting (`?3`, `?4`: received, in transit) on a version of the range `?1..?2` that
/// has no ack yet, with the exceptions in `temp.range_exceptions`; `?5` is the ack's time and
/// `?6` the arrival time. Driven from the range on `submission_versions_seq`.
pub(super) fn range_moves_sql() -> String {
    format!(
        "INSERT INTO temp.receipt_moves (receipt, version, position, state, at, reason,
                                         status_reason)
         SELECT r.receipt, v.version, v.seq, {}
         FROM submission_versions v CROSS JOIN receipts r
           ON r.receipt = v.receipt AND r.state_version = v.version
         LEFT JOIN temp.range_exceptions e ON e.receipt = v.receipt AND e.version = v.version
         WHERE v.seq BETWEEN ?1 AND ?2 AND v.acknowledged_at IS NULL AND r.state IN (?3, ?4)",
        move_columns(
            "e.outcome",
            "e.reason",
            "v.entry_state",
            "r.kind",
            "?5",
            "?6"
        )
    )
}

/// Applies a range ack on `conn` (SPEC.md §6.3, [`records::RangeAck`]): finds the bundle's range
/// in the outbox index, recomputes the members digest over the versions stored for it, and only
/// if count and digest equal the ack's removes the whole range's payloads in one statement,
/// records each version's outcome (the ack's exceptions keep theirs and their reasons) and
/// moves the receipts still waiting on those versions to "delivered". A mismatch changes
/// nothing. The outbox row itself is the caller's to mark acknowledged.
///
/// `arrived_at` is the import time an arrival ack ([`records::ArrivalAck`]) carries, `None`
/// for a plain range ack. With it, a receipt waiting on a version the import accepted (a member
/// without an exception or with outcome `Applied`, or an exception of outcome `Conflict`) moves
/// instead to that version's entry state ([`filing::arrival::entry_state`], stored at intake;
/// for a version stored before migration 0017, decided from its payload, which the ack has not
/// removed yet) with its history row at `arrived_at`, the conflict's reason on a conflicting
/// one; a refused version still moves it to "rejected" and one seen before or superseded to
/// "delivered", at `at`. Payloads go (or stay) as for a plain range ack: a version entering
/// `awaiting_provider_check` keeps its payload for the provider's page.
pub fn apply_range_ack_on(
    conn: &Connection,
    ack: &records::RangeAck,
    at: i64,
    arrived_at: Option<i64>,
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
    let already: i64 = conn
        .prepare_cached(
            "SELECT count(*) FROM submission_versions
             WHERE seq BETWEEN ?1 AND ?2 AND acknowledged_at IS NOT NULL",
        )
        .and_then(|mut stmt| stmt.query_row(params![first, last], |row| row.get(0)))
        .map_err(db("reading the versions of an acknowledged range"))?;
    // Status first, while "not acknowledged yet" still picks the versions this ack moves and
    // their payloads are still here: the receipts whose current version lies in the range,
    // has no ack yet and is still waiting or in transit.
    prepare_moves(conn)?;
    conn.prepare_cached(&range_moves_sql())
        .and_then(|mut stmt| {
            stmt.execute(params![
                first,
                last,
                ReceiptState::Received.as_str(),
                ReceiptState::InTransit.as_str(),
                at,
                arrived_at
            ])
        })
        .map_err(db("reading the receipts a range ack moves"))?;
    apply_moves(conn)?;
    conn.prepare_cached(
        "UPDATE submission_versions SET acknowledged_at = ?3,
                ack_outcome = CASE WHEN ?4 THEN coalesce(
                    (SELECT e.outcome FROM temp.range_exceptions e
                     WHERE e.receipt = submission_versions.receipt
                       AND e.version = submission_versions.version),
                    'applied') ELSE 'applied' END
         WHERE seq BETWEEN ?1 AND ?2 AND acknowledged_at IS NULL",
    )
    // Most acks name no exception: then no version looks one up.
    .and_then(|mut stmt| stmt.execute(params![first, last, at, !ack.exceptions.is_empty()]))
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
            let effects = apply_ack_entries_on(conn, &ack.receipts, at, None)?;
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
