//! Review events: the one place a receipt's review state is written. The import (arrivals in
//! bulk, withdrawals) and the reviewers' decisions both record their transitions here, so the
//! receipt's state and its event history cannot drift apart.

use bundle_format::records::ReviewState;
use postgres::Transaction;

use super::{StoreError, db};
use crate::workflow;

/// Records a state change decided by [`workflow::transition`]: updates the receipt (only if it
/// is still in `from`) and writes the review event, naming the reviewer account that decided it
/// (`None` for events nobody decided: arrivals, withdrawals). Returns the event id.
#[allow(clippy::too_many_arguments)] // each is a column of the review event
pub(crate) fn record_transition(
    tx: &mut Transaction<'_>,
    receipt: &str,
    from: ReviewState,
    to: ReviewState,
    reviewer: &str,
    reviewer_account: Option<i64>,
    reason: Option<&str>,
    filing_number: Option<&str>,
    now: i64,
) -> Result<i64, StoreError> {
    let from_name = workflow::state_name(from);
    let to_name = workflow::state_name(to);
    let changed = tx
        .execute(
            "UPDATE receipts SET state = $3, state_since = $4 WHERE receipt = $1 AND state = $2",
            &[&receipt, &from_name, &to_name, &now],
        )
        .map_err(db("changing the review state"))?;
    if changed != 1 {
        return Err(StoreError::StateMoved {
            receipt: receipt.to_owned(),
            from: from_name,
        });
    }
    let row = tx
        .query_one(
            "INSERT INTO review_events (receipt, version, from_state, to_state, reviewer, reason,
                                        at, filing_number, reviewer_account)
             SELECT receipt, version, $2, $3, $4, $5, $6, $7, $8 FROM receipts WHERE receipt = $1
             RETURNING event_id",
            &[
                &receipt,
                &from_name,
                &to_name,
                &reviewer,
                &reason,
                &now,
                &filing_number,
                &reviewer_account,
            ],
        )
        .map_err(db("recording the review event"))?;
    Ok(row.get(0))
}
