//! What reviewers see: the review queue with its filters, and one submission with its history
//! and the conflicts the authority must weigh (the same domain filed elsewhere or pending in
//! another submission, the same IP address filed by an unrelated subject). A submission not yet
//! approved is read from its stored record (the bundle it came in), since approval is what
//! writes a filing's normalised rows.

use bundle_format::records::{Access, Change, ReviewState, Submission, Website};
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

/// One step of a receipt's history: a version's arrival or a review event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryEntry {
    /// Review event id; none for an arrival the import recorded on its version row (from inner
    /// migration 19 on: the version's entry state, its receipt's state before and the import's
    /// time stand for the event).
    pub event_id: Option<i64>,
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
    /// `domain-filed-elsewhere`, `domain-pending-elsewhere`, `subject-pending-elsewhere` (the
    /// same subject filed in another open submission, such as a stranger's filing made first)
    /// or `ip-filed-by-unrelated-subject`.
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
    /// The submission's stored record cannot be read.
    #[error(transparent)]
    Stored(#[from] crate::store::StoreError),
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

/// How many submissions wait at one stage in one province, and since when the oldest waits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueCount {
    /// The stage (a state that awaits a reviewer).
    pub state: String,
    /// The province.
    pub province: i16,
    /// How many wait.
    pub count: i64,
    /// Since when the oldest has been waiting, Unix seconds.
    pub oldest_since: i64,
}

/// The queues per stage and province (only `province`, if given), in stage order and then by
/// province.
pub fn counts(
    client: &mut impl GenericClient,
    province: Option<i16>,
) -> Result<Vec<QueueCount>, QueueError> {
    let awaiting: Vec<&str> = crate::workflow::STATES
        .iter()
        .filter(|(state, _)| crate::workflow::awaits_review(*state))
        .map(|(_, name)| *name)
        .collect();
    let mut counts: Vec<QueueCount> = client
        .query(
            "SELECT state, province, count(*), min(state_since) FROM receipts
             WHERE state = ANY($1) AND ($2::smallint IS NULL OR province = $2)
             GROUP BY state, province",
            &[&awaiting, &province],
        )?
        .iter()
        .map(|r| QueueCount {
            state: r.get(0),
            province: r.get(1),
            count: r.get(2),
            oldest_since: r.get(3),
        })
        .collect();
    let stage = |name: &str| awaiting.iter().position(|n| *n == name);
    counts.sort_by_key(|c| (stage(&c.state), c.province));
    Ok(counts)
}

/// One submission with its websites, history and conflicts. An approved submission is shown
/// from the filing's normalised rows (written by its approval); any other is read from its
/// stored record, with its websites `pending` while it is open and `discarded` once rejected or
/// withdrawn, as the import used to store them.
pub fn show(client: &mut impl GenericClient, receipt: &str) -> Result<SubmissionView, QueueError> {
    let row = client
        .query_opt(
            &format!(
                "SELECT {ENTRY_COLUMNS}, r.filing_id, r.content_hash, r.target_website_seq
                 FROM receipts r
                 LEFT JOIN filings f ON f.filing_id = r.filing_id WHERE r.receipt = $1"
            ),
            &[&receipt],
        )?
        .ok_or_else(|| QueueError::UnknownReceipt(receipt.to_owned()))?;
    let entry = entry(&row);
    let filing_id: Option<i64> = row.get(10);
    let content_hash: Vec<u8> = row.get(11);
    let target_seq: Option<i32> = row.get(12);
    let state = crate::workflow::parse_state(&entry.state);
    let mut organiser = None;
    let mut websites = stored_websites(client, receipt)?;
    if websites.is_empty() && state != Some(ReviewState::Approved) {
        let version =
            crate::store::versions::read_version(client, receipt, entry.version, &content_hash)?;
        let status = if state.is_some_and(crate::workflow::is_open) {
            "pending"
        } else {
            "discarded"
        };
        let (subject, submitted) =
            submitted_websites(client, &version.body, filing_id, target_seq, status)?;
        organiser = subject;
        websites = submitted;
    }
    if organiser.is_none() {
        organiser = client
            .query_opt(
                "SELECT name FROM subject_records
                 WHERE receipt = $1 OR (filing_id = $2 AND status = 'active')
                 ORDER BY (receipt = $1) DESC LIMIT 1",
                &[&receipt, &filing_id],
            )?
            .map(|r| r.get(0));
    }
    let history = client
        .query(HISTORY, &[&receipt, &crate::import::IMPORT_ACTOR])?
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
    let subject_keys = organiser_keys(client, receipt, filing_id)?;
    let conflicts = conflicts(client, receipt, filing_id, &websites, &subject_keys)?;
    Ok(SubmissionView {
        entry,
        organiser,
        websites,
        history,
        conflicts,
    })
}

