//! The outer host's half: `export` (submission versions → signed bundles in the outbox, kept in
//! the retained outbox until acknowledged), `apply` (verified return bundles → the SQLite
//! store: acks delete exactly the acknowledged versions' payloads (a range ack a whole bundle's
//! at once when its members digest matches), statuses, certificates, and
//! re-publication of whatever the inner side reports missing; keyset bundles install the next
//! keyset version) and `publish-keyset` (a new keyset version → a keyset bundle on the
//! submissions channel).
//!
//! Transfer's bookkeeping lives in the outer SQLite file, in the ledger tables of the outer
//! store, reached only through [`outer::store::ledger`]'s typed functions: the send state of
//! the submissions channel, the retained outbox index, the return-channel ledger and the keyset
//! versions installed. Export records each bundle as one outbox row naming the range of
//! versions it holds, in one transaction; the file is written to the retained outbox before
//! that transaction and published to the outbox after it, so a crash leaves either no trace of
//! the bundle (an orphan file in `retained/` that the next run removes) or a recorded bundle the
//! next run publishes.
//!
//! The stages live in their own modules: [`export`](export()) and the resending of retained
//! bundles, [`apply`](apply()) of return bundles, the keyset versions this host publishes and
//! installs, `status`, and the applying of one return bundle's records. What the outer side does
//! exactly as the inner side does (reading and judging inbox files, quarantining, archiving,
//! writing bundles into the retained outbox) is in the crate's shared module, not here.

mod apply;
mod export;
mod keysets;
mod ledger;
mod reconcile;
mod resend;
mod settings;
mod status;

use std::path::Path;

use outer::store::{Store, StoreError};

use crate::spool::SpoolError;

pub use crate::common::receive::chain_refusal;
pub use crate::common::send::BundleSummary;
pub use apply::{
    ApplyFileReport, ApplyReport, ApplySettings, apply, apply_file, apply_with_progress,
};
pub use export::{export, export_with_progress};
pub use keysets::{
    PublishKeysetReport, install_recorded_keysets, publish_keyset, recorded_keysets,
};
pub use ledger::RangeFallback;
pub use reconcile::{Finding, ReconcileReport, ReconcileSettings, reconcile};
pub use resend::republish;
pub use settings::{ExportReport, ExportSettings};
pub use status::{OuterStatus, Unacknowledged, record_ops_samples, status};

/// Why an outer-side operation failed (nothing was half-applied).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OuterError {
    /// The outer store failed.
    #[error("outer store: {0}")]
    Store(#[from] StoreError),
    /// A spool directory operation failed.
    #[error(transparent)]
    Spool(#[from] SpoolError),
    /// Writing a bundle failed.
    #[error("writing a bundle: {0}")]
    Write(#[from] bundle_format::WriteError),
    /// Another export ran at the same time and took the sequence numbers first.
    #[error(
        "another export advanced channel {channel} to sequence {found} while this one wrote \
         sequence {expected}; nothing of this run was recorded, run export again"
    )]
    ConcurrentExport {
        /// The channel.
        channel: u32,
        /// Sequence this run started from.
        expected: u64,
        /// Sequence found at commit.
        found: u64,
    },
    /// The async runtime for the store could not start.
    #[error("starting the store runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// The trusted keysets could not be brought up to date or a version not installed.
    #[error(transparent)]
    Keysets(#[from] crate::keysets::KeysetStoreError),
    /// `publish-keyset` publishes nothing: not the next version, or trusted here already.
    #[error(transparent)]
    Publish(#[from] crate::keysets::PublishRefusal),
}

/// The outer store opened for transfer work.
pub struct OuterHost {
    store: Store,
    runtime: tokio::runtime::Runtime,
}

impl OuterHost {
    /// Opens the outer store at `path`, creating and migrating it if needed (the store's
    /// migrations include transfer's tables). Must not be called from inside an async runtime.
    pub fn open(path: &Path) -> Result<OuterHost, OuterError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(OuterError::Runtime)?;
        let store = Store::open(path)?;
        Ok(OuterHost { store, runtime })
    }

    /// The outer store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Runs one of the store's async calls to completion.
    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }
}
