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
//! [`recheck::BREAKS_FILING_RULE`] (`record.breaks-filing-rule`: a record breaks a filing rule
//! the outer intake enforces; see [`crate::recheck`]), and for a keyset bundle whose keyset is
//! not installed `keyset.not-next-version`, `keyset.threshold-not-met`, `keyset.bad-signature`,
//! `keyset.key-reused`, `keyset.revocation-withdrawn`, `keyset.version-conflict`,
//! `keyset.malformed` (see [`crate::keysets`]). Nothing of a quarantined bundle is applied and
//! no ledger row is written for it.
//!
//! Transfer keeps its chain bookkeeping in tables prefixed `transfer_` in the inner database
//! (created by the inner migrations): every bundle received (with the `previous` link the chain
//! check needs), every return bundle sent, and every keyset version installed. They are written
//! in the same transaction as the import or as the marking of the return entries sent.

use std::path::Path;

use bundle_format::chain::{self, ChannelState, Verdict};
use bundle_format::records::{Record, SubmissionVersion};
use bundle_format::{BundleId, BundleWriter, Header, Kind, SealedBundle, WriterConfig};
use keys::{ChannelId, Role, Signer};
use postgres::{Client, NoTls, Transaction};

use crate::examine::{self, Refusal};
use crate::keysets::{KeysetReceipt, KeysetStore, Offer};
use crate::outer_side::chain_refusal;
use crate::recheck;
use crate::spool::{self, Spool, SpoolError};

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
    /// Applying a bundle failed for a reason that is not the bundle's fault.
    #[error(transparent)]
    Apply(inner::import::ApplyError),
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

fn db(step: &'static str) -> impl FnOnce(postgres::Error) -> InnerError {
    move |source| InnerError::Database { step, source }
}

/// Key of the advisory lock transfer's import and return take ("sluice-T").
const TRANSFER_LOCK: i64 = 0x736c_7569_6365_2d54;

fn i64_of(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn id_of(bytes: &[u8]) -> BundleId {
    let mut id = [0u8; 32];
    if bytes.len() == 32 {
        id.copy_from_slice(bytes);
    }
    BundleId(id)
}

/// Connects to the inner database and applies the inner schema's migrations (which include
/// transfer's tables).
pub fn connect(url: &str) -> Result<Client, InnerError> {
    let mut client = Client::connect(url, NoTls).map_err(db("connecting"))?;
    prepare(&mut client)?;
    Ok(client)
}

/// Applies the inner migrations (transfer's tables among them) on an open connection.
pub fn prepare(client: &mut Client) -> Result<(), InnerError> {
    inner::import::configure_session(client).map_err(InnerError::Apply)?;
    inner::schema::migrate(client)?;
    Ok(())
}

/// What `import` is told.
#[derive(Debug, Clone)]
pub struct ImportSettings {
    /// The channels submissions are accepted from.
    pub channels: Vec<ChannelId>,
    /// Now, Unix seconds.
    pub now: i64,
}

/// What happened to one inbox file.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportFileReport {
    /// File name as found.
    pub file: String,
    /// `applied`, `duplicate` or `quarantined`.
    pub result: String,
    /// Bundle id, if known.
    pub bundle_id: Option<String>,
    /// Kind, if verified.
    pub kind: Option<String>,
    /// Channel, if known.
    pub channel: Option<u32>,
    /// Sequence, if known.
    pub sequence: Option<u64>,
    /// Submission versions applied now, by outcome name.
    pub outcomes: std::collections::BTreeMap<String, usize>,
    /// Sequence numbers found missing before this bundle (a gap), if any.
    pub gap: Option<(u64, u64)>,
    /// Why it was quarantined.
    pub reason: Option<String>,
    /// For `record.breaks-filing-rule`: the first record and field that break a filing rule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filing_rule: Option<crate::recheck::FilingRuleBreach>,
    /// For a duplicate: return bundles published again because the outer side evidently
    /// lacks their acks.
    pub returns_resent: Vec<String>,
    /// For a keyset bundle: the version it carried and whether it was installed.
    pub keyset: Option<KeysetReceipt>,
}

/// What one `import` run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportReport {
    /// One entry per inbox file, in the order handled.
    pub files: Vec<ImportFileReport>,
}

impl ImportReport {
    /// Files with `result`.
    pub fn count(&self, result: &str) -> usize {
        self.files.iter().filter(|f| f.result == result).count()
    }
}

/// Imports every bundle in the inbox, in chain order. Bundles are verified with the newest
/// version in `keysets`; a keyset bundle that carries the next version installs it there, and
/// the bundles after it in the same run are verified with that version.
pub fn import(
    client: &mut Client,
    spool: &Spool,
    keysets: &mut KeysetStore,
    settings: &ImportSettings,
) -> Result<ImportReport, InnerError> {
    import_with_progress(client, spool, keysets, settings, &mut |_, _| {})
}

