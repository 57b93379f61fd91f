//! Writing the receipts of the accepted submissions.

use postgres::Transaction;
use postgres::types::Type;

use super::Decided;
use crate::import::copier::Copier;
use crate::import::{ApplyError, db};
use crate::workflow;

/// Writes the receipts: new ones with COPY, those stored already with an upsert.
pub(super) fn write_receipts(
    tx: &mut Transaction<'_>,
    decided: &Decided<'_, '_>,
    now: i64,
) -> Result<(), ApplyError> {
    let mut copy = Copier::new(
        tx,
        "writing receipts",
        "receipts",
        "receipt, version, content_hash, kind, filing_id, target_website_seq, \
         target_receipt, province, state, state_since, needs_pre_approval, conflict, \
         submitter_reason, submitted_at, submitter, access_provider, received_at",
        &[
            Type::TEXT,
            Type::INT8,
            Type::BYTEA,
            Type::TEXT,
            Type::INT8,
            Type::INT4,
            Type::TEXT,
            Type::INT2,
            Type::TEXT,
            Type::INT8,
            Type::BOOL,
            Type::TEXT,
            Type::TEXT,
            Type::INT8,
            Type::TEXT,
            Type::TEXT,
            Type::INT8,
        ],
    )?;
    // A receipt with a previous state is stored already: that one is updated below.
    for accepted in decided.submissions() {
        let (version, local, accepted) = accepted?;
        if accepted.prev_state.is_some() {
            continue;
        }
        let hash: &[u8] = &version.content_hash;
        copy.row(&[
            &version.receipt,
            &i64::from(version.version),
            &hash,
            &local.kind.name(),
            &accepted.filing_id,
            &local.target_seq,
            &local.target_receipt,
            &accepted.province,
            &workflow::state_name(local.entry_state),
            &now,
            &local.needs_pre_approval,
            &accepted.conflict,
            &local.submitter_reason,
            &version.submitted_at,
            &version.submitter,
            &version.access_provider,
            &now,
        ])?;
    }
    copy.finish()?;
    tx.execute(
        "INSERT INTO receipts (receipt, version, content_hash, kind, filing_id,
             target_website_seq, target_receipt, province, state, state_since,
             needs_pre_approval, conflict, submitter_reason, submitted_at, submitter,
             access_provider, received_at)
         SELECT receipt, version, content_hash, kind, filing_id, target_seq, target_receipt,
                province, entry_state, $1, needs_pre_approval,
                CASE WHEN outcome = 'conflict' THEN reason END, submitter_reason,
                submitted_at, submitter, access_provider, $1
         FROM stage_versions
         WHERE outcome IN ('applied', 'conflict') AND prev_state IS NOT NULL
           AND kind <> 'provider-check'
         ON CONFLICT (receipt) DO UPDATE SET
             version = EXCLUDED.version, content_hash = EXCLUDED.content_hash,
             kind = EXCLUDED.kind, filing_id = EXCLUDED.filing_id,
             target_website_seq = EXCLUDED.target_website_seq,
             target_receipt = EXCLUDED.target_receipt, province = EXCLUDED.province,
             state = EXCLUDED.state, state_since = EXCLUDED.state_since,
             needs_pre_approval = EXCLUDED.needs_pre_approval,
             conflict = EXCLUDED.conflict, submitter_reason = EXCLUDED.submitter_reason,
             submitted_at = EXCLUDED.submitted_at, submitter = EXCLUDED.submitter,
             access_provider = EXCLUDED.access_provider, received_at = EXCLUDED.received_at",
        &[&now],
    )
    .map_err(db("updating receipts"))?;
    Ok(())
}
