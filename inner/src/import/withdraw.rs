//! Withdrawals: a submitter takes back a submission not yet decided. The classification has
//! checked the receipt; this stage records the transition.

use postgres::Transaction;

use super::{ApplyError, db};
use crate::store::events::record_transition;
use crate::workflow::{self, Facts};

/// Applies accepted withdrawals to the receipts they name. Returns the review events written,
/// for the return channel.
pub(super) fn withdraw(tx: &mut Transaction<'_>, now: i64) -> Result<Vec<i64>, ApplyError> {
    let rows = tx
        .query(
            "SELECT s.target_receipt, s.target_state, s.submitter_reason, s.receipt
             FROM stage_versions s
             WHERE s.outcome = 'applied' AND s.kind = 'withdrawal' ORDER BY s.ord",
            &[],
        )
        .map_err(db("reading withdrawals"))?;
    let mut events = Vec::new();
    for row in rows {
        let target: String = row.get(0);
        let why: Option<String> = row.get(2);
        let withdrawal_receipt: String = row.get(3);
        // Re-read under the import lock: an earlier withdrawal in this bundle may have closed it.
        let current: Option<String> = tx
            .query_opt(
                "SELECT state FROM receipts WHERE receipt = $1 FOR UPDATE",
                &[&target],
            )
            .map_err(db("reading a withdrawn receipt"))?
            .map(|r| r.get(0));
        let Some(current) = current.as_deref().and_then(workflow::parse_state) else {
            continue;
        };
        let facts = Facts {
            needs_provider_check: false,
            needs_pre_approval: false,
            is_cancellation: false,
        };
        let Ok(next) = workflow::transition(Some(current), workflow::Action::Withdraw, facts)
        else {
            continue;
        };
        let event = record_transition(
            tx,
            &target,
            current,
            next,
            &withdrawal_receipt,
            None,
            why.as_deref(),
            None,
            now,
        )?;
        // A pending filing exists only for a receipt imported before migration 5; its
        // normalised rows are made by approval, so a withdrawal has none to discard.
        tx.execute(
            "UPDATE filings SET status = 'withdrawn' WHERE origin_receipt = $1 AND status = 'pending'",
            &[&target],
        )
        .map_err(db("withdrawing a pending filing"))?;
        events.push(event);
    }
    Ok(events)
}
