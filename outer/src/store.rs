//! The outer SQLite store: submission versions, the status row every receipt keeps for good,
//! status history, accounts and hashed API tokens, idempotency keys, certificates, and the
//! per-version transfer columns (exported in which bundle, in transit since, acknowledged).
//!
//! One writer thread owns the only write connection. Callers queue write jobs; the thread takes
//! every job waiting, runs each inside its own savepoint of one transaction and commits once, so
//! concurrent submissions share one fsync (group commit) and a failing job never undoes the
//! others. Reads use a small pool of read-only connections on blocking threads, so the async
//! runtime never waits on SQLite. WAL mode with `synchronous=FULL`: a job's reply is sent only
//! after its transaction is durable.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use bundle_format::records::{
    self, Ack, CertificateRecord, ImportOutcome, ReviewState, StatusChange, SubmissionVersion,
};
use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};

/// Most write jobs one group commit takes.
pub const MAX_GROUP_COMMIT: usize = 512;
/// Most write jobs waiting for the writer thread before callers are told the store is busy.
pub const MAX_QUEUED_WRITES: usize = 8192;
/// Most bytes of an encoded submission version the store reads back.
pub const MAX_STORED_VERSION_BYTES: usize = 64 * 1024 * 1024;

/// Schema migrations, applied in order on open; `PRAGMA user_version` counts those applied.
/// A published migration never changes; a schema change is a new entry at the end.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE accounts (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL CHECK (kind IN ('website_owner', 'access_provider', 'operator')),
    disabled    INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL
);
CREATE TABLE tokens (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts(id),
    token_hash  BLOB NOT NULL UNIQUE,
    label       TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);
-- One row per receipt ever issued. It outlives every payload (DESIGN.md invariant 6).
CREATE TABLE receipts (
    receipt          TEXT PRIMARY KEY,
    account_id       INTEGER NOT NULL REFERENCES accounts(id),
    kind             TEXT NOT NULL,
    latest_version   INTEGER NOT NULL,
    state            TEXT NOT NULL,
    state_version    INTEGER NOT NULL,
    reason           TEXT,
    filing_number    TEXT,
    bundle_sequence  INTEGER,
    in_transit_since INTEGER,
    last_event_id    INTEGER,
    certificate_ready INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
CREATE INDEX receipts_filing_number ON receipts(filing_number);
CREATE TABLE status_history (
    id              INTEGER PRIMARY KEY,
    receipt         TEXT NOT NULL REFERENCES receipts(receipt),
    version         INTEGER NOT NULL,
    state           TEXT NOT NULL,
    at              INTEGER NOT NULL,
    reason          TEXT,
    filing_number   TEXT,
    bundle_sequence INTEGER
);
CREATE INDEX status_history_receipt ON status_history(receipt, id);
-- Every accepted version. `payload` is the bincode encoding of records::SubmissionVersion and
-- becomes NULL only once a signed ack named this exact version and content hash.
CREATE TABLE submission_versions (
    receipt            TEXT NOT NULL REFERENCES receipts(receipt),
    version            INTEGER NOT NULL,
    content_hash       BLOB NOT NULL,
    submitted_at       INTEGER NOT NULL,
    submitter          TEXT NOT NULL,
    access_provider    TEXT,
    payload            BLOB,
    exported_bundle_id BLOB,
    exported_sequence  INTEGER,
    in_transit_since   INTEGER,
    acknowledged_at    INTEGER,
    ack_outcome        TEXT,
    payload_removed_at INTEGER,
    PRIMARY KEY (receipt, version)
);
CREATE INDEX submission_versions_unexported
    ON submission_versions(submitted_at) WHERE exported_sequence IS NULL AND payload IS NOT NULL;
CREATE TABLE idempotency_keys (
    account_id    INTEGER NOT NULL REFERENCES accounts(id),
    key           TEXT NOT NULL,
    request_hash  BLOB NOT NULL,
    receipt       TEXT NOT NULL,
    version       INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (account_id, key)
);
CREATE TABLE certificates (
    filing_number TEXT PRIMARY KEY,
    receipt       TEXT NOT NULL,
    issued_at     INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    supersedes    TEXT,
    document      BLOB NOT NULL
);
"#,
    r#"
-- The subject a new filing is for (certificate type and number), so that one subject files once.
ALTER TABLE receipts ADD COLUMN subject_key TEXT;
CREATE INDEX receipts_subject_key ON receipts(subject_key) WHERE subject_key IS NOT NULL;
"#,
    r#"
-- Export reads pending versions in (submitted_at, receipt, version) order; an index in that
-- order spares it sorting every pending payload (SQLite's sorter spills them to temp files).
DROP INDEX submission_versions_unexported;
CREATE INDEX submission_versions_unexported
    ON submission_versions(submitted_at, receipt, version)
    WHERE exported_sequence IS NULL AND payload IS NOT NULL;
-- The transfer tool's tables (sluice-transfer export and apply). Stores that transfer opened
-- before this migration existed already have them, hence IF NOT EXISTS.
-- Per submissions channel: where the chain stands.
CREATE TABLE IF NOT EXISTS transfer_send_state (
    channel       INTEGER PRIMARY KEY,
    epoch         INTEGER NOT NULL,
    next_sequence INTEGER NOT NULL,
    previous      BLOB NOT NULL
);
-- Every bundle written, kept (as a file in the retained outbox) until acknowledged.
CREATE TABLE IF NOT EXISTS transfer_outbox (
    bundle_id       BLOB PRIMARY KEY,
    channel         INTEGER NOT NULL,
    epoch           INTEGER NOT NULL,
    sequence        INTEGER NOT NULL,
    kind            TEXT NOT NULL,
    file_name       TEXT NOT NULL,
    records         INTEGER NOT NULL,
    created         INTEGER NOT NULL,
    published_at    INTEGER,
    last_sent_at    INTEGER,
    send_count      INTEGER NOT NULL DEFAULT 0,
    acknowledged_at INTEGER,
    UNIQUE (channel, epoch, sequence)
);
-- Every return bundle applied: what makes apply exactly-once.
CREATE TABLE IF NOT EXISTS transfer_return_ledger (
    bundle_id  BLOB PRIMARY KEY,
    channel    INTEGER NOT NULL,
    epoch      INTEGER NOT NULL,
    sequence   INTEGER NOT NULL,
    previous   BLOB NOT NULL,
    file_name  TEXT NOT NULL,
    applied_at INTEGER NOT NULL,
    UNIQUE (channel, epoch, sequence)
);
"#,
    r#"
-- Every keyset version the transfer tool installed (received in a keyset bundle, or published
-- here with publish-keyset), with the keyset file itself: written in the transaction that
-- records the bundle, so the file in the keyset directory can be written again from it.
CREATE TABLE transfer_keysets (
    version     INTEGER PRIMARY KEY,
    file        BLOB NOT NULL,
    origin      TEXT NOT NULL CHECK (origin IN ('received', 'published')),
    bundle_id   BLOB,
    channel     INTEGER,
    sequence    INTEGER,
    recorded_at INTEGER NOT NULL
);
"#,
    r#"
-- Payloads move to a table of their own. Export marks every version it sends in transit; with
-- the payload in the version's row, SQLite rewrote each payload (about 1 KiB, sharing pages with
-- its neighbours) to change three small columns, and apply did the same to clear it. Now marking
-- touches small rows only, and removing a payload after its ack deletes one row.
-- `payload_removed_at IS NULL` is what "payload stored" means in submission_versions from here
-- on; a payload row exists exactly while it is NULL.
CREATE TABLE submission_payloads (
    receipt TEXT NOT NULL,
    version INTEGER NOT NULL,
    payload BLOB NOT NULL,
    PRIMARY KEY (receipt, version),
    FOREIGN KEY (receipt, version) REFERENCES submission_versions (receipt, version)
);
INSERT INTO submission_payloads (receipt, version, payload)
    SELECT receipt, version, payload FROM submission_versions WHERE payload IS NOT NULL;
UPDATE submission_versions SET payload_removed_at = coalesce(acknowledged_at, 0)
    WHERE payload IS NULL AND payload_removed_at IS NULL;
DROP INDEX submission_versions_unexported;
ALTER TABLE submission_versions DROP COLUMN payload;
CREATE INDEX submission_versions_unexported
    ON submission_versions(submitted_at, receipt, version)
    WHERE exported_sequence IS NULL AND payload_removed_at IS NULL;
"#,
];

