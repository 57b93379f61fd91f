//! Keyset versions on the inner host: the ones its database records as installed (written back
//! to the keyset directory after a crash, listed for `status`) and `publish-keyset`, which
//! carries a new version to the outer side in a keyset bundle on the return channel.

use bundle_format::Kind;
use bundle_format::records::Record;
use keys::Signer;
use postgres::Client;

use inner::ledger::{ReturnPosition, ReturnSentRow};

use super::ledger::publish_recorded;
use super::returns::{ReturnSettings, return_writer};
use super::{InnerError, db, locked_transaction};
use crate::common::send::BundleSummary;
use crate::keysets::KeysetStore;
pub use crate::keysets::PublishKeysetReport;
use crate::spool::{self, Spool};

/// Writes the keyset versions this database records as installed but the keyset directory
/// lacks (a run killed after its commit and before writing the file) and trusts them from now
/// on; returns the versions written. Import, replay and `publish-keyset` call it before they
/// judge anything.
pub fn install_recorded_keysets(
    client: &mut Client,
    keysets: &mut KeysetStore,
    now: i64,
) -> Result<Vec<u64>, InnerError> {
    let recorded = inner::ledger::keyset_files_after(client, keysets.version())?;
    Ok(crate::common::send::install_recorded(
        keysets, &recorded, now,
    )?)
}

/// The keyset versions this database records as installed, oldest first.
pub fn recorded_keysets(
    client: &mut Client,
) -> Result<Vec<crate::keysets::RecordedKeyset>, InnerError> {
    Ok(inner::ledger::recorded_keysets(client)?
        .into_iter()
        .map(|row| crate::keysets::RecordedKeyset {
            version: row.version,
            origin: row.origin,
            channel: row.channel,
            sequence: row.sequence,
            recorded_at: row.recorded_at,
            acknowledged: None,
        })
        .collect())
}

/// Publishes a keyset file that security staff signed (`sluice-keys keyset sign`) as a keyset
/// bundle on the return channel, next in its sequence and signed like every return bundle, and
/// installs it here too. The file must be exactly the next version of the keyset trusted here
/// ([`keys::Keyset::accept_next`]). The bundle is kept in the retained outbox and published
/// again with the other return bundles when the outer side shows it lacks them.
///
/// The version is recorded in the database and installed before the bundle is written; a run
/// stopped in between is finished by running the same command again.
pub fn publish_keyset(
    client: &mut Client,
    spool: &Spool,
    signer: &dyn Signer,
    settings: &ReturnSettings,
    keysets: &mut KeysetStore,
    file: &[u8],
) -> Result<PublishKeysetReport, InnerError> {
    spool.create_all()?;
    install_recorded_keysets(client, keysets, settings.now)?;
    let now = settings.now;
    let receipt = crate::keysets::accept_for_publishing::<_, InnerError>(
        &mut *client,
        keysets,
        file,
        now,
        |client: &mut Client, version| {
            let mut tx = locked_transaction(client)?;
            inner::ledger::record_keyset(&mut tx, version, file, "published", None, now)?;
            tx.commit().map_err(db("recording the keyset"))?;
            Ok(())
        },
        |client: &mut Client, version| Ok(inner::ledger::keyset_origin(client, version)?),
    )?;

    let mut tx = locked_transaction(client)?;
    let ReturnPosition {
        epoch,
        next_sequence,
        previous,
        last_reports,
    } = inner::ledger::return_position(&mut tx, settings.channel)?;
    let mut names: Vec<String> = Vec::new();
    let mut writer = return_writer(
        signer,
        spool,
        settings,
        Kind::Keyset,
        (epoch, next_sequence, previous),
        1,
        &mut names,
    )?;
    writer.push(&Record::Keyset(bundle_format::records::KeysetRecord {
        document: file.to_vec(),
    }))?;
    let written = writer.finish()?;
    let (Some(bundle), Some(name)) = (written.first(), names.first()) else {
        return Err(InnerError::Write(bundle_format::WriteError::MissingKeyset));
    };
    // The keyset bundle carries no sequence reports; keep the last ones, so the next return
    // run sends its reports only if they changed (none sent yet: an empty value, never equal).
    let reports = last_reports.unwrap_or_default();
    let stored = inner::ledger::record_return_sent(
        &mut tx,
        &ReturnSentRow {
            id: bundle.id,
            channel: settings.channel,
            epoch,
            sequence: bundle.header.sequence,
            file_name: name.clone(),
            entries: 0,
            reports,
        },
        settings.now,
    )
    .and_then(|()| {
        inner::ledger::record_keyset_bundle(
            &mut tx,
            receipt.version,
            &bundle.id,
            settings.channel,
            bundle.header.sequence,
        )
    });
    let stored = match stored {
        Ok(()) => tx
            .commit()
            .map_err(|source| inner::store::StoreError::Database {
                step: "committing the keyset bundle",
                source,
            }),
        Err(error) => {
            drop(tx);
            Err(error)
        }
    };
    if let Err(error) = stored {
        spool::remove_durable(&spool.retained.join(name))?;
        return Err(InnerError::Ledger(error));
    }
    publish_recorded(client, spool, settings.now)?;
    tracing::info!(target: "sluice::audit", event = "bundle.returned", kind = "keyset",
        bundle = %bundle.id, sequence = bundle.header.sequence, keyset_version = receipt.version,
        file = %name, "published keyset bundle");
    Ok(PublishKeysetReport {
        keyset: receipt,
        bundle: BundleSummary {
            bundle_id: bundle.id.to_string(),
            kind: Kind::Keyset.as_str().into(),
            sequence: bundle.header.sequence,
            records: bundle.records,
            file: name.clone(),
        },
    })
}
