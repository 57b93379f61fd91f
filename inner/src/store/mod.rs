//! The inner store's core: what every feature (import, review, certificates, query, the command
//! line) shares and what itself uses none of them. It holds the mapping of database errors,
//! the names submission kinds are stored under, and the recording of review events; the return
//! queue that those events and the import's acks feed is its sibling [`crate::returns`].
//!
//! Features call down into this module and into [`crate::returns`], never the other way round,
//! so a feature can be changed or split without touching the others.

pub(crate) mod events;
pub(crate) mod kinds;
pub(crate) mod versions;

/// Why a core step (recording a review event, queueing a record for the return channel)
/// failed. Each feature's own error type takes it in through `From`, so a caller sees the same
/// variants and messages as for the feature's own steps.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database failed.
    #[error("database error while {step}: {}", describe(source))]
    Database {
        /// What was being done.
        step: &'static str,
        /// The error.
        #[source]
        source: postgres::Error,
    },
    /// A record could not be encoded.
    #[error("cannot encode {what}: {message}")]
    Encode {
        /// What was encoded.
        what: &'static str,
        /// The encoder's message.
        message: String,
    },
    /// A stored submission version cannot be read back.
    #[error("stored version {version} of receipt {receipt} {problem}")]
    StoredVersion {
        /// The receipt.
        receipt: String,
        /// The version.
        version: i64,
        /// What is wrong.
        problem: String,
    },
    /// A stored row holds a name no wire value has (a normalised row written by something
    /// else).
    #[error("cannot read a stored {what}: {message}")]
    StoredName {
        /// What was read.
        what: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The receipt left the state a transition starts from before it could be recorded.
    #[error("receipt {receipt}: is no longer {from}")]
    StateMoved {
        /// The receipt.
        receipt: String,
        /// The state name the transition expected.
        from: &'static str,
    },
}

/// Maps a database error of the step `step` to a [`StoreError`].
pub(crate) fn db(step: &'static str) -> impl FnOnce(postgres::Error) -> StoreError {
    move |source| StoreError::Database { step, source }
}

/// A database error as one line: the server's message and detail when it sent one (the
/// client library's own `Display` only says "db error").
pub(crate) fn describe(error: &postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => match db.detail() {
            Some(detail) => format!("{} ({detail})", db.message()),
            None => db.message().to_owned(),
        },
        None => error.to_string(),
    }
}