/// What went wrong in the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// SQLite refused an operation.
    #[error("database error while {operation}: {source}")]
    Database {
        /// What the store was doing.
        operation: &'static str,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// The store could not be opened.
    #[error("cannot open the store at {path}: {source}")]
    Open {
        /// The database file.
        path: PathBuf,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// The database was written by a newer program.
    #[error("the store at {path} has schema version {found}; this program knows up to {known}")]
    SchemaTooNew {
        /// The database file.
        path: PathBuf,
        /// Schema version in the file.
        found: i64,
        /// Newest schema this program knows.
        known: usize,
    },
    /// A group commit failed; none of the writes in it were stored.
    #[error("database error while {operation}: {message}; nothing in this commit was stored")]
    GroupCommit {
        /// Starting or committing the transaction.
        operation: &'static str,
        /// SQLite's message.
        message: String,
    },
    /// A thread of the store could not be started.
    #[error("cannot start the store's {name} thread: {source}")]
    Thread {
        /// Which thread.
        name: &'static str,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The writer thread has stopped (the store is shutting down).
    #[error("the store is closed")]
    Closed,
    /// Too many writes are queued; the caller should retry later.
    #[error("the store is busy; retry later")]
    Busy,
    /// A stored submission version does not decode or does not match its hash.
    #[error("stored version {version} of receipt {receipt} is corrupt: {detail}")]
    Corrupt {
        /// Receipt id.
        receipt: String,
        /// Version.
        version: u32,
        /// What is wrong.
        detail: String,
    },
    /// No account by that name.
    #[error("no account named {0:?}")]
    NoSuchAccount(String),
    /// An account by that name exists already.
    #[error("an account named {0:?} exists already")]
    AccountExists(String),
    /// No token with that id.
    #[error("no token with id {0}")]
    NoSuchToken(i64),
    /// No receipt with that id.
    #[error("no receipt {0:?}")]
    NoSuchReceipt(String),
    /// The receipt exists but this account may not change it.
    #[error("receipt {0:?} belongs to another account")]
    NotOwner(String),
    /// The receipt is in a final state and takes no more versions.
    #[error("receipt {receipt:?} is {state} and can no longer be edited")]
    Final {
        /// Receipt id.
        receipt: String,
        /// Its state.
        state: ReceiptState,
    },
    /// An edit changes the kind of submission.
    #[error("receipt {receipt:?} is a {stored} submission; an edit cannot make it a {requested}")]
    KindChanged {
        /// Receipt id.
        receipt: String,
        /// Kind stored.
        stored: String,
        /// Kind in the edit.
        requested: String,
    },
    /// Another receipt already files this subject and is neither rejected, cancelled nor
    /// withdrawn: edit that receipt, or file a change once it is approved.
    #[error(
        "receipt {receipt} already files this subject ({state}); edit it, or file a change once it is approved"
    )]
    SubjectAlreadyFiled {
        /// The receipt that files the subject.
        receipt: String,
        /// Its state.
        state: ReceiptState,
    },
    /// The idempotency key was used before for a different request.
    #[error("idempotency key {0:?} was used before with a different request")]
    IdempotencyKeyReused(String),
}

fn db(operation: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError {
    move |source| StoreError::Database { operation, source }
}

/// Kinds of account, which decide what a token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AccountKind {
    /// Submits its own filings one at a time.
    WebsiteOwner,
    /// Submits for its customers, one at a time or in batches.
    AccessProvider,
    /// Runs the service; reads every receipt.
    Operator,
}

impl AccountKind {
    /// Every kind.
    pub const ALL: [AccountKind; 3] = [
        AccountKind::WebsiteOwner,
        AccountKind::AccessProvider,
        AccountKind::Operator,
    ];

    /// The kind's name in the database, on the command line and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::WebsiteOwner => "website_owner",
            AccountKind::AccessProvider => "access_provider",
            AccountKind::Operator => "operator",
        }
    }

    /// Parses a name written by [`AccountKind::as_str`] (dashes are accepted for underscores).
    pub fn parse(name: &str) -> Option<AccountKind> {
        let name = name.replace('-', "_");
        AccountKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }
}

impl std::fmt::Display for AccountKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a receipt stands, as the outer side knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReceiptState {
    /// Accepted here, not yet exported.
    Received,
    /// Exported in a bundle that has not been acknowledged yet.
    InTransit,
    /// A review state reported by the inner side (including `Delivered`).
    Review(ReviewState),
}

impl ReceiptState {
    /// Every state, in the order a receipt usually passes through them.
    pub const ALL: [ReceiptState; 12] = [
        ReceiptState::Received,
        ReceiptState::InTransit,
        ReceiptState::Review(ReviewState::Delivered),
        ReceiptState::Review(ReviewState::AwaitingProviderCheck),
        ReceiptState::Review(ReviewState::AwaitingPreApproval),
        ReceiptState::Review(ReviewState::AwaitingRegionalReview),
        ReceiptState::Review(ReviewState::ReturnedToProvider),
        ReceiptState::Review(ReviewState::ReturnedToSubmitter),
        ReceiptState::Review(ReviewState::Approved),
        ReceiptState::Review(ReviewState::Rejected),
        ReceiptState::Review(ReviewState::Cancelled),
        ReceiptState::Review(ReviewState::Withdrawn),
    ];

    /// The state's name in the database and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ReceiptState::Received => "received",
            ReceiptState::InTransit => "in_transit",
            ReceiptState::Review(state) => match state {
                ReviewState::Delivered => "delivered",
                ReviewState::AwaitingProviderCheck => "awaiting_provider_check",
                ReviewState::AwaitingPreApproval => "awaiting_pre_approval",
                ReviewState::AwaitingRegionalReview => "awaiting_regional_review",
                ReviewState::ReturnedToProvider => "returned_to_provider",
                ReviewState::ReturnedToSubmitter => "returned_to_submitter",
                ReviewState::Approved => "approved",
                ReviewState::Rejected => "rejected",
                ReviewState::Cancelled => "cancelled",
                ReviewState::Withdrawn => "withdrawn",
            },
        }
    }

    /// Parses a name written by [`ReceiptState::as_str`].
    pub fn parse(name: &str) -> Option<ReceiptState> {
        ReceiptState::ALL
            .into_iter()
            .find(|state| state.as_str() == name)
    }

    /// Whether the receipt takes no more versions in this state.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            ReceiptState::Review(
                ReviewState::Approved
                    | ReviewState::Rejected
                    | ReviewState::Cancelled
                    | ReviewState::Withdrawn
            )
        )
    }

    /// Whether a reviewer may have looked at it already (a withdrawal is refused then).
    pub fn is_under_review(self) -> bool {
        !matches!(
            self,
            ReceiptState::Received
                | ReceiptState::InTransit
                | ReceiptState::Review(ReviewState::Delivered)
        )
    }
}

impl std::fmt::Display for ReceiptState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An account as listed by `accounts list`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// Row id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// What its tokens may do.
    pub kind: AccountKind,
    /// Disabled accounts' tokens are refused.
    pub disabled: bool,
    /// Unix seconds.
    pub created_at: i64,
}

/// Who a valid token belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// Account row id.
    pub account_id: i64,
    /// Account name.
    pub account: String,
    /// Account kind.
    pub kind: AccountKind,
    /// Token row id (rate limits are per token).
    pub token_id: i64,
}

/// A token just issued: the secret is shown once and stored only hashed.
#[derive(Clone, Debug)]
pub struct IssuedToken {
    /// Token row id, for `tokens revoke`.
    pub id: i64,
    /// The bearer secret.
    pub secret: String,
}

/// SHA-256 of a bearer token, the only form the store keeps.
pub fn token_hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// The status row of one receipt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiptStatus {
    /// Receipt id.
    pub receipt: String,
    /// Account that owns it.
    pub account_id: i64,
    /// Submission kind (`new_filing`, `change`, `cancellation`, `withdrawal`).
    pub kind: String,
    /// Newest version.
    pub latest_version: u32,
    /// Current state.
    pub state: ReceiptState,
    /// The version the state refers to.
    pub state_version: u32,
    /// Reviewer's reason, for returns and rejections.
    pub reason: Option<String>,
    /// Filing number once approved (or named by a change or cancellation).
    pub filing_number: Option<String>,
    /// Bundle sequence while in transit.
    pub bundle_sequence: Option<u64>,
    /// Since when in transit, Unix seconds.
    pub in_transit_since: Option<i64>,
    /// Whether a certificate for the filing number is stored.
    pub certificate_ready: bool,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub updated_at: i64,
}

/// One entry of a receipt's status history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryEntry {
    /// Version the entry refers to.
    pub version: u32,
    /// State entered.
    pub state: ReceiptState,
    /// Unix seconds.
    pub at: i64,
    /// Reason, if any.
    pub reason: Option<String>,
    /// Filing number, if any.
    pub filing_number: Option<String>,
    /// Bundle sequence, if any.
    pub bundle_sequence: Option<u64>,
}

/// What the store knows about one version (without its payload).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionInfo {
    /// Version number.
    pub version: u32,
    /// Content hash of the body.
    pub content_hash: [u8; 32],
    /// Unix seconds.
    pub submitted_at: i64,
    /// Submitting account (or the customer an access provider named).
    pub submitter: String,
    /// The access provider that submitted it, if any.
    pub access_provider: Option<String>,
    /// Sequence of the bundle it was exported in.
    pub exported_sequence: Option<u64>,
    /// When it was exported.
    pub in_transit_since: Option<i64>,
    /// When the inner side acknowledged it.
    pub acknowledged_at: Option<i64>,
    /// Whether the payload is still stored here.
    pub payload_stored: bool,
}

