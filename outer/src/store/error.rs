//! The store's one error type: what went wrong, with the receipt, path or operation a reader
//! needs to act on it.

use std::path::PathBuf;

use super::ReceiptState;

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
    /// A record kept from a return bundle does not decode, or a record could not be encoded
    /// to be kept.
    #[error("{what} is corrupt: {detail}")]
    CorruptRecord {
        /// What was read or written.
        what: &'static str,
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
    /// Another receipt of the same account already files this subject and is neither
    /// rejected, cancelled nor withdrawn: edit that receipt, or file a change once it is
    /// approved. (Receipts of other accounts are never named: see the store's subject rule.)
    #[error(
        "your receipt {receipt} already files this subject ({state}); edit it, or file a change once it is approved"
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
