//! The outer SQLite store: submission versions, the status row every receipt keeps for good,
//! status history, accounts and hashed API tokens, idempotency keys, certificates, and the
//! transfer ledgers ([`ledger`]): each version's sequence number, one outbox row per bundle
//! naming the range of versions it holds, and each version's ack.
//!
//! One writer thread owns the only write connection. Callers queue write jobs; the thread takes
//! every job waiting, runs each inside its own savepoint of one transaction and commits once, so
//! concurrent submissions share one fsync (group commit) and a failing job never undoes the
//! others. Reads use a small pool of read-only connections on blocking threads, so the async
//! runtime never waits on SQLite. WAL mode with `synchronous=FULL`: a job's reply is sent only
//! after its transaction is durable.
//!
//! Each concern has its own file: [`Store`] itself (opening, the writer and reader plumbing) lives
//! here; the schema and its migrations (numbered SQL files in `outer/migrations/`) in `schema`;
//! accounts and tokens, the browser's accounts (`web_accounts`: passwords, e-mailed codes,
//! sessions), receipts and their versions, status and its history, export, acks,
//! refused bundles, certificates, filing passwords and the public register each in a module of that name. Every public item is re-exported here, so callers
//! name it `outer::store::Item` whatever file it lives in. Functions ending in `_on` take a
//! connection, so the transfer tool can run them inside its own transaction.

mod accounts;
mod acks;
mod approved_records;
mod certificates;
mod error;
mod export;
mod filing_passwords;
pub mod ledger;
pub mod notifications;
pub mod ops;
mod provider_checks;
mod receipts;
pub mod reconcile;
mod refusals;
mod register;
mod schema;
mod status;
mod web_accounts;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use rusqlite::Connection;

pub use accounts::{Account, AccountKind, IssuedToken, Principal, token_hash};
pub use acks::{
    AckEffect, AckSummary, RangeAckEffect, apply_ack_entries_on, apply_ack_entry_on,
    apply_range_ack_on,
};
pub use approved_records::{
    ApprovedRecordSummary, ApprovedRecordView, MAX_LISTED_APPROVED_RECORDS,
    apply_approved_record_on,
};
pub use certificates::{
    Revoked, certificate_standing_on, revoke_certificate_on, store_certificate_on,
};
pub use error::StoreError;
pub use export::{
    PendingVersion, exported_through_on, pending_versions, pending_versions_after, range_of,
};
pub use filing_passwords::{PasswordDownload, UnseenPassword, apply_filing_password_on};
pub use provider_checks::{AwaitingCheck, MAX_LISTED_CHECKS};
pub use receipts::{Inserted, NewSubmission, ReceiptRecord, VersionInfo};
pub use refusals::{RefusedBundle, record_signed_again_on, refuse_bundle_on, refused_bundles_on};
pub use register::{
    MAX_REGISTER_QUERY_CHARS, MAX_REGISTER_RESULTS, RegisterQuery, RegisterWebsiteView,
    apply_register_entry_on, apply_register_removal_on, normalise_domain, query_register_on,
    register_removal_on,
};
pub use status::{
    HistoryEntry, ReceiptState, ReceiptStatus, StatusApplied, apply_status_change_counting_on,
    apply_status_change_on,
};
pub use web_accounts::{
    CodeOutcome, CodePurpose, LoginRecord, MAX_CODE_FAILURES, MAX_LISTED_ACCOUNTS,
    MAX_LIVE_TOKENS_PER_ACCOUNT, MIN_SECS_BETWEEN_CODES, NewWebAccount, Session, TokenInfo,
    UNVERIFIED_REGISTRATION_SECS, WebAccount,
};

use writer::{Job, WriteJob, writer_loop};

/// Most write jobs one group commit takes.
pub const MAX_GROUP_COMMIT: usize = 512;
/// Most write jobs waiting for the writer thread before callers are told the store is busy.
pub const MAX_QUEUED_WRITES: usize = 8192;
/// Most bytes of an encoded submission version the store reads back.
pub const MAX_STORED_VERSION_BYTES: usize = 64 * 1024 * 1024;

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

/// Wraps an SQLite error with what the store was doing.
fn db(operation: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError {
    move |source| StoreError::Database { operation, source }
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn u32_col(value: i64) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

/// Stored integers are written from `u64` values; a negative one reads as 0.
fn u64_of(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
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

/// Starts the store's thread `sluice-store-{name}`.
fn spawn_thread<T: Send + 'static>(
    name: &'static str,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<std::thread::JoinHandle<T>, StoreError> {
    std::thread::Builder::new()
        .name(format!("sluice-store-{name}"))
        .spawn(work)
        .map_err(|source| StoreError::Thread { name, source })
}

impl Store {
    /// Opens (creating if needed) the store at `path`, applies migrations and starts the
    /// writer thread.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let mut conn = open_connection(path)?;
        schema::migrate(&mut conn, path)?;
        conn.execute_batch("PRAGMA wal_autocheckpoint = 0")
            .map_err(db("handing checkpoints to the checkpointer"))?;
        let checkpoint_conn = open_connection(path)?;
        let (stop_checkpoints, checkpoint_stop) = mpsc::channel::<()>();
        let checkpointer = spawn_thread("checkpoint", move || {
            checkpoint_loop(checkpoint_conn, checkpoint_stop)
        })?;
        let (sender, receiver) = mpsc::sync_channel::<Box<dyn WriteJob>>(MAX_QUEUED_WRITES);
        let thread = spawn_thread("writer", move || writer_loop(conn, receiver))?;
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
}
