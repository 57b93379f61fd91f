//! Where each receipt stands: its states, the status row every receipt keeps for good (DESIGN.md
//! invariant 6) and its history, and the review state changes the inner side sends back.

use bundle_format::records::{ReviewState, StatusChange};
use rusqlite::{Connection, OptionalExtension, params};

use super::{Store, StoreError, db, i64_of, u32_col, u64_opt};

/// Where a receipt stands, as the outer side knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReceiptState {
    /// Accepted here, not yet exported.
    Received,
    /// Exported in a bundle that has not been acknowledged yet.
    InTransit,
    /// A review state reported by the inner side (including `Delivered`).
    Review(ReviewState),
}

impl ReceiptState {
    /// Every state, in the order a receipt usually passes through them.
    pub const ALL: [ReceiptState; 12] = [
        ReceiptState::Received,
        ReceiptState::InTransit,
        ReceiptState::Review(ReviewState::Delivered),
        ReceiptState::Review(ReviewState::AwaitingProviderCheck),
        ReceiptState::Review(ReviewState::AwaitingPreApproval),
        ReceiptState::Review(ReviewState::AwaitingRegionalReview),
        ReceiptState::Review(ReviewState::ReturnedToProvider),
        ReceiptState::Review(ReviewState::ReturnedToSubmitter),
        ReceiptState::Review(ReviewState::Approved),
        ReceiptState::Review(ReviewState::Rejected),
        ReceiptState::Review(ReviewState::Cancelled),
        ReceiptState::Review(ReviewState::Withdrawn),
    ];

    /// The state's name in the database and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ReceiptState::Received => "received",
            ReceiptState::InTransit => "in_transit",
            ReceiptState::Review(state) => match state {
                ReviewState::Delivered => "delivered",
                ReviewState::AwaitingProviderCheck => "awaiting_provider_check",
                ReviewState::AwaitingPreApproval => "awaiting_pre_approval",
                ReviewState::AwaitingRegionalReview => "awaiting_regional_review",
                ReviewState::ReturnedToProvider => "returned_to_provider",
                ReviewState::ReturnedToSubmitter => "returned_to_submitter",
                ReviewState::Approved => "approved",
                ReviewState::Rejected => "rejected",
                ReviewState::Cancelled => "cancelled",
                ReviewState::Withdrawn => "withdrawn",
            },
        }
    }

    /// Parses a name written by [`ReceiptState::as_str`].
    pub fn parse(name: &str) -> Option<ReceiptState> {
        ReceiptState::ALL
            .into_iter()
            .find(|state| state.as_str() == name)
    }

    /// Whether the receipt takes no more versions in this state.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            ReceiptState::Review(
                ReviewState::Approved
                    | ReviewState::Rejected
                    | ReviewState::Cancelled
                    | ReviewState::Withdrawn
            )
        )
    }

    /// Whether a reviewer may have looked at it already (a withdrawal is refused then).
    pub fn is_under_review(self) -> bool {
        !matches!(
            self,
            ReceiptState::Received
                | ReceiptState::InTransit
                | ReceiptState::Review(ReviewState::Delivered)
        )
    }
}

impl std::fmt::Display for ReceiptState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The status row of one receipt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiptStatus {
    /// Receipt id.
    pub receipt: String,
    /// Account that owns it.
    pub account_id: i64,
    /// Submission kind (`new_filing`, `change`, `cancellation`, `withdrawal`).
    pub kind: String,
    /// Newest version.
    pub latest_version: u32,
    /// Current state.
    pub state: ReceiptState,
    /// The version the state refers to.
    pub state_version: u32,
    /// Reviewer's reason, for returns and rejections.
    pub reason: Option<String>,
    /// Filing number once approved (or named by a change or cancellation).
    pub filing_number: Option<String>,
    /// Bundle sequence while in transit.
    pub bundle_sequence: Option<u64>,
    /// Since when in transit, Unix seconds.
    pub in_transit_since: Option<i64>,
    /// Whether a certificate for the filing number is stored.
    pub certificate_ready: bool,
    /// Whether the certificate this receipt's approval issued was revoked inside (the filing
    /// cancelled): it is no longer served.
    pub certificate_revoked: bool,
    /// Whether that certificate was revoked because the authority revoked the filing (撤销),
    /// rather than because its owner cancelled it.
    pub filing_revoked: bool,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub updated_at: i64,
}

/// One entry of a receipt's status history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryEntry {
    /// Version the entry refers to.
    pub version: u32,
    /// State entered.
    pub state: ReceiptState,
    /// Unix seconds.
    pub at: i64,
    /// Reason, if any.
    pub reason: Option<String>,
    /// Filing number, if any.
    pub filing_number: Option<String>,
    /// Bundle sequence, if any.
    pub bundle_sequence: Option<u64>,
}

pub(super) fn parse_state(name: &str) -> ReceiptState {
    // The CHECK-free column only ever holds names written by as_str; anything else reads as
    // received so a status answer is still given.
    ReceiptState::parse(name).unwrap_or(ReceiptState::Received)
}

