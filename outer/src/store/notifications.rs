//! E-mail notifications of outcomes that crossed back: an approval, a return for changes, a
//! rejection, a revoked certificate. [`queue_on`] runs in the transaction that applies the
//! event, one row per recipient (the account that filed, and the access provider named on the
//! version when that is another account), unique per event and recipient; [`Store::due_notifications`]
//! and [`Store::notification_sent`] / [`Store::notification_failed`] drive the sending.

use rusqlite::{Connection, params};

use super::{Store, StoreError, db};

/// Most notifications one sending pass takes.
pub const MAX_PER_PASS: i64 = 500;
/// Attempts after which a notification is given up (its last error stays for the operator).
pub const MAX_ATTEMPTS: i64 = 12;

/// What the notification says happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The filing was approved; the certificate goes with the message.
    Approved,
    /// It was returned for changes (to the submitter or the provider).
    Returned,
    /// It was rejected.
    Rejected,
    /// Its certificate was revoked.
    Revoked,
}

impl Outcome {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Approved => "approved",
            Outcome::Returned => "returned",
            Outcome::Rejected => "rejected",
            Outcome::Revoked => "revoked",
        }
    }

    fn parse(name: &str) -> Option<Outcome> {
        [
            Outcome::Approved,
            Outcome::Returned,
            Outcome::Rejected,
            Outcome::Revoked,
        ]
        .into_iter()
        .find(|outcome| outcome.as_str() == name)
    }
}

/// Queues the notification of `event_key` about `receipt` for its recipients that have a
/// confirmed e-mail address; an event already queued is not queued again. Returns how many
/// rows were added.
pub fn queue_on(
    conn: &Connection,
    event_key: &str,
    receipt: &str,
    outcome: Outcome,
    (filing_number, reason): (Option<&str>, Option<&str>),
    now: i64,
) -> Result<usize, StoreError> {
    conn.prepare_cached(
        "INSERT OR IGNORE INTO notifications
             (event_key, account_id, receipt, outcome, filing_number, reason, created_at,
              next_attempt_at)
         SELECT ?1, a.id, r.receipt, ?3, coalesce(?4, r.filing_number), ?5, ?6, ?6
         FROM receipts r JOIN accounts a
           ON a.id = r.account_id
              OR a.name = (SELECT v.access_provider FROM submission_versions v
                           WHERE v.receipt = r.receipt ORDER BY v.version DESC LIMIT 1)
         WHERE r.receipt = ?2 AND a.email IS NOT NULL AND a.email_verified_at IS NOT NULL
           AND a.deleted_at IS NULL",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            event_key,
            receipt,
            outcome.as_str(),
            filing_number,
            reason,
            now
        ])
    })
    .map_err(db("queueing a notification"))
}

/// One notification waiting to be sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DueNotification {
    /// Row id.
    pub id: i64,
    /// The recipient's address.
    pub email: String,
    /// The recipient's account name.
    pub account: String,
    /// The receipt it is about.
    pub receipt: String,
    /// What happened.
    pub outcome: Outcome,
    /// The filing number, once there is one.
    pub filing_number: Option<String>,
    /// The reason the inner side gave.
    pub reason: Option<String>,
    /// The certificate document to attach (an approval whose certificate is stored).
    pub certificate: Option<Vec<u8>>,
    /// Attempts so far.
    pub attempts: i64,
    /// When it was queued.
    pub created_at: i64,
}

/// How the notifications stand, for `status` and the pass's report.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct NotificationCounts {
    /// Waiting to be sent (first try or retry).
    pub waiting: u64,
    /// Sent.
    pub sent: u64,
    /// Given up after [`MAX_ATTEMPTS`].
    pub given_up: u64,
}

impl Store {
    /// The notifications due at `now`, oldest first (at most [`MAX_PER_PASS`]).
    pub async fn due_notifications(&self, now: i64) -> Result<Vec<DueNotification>, StoreError> {
        self.read(move |conn| {
            conn.prepare_cached(
                "SELECT n.id, a.email, a.name, n.receipt, n.outcome, n.filing_number, n.reason,
                        (SELECT c.document FROM certificates c
                         WHERE n.outcome = 'approved' AND c.filing_number = n.filing_number
                           AND c.revoked_at IS NULL),
                        n.attempts, n.created_at
                 FROM notifications n JOIN accounts a ON a.id = n.account_id
                 WHERE n.sent_at IS NULL AND n.attempts < ?2 AND n.next_attempt_at <= ?1
                   AND a.email IS NOT NULL
                 ORDER BY n.next_attempt_at, n.id LIMIT ?3",
            )
            .and_then(|mut stmt| {
                stmt.query_map(params![now, MAX_ATTEMPTS, MAX_PER_PASS], |row| {
                    let outcome: String = row.get(4)?;
                    Ok(DueNotification {
                        id: row.get(0)?,
                        email: row.get(1)?,
                        account: row.get(2)?,
                        receipt: row.get(3)?,
                        outcome: Outcome::parse(&outcome).unwrap_or(Outcome::Returned),
                        filing_number: row.get(5)?,
                        reason: row.get(6)?,
                        certificate: row.get(7)?,
                        attempts: row.get(8)?,
                        created_at: row.get(9)?,
                    })
                })?
                .collect()
            })
            .map_err(db("reading the notifications due"))
        })
        .await
    }

    /// Records that the relay took notification `id` at `now`; it is never sent again.
    pub async fn notification_sent(&self, id: i64, now: i64) -> Result<(), StoreError> {
        self.write(move |conn| {
            conn.execute(
                "UPDATE notifications SET sent_at = ?2, attempts = attempts + 1, last_error = NULL
                 WHERE id = ?1",
                params![id, now],
            )
            .map_err(db("recording a notification sent"))?;
            Ok(())
        })
        .await
    }

    /// Records a failed attempt at `now` and when to try again.
    pub async fn notification_failed(
        &self,
        id: i64,
        error: String,
        retry_at: i64,
    ) -> Result<(), StoreError> {
        self.write(move |conn| {
            conn.execute(
                "UPDATE notifications SET attempts = attempts + 1, last_error = ?2,
                        next_attempt_at = ?3
                 WHERE id = ?1",
                params![id, error, retry_at],
            )
            .map_err(db("recording a notification attempt"))?;
            Ok(())
        })
        .await
    }

    /// How many notifications wait, were sent and were given up.
    pub async fn notification_counts(&self) -> Result<NotificationCounts, StoreError> {
        self.read(|conn| {
            conn.query_row(
                "SELECT count(*) FILTER (WHERE sent_at IS NULL AND attempts < ?1),
                        count(*) FILTER (WHERE sent_at IS NOT NULL),
                        count(*) FILTER (WHERE sent_at IS NULL AND attempts >= ?1)
                 FROM notifications",
                [MAX_ATTEMPTS],
                |row| {
                    Ok(NotificationCounts {
                        waiting: row.get::<_, i64>(0)?.unsigned_abs(),
                        sent: row.get::<_, i64>(1)?.unsigned_abs(),
                        given_up: row.get::<_, i64>(2)?.unsigned_abs(),
                    })
                },
            )
            .map_err(db("counting notifications"))
        })
        .await
    }
}