/// [`import`], calling `progress(done, total)` after each file.
pub fn import_with_progress(
    client: &mut Client,
    spool: &Spool,
    keysets: &mut KeysetStore,
    settings: &ImportSettings,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<ImportReport, InnerError> {
    spool.create_all()?;
    install_recorded_keysets(client, keysets, settings.now)?;
    let mut report = ImportReport::default();
    let files = examine::in_chain_order(spool::list_bundles(&spool.inbox)?);
    let total = files.len();
    for (done, path) in files.iter().enumerate() {
        report
            .files
            .push(import_file(client, spool, keysets, settings, path)?);
        progress(done + 1, total);
    }
    Ok(report)
}

/// Writes the keyset versions this database records as installed but the keyset directory
/// lacks (a run killed after its commit and before writing the file) and trusts them from now
/// on; returns the versions written. Import, replay and `publish-keyset` call it before they
/// judge anything.
pub fn install_recorded_keysets(
    client: &mut Client,
    keysets: &mut KeysetStore,
    now: i64,
) -> Result<Vec<u64>, InnerError> {
    let trusted = i64_of(keysets.version());
    let recorded: Vec<(u64, Vec<u8>)> = client
        .query(
            "SELECT version, file FROM transfer_keysets WHERE version > $1 ORDER BY version",
            &[&trusted],
        )
        .map_err(db("reading the installed keysets"))?
        .iter()
        .map(|row| (row.get::<_, i64>(0).unsigned_abs(), row.get(1)))
        .collect();
    let written = keysets.install_recorded(&recorded, now)?;
    for version in &written {
        tracing::warn!(target: "sluice::audit", event = "keyset.installed", new_version = version,
            how = "recovered", "installed keyset version {version} from the database record \
            (the run that received it stopped before writing the file)");
    }
    Ok(written)
}

fn record_keyset(
    tx: &mut Transaction<'_>,
    version: u64,
    file: &[u8],
    origin: &str,
    bundle: Option<(&BundleId, ChannelId, u64)>,
    now: i64,
) -> Result<(), InnerError> {
    let id: Option<&[u8]> = bundle.map(|(id, _, _)| &id.0[..]);
    let channel = bundle.map(|(_, channel, _)| i64::from(channel.0));
    let sequence = bundle.map(|(_, _, sequence)| i64_of(sequence));
    tx.execute(
        "INSERT INTO transfer_keysets (version, file, origin, bundle_id, channel, sequence,
                                       recorded_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &i64_of(version),
            &file,
            &origin,
            &id,
            &channel,
            &sequence,
            &now,
        ],
    )
    .map_err(db("recording the installed keyset"))?;
    Ok(())
}

fn channel_state(
    tx: &mut Transaction<'_>,
    header: &Header,
) -> Result<(ChannelState, Option<BundleId>, Option<BundleId>), InnerError> {
    let channel = i64::from(header.channel.0);
    let epoch: Option<i64> = tx
        .query_one(
            "SELECT max(epoch) FROM transfer_inbound WHERE channel = $1",
            &[&channel],
        )
        .map_err(db("reading the chain state"))?
        .get(0);
    let mut state = ChannelState::EMPTY;
    if let Some(epoch) = epoch {
        state.epoch = epoch.unsigned_abs();
        for row in tx
            .query(
                "SELECT sequence, bundle_id FROM transfer_inbound
                 WHERE channel = $1 AND epoch = $2 ORDER BY sequence",
                &[&channel, &epoch],
            )
            .map_err(db("reading the chain state"))?
        {
            let sequence: i64 = row.get(0);
            if sequence.unsigned_abs() != state.highest_contiguous + 1 {
                break;
            }
            state.highest_contiguous += 1;
            state.last_id = id_of(row.get(1));
        }
    }
    let epoch = i64_of(header.epoch);
    let recorded = tx
        .query_opt(
            "SELECT bundle_id FROM transfer_inbound
             WHERE channel = $1 AND epoch = $2 AND sequence = $3",
            &[&channel, &epoch, &i64_of(header.sequence)],
        )
        .map_err(db("reading the chain state"))?
        .map(|row| id_of(row.get(0)));
    // The bundle after this one, if it arrived first (a healed gap): it names its predecessor.
    let successor_claims = tx
        .query_opt(
            "SELECT previous FROM transfer_inbound
             WHERE channel = $1 AND epoch = $2 AND sequence = $3",
            &[&channel, &epoch, &i64_of(header.sequence.saturating_add(1))],
        )
        .map_err(db("reading the chain state"))?
        .map(|row| id_of(row.get(0)));
    Ok((state, recorded, successor_claims))
}

