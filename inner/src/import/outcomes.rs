//! What the import reports: each submission version's outcome as read back from the staging
//! table, and the version row of every version with that outcome. The names outcomes
//! are stored under are kept here ([`outcome_name`]); the SQL of the set-based checks writes the
//! same names.

use bundle_format::records::{ImportOutcome, ReceiptAck};
use postgres::Transaction;
use postgres::types::Type;
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use super::copier::Copier;
use super::staging::Staged;
use super::{ApplyError, IncomingBundle, db, ordinal, storable};
use crate::store::kinds::SubmissionKind as Kind;
use crate::workflow;

/// Writes the version row of every submission version of the bundle, with what the import did
/// with it; the versions reported as already applied are stored already. The version itself is
/// not copied: it is record `bundle_position` of the bundle's stored message. An accepted
/// version's row carries what review and the competitor check read without decoding it (kind,
/// province, the filing number it names, the subject's certificate number, its domains and IP
/// ranges).
///
/// A version's key (receipt, version, content hash) may be stored before even when it is not
/// reported as already applied (a version refused by the local checks, or superseded in a resent
/// bundle), or appear twice in one bundle; such a version is not stored again, as
/// `INSERT ... ON CONFLICT DO NOTHING` did before the rows were copied.
pub(super) fn store_versions(
    tx: &mut Transaction<'_>,
    staged: &Staged<'_>,
    bundle: &IncomingBundle<'_>,
    outcomes: &[ReceiptAck],
    now: i64,
) -> Result<(), ApplyError> {
    const STEP: &str = "storing submission versions";
    let stored: HashSet<i32> = tx
        .query(
            "SELECT s.ord FROM stage_versions s
             JOIN submission_versions v ON v.receipt = s.receipt AND v.version = s.version
                                       AND v.content_hash = s.content_hash
             WHERE s.known AND s.outcome <> 'already-applied'",
            &[],
        )
        .map_err(db(STEP))?
        .iter()
        .map(|row| row.get(0))
        .collect();
    // Provinces as the checks resolved them (a change's is its filing's), and the domains an
    // accepted access change keeps: those of the website record it changes.
    // With them, the state each receipt was in before its version arrived.
    let mut provinces: Vec<Option<i16>> = vec![None; bundle.submissions.len()];
    let mut prev_states: Vec<Option<String>> = vec![None; bundle.submissions.len()];
    let mut kept_domains: HashMap<i32, Vec<String>> = HashMap::default();
    for row in tx
        .query(
            "SELECT s.ord, s.province,
                    CASE WHEN s.kind = 'change-access' AND s.outcome IN ('applied', 'conflict')
                         THEN ARRAY(SELECT d.domain FROM website_domains d
                                    WHERE d.record_id = s.source_record_id ORDER BY d.domain)
                    END,
                    s.prev_state
             FROM stage_versions s",
            &[],
        )
        .map_err(db(STEP))?
    {
        let ord: i32 = row.get(0);
        if let Some(i) = usize::try_from(ord).ok().filter(|i| *i < provinces.len()) {
            provinces[i] = row.get(1);
            prev_states[i] = row.get(3);
        }
        if let Some(domains) = row.get::<_, Option<Vec<String>>>(2) {
            kept_domains.insert(ord, domains);
        }
    }
    let mut copy = Copier::new(
        tx,
        STEP,
        "submission_versions",
        "receipt, version, content_hash, bundle_id, bundle_position, submitted_at, submitter, \
         access_provider, outcome, reason, received_at, channel, kind, province, filing_ref, \
         subject_key, domains, ip_ranges, prev_state, entry_state",
        &[
            Type::TEXT,
            Type::INT8,
            Type::BYTEA,
            Type::BYTEA,
            Type::INT4,
            Type::INT8,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::INT8,
            Type::INT8,
            Type::TEXT,
            Type::INT2,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT_ARRAY,
            Type::TEXT_ARRAY,
            Type::TEXT,
            Type::TEXT,
        ],
    )?;
    let bundle_id: &[u8] = &bundle.bundle_id;
    let channel = i64::from(bundle.channel);
    let mut keys: HashSet<(&str, u32, [u8; 32])> = HashSet::default();
    for (i, ((version, ack), local)) in staged
        .versions()
        .zip(outcomes)
        .zip(&staged.locals)
        .enumerate()
    {
        let version = version?;
        let ord = ordinal(i);
        let outcome = match ack.outcome {
            ImportOutcome::AlreadyApplied => continue,
            other => outcome_name(other),
        };
        if stored.contains(&ord) || !keys.insert((&ack.receipt, ack.version, ack.content_hash)) {
            continue;
        }
        let accepted = matches!(
            ack.outcome,
            ImportOutcome::Applied | ImportOutcome::Conflict
        );
        // An accepted version arrived now: the state it entered review in and the one its
        // receipt left (a provider's check is an instruction about another receipt, with no
        // arrival of its own).
        let (prev_state, entry_state) = if accepted && !matches!(local.kind, Kind::ProviderCheck) {
            (
                prev_states.get(i).cloned().flatten(),
                Some(workflow::state_name(local.entry_state)),
            )
        } else {
            (None, None)
        };
        // Only an accepted version's text is known to be storable (no NUL).
        let (subject_key, domains, ip_ranges) = if accepted {
            let mut domains: Vec<&str> = match kept_domains.get(&ord) {
                Some(kept) => kept.iter().map(String::as_str).collect(),
                None => version.domains.iter().map(String::as_str).collect(),
            };
            domains.sort_unstable();
            let mut ip_ranges: Vec<&str> = version.ip_ranges.iter().map(String::as_str).collect();
            ip_ranges.sort_unstable();
            (
                version.subject_key.as_deref(),
                Some(domains),
                Some(ip_ranges),
            )
        } else {
            (None, None, None)
        };
        let hash: &[u8] = &version.content_hash;
        let province = provinces.get(i).copied().flatten();
        copy.row(&[
            &ack.receipt,
            &i64::from(version.version),
            &hash,
            &bundle_id,
            &ord,
            &version.submitted_at,
            &storable(&version.submitter),
            &version.access_provider.as_deref().map(storable),
            &outcome,
            &ack.reason,
            &now,
            &channel,
            &local.kind.name(),
            &province,
            &local.filing_ref.as_deref().map(storable),
            &subject_key,
            &domains,
            &ip_ranges,
            &prev_state,
            &entry_state,
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
