//! Applying one submissions bundle to the store, inside the caller's transaction.
//!
//! [`apply_bundle`] writes the ledger row with the bundle's signed message (stored once), one
//! row per submission version (what review, conflicts, status and audit need, and where its
//! record lies in the stored message), the receipts and review queue entries and the ack for
//! the return channel — all in the one transaction the caller commits, or none of it. It writes
//! no normalised filing rows: a pending filing is read from its stored record, and approval
//! ([`crate::review`]) writes the filing's subject, website, domain and IP rows. Business problems of one submission
//! (a domain filed by another subject, a change to an unknown filing number, an old version)
//! become that submission's outcome with a reason code; they never abort the bundle.
//!
//! Large bundles cost close to `COPY` itself rather than one `INSERT` round trip per row: what
//! the checks read is written with binary `COPY` into temporary staging tables, a fixed number
//! of set-based statements decide every submission's outcome, and the version rows, receipts and
//! review events are then written with binary `COPY` straight into their tables.
//!
//! One file per stage, in the order they run: `checks` (what one submission decides without the
//! database), `staging` (binary `COPY` of what the set-based checks read), `classify` (those
//! checks: replays, version order, references, conflicts), `write` (the accepted submissions'
//! receipts and review events), `withdraw` (withdrawals of receipts), `provider_check` (the
//! access provider's checks done outside: who must check, which checks may apply, their review
//! steps) and `outcomes` (each
//! version's outcome, its version row and the ack); `copier` is the binary `COPY` writer they
//! share. `ledger_row` writes the bundle's own row first, streaming its message (up to the
//! format's 258 MiB) to the server in pieces rather than as one statement parameter, which
//! would be a second copy of it in this process.

mod checks;
mod classify;
mod copier;
mod frames;
mod ledger_row;
mod outcomes;
mod provider_check;
mod staging;
mod submissions;
mod withdraw;
mod write;

use bundle_format::records::{
    ArrivalAck, ImportOutcome, RangeAck, ReceiptAck, Record, SubmissionVersion,
};
use postgres::Transaction;

use crate::returns;
use crate::store::StoreError;
pub use submissions::{SubmissionIter, Submissions};
/// Most submission versions one bundle may carry into [`apply_bundle`].
pub const MAX_SUBMISSIONS_PER_BUNDLE: usize = 1_000_000;

/// The reviewer name recorded on review events the import itself makes.
pub const IMPORT_ACTOR: &str = "import";

/// First key of the per-channel advisory lock that makes imports of one channel take turns
/// ("sl-I"; the second key is the channel). Imports of different channels run side by side:
/// what the checks read is either the channel's own (its ledger, the versions of the receipts
/// it created) or written by approval only (active filings, websites, domains and subjects).
/// The schema's per-statement reference checks (migration 4) take no row locks; that is safe
/// because website records are never deleted since migration 5 (the import no longer writes
/// them; approval inserts them and only changes their status). Two channels storing the same
/// new receipt at once meet at its primary key: the second waits for the first and then fails
/// with [`ApplyError::StoredConcurrently`], applying nothing, and its next run refuses the
/// receipt as another channel's.
const IMPORT_LOCK_CLASS: i32 = 0x736c_2d49;

