//! The outer host's half: `export` (submission versions → signed bundles in the outbox, kept in
//! the retained outbox until acknowledged), `apply` (verified return bundles → the SQLite
//! store: acks delete exactly the acknowledged versions' payloads, statuses, certificates, and
//! re-publication of whatever the inner side reports missing; keyset bundles install the next
//! keyset version) and `publish-keyset` (a new keyset version → a keyset bundle on the
//! submissions channel).
//!
//! Transfer keeps its own bookkeeping in the outer SQLite file, in tables prefixed `transfer_`
//! created here: the send state of the submissions channel, the retained outbox index, the
//! return-channel ledger and the keyset versions installed. Export records a bundle and marks its versions in transit in one
//! transaction; the file is written to the retained outbox before that transaction and published
//! to the outbox after it, so a crash leaves either no trace of the bundle (an orphan file in
//! `retained/` that the next run removes) or a recorded bundle the next run publishes.

use std::collections::BTreeSet;
use std::path::Path;

use bundle_format::chain::{self, ChannelState, Verdict};
use bundle_format::records::Record;
use bundle_format::{BundleId, BundleWriter, Header, Kind, SealedBundle, WriterConfig};
use keys::{ChannelId, Role, Signer};
use outer::store::{self, AckEffect, PendingVersion, Store, StoreError};
use rusqlite::{Connection, OptionalExtension, params};

use crate::examine::{self, Refusal};
use crate::keysets::{KeysetReceipt, KeysetStore, Offer};
use crate::spool::{self, Spool, SpoolError};

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