/// A receipt with its status, history and versions.
#[derive(Clone, Debug)]
pub struct ReceiptRecord {
    /// The status row.
    pub status: ReceiptStatus,
    /// Every state change, oldest first.
    pub history: Vec<HistoryEntry>,
    /// Every version, oldest first.
    pub versions: Vec<VersionInfo>,
    /// The newest version whose payload is still stored, decoded.
    pub latest: Option<SubmissionVersion>,
}

/// A new submission to store.
#[derive(Clone, Debug)]
pub struct NewSubmission {
    /// Account that submits.
    pub account_id: i64,
    /// Submission kind name (see [`crate::api::kind_name`]).
    pub kind: String,
    /// Filing number the submission names, if any.
    pub filing_number: Option<String>,
    /// For new filings, the subject's certificate type and number (see
    /// [`crate::convert::subject_key`]): one subject files once.
    pub subject_key: Option<String>,
    /// Version 1, with its receipt id and content hash filled in.
    pub version: SubmissionVersion,
    /// Idempotency key and a hash of the request it came with.
    pub idempotency: Option<(String, [u8; 32])>,
}

/// What storing a submission did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Inserted {
    /// A new receipt.
    Created {
        /// Receipt id.
        receipt: String,
        /// Version (1).
        version: u32,
    },
    /// The idempotency key was seen before with the same request: the first answer.
    Replayed {
        /// Receipt id of the first request.
        receipt: String,
        /// Version of the first request.
        version: u32,
    },
}

/// What applying an ack did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AckSummary {
    /// Versions whose payload was removed now.
    pub removed: usize,
    /// Versions acknowledged before (nothing to do).
    pub already: usize,
    /// Entries naming a version or hash the store does not have; nothing was deleted for them.
    pub mismatched: Vec<(String, u32)>,
}

trait WriteJob: Send {
    fn run(&mut self, conn: &Connection);
    fn finish(self: Box<Self>, committed: Result<(), StoreError>);
}

struct Job<T, F> {
    work: Option<F>,
    result: Option<Result<T, StoreError>>,
    reply: tokio::sync::oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> WriteJob for Job<T, F>
where
    T: Send,
    F: FnOnce(&Connection) -> Result<T, StoreError> + Send,
{
    fn run(&mut self, conn: &Connection) {
        let Some(work) = self.work.take() else { return };
        if let Err(source) = conn.execute_batch("SAVEPOINT job") {
            self.result = Some(Err(StoreError::Database {
                operation: "opening a savepoint",
                source,
            }));
            return;
        }
        let result = work(conn);
        let end = if result.is_ok() {
            conn.execute_batch("RELEASE job")
        } else {
            conn.execute_batch("ROLLBACK TO job; RELEASE job")
        };
        self.result = Some(match end {
            Ok(()) => result,
            Err(source) => Err(StoreError::Database {
                operation: "closing a savepoint",
                source,
            }),
        });
    }

    fn finish(self: Box<Self>, committed: Result<(), StoreError>) {
        let outcome = match (committed, self.result) {
            (Err(error), _) => Err(error),
            (Ok(()), Some(result)) => result,
            (Ok(()), None) => Err(StoreError::Closed),
        };
        // The caller may have gone away (request timeout); the write stands either way.
        let _ = self.reply.send(outcome);
    }
}

struct Shared {
    path: PathBuf,
    writer: Mutex<Option<mpsc::SyncSender<Box<dyn WriteJob>>>>,
    writer_thread: Mutex<Option<JoinHandle<()>>>,
    checkpointer: Mutex<Option<(mpsc::Sender<()>, JoinHandle<()>)>>,
    readers: Mutex<Vec<Connection>>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        shutdown(self);
    }
}

fn shutdown(shared: &Shared) {
    if let Ok(mut writer) = shared.writer.lock() {
        writer.take();
    }
    let thread = shared.writer_thread.lock().ok().and_then(|mut t| t.take());
    if let Some(thread) = thread {
        let _ = thread.join();
    }
    let checkpointer = shared.checkpointer.lock().ok().and_then(|mut c| c.take());
    if let Some((stop, thread)) = checkpointer {
        drop(stop);
        let _ = thread.join();
    }
}

/// How often the checkpointer folds the WAL back into the database file.
pub const CHECKPOINT_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// Checkpoints the WAL from its own connection, so that the writer's commits only ever wait for
/// the WAL's fsync and not for a checkpoint's (SQLite would otherwise run one inside a commit).
fn checkpoint_loop(conn: Connection, stop: mpsc::Receiver<()>) {
    while let Err(mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(CHECKPOINT_INTERVAL) {
        if let Err(error) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(%error, "WAL checkpoint failed; retrying in a second");
        }
    }
    // A last full checkpoint on the way out leaves a short WAL for the next start.
    let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
}

/// The outer store. Cheap to clone; all clones share one writer thread.
#[derive(Clone)]
pub struct Store {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.shared.path)
            .finish()
    }
}

fn open_connection(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path).map_err(|source| StoreError::Open {
        path: path.to_owned(),
        source,
    })?;
    conn.busy_timeout(std::time::Duration::from_secs(30))
        .map_err(db("setting the busy timeout"))?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
    )
    .map_err(db("setting pragmas"))?;
    Ok(conn)
}

fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let applied: i64 = conn
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(db("reading the schema version"))?;
    let known = MIGRATIONS.len();
    let applied_count = usize::try_from(applied).unwrap_or(usize::MAX);
    if applied_count > known {
        return Err(StoreError::SchemaTooNew {
            path: path.to_owned(),
            found: applied,
            known,
        });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(applied_count) {
        let tx = conn.transaction().map_err(db("starting a migration"))?;
        tx.execute_batch(sql).map_err(db("applying a migration"))?;
        tx.pragma_update(None, "user_version", index + 1)
            .map_err(db("recording a migration"))?;
        tx.commit().map_err(db("committing a migration"))?;
    }
    Ok(())
}

fn writer_loop(conn: Connection, jobs: mpsc::Receiver<Box<dyn WriteJob>>) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_GROUP_COMMIT {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        if let Err(source) = conn.execute_batch("BEGIN IMMEDIATE") {
            let message = source.to_string();
            for job in batch {
                job.finish(Err(StoreError::GroupCommit {
                    operation: "starting a transaction",
                    message: message.clone(),
                }));
            }
            continue;
        }
        for job in &mut batch {
            job.run(&conn);
        }
        crate::failpoint::hit("intake.before-commit");
        match conn.execute_batch("COMMIT") {
            Ok(()) => {
                crate::failpoint::hit("intake.after-commit");
                for job in batch {
                    job.finish(Ok(()));
                }
            }
            Err(source) => {
                tracing::error!(error = %source, "group commit failed");
                let _ = conn.execute_batch("ROLLBACK");
                let message = source.to_string();
                for job in batch {
                    job.finish(Err(StoreError::GroupCommit {
                        operation: "committing",
                        message: message.clone(),
                    }));
                }
            }
        }
    }
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn u32_col(value: i64) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

fn u64_opt(value: Option<i64>) -> Option<u64> {
    value.and_then(|v| u64::try_from(v).ok())
}

fn i64_of(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn hash_col(bytes: Vec<u8>) -> [u8; 32] {
    let mut hash = [0u8; 32];
    if bytes.len() == 32 {
        hash.copy_from_slice(&bytes);
    }
    hash
}

fn parse_state(name: &str) -> ReceiptState {
    // The CHECK-free column only ever holds names written by as_str; anything else reads as
    // received so a status answer is still given.
    ReceiptState::parse(name).unwrap_or(ReceiptState::Received)
}

fn encode_version(version: &SubmissionVersion) -> Vec<u8> {
    bincode::encode_to_vec(version, records::wire_config()).unwrap_or_default()
}

/// A stored version waiting to be exported, still in its stored encoding.
#[derive(Debug, Clone)]
pub struct PendingVersion {
    /// Receipt id.
    pub receipt: String,
    /// Version of the receipt.
    pub version: u32,
    /// When it was accepted, Unix seconds: with receipt and version, its place in export order.
    pub submitted_at: i64,
    /// The stored bincode encoding of the [`SubmissionVersion`].
    pub payload: Vec<u8>,
}

impl PendingVersion {
    /// Decodes the stored encoding and checks it: no trailing bytes, and the content hash
    /// matches the body. A row that fails is reported as [`StoreError::Corrupt`].
    pub fn decode(&self) -> Result<SubmissionVersion, StoreError> {
        decode_version(&self.receipt, self.version, &self.payload)
    }

    /// Where this version stands in export order; [`pending_versions_after`] continues from it.
    pub fn export_position(&self) -> ExportPosition {
        ExportPosition {
            submitted_at: self.submitted_at,
            receipt: self.receipt.clone(),
            version: self.version,
        }
    }

    /// Checks the stored encoding without decoding its body, for carrying it verbatim into a
    /// bundle: it is of this receipt and version, and its body hashes to its content hash (see
    /// [`records::EncodedSubmission`]). A row that fails is reported as [`StoreError::Corrupt`].
    pub fn checked(&self) -> Result<records::EncodedSubmission<'_>, StoreError> {
        records::EncodedSubmission::new(&self.payload, &self.receipt, self.version).map_err(|e| {
            StoreError::Corrupt {
                receipt: self.receipt.clone(),
                version: self.version,
                detail: e.to_string(),
            }
        })
    }
}