#[expect(
    clippy::too_many_arguments,
    reason = "one column per argument reads clearer than a struct built once per call"
)]
pub(super) fn add_history(
    conn: &Connection,
    receipt: &str,
    version: u32,
    state: ReceiptState,
    at: i64,
    reason: Option<&str>,
    filing_number: Option<&str>,
    bundle_sequence: Option<u64>,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO status_history (receipt, version, state, at, reason, filing_number, bundle_sequence)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            receipt,
            version,
            state.as_str(),
            at,
            reason,
            filing_number,
            bundle_sequence.map(i64_of)
        ])
    })
    .map_err(db("writing status history"))?;
    Ok(())
}

/// Where a stored version went out, derived from the outbox ranges: the bundle's sequence,
/// when it was created, and the last sequence number it holds.
#[derive(Clone, Copy, Debug)]
pub(super) struct Exported {
    pub(super) bundle_sequence: u64,
    pub(super) at: i64,
    pub(super) last_seq: u64,
}

/// The outbox row whose range holds the version numbered `seq` (ranges never overlap).
pub(super) const EXPORTED_IN: &str = "(SELECT o2.rowid FROM transfer_outbox o2
      WHERE o2.last_seq IS NOT NULL AND o2.last_seq >= v.seq ORDER BY o2.last_seq LIMIT 1)";

/// The in-transit entries of a receipt's history, derived: export writes no history row, so a
/// version that went out while the receipt waited on it in "received" gets its "in transit"
/// entry here, where export would have written it (after its "received" entry and anything
/// recorded before the bundle was made; only if no later version had arrived by then). A
/// history that holds an "in transit" entry for the version already (written before ranges)
/// is left as it is.
pub(super) fn add_transit_entries(
    history: &mut Vec<HistoryEntry>,
    exported: &[(u32, Exported)],
    seqs: &[(u32, u64)],
) {
    for &(version, bundle) in exported {
        let written = history
            .iter()
            .any(|h| h.version == version && h.state == ReceiptState::InTransit);
        // A later version stored before the bundle was made: the receipt no longer waited on
        // this one when it went out.
        let superseded = seqs
            .iter()
            .any(|&(other, seq)| other > version && seq <= bundle.last_seq);
        if written || superseded {
            continue;
        }
        let Some(received) = history
            .iter()
            .position(|h| h.version == version && h.state == ReceiptState::Received)
        else {
            continue;
        };
        let mut at = received + 1;
        while let Some(next) = history.get(at) {
            if next.state == ReceiptState::Received
                || next.version == version
                || next.at > bundle.at
            {
                break;
            }
            at += 1;
        }
        history.insert(
            at,
            HistoryEntry {
                version,
                state: ReceiptState::InTransit,
                at: bundle.at,
                reason: None,
                filing_number: None,
                bundle_sequence: Some(bundle.bundle_sequence),
            },
        );
    }
}

/// The status row of `receipt`, if this store issued it. A receipt waiting in "received" on a
/// version that lies in an exported range without an ack shows "in transit", with that
/// bundle's sequence and time: export writes nothing per version or receipt. A bundle the inner
/// side refused for its signer holds nothing in transit until it is sent again.
pub(super) fn read_status(
    conn: &Connection,
    receipt: &str,
) -> Result<Option<ReceiptStatus>, StoreError> {
    conn.prepare_cached(
        "SELECT receipt, account_id, kind, latest_version, state, state_version, reason,
                filing_number, bundle_sequence, in_transit_since, certificate_ready,
                created_at, updated_at,
                EXISTS (SELECT 1 FROM certificates c
                        WHERE c.receipt = receipts.receipt AND c.revoked_at IS NOT NULL),
                EXISTS (SELECT 1 FROM certificates c
                        WHERE c.receipt = receipts.receipt AND c.revoked_at IS NOT NULL
                          AND c.revocation_reason = 'filing-revoked')
         FROM receipts WHERE receipt = ?1",
    )
    .and_then(|mut stmt| {
        stmt.query_row([receipt], |row| {
            Ok(ReceiptStatus {
                receipt: row.get(0)?,
                account_id: row.get(1)?,
                kind: row.get(2)?,
                latest_version: u32_col(row.get(3)?),
                state: parse_state(&row.get::<_, String>(4)?),
                state_version: u32_col(row.get(5)?),
                reason: row.get(6)?,
                filing_number: row.get(7)?,
                bundle_sequence: u64_opt(row.get(8)?),
                in_transit_since: row.get(9)?,
                certificate_ready: row.get::<_, i64>(10)? != 0,
                created_at: row.get(11)?,
                updated_at: row.get(12)?,
                certificate_revoked: row.get::<_, i64>(13)? != 0,
                filing_revoked: row.get::<_, i64>(14)? != 0,
            })
        })
        .optional()
    })
    .map_err(db("reading a status row"))
    .and_then(|status| match status {
        Some(status) if status.state == ReceiptState::Received => {
            derive_transit(conn, status).map(Some)
        }
        other => Ok(other),
    })
}

