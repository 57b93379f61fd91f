//! What the import reports: each submission version's outcome as read back from the staging
//! table, and the verbatim audit copy of every version with that outcome. The names outcomes
//! are stored under are kept here ([`outcome_name`]); the SQL of the set-based checks writes the
//! same names.

use std::collections::HashSet;

use bundle_format::records::{ImportOutcome, ReceiptAck, wire_config};
use postgres::Transaction;
use postgres::types::Type;

use super::copier::Copier;
use super::{ApplyError, IncomingBundle, db, ordinal, storable};

/// Stores every submission version of the bundle verbatim for audit, with what the import did
/// with it; the versions reported as already applied are stored already.
///
/// A version's key (receipt, version, content hash) may be stored before even when it is not
/// reported as already applied (a version refused by the local checks, or superseded in a resent
/// bundle), or appear twice in one bundle; such a version is not stored again, as
/// `INSERT ... ON CONFLICT DO NOTHING` did before the rows were copied.
pub(super) fn store_versions(
    tx: &mut Transaction<'_>,
    bundle: &IncomingBundle<'_>,
    outcomes: &[ReceiptAck],
    now: i64,
) -> Result<(), ApplyError> {
    const STEP: &str = "storing submission versions for audit";
    let stored: HashSet<i32> = tx
        .query(
            "SELECT s.ord FROM stage_versions s
             JOIN submission_versions v ON v.receipt = s.receipt AND v.version = s.version
                                       AND v.content_hash = s.content_hash
             WHERE s.outcome <> 'already-applied'",
            &[],
        )
        .map_err(db(STEP))?
        .iter()
        .map(|row| row.get(0))
        .collect();
    let mut copy = Copier::new(
        tx,
        STEP,
        "submission_versions",
        "receipt, version, content_hash, bundle_id, bundle_position, submitted_at, submitter, \
         access_provider, encoded, outcome, reason, received_at",
        &[
            Type::TEXT,
            Type::INT8,
            Type::BYTEA,
            Type::BYTEA,
            Type::INT4,
            Type::INT8,
            Type::TEXT,
            Type::TEXT,
            Type::BYTEA,
            Type::TEXT,
            Type::TEXT,
            Type::INT8,
        ],
    )?;
    let bundle_id: &[u8] = &bundle.bundle_id;
    let mut keys: HashSet<(&str, u32, [u8; 32])> = HashSet::new();
    let mut encoded = Vec::new();
    for (i, (version, ack)) in bundle.submissions.iter().zip(outcomes).enumerate() {
        let ord = ordinal(i);
        let outcome = match ack.outcome {
            ImportOutcome::AlreadyApplied => continue,
            other => outcome_name(other),
        };
        if stored.contains(&ord) || !keys.insert((&ack.receipt, ack.version, ack.content_hash)) {
            continue;
        }
        encoded.clear();
        bincode::encode_into_std_write(version, &mut encoded, wire_config()).map_err(|e| {
            ApplyError::Encode {
                what: "submission version",
                message: e.to_string(),
            }
        })?;
        let hash: &[u8] = &version.content_hash;
        copy.row(&[
            &ack.receipt,
            &i64::from(version.version),
            &hash,
            &bundle_id,
            &ord,
            &version.submitted_at,
            &storable(&version.submitter),
            &version.access_provider.as_deref().map(storable),
            &encoded,
            &outcome,
            &ack.reason,
            &now,
        ])?;
    }
    copy.finish()?;
    Ok(())
}

pub(super) fn read_outcomes(tx: &mut Transaction<'_>) -> Result<Vec<ReceiptAck>, ApplyError> {
    let rows = tx
        .query(
            "SELECT receipt, version, content_hash, outcome, reason FROM stage_versions ORDER BY ord",
            &[],
        )
        .map_err(db("reading outcomes"))?;
    let mut acks = Vec::with_capacity(rows.len());
    for row in rows {
        let version: i64 = row.get(1);
        let hash: Vec<u8> = row.get(2);
        let outcome: &str = row.get(3);
        let outcome = parse_outcome(outcome).unwrap_or(ImportOutcome::Rejected);
        acks.push(ReceiptAck {
            receipt: row.get(0),
            version: u32::try_from(version).unwrap_or(u32::MAX),
            content_hash: hash.try_into().unwrap_or([0; 32]),
            outcome,
            reason: row.get(4),
        });
    }
    Ok(acks)
}

/// Every outcome, for parsing.
const OUTCOMES: [ImportOutcome; 5] = [
    ImportOutcome::Applied,
    ImportOutcome::AlreadyApplied,
    ImportOutcome::Superseded,
    ImportOutcome::Conflict,
    ImportOutcome::Rejected,
];

/// The name an outcome is stored under in `stage_versions.outcome` and
/// `submission_versions.outcome`.
pub(super) fn outcome_name(outcome: ImportOutcome) -> &'static str {
    match outcome {
        ImportOutcome::Applied => "applied",
        ImportOutcome::AlreadyApplied => "already-applied",
        ImportOutcome::Superseded => "superseded",
        ImportOutcome::Conflict => "conflict",
        ImportOutcome::Rejected => "rejected",
    }
}

/// Parses a name written by [`outcome_name`].
pub(super) fn parse_outcome(name: &str) -> Option<ImportOutcome> {
    OUTCOMES
        .into_iter()
        .find(|outcome| outcome_name(*outcome) == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_outcome_name_parses_back() {
        for outcome in OUTCOMES {
            assert_eq!(parse_outcome(outcome_name(outcome)), Some(outcome));
        }
        assert_eq!(parse_outcome("pending"), None);
    }
}