/// A place in export order (submission time, then receipt and version).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportPosition {
    /// Submission time, Unix seconds.
    pub submitted_at: i64,
    /// Receipt id.
    pub receipt: String,
    /// Version.
    pub version: u32,
}

/// Reads the oldest `limit` versions not yet exported that still hold their payload, on
/// `conn` (so that an export can read inside its own transaction), in export order: by
/// submission time, then receipt and version.
pub fn pending_versions(
    conn: &Connection,
    limit: usize,
) -> Result<Vec<PendingVersion>, StoreError> {
    pending_versions_after(conn, None, limit)
}

/// [`pending_versions`] after `position` in export order: what an export reads for its next
/// bundle while the versions it read for the previous one are not marked yet. A version
/// accepted meanwhile with an earlier position waits for the next export.
pub fn pending_versions_after(
    conn: &Connection,
    position: Option<&ExportPosition>,
    limit: usize,
) -> Result<Vec<PendingVersion>, StoreError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let read = |row: &rusqlite::Row<'_>| {
        Ok(PendingVersion {
            receipt: row.get(0)?,
            version: u32_col(row.get(1)?),
            submitted_at: row.get(2)?,
            payload: row.get(3)?,
        })
    };
    let select = "SELECT v.receipt, v.version, v.submitted_at, p.payload
         FROM submission_versions v
         JOIN submission_payloads p ON p.receipt = v.receipt AND p.version = v.version
         WHERE v.exported_sequence IS NULL AND v.payload_removed_at IS NULL";
    let order = "ORDER BY v.submitted_at, v.receipt, v.version LIMIT ?1";
    match position {
        None => conn
            .prepare_cached(&format!("{select} {order}"))
            .and_then(|mut stmt| stmt.query_map([limit], read)?.collect()),
        Some(after) => conn
            .prepare_cached(&format!(
                "{select} AND (v.submitted_at, v.receipt, v.version) > (?2, ?3, ?4) {order}"
            ))
            .and_then(|mut stmt| {
                stmt.query_map(
                    params![limit, after.submitted_at, after.receipt, after.version],
                    read,
                )?
                .collect()
            }),
    }
    .map_err(db("listing versions to export"))
}

/// Marks `versions` exported in bundle `sequence` (id `bundle_id`) at `at`, on `conn`, so that
/// the caller can do it in the transaction that records the bundle. Each receipt whose newest
/// version is among them and that still shows "received" moves to "in transit" with a history
/// entry. A version exported already is left alone. Returns how many versions were marked.
///
/// Set-based: the pairs go into a temporary table and four statements do the rest, so marking
/// a bundle of 100,000 versions costs a few index lookups per version, not four parsed
/// statements.
pub fn mark_in_transit_on(
    conn: &Connection,
    versions: &[(String, u32)],
    sequence: u64,
    bundle_id: &[u8; 32],
    at: i64,
) -> Result<usize, StoreError> {
    conn.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS exporting (
             receipt TEXT NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (receipt, version)
         ) WITHOUT ROWID;
         DELETE FROM temp.exporting;",
    )
    .map_err(db("preparing to mark versions in transit"))?;
    {
        let mut insert = conn
            .prepare_cached(
                "INSERT OR IGNORE INTO temp.exporting (receipt, version) VALUES (?1, ?2)",
            )
            .map_err(db("marking a version in transit"))?;
        for (receipt, version) in versions {
            insert
                .execute(params![receipt, version])
                .map_err(db("marking a version in transit"))?;
        }
    }
    let sequence = i64_of(sequence);
    let steps: [(&str, &'static str); 4] = [
        (
            "DELETE FROM temp.exporting WHERE NOT EXISTS (
                 SELECT 1 FROM submission_versions v
                 WHERE v.receipt = exporting.receipt AND v.version = exporting.version
                   AND v.exported_sequence IS NULL)",
            "marking a version in transit",
        ),
        (
            "UPDATE submission_versions
             SET exported_bundle_id = ?1, exported_sequence = ?2, in_transit_since = ?3
             WHERE rowid IN (SELECT v.rowid FROM temp.exporting e JOIN submission_versions v
                             ON v.receipt = e.receipt AND v.version = e.version)",
            "marking a version in transit",
        ),
        (
            // CROSS JOIN keeps the bundle's rows the outer loop (SQLite does not reorder it):
            // ordered by r.receipt, the planner walked every receipt in key order instead, so
            // marking slowed down as the store grew.
            "INSERT INTO status_history (receipt, version, state, at, reason, filing_number,
                                         bundle_sequence)
             SELECT r.receipt, r.latest_version, ?4, ?3, NULL, NULL, ?2
             FROM temp.exporting e CROSS JOIN receipts r
               ON r.receipt = e.receipt AND r.latest_version = e.version
             WHERE r.state = ?5
             ORDER BY e.receipt",
            "writing status history",
        ),
        (
            "UPDATE receipts SET state = ?4, state_version = latest_version, bundle_sequence = ?2,
                    in_transit_since = ?3, updated_at = ?3
             WHERE state = ?5 AND receipt IN (SELECT receipt FROM temp.exporting)
               AND EXISTS (SELECT 1 FROM temp.exporting e
                           WHERE e.receipt = receipts.receipt AND e.version = receipts.latest_version)",
            "updating a status row",
        ),
    ];
    let mut marked = 0;
    for (index, (sql, operation)) in steps.into_iter().enumerate() {
        let mut stmt = conn.prepare_cached(sql).map_err(db(operation))?;
        let changed = match index {
            0 => stmt.execute([]),
            1 => stmt.execute(params![&bundle_id[..], sequence, at]),
            _ => stmt.execute(params![
                &bundle_id[..],
                sequence,
                at,
                ReceiptState::InTransit.as_str(),
                ReceiptState::Received.as_str()
            ]),
        }
        .map_err(db(operation))?;
        if index == 1 {
            marked = changed;
        }
    }
    Ok(marked)
}

fn decode_version(
    receipt: &str,
    version: u32,
    bytes: &[u8],
) -> Result<SubmissionVersion, StoreError> {
    let corrupt = |detail: String| StoreError::Corrupt {
        receipt: receipt.to_owned(),
        version,
        detail,
    };
    let config = records::wire_config().with_limit::<MAX_STORED_VERSION_BYTES>();
    let (decoded, used): (SubmissionVersion, usize) =
        bincode::decode_from_slice(bytes, config).map_err(|e| corrupt(e.to_string()))?;
    if used != bytes.len() {
        return Err(corrupt(format!("{} trailing bytes", bytes.len() - used)));
    }
    if !decoded.hash_matches() {
        return Err(corrupt("content hash does not match the body".into()));
    }
    Ok(decoded)
}

#[expect(
    clippy::too_many_arguments,
    reason = "one column per argument reads clearer than a struct built once per call"
)]
fn add_history(
    conn: &Connection,
    receipt: &str,
    version: u32,
    state: ReceiptState,
    at: i64,
    reason: Option<&str>,
    filing_number: Option<&str>,
    bundle_sequence: Option<u64>,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO status_history (receipt, version, state, at, reason, filing_number, bundle_sequence)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            receipt,
            version,
            state.as_str(),
            at,
            reason,
            filing_number,
            bundle_sequence.map(i64_of)
        ])
    })
    .map_err(db("writing status history"))?;
    Ok(())
}

fn insert_version(conn: &Connection, version: &SubmissionVersion) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO submission_versions
           (receipt, version, content_hash, submitted_at, submitter, access_provider)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            version.receipt,
            version.version,
            &version.content_hash[..],
            version.submitted_at,
            version.submitter,
            version.access_provider,
        ])
    })
    .map_err(db("storing a submission version"))?;
    conn.prepare_cached(
        "INSERT INTO submission_payloads (receipt, version, payload) VALUES (?1, ?2, ?3)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            version.receipt,
            version.version,
            encode_version(version)
        ])
    })
    .map_err(db("storing a submission payload"))?;
    Ok(())
}

fn read_status(conn: &Connection, receipt: &str) -> Result<Option<ReceiptStatus>, StoreError> {
    conn.prepare_cached(
        "SELECT receipt, account_id, kind, latest_version, state, state_version, reason,
                filing_number, bundle_sequence, in_transit_since, certificate_ready,
                created_at, updated_at
         FROM receipts WHERE receipt = ?1",
    )
    .and_then(|mut stmt| {
        stmt.query_row([receipt], |row| {
            Ok(ReceiptStatus {
                receipt: row.get(0)?,
                account_id: row.get(1)?,
                kind: row.get(2)?,
                latest_version: u32_col(row.get(3)?),
                state: parse_state(&row.get::<_, String>(4)?),
                state_version: u32_col(row.get(5)?),
                reason: row.get(6)?,
                filing_number: row.get(7)?,
                bundle_sequence: u64_opt(row.get(8)?),
                in_transit_since: row.get(9)?,
                certificate_ready: row.get::<_, i64>(10)? != 0,
                created_at: row.get(11)?,
                updated_at: row.get(12)?,
            })
        })
        .optional()
    })
    .map_err(db("reading a status row"))
}

