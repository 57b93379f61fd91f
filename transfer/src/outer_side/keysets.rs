//! Keyset versions on the outer host: the ones its store records as installed (written back to
//! the keyset directory after a crash, listed for `status`) and `publish-keyset`, which carries
//! a new version to the inner side in a keyset bundle on the submissions channel.

use bundle_format::records::Record;
use bundle_format::{BundleId, Kind};
use keys::Signer;
use rusqlite::{Connection, OptionalExtension, params};

use outer::store::StoreError;

use super::export::write_bundle;
use super::settings::{ExportReport, ExportSettings};
use super::{BundleSummary, OuterError, OuterHost, db, u64_of};
use crate::common::i64_of;
use crate::keysets::{KeysetReceipt, KeysetStore, Offer};
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
    let trusted = i64_of(keysets.version());
    let recorded: Vec<(u64, Vec<u8>)> = host.store.read_blocking(|conn| {
        let mut stmt = conn
            .prepare(
                "SELECT version, file FROM transfer_keysets WHERE version > ?1 ORDER BY version",
            )
            .map_err(db("reading the installed keysets"))?;
        stmt.query_map([trusted], |row| Ok((u64_of(row.get(0)?), row.get(1)?)))
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(db("reading the installed keysets"))
    })?;
    Ok(crate::common::send::install_recorded(
        keysets, &recorded, now,
    )?)
}

pub(super) fn record_keyset(
    conn: &Connection,
    version: u64,
    file: &[u8],
    origin: &str,
    bundle: Option<(&BundleId, u32, u64)>,
    now: i64,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO transfer_keysets (version, file, origin, bundle_id, channel, sequence,
                                       recorded_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            i64_of(version),
            file,
            origin,
            bundle.map(|(id, _, _)| id.0.to_vec()),
            bundle.map(|(_, channel, _)| channel),
            bundle.map(|(_, _, sequence)| i64_of(sequence)),
            now
        ],
    )
    .map_err(db("recording the installed keyset"))?;
    Ok(())
}

/// The keyset versions this store records as installed, oldest first, with whether the bundle
/// of each published here was acknowledged.
pub fn recorded_keysets(
    host: &OuterHost,
) -> Result<Vec<crate::keysets::RecordedKeyset>, OuterError> {
    Ok(host.store.read_blocking(|conn| {
        let mut stmt = conn
            .prepare(
                "SELECT k.version, k.origin, k.channel, k.sequence, k.recorded_at,
                        CASE WHEN k.origin = 'published' AND k.bundle_id IS NOT NULL
                             THEN o.acknowledged_at IS NOT NULL END
                 FROM transfer_keysets k LEFT JOIN transfer_outbox o ON o.bundle_id = k.bundle_id
                 ORDER BY k.version",
            )
            .map_err(db("reading the installed keysets"))?;
        stmt.query_map([], |row| {
            Ok(crate::keysets::RecordedKeyset {
                version: u64_of(row.get(0)?),
                origin: row.get(1)?,
                channel: row.get(2)?,
                sequence: row.get::<_, Option<i64>>(3)?.map(u64_of),
                recorded_at: row.get(4)?,
                acknowledged: row.get(5)?,
            })
        })
        .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
        .map_err(db("reading the installed keysets"))
    })?)
}

/// What `publish-keyset` did on the outer host.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PublishKeysetReport {
    /// The version published, the version trusted before, and what installing it here changed.
    pub keyset: KeysetReceipt,
    /// The keyset bundle, as published in the outbox.
    pub bundle: BundleSummary,
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
    let offer = keysets
        .judge(file, settings.now)
        .map_err(crate::keysets::PublishRefusal::Refused)?;
    let mut receipt = KeysetReceipt::of(&offer, keysets);
    match offer {
        Offer::Next(next) => {
            let version = next.version();
            let bytes = file.to_vec();
            let now = settings.now;
            host.store.write_blocking(move |conn| {
                record_keyset(conn, version, &bytes, "published", None, now)
            })?;
            let written = keysets.install(*next)?;
            receipt.file = written.map(|p| p.display().to_string());
            receipt.audit(None, "published");
        }
        Offer::AlreadyTrusted { version } => {
            // Only a publication stopped after installing and before writing its bundle may go
            // on; anything else is trusted here already and needs no second bundle.
            let row: Option<(String, Option<Vec<u8>>)> = host.store.read_blocking(|conn| {
                conn.query_row(
                    "SELECT origin, bundle_id FROM transfer_keysets WHERE version = ?1",
                    [i64_of(version)],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()
                .map_err(db("reading the installed keysets"))
            })?;
            crate::keysets::already_trusted(
                version,
                row.as_ref()
                    .map(|(origin, bundle)| (origin.as_str(), bundle.is_some())),
            )?;
        }
    }
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
        std::slice::from_ref(&record),
        Vec::new(),
        &mut export,
    )?;
    let Some(bundle) = export.written.pop() else {
        return Err(OuterError::Write(bundle_format::WriteError::MissingKeyset));
    };
    let id = hex::decode(&bundle.bundle_id).unwrap_or_default();
    let (version, channel, sequence) = (receipt.version, settings.channel.0, bundle.sequence);
    host.store.write_blocking(move |conn| {
        conn.execute(
            "UPDATE transfer_keysets SET bundle_id = ?2, channel = ?3, sequence = ?4
             WHERE version = ?1",
            params![i64_of(version), id, channel, i64_of(sequence)],
        )
        .map_err(db("recording the keyset bundle"))
    })?;
    Ok(PublishKeysetReport {
        keyset: receipt,
        bundle,
    })
}
