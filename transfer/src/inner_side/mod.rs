//! The inner host's half: `import` (verified submissions, heartbeat and keyset bundles →
//! PostgreSQL, each in one transaction with its ledger row), `return` (the return queue → a
//! signed return bundle in the outbox) and `publish-keyset` (a new keyset version → a keyset
//! bundle on the return channel).
//!
//! A file `import` refuses is quarantined with a reason file whose stable code is one of: the
//! bundle format's own (`envelope.*`, `header.*`, `bundle.*`, `payload.*`, bundle-format's
//! SPEC.md §11; a file whose unverified header is unusable is named for its signature when that
//! does not hold), `file.too-large`, `file.unreadable`, `channel.not-accepted`,
//! `kind.not-importable`, `chain.fork`, `chain.rollback`, `chain.expired`, `chain.stale`, and
//! [`crate::recheck::BREAKS_FILING_RULE`] (`record.breaks-filing-rule`: a record breaks a
//! filing rule the outer intake enforces; see [`crate::recheck`]), and for a keyset bundle whose
//! keyset is not installed `keyset.not-next-version`, `keyset.threshold-not-met`,
//! `keyset.bad-signature`, `keyset.key-reused`, `keyset.revocation-withdrawn`, `keyset.version-conflict`,
//! `keyset.malformed` (see [`crate::keysets`]). Nothing of a quarantined bundle is applied and
//! no ledger row is written for it.
//!
//! Transfer keeps its chain bookkeeping in tables prefixed `transfer_` in the inner database
//! (created by the inner migrations): every bundle received (with the `previous` link the chain
//! check needs), every return bundle sent, and every keyset version installed. They are written
//! in the same transaction as the import or as the marking of the return entries sent.
//!
//! The stages live in their own modules: [`import`](import()), [`write_return`], the keyset
//! versions this host publishes and installs, `status`, and the SQL of the ledger tables they
//! share. What the inner side does exactly as the outer side does (reading and judging inbox
//! files, quarantining, archiving, writing bundles into the retained outbox) is in the crate's
//! shared module, not here.

mod import;
mod keysets;
mod ledger;
mod returns;
mod status;

use postgres::{Client, Transaction};

use crate::spool::SpoolError;

pub use import::{
    ImportFileReport, ImportReport, ImportSettings, ReceiptReport, import, import_file,
    import_with_progress,
};
pub use keysets::{
    PublishKeysetReport, install_recorded_keysets, publish_keyset, recorded_keysets,
};
pub use returns::{ReturnReport, ReturnSettings, write_return};
pub use status::{ChannelStatus, InnerStatus, ReceiptStatus, record_ops_samples, status};

/// Why an inner-side operation failed (its transaction was rolled back).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InnerError {
    /// The database failed.
    #[error("inner database while {step}: {source}")]
    Database {
        /// What was being done.
        step: &'static str,
        /// The error.
        #[source]
        source: postgres::Error,
    },
    /// The inner schema could not be migrated.
    #[error(transparent)]
    Migration(#[from] inner::schema::MigrationError),
    /// The database could not be reached (a bad URL, a refused TLS certificate, a server down).
    #[error("inner database: {error}{}", inner::db::causes(error))]
    Connect {
        /// What failed.
        #[from]
        error: inner::db::DbError,
    },
    /// Applying a bundle failed for a reason that is not the bundle's fault.
    #[error(transparent)]
    Apply(inner::import::ApplyError),
    /// Reading or writing a transfer ledger failed.
    #[error(transparent)]
    Ledger(#[from] inner::store::StoreError),
    /// Reading or marking the return queue failed.
    #[error(transparent)]
    Returns(#[from] inner::returns::ReturnError),
    /// A spool directory operation failed.
    #[error(transparent)]
    Spool(#[from] SpoolError),
    /// Writing a bundle failed.
    #[error("writing a return bundle: {0}")]
    Write(#[from] bundle_format::WriteError),
    /// The trusted keysets could not be brought up to date or a version not installed.
    #[error(transparent)]
    Keysets(#[from] crate::keysets::KeysetStoreError),
    /// `publish-keyset` publishes nothing: not the next version, or trusted here already.
    #[error(transparent)]
    Publish(#[from] crate::keysets::PublishRefusal),
}

pub(super) fn db(step: &'static str) -> impl FnOnce(postgres::Error) -> InnerError {
    move |source| InnerError::Database { step, source }
}

/// Key of the advisory lock transfer's import and return take ("sluice-T").
const TRANSFER_LOCK: i64 = 0x736c_7569_6365_2d54;
/// First key of the per-channel advisory locks ("sl-T"); the second is the channel. PostgreSQL
/// keeps two-key locks apart from one-key locks, so these never meet [`TRANSFER_LOCK`].
const CHANNEL_LOCK_CLASS: i32 = 0x736c_2d54;

/// Starts a transaction that holds the transfer lock exclusively until it ends: returns,
/// keyset bundles and keyset publications, which read or change what every channel shares, run
/// alone.
pub(super) fn locked_transaction(client: &mut Client) -> Result<Transaction<'_>, InnerError> {
    let mut tx = client.transaction().map_err(db("starting a transaction"))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&TRANSFER_LOCK])
        .map_err(db("taking the transfer lock"))?;
    Ok(tx)
}

/// Starts a transaction for one channel's import: the transfer lock shared (so no return or
/// keyset change runs meanwhile) and the channel's own lock exclusively, so that imports of
/// different channels run side by side and two of one channel take turns (docs/SCALING.md).
pub(super) fn channel_transaction(
    client: &mut Client,
    channel: keys::ChannelId,
) -> Result<Transaction<'_>, InnerError> {
    let mut tx = client.transaction().map_err(db("starting a transaction"))?;
    tx.execute("SELECT pg_advisory_xact_lock_shared($1)", &[&TRANSFER_LOCK])
        .map_err(db("taking the transfer lock, shared"))?;
    tx.execute(
        "SELECT pg_advisory_xact_lock($1, $2)",
        &[&CHANNEL_LOCK_CLASS, &channel_key(channel)],
    )
    .map_err(db("taking the channel's import lock"))?;
    Ok(tx)
}

/// A channel number as the second key of a two-key advisory lock: its 32 bits as they are, so
/// every channel has its own key.
pub(super) fn channel_key(channel: keys::ChannelId) -> i32 {
    i32::from_ne_bytes(channel.0.to_ne_bytes())
}

/// Connects to the inner database and applies the inner schema's migrations (which include
/// transfer's tables).
pub fn connect(url: &str) -> Result<Client, InnerError> {
    let mut client = inner::db::connect(url)?;
    prepare(&mut client)?;
    Ok(client)
}

/// Applies the inner migrations (transfer's tables among them) on an open connection.
pub fn prepare(client: &mut Client) -> Result<(), InnerError> {
    inner::import::configure_session(client).map_err(InnerError::Apply)?;
    inner::schema::migrate(client)?;
    Ok(())
}