impl Store {
    /// Opens (creating if needed) the store at `path`, applies migrations and starts the
    /// writer thread.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let mut conn = open_connection(path)?;
        migrate(&mut conn, path)?;
        conn.execute_batch("PRAGMA wal_autocheckpoint = 0")
            .map_err(db("handing checkpoints to the checkpointer"))?;
        let checkpoint_conn = open_connection(path)?;
        let (stop_checkpoints, checkpoint_stop) = mpsc::channel::<()>();
        let checkpointer = std::thread::Builder::new()
            .name("sluice-store-checkpoint".into())
            .spawn(move || checkpoint_loop(checkpoint_conn, checkpoint_stop))
            .map_err(|source| StoreError::Thread {
                name: "checkpoint",
                source,
            })?;
        let (sender, receiver) = mpsc::sync_channel::<Box<dyn WriteJob>>(MAX_QUEUED_WRITES);
        let thread = std::thread::Builder::new()
            .name("sluice-store-writer".into())
            .spawn(move || writer_loop(conn, receiver))
            .map_err(|source| StoreError::Thread {
                name: "writer",
                source,
            })?;
        Ok(Store {
            shared: Arc::new(Shared {
                path: path.to_owned(),
                writer: Mutex::new(Some(sender)),
                writer_thread: Mutex::new(Some(thread)),
                checkpointer: Mutex::new(Some((stop_checkpoints, checkpointer))),
                readers: Mutex::new(Vec::new()),
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    /// Stops taking writes, lets the writer thread commit everything queued, and waits for it.
    pub fn close(&self) {
        shutdown(&self.shared);
    }

    fn queue<T, F>(
        &self,
        work: F,
    ) -> Result<tokio::sync::oneshot::Receiver<Result<T, StoreError>>, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job = Box::new(Job {
            work: Some(work),
            result: None,
            reply,
        });
        let sender = self
            .shared
            .writer
            .lock()
            .map_err(|_| StoreError::Closed)?
            .clone()
            .ok_or(StoreError::Closed)?;
        match sender.try_send(job) {
            Ok(()) => Ok(answer),
            Err(mpsc::TrySendError::Full(_)) => Err(StoreError::Busy),
            Err(mpsc::TrySendError::Disconnected(_)) => Err(StoreError::Closed),
        }
    }

    /// Runs `work` in the writer thread inside the next group commit and returns its result
    /// once the commit is durable.
    pub async fn write<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.queue(work)?.await.map_err(|_| StoreError::Closed)?
    }

    /// Like [`Store::write`], for callers outside the async runtime (the CLI).
    pub fn write_blocking<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.queue(work)?
            .blocking_recv()
            .map_err(|_| StoreError::Closed)?
    }

    fn with_reader<T>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let pooled = self
            .shared
            .readers
            .lock()
            .ok()
            .and_then(|mut pool| pool.pop());
        let conn = match pooled {
            Some(conn) => conn,
            None => open_connection(&self.shared.path)?,
        };
        let result = work(&conn);
        if let Ok(mut pool) = self.shared.readers.lock()
            && pool.len() < 16
        {
            pool.push(conn);
        }
        result
    }