/// Verifies, judges and imports one file from wherever it is, then archives or quarantines it.
/// A keyset bundle's keyset is judged against the current version of `keysets` and, if it is
/// the next one, recorded with the bundle's ledger row and installed after the commit.
pub fn import_file(
    client: &mut Client,
    spool: &Spool,
    keysets: &mut KeysetStore,
    settings: &ImportSettings,
    path: &Path,
) -> Result<ImportFileReport, InnerError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut file_report = ImportFileReport {
        file: name.clone(),
        ..ImportFileReport::default()
    };
    let bytes = match examine::read_file(path) {
        Ok(bytes) => bytes,
        Err(refusal) => return quarantined(spool, path, &name, refusal, settings.now, file_report),
    };
    let verified = examine::verify_bytes(
        &bytes,
        keysets.current(),
        Role::OuterBundle,
        &settings.channels,
        settings.now,
    );
    let verified = match verified {
        Ok(verified) => verified,
        Err(refusal) => match imported_before(client, &bytes, &refusal, keysets, settings)? {
            Some(verified) => verified,
            None => {
                return quarantined(spool, path, &name, refusal, settings.now, file_report);
            }
        },
    };
    let header = verified.header;
    file_report.bundle_id = Some(verified.id.to_string());
    file_report.kind = Some(header.kind.to_string());
    file_report.channel = Some(header.channel.0);
    file_report.sequence = Some(header.sequence);
    if !matches!(
        header.kind,
        Kind::Submissions | Kind::Heartbeat | Kind::Keyset
    ) {
        let refusal = Refusal {
            code: "kind.not-importable".into(),
            reason: format!(
                "a {} bundle cannot be imported here; it belongs on the outer host",
                header.kind
            ),
            header: Some(Box::new(header)),
            id: Some(verified.id),
            filing_rule: None,
        };
        return quarantined(spool, path, &name, refusal, settings.now, file_report);
    }
    // A keyset bundle's keyset is judged here too and acted on after the chain verdict, like
    // the re-check.
    let offer = keyset_offer(keysets, &verified.records, header.kind, settings.now);
    let submissions: Vec<SubmissionVersion> = verified
        .records
        .into_iter()
        .filter_map(|record| match record {
            Record::Submission(version) => Some(version),
            _ => None,
        })
        .collect();
    // Judged before the transaction (no lock held while it runs), acted on after the chain
    // verdict: a bundle imported before is still a duplicate, and a fork or rollback is named
    // for what it is.
    let breach = recheck::recheck(&submissions).err();

    let mut tx = client.transaction().map_err(db("starting a transaction"))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&TRANSFER_LOCK])
        .map_err(db("taking the transfer lock"))?;
    let (state, recorded, successor_claims) = channel_state(&mut tx, &header)?;
    let mut verdict = chain::judge(&header, verified.id, &state, recorded, settings.now);
    if matches!(
        verdict,
        Verdict::Next | Verdict::NewEpoch { .. } | Verdict::Gap { .. }
    ) && let Some(claimed) = successor_claims
        && claimed != verified.id
    {
        verdict = Verdict::Fork {
            sequence: header.sequence,
            ours: claimed,
            theirs: verified.id,
        };
    }
    if let Some(breach) = breach
        && matches!(
            verdict,
            Verdict::Next | Verdict::NewEpoch { .. } | Verdict::Gap { .. }
        )
    {
        drop(tx);
        let refusal = Refusal {
            code: recheck::BREAKS_FILING_RULE.into(),
            reason: breach.to_string(),
            header: Some(Box::new(header)),
            id: Some(verified.id),
            filing_rule: Some(breach),
        };
        return quarantined(spool, path, &name, refusal, settings.now, file_report);
    }
    // A keyset that would not be installed quarantines its bundle, which then takes no place
    // in the chain (the sender's next bundle reports the gap, operators see the reason); an
    // accepted one is recorded with the ledger row below.
    let offer = match offer {
        Ok(offer) => offer,
        Err(refusal)
            if matches!(
                verdict,
                Verdict::Next | Verdict::NewEpoch { .. } | Verdict::Gap { .. }
            ) =>
        {
            drop(tx);
            let refusal = Refusal {
                code: refusal.code.into(),
                reason: refusal.reason,
                header: Some(Box::new(header)),
                id: Some(verified.id),
                filing_rule: None,
            };
            return quarantined(spool, path, &name, refusal, settings.now, file_report);
        }
        // Any other verdict is acted on below without the keyset.
        Err(_) => None,
    };
    match &verdict {
        Verdict::Duplicate => {
            // The outer side sends a bundle again only while it has no ack for it: the return
            // bundle that carried the ack, or one after it, was lost. Publishing every return
            // bundle sent since this one was imported heals that (the outer side skips the ones
            // it has as duplicates).
            let id: &[u8] = &verified.id.0;
            let resend: Vec<String> = tx
                .query(
                    "SELECT r.file_name FROM transfer_return_sent r
                     WHERE r.created >= (SELECT imported_at FROM transfer_inbound WHERE bundle_id = $1)
                     ORDER BY r.epoch, r.sequence",
                    &[&id],
                )
                .map_err(db("finding return bundles to send again"))?
                .iter()
                .map(|row| row.get(0))
                .collect();
            drop(tx);
            for retained in &resend {
                let source = spool.retained.join(retained);
                if source.exists() {
                    spool::copy_durable(&source, &spool.outbox, retained)?;
                    file_report.returns_resent.push(retained.clone());
                }
            }
            let archived = spool::free_name(&spool.archive, &name);
            spool::move_durable(path, &spool.archive, &archived)?;
            tracing::info!(target: "sluice::audit", event = "bundle.duplicate", bundle = %verified.id,
                channel = header.channel.0, sequence = header.sequence, file = %name,
                returns_resent = file_report.returns_resent.len(),
                "bundle imported before; nothing changed");
            file_report.result = "duplicate".into();
            return Ok(file_report);
        }
        Verdict::Gap { missing } => {
            file_report.gap = Some((*missing.start(), *missing.end()));
            tracing::warn!(target: "sluice::audit", event = "gap.seen", channel = header.channel.0,
                first_missing = missing.start(), last_missing = missing.end(),
                "bundles missing before this one; applying it and reporting the gap");
        }
        Verdict::Next | Verdict::NewEpoch { .. } => {}
        other => {
            drop(tx);
            let refusal = chain_refusal(other, header, verified.id);
            return quarantined(spool, path, &name, refusal, settings.now, file_report);
        }
    }

    let incoming = inner::import::IncomingBundle {
        bundle_id: verified.id.0,
        channel: header.channel.0,
        epoch: header.epoch,
        sequence: header.sequence,
        signer: verified.signer,
        created: header.created,
        submissions: &submissions,
    };
    let applied = match inner::import::apply_bundle(&mut tx, &incoming, settings.now) {
        Ok(applied) => applied,
        Err(inner::import::ApplyError::Fork {
            stored, incoming, ..
        }) => {
            drop(tx);
            let refusal = Refusal {
                code: "chain.fork".into(),
                reason: format!(
                    "fork at sequence {}: the ledger holds bundle {stored}, this file is {incoming}; \
                     raise the alarm",
                    header.sequence
                ),
                header: Some(Box::new(header)),
                id: Some(verified.id),
                filing_rule: None,
            };
            return quarantined(spool, path, &name, refusal, settings.now, file_report);
        }
        Err(other) => return Err(InnerError::Apply(other)),
    };
    let previous: &[u8] = &header.previous.0;
    let id: &[u8] = &verified.id.0;
    tx.execute(
        "INSERT INTO transfer_inbound (bundle_id, channel, epoch, sequence, previous, kind,
                                       file_name, imported_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &id,
            &i64::from(header.channel.0),
            &i64_of(header.epoch),
            &i64_of(header.sequence),
            &previous,
            &header.kind.as_str(),
            &name,
            &settings.now,
        ],
    )
    .map_err(db("recording the bundle in the chain ledger"))?;
    if let Some((Offer::Next(next), file)) = &offer {
        record_keyset(
            &mut tx,
            next.version(),
            file,
            "received",
            Some((&verified.id, header.channel, header.sequence)),
            settings.now,
        )?;
    }
    tx.commit().map_err(db("committing the import"))?;
    crate::failpoint::hit("import.after-commit");
    if let Some((offer, _)) = offer {
        file_report.keyset = Some(crate::keysets::install_offer(keysets, offer, &verified.id)?);
    }
    for ack in &applied.outcomes {
        *file_report
            .outcomes
            .entry(format!("{:?}", ack.outcome).to_lowercase())
            .or_insert(0) += 1;
    }
    let archived = spool::free_name(&spool.archive, &name);
    spool::move_durable(path, &spool.archive, &archived)?;
    tracing::info!(target: "sluice::audit", event = "bundle.imported", bundle = %verified.id,
        kind = header.kind.as_str(), channel = header.channel.0, epoch = header.epoch,
        sequence = header.sequence, submissions = submissions.len(),
        outcomes = ?file_report.outcomes, "imported bundle");
    file_report.result = "applied".into();
    Ok(file_report)
}