/// Machine-readable reason codes of per-submission outcomes, as they appear in acks.
pub mod reason {
    /// This exact version (same hash) was stored by an earlier bundle.
    pub const ALREADY_APPLIED: &str = "already-applied";
    /// The same bundle holds this version twice.
    pub const DUPLICATE_IN_BUNDLE: &str = "duplicate-in-bundle";
    /// A newer version of the receipt is stored already.
    pub const NEWER_VERSION_STORED: &str = "newer-version-stored";
    /// The same bundle holds a newer version of the receipt.
    pub const NEWER_VERSION_IN_BUNDLE: &str = "newer-version-in-bundle";
    /// This version number was stored before with a different content hash.
    pub const VERSION_HASH_CONFLICT: &str = "version-hash-conflict";
    /// The content hash does not match the body.
    pub const CONTENT_HASH_MISMATCH: &str = "content-hash-mismatch";
    /// A field breaks a shape limit of the wire format.
    pub const SHAPE_LIMIT: &str = "shape-limit";
    /// The subject's region code names none of the 31 authorities.
    pub const UNKNOWN_PROVINCE: &str = "unknown-province";
    /// A text field holds a NUL character, which the store cannot hold.
    pub const NUL_IN_TEXT: &str = "nul-in-text";
    /// A domain appears twice in one submission.
    pub const DUPLICATE_DOMAIN: &str = "duplicate-domain";
    /// An IP range mixes families or runs backwards.
    pub const BAD_IP_RANGE: &str = "bad-ip-range";
    /// A website number is malformed or belongs to another filing number.
    pub const BAD_WEBSITE_NUMBER: &str = "bad-website-number";
    /// The receipt was decided (approved, rejected, cancelled, withdrawn); a new version cannot
    /// reopen it.
    pub const RECEIPT_CLOSED: &str = "receipt-closed";
    /// A change or cancellation names a filing number that is not approved here.
    pub const UNKNOWN_FILING_NUMBER: &str = "unknown-filing-number";
    /// A change or cancellation names a website number that is not approved here.
    pub const UNKNOWN_WEBSITE_NUMBER: &str = "unknown-website-number";
    /// A withdrawal names a receipt not known here.
    pub const UNKNOWN_RECEIPT: &str = "unknown-receipt";
    /// A withdrawal names a receipt that was already decided.
    pub const RECEIPT_ALREADY_DECIDED: &str = "receipt-already-decided";
    /// The version, edit or withdrawal names a receipt another channel created: only the
    /// channel whose signed bundle created a receipt may add to it or withdraw it.
    pub const RECEIPT_OF_ANOTHER_CHANNEL: &str = "receipt-of-another-channel";
    /// A withdrawal names a receipt already under review (awaiting the regional authority,
    /// returned, or moved on by a reviewer): it must be cancelled instead, as outside.
    pub const RECEIPT_UNDER_REVIEW: &str = "receipt-under-review";
    /// A change or cancellation names a filing that is not the submitter's: it was filed on
    /// another channel, by another account, or through another access provider.
    pub const FILING_OF_ANOTHER_OWNER: &str = "filing-of-another-owner";
    /// A domain is actively filed by another filing.
    pub const DOMAIN_CONFLICT: &str = "domain-conflict";
    /// The subject already holds an approved filing; a second filing must be a change.
    pub const SUBJECT_ALREADY_FILED: &str = "subject-already-filed";
    /// A provider check comes from an account that is not an access provider sending as
    /// itself, or from a provider the checked version's access details do not name.
    pub const NOT_NAMED_PROVIDER: &str = "not-named-provider";
    /// A provider check names a receipt that is not awaiting the provider's check (never was,
    /// or has moved on).
    pub const NOT_AWAITING_PROVIDER_CHECK: &str = "not-awaiting-provider-check";
    /// A provider check names a version (or content hash) that is no longer the receipt's
    /// current one: the owner changed the submission after the provider was shown it.
    pub const CHECKED_VERSION_OUTDATED: &str = "checked-version-outdated";
    /// The provider confirmed this version already.
    pub const ALREADY_CHECKED: &str = "already-checked";
    /// A scan is larger than this side's scan size limit (`max_scan_bytes`).
    pub const SCAN_TOO_LARGE: &str = "scan-too-large";
    /// A scan is not the JPEG or PNG image its media type declares (told by its bytes).
    pub const SCAN_NOT_IMAGE: &str = "scan-not-image";
}

/// A verified submissions bundle, as the importer hands it over.
#[derive(Debug, Clone, Copy)]
pub struct IncomingBundle<'a> {
    /// SHA-256 of the signed message.
    pub bundle_id: [u8; 32],
    /// Channel it came on.
    pub channel: u32,
    /// Sender's epoch.
    pub epoch: u64,
    /// Sequence number within the epoch, from 1.
    pub sequence: u64,
    /// Key that signed it.
    pub signer: keys::KeyId,
    /// When the sender made it, Unix seconds.
    pub created: i64,
    /// The submission versions it holds, in bundle order: record `i` of the bundle is
    /// submission `i` (a submissions bundle holds nothing else).
    pub submissions: Submissions<'a>,
    /// The signed message `M` (header and payload) exactly as verified, whose SHA-256 is
    /// `bundle_id`; for a bundle that was encrypted on the medium, its opened message (the
    /// header as signed, then the decrypted zstd frame; bundle-format SPEC.md §4.5). It is
    /// stored once, and a pending submission is read back from it.
    pub message: &'a [u8],
    /// Whether the bundle was encrypted on the medium (`message` is then the opened message).
    pub encrypted: bool,
    /// The largest scan a submission may carry here, in bytes: a version with a larger one is
    /// rejected with [`reason::SCAN_TOO_LARGE`]. [`IncomingBundle::verified`] sets
    /// [`filing::scan::DEFAULT_MAX_SCAN_BYTES`].
    pub max_scan_bytes: usize,
    /// The most memory, in bytes, the import may take to hold what its passes after staging
    /// read of each submission version (texts, domains, IP ranges), so that it decodes the
    /// bundle once; past it, each pass reads the bundle again instead. [`IncomingBundle::verified`]
    /// sets [`DEFAULT_MAX_HELD_BYTES`].
    pub max_held_bytes: usize,
}