fn db(operation: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError {
    move |source| StoreError::Database { operation, source }
}

fn i64_of(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn u64_of(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

fn id_of(bytes: &[u8]) -> BundleId {
    let mut id = [0u8; 32];
    if bytes.len() == 32 {
        id.copy_from_slice(bytes);
    }
    BundleId(id)
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

/// What `export` is told.
#[derive(Debug, Clone, Copy)]
pub struct ExportSettings {
    /// The submissions channel.
    pub channel: ChannelId,
    /// Lifetime of each bundle, seconds.
    pub validity_seconds: i64,
    /// Age after which an unacknowledged bundle is published again, seconds.
    pub resend_after_seconds: i64,
    /// Most submission versions per bundle.
    pub records_per_bundle: usize,
    /// Now, Unix seconds.
    pub now: i64,
}

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

/// What one `export` run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ExportReport {
    /// New bundles written and published.
    pub written: Vec<BundleSummary>,
    /// Submission versions marked in transit.
    pub versions: usize,
    /// Whether the only new bundle is a heartbeat (nothing was pending).
    pub heartbeat: bool,
    /// Bundles published again (unacknowledged past the resend age, or recovered after a
    /// crash), by sequence.
    pub republished: Vec<u64>,
    /// Orphan files removed from the retained outbox (written by a run that did not commit).
    pub orphans_removed: usize,
}

struct SendState {
    epoch: u64,
    next_sequence: u64,
    previous: BundleId,
}

fn send_state(conn: &Connection, channel: ChannelId) -> Result<SendState, StoreError> {
    let row: Option<(i64, i64, Vec<u8>)> = conn
        .query_row(
            "SELECT epoch, next_sequence, previous FROM transfer_send_state WHERE channel = ?1",
            [channel.0],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .optional()
        .map_err(db("reading the send state"))?;
    Ok(match row {
        Some((epoch, next, previous)) => SendState {
            epoch: u64_of(epoch),
            next_sequence: u64_of(next),
            previous: id_of(&previous),
        },
        None => SendState {
            epoch: 1,
            next_sequence: 1,
            previous: BundleId::ZERO,
        },
    })
}

/// Exports every pending submission version of the outer store into bundles in the outbox;
/// with nothing pending, writes one heartbeat. Also publishes again what is due.
pub fn export(
    host: &OuterHost,
    spool: &Spool,
    signer: &dyn Signer,
    settings: &ExportSettings,
) -> Result<ExportReport, OuterError> {
    export_with_progress(host, spool, signer, settings, &mut |_, _| {})
}

/// [`export`], calling `progress(versions_done, versions_pending_at_start)` after each bundle.
pub fn export_with_progress(
    host: &OuterHost,
    spool: &Spool,
    signer: &dyn Signer,
    settings: &ExportSettings,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<ExportReport, OuterError> {
    spool.create_all()?;
    let mut report = ExportReport::default();
    recover(host, spool, settings.channel, settings.now, &mut report)?;
    resend_due(host, spool, settings, &mut report)?;
    let pending: i64 = host.store.read_blocking(|conn| {
        conn.query_row(
            "SELECT count(*) FROM submission_versions
             WHERE exported_sequence IS NULL AND payload_removed_at IS NULL",
            [],
            |row| row.get(0),
        )
        .map_err(db("counting pending versions"))
    })?;
    let pending = usize::try_from(pending).unwrap_or(0);
    let limit = settings.records_per_bundle;
    // A reader thread reads the next bundle's versions (from where the last batch ended) while
    // this one compresses, signs, writes and marks the previous bundle; one batch waits at most.
    std::thread::scope(|scope| -> Result<(), OuterError> {
        let (batch_out, batches) = std::sync::mpsc::sync_channel(1);
        let store = host.store();
        scope.spawn(move || {
            let mut after = None;
            loop {
                let batch = store.read_blocking(|conn| {
                    store::pending_versions_after(conn, after.as_ref(), limit)
                });
                let last = match &batch {
                    Ok(versions) => versions.last().map(PendingVersion::export_position),
                    Err(_) => None,
                };
                // A closed channel: the export stopped on an error of its own.
                if batch_out.send(batch).is_err() || last.is_none() {
                    return;
                }
                after = last;
            }
        });
        for batch in batches {
            let versions = batch?;
            if versions.is_empty() {
                break;
            }
            write_bundle(
                host,
                spool,
                signer,
                settings,
                Kind::Submissions,
                &[],
                versions,
                &mut report,
            )?;
            progress(report.versions, pending.max(report.versions));
        }
        Ok(())
    })?;
    if report.written.is_empty() {
        write_bundle(
            host,
            spool,
            signer,
            settings,
            Kind::Heartbeat,
            &[],
            Vec::new(),
            &mut report,
        )?;
        report.heartbeat = true;
    }
    Ok(report)
}

/// A recorded bundle not yet in the outbox: id, sequence, file name.
type Unpublished = (Vec<u8>, i64, String);

/// Publishes recorded bundles that never reached the outbox and removes retained files that no
/// committed bundle owns.
fn recover(
    host: &OuterHost,
    spool: &Spool,
    channel: ChannelId,
    now: i64,
    report: &mut ExportReport,
) -> Result<(), OuterError> {
    let (unpublished, known): (Vec<Unpublished>, BTreeSet<String>) =
        host.store.read_blocking(|conn| {
            let mut stmt = conn
                .prepare(
                    // A bundle acknowledged already needs no publishing (its retained copy is
                    // gone): export was killed after putting it in the outbox and before
                    // recording that, and the carrier took it in between.
                    "SELECT bundle_id, sequence, file_name FROM transfer_outbox
                     WHERE channel = ?1 AND published_at IS NULL AND acknowledged_at IS NULL
                     ORDER BY sequence",
                )
                .map_err(db("reading the outbox index"))?;
            let unpublished = stmt
                .query_map([channel.0], |row| {
                    Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                })
                .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
                .map_err(db("reading the outbox index"))?;
            let mut stmt = conn
                .prepare("SELECT file_name FROM transfer_outbox WHERE acknowledged_at IS NULL")
                .map_err(db("reading the outbox index"))?;
            let known = stmt
                .query_map([], |row| row.get(0))
                .and_then(|rows| rows.collect::<Result<BTreeSet<String>, _>>())
                .map_err(db("reading the outbox index"))?;
            Ok((unpublished, known))
        })?;
    for (id, sequence, name) in unpublished {
        let path = spool.retained.join(&name);
        spool::copy_durable(&path, &spool.outbox, &name)?;
        let at = now;
        host.store.write_blocking(move |conn| {
            conn.execute(
                "UPDATE transfer_outbox SET published_at = ?2, last_sent_at = ?2,
                        send_count = send_count + 1 WHERE bundle_id = ?1",
                params![id, at],
            )
            .map_err(db("recording a publication"))
        })?;
        report.republished.push(u64_of(sequence));
    }
    for path in spool::list_bundles(&spool.retained)? {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !known.contains(&name) {
            spool::remove_durable(&path)?;
            report.orphans_removed += 1;
        }
    }
    Ok(())
}

/// Publishes again every unacknowledged bundle last sent more than the resend age ago.
fn resend_due(
    host: &OuterHost,
    spool: &Spool,
    settings: &ExportSettings,
    report: &mut ExportReport,
) -> Result<(), OuterError> {
    let cutoff = settings.now.saturating_sub(settings.resend_after_seconds);
    let channel = settings.channel.0;
    let due: Vec<u64> = host.store.read_blocking(|conn| {
        let mut stmt = conn
            .prepare(
                "SELECT sequence FROM transfer_outbox
                 WHERE channel = ?1 AND acknowledged_at IS NULL AND published_at IS NOT NULL
                   AND last_sent_at < ?2 ORDER BY sequence",
            )
            .map_err(db("reading the outbox index"))?;
        stmt.query_map(params![channel, cutoff], |row| row.get::<_, i64>(0))
            .and_then(|rows| rows.map(|r| r.map(u64_of)).collect::<Result<Vec<_>, _>>())
            .map_err(db("reading the outbox index"))
    })?;
    let sent = republish(host, spool, settings.channel, &due, settings.now)?;
    report.republished.extend(sent);
    Ok(())
}

/// Publishes the retained bundles with these sequence numbers (in the channel's current epoch)
/// to the outbox again; returns the sequence numbers actually published.
pub fn republish(
    host: &OuterHost,
    spool: &Spool,
    channel: ChannelId,
    sequences: &[u64],
    now: i64,
) -> Result<Vec<u64>, OuterError> {
    let mut sent = Vec::new();
    for &sequence in sequences {
        let row: Option<(Vec<u8>, String)> = host.store.read_blocking(|conn| {
            conn.query_row(
                "SELECT o.bundle_id, o.file_name FROM transfer_outbox o
                 JOIN transfer_send_state s ON s.channel = o.channel AND s.epoch = o.epoch
                 WHERE o.channel = ?1 AND o.sequence = ?2 AND o.acknowledged_at IS NULL",
                params![channel.0, i64_of(sequence)],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()
            .map_err(db("reading the outbox index"))
        })?;
        let Some((id, name)) = row else { continue };
        let retained = spool.retained.join(&name);
        if !retained.exists() {
            tracing::error!(target: "sluice::audit", event = "bundle.resend-impossible",
                sequence, file = %name, "retained bundle file is missing; it cannot be re-sent");
            continue;
        }
        spool::copy_durable(&retained, &spool.outbox, &name)?;
        host.store.write_blocking(move |conn| {
            conn.execute(
                "UPDATE transfer_outbox SET last_sent_at = ?2, send_count = send_count + 1
                 WHERE bundle_id = ?1",
                params![id, now],
            )
            .map_err(db("recording a publication"))
        })?;
        tracing::info!(target: "sluice::audit", event = "bundle.republished", channel = channel.0,
            sequence, file = %name, "published a retained bundle again");
        sent.push(sequence);
    }
    Ok(sent)
}

struct Written {
    id: BundleId,
    header: Header,
    name: String,
    records: usize,
}

/// Writes `leading` records (a keyset bundle's keyset) and then `versions` into bundles of
/// `kind`, records them and marks the versions in transit in one transaction, and publishes them.
#[allow(clippy::too_many_arguments)] // each is one thing the bundle needs; a struct would only rename them
fn write_bundle(
    host: &OuterHost,
    spool: &Spool,
    signer: &dyn Signer,
    settings: &ExportSettings,
    kind: Kind,
    leading: &[Record],
    versions: Vec<PendingVersion>,
    report: &mut ExportReport,
) -> Result<(), OuterError> {
    let channel = settings.channel;
    let state = host.store.read_blocking(|conn| send_state(conn, channel))?;
    let config = WriterConfig {
        kind,
        channel,
        epoch: state.epoch,
        next_sequence: state.next_sequence,
        previous: state.previous,
        created: settings.now,
        expires: settings.now.saturating_add(settings.validity_seconds),
        part_content_bytes: bundle_format::bundle::DEFAULT_PART_CONTENT_BYTES,
        part_records: settings.records_per_bundle,
    };
    let mut files: Vec<(String, BundleId)> = Vec::new();
    let retained = spool.retained.clone();
    let sink = |sealed: &SealedBundle<'_>| -> std::io::Result<()> {
        let name = spool::bundle_file_name(&sealed.header, &sealed.id);
        spool::write_atomic(&retained, &name, |f| sealed.write_to(f))
            .map_err(std::io::Error::other)?;
        files.push((name, sealed.id));
        Ok(())
    };
    let mut writer = BundleWriter::new(signer, config, sink)?;
    for record in leading {
        writer.push(record)?;
    }
    // Which bundle (by sequence) each version went into, in runs: the writer fills one bundle
    // before it starts the next.
    let mut placed: Vec<(u64, Vec<(String, u32)>)> = Vec::new();
    for pending in versions {
        let sequence = writer.push_submission(&pending.checked()?)?;
        match placed.last_mut() {
            Some((last, members)) if *last == sequence => {
                members.push((pending.receipt, pending.version));
            }
            _ => placed.push((sequence, vec![(pending.receipt, pending.version)])),
        }
    }
    let written = writer.finish()?;
    crate::failpoint::hit("export.after-bundle-written");
    let bundles: Vec<Written> = written
        .iter()
        .zip(files.iter())
        .map(|(w, (name, _))| Written {
            id: w.id,
            header: w.header,
            name: name.clone(),
            records: w.records,
        })
        .collect();
    let expected = state.next_sequence;
    let rows: Vec<(Vec<u8>, u64, String, usize, i64)> = bundles
        .iter()
        .map(|b| {
            (
                b.id.0.to_vec(),
                b.header.sequence,
                b.name.clone(),
                b.records,
                b.header.created,
            )
        })
        .collect();
    let bundle_ids: Vec<(u64, [u8; 32])> = bundles
        .iter()
        .map(|b| (b.header.sequence, b.id.0))
        .collect();
    let epoch = state.epoch;
    let last = bundles.last().map(|b| (b.header.sequence, b.id));
    let kind_name = kind.as_str();
    let now = settings.now;
    let marked = host.store.write_blocking(move |conn| {
        let current = send_state(conn, channel)?;
        if current.next_sequence != expected {
            return Ok(Err(current.next_sequence));
        }
        for (id, sequence, name, records, created) in &rows {
            conn.execute(
                "INSERT INTO transfer_outbox (bundle_id, channel, epoch, sequence, kind, file_name,
                                              records, created)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    id,
                    channel.0,
                    i64_of(epoch),
                    i64_of(*sequence),
                    kind_name,
                    name,
                    i64::try_from(*records).unwrap_or(i64::MAX),
                    created
                ],
            )
            .map_err(db("recording a bundle in the outbox index"))?;
        }
        if let Some((sequence, id)) = last {
            conn.execute(
                "INSERT INTO transfer_send_state (channel, epoch, next_sequence, previous)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (channel) DO UPDATE SET epoch = excluded.epoch,
                     next_sequence = excluded.next_sequence, previous = excluded.previous",
                params![
                    channel.0,
                    i64_of(epoch),
                    i64_of(sequence.saturating_add(1)),
                    &id.0[..]
                ],
            )
            .map_err(db("advancing the send state"))?;
        }
        let ids: std::collections::BTreeMap<u64, [u8; 32]> = bundle_ids.into_iter().collect();
        let mut marked = 0usize;
        for (sequence, members) in &placed {
            let id = ids.get(sequence).copied().unwrap_or_default();
            marked += store::mark_in_transit_on(conn, members, *sequence, &id, now)?;
        }
        Ok(Ok(marked))
    })?;
    let marked = match marked {
        Ok(marked) => marked,
        Err(found) => {
            for b in &bundles {
                spool::remove_durable(&spool.retained.join(&b.name))?;
            }
            return Err(OuterError::ConcurrentExport {
                channel: channel.0,
                expected,
                found,
            });
        }
    };
    report.versions += marked;
    for b in &bundles {
        spool::copy_durable(&spool.retained.join(&b.name), &spool.outbox, &b.name)?;
        crate::failpoint::hit("export.after-outbox-copy");
        let id = b.id.0.to_vec();
        host.store.write_blocking(move |conn| {
            conn.execute(
                "UPDATE transfer_outbox SET published_at = ?2, last_sent_at = ?2,
                        send_count = send_count + 1 WHERE bundle_id = ?1",
                params![id, now],
            )
            .map_err(db("recording a publication"))
        })?;
        tracing::info!(target: "sluice::audit", event = "bundle.exported", kind = kind_name,
            channel = channel.0, epoch, sequence = b.header.sequence, bundle = %b.id,
            records = b.records, file = %b.name, "published bundle");
        report.written.push(BundleSummary {
            bundle_id: b.id.to_string(),
            kind: kind_name.to_owned(),
            sequence: b.header.sequence,
            records: b.records,
            file: b.name.clone(),
        });
    }
    Ok(())
}

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
    let written = keysets.install_recorded(&recorded, now)?;
    for version in &written {
        tracing::warn!(target: "sluice::audit", event = "keyset.installed", new_version = version,
            how = "recovered", "installed keyset version {version} from the database record \
            (the run that received it stopped before writing the file)");
    }
    Ok(written)
}

fn record_keyset(
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

/// What `apply` is told.
#[derive(Debug, Clone, Copy)]
pub struct ApplySettings {
    /// This host's submissions channel (acks and sequence reports for it are applied).
    pub channel: ChannelId,
    /// The channel return bundles arrive on.
    pub return_channel: ChannelId,
    /// Now, Unix seconds.
    pub now: i64,
}

/// What happened to one return bundle.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ApplyFileReport {
    /// The file name as found in the inbox.
    pub file: String,
    /// `applied`, `duplicate` or `quarantined`.
    pub result: String,
    /// Bundle id, if known.
    pub bundle_id: Option<String>,
    /// Sequence number, if known.
    pub sequence: Option<u64>,
    /// Versions whose payload was deleted by acks in it.
    pub payloads_deleted: usize,
    /// Ack entries that named nothing stored here (nothing was deleted for them).
    pub ack_mismatches: usize,
    /// Status changes applied.
    pub status_changes: usize,
    /// Certificates stored.
    pub certificates: usize,
    /// Bundles re-published because the inner side reported them missing.
    pub republished: Vec<u64>,
    /// Why it was quarantined.
    pub reason: Option<String>,
    /// For a keyset bundle: the version it carried and whether it was installed.
    pub keyset: Option<KeysetReceipt>,
}

/// What one `apply` run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ApplyReport {
    /// One entry per inbox file, in the order handled.
    pub files: Vec<ApplyFileReport>,
}

impl ApplyReport {
    /// Files with `result`.
    pub fn count(&self, result: &str) -> usize {
        self.files.iter().filter(|f| f.result == result).count()
    }
}

fn return_state(
    conn: &Connection,
    channel: ChannelId,
    header: &Header,
) -> Result<(ChannelState, Option<BundleId>), StoreError> {
    let epoch: Option<i64> = conn
        .query_row(
            "SELECT max(epoch) FROM transfer_return_ledger WHERE channel = ?1",
            [channel.0],
            |row| row.get(0),
        )
        .map_err(db("reading the return ledger"))?;
    let mut state = ChannelState::EMPTY;
    if let Some(epoch) = epoch {
        let mut stmt = conn
            .prepare(
                "SELECT sequence, bundle_id FROM transfer_return_ledger
                 WHERE channel = ?1 AND epoch = ?2 ORDER BY sequence",
            )
            .map_err(db("reading the return ledger"))?;
        let rows = stmt
            .query_map(params![channel.0, epoch], |row| {
                Ok((row.get::<_, i64>(0)?, row.get::<_, Vec<u8>>(1)?))
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(db("reading the return ledger"))?;
        state.epoch = u64_of(epoch);
        for (sequence, id) in rows {
            if u64_of(sequence) == state.highest_contiguous + 1 {
                state.highest_contiguous += 1;
                state.last_id = id_of(&id);
            } else {
                break;
            }
        }
    }
    let recorded: Option<Vec<u8>> = conn
        .query_row(
            "SELECT bundle_id FROM transfer_return_ledger
             WHERE channel = ?1 AND epoch = ?2 AND sequence = ?3",
            params![channel.0, i64_of(header.epoch), i64_of(header.sequence)],
            |row| row.get(0),
        )
        .optional()
        .map_err(db("reading the return ledger"))?;
    Ok((state, recorded.map(|id| id_of(&id))))
}

/// Applies every return bundle in the inbox, in chain order. Bundles are verified with the
/// newest version in `keysets`; a keyset bundle that carries the next version installs it
/// there, and the bundles after it in the same run are verified with that version.
pub fn apply(
    host: &OuterHost,
    spool: &Spool,
    keysets: &mut KeysetStore,
    settings: &ApplySettings,
) -> Result<ApplyReport, OuterError> {
    apply_with_progress(host, spool, keysets, settings, &mut |_, _| {})
}

/// [`apply`], calling `progress(done, total)` after each file.
pub fn apply_with_progress(
    host: &OuterHost,
    spool: &Spool,
    keysets: &mut KeysetStore,
    settings: &ApplySettings,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<ApplyReport, OuterError> {
    spool.create_all()?;
    install_recorded_keysets(host, keysets, settings.now)?;
    let mut report = ApplyReport::default();
    let files = examine::in_chain_order(spool::list_bundles(&spool.inbox)?);
    let total = files.len();
    for (done, path) in files.iter().enumerate() {
        report
            .files
            .push(apply_file(host, spool, keysets, settings, path)?);
        progress(done + 1, total);
    }
    Ok(report)
}

/// Verifies, judges and applies one return bundle file from wherever it is, then archives or
/// quarantines it. A keyset bundle's keyset is judged against the current version of
/// `keysets` and, if it is the next one, recorded with the bundle's ledger row and installed
/// after the commit.
pub fn apply_file(
    host: &OuterHost,
    spool: &Spool,
    keysets: &mut KeysetStore,
    settings: &ApplySettings,
    path: &Path,
) -> Result<ApplyFileReport, OuterError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut file_report = ApplyFileReport {
        file: name.clone(),
        result: String::new(),
        bundle_id: None,
        sequence: None,
        payloads_deleted: 0,
        ack_mismatches: 0,
        status_changes: 0,
        certificates: 0,
        republished: Vec::new(),
        reason: None,
        keyset: None,
    };
    let bytes = match examine::read_file(path) {
        Ok(bytes) => bytes,
        Err(refusal) => {
            return quarantined(spool, path, &name, refusal, settings.now, file_report);
        }
    };
    let verified = examine::verify_bytes(
        &bytes,
        keysets.current(),
        Role::InnerReturn,
        &[settings.return_channel],
        settings.now,
    );
    let verified = match verified {
        Ok(verified) => verified,
        Err(refusal) => match applied_before(host, &bytes, &refusal, keysets, settings)? {
            Some(verified) => verified,
            None => {
                return quarantined(spool, path, &name, refusal, settings.now, file_report);
            }
        },
    };
    let header = verified.header;
    file_report.bundle_id = Some(verified.id.to_string());
    file_report.sequence = Some(header.sequence);
    let (state, recorded) = host
        .store
        .read_blocking(|conn| return_state(conn, settings.return_channel, &header))?;
    let verdict = chain::judge(&header, verified.id, &state, recorded, settings.now);
    match verdict {
        Verdict::Duplicate => {
            let archived = spool::free_name(&spool.archive, &name);
            spool::move_durable(path, &spool.archive, &archived)?;
            tracing::info!(target: "sluice::audit", event = "bundle.duplicate", bundle = %verified.id,
                sequence = header.sequence, file = %name, "return bundle applied before; nothing changed");
            file_report.result = "duplicate".into();
            return Ok(file_report);
        }
        Verdict::Next | Verdict::NewEpoch { .. } | Verdict::Gap { .. } => {}
        other => {
            let refusal = chain_refusal(&other, header, verified.id);
            return quarantined(spool, path, &name, refusal, settings.now, file_report);
        }
    }
    let ledger = LedgerRow {
        id: verified.id,
        channel: settings.return_channel.0,
        epoch: header.epoch,
        sequence: header.sequence,
        previous: header.previous,
        file_name: name.clone(),
    };
    if header.kind == Kind::Keyset {
        return apply_keyset_file(
            host,
            spool,
            keysets,
            settings.now,
            path,
            verified,
            ledger,
            file_report,
        );
    }
    let records = verified.records;
    let channel = settings.channel;
    let now = settings.now;
    let applied = host
        .store
        .write_blocking(move |conn| apply_return_records(conn, &records, channel, &ledger, now))?;
    let Some(applied) = applied else {
        // Another apply recorded it between the chain check and this transaction.
        let archived = spool::free_name(&spool.archive, &name);
        spool::move_durable(path, &spool.archive, &archived)?;
        file_report.result = "duplicate".into();
        return Ok(file_report);
    };
    file_report.payloads_deleted = applied.payloads_deleted;
    file_report.ack_mismatches = applied.mismatched.len();
    file_report.status_changes = applied.status_changes;
    file_report.certificates = applied.certificates;
    for (receipt, version) in &applied.mismatched {
        tracing::warn!(target: "sluice::audit", event = "ack.mismatch", receipt = %receipt,
            version, "ack names a version or hash not stored here; nothing deleted");
    }
    crate::failpoint::hit("apply.after-commit");
    // Files move only after the commit: an acknowledged bundle's retained copy goes, and what
    // the inner side reports missing goes out again.
    for retained in &applied.acknowledged_files {
        let retained = spool.retained.join(retained);
        if retained.exists() {
            spool::remove_durable(&retained)?;
        }
    }
    if !applied.missing.is_empty() {
        tracing::warn!(target: "sluice::audit", event = "gap.reported", channel = channel.0,
            missing = ?applied.missing, "inner side reports bundles missing; publishing them again");
        file_report.republished = republish(host, spool, channel, &applied.missing, now)?;
    }
    let archived = spool::free_name(&spool.archive, &name);
    spool::move_durable(path, &spool.archive, &archived)?;
    tracing::info!(target: "sluice::audit", event = "bundle.applied", bundle = %verified.id,
        channel = header.channel.0, sequence = header.sequence,
        payloads_deleted = file_report.payloads_deleted, status_changes = file_report.status_changes,
        certificates = file_report.certificates, "applied return bundle");
    file_report.result = "applied".into();
    Ok(file_report)
}

/// A return bundle refused because its signer was revoked (or expired, or dropped) since, that
/// the return ledger holds already: verified as of its creation, so the chain check sees the
/// duplicate it is instead of quarantining an applied bundle.
fn applied_before(
    host: &OuterHost,
    bytes: &[u8],
    refusal: &Refusal,
    keysets: &KeysetStore,
    settings: &ApplySettings,
) -> Result<Option<bundle_format::VerifiedBundle>, OuterError> {
    let Some(id) = refusal
        .id
        .filter(|_| examine::signer_refused_since(refusal))
    else {
        return Ok(None);
    };
    let known: Option<i64> = host.store.read_blocking(|conn| {
        conn.query_row(
            "SELECT 1 FROM transfer_return_ledger WHERE bundle_id = ?1",
            [&id.0[..]],
            |row| row.get(0),
        )
        .optional()
        .map_err(db("reading the return ledger"))
    })?;
    if known.is_none() {
        return Ok(None);
    }
    Ok(examine::verify_recorded(
        bytes,
        keysets,
        Role::InnerReturn,
        &[settings.return_channel],
    )
    .ok())
}

/// Applies a verified keyset bundle whose chain verdict allows it: judges its keyset, records
/// the ledger row (and the keyset, if it is the next version) in one transaction, installs the
/// keyset after the commit, then archives the file. A refused keyset quarantines the bundle and
/// records nothing.
#[allow(clippy::too_many_arguments)] // apply_file's state, handed over whole
fn apply_keyset_file(
    host: &OuterHost,
    spool: &Spool,
    keysets: &mut KeysetStore,
    now: i64,
    path: &Path,
    verified: bundle_format::VerifiedBundle,
    ledger: LedgerRow,
    mut file_report: ApplyFileReport,
) -> Result<ApplyFileReport, OuterError> {
    let header = verified.header;
    let name = ledger.file_name.clone();
    let offer = match crate::keysets::judge_carried(keysets, &verified.records, now) {
        Ok(offer) => offer,
        Err(refusal) => {
            let refusal = Refusal {
                code: refusal.code.into(),
                reason: refusal.reason,
                header: Some(Box::new(header)),
                id: Some(verified.id),
                filing_rule: None,
            };
            return quarantined(spool, path, &name, refusal, now, file_report);
        }
    };
    let next = match &offer.0 {
        Offer::Next(next) => Some((next.version(), offer.1.clone())),
        Offer::AlreadyTrusted { .. } => None,
    };
    let recorded = host.store.write_blocking(move |conn| {
        let seen: Option<i64> = conn
            .query_row(
                "SELECT 1 FROM transfer_return_ledger WHERE bundle_id = ?1",
                [&ledger.id.0[..]],
                |row| row.get(0),
            )
            .optional()
            .map_err(db("reading the return ledger"))?;
        if seen.is_some() {
            return Ok(false);
        }
        record_return(conn, &ledger, now)?;
        if let Some((version, file)) = &next {
            record_keyset(
                conn,
                *version,
                file,
                "received",
                Some((&ledger.id, ledger.channel, ledger.sequence)),
                now,
            )?;
        }
        Ok(true)
    })?;
    if recorded {
        crate::failpoint::hit("apply.after-commit");
        file_report.keyset = Some(crate::keysets::install_offer(
            keysets,
            offer.0,
            &verified.id,
        )?);
    }
    let archived = spool::free_name(&spool.archive, &name);
    spool::move_durable(path, &spool.archive, &archived)?;
    if recorded {
        tracing::info!(target: "sluice::audit", event = "bundle.applied", bundle = %verified.id,
            kind = "keyset", channel = header.channel.0, sequence = header.sequence,
            "applied keyset bundle");
        file_report.result = "applied".into();
    } else {
        // Another apply recorded it between the chain check and this transaction.
        file_report.result = "duplicate".into();
    }
    Ok(file_report)
}

/// The return-ledger row written with the records of one return bundle.
struct LedgerRow {
    id: BundleId,
    channel: u32,
    epoch: u64,
    sequence: u64,
    previous: BundleId,
    file_name: String,
}

/// What applying the records of one return bundle did.
struct AppliedReturn {
    payloads_deleted: usize,
    mismatched: Vec<(String, u32)>,
    status_changes: usize,
    certificates: usize,
    acknowledged_files: Vec<String>,
    missing: Vec<u64>,
}

/// Writes the return ledger row of an applied return bundle (what makes apply exactly-once).
fn record_return(conn: &Connection, ledger: &LedgerRow, now: i64) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO transfer_return_ledger (bundle_id, channel, epoch, sequence, previous,
                                             file_name, applied_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            &ledger.id.0[..],
            ledger.channel,
            i64_of(ledger.epoch),
            i64_of(ledger.sequence),
            &ledger.previous.0[..],
            ledger.file_name,
            now
        ],
    )
    .map_err(db("recording the return bundle"))?;
    Ok(())
}

/// Applies every record of one verified return bundle and its ledger row in the caller's
/// transaction (DESIGN.md invariant 1). `None` if the ledger already holds the bundle.
///
/// The statements are those of `outer::store::Store::{apply_ack, apply_status_change,
/// store_certificate}`, repeated here because those methods each open their own transaction;
/// they should move into the outer crate as functions over a `&Connection`.
fn apply_return_records(
    conn: &Connection,
    records: &[Record],
    channel: ChannelId,
    ledger: &LedgerRow,
    now: i64,
) -> Result<Option<AppliedReturn>, StoreError> {
    let seen: Option<i64> = conn
        .query_row(
            "SELECT 1 FROM transfer_return_ledger WHERE bundle_id = ?1",
            [&ledger.id.0[..]],
            |row| row.get(0),
        )
        .optional()
        .map_err(db("reading the return ledger"))?;
    if seen.is_some() {
        return Ok(None);
    }
    let mut applied = AppliedReturn {
        payloads_deleted: 0,
        mismatched: Vec::new(),
        status_changes: 0,
        certificates: 0,
        acknowledged_files: Vec::new(),
        missing: Vec::new(),
    };
    let epoch = send_state(conn, channel)?.epoch;
    for record in records {
        match record {
            Record::Ack(ack) if ack.channel == channel.0 => {
                let effects = store::apply_ack_entries_on(conn, &ack.receipts, now)?;
                for (entry, effect) in ack.receipts.iter().zip(effects) {
                    match effect {
                        AckEffect::Removed => applied.payloads_deleted += 1,
                        AckEffect::Already => {}
                        AckEffect::Mismatch => applied
                            .mismatched
                            .push((entry.receipt.clone(), entry.version)),
                    }
                }
                let name: Option<String> = conn
                    .query_row(
                        "SELECT file_name FROM transfer_outbox
                         WHERE bundle_id = ?1 AND acknowledged_at IS NULL",
                        [&ack.bundle_id[..]],
                        |row| row.get(0),
                    )
                    .optional()
                    .map_err(db("reading the outbox index"))?;
                conn.execute(
                    "UPDATE transfer_outbox SET acknowledged_at = ?2
                     WHERE bundle_id = ?1 AND acknowledged_at IS NULL",
                    params![&ack.bundle_id[..], now],
                )
                .map_err(db("recording an ack"))?;
                applied.acknowledged_files.extend(name);
            }
            Record::SequenceReport(report)
                if report.channel == channel.0 && report.epoch == epoch =>
            {
                applied.missing.extend(report.missing.iter().copied());
            }
            Record::StatusChange(change) => {
                applied.status_changes += usize::from(store::apply_status_change_on(conn, change)?);
            }
            Record::Certificate(certificate) => {
                applied.certificates +=
                    usize::from(store::store_certificate_on(conn, certificate)?);
            }
            _ => {}
        }
    }
    crate::failpoint::hit("apply.after-payloads-deleted");
    record_return(conn, ledger, now)?;
    Ok(Some(applied))
}

/// A refusal for a chain verdict that must not be applied.
pub fn chain_refusal(verdict: &Verdict, header: Header, id: BundleId) -> Refusal {
    let (code, reason) = match verdict {
        Verdict::Fork {
            sequence,
            ours,
            theirs,
        } => (
            "chain.fork",
            format!(
                "fork at sequence {sequence}: this host holds bundle {ours}, this file claims {theirs}; \
                 raise the alarm"
            ),
        ),
        Verdict::Expired { expires, now } => (
            "chain.expired",
            format!(
                "bundle expired at {} (now {})",
                keys::time::rfc3339(*expires),
                keys::time::rfc3339(*now)
            ),
        ),
        Verdict::Stale {
            sequence,
            highest_contiguous,
        } => (
            "chain.stale",
            format!(
                "sequence {sequence} is older than everything kept (highest contiguous {highest_contiguous})"
            ),
        ),
        Verdict::Rollback {
            epoch,
            current_epoch,
        } => (
            "chain.rollback",
            format!("bundle is from epoch {epoch}, this host is in epoch {current_epoch}"),
        ),
        other => ("chain.refused", format!("chain verdict {other:?}")),
    };
    Refusal {
        code: code.into(),
        reason,
        header: Some(Box::new(header)),
        id: Some(id),
        filing_rule: None,
    }
}

fn quarantined(
    spool: &Spool,
    path: &Path,
    name: &str,
    refusal: Refusal,
    now: i64,
    mut file_report: ApplyFileReport,
) -> Result<ApplyFileReport, OuterError> {
    let reason = refusal.quarantine(spool, path, name, now)?;
    file_report.result = "quarantined".into();
    file_report.bundle_id = reason.bundle_id;
    file_report.sequence = reason.sequence;
    file_report.reason = Some(refusal.summary());
    Ok(file_report)
}

/// One unacknowledged bundle, for `status`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Unacknowledged {
    /// Sequence number.
    pub sequence: u64,
    /// Kind.
    pub kind: String,
    /// Records it holds.
    pub records: u64,
    /// Seconds since it was created.
    pub age_seconds: i64,
    /// How often it was published.
    pub send_count: u64,
}