/// A receipt's history: its review events and the arrivals recorded on its version rows, in
/// the order they happened. Every event concerns the receipt's version at the time, and a
/// version arrives before anything happens to it, so ordering by version, arrival first, then
/// event id is the order of events.
const HISTORY: &str = "
    SELECT event_id, version, from_state, to_state, reviewer, reason, at
    FROM (SELECT event_id, version, from_state, to_state, reviewer, reason, at
          FROM review_events WHERE receipt = $1
          UNION ALL
          SELECT NULL, version, prev_state, entry_state, $2,
                 CASE WHEN outcome = 'conflict' THEN reason END, received_at
          FROM submission_versions
          WHERE receipt = $1 AND entry_state IS NOT NULL) AS h
    ORDER BY version, event_id NULLS FIRST";

/// The website records an approval wrote for `receipt`, with their current status.
fn stored_websites(
    client: &mut impl GenericClient,
    receipt: &str,
) -> Result<Vec<WebsiteView>, QueueError> {
    Ok(client
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
        .collect())
}

/// The organiser name and websites a submission not approved files, from its stored record.
/// An access change shows the website it changes (its name and domains) with the new access.
fn submitted_websites(
    client: &mut impl GenericClient,
    body: &Submission,
    filing_id: Option<i64>,
    target_seq: Option<i32>,
    status: &str,
) -> Result<(Option<String>, Vec<WebsiteView>), QueueError> {
    let view = |website_seq: Option<i32>, name: String, domains: Vec<String>, access: &Access| {
        let mut domains: Vec<String> = domains.iter().map(|d| d.to_ascii_lowercase()).collect();
        domains.sort_unstable();
        let mut ip_ranges: Vec<String> = access
            .ip_ranges
            .iter()
            .map(|r| format!("{}-{}", r.first, r.last))
            .collect();
        ip_ranges.sort_unstable();
        WebsiteView {
            website_seq,
            name,
            status: status.to_owned(),
            domains,
            ip_ranges,
            provider: Some(access.provider.clone()),
        }
    };
    let site =
        |seq: Option<i32>, w: &Website| view(seq, w.name.clone(), w.domains.clone(), &w.access);
    Ok(match body {
        Submission::NewFiling(filing) | Submission::NewFilingWithScans { filing, .. } => (
            Some(filing.subject.name.clone()),
            filing.websites.iter().map(|w| site(None, w)).collect(),
        ),
        Submission::Change { change, .. } | Submission::ChangeWithScans { change, .. } => {
            match change {
                Change::Subject(subject) => (Some(subject.name.clone()), Vec::new()),
                Change::Website { website, .. } => (None, vec![site(target_seq, website)]),
                Change::AddedWebsite(website) => (None, vec![site(None, website)]),
                Change::Access { access, .. } => {
                    let changed = client.query_opt(
                        "SELECT w.name, ARRAY(SELECT domain FROM website_domains d
                                          WHERE d.record_id = w.record_id ORDER BY domain)
                     FROM website_records w WHERE w.filing_id = $1 AND w.website_seq = $2
                     ORDER BY (w.status = 'active') DESC, w.record_id DESC LIMIT 1",
                        &[&filing_id, &target_seq],
                    )?;
                    let (name, domains) = changed.map(|r| (r.get(0), r.get(1))).unwrap_or_default();
                    (None, vec![view(target_seq, name, domains, access)])
                }
            }
        }
        Submission::Cancellation { .. }
        | Submission::Withdrawal { .. }
        | Submission::ProviderCheck { .. } => (None, Vec::new()),
    })
}

