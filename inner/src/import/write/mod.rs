//! Writing what the accepted submissions (outcome `applied` or `conflict`) change in review:
//! their receipts. Their arrival is no review event: the version row records the state each
//! entered (`outcomes::store_versions`) and the bundle's `ArrivalAck` tells the outer side when.
//! The submission itself stays in its
//! bundle's stored message and its version row (`store_versions`); the filing's normalised rows
//! are written by approval.
//!
//! The rows come from the bundle itself, with binary COPY straight into their tables: once the
//! checks have decided, the outcomes, filing ids and previous states are read back (one row per
//! accepted submission) and everything else is already in memory. Only the receipts that exist
//! already go through SQL (an upsert, which COPY cannot do).

mod receipts;

use std::borrow::Cow;

use bundle_format::records::ImportOutcome;
use postgres::Transaction;

use super::checks::Local;
use super::outcomes::parse_outcome;
use super::staging::{Staged, StagedVersion};
use super::{ApplyError, db};

/// What the checks decided for one accepted submission (outcome `applied` or `conflict`), as
/// [`write_records`] reads it back from `stage_versions`. A provider check is not among them:
/// it is an instruction about another receipt, applied by `provider_check`, with no receipt
/// or arrival of its own.
struct Accepted {
    /// The conflict's reason code; `None` when the submission simply applies.
    conflict: Option<String>,
    filing_id: Option<i64>,
    province: Option<i16>,
    prev_state: Option<String>,
}

/// The staged bundle together with what the checks decided for each accepted submission.
struct Decided<'s, 'a> {
    staged: &'s Staged<'a>,
    /// One slot per bundle position; `None` for a submission that was not accepted.
    accepted: Vec<Option<Accepted>>,
}

impl<'a> Decided<'_, 'a> {
    /// Accepted submissions in bundle order.
    fn submissions(
        &self,
    ) -> impl Iterator<Item = Result<(Cow<'_, StagedVersion>, &Local, &Accepted), ApplyError>> + '_
    {
        self.staged
            .versions()
            .zip(self.staged.locals.iter().zip(&self.accepted))
            .filter_map(|(version, (local, accepted))| match (version, accepted) {
                (Err(error), _) => Some(Err(error)),
                (Ok(version), Some(accepted)) => Some(Ok((version, local, accepted))),
                (Ok(_), None) => None,
            })
    }
}

/// Writes the receipts of every accepted submission.
pub(super) fn write_records(
    tx: &mut Transaction<'_>,
    staged: &Staged<'_>,
    now: i64,
) -> Result<(), ApplyError> {
    let decided = Decided {
        staged,
        accepted: read_accepted(tx, staged.submissions.len())?,
    };
    receipts::write_receipts(tx, &decided, now)
}

/// Reads back what the checks decided for the accepted submissions, by bundle position.
fn read_accepted(
    tx: &mut Transaction<'_>,
    submissions: usize,
) -> Result<Vec<Option<Accepted>>, ApplyError> {
    let mut accepted: Vec<Option<Accepted>> = Vec::new();
    accepted.resize_with(submissions, || None);
    for row in tx
        .query(
            "SELECT ord, outcome, reason, filing_id, province, prev_state
             FROM stage_versions WHERE outcome IN ('applied', 'conflict')
               AND kind <> 'provider-check'",
            &[],
        )
        .map_err(db("reading accepted submissions"))?
    {
        let ord: i32 = row.get(0);
        let outcome: &str = row.get(1);
        let slot = usize::try_from(ord)
            .ok()
            .and_then(|i| accepted.get_mut(i))
            .ok_or(ApplyError::Encode {
                what: "accepted submissions",
                message: format!("staged position {ord} is not in the bundle"),
            })?;
        *slot = Some(Accepted {
            conflict: if parse_outcome(outcome) == Some(ImportOutcome::Conflict) {
                row.get(2)
            } else {
                None
            },
            filing_id: row.get(3),
            province: row.get(4),
            prev_state: row.get(5),
        });
    }
    Ok(accepted)
}
