//! The set-based checks: a fixed number of statements over the staged versions and the store
//! decide every submission's outcome at once (replays, version order, closed receipts, unknown
//! filing and website numbers, withdrawals, domains and subjects filed elsewhere).

use postgres::Transaction;
use postgres::types::ToSql;

use super::staging::Staged;
use super::{ApplyError, db};
use crate::workflow;

const DOMAIN_STEP: &str = "checking for domains filed elsewhere";

/// A submission filing a domain another filing holds is a conflict; its parameters are a batch
/// of staged domains (`Staged::domains_in_batches`), and each batch decides only submissions
/// still undecided, so the batches together decide what one statement over all would.
const DOMAIN_CONFLICT: &str = "
UPDATE stage_versions s SET outcome = 'conflict', reason = 'domain-conflict'
WHERE s.outcome IS NULL AND s.ord IN (
    SELECT d.ord FROM unnest($1::integer[], $2::text[]) AS d (ord, domain)
    JOIN website_domains w ON w.domain = d.domain AND w.active
    JOIN stage_versions t ON t.ord = d.ord
    WHERE w.record_id IS DISTINCT FROM t.source_record_id)";

/// [`DOMAIN_CONFLICT`] with each domain looked up through the partial unique index
/// `website_domains_one_active`, which the planner cannot turn into a hash join over the whole
/// table. Into a store that holds many times a batch's domains the hash join scans (and spills)
/// every row of `website_domains` once per batch: at 1,000,000 approved filings the check took
/// 21.3 s of a 200,000-filing import this way and 6.6 s by lookups; into a small store the
/// lookups cost more than the join (about 15% of that import into an empty store;
/// inner/BENCHMARKS.md, "scale").
const DOMAIN_CONFLICT_BY_LOOKUPS: &str = "
UPDATE stage_versions s SET outcome = 'conflict', reason = 'domain-conflict'
WHERE s.outcome IS NULL AND s.ord IN (
    SELECT d.ord FROM unnest($1::integer[], $2::text[]) AS d (ord, domain)
    JOIN stage_versions t ON t.ord = d.ord
    JOIN LATERAL (SELECT 1 FROM website_domains w
                  WHERE w.domain = d.domain AND w.active
                    AND w.record_id IS DISTINCT FROM t.source_record_id
                  LIMIT 1) held ON true)";

/// How many times a batch's rows the store's table must hold (by the planner's own count,
/// `pg_class.reltuples`) before a check looks each staged row up instead of joining.
const LOOKUPS_PAST: f64 = 4.0;

/// Whether a check of `batch_rows` staged rows against a table of about `store_rows` (the
/// planner's estimate; negative when the table was never analysed) looks each row up through
/// an index: a hash join reads the whole table once per statement, which is cheapest for a
/// table of a few times the batch or less; past that, one index probe per staged row is.
fn by_lookups(store_rows: f64, batch_rows: usize) -> bool {
    #[allow(clippy::cast_precision_loss)] // at most a bundle's rows, far below 2^52
    let batch = batch_rows.max(1) as f64;
    store_rows > LOOKUPS_PAST * batch
}

/// The domain-conflict statement for a store holding about `store_domains` domain rows and a
/// batch of `batch_domains` ([`by_lookups`]).
fn domain_check(store_domains: f64, batch_domains: usize) -> &'static str {
    if by_lookups(store_domains, batch_domains) {
        DOMAIN_CONFLICT_BY_LOOKUPS
    } else {
        DOMAIN_CONFLICT
    }
}

/// Marks the staged versions whose receipt has a version stored here already, by one lookup
/// per staged version (a subquery the planner cannot turn into a join over the whole table).
/// Only those can be a replay, an old version, another channel's receipt or a receipt in
/// review: a receipt's row is written with its first accepted version's row, and version rows
/// are never deleted. Most versions of a bundle are of new receipts, so the checks that read a
/// receipt's stored versions or state look at these alone, and are skipped when there are none.
const KNOWN_RECEIPTS: &str = "
UPDATE stage_versions s SET known = true
WHERE (SELECT true FROM submission_versions v WHERE v.receipt = s.receipt LIMIT 1)";