/// A bundle refused because its signer was revoked (or expired, or dropped) since, that the
/// chain ledger holds already: verified as of its creation, so the chain check sees the
/// duplicate it is (and sends the return bundles the outer side evidently lacks) instead of
/// quarantining an applied bundle. This is what a resend of a bundle signed before a key
/// rotation, or a run stopped after importing a keyset bundle, meets.
fn imported_before(
    client: &mut Client,
    bytes: &[u8],
    refusal: &Refusal,
    keysets: &KeysetStore,
    settings: &ImportSettings,
) -> Result<Option<bundle_format::VerifiedBundle>, InnerError> {
    let Some(id) = refusal
        .id
        .filter(|_| examine::signer_refused_since(refusal))
    else {
        return Ok(None);
    };
    let id: &[u8] = &id.0;
    let known = client
        .query_opt(
            "SELECT 1 FROM transfer_inbound WHERE bundle_id = $1",
            &[&id],
        )
        .map_err(db("looking up the chain ledger"))?
        .is_some();
    if !known {
        return Ok(None);
    }
    Ok(examine::verify_recorded(bytes, keysets, Role::OuterBundle, &settings.channels).ok())
}

/// For a keyset bundle, what its keyset is to `keysets` and the keyset file it carries; `None`
/// for other kinds.
fn keyset_offer(
    keysets: &KeysetStore,
    records: &[Record],
    kind: Kind,
    now: i64,
) -> Result<Option<(Offer, Vec<u8>)>, crate::keysets::KeysetRefusal> {
    if kind != Kind::Keyset {
        return Ok(None);
    }
    crate::keysets::judge_carried(keysets, records, now).map(Some)
}