/// The default of [`IncomingBundle::max_held_bytes`]: 128 MiB, about twice what a bundle of
/// 50,000 filings of six domains each takes (the import step's peak went from 88 to 138 MiB)
/// and a quarter of the 512 MB an import step may use.
pub const DEFAULT_MAX_HELD_BYTES: usize = 128 * 1024 * 1024;

impl<'a> IncomingBundle<'a> {
    /// The verified bundle `id` with `header`, signed by `signer`, holding `submissions`, whose
    /// signed message is `message`.
    pub fn verified(
        id: bundle_format::BundleId,
        header: &bundle_format::Header,
        signer: keys::KeyId,
        submissions: &'a [SubmissionVersion],
        message: &'a [u8],
    ) -> Self {
        IncomingBundle {
            bundle_id: id.0,
            channel: header.channel.0,
            epoch: header.epoch,
            sequence: header.sequence,
            signer,
            created: header.created,
            submissions: Submissions::Decoded(submissions),
            message,
            encrypted: header.encrypted,
            max_scan_bytes: filing::scan::DEFAULT_MAX_SCAN_BYTES,
            max_held_bytes: DEFAULT_MAX_HELD_BYTES,
        }
    }

    /// [`IncomingBundle::verified`] for a submissions bundle whose `count` records were all
    /// checked when it was verified and are read again from `message` by the import
    /// ([`Submissions::InMessage`]), so that they are never all held decoded.
    pub fn verified_in_message(
        id: bundle_format::BundleId,
        header: &bundle_format::Header,
        signer: keys::KeyId,
        count: usize,
        message: &'a [u8],
    ) -> Self {
        IncomingBundle {
            submissions: Submissions::InMessage {
                message,
                header: *header,
                count,
            },
            ..IncomingBundle::verified(id, header, signer, &[], message)
        }
    }
}

/// Whether the bundle was applied now or had been before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplyStatus {
    /// Applied by this call.
    Applied,
    /// The ledger already holds this bundle; nothing was changed.
    AlreadyApplied {
        /// When it was applied, Unix seconds.
        imported_at: i64,
    },
}

/// What [`apply_bundle`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyReport {
    /// The bundle.
    pub bundle_id: [u8; 32],
    /// Applied now, or a replay.
    pub status: ApplyStatus,
    /// One outcome per submission version, in bundle order (empty for a replay).
    pub outcomes: Vec<ReceiptAck>,
}

impl ApplyReport {
    /// How many submissions had `outcome`.
    pub fn count(&self, outcome: ImportOutcome) -> usize {
        self.outcomes
            .iter()
            .filter(|ack| ack.outcome == outcome)
            .count()
    }
}

/// Why a bundle could not be applied. The caller's transaction must then be rolled back.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApplyError {
    /// Another bundle holds the same channel, epoch and sequence number.
    #[error(
        "fork on channel {channel}: epoch {epoch} sequence {sequence} is bundle {stored} here, \
         not {incoming}; quarantine the bundle and raise the alarm"
    )]
    Fork {
        /// Channel.
        channel: u32,
        /// Epoch.
        epoch: u64,
        /// Sequence number.
        sequence: u64,
        /// Id of the bundle stored with that position, hex.
        stored: String,
        /// Id of the incoming bundle, hex.
        incoming: String,
    },
    /// A number does not fit the store.
    #[error("{field} = {value} is out of range (at most {max})")]
    OutOfRange {
        /// Which header field.
        field: &'static str,
        /// Its value.
        value: u64,
        /// Largest value the store takes.
        max: u64,
    },
    /// The bundle holds more submissions than one import takes.
    #[error("bundle holds {count} submissions, at most {max} are applied at once")]
    TooManySubmissions {
        /// How many it holds.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// The database failed.
    #[error("database error while {step}: {}", crate::store::describe(source))]
    Database {
        /// What was being done.
        step: &'static str,
        /// The error.
        #[source]
        source: postgres::Error,
    },
    /// Another channel's import stored a row this bundle needs unique (a receipt it creates,
    /// one of its versions) at the same time. Nothing of this bundle was applied; importing it
    /// again decides it against what the other one stored.
    #[error(
        "while {step}, another import stored meanwhile a row this bundle needs unique ({}): \
         another channel's bundle created the same receipt at the same time; nothing of this \
         bundle was applied: import it again",
        crate::store::describe(source)
    )]
    StoredConcurrently {
        /// What was being done.
        step: &'static str,
        /// The unique violation.
        #[source]
        source: postgres::Error,
    },
    /// Withdrawing a receipt failed although it was checked before.
    #[error("withdrawing receipt {receipt}: {message}")]
    Withdrawal {
        /// The receipt being withdrawn.
        receipt: String,
        /// What went wrong.
        message: String,
    },
    /// The message handed over is not the bundle's: its SHA-256 is not the bundle id.
    #[error("the signed message given for bundle {bundle} is not that bundle's")]
    MessageNotBundle {
        /// The bundle id, hex.
        bundle: String,
    },
    /// A record could not be encoded.
    #[error("cannot encode {what}: {message}")]
    Encode {
        /// What was encoded.
        what: &'static str,
        /// The encoder's message.
        message: String,
    },
}