const STORED_STEP: &str = "checking for versions stored before";
const CHANNEL_STEP: &str = "checking the channel of each receipt";
const STATES_STEP: &str = "reading receipt states";
/// The steps that read only the staged versions of [`KNOWN_RECEIPTS`].
const KNOWN_ONLY: [&str; 4] = [CHANNEL_STEP, STORED_STEP, ORDER_STEP, STATES_STEP];
const ORDER_STEP: &str = "checking version order";
const SUBJECT_STEP: &str = "checking for subjects filed before";

/// Only the owner's versions count from here on (what is left came on the channel that owns
/// its receipt, or names a receipt no channel owns yet): a version another channel sent
/// neither conflicts with nor supersedes the owner's.
const VERSIONS_STORED: &str = "
UPDATE stage_versions s
SET outcome = CASE WHEN v.content_hash = s.content_hash THEN 'already-applied' ELSE 'rejected' END,
    reason = CASE WHEN v.content_hash = s.content_hash THEN 'already-applied' ELSE 'version-hash-conflict' END
FROM submission_versions v
WHERE s.known AND s.outcome IS NULL AND v.receipt = s.receipt AND v.version = s.version
  AND v.channel = $1";

/// [`VERSIONS_STORED`] with each staged version looked up through the primary key of
/// `submission_versions` (receipt, version, content hash), the stored version of the same
/// content first. At 1,000,000 approved filings the join scanned the whole table (77,400
/// blocks) for 2.6 s of a 200,000-filing import (inner/BENCHMARKS.md, "scale").
const VERSIONS_STORED_BY_LOOKUPS: &str = "
UPDATE stage_versions s
SET outcome = CASE WHEN held.same THEN 'already-applied' ELSE 'rejected' END,
    reason = CASE WHEN held.same THEN 'already-applied' ELSE 'version-hash-conflict' END
FROM stage_versions t
CROSS JOIN LATERAL (SELECT v.content_hash = t.content_hash AS same
                    FROM submission_versions v
                    WHERE v.receipt = t.receipt AND v.version = t.version AND v.channel = $1
                    ORDER BY v.content_hash = t.content_hash DESC
                    LIMIT 1) held
WHERE s.ord = t.ord AND t.known AND s.outcome IS NULL AND t.outcome IS NULL";

const NEWER_VERSION: &str = "
UPDATE stage_versions s SET outcome = 'superseded', reason = 'newer-version-stored'
WHERE s.known AND s.outcome IS NULL AND EXISTS (
    SELECT 1 FROM submission_versions v
    WHERE v.receipt = s.receipt AND v.version > s.version AND v.channel = $1)";

/// [`NEWER_VERSION`] with each receipt's later versions looked up through the primary key
/// (1.0 s of whole-table scan at 1,000,000 approved filings).
const NEWER_VERSION_BY_LOOKUPS: &str = "
UPDATE stage_versions s SET outcome = 'superseded', reason = 'newer-version-stored'
FROM stage_versions t
CROSS JOIN LATERAL (SELECT 1 FROM submission_versions v
                    WHERE v.receipt = t.receipt AND v.version > t.version AND v.channel = $1
                    LIMIT 1) newer
WHERE s.ord = t.ord AND t.known AND s.outcome IS NULL AND t.outcome IS NULL";

const SUBJECT_FILED: &str = "
UPDATE stage_versions s SET outcome = 'conflict', reason = 'subject-already-filed'
WHERE s.outcome IS NULL AND s.kind = 'new-filing'
  AND EXISTS (SELECT 1 FROM subject_records r
              WHERE r.status = 'active'
                AND r.certificate_number = s.certificate_number)";

/// [`SUBJECT_FILED`] with each certificate number looked up through the partial index
/// `subject_records_active_certificate` (1.0 s of whole-table scan at 1,000,000 approved
/// filings).
const SUBJECT_FILED_BY_LOOKUPS: &str = "
UPDATE stage_versions s SET outcome = 'conflict', reason = 'subject-already-filed'
FROM stage_versions t
CROSS JOIN LATERAL (SELECT 1 FROM subject_records r
                    WHERE r.status = 'active' AND r.certificate_number = t.certificate_number
                    LIMIT 1) held
WHERE s.ord = t.ord AND s.outcome IS NULL AND t.outcome IS NULL AND t.kind = 'new-filing'";

const RECEIPT_STATES: &str = "
UPDATE stage_versions s SET prev_state = r.state
FROM receipts r WHERE s.known AND s.outcome IS NULL AND r.receipt = s.receipt";

