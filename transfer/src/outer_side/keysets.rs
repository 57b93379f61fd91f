//! Keyset versions on the outer host: the ones its store records as installed (written back to
//! the keyset directory after a crash, listed for `status`) and `publish-keyset`, which carries
//! a new version to the inner side in a keyset bundle on the submissions channel.

use bundle_format::Kind;
use bundle_format::records::Record;
use keys::Signer;
use outer::store::ledger::{self, KeysetOrigin};

use super::export::write_bundle;
use super::settings::{ExportReport, ExportSettings};
use super::{OuterError, OuterHost};
use crate::keysets::KeysetStore;
pub use crate::keysets::PublishKeysetReport;
use crate::spool::Spool;

/// Writes the keyset versions this store records as installed but the keyset directory lacks
/// (a run killed after its commit and before writing the file) and trusts them from now on;
/// returns the versions written. Apply, replay and `publish-keyset` call it before they judge
/// anything.
pub fn install_recorded_keysets(
    host: &OuterHost,
    keysets: &mut KeysetStore,
    now: i64,
) -> Result<Vec<u64>, OuterError> {
    let trusted = keysets.version();
    let recorded = host
        .store
        .read_blocking(|conn| ledger::keyset_files_after_on(conn, trusted))?;
    Ok(crate::common::send::install_recorded(
        keysets, &recorded, now,
    )?)
}

/// The keyset versions this store records as installed, oldest first, with whether the bundle
/// of each published here was acknowledged.
pub fn recorded_keysets(
    host: &OuterHost,
) -> Result<Vec<crate::keysets::RecordedKeyset>, OuterError> {
    let rows = host.store.read_blocking(ledger::recorded_keysets_on)?;
    Ok(rows
        .into_iter()
        .map(|row| crate::keysets::RecordedKeyset {
            version: row.version,
            origin: row.origin,
            channel: row.channel,
            sequence: row.sequence,
            recorded_at: row.recorded_at,
            acknowledged: row.acknowledged,
        })
        .collect())
}

/// Publishes a keyset file that security staff signed (`sluice-keys keyset sign`) as a keyset
/// bundle on the submissions channel, next in its sequence and signed with this host's
/// `outer-bundle` key, and installs it here too. The file must be exactly the next version of
/// the keyset trusted here ([`keys::Keyset::accept_next`]). Like every bundle, it stays in the
/// retained outbox until an ack names it, and is published again when due or reported missing.
///
/// The version is recorded in the store and installed before the bundle is written; a run
/// stopped in between is finished by running the same command again.
pub fn publish_keyset(
    host: &OuterHost,
    spool: &Spool,
    signer: &dyn Signer,
    settings: &ExportSettings,
    keysets: &mut KeysetStore,
    file: &[u8],
) -> Result<PublishKeysetReport, OuterError> {
    spool.create_all()?;
    install_recorded_keysets(host, keysets, settings.now)?;
    let now = settings.now;
    let receipt = crate::keysets::accept_for_publishing::<_, OuterError>(
        host,
        keysets,
        file,
        now,
        |host: &OuterHost, version| {
            let bytes = file.to_vec();
            host.store.write_blocking(move |conn| {
                ledger::record_keyset_on(conn, version, &bytes, KeysetOrigin::Published, None, now)
            })?;
            Ok(())
        },
        |host: &OuterHost, version| {
            Ok(host
                .store
                .read_blocking(|conn| ledger::keyset_origin_on(conn, version))?)
        },
    )?;
    let mut export = ExportReport::default();
    let record = Record::Keyset(bundle_format::records::KeysetRecord {
        document: file.to_vec(),
    });
    write_bundle(
        host,
        spool,
        signer,
        settings,
        Kind::Keyset,
        (std::slice::from_ref(&record), &[]),
        Vec::new(),
        &mut export,
    )?;
    let Some(bundle) = export.written.pop() else {
        return Err(OuterError::Write(bundle_format::WriteError::MissingKeyset));
    };
    let id = crate::common::id_of(&hex::decode(&bundle.bundle_id).unwrap_or_default());
    let (version, channel, sequence) = (receipt.version, settings.channel, bundle.sequence);
    host.store.write_blocking(move |conn| {
        ledger::record_keyset_bundle_on(conn, version, &id, channel, sequence)
    })?;
    Ok(PublishKeysetReport {
        keyset: receipt,
        bundle,
    })
}
