//! The sending side's steps that export, return and `publish-keyset` share on both hosts: a
//! sealed bundle goes into the retained outbox under its canonical name before anything records
//! it, and is summarised the same way in every report.

use std::path::Path;

use bundle_format::SealedBundle;

use crate::keysets::{KeysetStore, KeysetStoreError};
use crate::spool;

/// One bundle an export wrote or published again.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BundleSummary {
    /// Bundle id, hex.
    pub bundle_id: String,
    /// Kind.
    pub kind: String,
    /// Sequence number.
    pub sequence: u64,
    /// Records it holds.
    pub records: usize,
    /// File name in the outbox.
    pub file: String,
}

/// Writes a sealed bundle into the retained outbox `retained` atomically, under the name made
/// from its header and id; returns that name. Shaped for a [`bundle_format::BundleWriter`] sink.
pub(crate) fn write_retained(
    retained: &Path,
    sealed: &SealedBundle<'_>,
) -> std::io::Result<String> {
    let name = spool::bundle_file_name(&sealed.header, &sealed.id);
    spool::write_atomic(retained, &name, |f| sealed.write_to(f)).map_err(std::io::Error::other)?;
    Ok(name)
}

/// Installs the keyset versions a side's database records as installed (`recorded`: version and
/// file, ascending) that the keyset directory lacks, and writes the audit line for each: what a
/// run killed after its commit and before writing the file left behind.
pub(crate) fn install_recorded(
    keysets: &mut KeysetStore,
    recorded: &[(u64, Vec<u8>)],
    now: i64,
) -> Result<Vec<u64>, KeysetStoreError> {
    let written = keysets.install_recorded(recorded, now)?;
    for version in &written {
        tracing::warn!(target: "sluice::audit", event = "keyset.installed", new_version = version,
            how = "recovered", "installed keyset version {version} from the database record \
            (the run that received it stopped before writing the file)");
    }
    Ok(written)
}