/// [`read_status`]'s derivation of "in transit" for a receipt stored as "received".
fn derive_transit(
    conn: &Connection,
    mut status: ReceiptStatus,
) -> Result<ReceiptStatus, StoreError> {
    let bundle: Option<(i64, i64)> = conn
        .prepare_cached(&format!(
            "SELECT o.sequence, o.created FROM submission_versions v
             JOIN transfer_outbox o ON o.rowid = {EXPORTED_IN} AND o.first_seq <= v.seq
             WHERE v.receipt = ?1 AND v.version = ?2 AND v.acknowledged_at IS NULL
               AND o.refused_at IS NULL"
        ))
        .and_then(|mut stmt| {
            stmt.query_row(params![status.receipt, status.state_version], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .optional()
        })
        .map_err(db("reading where a version went out"))?;
    if let Some((sequence, since)) = bundle {
        status.state = ReceiptState::InTransit;
        status.bundle_sequence = u64::try_from(sequence).ok();
        status.in_transit_since = Some(since);
    }
    Ok(status)
}

impl Store {
    /// Applies a review state change from the inner side; returns false for an event id seen
    /// before. A change about an older version is kept in the history without moving the
    /// current state back. A receipt this store never issued is an error here (see
    /// [`apply_status_change_on`] for the return channel's tolerant form).
    pub async fn apply_status_change(&self, change: StatusChange) -> Result<bool, StoreError> {
        self.write(move |conn| {
            if read_status(conn, &change.receipt)?.is_none() {
                return Err(StoreError::NoSuchReceipt(change.receipt.clone()));
            }
            apply_status_change_on(conn, &change)
        })
        .await
    }
}

/// What applying one status change did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatusApplied {
    /// Whether the change was new here (see [`apply_status_change_on`]).
    pub applied: bool,
    /// Payloads kept for the provider's check that it deleted.
    pub payloads_released: usize,
}

/// Applies a review state change on `conn`; false for an event id seen before or a receipt
/// this store never issued (another node's, on a shared return channel). A change about an
/// older version is kept in the history without moving the current state back. A change that
/// moves the receipt to any state but `awaiting_provider_check` deletes the payloads kept for
/// the provider's check of its acknowledged versions.
pub fn apply_status_change_on(
    conn: &Connection,
    change: &StatusChange,
) -> Result<bool, StoreError> {
    Ok(apply_status_change_counting_on(conn, change)?.applied)
}

/// [`apply_status_change_on`], also saying how many kept payloads the change deleted.
pub fn apply_status_change_counting_on(
    conn: &Connection,
    change: &StatusChange,
) -> Result<StatusApplied, StoreError> {
    let row: Option<(i64, Option<i64>)> = conn
        .prepare_cached("SELECT state_version, last_event_id FROM receipts WHERE receipt = ?1")
        .and_then(|mut stmt| {
            stmt.query_row([&change.receipt], |row| Ok((row.get(0)?, row.get(1)?)))
                .optional()
        })
        .map_err(db("reading a status row"))?;
    let Some((state_version, last_event)) = row else {
        return Ok(StatusApplied::default());
    };
    let event = i64_of(change.event_id);
    if last_event.is_some_and(|last| last >= event) {
        return Ok(StatusApplied::default());
    }
    let mut payloads_released = 0;
    let state = ReceiptState::Review(change.state);
    add_history(
        conn,
        &change.receipt,
        change.version,
        state,
        change.at,
        change.reason.as_deref(),
        change.filing_number.as_deref(),
        None,
    )?;
    if i64::from(change.version) >= state_version {
        conn.prepare_cached(
            "UPDATE receipts SET state = ?2, state_version = ?3, reason = ?4,
                    filing_number = COALESCE(?5, filing_number), last_event_id = ?6, updated_at = ?7
             WHERE receipt = ?1",
        )
        .and_then(|mut stmt| {
            stmt.execute(params![
                change.receipt,
                state.as_str(),
                change.version,
                change.reason,
                change.filing_number,
                event,
                change.at
            ])
        })
        .map_err(db("updating a status row"))?;
        let outcome = match change.state {
            ReviewState::Approved => Some(super::notifications::Outcome::Approved),
            ReviewState::ReturnedToSubmitter | ReviewState::ReturnedToProvider => {
                Some(super::notifications::Outcome::Returned)
            }
            ReviewState::Rejected => Some(super::notifications::Outcome::Rejected),
            _ => None,
        };
        // A payload kept for the provider's check goes once the receipt no longer awaits it.
        payloads_released = super::provider_checks::release_kept_payloads_on(
            conn,
            Some(&change.receipt),
            change.at,
        )?;
        if let Some(outcome) = outcome {
            super::notifications::queue_on(
                conn,
                &format!("status:{}:{}", change.receipt, change.event_id),
                &change.receipt,
                outcome,
                (change.filing_number.as_deref(), change.reason.as_deref()),
                change.at,
            )?;
        }
    } else {
        conn.prepare_cached("UPDATE receipts SET last_event_id = ?2 WHERE receipt = ?1")
            .and_then(|mut stmt| stmt.execute(params![change.receipt, event]))
            .map_err(db("updating a status row"))?;
    }
    Ok(StatusApplied {
        applied: true,
        payloads_released,
    })
}