    /// Runs a read on a blocking thread with a pooled read connection.
    pub async fn read<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.with_reader(work))
            .await
            .map_err(|_| StoreError::Closed)?
    }

    /// Like [`Store::read`], for callers outside the async runtime.
    pub fn read_blocking<T>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.with_reader(work)
    }

    // ----- accounts and tokens (CLI, blocking) -----

    /// Creates an account.
    pub fn add_account(&self, name: &str, kind: AccountKind) -> Result<Account, StoreError> {
        let name = name.to_owned();
        self.write_blocking(move |conn| {
            let created_at = now();
            match conn.execute(
                "INSERT INTO accounts (name, kind, created_at) VALUES (?1, ?2, ?3)",
                params![name, kind.as_str(), created_at],
            ) {
                Ok(_) => {}
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if e.code == rusqlite::ErrorCode::ConstraintViolation =>
                {
                    return Err(StoreError::AccountExists(name));
                }
                Err(source) => return Err(db("creating an account")(source)),
            }
            Ok(Account {
                id: conn.last_insert_rowid(),
                name,
                kind,
                disabled: false,
                created_at,
            })
        })
    }

    /// Every account, by name.
    pub fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        self.read_blocking(|conn| {
            let mut stmt = conn
                .prepare("SELECT id, name, kind, disabled, created_at FROM accounts ORDER BY name")
                .map_err(db("listing accounts"))?;
            let rows = stmt
                .query_map([], |row| {
                    let kind: String = row.get(2)?;
                    Ok(Account {
                        id: row.get(0)?,
                        name: row.get(1)?,
                        kind: AccountKind::parse(&kind).unwrap_or(AccountKind::WebsiteOwner),
                        disabled: row.get::<_, i64>(3)? != 0,
                        created_at: row.get(4)?,
                    })
                })
                .map_err(db("listing accounts"))?;
            rows.collect::<Result<Vec<_>, _>>()
                .map_err(db("listing accounts"))
        })
    }

    /// Disables (or re-enables) an account; its tokens stop (or start) working at once.
    pub fn set_account_disabled(&self, name: &str, disabled: bool) -> Result<(), StoreError> {
        let name = name.to_owned();
        self.write_blocking(move |conn| {
            let changed = conn
                .execute(
                    "UPDATE accounts SET disabled = ?2 WHERE name = ?1",
                    params![name, disabled],
                )
                .map_err(db("disabling an account"))?;
            if changed == 0 {
                return Err(StoreError::NoSuchAccount(name));
            }
            Ok(())
        })
    }

    /// Issues a new API token for an account; only its hash is stored.
    pub fn issue_token(&self, account: &str, label: &str) -> Result<IssuedToken, StoreError> {
        use rand_core::RngCore;
        let mut secret_bytes = [0u8; 32];
        rand_core::OsRng.fill_bytes(&mut secret_bytes);
        let secret = format!("sluice_{}", hex::encode(secret_bytes));
        let hash = token_hash(&secret);
        let account = account.to_owned();
        let label = label.to_owned();
        let id = self.write_blocking(move |conn| {
            let account_id: Option<i64> = conn
                .query_row("SELECT id FROM accounts WHERE name = ?1", [&account], |row| row.get(0))
                .optional()
                .map_err(db("finding an account"))?;
            let account_id = account_id.ok_or_else(|| StoreError::NoSuchAccount(account.clone()))?;
            conn.execute(
                "INSERT INTO tokens (account_id, token_hash, label, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![account_id, &hash[..], label, now()],
            )
            .map_err(db("storing a token"))?;
            Ok(conn.last_insert_rowid())
        })?;
        Ok(IssuedToken { id, secret })
    }

    /// Revokes a token by id.
    pub fn revoke_token(&self, id: i64) -> Result<(), StoreError> {
        self.write_blocking(move |conn| {
            let changed = conn
                .execute(
                    "UPDATE tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
                    params![id, now()],
                )
                .map_err(db("revoking a token"))?;
            if changed == 0 {
                return Err(StoreError::NoSuchToken(id));
            }
            Ok(())
        })
    }

    /// Finds who a bearer token belongs to; `None` for unknown, revoked or disabled.
    pub async fn authenticate(&self, secret: &str) -> Result<Option<Principal>, StoreError> {
        let hash = token_hash(secret);
        self.read(move |conn| {
            conn.prepare_cached(
                "SELECT a.id, a.name, a.kind, t.id FROM tokens t JOIN accounts a ON a.id = t.account_id
                 WHERE t.token_hash = ?1 AND t.revoked_at IS NULL AND a.disabled = 0",
            )
            .and_then(|mut stmt| {
                stmt.query_row([&hash[..]], |row| {
                    let kind: String = row.get(2)?;
                    Ok(Principal {
                        account_id: row.get(0)?,
                        account: row.get(1)?,
                        kind: AccountKind::parse(&kind).unwrap_or(AccountKind::WebsiteOwner),
                        token_id: row.get(3)?,
                    })
                })
                .optional()
            })
            .map_err(db("checking a token"))
        })
        .await
    }

    // ----- submissions -----

    /// Stores version 1 of a new receipt, or returns the first answer for a repeated
    /// idempotency key.
    pub async fn insert_submission(
        &self,
        submission: NewSubmission,
    ) -> Result<Inserted, StoreError> {
        self.write(move |conn| insert_submission(conn, submission))
            .await
    }

    /// Stores many new submissions in one transaction (each in its own savepoint), for batches.
    pub async fn insert_submissions(
        &self,
        submissions: Vec<NewSubmission>,
    ) -> Result<Vec<Result<Inserted, StoreError>>, StoreError> {
        self.write(move |conn| {
            Ok(submissions
                .into_iter()
                .map(|submission| {
                    conn.execute_batch("SAVEPOINT row")
                        .map_err(db("opening a savepoint"))?;
                    let result = insert_submission(conn, submission);
                    let end = if result.is_ok() {
                        "RELEASE row"
                    } else {
                        "ROLLBACK TO row; RELEASE row"
                    };
                    conn.execute_batch(end).map_err(db("closing a savepoint"))?;
                    result
                })
                .collect())
        })
        .await
    }

    /// Adds version n+1 to a receipt owned by `account_id`. Versions already stored, exported
    /// or not, are never touched.
    pub async fn add_version(
        &self,
        account_id: i64,
        kind: String,
        subject_key: Option<String>,
        mut version: SubmissionVersion,
    ) -> Result<u32, StoreError> {
        self.write(move |conn| {
            let status = read_status(conn, &version.receipt)?
                .ok_or_else(|| StoreError::NoSuchReceipt(version.receipt.clone()))?;
            if status.account_id != account_id {
                return Err(StoreError::NotOwner(version.receipt.clone()));
            }
            if status.state.is_final() {
                return Err(StoreError::Final {
                    receipt: version.receipt.clone(),
                    state: status.state,
                });
            }
            if status.kind != kind {
                return Err(StoreError::KindChanged {
                    receipt: version.receipt.clone(),
                    stored: status.kind,
                    requested: kind,
                });
            }
            if let Some(subject_key) = &subject_key {
                check_subject_free(conn, subject_key, &version.receipt)?;
                conn.execute(
                    "UPDATE receipts SET subject_key = ?2 WHERE receipt = ?1",
                    params![version.receipt, subject_key],
                )
                .map_err(db("updating the subject"))?;
            }
            let next = status.latest_version.saturating_add(1);
            version.version = next;
            insert_version(conn, &version)?;
            conn.execute(
                "UPDATE receipts SET latest_version = ?2, state = ?3, state_version = ?2,
                        reason = NULL, bundle_sequence = NULL, in_transit_since = NULL, updated_at = ?4
                 WHERE receipt = ?1",
                params![version.receipt, next, ReceiptState::Received.as_str(), version.submitted_at],
            )
            .map_err(db("updating a status row"))?;
            add_history(
                conn,
                &version.receipt,
                next,
                ReceiptState::Received,
                version.submitted_at,
                None,
                None,
                None,
            )?;
            Ok(next)
        })
        .await
    }

    /// A receipt with its status, history, versions and newest stored payload.
    pub async fn receipt(&self, receipt: &str) -> Result<Option<ReceiptRecord>, StoreError> {
        let receipt = receipt.to_owned();
        self.read(move |conn| read_receipt(conn, &receipt)).await
    }

    /// The receipts that name a filing number, newest first.
    pub async fn receipts_for_filing_number(
        &self,
        filing_number: &str,
    ) -> Result<Vec<ReceiptRecord>, StoreError> {
        let filing_number = filing_number.to_owned();
        self.read(move |conn| {
            let receipts: Vec<String> = conn
                .prepare_cached(
                    "SELECT receipt FROM receipts WHERE filing_number = ?1
                     ORDER BY created_at DESC, receipt DESC LIMIT 50",
                )
                .and_then(|mut stmt| {
                    stmt.query_map([&filing_number], |row| row.get(0))?
                        .collect::<Result<Vec<_>, _>>()
                })
                .map_err(db("finding receipts by filing number"))?;
            let mut found = Vec::new();
            for receipt in receipts {
                if let Some(record) = read_receipt(conn, &receipt)? {
                    found.push(record);
                }
            }
            Ok(found)
        })
        .await
    }

    /// A stored certificate document by filing number.
    pub async fn certificate(
        &self,
        filing_number: &str,
    ) -> Result<Option<CertificateRecord>, StoreError> {
        let filing_number = filing_number.to_owned();
        self.read(move |conn| {
            conn.query_row(
                "SELECT filing_number, receipt, issued_at, expires_at, supersedes, document
                 FROM certificates WHERE filing_number = ?1",
                [&filing_number],
                |row| {
                    Ok(CertificateRecord {
                        filing_number: row.get(0)?,
                        receipt: row.get(1)?,
                        issued_at: row.get(2)?,
                        expires_at: row.get(3)?,
                        supersedes: row.get(4)?,
                        document: row.get(5)?,
                    })
                },
            )
            .optional()
            .map_err(db("reading a certificate"))
        })
        .await
    }

    /// Bytes the database file and its WAL take on disk.
    pub fn size_on_disk(&self) -> u64 {
        let mut size = std::fs::metadata(&self.shared.path)
            .map(|m| m.len())
            .unwrap_or(0);
        let mut wal = self.shared.path.clone().into_os_string();
        wal.push("-wal");
        size += std::fs::metadata(PathBuf::from(wal))
            .map(|m| m.len())
            .unwrap_or(0);
        size
    }

    // ----- transitions the transfer side drives -----

    /// The oldest `limit` versions not yet exported that still hold their payload, decoded and
    /// checked (see [`pending_versions`]).
    pub async fn versions_to_export(
        &self,
        limit: usize,
    ) -> Result<Vec<SubmissionVersion>, StoreError> {
        self.read(move |conn| {
            pending_versions(conn, limit)?
                .iter()
                .map(PendingVersion::decode)
                .collect()
        })
        .await
    }

    /// Records that these versions went out in bundle `sequence` (id `bundle_id`) at `at`;
    /// each receipt whose newest version is among them shows "in transit". Returns how many
    /// versions were marked (one already exported is left as it is and not counted).
    pub async fn mark_in_transit(
        &self,
        versions: Vec<(String, u32)>,
        sequence: u64,
        bundle_id: [u8; 32],
        at: i64,
    ) -> Result<usize, StoreError> {
        self.write(move |conn| mark_in_transit_on(conn, &versions, sequence, &bundle_id, at))
            .await
    }

    /// Applies a verified ack: each entry whose receipt, version and content hash match a
    /// stored version removes that version's payload (DESIGN.md invariant 3); anything else
    /// deletes nothing and is reported.
    pub async fn apply_ack(&self, ack: Ack, at: i64) -> Result<AckSummary, StoreError> {
        self.write(move |conn| {
            let mut summary = AckSummary::default();
            let effects = apply_ack_entries_on(conn, &ack.receipts, at)?;
            for (entry, effect) in ack.receipts.iter().zip(effects) {
                match effect {
                    AckEffect::Removed => summary.removed += 1,
                    AckEffect::Already => summary.already += 1,
                    AckEffect::Mismatch => summary
                        .mismatched
                        .push((entry.receipt.clone(), entry.version)),
                }
            }
            Ok(summary)
        })
        .await
    }

    /// Applies a review state change from the inner side; returns false for an event id seen
    /// before. A change about an older version is kept in the history without moving the
    /// current state back. A receipt this store never issued is an error here (see
    /// [`apply_status_change_on`] for the return channel's tolerant form).
    pub async fn apply_status_change(&self, change: StatusChange) -> Result<bool, StoreError> {
        self.write(move |conn| {
            if read_status(conn, &change.receipt)?.is_none() {
                return Err(StoreError::NoSuchReceipt(change.receipt.clone()));
            }
            apply_status_change_on(conn, &change)
        })
        .await
    }

    /// Stores (or replaces) a signed certificate and marks its receipt "certificate ready".
    /// A certificate for a receipt this store never issued is an error.
    pub async fn store_certificate(
        &self,
        certificate: CertificateRecord,
    ) -> Result<(), StoreError> {
        self.write(move |conn| {
            if store_certificate_on(conn, &certificate)? {
                Ok(())
            } else {
                Err(StoreError::NoSuchReceipt(certificate.receipt.clone()))
            }
        })
        .await
    }
}

/// What one ack entry did to the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckEffect {
    /// The acknowledged version's payload was removed now.
    Removed,
    /// The version was acknowledged before; nothing to do.
    Already,
    /// The store has no such version, or its content hash differs: nothing was deleted.
    Mismatch,
}