/// [`RECEIPT_STATES`] with each receipt looked up through its primary key (2.8 s of hash join
/// over the whole table at 5,000,000 approved filings, inner/BENCHMARKS.md, "scale").
const RECEIPT_STATES_BY_LOOKUPS: &str = "
UPDATE stage_versions s SET prev_state = held.state
FROM stage_versions t
CROSS JOIN LATERAL (SELECT r.state FROM receipts r WHERE r.receipt = t.receipt LIMIT 1) held
WHERE s.ord = t.ord AND t.known AND s.outcome IS NULL AND t.outcome IS NULL";

/// An accepted new filing whose earlier version was imported before migration 5 keeps the
/// pending filing that import made for it. Filings are otherwise made by approval.
const PENDING_FILINGS: &str = "
UPDATE stage_versions s SET filing_id = f.filing_id
FROM filings f
WHERE s.known AND (s.outcome IS NULL OR s.outcome = 'conflict') AND s.kind = 'new-filing'
  AND f.origin_receipt = s.receipt";

/// [`PENDING_FILINGS`] with each receipt looked up through the unique index on
/// `filings.origin_receipt` (2.3 s of hash join over the whole table at 5,000,000 approved
/// filings).
const PENDING_FILINGS_BY_LOOKUPS: &str = "
UPDATE stage_versions s SET filing_id = held.filing_id
FROM stage_versions t
CROSS JOIN LATERAL (SELECT f.filing_id FROM filings f
                    WHERE f.origin_receipt = t.receipt LIMIT 1) held
WHERE s.ord = t.ord AND t.known AND (t.outcome IS NULL OR t.outcome = 'conflict')
  AND t.kind = 'new-filing'";

/// The planner's count of the rows of `table`.
fn rows_of(tx: &mut Transaction<'_>, table: &str) -> Result<f64, ApplyError> {
    let rows: f32 = tx
        .query_one(
            "SELECT reltuples FROM pg_class WHERE oid = $1::text::regclass",
            &[&table],
        )
        .map_err(db("reading the size of a store table"))?
        .get(0);
    Ok(f64::from(rows))
}

