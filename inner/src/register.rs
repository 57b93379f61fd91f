//! The public register that crosses back out (SPEC.md §6.3, wire version 4): after every
//! decision that changes what the public query shows of a filing (an approval, a change, a
//! cancellation, a revocation), the filing's entry as it now stands — or its removal — is
//! queued for the return channel in the decision's transaction. The entry holds the filing
//! number, the subject's name and nature, the websites in service with their numbers, names
//! and domains, and the last approval date: nothing personal (no certificate numbers, no
//! principals, phones, e-mail, addresses or IP addresses), because the outer side shows it to
//! anyone.

use bundle_format::records::{Record, RegisterEntry, RegisterRemoval, RegisterWebsite};
use postgres::Transaction;

use crate::returns::{self, EntryKind};
use crate::store::{StoreError, db};

/// Why a filing left the register when its owner cancelled it.
pub const REMOVED_FILING_CANCELLED: &str = "filing-cancelled";
/// Why a filing left the register when the authority revoked it.
pub const REMOVED_FILING_REVOKED: &str = "filing-revoked";

/// What [`publish`] queued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Published {
    /// The filing's entry as it now stands.
    Entry(RegisterEntry),
    /// Its removal.
    Removal(RegisterRemoval),
    /// Nothing: the filing never had a number (never approved).
    Nothing,
}

/// Queues the register record of filing `filing_id` as it stands in the caller's transaction:
/// its entry while it is active with a website in service, else its removal (the reason is
/// the filing's status: cancelled or revoked).
pub fn publish(
    tx: &mut Transaction<'_>,
    filing_id: i64,
    now: i64,
) -> Result<Published, StoreError> {
    let Some(filing) = tx
        .query_opt(
            "SELECT f.filing_number, f.status, coalesce(f.last_approved_at, 0), s.name, s.nature
             FROM filings f
             LEFT JOIN subject_records s ON s.filing_id = f.filing_id AND s.status = 'active'
             WHERE f.filing_id = $1",
            &[&filing_id],
        )
        .map_err(db("reading the filing for the register"))?
    else {
        return Ok(Published::Nothing);
    };
    let Some(filing_number) = filing.get::<_, Option<String>>(0) else {
        return Ok(Published::Nothing);
    };
    let status: String = filing.get(1);
    let event = next_event(tx)?;
    let websites: Vec<RegisterWebsite> = tx
        .query(
            "SELECT w.website_seq, w.name,
                    ARRAY(SELECT d.domain FROM website_domains d
                          WHERE d.record_id = w.record_id AND d.active ORDER BY d.domain)
             FROM website_records w
             WHERE w.filing_id = $1 AND w.status = 'active'
             ORDER BY w.website_seq",
            &[&filing_id],
        )
        .map_err(db("reading the filing's websites for the register"))?
        .into_iter()
        .map(|row| RegisterWebsite {
            website_number: filing::number::website_number(&filing_number, row.get(0)),
            name: row.get(1),
            domains: row.get(2),
        })
        .collect();
    let subject: Option<String> = filing.get(3);
    let (record, kind, published) = match subject {
        Some(subject_name) if status == "active" && !websites.is_empty() => {
            let entry = RegisterEntry {
                event,
                filing_number,
                subject_name,
                subject_nature: filing.get(4),
                websites,
                approved_at: filing.get(2),
            };
            (
                Record::RegisterEntry(entry.clone()),
                EntryKind::RegisterEntry,
                Published::Entry(entry),
            )
        }
        _ => {
            let removal = RegisterRemoval {
                event,
                filing_number,
                removed_at: now,
                reason: if status == "revoked" {
                    REMOVED_FILING_REVOKED
                } else {
                    REMOVED_FILING_CANCELLED
                }
                .to_owned(),
            };
            (
                Record::RegisterRemoval(removal.clone()),
                EntryKind::RegisterRemoval,
                Published::Removal(removal),
            )
        }
    };
    returns::queue(tx, kind, &record, now)?;
    Ok(published)
}

fn next_event(tx: &mut Transaction<'_>) -> Result<u64, StoreError> {
    let event: i64 = tx
        .query_one("SELECT nextval('register_events')", &[])
        .map_err(db("taking a register event id"))?
        .get(0);
    Ok(event.unsigned_abs())
}

/// Most filings one call of [`publish_approved`] queues, so that one transaction stays small.
pub const MAX_PUBLISHED_PER_BATCH: usize = 10_000;

/// Queues the register entry of up to `limit` (at most [`MAX_PUBLISHED_PER_BATCH`]) approved
/// filings whose id is above `after`, in id order, in the caller's transaction; returns how
/// many and the last id, for the next call. This sends the whole register once, e.g. for
/// filings approved before inner migration 14, which no decision has sent since.
pub fn publish_approved(
    tx: &mut Transaction<'_>,
    after: i64,
    limit: usize,
    now: i64,
) -> Result<(usize, i64), StoreError> {
    publish_each_approved(tx, after, limit, |tx, filing_id| {
        publish(tx, filing_id, now).map(drop)
    })
}

/// Calls `publish` for each of up to `limit` (at most [`MAX_PUBLISHED_PER_BATCH`]) approved
/// (active) filings whose id is above `after`, in id order; returns how many and the last id.
pub(crate) fn publish_each_approved(
    tx: &mut Transaction<'_>,
    after: i64,
    limit: usize,
    mut publish: impl FnMut(&mut Transaction<'_>, i64) -> Result<(), StoreError>,
) -> Result<(usize, i64), StoreError> {
    let limit = i64::try_from(limit.min(MAX_PUBLISHED_PER_BATCH)).unwrap_or(0);
    let ids: Vec<i64> = tx
        .query(
            "SELECT filing_id FROM filings WHERE status = 'active' AND filing_id > $1
             ORDER BY filing_id LIMIT $2",
            &[&after, &limit],
        )
        .map_err(db("listing approved filings"))?
        .into_iter()
        .map(|row| row.get(0))
        .collect();
    for &filing_id in &ids {
        publish(tx, filing_id)?;
    }
    Ok((ids.len(), ids.last().copied().unwrap_or(after)))
}