/// Core failures keep the variants they had when the import did these steps itself. The import
/// records a review transition only when it withdraws a receipt, so a receipt that moved on is
/// reported as that withdrawal's failure.
impl From<StoreError> for ApplyError {
    fn from(error: StoreError) -> ApplyError {
        match error {
            StoreError::Database { step, source } => db(step)(source),
            StoreError::Encode { what, message } => ApplyError::Encode { what, message },
            StoreError::StoredVersion { .. } | StoreError::StoredName { .. } => {
                ApplyError::Encode {
                    what: "a stored version",
                    message: error.to_string(),
                }
            }
            StoreError::StateMoved { ref receipt, .. } => ApplyError::Withdrawal {
                receipt: receipt.clone(),
                message: error.to_string(),
            },
        }
    }
}

/// A database error while `step`; a unique violation is a concurrent import's (every other
/// cause of one is decided by the checks first, and one channel's imports take turns).
pub(super) fn db(step: &'static str) -> impl FnOnce(postgres::Error) -> ApplyError {
    move |source| {
        if source.code() == Some(&postgres::error::SqlState::UNIQUE_VIOLATION) {
            ApplyError::StoredConcurrently { step, source }
        } else {
            ApplyError::Database { step, source }
        }
    }
}

/// Session settings an importing connection should run before its first [`apply_bundle`]:
/// room for the staging tables in the backend's local buffers. PostgreSQL's default
/// `temp_buffers` (8 MB) holds the staging rows of only a few thousand submissions; past that
/// every one of the classification statements, which rewrite staged rows, goes through
/// temporary files (measured: a 20,000-filing bundle applied in 14.5 s with the default and
/// 8.3 s with this). The value is a ceiling the backend grows to, not an allocation, and it can
/// only be set before the session first touches a temporary table. And no JIT compilation:
/// the import's statements are planned afresh for each bundle (their temporary tables are
/// new), so PostgreSQL compiled them afresh each time, and the compiling cost more than it
/// saved (a profile of the import at 200,000 filings put 7% of all its CPU time in LLVM;
/// `cargo bench -p inner --bench apply -- 50000`: 1.78-1.87 s without, 1.99-2.05 s with).
pub const SESSION_SETTINGS: &str = "SET temp_buffers = '256MB'; SET jit = off";

/// Runs [`SESSION_SETTINGS`] on a fresh connection.
pub fn configure_session(client: &mut postgres::Client) -> Result<(), ApplyError> {
    client
        .batch_execute(SESSION_SETTINGS)
        .map_err(db("configuring the importing session"))
}

