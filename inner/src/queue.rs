//! What reviewers see: the review queue with its filters, and one submission with its history
//! and the conflicts the authority must weigh (the same domain filed elsewhere, the same IP
//! address filed by an unrelated subject).

use postgres::GenericClient;
use serde::Serialize;

/// Most entries one listing returns.
pub const MAX_LISTED: i64 = 10_000;

/// Which submissions to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListFilter {
    /// Only this province (GB/T 2260 two-digit code).
    pub province: Option<i16>,
    /// Only this review state (its name, e.g. `awaiting-regional-review`); by default every
    /// state that awaits a reviewer.
    pub state: Option<String>,
    /// Only submissions that have been in their state at least this many seconds.
    pub min_age_seconds: Option<i64>,
}

/// One submission in the queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueEntry {
    /// Receipt id.
    pub receipt: String,
    /// Latest version.
    pub version: i64,
    /// What it asks for (`new-filing`, `change-website`…).
    pub kind: String,
    /// Reviewing province.
    pub province: i16,
    /// Review state.
    pub state: String,
    /// Since when, Unix seconds.
    pub state_since: i64,
    /// Conflict the import saw, if any.
    pub conflict: Option<String>,
    /// Submitting account.
    pub submitter: String,
    /// Access provider account, if it submitted for its customer.
    pub access_provider: Option<String>,
    /// The filing's number, once it has one.
    pub filing_number: Option<String>,
}

/// One review event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryEntry {
    /// Event id.
    pub event_id: i64,
    /// Version it concerned.
    pub version: i64,
    /// State before (none for the first arrival).
    pub from_state: Option<String>,
    /// State after.
    pub to_state: String,
    /// Reviewer (or `import`, or the withdrawing receipt).
    pub reviewer: String,
    /// Reason given.
    pub reason: Option<String>,
    /// When, Unix seconds.
    pub at: i64,
}

/// A website as submitted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WebsiteView {
    /// Website number suffix, once assigned.
    pub website_seq: Option<i32>,
    /// Name.
    pub name: String,
    /// Record status (`pending`, `active`…).
    pub status: String,
    /// Domains.
    pub domains: Vec<String>,
    /// IP ranges, as `first-last`.
    pub ip_ranges: Vec<String>,
    /// Access provider.
    pub provider: Option<String>,
}

/// Something a reviewer must weigh before approving.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conflict {
    /// `domain-filed-elsewhere`, `domain-pending-elsewhere` or `ip-filed-by-unrelated-subject`.
    pub kind: String,
    /// The domain or IP range.
    pub value: String,
    /// The other filing's number, or the other receipt when it has none yet.
    pub other: String,
}

/// One submission with everything a reviewer needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubmissionView {
    /// Its queue entry.
    pub entry: QueueEntry,
    /// Organiser name in this submission (or the filing's current one).
    pub organiser: Option<String>,
    /// Websites in this submission.
    pub websites: Vec<WebsiteView>,
    /// Review history, oldest first.
    pub history: Vec<HistoryEntry>,
    /// Conflicts with other filings.
    pub conflicts: Vec<Conflict>,
}

/// Why reading the queue failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QueueError {
    /// The database failed.
    #[error("database error while reading the review queue: {}", crate::store::describe(.0))]
    Database(#[from] postgres::Error),
    /// No such receipt.
    #[error("no submission with receipt {0} is stored here")]
    UnknownReceipt(String),
}

const ENTRY_COLUMNS: &str = "r.receipt, r.version, r.kind, r.province, r.state, r.state_since,
     r.conflict, r.submitter, r.access_provider, f.filing_number";

fn entry(row: &postgres::Row) -> QueueEntry {
    QueueEntry {
        receipt: row.get(0),
        version: row.get(1),
        kind: row.get(2),
        province: row.get(3),
        state: row.get(4),
        state_since: row.get(5),
        conflict: row.get(6),
        submitter: row.get(7),
        access_provider: row.get(8),
        filing_number: row.get(9),
    }
}

/// Lists submissions, oldest in their state first.
pub fn list(
    client: &mut impl GenericClient,
    filter: &ListFilter,
    now: i64,
) -> Result<Vec<QueueEntry>, QueueError> {
    let awaiting: Vec<&str> = crate::workflow::STATES
        .iter()
        .filter(|(state, _)| crate::workflow::awaits_review(*state))
        .map(|(_, name)| *name)
        .collect();
    let states: Vec<&str> = match &filter.state {
        Some(state) => vec![state.as_str()],
        None => awaiting,
    };
    let newest = now.saturating_sub(filter.min_age_seconds.unwrap_or(0));
    let rows = client.query(
        &format!(
            "SELECT {ENTRY_COLUMNS} FROM receipts r LEFT JOIN filings f ON f.filing_id = r.filing_id
             WHERE r.state = ANY($1) AND ($2::smallint IS NULL OR r.province = $2)
               AND r.state_since <= $3
             ORDER BY r.state_since, r.receipt LIMIT {MAX_LISTED}"
        ),
        &[&states, &filter.province, &newest],
    )?;
    Ok(rows.iter().map(entry).collect())
}