fn quarantined(
    spool: &Spool,
    path: &Path,
    name: &str,
    refusal: Refusal,
    now: i64,
    mut file_report: ImportFileReport,
) -> Result<ImportFileReport, InnerError> {
    let reason = refusal.quarantine(spool, path, name, now)?;
    file_report.result = "quarantined".into();
    file_report.bundle_id = reason.bundle_id;
    file_report.channel = reason.channel;
    file_report.sequence = reason.sequence;
    file_report.reason = Some(refusal.summary());
    file_report.filing_rule = refusal.filing_rule.map(|breach| *breach);
    Ok(file_report)
}

/// What `return` is told.
#[derive(Debug, Clone, Copy)]
pub struct ReturnSettings {
    /// The return channel.
    pub channel: ChannelId,
    /// Lifetime of the bundle, seconds.
    pub validity_seconds: i64,
    /// Most queue entries in one return bundle.
    pub max_entries: usize,
    /// Now, Unix seconds.
    pub now: i64,
}

/// What one `return` run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReturnReport {
    /// Bundles written (usually one), as published in the outbox.
    pub written: Vec<crate::outer_side::BundleSummary>,
    /// Acks carried.
    pub acks: usize,
    /// Status changes carried.
    pub status_changes: usize,
    /// Certificates carried.
    pub certificates: usize,
    /// Whether the only bundle written is a heartbeat: nothing was pending and the sequence
    /// state is what the last return bundle said.
    pub heartbeat: bool,
    /// Channels whose sequence state was reported, with their missing sequence numbers.
    pub sequence_reports: Vec<(u32, u64, Vec<u64>)>,
    /// Return bundles recorded but not yet published, published now (crash recovery).
    pub recovered: usize,
}

/// Writes one return bundle with every pending queue entry (up to the limit) and the current
/// sequence state of every channel. When nothing is pending and the sequence state is what the
/// last return bundle said, the bundle is a heartbeat that carries only that state.
pub fn write_return(
    client: &mut Client,
    spool: &Spool,
    signer: &dyn Signer,
    settings: &ReturnSettings,
) -> Result<ReturnReport, InnerError> {
    spool.create_all()?;
    let mut report = ReturnReport {
        recovered: publish_recorded(client, spool, settings.now)?,
        ..ReturnReport::default()
    };
    // One bundle per batch of entries, until the queue is drained.
    let batch = max_entries(settings);
    while write_one_return(client, spool, signer, settings, &mut report)? == batch {}
    Ok(report)
}

fn max_entries(settings: &ReturnSettings) -> usize {
    settings
        .max_entries
        .min(bundle_format::payload::MAX_RECORDS_PER_BUNDLE.saturating_sub(1024))
}