/// The certificate numbers of the subject of `receipt`'s filing: every subject record of the
/// filing, and the subject the receipt's stored version files (a pending new filing or subject
/// change has no subject record yet).
fn organiser_keys(
    client: &mut impl GenericClient,
    receipt: &str,
    filing_id: Option<i64>,
) -> Result<Vec<String>, QueueError> {
    Ok(client
        .query(
            "SELECT certificate_number FROM subject_records WHERE filing_id = $1
             UNION
             SELECT v.subject_key FROM receipts r
             JOIN submission_versions v ON v.receipt = r.receipt AND v.version = r.version
                                       AND v.content_hash = r.content_hash
             WHERE r.receipt = $2 AND v.subject_key IS NOT NULL",
            &[&filing_id, &receipt],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

/// What a reviewer must weigh about `websites` of `receipt` (of filing `filing_id`, if it has
/// one yet): its domains actively filed by another filing, its domains in another open
/// submission (the version rows' domain arrays, GIN-indexed), its subject (`subject_keys`) in
/// another open submission, and its IP ranges actively filed by a filing of another subject
/// (one not holding any of `subject_keys`).
fn conflicts(
    client: &mut impl GenericClient,
    receipt: &str,
    filing_id: Option<i64>,
    websites: &[WebsiteView],
    subject_keys: &[String],
) -> Result<Vec<Conflict>, QueueError> {
    let domains: Vec<&str> = websites
        .iter()
        .flat_map(|w| &w.domains)
        .map(String::as_str)
        .collect();
    let ip_ranges: Vec<&str> = websites
        .iter()
        .flat_map(|w| &w.ip_ranges)
        .map(String::as_str)
        .collect();
    let open: Vec<&str> = crate::workflow::STATES
        .iter()
        .filter(|(state, _)| crate::workflow::is_open(*state))
        .map(|(_, name)| *name)
        .collect();
    Ok(client
        .query(
            "SELECT DISTINCT 'domain-filed-elsewhere', o.domain, f.filing_number
             FROM website_domains o JOIN filings f ON f.filing_id = o.filing_id
             WHERE o.domain = ANY($1) AND o.active AND o.filing_id IS DISTINCT FROM $3
             UNION
             SELECT DISTINCT 'domain-pending-elsewhere', d.domain, r.receipt
             FROM submission_versions v
             JOIN receipts r ON r.receipt = v.receipt AND r.version = v.version
                            AND r.content_hash = v.content_hash
             CROSS JOIN LATERAL unnest(v.domains) AS d (domain)
             WHERE v.domains && $1 AND d.domain = ANY($1) AND r.state = ANY($5)
               AND r.receipt <> $4
               AND (r.filing_id IS NULL OR $3::bigint IS NULL OR r.filing_id <> $3)
             UNION
             SELECT DISTINCT 'subject-pending-elsewhere', v.subject_key, r.receipt
             FROM submission_versions v
             JOIN receipts r ON r.receipt = v.receipt AND r.version = v.version
                            AND r.content_hash = v.content_hash
             WHERE v.subject_key = ANY($6) AND r.state = ANY($5) AND r.receipt <> $4
               AND (r.filing_id IS NULL OR $3::bigint IS NULL OR r.filing_id <> $3)
             UNION
             SELECT DISTINCT 'ip-filed-by-unrelated-subject', m.range, f.filing_number
             FROM unnest($2::text[]) AS m (range)
             JOIN website_ips o ON o.active AND o.filing_id IS DISTINCT FROM $3
                  AND o.ips && inetrange(split_part(m.range, '-', 1)::inet,
                                         split_part(m.range, '-', 2)::inet, '[]')
             JOIN filings f ON f.filing_id = o.filing_id
             JOIN subject_records os ON os.filing_id = o.filing_id AND os.status = 'active'
             WHERE NOT (os.certificate_number = ANY($6))
             ORDER BY 1, 2, 3",
            &[
                &domains,
                &ip_ranges,
                &filing_id,
                &receipt,
                &open,
                &subject_keys,
            ],
        )?
        .iter()
        .map(|r| Conflict {
            kind: r.get(0),
            value: r.get(1),
            other: r.get::<_, Option<String>>(2).unwrap_or_default(),
        })
        .collect())
}