/// Applies one bundle inside `tx`. On `Ok` the caller commits; on `Err` it rolls back, and
/// nothing of the bundle stays. `now` is the importer's clock, Unix seconds.
pub fn apply_bundle(
    tx: &mut Transaction<'_>,
    bundle: &IncomingBundle<'_>,
    now: i64,
) -> Result<ApplyReport, ApplyError> {
    let count = bundle.submissions.len();
    if count > MAX_SUBMISSIONS_PER_BUNDLE {
        return Err(ApplyError::TooManySubmissions {
            count,
            max: MAX_SUBMISSIONS_PER_BUNDLE,
        });
    }
    let epoch = to_i64("bundle epoch", bundle.epoch)?;
    let sequence = to_i64("bundle sequence", bundle.sequence)?;
    let channel = i64::from(bundle.channel);
    let bundle_id: &[u8] = &bundle.bundle_id;

    let channel_key = i32::from_ne_bytes(bundle.channel.to_ne_bytes());
    tx.execute(
        "SELECT pg_advisory_xact_lock($1, $2)",
        &[&IMPORT_LOCK_CLASS, &channel_key],
    )
    .map_err(db("taking the channel's import lock"))?;
    if let Some(row) = tx
        .query_opt(
            "SELECT imported_at FROM bundles WHERE bundle_id = $1",
            &[&bundle_id],
        )
        .map_err(db("looking up the ledger"))?
    {
        return Ok(ApplyReport {
            bundle_id: bundle.bundle_id,
            status: ApplyStatus::AlreadyApplied {
                imported_at: row.get(0),
            },
            outcomes: Vec::new(),
        });
    }
    if let Some(row) = tx
        .query_opt(
            "SELECT bundle_id FROM bundles WHERE channel = $1 AND epoch = $2 AND sequence = $3",
            &[&channel, &epoch, &sequence],
        )
        .map_err(db("looking up the ledger"))?
    {
        let stored: Vec<u8> = row.get(0);
        return Err(ApplyError::Fork {
            channel: bundle.channel,
            epoch: bundle.epoch,
            sequence: bundle.sequence,
            stored: hex::encode(stored),
            incoming: hex::encode(bundle.bundle_id),
        });
    }
    let submission_count = i32::try_from(count).unwrap_or(i32::MAX);
    ledger_row::write(
        tx,
        &ledger_row::LedgerRow {
            bundle,
            channel,
            epoch,
            sequence,
            now,
            submission_count,
        },
    )?;

    tx.batch_execute(staging::STAGING)
        .map_err(db("creating staging tables"))?;
    let staged = staging::stage(
        tx,
        bundle.submissions,
        bundle.max_scan_bytes,
        bundle.max_held_bytes,
    )?;
    frames::write(tx, bundle, staged.frames.as_deref())?;
    classify::classify(tx, &staged, channel)?;
    provider_check::judge(tx, channel)?;
    write::write_records(tx, &staged, now)?;
    provider_check::record_waits(tx, &staged)?;
    let mut decided = withdraw::withdraw(tx, now)?;
    decided.extend(provider_check::apply(tx, now)?);

    let outcomes = outcomes::read_outcomes(tx)?;
    outcomes::store_versions(tx, &staged, bundle, &outcomes, now)?;
    // The ack in its range form, with the import time that stands for every accepted
    // version's arrival (their entry states are the records' own, SPEC.md §6.3).
    let ack = Record::ArrivalAck(ArrivalAck {
        ack: RangeAck::of_entries(bundle.bundle_id, bundle.channel, bundle.sequence, &outcomes),
        imported_at: now,
    });
    returns::queue(tx, returns::EntryKind::Ack, &ack, now)?;
    // The withdrawals and provider checks this bundle carried change other receipts after
    // the arrivals the ack stands for: their status changes go out behind it, so that the
    // outer side sees them in the order they happened (a version withdrawn in the bundle
    // that brought it arrived first).
    returns::queue_status_changes(tx, &decided, now)?;
    tx.batch_execute("DROP TABLE stage_versions")
        .map_err(db("dropping staging tables"))?;
    Ok(ApplyReport {
        bundle_id: bundle.bundle_id,
        status: ApplyStatus::Applied,
        outcomes,
    })
}

fn to_i64(field: &'static str, value: u64) -> Result<i64, ApplyError> {
    i64::try_from(value).map_err(|_| ApplyError::OutOfRange {
        field,
        value,
        max: i64::MAX.unsigned_abs(),
    })
}

/// Text the database can hold: PostgreSQL text cannot contain NUL, so a NUL becomes U+FFFD in
/// the columns that identify a submission (such a submission is rejected with
/// [`reason::NUL_IN_TEXT`]; its exact bytes stay in the verbatim audit copy).
pub(super) fn storable(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains('\0') {
        std::borrow::Cow::Owned(text.replace('\0', "\u{fffd}"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// Bundle positions fit `i32` because of [`MAX_SUBMISSIONS_PER_BUNDLE`].
pub(super) fn ordinal(index: usize) -> i32 {
    i32::try_from(index).unwrap_or(i32::MAX)
}