/// Writes one return bundle; returns how many queue entries it carried.
fn write_one_return(
    client: &mut Client,
    spool: &Spool,
    signer: &dyn Signer,
    settings: &ReturnSettings,
    report: &mut ReturnReport,
) -> Result<usize, InnerError> {
    let mut tx = client.transaction().map_err(db("starting a transaction"))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&TRANSFER_LOCK])
        .map_err(db("taking the transfer lock"))?;
    let pending = inner::returns::pending_returns(&mut tx, max_entries(settings))?;
    let reports_encoded = bincode::encode_to_vec(
        &pending.sequence_reports,
        bundle_format::records::wire_config(),
    )
    .unwrap_or_default();
    let channel = i64::from(settings.channel.0);
    let (epoch, next_sequence, previous, last_reports) =
        return_position(&mut tx, settings.channel)?;
    let unchanged = last_reports.as_deref() == Some(&reports_encoded[..]);
    if pending.entries.is_empty() && unchanged && !report.written.is_empty() {
        // This run has published already; the queue is drained.
        return Ok(0);
    }
    // With nothing to carry and nothing new to report, the bundle is the return channel's
    // heartbeat: the sequence reports alone, so that the outer side can tell a quiet inner
    // side from a dead one (its `status` shows when the last return bundle was applied).
    report.heartbeat = pending.entries.is_empty() && unchanged;
    let config = WriterConfig {
        kind: Kind::Return,
        channel: settings.channel,
        epoch,
        next_sequence,
        previous,
        created: settings.now,
        expires: settings.now.saturating_add(settings.validity_seconds),
        part_content_bytes: bundle_format::bundle::DEFAULT_PART_CONTENT_BYTES,
        part_records: bundle_format::payload::MAX_RECORDS_PER_BUNDLE,
    };
    let mut names: Vec<String> = Vec::new();
    let retained = spool.retained.clone();
    let sink = |sealed: &SealedBundle<'_>| -> std::io::Result<()> {
        let name = spool::bundle_file_name(&sealed.header, &sealed.id);
        spool::write_atomic(&retained, &name, |f| sealed.write_to(f))
            .map_err(std::io::Error::other)?;
        names.push(name);
        Ok(())
    };
    let mut writer = BundleWriter::new(signer, config, sink)?;
    report.sequence_reports.clear();
    for sequence_report in &pending.sequence_reports {
        writer.push(&Record::SequenceReport(sequence_report.clone()))?;
        report.sequence_reports.push((
            sequence_report.channel,
            sequence_report.epoch,
            sequence_report.missing.clone(),
        ));
    }
    let mut placed: Vec<(i64, u64)> = Vec::with_capacity(pending.entries.len());
    for entry in &pending.entries {
        match &entry.record {
            Record::Ack(_) => report.acks += 1,
            Record::StatusChange(_) => report.status_changes += 1,
            Record::Certificate(_) => report.certificates += 1,
            _ => {}
        }
        let sequence = writer.push(&entry.record)?;
        placed.push((entry.entry_id, sequence));
    }
    let written = writer.finish()?;
    crate::failpoint::hit("return.after-bundle-written");
    for (bundle, name) in written.iter().zip(names.iter()) {
        let ids: Vec<i64> = placed
            .iter()
            .filter(|(_, sequence)| *sequence == bundle.header.sequence)
            .map(|(id, _)| *id)
            .collect();
        if !ids.is_empty() {
            inner::returns::mark_sent(&mut tx, &ids, bundle.id.0, settings.now)?;
        }
        let id: &[u8] = &bundle.id.0;
        tx.execute(
            "INSERT INTO transfer_return_sent (bundle_id, channel, epoch, sequence, file_name,
                                               entries, reports, created)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &id,
                &channel,
                &i64_of(epoch),
                &i64_of(bundle.header.sequence),
                name,
                &i32::try_from(bundle.records).unwrap_or(i32::MAX),
                &reports_encoded,
                &settings.now,
            ],
        )
        .map_err(db("recording the return bundle"))?;
        report.written.push(crate::outer_side::BundleSummary {
            bundle_id: bundle.id.to_string(),
            kind: Kind::Return.as_str().into(),
            sequence: bundle.header.sequence,
            records: bundle.records,
            file: name.clone(),
        });
    }
    if let Err(error) = tx.commit() {
        for name in &names {
            spool::remove_durable(&spool.retained.join(name))?;
        }
        return Err(InnerError::Database {
            step: "committing the return bundle",
            source: error,
        });
    }
    publish_recorded(client, spool, settings.now)?;
    for bundle in &report.written {
        tracing::info!(target: "sluice::audit", event = "bundle.returned", bundle = %bundle.bundle_id,
            sequence = bundle.sequence, records = bundle.records, file = %bundle.file,
            "published return bundle");
    }
    Ok(pending.entries.len())
}

/// Where the next return bundle goes: epoch, sequence, the id before it, and the sequence
/// reports the last one carried (`None` before the first).
type ReturnPosition = (u64, u64, BundleId, Option<Vec<u8>>);