/// One submission with its websites, history and conflicts.
pub fn show(client: &mut impl GenericClient, receipt: &str) -> Result<SubmissionView, QueueError> {
    let row = client
        .query_opt(
            &format!(
                "SELECT {ENTRY_COLUMNS}, r.filing_id FROM receipts r
                 LEFT JOIN filings f ON f.filing_id = r.filing_id WHERE r.receipt = $1"
            ),
            &[&receipt],
        )?
        .ok_or_else(|| QueueError::UnknownReceipt(receipt.to_owned()))?;
    let entry = entry(&row);
    let filing_id: Option<i64> = row.get(10);
    let organiser: Option<String> = client
        .query_opt(
            "SELECT name FROM subject_records
             WHERE receipt = $1 OR (filing_id = $2 AND status = 'active')
             ORDER BY (receipt = $1) DESC LIMIT 1",
            &[&receipt, &filing_id],
        )?
        .map(|r| r.get(0));
    let websites = client
        .query(
            "SELECT w.website_seq, w.name, w.status,
                    ARRAY(SELECT domain FROM website_domains d WHERE d.record_id = w.record_id ORDER BY domain),
                    ARRAY(SELECT host(lower(i.ips)) || '-' || host(upper(i.ips)) FROM website_ips i
                          WHERE i.record_id = w.record_id ORDER BY 1),
                    a.provider
             FROM website_records w LEFT JOIN website_access a ON a.record_id = w.record_id
             WHERE w.receipt = $1 ORDER BY w.record_id",
            &[&receipt],
        )?
        .iter()
        .map(|r| WebsiteView {
            website_seq: r.get(0),
            name: r.get(1),
            status: r.get(2),
            domains: r.get(3),
            ip_ranges: r.get(4),
            provider: r.get(5),
        })
        .collect();
    let history = client
        .query(
            "SELECT event_id, version, from_state, to_state, reviewer, reason, at
             FROM review_events WHERE receipt = $1 ORDER BY event_id",
            &[&receipt],
        )?
        .iter()
        .map(|r| HistoryEntry {
            event_id: r.get(0),
            version: r.get(1),
            from_state: r.get(2),
            to_state: r.get(3),
            reviewer: r.get(4),
            reason: r.get(5),
            at: r.get(6),
        })
        .collect();
    let conflicts = client
        .query(
            "SELECT DISTINCT 'domain-filed-elsewhere', d.domain, f.filing_number
             FROM website_records w
             JOIN website_domains d ON d.record_id = w.record_id
             JOIN website_domains o ON o.domain = d.domain AND o.active AND o.filing_id <> w.filing_id
             JOIN filings f ON f.filing_id = o.filing_id
             WHERE w.receipt = $1
             UNION
             SELECT DISTINCT 'domain-pending-elsewhere', d.domain, ow.receipt
             FROM website_records w
             JOIN website_domains d ON d.record_id = w.record_id
             JOIN website_domains o ON o.domain = d.domain AND NOT o.active AND o.filing_id <> w.filing_id
             JOIN website_records ow ON ow.record_id = o.record_id AND ow.status = 'pending'
             WHERE w.receipt = $1
             UNION
             SELECT DISTINCT 'ip-filed-by-unrelated-subject',
                    host(lower(i.ips)) || '-' || host(upper(i.ips)), f.filing_number
             FROM website_records w
             JOIN website_ips i ON i.record_id = w.record_id
             JOIN website_ips o ON o.active AND o.ips && i.ips AND o.filing_id <> w.filing_id
             JOIN filings f ON f.filing_id = o.filing_id
             JOIN subject_records os ON os.filing_id = o.filing_id AND os.status = 'active'
             WHERE w.receipt = $1 AND NOT EXISTS (
                 SELECT 1 FROM subject_records ms
                 WHERE ms.filing_id = w.filing_id AND ms.certificate_number = os.certificate_number)
             ORDER BY 1, 2, 3",
            &[&receipt],
        )?
        .iter()
        .map(|r| Conflict {
            kind: r.get(0),
            value: r.get(1),
            other: r.get::<_, Option<String>>(2).unwrap_or_default(),
        })
        .collect();
    Ok(SubmissionView {
        entry,
        organiser,
        websites,
        history,
        conflicts,
    })
}