/// The outer side's view for `status`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OuterStatus {
    /// Receipts by state name.
    pub receipts: std::collections::BTreeMap<String, u64>,
    /// Versions not yet exported.
    pub pending_versions: u64,
    /// Versions exported and not yet acknowledged.
    pub in_transit_versions: u64,
    /// Bundles published and not yet acknowledged.
    pub unacknowledged: Vec<Unacknowledged>,
    /// Next sequence number to send.
    pub next_sequence: u64,
    /// Highest return sequence applied, and when the last return bundle was applied.
    pub last_return: Option<(u64, i64)>,
}

/// Reads the outer side's status.
pub fn status(host: &OuterHost, channel: ChannelId, now: i64) -> Result<OuterStatus, OuterError> {
    Ok(host.store.read_blocking(|conn| {
        let mut receipts = std::collections::BTreeMap::new();
        let mut stmt = conn
            .prepare("SELECT state, count(*) FROM receipts GROUP BY state ORDER BY state")
            .map_err(db("counting receipts"))?;
        let rows = stmt
            .query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?)))
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(db("counting receipts"))?;
        for (state, count) in rows {
            receipts.insert(state, u64_of(count));
        }
        let (pending, in_transit): (i64, i64) = conn
            .query_row(
                "SELECT count(*) FILTER (WHERE exported_sequence IS NULL AND payload_removed_at IS NULL),
                        count(*) FILTER (WHERE exported_sequence IS NOT NULL AND acknowledged_at IS NULL)
                 FROM submission_versions",
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .map_err(db("counting versions"))?;
        let mut stmt = conn
            .prepare(
                "SELECT sequence, kind, records, created, send_count FROM transfer_outbox
                 WHERE channel = ?1 AND acknowledged_at IS NULL ORDER BY sequence",
            )
            .map_err(db("reading the outbox index"))?;
        let unacknowledged = stmt
            .query_map([channel.0], |row| {
                Ok(Unacknowledged {
                    sequence: u64_of(row.get(0)?),
                    kind: row.get(1)?,
                    records: u64_of(row.get(2)?),
                    age_seconds: now.saturating_sub(row.get::<_, i64>(3)?),
                    send_count: u64_of(row.get(4)?),
                })
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(db("reading the outbox index"))?;
        let next_sequence = send_state(conn, channel)?.next_sequence;
        let last_return: Option<(i64, i64)> = conn
            .query_row(
                "SELECT max(sequence), max(applied_at) FROM transfer_return_ledger",
                [],
                |row| Ok((row.get::<_, Option<i64>>(0)?, row.get::<_, Option<i64>>(1)?)),
            )
            .map(|(s, a)| s.zip(a))
            .map_err(db("reading the return ledger"))?;
        Ok(OuterStatus {
            receipts,
            pending_versions: u64_of(pending),
            in_transit_versions: u64_of(in_transit),
            unacknowledged,
            next_sequence,
            last_return: last_return.map(|(s, a)| (u64_of(s), a)),
        })
    })?)
}