/// Decides every staged submission's outcome with set-based checks against the store, in order
/// of precedence: each statement only looks at submissions not decided before it.
pub(super) fn classify(
    tx: &mut Transaction<'_>,
    staged: &Staged<'_>,
    channel: i64,
) -> Result<(), ApplyError> {
    let open_states: Vec<&str> = workflow::STATES
        .iter()
        .filter(|(state, _)| workflow::is_open(*state))
        .map(|(_, name)| *name)
        .collect();
    let none: &[&(dyn ToSql + Sync)] = &[];
    let open: &[&(dyn ToSql + Sync)] = &[&open_states];
    let this_channel: &[&(dyn ToSql + Sync)] = &[&channel];
    let import_actor: &[&(dyn ToSql + Sync)] = &[&super::IMPORT_ACTOR];
    // The checks against the store's largest tables look each staged row up once the table
    // holds many times the bundle's rows.
    let staged_rows = staged.locals.len();
    let known = tx
        .execute(KNOWN_RECEIPTS, &[])
        .map_err(db("finding receipts stored before"))?;
    let known_rows = usize::try_from(known).unwrap_or(usize::MAX);
    let versions = by_lookups(rows_of(tx, "submission_versions")?, known_rows);
    let (versions_stored, newer_version) = if versions {
        (VERSIONS_STORED_BY_LOOKUPS, NEWER_VERSION_BY_LOOKUPS)
    } else {
        (VERSIONS_STORED, NEWER_VERSION)
    };
    let subject_filed = if by_lookups(rows_of(tx, "subject_records")?, staged_rows) {
        SUBJECT_FILED_BY_LOOKUPS
    } else {
        SUBJECT_FILED
    };
    let receipt_states = if by_lookups(rows_of(tx, "receipts")?, known_rows) {
        RECEIPT_STATES_BY_LOOKUPS
    } else {
        RECEIPT_STATES
    };
    let steps: [(&str, &str, &[&(dyn ToSql + Sync)]); 16] = [
        (
            // A receipt belongs to the channel whose version of it was stored first (DESIGN.md
            // invariant 8); versions refused for coming on another channel never count. This
            // decides before the bundle's own verdicts of version order and repeats: another
            // channel's version is refused as such whatever else is true of it.
            CHANNEL_STEP,
            "UPDATE stage_versions s SET outcome = 'rejected', reason = 'receipt-of-another-channel'
             WHERE s.known AND (s.outcome IS NULL OR s.outcome <> 'rejected') AND (
                 SELECT v.channel FROM submission_versions v
                 WHERE v.receipt = s.receipt
                   AND v.reason IS DISTINCT FROM 'receipt-of-another-channel'
                 ORDER BY v.received_at, v.version LIMIT 1) <> $1",
            this_channel,
        ),
        (STORED_STEP, versions_stored, this_channel),
        (ORDER_STEP, newer_version, this_channel),
        (STATES_STEP, receipt_states, none),
        (
            "checking for closed receipts",
            "UPDATE stage_versions s SET outcome = 'rejected', reason = 'receipt-closed'
             WHERE s.outcome IS NULL AND s.prev_state IS NOT NULL
               AND NOT (s.prev_state = ANY($1))",
            open,
        ),
        (
            "resolving filing numbers",
            "UPDATE stage_versions s SET filing_id = f.filing_id, province = f.province
             FROM filings f
             WHERE s.outcome IS NULL AND s.filing_ref IS NOT NULL
               AND f.filing_number = s.filing_ref AND f.status = 'active'",
            none,
        ),
        (
            "checking filing numbers",
            "UPDATE stage_versions s SET outcome = 'rejected', reason = 'unknown-filing-number'
             WHERE s.outcome IS NULL AND s.filing_ref IS NOT NULL AND s.filing_id IS NULL",
            none,
        ),
        (
            // A filing belongs to whoever filed it (DESIGN.md invariant 8), as the register
            // knows its origin receipt: on the origin's channel, the access provider that
            // submitted it, or, for a filing its owner submitted directly, that same account
            // submitting directly. A name typed in for a customer (`on_behalf_of`) is no link.
            "checking who owns the filing a change or cancellation names",
            "UPDATE stage_versions s SET outcome = 'rejected', reason = 'filing-of-another-owner'
             WHERE s.outcome IS NULL AND s.filing_id IS NOT NULL AND s.kind <> 'new-filing'
               AND NOT EXISTS (
                 SELECT 1 FROM filings f JOIN receipts r ON r.receipt = f.origin_receipt
                 WHERE f.filing_id = s.filing_id
                   AND (SELECT v.channel FROM submission_versions v
                        WHERE v.receipt = r.receipt
                          AND v.reason IS DISTINCT FROM 'receipt-of-another-channel'
                        ORDER BY v.received_at, v.version LIMIT 1) = $1
                   AND CASE WHEN s.access_provider IS NOT NULL
                            THEN r.access_provider = s.access_provider
                            ELSE r.access_provider IS NULL AND r.submitter = s.submitter END)",
            this_channel,
        ),
        (
            "resolving website numbers",
            "UPDATE stage_versions s SET source_record_id = w.record_id
             FROM website_records w
             WHERE s.outcome IS NULL AND s.target_seq IS NOT NULL
               AND w.filing_id = s.filing_id AND w.website_seq = s.target_seq
               AND w.status = 'active'",
            none,
        ),
        (
            "checking website numbers",
            "UPDATE stage_versions s SET outcome = 'rejected', reason = 'unknown-website-number'
             WHERE s.outcome IS NULL AND s.target_seq IS NOT NULL AND s.source_record_id IS NULL",
            none,
        ),
        (
            "resolving withdrawn receipts",
            // The receipt withdrawn may be stored, or arrive earlier in this same bundle.
            "UPDATE stage_versions s SET
                 target_state = coalesce(
                     (SELECT r.state FROM receipts r WHERE r.receipt = s.target_receipt),
                     (SELECT t.entry_state FROM stage_versions t
                      WHERE t.receipt = s.target_receipt AND t.ord < s.ord AND t.outcome IS NULL
                        AND t.province IS NOT NULL LIMIT 1)),
                 province = coalesce(
                     (SELECT r.province FROM receipts r WHERE r.receipt = s.target_receipt),
                     (SELECT t.province FROM stage_versions t
                      WHERE t.receipt = s.target_receipt AND t.ord < s.ord AND t.outcome IS NULL
                        AND t.province IS NOT NULL LIMIT 1))
             WHERE s.outcome IS NULL AND s.kind = 'withdrawal'",
            none,
        ),
        (
            // Only the channel that created a receipt may withdraw it.
            "checking the channel of withdrawn receipts",
            "UPDATE stage_versions s SET outcome = 'rejected', reason = 'receipt-of-another-channel'
             WHERE s.outcome IS NULL AND s.kind = 'withdrawal' AND (
                 SELECT v.channel FROM submission_versions v
                 WHERE v.receipt = s.target_receipt
                   AND v.reason IS DISTINCT FROM 'receipt-of-another-channel'
                 ORDER BY v.received_at, v.version LIMIT 1) <> $1",
            this_channel,
        ),
        (
            "checking withdrawn receipts",
            "UPDATE stage_versions s
             SET outcome = 'rejected',
                 reason = CASE WHEN s.target_state IS NULL THEN 'unknown-receipt'
                               ELSE 'receipt-already-decided' END
             WHERE s.outcome IS NULL AND s.kind = 'withdrawal'
               AND (s.target_state IS NULL OR NOT (s.target_state = ANY($1)))",
            open,
        ),
        (
            // The outer side's rule (a receipt under review is cancelled, not withdrawn),
            // as the inner side knows it: a stored receipt awaiting the authority's regional
            // review, returned, or moved on by a reviewer since its version arrived. A receipt
            // arriving earlier in the same bundle has not been in front of anyone. An
            // owner's application for cancellation is the exception: it may be withdrawn
            // while it is pending, whoever looked at it, since withdrawing it leaves the
            // filing as it was.
            "checking withdrawn receipts under review",
            "UPDATE stage_versions s SET outcome = 'rejected', reason = 'receipt-under-review'
             WHERE s.outcome IS NULL AND s.kind = 'withdrawal' AND EXISTS (
                 SELECT 1 FROM receipts r
                 WHERE r.receipt = s.target_receipt
                   AND r.kind NOT IN ('cancel-subject', 'cancel-website', 'cancel-access')
                   AND (r.state IN ('awaiting-regional-review', 'returned-to-provider',
                                    'returned-to-submitter')
                        OR EXISTS (SELECT 1 FROM review_events e
                                   WHERE e.receipt = r.receipt AND e.version = r.version
                                     AND e.reviewer <> $1)))",
            import_actor,
        ),
        // Run once per batch of the staged domains, below.
        (DOMAIN_STEP, DOMAIN_CONFLICT, none),
        (SUBJECT_STEP, subject_filed, none),
    ];
    for (step, sql, params) in steps {
        if known == 0 && KNOWN_ONLY.contains(&step) {
            continue;
        }
        if step == DOMAIN_STEP {
            let store_domains = rows_of(tx, "website_domains")?;
            staged.domains_in_batches(&mut |ords, names| {
                let sql = domain_check(store_domains, names.len());
                tx.execute(sql, &[&ords, &names])
                    .map(|_| ())
                    .map_err(db(step))
            })?;
        } else {
            tx.execute(sql, params).map_err(db(step))?;
        }
    }
    // A receipt with a pending filing has a version stored (the one that made it).
    if known > 0 {
        let pending_filings = if by_lookups(rows_of(tx, "filings")?, known_rows) {
            PENDING_FILINGS_BY_LOOKUPS
        } else {
            PENDING_FILINGS
        };
        tx.execute(pending_filings, &[])
            .map_err(db("finding pending filings"))?;
    }
    // What is still undecided applies.
    tx.execute(
        "UPDATE stage_versions SET outcome = 'applied' WHERE outcome IS NULL",
        &[],
    )
    .map_err(db("marking applied submissions"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_of_many_times_the_batchs_domains_is_checked_by_lookups() {
        assert_eq!(
            domain_check(6_000_000.0, 262_144),
            DOMAIN_CONFLICT_BY_LOOKUPS
        );
        assert_eq!(domain_check(1_000.0, 2), DOMAIN_CONFLICT_BY_LOOKUPS);
    }

    #[test]
    fn a_small_or_never_analysed_store_is_checked_by_one_join() {
        assert_eq!(domain_check(0.0, 1_200_000), DOMAIN_CONFLICT);
        assert_eq!(domain_check(-1.0, 2), DOMAIN_CONFLICT);
        assert_eq!(domain_check(4_000_000.0, 1_200_000), DOMAIN_CONFLICT);
        assert_eq!(domain_check(5.0, 0), DOMAIN_CONFLICT_BY_LOOKUPS);
    }
}