/// Where the next return bundle goes on `channel`.
fn return_position(
    tx: &mut Transaction<'_>,
    channel: ChannelId,
) -> Result<ReturnPosition, InnerError> {
    let last = tx
        .query_opt(
            "SELECT epoch, sequence, bundle_id, reports FROM transfer_return_sent
             WHERE channel = $1 ORDER BY epoch DESC, sequence DESC LIMIT 1",
            &[&i64::from(channel.0)],
        )
        .map_err(db("reading the return chain"))?;
    Ok(match &last {
        Some(row) => {
            let epoch: i64 = row.get(0);
            let sequence: i64 = row.get(1);
            let reports: Vec<u8> = row.get(3);
            (
                epoch.unsigned_abs(),
                sequence.unsigned_abs().saturating_add(1),
                id_of(row.get(2)),
                Some(reports),
            )
        }
        None => (1, 1, BundleId::ZERO, None),
    })
}

/// The keyset versions this database records as installed, oldest first.
pub fn recorded_keysets(
    client: &mut Client,
) -> Result<Vec<crate::keysets::RecordedKeyset>, InnerError> {
    Ok(client
        .query(
            "SELECT version, origin, channel, sequence, recorded_at FROM transfer_keysets
             ORDER BY version",
            &[],
        )
        .map_err(db("reading the installed keysets"))?
        .iter()
        .map(|row| crate::keysets::RecordedKeyset {
            version: row.get::<_, i64>(0).unsigned_abs(),
            origin: row.get(1),
            channel: row
                .get::<_, Option<i64>>(2)
                .and_then(|c| u32::try_from(c).ok()),
            sequence: row.get::<_, Option<i64>>(3).map(i64::unsigned_abs),
            recorded_at: row.get(4),
            acknowledged: None,
        })
        .collect())
}

/// What `publish-keyset` did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PublishKeysetReport {
    /// The version published, the version trusted before, and what installing it here changed.
    pub keyset: KeysetReceipt,
    /// The keyset bundle, as published in the outbox.
    pub bundle: crate::outer_side::BundleSummary,
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
    let offer = keysets
        .judge(file, settings.now)
        .map_err(crate::keysets::PublishRefusal::Refused)?;
    let mut receipt = KeysetReceipt::of(&offer, keysets);
    match offer {
        Offer::Next(next) => {
            let mut tx = client.transaction().map_err(db("starting a transaction"))?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&TRANSFER_LOCK])
                .map_err(db("taking the transfer lock"))?;
            record_keyset(
                &mut tx,
                next.version(),
                file,
                "published",
                None,
                settings.now,
            )?;
            tx.commit().map_err(db("recording the keyset"))?;
            let written = keysets.install(*next)?;
            receipt.file = written.map(|p| p.display().to_string());
            receipt.audit(None, "published");
        }
        Offer::AlreadyTrusted { version } => {
            // Only a publication stopped after installing and before writing its bundle may go
            // on; anything else is trusted here already and needs no second bundle.
            let row = client
                .query_opt(
                    "SELECT origin, bundle_id FROM transfer_keysets WHERE version = $1",
                    &[&i64_of(version)],
                )
                .map_err(db("reading the installed keysets"))?;
            let row = row.map(|row| {
                (
                    row.get::<_, String>(0),
                    row.get::<_, Option<Vec<u8>>>(1).is_some(),
                )
            });
            crate::keysets::already_trusted(
                version,
                row.as_ref().map(|(origin, sent)| (origin.as_str(), *sent)),
            )?;
        }
    }

    let mut tx = client.transaction().map_err(db("starting a transaction"))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&TRANSFER_LOCK])
        .map_err(db("taking the transfer lock"))?;
    let (epoch, next_sequence, previous, last_reports) =
        return_position(&mut tx, settings.channel)?;
    let config = WriterConfig {
        kind: Kind::Keyset,
        channel: settings.channel,
        epoch,
        next_sequence,
        previous,
        created: settings.now,
        expires: settings.now.saturating_add(settings.validity_seconds),
        part_content_bytes: bundle_format::bundle::DEFAULT_PART_CONTENT_BYTES,
        part_records: 1,
    };
    let mut names: Vec<String> = Vec::new();
    let retained = spool.retained.clone();
    let sink = |sealed: &SealedBundle<'_>| -> std::io::Result<()> {
        let name = spool::bundle_file_name(&sealed.header, &sealed.id);
        spool::write_atomic(&retained, &name, |f| sealed.write_to(f))
            .map_err(std::io::Error::other)?;
        names.push(name);
        Ok(())
    };
    let mut writer = BundleWriter::new(signer, config, sink)?;
    writer.push(&Record::Keyset(bundle_format::records::KeysetRecord {
        document: file.to_vec(),
    }))?;
    let written = writer.finish()?;
    let (Some(bundle), Some(name)) = (written.first(), names.first()) else {
        return Err(InnerError::Write(bundle_format::WriteError::MissingKeyset));
    };
    let id: &[u8] = &bundle.id.0;
    // The keyset bundle carries no sequence reports; keep the last ones, so the next return
    // run sends its reports only if they changed (none sent yet: an empty value, never equal).
    let reports = last_reports.unwrap_or_default();
    let stored = tx
        .execute(
            "INSERT INTO transfer_return_sent (bundle_id, channel, epoch, sequence, file_name,
                                               entries, reports, created)
             VALUES ($1, $2, $3, $4, $5, 0, $6, $7)",
            &[
                &id,
                &i64::from(settings.channel.0),
                &i64_of(epoch),
                &i64_of(bundle.header.sequence),
                name,
                &reports,
                &settings.now,
            ],
        )
        .and_then(|_| {
            tx.execute(
                "UPDATE transfer_keysets SET bundle_id = $2, channel = $3, sequence = $4
                 WHERE version = $1",
                &[
                    &i64_of(receipt.version),
                    &id,
                    &i64::from(settings.channel.0),
                    &i64_of(bundle.header.sequence),
                ],
            )
        });
    if let Err(error) = stored.and_then(|_| tx.commit()) {
        spool::remove_durable(&spool.retained.join(name))?;
        return Err(InnerError::Database {
            step: "recording the keyset bundle",
            source: error,
        });
    }
    publish_recorded(client, spool, settings.now)?;
    tracing::info!(target: "sluice::audit", event = "bundle.returned", kind = "keyset",
        bundle = %bundle.id, sequence = bundle.header.sequence, keyset_version = receipt.version,
        file = %name, "published keyset bundle");
    Ok(PublishKeysetReport {
        keyset: receipt,
        bundle: crate::outer_side::BundleSummary {
            bundle_id: bundle.id.to_string(),
            kind: Kind::Keyset.as_str().into(),
            sequence: bundle.header.sequence,
            records: bundle.records,
            file: name.clone(),
        },
    })
}