/// Applies the entries of one ack on `conn`, returning each entry's effect in order: what
/// [`apply_ack_entry_on`] does for each, done set-based (a temporary table and six statements
/// for the whole ack rather than five statements per entry), so that applying the ack of a
/// bundle of 50,000 versions costs a few index lookups per version. An ack that names one
/// version twice is applied entry by entry, which keeps the effects of the repeats exact.
pub fn apply_ack_entries_on(
    conn: &Connection,
    entries: &[records::ReceiptAck],
    at: i64,
) -> Result<Vec<AckEffect>, StoreError> {
    let mut seen = std::collections::HashSet::with_capacity(entries.len());
    if !entries
        .iter()
        .all(|e| seen.insert((e.receipt.as_str(), e.version)))
    {
        return entries
            .iter()
            .map(|entry| apply_ack_entry_on(conn, entry, at))
            .collect();
    }
    drop(seen);
    conn.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS acking (
             position INTEGER PRIMARY KEY, receipt TEXT NOT NULL, version INTEGER NOT NULL,
             content_hash BLOB NOT NULL, outcome TEXT NOT NULL, reason TEXT,
             effect TEXT NOT NULL DEFAULT 'removed'
         );
         CREATE UNIQUE INDEX IF NOT EXISTS temp.acking_version ON acking (receipt, version);
         DELETE FROM temp.acking;",
    )
    .map_err(db("preparing to apply an ack"))?;
    {
        let mut insert = conn
            .prepare_cached(
                "INSERT INTO temp.acking (position, receipt, version, content_hash, outcome, reason)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .map_err(db("applying an ack"))?;
        for (position, entry) in entries.iter().enumerate() {
            insert
                .execute(params![
                    i64::try_from(position).unwrap_or(i64::MAX),
                    entry.receipt,
                    entry.version,
                    &entry.content_hash[..],
                    outcome_name(entry.outcome),
                    entry.reason
                ])
                .map_err(db("applying an ack"))?;
        }
    }
    let delivered = ReceiptState::Review(ReviewState::Delivered);
    let steps: [(&str, &'static str); 6] = [
        (
            // No such version, or another content hash: nothing is deleted.
            "UPDATE temp.acking SET effect = 'mismatch' WHERE NOT EXISTS (
                 SELECT 1 FROM submission_versions v
                 WHERE v.receipt = acking.receipt AND v.version = acking.version
                   AND v.content_hash = acking.content_hash)",
            "reading versions for an ack",
        ),
        (
            "UPDATE temp.acking SET effect = 'already' WHERE effect = 'removed' AND EXISTS (
                 SELECT 1 FROM submission_versions v
                 WHERE v.receipt = acking.receipt AND v.version = acking.version
                   AND v.acknowledged_at IS NOT NULL)",
            "reading versions for an ack",
        ),
        (
            // Driven from the ack's rows (rowid IN …): an UPDATE … FROM would scan every version.
            "UPDATE submission_versions SET acknowledged_at = ?1, payload_removed_at = ?1,
                    ack_outcome = (SELECT a.outcome FROM temp.acking a
                                   WHERE a.receipt = submission_versions.receipt
                                     AND a.version = submission_versions.version)
             WHERE rowid IN (SELECT v.rowid FROM temp.acking a JOIN submission_versions v
                               ON v.receipt = a.receipt AND v.version = a.version
                             WHERE a.effect = 'removed')",
            "applying an ack",
        ),
        (
            "DELETE FROM submission_payloads WHERE rowid IN (
                 SELECT p.rowid FROM temp.acking a JOIN submission_payloads p
                   ON p.receipt = a.receipt AND p.version = a.version
                 WHERE a.effect = 'removed')",
            "removing an acknowledged payload",
        ),
        (
            "INSERT INTO status_history (receipt, version, state, at, reason, filing_number,
                                         bundle_sequence)
             SELECT a.receipt, a.version, ?2, ?1, a.reason, NULL, NULL
             FROM temp.acking a JOIN receipts r
               ON r.receipt = a.receipt AND r.state_version = a.version
             WHERE a.effect = 'removed' AND r.state IN (?3, ?4)
             ORDER BY a.position",
            "writing status history",
        ),
        (
            "UPDATE receipts SET state = ?2, updated_at = ?1
             WHERE rowid IN (SELECT r.rowid FROM temp.acking a JOIN receipts r
                               ON r.receipt = a.receipt AND r.state_version = a.version
                             WHERE a.effect = 'removed' AND r.state IN (?3, ?4))",
            "updating a status row",
        ),
    ];
    for (index, (sql, operation)) in steps.into_iter().enumerate() {
        let mut stmt = conn.prepare_cached(sql).map_err(db(operation))?;
        match index {
            0 | 1 | 3 => stmt.execute([]),
            2 => stmt.execute([at]),
            _ => stmt.execute(params![
                at,
                delivered.as_str(),
                ReceiptState::Received.as_str(),
                ReceiptState::InTransit.as_str()
            ]),
        }
        .map_err(db(operation))?;
    }
    let effects = conn
        .prepare_cached("SELECT effect FROM temp.acking ORDER BY position")
        .and_then(|mut stmt| {
            stmt.query_map([], |row| {
                Ok(match row.get_ref(0)?.as_str()? {
                    "mismatch" => AckEffect::Mismatch,
                    "already" => AckEffect::Already,
                    _ => AckEffect::Removed,
                })
            })?
            .collect::<Result<Vec<_>, _>>()
        })
        .map_err(db("applying an ack"))?;
    Ok(effects)
}

/// Applies one ack entry on `conn`: removes the payload of exactly the acknowledged version
/// when its content hash matches (DESIGN.md invariant 3; never a newer version) and moves a
/// receipt still waiting on that version to "delivered" with a history entry.
pub fn apply_ack_entry_on(
    conn: &Connection,
    entry: &records::ReceiptAck,
    at: i64,
) -> Result<AckEffect, StoreError> {
    let stored: Option<(Vec<u8>, Option<i64>)> = conn
        .prepare_cached(
            "SELECT content_hash, acknowledged_at FROM submission_versions
             WHERE receipt = ?1 AND version = ?2",
        )
        .and_then(|mut stmt| {
            stmt.query_row(params![entry.receipt, entry.version], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .optional()
        })
        .map_err(db("reading a version for an ack"))?;
    let Some((hash, acknowledged)) = stored else {
        return Ok(AckEffect::Mismatch);
    };
    if hash_col(hash) != entry.content_hash {
        return Ok(AckEffect::Mismatch);
    }
    if acknowledged.is_some() {
        return Ok(AckEffect::Already);
    }
    conn.prepare_cached(
        "UPDATE submission_versions SET acknowledged_at = ?3, ack_outcome = ?4,
                payload_removed_at = ?3
         WHERE receipt = ?1 AND version = ?2",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            entry.receipt,
            entry.version,
            at,
            outcome_name(entry.outcome)
        ])
    })
    .map_err(db("applying an ack"))?;
    conn.prepare_cached("DELETE FROM submission_payloads WHERE receipt = ?1 AND version = ?2")
        .and_then(|mut stmt| stmt.execute(params![entry.receipt, entry.version]))
        .map_err(db("removing an acknowledged payload"))?;
    let delivered = ReceiptState::Review(ReviewState::Delivered);
    let moved = conn
        .prepare_cached(
            "UPDATE receipts SET state = ?3, state_version = ?2, updated_at = ?4
             WHERE receipt = ?1 AND state_version = ?2 AND state IN (?5, ?6)",
        )
        .and_then(|mut stmt| {
            stmt.execute(params![
                entry.receipt,
                entry.version,
                delivered.as_str(),
                at,
                ReceiptState::Received.as_str(),
                ReceiptState::InTransit.as_str()
            ])
        })
        .map_err(db("updating a status row"))?;
    if moved > 0 {
        add_history(
            conn,
            &entry.receipt,
            entry.version,
            delivered,
            at,
            entry.reason.as_deref(),
            None,
            None,
        )?;
    }
    Ok(AckEffect::Removed)
}

/// Applies a review state change on `conn`; false for an event id seen before or a receipt
/// this store never issued (another node's, on a shared return channel). A change about an
/// older version is kept in the history without moving the current state back.
pub fn apply_status_change_on(
    conn: &Connection,
    change: &StatusChange,
) -> Result<bool, StoreError> {
    let row: Option<(i64, Option<i64>)> = conn
        .prepare_cached("SELECT state_version, last_event_id FROM receipts WHERE receipt = ?1")
        .and_then(|mut stmt| {
            stmt.query_row([&change.receipt], |row| Ok((row.get(0)?, row.get(1)?)))
                .optional()
        })
        .map_err(db("reading a status row"))?;
    let Some((state_version, last_event)) = row else {
        return Ok(false);
    };
    let event = i64_of(change.event_id);
    if last_event.is_some_and(|last| last >= event) {
        return Ok(false);
    }
    let state = ReceiptState::Review(change.state);
    add_history(
        conn,
        &change.receipt,
        change.version,
        state,
        change.at,
        change.reason.as_deref(),
        change.filing_number.as_deref(),
        None,
    )?;
    if i64::from(change.version) >= state_version {
        conn.prepare_cached(
            "UPDATE receipts SET state = ?2, state_version = ?3, reason = ?4,
                    filing_number = COALESCE(?5, filing_number), last_event_id = ?6, updated_at = ?7
             WHERE receipt = ?1",
        )
        .and_then(|mut stmt| {
            stmt.execute(params![
                change.receipt,
                state.as_str(),
                change.version,
                change.reason,
                change.filing_number,
                event,
                change.at
            ])
        })
        .map_err(db("updating a status row"))?;
    } else {
        conn.prepare_cached("UPDATE receipts SET last_event_id = ?2 WHERE receipt = ?1")
            .and_then(|mut stmt| stmt.execute(params![change.receipt, event]))
            .map_err(db("updating a status row"))?;
    }
    Ok(true)
}

/// Stores (or replaces) a signed certificate on `conn` and marks its receipt "certificate
/// ready"; false, storing nothing, for a receipt this store never issued.
pub fn store_certificate_on(
    conn: &Connection,
    certificate: &CertificateRecord,
) -> Result<bool, StoreError> {
    let known: Option<i64> = conn
        .prepare_cached("SELECT 1 FROM receipts WHERE receipt = ?1")
        .and_then(|mut stmt| {
            stmt.query_row([&certificate.receipt], |row| row.get(0))
                .optional()
        })
        .map_err(db("reading a status row"))?;
    if known.is_none() {
        return Ok(false);
    }
    conn.prepare_cached(
        "INSERT INTO certificates (filing_number, receipt, issued_at, expires_at, supersedes, document)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (filing_number) DO UPDATE SET receipt = excluded.receipt,
            issued_at = excluded.issued_at, expires_at = excluded.expires_at,
            supersedes = excluded.supersedes, document = excluded.document",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            certificate.filing_number,
            certificate.receipt,
            certificate.issued_at,
            certificate.expires_at,
            certificate.supersedes,
            certificate.document
        ])
    })
    .map_err(db("storing a certificate"))?;
    conn.prepare_cached(
        "UPDATE receipts SET certificate_ready = 1, filing_number = COALESCE(filing_number, ?2)
         WHERE receipt = ?1",
    )
    .and_then(|mut stmt| stmt.execute(params![certificate.receipt, certificate.filing_number]))
    .map_err(db("updating a status row"))?;
    Ok(true)
}

fn outcome_name(outcome: ImportOutcome) -> &'static str {
    match outcome {
        ImportOutcome::Applied => "applied",
        ImportOutcome::AlreadyApplied => "already_applied",
        ImportOutcome::Superseded => "superseded",
        ImportOutcome::Conflict => "conflict",
        ImportOutcome::Rejected => "rejected",
    }
}

/// Refuses a subject that another live receipt (not `except`) already files.
fn check_subject_free(
    conn: &Connection,
    subject_key: &str,
    except: &str,
) -> Result<(), StoreError> {
    let found: Option<(String, String)> = conn
        .prepare_cached(
            "SELECT receipt, state FROM receipts
             WHERE subject_key = ?1 AND receipt <> ?2
               AND state NOT IN ('rejected', 'cancelled', 'withdrawn')
             LIMIT 1",
        )
        .and_then(|mut stmt| {
            stmt.query_row(params![subject_key, except], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .optional()
        })
        .map_err(db("checking the subject"))?;
    match found {
        Some((receipt, state)) => Err(StoreError::SubjectAlreadyFiled {
            receipt,
            state: parse_state(&state),
        }),
        None => Ok(()),
    }
}

fn insert_submission(conn: &Connection, submission: NewSubmission) -> Result<Inserted, StoreError> {
    let version = &submission.version;
    if let Some((key, request_hash)) = &submission.idempotency {
        let seen: Option<(Vec<u8>, String, i64)> = conn
            .prepare_cached(
                "SELECT request_hash, receipt, version FROM idempotency_keys
                 WHERE account_id = ?1 AND key = ?2",
            )
            .and_then(|mut stmt| {
                stmt.query_row(params![submission.account_id, key], |row| {
                    Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                })
                .optional()
            })
            .map_err(db("checking an idempotency key"))?;
        if let Some((hash, receipt, version)) = seen {
            if hash_col(hash) != *request_hash {
                return Err(StoreError::IdempotencyKeyReused(key.clone()));
            }
            return Ok(Inserted::Replayed {
                receipt,
                version: u32_col(version),
            });
        }
    }
    if let Some(subject_key) = &submission.subject_key {
        check_subject_free(conn, subject_key, &version.receipt)?;
    }
    conn.prepare_cached(
        "INSERT INTO receipts (receipt, account_id, kind, latest_version, state, state_version,
                               filing_number, created_at, updated_at, subject_key)
         VALUES (?1, ?2, ?3, ?4, ?5, ?4, ?6, ?7, ?7, ?8)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            version.receipt,
            submission.account_id,
            submission.kind,
            version.version,
            ReceiptState::Received.as_str(),
            submission.filing_number,
            version.submitted_at,
            submission.subject_key
        ])
    })
    .map_err(db("creating a status row"))?;
    insert_version(conn, version)?;
    add_history(
        conn,
        &version.receipt,
        version.version,
        ReceiptState::Received,
        version.submitted_at,
        None,
        None,
        None,
    )?;
    if let Some((key, request_hash)) = &submission.idempotency {
        conn.prepare_cached(
            "INSERT INTO idempotency_keys (account_id, key, request_hash, receipt, version, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .and_then(|mut stmt| {
            stmt.execute(params![
                submission.account_id,
                key,
                &request_hash[..],
                version.receipt,
                version.version,
                version.submitted_at
            ])
        })
        .map_err(db("storing an idempotency key"))?;
    }
    Ok(Inserted::Created {
        receipt: version.receipt.clone(),
        version: version.version,
    })
}

fn read_receipt(conn: &Connection, receipt: &str) -> Result<Option<ReceiptRecord>, StoreError> {
    let Some(status) = read_status(conn, receipt)? else {
        return Ok(None);
    };
    let history = conn
        .prepare_cached(
            "SELECT version, state, at, reason, filing_number, bundle_sequence
             FROM status_history WHERE receipt = ?1 ORDER BY id",
        )
        .and_then(|mut stmt| {
            stmt.query_map([receipt], |row| {
                Ok(HistoryEntry {
                    version: u32_col(row.get(0)?),
                    state: parse_state(&row.get::<_, String>(1)?),
                    at: row.get(2)?,
                    reason: row.get(3)?,
                    filing_number: row.get(4)?,
                    bundle_sequence: u64_opt(row.get(5)?),
                })
            })?
            .collect::<Result<Vec<_>, _>>()
        })
        .map_err(db("reading status history"))?;
    let mut latest_payload: Option<(u32, Vec<u8>)> = None;
    let versions = conn
        .prepare_cached(
            "SELECT v.version, v.content_hash, v.submitted_at, v.submitter, v.access_provider,
                    v.exported_sequence, v.in_transit_since, v.acknowledged_at, p.payload
             FROM submission_versions v
             LEFT JOIN submission_payloads p ON p.receipt = v.receipt AND p.version = v.version
             WHERE v.receipt = ?1 ORDER BY v.version",
        )
        .and_then(|mut stmt| {
            let mut rows = stmt.query([receipt])?;
            let mut versions = Vec::new();
            while let Some(row) = rows.next()? {
                let payload: Option<Vec<u8>> = row.get(8)?;
                let version = u32_col(row.get(0)?);
                let payload_stored = payload.is_some();
                if let Some(payload) = payload {
                    latest_payload = Some((version, payload));
                }
                versions.push(VersionInfo {
                    version,
                    content_hash: hash_col(row.get(1)?),
                    submitted_at: row.get(2)?,
                    submitter: row.get(3)?,
                    access_provider: row.get(4)?,
                    exported_sequence: u64_opt(row.get(5)?),
                    in_transit_since: row.get(6)?,
                    acknowledged_at: row.get(7)?,
                    payload_stored,
                });
            }
            Ok(versions)
        })
        .map_err(db("reading versions"))?;
    let latest = match latest_payload {
        Some((version, payload)) => Some(decode_version(receipt, version, &payload)?),
        None => None,
    };
    Ok(Some(ReceiptRecord {
        status,
        history,
        versions,
        latest,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store written before payloads had a table of their own keeps every payload it held
    /// when it is opened by this version, and one whose ack already removed it stays removed.
    #[test]
    fn payloads_stored_before_their_own_table_move_there_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outer.sqlite");
        {
            let conn = Connection::open(&path).unwrap();
            for (index, sql) in MIGRATIONS.iter().take(4).enumerate() {
                conn.execute_batch(sql).unwrap();
                conn.pragma_update(None, "user_version", index + 1).unwrap();
            }
            conn.execute_batch(
                "INSERT INTO accounts (id, name, kind, created_at)
                     VALUES (1, 'owner', 'website_owner', 0);
                 INSERT INTO receipts (receipt, account_id, kind, latest_version, state,
                                       state_version, created_at, updated_at)
                     VALUES ('R1', 1, 'new_filing', 2, 'received', 2, 0, 0);
                 INSERT INTO submission_versions (receipt, version, content_hash, submitted_at,
                                                  submitter, payload, acknowledged_at,
                                                  payload_removed_at)
                     VALUES ('R1', 1, x'01', 0, 'owner', NULL, 7, 7),
                            ('R1', 2, x'02', 0, 'owner', x'c0ffee', NULL, NULL);",
            )
            .unwrap();
        }
        let store = Store::open(&path).unwrap();
        drop(store);
        let conn = Connection::open(&path).unwrap();
        let payloads: Vec<(u32, Vec<u8>)> = conn
            .prepare("SELECT version, payload FROM submission_payloads ORDER BY version")
            .unwrap()
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(payloads, vec![(2, vec![0xc0, 0xff, 0xee])]);
        let pending: i64 = conn
            .query_row(
                "SELECT count(*) FROM submission_versions
                 WHERE exported_sequence IS NULL AND payload_removed_at IS NULL",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(pending, 1, "only version 2 still waits for export");
    }
}