/// Publishes every recorded return bundle not yet in the outbox; returns how many.
fn publish_recorded(client: &mut Client, spool: &Spool, now: i64) -> Result<usize, InnerError> {
    let rows = client
        .query(
            "SELECT bundle_id, file_name FROM transfer_return_sent
             WHERE published_at IS NULL ORDER BY channel, epoch, sequence",
            &[],
        )
        .map_err(db("reading the return chain"))?;
    let mut published = 0;
    for row in rows {
        let id: Vec<u8> = row.get(0);
        let name: String = row.get(1);
        spool::copy_durable(&spool.retained.join(&name), &spool.outbox, &name)?;
        client
            .execute(
                "UPDATE transfer_return_sent SET published_at = $2 WHERE bundle_id = $1",
                &[&id, &now],
            )
            .map_err(db("recording a publication"))?;
        published += 1;
    }
    Ok(published)
}

/// One channel's state as the inner side sees it, for `status`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChannelStatus {
    /// Channel.
    pub channel: u32,
    /// Latest epoch.
    pub epoch: u64,
    /// Highest contiguous sequence number received.
    pub highest_contiguous: u64,
    /// Missing sequence numbers above it.
    pub missing: Vec<u64>,
    /// When the last bundle of any kind was imported, Unix seconds.
    pub last_import: Option<i64>,
    /// When the last heartbeat was imported, Unix seconds.
    pub last_heartbeat: Option<i64>,
}

/// The inner side's view for `status`: per-channel chain state and the return queue.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct InnerStatus {
    /// Each channel submissions arrived on.
    pub channels: Vec<ChannelStatus>,
    /// Return queue entries not yet sent.
    pub pending_returns: i64,
    /// Return bundles sent.
    pub return_bundles_sent: i64,
}

/// Reads the inner side's status.
pub fn status(client: &mut Client) -> Result<InnerStatus, InnerError> {
    let reports = inner::returns::sequence_reports(client)?;
    let mut channels = Vec::new();
    for report in reports {
        let channel = i64::from(report.channel);
        let row = client
            .query_one(
                "SELECT max(imported_at), max(imported_at) FILTER (WHERE kind = 'heartbeat')
                 FROM transfer_inbound WHERE channel = $1",
                &[&channel],
            )
            .map_err(db("reading the chain ledger"))?;
        channels.push(ChannelStatus {
            channel: report.channel,
            epoch: report.epoch,
            highest_contiguous: report.highest_contiguous,
            missing: report.missing,
            last_import: row.get(0),
            last_heartbeat: row.get(1),
        });
    }
    let pending: i64 = client
        .query_one(
            "SELECT count(*) FROM return_queue WHERE sent_in IS NULL",
            &[],
        )
        .map_err(db("reading the return queue"))?
        .get(0);
    let sent: i64 = client
        .query_one("SELECT count(*) FROM transfer_return_sent", &[])
        .map_err(db("reading the return chain"))?
        .get(0);
    Ok(InnerStatus {
        channels,
        pending_returns: pending,
        return_bundles_sent: sent,
    })
}
