//! Applying one submissions bundle to the store, inside the caller's transaction.
//!
//! [`apply_bundle`] writes the ledger row, every submission version verbatim for audit, the
//! normalised filing rows, the review queue entries and the ack for the return channel — all in
//! the one transaction the caller commits, or none of it. Business problems of one submission
//! (a domain filed by another subject, a change to an unknown filing number, an old version)
//! become that submission's outcome with a reason code; they never abort the bundle.
//!
//! Large bundles cost close to `COPY` itself rather than one `INSERT` round trip per row: what
//! the checks read is written with binary `COPY` into temporary staging tables, a fixed number
//! of set-based statements decide every submission's outcome, and the rows of the accepted
//! submissions are then written with binary `COPY` straight into their tables.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use bundle_format::records::{
    Access, Ack, CancellationScope, Change, ImportOutcome, Person, ReceiptAck, Record, ReviewState,
    Subject, Submission, SubmissionVersion, Website, wire_config,
};
use postgres::Transaction;
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{ToSql, Type};

use crate::filing_number;
use crate::names;
use crate::store::StoreError;
use crate::store::events::record_transition;
use crate::store::kinds::SubmissionKind as Kind;
use crate::workflow::{self, Facts};

/// Most submission versions one bundle may carry into [`apply_bundle`].
pub const MAX_SUBMISSIONS_PER_BUNDLE: usize = 1_000_000;

/// The reviewer name recorded on review events the import itself makes.
pub const IMPORT_ACTOR: &str = "import";

/// Key of the advisory lock that makes imports take turns ("sluice-I"): the conflict checks read
/// what earlier imports wrote. The schema's per-statement reference checks (migration 4) rely
/// on it too: they take no row locks, which is safe because website records are deleted, and
/// their child rows written, only here under this lock. Code that does either elsewhere must
/// take it as well.
const IMPORT_LOCK: i64 = 0x736c_7569_6365_2d49;

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
    /// A domain is actively filed by another filing.
    pub const DOMAIN_CONFLICT: &str = "domain-conflict";
    /// The subject already holds an approved filing; a second filing must be a change.
    pub const SUBJECT_ALREADY_FILED: &str = "subject-already-filed";
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
    /// The submission versions it holds, in bundle order.
    pub submissions: &'a [SubmissionVersion],
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
    /// Withdrawing a receipt failed although it was checked before.
    #[error("withdrawing receipt {receipt}: {message}")]
    Withdrawal {
        /// The receipt being withdrawn.
        receipt: String,
        /// What went wrong.
        message: String,
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
            StoreError::Database { step, source } => ApplyError::Database { step, source },
            StoreError::Encode { what, message } => ApplyError::Encode { what, message },
            StoreError::StateMoved { ref receipt, .. } => ApplyError::Withdrawal {
                receipt: receipt.clone(),
                message: error.to_string(),
            },
        }
    }
}

fn db(step: &'static str) -> impl FnOnce(postgres::Error) -> ApplyError {
    move |source| ApplyError::Database { step, source }
}

/// Column types of `stage_versions`, in order.
const VERSION_TYPES: [Type; 18] = [
    Type::INT4,  // ord
    Type::TEXT,  // receipt
    Type::INT8,  // version
    Type::BYTEA, // content_hash
    Type::INT8,  // submitted_at
    Type::TEXT,  // submitter
    Type::TEXT,  // access_provider
    Type::TEXT,  // kind
    Type::INT2,  // province
    Type::TEXT,  // filing_ref
    Type::INT4,  // target_seq
    Type::TEXT,  // target_receipt
    Type::TEXT,  // submitter_reason
    Type::BOOL,  // needs_pre_approval
    Type::TEXT,  // entry_state
    Type::TEXT,  // outcome
    Type::TEXT,  // reason
    Type::TEXT,  // certificate_number
];

// Only what the set-based checks read is staged: one row per submission version, and the
// website records that access changes copy (the domains go to their check as parameters). The rows that end up in
// the filing tables are copied straight into them once the checks have decided which
// submissions apply (see `write_records`): staging them first and moving them with
// `INSERT ... SELECT` wrote every row twice, and on a 50,000-filing bundle that was a quarter of
// the import's time.
const STAGING: &str = "
CREATE TEMP TABLE stage_versions (
    ord integer PRIMARY KEY, receipt text NOT NULL, version bigint NOT NULL,
    content_hash bytea NOT NULL, submitted_at bigint NOT NULL, submitter text NOT NULL,
    access_provider text, kind text, province smallint, filing_ref text,
    target_seq integer, target_receipt text, submitter_reason text, needs_pre_approval boolean,
    entry_state text, outcome text, reason text, certificate_number text,
    filing_id bigint, source_record_id bigint, prev_state text, target_state text,
    creates_filing boolean
) ON COMMIT DROP;
CREATE TEMP TABLE stage_access_changes (ord integer NOT NULL, record_id bigint NOT NULL) ON COMMIT DROP;
";

/// Session settings an importing connection should run before its first [`apply_bundle`]:
/// room for the staging tables in the backend's local buffers. PostgreSQL's default
/// `temp_buffers` (8 MB) holds the staging rows of only a few thousand submissions; past that
/// every one of the classification statements, which rewrite staged rows, goes through
/// temporary files (measured: a 20,000-filing bundle applied in 14.5 s with the default and
/// 8.3 s with this). The value is a ceiling the backend grows to, not an allocation, and it can
/// only be set before the session first touches a temporary table.
pub const SESSION_SETTINGS: &str = "SET temp_buffers = '256MB'";

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

    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&IMPORT_LOCK])
        .map_err(db("taking the import lock"))?;
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
    let signer: &[u8] = &bundle.signer.0;
    tx.execute(
        "INSERT INTO bundles (bundle_id, channel, epoch, sequence, signer_key_id, created,
                              imported_at, submission_count)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &bundle_id,
            &channel,
            &epoch,
            &sequence,
            &signer,
            &bundle.created,
            &now,
            &submission_count,
        ],
    )
    .map_err(db("writing the ledger row"))?;

    tx.batch_execute(STAGING)
        .map_err(db("creating staging tables"))?;
    let staged = stage(tx, bundle.submissions)?;
    classify(tx, &staged.domains)?;
    write_records(tx, &staged, now)?;
    let withdrawn = withdraw(tx, now)?;
    crate::returns::queue_status_changes(tx, &withdrawn, now)?;

    let outcomes = read_outcomes(tx)?;
    store_versions(tx, bundle, &outcomes, now)?;
    let ack = Record::Ack(Ack {
        bundle_id: bundle.bundle_id,
        channel: bundle.channel,
        sequence: bundle.sequence,
        receipts: outcomes.clone(),
    });
    crate::returns::queue(tx, "ack", &ack, now)?;
    tx.batch_execute("DROP TABLE stage_versions, stage_access_changes")
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

/// Everything of one submission that decides its outcome without the database.
struct Local {
    kind: Kind,
    province: Option<i16>,
    filing_ref: Option<String>,
    target_seq: Option<i32>,
    target_receipt: Option<String>,
    submitter_reason: Option<String>,
    needs_pre_approval: bool,
    entry_state: ReviewState,
    verdict: Option<(&'static str, &'static str)>,
}

fn local_checks(version: &SubmissionVersion) -> Local {
    let kind = Kind::of(&version.body);
    let mut local = Local {
        kind,
        province: None,
        filing_ref: None,
        target_seq: None,
        target_receipt: None,
        submitter_reason: None,
        needs_pre_approval: false,
        entry_state: ReviewState::AwaitingRegionalReview,
        verdict: None,
    };
    let rejected = |reason| Some(("rejected", reason));
    if version.check().is_err() {
        local.verdict = rejected(reason::SHAPE_LIMIT);
        return local;
    }
    if !version.hash_matches() {
        local.verdict = rejected(reason::CONTENT_HASH_MISMATCH);
        return local;
    }
    if texts(version).iter().any(|text| text.contains('\0')) {
        local.verdict = rejected(reason::NUL_IN_TEXT);
        return local;
    }
    let mut websites: Vec<&Website> = Vec::new();
    let mut access: Option<&Access> = None;
    match &version.body {
        Submission::NewFiling(filing) => {
            local.province = filing_number::province_of_region(filing.subject.region_code)
                .and_then(|p| i16::try_from(p).ok());
            if local.province.is_none() {
                local.verdict = rejected(reason::UNKNOWN_PROVINCE);
            }
            websites.extend(&filing.websites);
        }
        Submission::Change {
            filing_number,
            change,
        } => {
            local.filing_ref = Some(filing_number.clone());
            let website_number = match change {
                Change::Subject(subject) => {
                    if filing_number::province_of_region(subject.region_code).is_none() {
                        local.verdict = rejected(reason::UNKNOWN_PROVINCE);
                    }
                    None
                }
                Change::Website {
                    website_number,
                    website,
                } => {
                    websites.push(website);
                    Some(website_number)
                }
                Change::Access {
                    website_number,
                    access: new_access,
                } => {
                    access = Some(new_access);
                    Some(website_number)
                }
                Change::AddedWebsite(website) => {
                    websites.push(website);
                    None
                }
            };
            if let Some(number) = website_number {
                match filing_number::split_website_number(number) {
                    Some((base, seq)) if base == filing_number => local.target_seq = Some(seq),
                    _ => local.verdict = rejected(reason::BAD_WEBSITE_NUMBER),
                }
            }
        }
        Submission::Cancellation {
            filing_number,
            scope,
            reason: why,
        } => {
            local.submitter_reason = Some(why.clone());
            if *scope == CancellationScope::Subject {
                local.filing_ref = Some(filing_number.clone());
            } else {
                match filing_number::split_website_number(filing_number) {
                    Some((base, seq)) => {
                        local.filing_ref = Some(base.to_owned());
                        local.target_seq = Some(seq);
                    }
                    None => local.verdict = rejected(reason::BAD_WEBSITE_NUMBER),
                }
            }
        }
        Submission::Withdrawal {
            receipt,
            reason: why,
        } => {
            local.target_receipt = Some(receipt.clone());
            local.submitter_reason = Some(why.clone());
            local.entry_state = ReviewState::Withdrawn;
            return local;
        }
    }
    let mut domains = HashSet::new();
    for website in &websites {
        for domain in &website.domains {
            if !domains.insert(domain.to_ascii_lowercase()) {
                local.verdict = local.verdict.or(rejected(reason::DUPLICATE_DOMAIN));
            }
        }
        local.needs_pre_approval |= !website.pre_approvals.is_empty()
            || website
                .service_types
                .iter()
                .any(|kind| names::needs_pre_approval(*kind));
    }
    let ranges = websites
        .iter()
        .map(|w| &w.access)
        .chain(access)
        .flat_map(|a| &a.ip_ranges);
    for range in ranges {
        let ordered = match (range.first, range.last) {
            (IpAddr::V4(a), IpAddr::V4(b)) => a <= b,
            (IpAddr::V6(a), IpAddr::V6(b)) => a <= b,
            _ => false,
        };
        if !ordered {
            local.verdict = local.verdict.or(rejected(reason::BAD_IP_RANGE));
        }
    }
    let touches_access = matches!(
        kind,
        Kind::NewFiling | Kind::ChangeWebsite | Kind::ChangeAccess | Kind::AddedWebsite
    );
    local.entry_state = workflow::entry_state(Facts {
        needs_provider_check: touches_access && version.access_provider.is_none(),
        needs_pre_approval: local.needs_pre_approval,
        is_cancellation: false,
    });
    local
}

/// Every text field of a submission version, for checks that apply to all of them.
fn texts(version: &SubmissionVersion) -> Vec<&str> {
    fn person<'a>(out: &mut Vec<&'a str>, p: &'a Person) {
        out.extend([p.name.as_str(), &p.certificate_number, &p.email]);
        out.extend(
            p.mobile_phones
                .iter()
                .chain(&p.office_phones)
                .map(String::as_str),
        );
    }
    fn subject<'a>(out: &mut Vec<&'a str>, s: &'a Subject) {
        out.extend([
            s.name.as_str(),
            &s.certificate_number,
            &s.address,
            &s.investor,
        ]);
        person(out, &s.principal);
    }
    fn access<'a>(out: &mut Vec<&'a str>, a: &'a Access) {
        out.push(&a.provider);
    }
    fn website<'a>(out: &mut Vec<&'a str>, w: &'a Website) {
        out.push(&w.name);
        out.extend(w.home_urls.iter().chain(&w.domains).map(String::as_str));
        out.extend(w.pre_approvals.iter().map(|p| p.document_number.as_str()));
        access(out, &w.access);
        person(out, &w.principal);
    }
    let mut out = vec![version.receipt.as_str(), &version.submitter];
    out.extend(version.access_provider.as_deref());
    match &version.body {
        Submission::NewFiling(filing) => {
            subject(&mut out, &filing.subject);
            for w in &filing.websites {
                website(&mut out, w);
            }
            out.extend(filing.attachments.iter().map(|a| a.media_type.as_str()));
        }
        Submission::Change {
            filing_number,
            change,
        } => {
            out.push(filing_number);
            match change {
                Change::Subject(s) => subject(&mut out, s),
                Change::Website {
                    website_number,
                    website: w,
                } => {
                    out.push(website_number);
                    website(&mut out, w);
                }
                Change::Access {
                    website_number,
                    access: a,
                } => {
                    out.push(website_number);
                    access(&mut out, a);
                }
                Change::AddedWebsite(w) => website(&mut out, w),
            }
        }
        Submission::Cancellation {
            filing_number,
            reason,
            ..
        } => out.extend([filing_number.as_str(), reason]),
        Submission::Withdrawal { receipt, reason } => out.extend([receipt.as_str(), reason]),
    }
    out
}

/// Binary COPY into one table.
struct Copier<'a> {
    writer: BinaryCopyInWriter<'a>,
    step: &'static str,
}

impl<'a> Copier<'a> {
    /// Starts `COPY table (columns)`; `step` says what it is for in errors.
    fn new(
        tx: &'a mut Transaction<'_>,
        step: &'static str,
        table: &str,
        columns: &str,
        types: &[Type],
    ) -> Result<Copier<'a>, ApplyError> {
        let sink = tx
            .copy_in(&format!(
                "COPY {table} ({columns}) FROM STDIN (FORMAT binary)"
            ))
            .map_err(db(step))?;
        Ok(Copier {
            writer: BinaryCopyInWriter::new(sink, types),
            step,
        })
    }

    fn row(&mut self, values: &[&(dyn ToSql + Sync)]) -> Result<(), ApplyError> {
        self.writer.write(values).map_err(db(self.step))?;
        crate::failpoint::hit("import.mid-copy");
        Ok(())
    }

    fn finish(self) -> Result<u64, ApplyError> {
        self.writer.finish().map_err(db(self.step))
    }
}

/// A person's columns, borrowed from the submission.
struct PersonColumns<'a> {
    name: &'a str,
    certificate_type: &'static str,
    certificate_number: &'a str,
    mobiles: &'a [String],
    offices: &'a [String],
    email: &'a str,
}

fn person(p: &Person) -> PersonColumns<'_> {
    PersonColumns {
        name: &p.name,
        certificate_type: names::certificate_type(p.certificate_type),
        certificate_number: &p.certificate_number,
        mobiles: &p.mobile_phones,
        offices: &p.office_phones,
        email: &p.email,
    }
}

/// One website a submission writes: the websites of a new filing, or the one of a website
/// change, an added website or an access change (which has no details of its own and keeps
/// those of the website record it changes).
struct StagedWebsite<'a> {
    ord: i32,
    record_id: i64,
    details: Option<&'a Website>,
    access: &'a Access,
}

/// What [`stage`] decided in Rust and keeps for writing the accepted submissions.
struct Staged<'a> {
    submissions: &'a [SubmissionVersion],
    /// One per submission, in bundle order.
    locals: Vec<Local>,
    /// Websites of the submissions that passed the local checks, in bundle order.
    websites: Vec<StagedWebsite<'a>>,
    /// Their domains, for the domain-conflict check.
    domains: StagedDomains,
}

/// The domains of the staged websites, as two parallel arrays (bundle position, domain in
/// lower case). The domain-conflict check takes them as parameters: it is their only reader,
/// and a staging table for them cost a COPY and a scan for statistics (0.2-0.45 s for the
/// 300,000 domains of 50,000 filings, against about 0.05 s for the check to unnest them).
#[derive(Default)]
struct StagedDomains {
    ords: Vec<i32>,
    names: Vec<String>,
}

/// Runs the local checks and writes what the set-based checks read into the staging tables
/// with binary COPY.
fn stage<'a>(
    tx: &mut Transaction<'_>,
    submissions: &'a [SubmissionVersion],
) -> Result<Staged<'a>, ApplyError> {
    let mut locals = Vec::with_capacity(submissions.len());
    for version in submissions {
        locals.push(local_checks(version));
    }
    // Within one bundle only the highest version of a receipt can apply; a repeat of one
    // version is reported once as applied and then as a duplicate.
    let mut best: HashMap<&str, (u32, usize)> = HashMap::new();
    for (i, version) in submissions.iter().enumerate() {
        let entry = best
            .entry(version.receipt.as_str())
            .or_insert((version.version, i));
        if version.version > entry.0 {
            *entry = (version.version, i);
        }
    }
    for (i, version) in submissions.iter().enumerate() {
        let (top, first) = best[version.receipt.as_str()];
        if version.version < top {
            locals[i].verdict = Some(("superseded", reason::NEWER_VERSION_IN_BUNDLE));
        } else if i != first {
            locals[i].verdict = Some(("already-applied", reason::DUPLICATE_IN_BUNDLE));
        }
    }

    {
        let mut copy = Copier::new(
            tx,
            "staging submission versions",
            "stage_versions",
            "ord, receipt, version, content_hash, submitted_at, submitter, access_provider, \
             kind, province, filing_ref, target_seq, target_receipt, submitter_reason, \
             needs_pre_approval, entry_state, outcome, reason, certificate_number",
            &VERSION_TYPES,
        )?;
        for (i, (version, local)) in submissions.iter().zip(&locals).enumerate() {
            let ord = ordinal(i);
            let hash: &[u8] = &version.content_hash;
            let (outcome, why) = match local.verdict {
                Some((outcome, why)) => (Some(outcome), Some(why)),
                None => (None, None),
            };
            // The subject check reads the certificate number of new filings that passed the
            // local checks (any other text of a refused submission may not be storable).
            let certificate_number = match (&version.body, local.verdict) {
                (Submission::NewFiling(filing), None) => {
                    Some(filing.subject.certificate_number.as_str())
                }
                _ => None,
            };
            copy.row(&[
                &ord,
                &storable(&version.receipt),
                &i64::from(version.version),
                &hash,
                &version.submitted_at,
                &storable(&version.submitter),
                &version.access_provider.as_deref().map(storable),
                &local.kind.name(),
                &local.province,
                &local.filing_ref,
                &local.target_seq,
                &local.target_receipt,
                &local.submitter_reason,
                &local.needs_pre_approval,
                &workflow::state_name(local.entry_state),
                &outcome,
                &why,
                &certificate_number,
            ])?;
        }
        copy.finish()?;
    }

    // Websites: a new filing's, in order, or the one website a change names.
    let mut website_rows: Vec<(i32, Option<&Website>, &Access)> = Vec::new();
    for (i, (version, local)) in submissions.iter().zip(&locals).enumerate() {
        if local.verdict.is_some() {
            continue;
        }
        let ord = ordinal(i);
        match &version.body {
            Submission::NewFiling(filing) => {
                for website in &filing.websites {
                    website_rows.push((ord, Some(website), &website.access));
                }
            }
            Submission::Change { change, .. } => match change {
                Change::Website { website, .. } | Change::AddedWebsite(website) => {
                    website_rows.push((ord, Some(website), &website.access));
                }
                Change::Access { access, .. } => website_rows.push((ord, None, access)),
                Change::Subject(_) => {}
            },
            _ => {}
        }
    }
    // Website record ids are taken from their sequence up front (one round trip for the whole
    // bundle), so that every child row can be written with its record id in the same pass as
    // the record. Ids of submissions the checks then refuse are simply never used.
    let wanted = i64::try_from(website_rows.len()).unwrap_or(i64::MAX);
    let record_ids: Vec<i64> = tx
        .query(
            "SELECT nextval('website_records_record_id_seq') FROM generate_series(1, $1::bigint)",
            &[&wanted],
        )
        .map_err(db("taking website record ids"))?
        .iter()
        .map(|row| row.get(0))
        .collect();
    if record_ids.len() != website_rows.len() {
        return Err(ApplyError::Encode {
            what: "website record ids",
            message: format!(
                "asked for {} ids, got {}",
                website_rows.len(),
                record_ids.len()
            ),
        });
    }
    let websites: Vec<StagedWebsite<'a>> = website_rows
        .into_iter()
        .zip(record_ids)
        .map(|((ord, details, access), record_id)| StagedWebsite {
            ord,
            record_id,
            details,
            access,
        })
        .collect();
    let mut domains = StagedDomains::default();
    for website in &websites {
        for domain in website.details.iter().flat_map(|w| &w.domains) {
            domains.ords.push(website.ord);
            // Domains compare case-insensitively; the store holds the canonical lower case.
            domains.names.push(domain.to_ascii_lowercase());
        }
    }
    {
        let mut copy = Copier::new(
            tx,
            "staging access changes",
            "stage_access_changes",
            "ord, record_id",
            &[Type::INT4, Type::INT8],
        )?;
        for website in websites.iter().filter(|w| w.details.is_none()) {
            copy.row(&[&website.ord, &website.record_id])?;
        }
        copy.finish()?;
    }
    // The checks join this with the store. Statistics cost a scan (about 0.05-0.1 s for 50,000
    // filings), and are kept: without them the planner guesses the staged rows' distinct values,
    // and in a trial the checks over a store of 50,000 other filings got slower by about as much.
    tx.batch_execute("ANALYZE stage_versions")
        .map_err(db("analysing staging tables"))?;
    Ok(Staged {
        submissions,
        locals,
        websites,
        domains,
    })
}

/// Text the database can hold: PostgreSQL text cannot contain NUL, so a NUL becomes U+FFFD in
/// the columns that identify a submission (such a submission is rejected with
/// [`reason::NUL_IN_TEXT`]; its exact bytes stay in the verbatim audit copy).
fn storable(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains('\0') {
        std::borrow::Cow::Owned(text.replace('\0', "\u{fffd}"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// Bundle positions fit `i32` because of [`MAX_SUBMISSIONS_PER_BUNDLE`].
fn ordinal(index: usize) -> i32 {
    i32::try_from(index).unwrap_or(i32::MAX)
}

/// Decides every staged submission's outcome with set-based checks against the store, in order
/// of precedence: each statement only looks at submissions not decided before it.
fn classify(tx: &mut Transaction<'_>, domains: &StagedDomains) -> Result<(), ApplyError> {
    let open_states: Vec<&str> = workflow::STATES
        .iter()
        .filter(|(state, _)| workflow::is_open(*state))
        .map(|(_, name)| *name)
        .collect();
    let none: &[&(dyn ToSql + Sync)] = &[];
    let open: &[&(dyn ToSql + Sync)] = &[&open_states];
    let steps: [(&str, &str, &[&(dyn ToSql + Sync)]); 12] = [
        (
            "checking for versions stored before",
            "UPDATE stage_versions s
             SET outcome = CASE WHEN v.content_hash = s.content_hash THEN 'already-applied' ELSE 'rejected' END,
                 reason = CASE WHEN v.content_hash = s.content_hash THEN 'already-applied' ELSE 'version-hash-conflict' END
             FROM submission_versions v
             WHERE s.outcome IS NULL AND v.receipt = s.receipt AND v.version = s.version",
            none,
        ),
        (
            "checking version order",
            "UPDATE stage_versions s SET outcome = 'superseded', reason = 'newer-version-stored'
             WHERE s.outcome IS NULL AND EXISTS (
                 SELECT 1 FROM submission_versions v
                 WHERE v.receipt = s.receipt AND v.version > s.version)",
            none,
        ),
        (
            "reading receipt states",
            "UPDATE stage_versions s SET prev_state = r.state
             FROM receipts r WHERE s.outcome IS NULL AND r.receipt = s.receipt",
            none,
        ),
        (
            "checking for closed receipts",
            "UPDATE stage_versions s SET outcome = 'rejected', reason = 'receipt-closed'
             WHERE s.outcome IS NULL AND s.prev_state IS NOT NULL
               AND NOT (s.prev_state = ANY($1))",
            open,
        ),
        (
            "resolving filing numbers",
            "UPDATE stage_versions s SET filing_id = f.filing_id, province = f.province
             FROM filings f
             WHERE s.outcome IS NULL AND s.filing_ref IS NOT NULL
               AND f.filing_number = s.filing_ref AND f.status = 'active'",
            none,
        ),
        (
            "checking filing numbers",
            "UPDATE stage_versions s SET outcome = 'rejected', reason = 'unknown-filing-number'
             WHERE s.outcome IS NULL AND s.filing_ref IS NOT NULL AND s.filing_id IS NULL",
            none,
        ),
        (
            "resolving website numbers",
            "UPDATE stage_versions s SET source_record_id = w.record_id
             FROM website_records w
             WHERE s.outcome IS NULL AND s.target_seq IS NOT NULL
               AND w.filing_id = s.filing_id AND w.website_seq = s.target_seq
               AND w.status = 'active'",
            none,
        ),
        (
            "checking website numbers",
            "UPDATE stage_versions s SET outcome = 'rejected', reason = 'unknown-website-number'
             WHERE s.outcome IS NULL AND s.target_seq IS NOT NULL AND s.source_record_id IS NULL",
            none,
        ),
        (
            "resolving withdrawn receipts",
            // The receipt withdrawn may be stored, or arrive earlier in this same bundle.
            "UPDATE stage_versions s SET
                 target_state = coalesce(
                     (SELECT r.state FROM receipts r WHERE r.receipt = s.target_receipt),
                     (SELECT t.entry_state FROM stage_versions t
                      WHERE t.receipt = s.target_receipt AND t.ord < s.ord AND t.outcome IS NULL
                        AND t.province IS NOT NULL LIMIT 1)),
                 province = coalesce(
                     (SELECT r.province FROM receipts r WHERE r.receipt = s.target_receipt),
                     (SELECT t.province FROM stage_versions t
                      WHERE t.receipt = s.target_receipt AND t.ord < s.ord AND t.outcome IS NULL
                        AND t.province IS NOT NULL LIMIT 1))
             WHERE s.outcome IS NULL AND s.kind = 'withdrawal'",
            none,
        ),
        (
            "checking withdrawn receipts",
            "UPDATE stage_versions s
             SET outcome = 'rejected',
                 reason = CASE WHEN s.target_state IS NULL THEN 'unknown-receipt'
                               ELSE 'receipt-already-decided' END
             WHERE s.outcome IS NULL AND s.kind = 'withdrawal'
               AND (s.target_state IS NULL OR NOT (s.target_state = ANY($1)))",
            open,
        ),
        (
            "checking for domains filed elsewhere",
            "UPDATE stage_versions s SET outcome = 'conflict', reason = 'domain-conflict'
             WHERE s.outcome IS NULL AND s.ord IN (
                 SELECT d.ord FROM unnest($1::integer[], $2::text[]) AS d (ord, domain)
                 JOIN website_domains w ON w.domain = d.domain AND w.active
                 JOIN stage_versions t ON t.ord = d.ord
                 WHERE w.record_id IS DISTINCT FROM t.source_record_id)",
            &[&domains.ords, &domains.names],
        ),
        (
            "checking for subjects filed before",
            "UPDATE stage_versions s SET outcome = 'conflict', reason = 'subject-already-filed'
             WHERE s.outcome IS NULL AND s.kind = 'new-filing'
               AND EXISTS (SELECT 1 FROM subject_records r
                           WHERE r.status = 'active'
                             AND r.certificate_number = s.certificate_number)",
            none,
        ),
    ];
    for (step, sql, params) in steps {
        tx.execute(sql, params).map_err(db(step))?;
    }
    // Each accepted new filing keeps the pending filing of an earlier version, if there is one;
    // the others get a new filing below.
    tx.execute(
        "UPDATE stage_versions s SET filing_id = f.filing_id
         FROM filings f
         WHERE (s.outcome IS NULL OR s.outcome = 'conflict') AND s.kind = 'new-filing'
           AND f.origin_receipt = s.receipt",
        &[],
    )
    .map_err(db("finding pending filings"))?;
    // One pass over every staged row: what is still undecided applies, and each accepted new
    // filing without a filing gets a new one (`creates_filing` reads the row as it was).
    tx.execute(
        "UPDATE stage_versions s SET
             outcome = coalesce(s.outcome, 'applied'),
             creates_filing = s.kind = 'new-filing' AND s.filing_id IS NULL,
             filing_id = CASE WHEN s.kind = 'new-filing' AND s.filing_id IS NULL
                              THEN nextval('filings_filing_id_seq')
                              ELSE s.filing_id END
         WHERE s.outcome IS NULL OR s.outcome = 'conflict'",
        &[],
    )
    .map_err(db("marking applied submissions"))?;
    Ok(())
}

/// What the checks decided for one accepted submission (outcome `applied` or `conflict`), as
/// [`write_records`] reads it back from `stage_versions`.
struct Accepted {
    /// The conflict's reason code; `None` when the submission simply applies.
    conflict: Option<String>,
    filing_id: Option<i64>,
    province: Option<i16>,
    prev_state: Option<String>,
    creates_filing: bool,
}

/// Writes the normalised rows, receipts and review events of every accepted submission.
///
/// The rows come from the bundle itself, with binary COPY straight into their tables: once the
/// checks have decided, the outcomes, filing ids and previous states are read back (one row per
/// accepted submission) and everything else is already in memory. Only what depends on rows
/// stored before goes through SQL: deleting the pending rows of older versions, the details an
/// access change copies from the website record it changes, and the receipts that exist
/// already (an upsert, which COPY cannot do).
fn write_records(
    tx: &mut Transaction<'_>,
    staged: &Staged<'_>,
    now: i64,
) -> Result<(), ApplyError> {
    for (step, sql) in [
        (
            "discarding pending rows of older versions",
            "DELETE FROM website_records w USING stage_versions s
             WHERE s.outcome IN ('applied', 'conflict') AND w.receipt = s.receipt
               AND w.status = 'pending'",
        ),
        (
            "discarding pending subject rows of older versions",
            "DELETE FROM subject_records r USING stage_versions s
             WHERE s.outcome IN ('applied', 'conflict') AND r.receipt = s.receipt
               AND r.status = 'pending'",
        ),
    ] {
        tx.execute(sql, &[]).map_err(db(step))?;
    }

    let mut accepted: Vec<Option<Accepted>> = Vec::new();
    accepted.resize_with(staged.submissions.len(), || None);
    for row in tx
        .query(
            "SELECT ord, outcome, reason, filing_id, province, prev_state, creates_filing
             FROM stage_versions WHERE outcome IN ('applied', 'conflict')",
            &[],
        )
        .map_err(db("reading accepted submissions"))?
    {
        let ord: i32 = row.get(0);
        let outcome: &str = row.get(1);
        let slot = usize::try_from(ord)
            .ok()
            .and_then(|i| accepted.get_mut(i))
            .ok_or(ApplyError::Encode {
                what: "accepted submissions",
                message: format!("staged position {ord} is not in the bundle"),
            })?;
        *slot = Some(Accepted {
            conflict: if outcome == "conflict" {
                row.get(2)
            } else {
                None
            },
            filing_id: row.get(3),
            province: row.get(4),
            prev_state: row.get(5),
            creates_filing: row.get::<_, Option<bool>>(6).unwrap_or(false),
        });
    }
    // Accepted submissions in bundle order, with their position.
    let each_accepted = || {
        staged
            .submissions
            .iter()
            .zip(&staged.locals)
            .zip(&accepted)
            .enumerate()
            .filter_map(|(i, ((version, local), accepted))| {
                accepted
                    .as_ref()
                    .map(|accepted| (ordinal(i), version, local, accepted))
            })
    };
    // Websites of accepted submissions, with their submission and what was decided for it.
    let each_website = || {
        staged.websites.iter().filter_map(|website| {
            let i = usize::try_from(website.ord).ok()?;
            Some((
                website,
                staged.submissions.get(i)?,
                staged.locals.get(i)?,
                accepted.get(i)?.as_ref()?,
            ))
        })
    };

    {
        let mut copy = Copier::new(
            tx,
            "creating filings",
            "filings",
            "filing_id, origin_receipt, province, status",
            &[Type::INT8, Type::TEXT, Type::INT2, Type::TEXT],
        )?;
        for (_, version, _, accepted) in each_accepted().filter(|(.., a)| a.creates_filing) {
            copy.row(&[
                &accepted.filing_id,
                &version.receipt,
                &accepted.province,
                &"pending",
            ])?;
        }
        copy.finish()?;
    }
    {
        let mut copy = Copier::new(
            tx,
            "writing subject records",
            "subject_records",
            "filing_id, receipt, status, name, nature, certificate_type, certificate_number, \
             region_code, address, investor, principal_name, principal_certificate_type, \
             principal_certificate_number, principal_mobile_phones, principal_office_phones, \
             principal_email",
            &[
                Type::INT8,
                Type::TEXT,
                Type::TEXT,
                Type::TEXT,
                Type::TEXT,
                Type::TEXT,
                Type::TEXT,
                Type::INT4,
                Type::TEXT,
                Type::TEXT,
                Type::TEXT,
                Type::TEXT,
                Type::TEXT,
                Type::TEXT_ARRAY,
                Type::TEXT_ARRAY,
                Type::TEXT,
            ],
        )?;
        for (_, version, _, accepted) in each_accepted() {
            let subject: &Subject = match &version.body {
                Submission::NewFiling(filing) => &filing.subject,
                Submission::Change {
                    change: Change::Subject(subject),
                    ..
                } => subject,
                _ => continue,
            };
            let p = person(&subject.principal);
            let region = i32::try_from(subject.region_code).unwrap_or(i32::MAX);
            copy.row(&[
                &accepted.filing_id,
                &version.receipt,
                &"pending",
                &subject.name,
                &names::nature(subject.nature),
                &names::certificate_type(subject.certificate_type),
                &subject.certificate_number,
                &region,
                &subject.address,
                &subject.investor,
                &p.name,
                &p.certificate_type,
                &p.certificate_number,
                &p.mobiles,
                &p.offices,
                &p.email,
            ])?;
        }
        copy.finish()?;
    }
    {
        let mut copy = Copier::new(
            tx,
            "writing website records",
            "website_records",
            "record_id, filing_id, receipt, status, website_seq, name, service_types, \
             principal_name, principal_certificate_type, principal_certificate_number, \
             principal_mobile_phones, principal_office_phones, principal_email",
            &[
                Type::INT8,
                Type::INT8,
                Type::TEXT,
                Type::TEXT,
                Type::INT4,
                Type::TEXT,
                Type::TEXT_ARRAY,
                Type::TEXT,
                Type::TEXT,
                Type::TEXT,
                Type::TEXT_ARRAY,
                Type::TEXT_ARRAY,
                Type::TEXT,
            ],
        )?;
        for (website, version, local, accepted) in each_website() {
            let Some(details) = website.details else {
                continue;
            };
            // A changed website keeps its number; a new one is numbered at approval.
            let website_seq = match local.kind {
                Kind::ChangeWebsite => local.target_seq,
                _ => None,
            };
            let p = person(&details.principal);
            let services: Vec<&str> = details
                .service_types
                .iter()
                .map(|s| names::service_type(*s))
                .collect();
            copy.row(&[
                &website.record_id,
                &accepted.filing_id,
                &version.receipt,
                &"pending",
                &website_seq,
                &details.name,
                &services,
                &p.name,
                &p.certificate_type,
                &p.certificate_number,
                &p.mobiles,
                &p.offices,
                &p.email,
            ])?;
        }
        copy.finish()?;
    }
    tx.execute(
        "INSERT INTO website_records (record_id, filing_id, receipt, status, website_seq, name,
             service_types, principal_name, principal_certificate_type,
             principal_certificate_number, principal_mobile_phones, principal_office_phones,
             principal_email)
         SELECT w.record_id, s.filing_id, s.receipt, 'pending', s.target_seq, o.name,
                o.service_types, o.principal_name, o.principal_certificate_type,
                o.principal_certificate_number, o.principal_mobile_phones,
                o.principal_office_phones, o.principal_email
         FROM stage_access_changes w JOIN stage_versions s ON s.ord = w.ord
         JOIN website_records o ON o.record_id = s.source_record_id
         WHERE s.outcome IN ('applied', 'conflict')",
        &[],
    )
    .map_err(db("writing website records of access changes"))?;
    {
        let mut copy = Copier::new(
            tx,
            "writing access records",
            "website_access",
            "record_id, provider, method, server_region_code",
            &[Type::INT8, Type::TEXT, Type::TEXT, Type::INT4],
        )?;
        for (website, ..) in each_website() {
            let access = website.access;
            let region = i32::try_from(access.server_region_code).unwrap_or(i32::MAX);
            copy.row(&[
                &website.record_id,
                &access.provider,
                &names::access_method(access.method),
                &region,
            ])?;
        }
        copy.finish()?;
    }
    {
        let mut copy = Copier::new(
            tx,
            "writing domains",
            "website_domains",
            "record_id, filing_id, domain",
            &[Type::INT8, Type::INT8, Type::TEXT],
        )?;
        for (website, .., accepted) in each_website() {
            for domain in website.details.iter().flat_map(|w| &w.domains) {
                // Domains compare case-insensitively; store the canonical lower case.
                copy.row(&[
                    &website.record_id,
                    &accepted.filing_id,
                    &domain.to_ascii_lowercase(),
                ])?;
            }
        }
        copy.finish()?;
    }
    copy_rows_to_access_changes(
        tx,
        "website_domains",
        &[("filing_id", "s.filing_id"), ("domain", "o.domain")],
        "writing domains of access changes",
    )?;
    {
        let mut copy = Copier::new(
            tx,
            "writing home URLs",
            "website_home_urls",
            "record_id, url",
            &[Type::INT8, Type::TEXT],
        )?;
        for (website, ..) in each_website() {
            for url in website.details.iter().flat_map(|w| &w.home_urls) {
                copy.row(&[&website.record_id, url])?;
            }
        }
        copy.finish()?;
    }
    copy_rows_to_access_changes(
        tx,
        "website_home_urls",
        &[("url", "o.url")],
        "writing home URLs of access changes",
    )?;
    {
        let mut copy = Copier::new(
            tx,
            "writing pre-approvals",
            "website_pre_approvals",
            "record_id, item, document_number",
            &[Type::INT8, Type::TEXT, Type::TEXT],
        )?;
        for (website, ..) in each_website() {
            for approval in website.details.iter().flat_map(|w| &w.pre_approvals) {
                copy.row(&[
                    &website.record_id,
                    &names::pre_approval_item(approval.item),
                    &approval.document_number,
                ])?;
            }
        }
        copy.finish()?;
    }
    copy_rows_to_access_changes(
        tx,
        "website_pre_approvals",
        &[("item", "o.item"), ("document_number", "o.document_number")],
        "writing pre-approvals of access changes",
    )?;
    copy_ip_ranges(
        tx,
        each_website().map(|(website, .., accepted)| (website, accepted.filing_id)),
    )?;

    {
        let mut copy = Copier::new(
            tx,
            "writing receipts",
            "receipts",
            "receipt, version, content_hash, kind, filing_id, target_website_seq, \
             target_receipt, province, state, state_since, needs_pre_approval, conflict, \
             submitter_reason, submitted_at, submitter, access_provider, received_at",
            &[
                Type::TEXT,
                Type::INT8,
                Type::BYTEA,
                Type::TEXT,
                Type::INT8,
                Type::INT4,
                Type::TEXT,
                Type::INT2,
                Type::TEXT,
                Type::INT8,
                Type::BOOL,
                Type::TEXT,
                Type::TEXT,
                Type::INT8,
                Type::TEXT,
                Type::TEXT,
                Type::INT8,
            ],
        )?;
        // A receipt with a previous state is stored already: that one is updated below.
        for (_, version, local, accepted) in
            each_accepted().filter(|(.., a)| a.prev_state.is_none())
        {
            let hash: &[u8] = &version.content_hash;
            copy.row(&[
                &version.receipt,
                &i64::from(version.version),
                &hash,
                &local.kind.name(),
                &accepted.filing_id,
                &local.target_seq,
                &local.target_receipt,
                &accepted.province,
                &workflow::state_name(local.entry_state),
                &now,
                &local.needs_pre_approval,
                &accepted.conflict,
                &local.submitter_reason,
                &version.submitted_at,
                &version.submitter,
                &version.access_provider,
                &now,
            ])?;
        }
        copy.finish()?;
    }
    tx.execute(
        "INSERT INTO receipts (receipt, version, content_hash, kind, filing_id,
             target_website_seq, target_receipt, province, state, state_since,
             needs_pre_approval, conflict, submitter_reason, submitted_at, submitter,
             access_provider, received_at)
         SELECT receipt, version, content_hash, kind, filing_id, target_seq, target_receipt,
                province, entry_state, $1, needs_pre_approval,
                CASE WHEN outcome = 'conflict' THEN reason END, submitter_reason,
                submitted_at, submitter, access_provider, $1
         FROM stage_versions
         WHERE outcome IN ('applied', 'conflict') AND prev_state IS NOT NULL
         ON CONFLICT (receipt) DO UPDATE SET
             version = EXCLUDED.version, content_hash = EXCLUDED.content_hash,
             kind = EXCLUDED.kind, filing_id = EXCLUDED.filing_id,
             target_website_seq = EXCLUDED.target_website_seq,
             target_receipt = EXCLUDED.target_receipt, province = EXCLUDED.province,
             state = EXCLUDED.state, state_since = EXCLUDED.state_since,
             needs_pre_approval = EXCLUDED.needs_pre_approval,
             conflict = EXCLUDED.conflict, submitter_reason = EXCLUDED.submitter_reason,
             submitted_at = EXCLUDED.submitted_at, submitter = EXCLUDED.submitter,
             access_provider = EXCLUDED.access_provider, received_at = EXCLUDED.received_at",
        &[&now],
    )
    .map_err(db("updating receipts"))?;

    // Review events are numbered in bundle order, and their status changes queued in that
    // order: the ids are taken up front so that both can be copied.
    let wanted = i64::try_from(each_accepted().count()).unwrap_or(i64::MAX);
    let mut event_ids: Vec<i64> = tx
        .query(
            "SELECT nextval('review_events_event_id_seq') FROM generate_series(1, $1::bigint)",
            &[&wanted],
        )
        .map_err(db("taking review event ids"))?
        .iter()
        .map(|row| row.get(0))
        .collect();
    event_ids.sort_unstable();
    {
        let mut copy = Copier::new(
            tx,
            "recording review events",
            "review_events",
            "event_id, receipt, version, from_state, to_state, reviewer, reason, at",
            &[
                Type::INT8,
                Type::TEXT,
                Type::INT8,
                Type::TEXT,
                Type::TEXT,
                Type::TEXT,
                Type::TEXT,
                Type::INT8,
            ],
        )?;
        for (event_id, (_, version, local, accepted)) in event_ids.iter().zip(each_accepted()) {
            copy.row(&[
                event_id,
                &version.receipt,
                &i64::from(version.version),
                &accepted.prev_state,
                &workflow::state_name(local.entry_state),
                &IMPORT_ACTOR,
                &accepted.conflict,
                &now,
            ])?;
        }
        copy.finish()?;
    }
    {
        let mut copy = Copier::new(
            tx,
            "queueing status changes",
            "return_queue",
            "kind, event_id, queued_at",
            &[Type::TEXT, Type::INT8, Type::INT8],
        )?;
        for event_id in &event_ids {
            copy.row(&[&"status-change", event_id, &now])?;
        }
        copy.finish()?;
    }
    Ok(())
}

/// Writes the IP ranges of the accepted websites. They go as COPY text: the range type is the
/// schema's own (`inetrange`), for which the client has no binary encoder, and its text form
/// `[first,last]` is what `inetrange(first, last, '[]')` makes.
/// Gives the new website record of each accepted access change a copy of `table`'s rows of the
/// record it replaces (an access change keeps the website's domains, home URLs and
/// pre-approvals). `columns` are the table's columns after `record_id` with what each is
/// selected from: `o` is the replaced record's row, `s` the change's staged version.
fn copy_rows_to_access_changes(
    tx: &mut Transaction<'_>,
    table: &'static str,
    columns: &[(&'static str, &'static str)],
    step: &'static str,
) -> Result<(), ApplyError> {
    let names: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
    let sources: Vec<&str> = columns.iter().map(|(_, source)| *source).collect();
    let sql = format!(
        "INSERT INTO {table} (record_id, {})
         SELECT w.record_id, {}
         FROM stage_access_changes w JOIN stage_versions s ON s.ord = w.ord
         JOIN {table} o ON o.record_id = s.source_record_id
         WHERE s.outcome IN ('applied', 'conflict')",
        names.join(", "),
        sources.join(", ")
    );
    tx.execute(sql.as_str(), &[]).map_err(db(step))?;
    Ok(())
}

fn copy_ip_ranges<'w>(
    tx: &mut Transaction<'_>,
    websites: impl Iterator<Item = (&'w StagedWebsite<'w>, Option<i64>)>,
) -> Result<(), ApplyError> {
    use std::io::Write as _;
    const STEP: &str = "writing IP ranges";
    let mut sink = tx
        .copy_in("COPY website_ips (record_id, filing_id, ips) FROM STDIN")
        .map_err(db(STEP))?;
    let mut line = String::new();
    for (website, filing_id) in websites {
        // A NULL filing id would be refused by the table; `\N` lets the server say so.
        let filing_id = filing_id.map_or_else(|| "\\N".to_owned(), |id| id.to_string());
        for range in &website.access.ip_ranges {
            line.clear();
            line.push_str(&format!(
                "{}\t{filing_id}\t[{},{}]\n",
                website.record_id, range.first, range.last
            ));
            if let Err(error) = sink.write_all(line.as_bytes()) {
                // The writer only fails when sending to the server fails, with the client's
                // error inside.
                return Err(
                    match error.into_inner().map(|e| e.downcast::<postgres::Error>()) {
                        Some(Ok(source)) => ApplyError::Database {
                            step: STEP,
                            source: *source,
                        },
                        Some(Err(other)) => ApplyError::Encode {
                            what: "IP ranges",
                            message: other.to_string(),
                        },
                        None => ApplyError::Encode {
                            what: "IP ranges",
                            message: "the COPY stream failed".to_owned(),
                        },
                    },
                );
            }
            crate::failpoint::hit("import.mid-copy");
        }
    }
    sink.finish().map_err(db(STEP))?;
    Ok(())
}

/// Applies accepted withdrawals to the receipts they name. Returns the review events written,
/// for the return channel.
fn withdraw(tx: &mut Transaction<'_>, now: i64) -> Result<Vec<i64>, ApplyError> {
    let rows = tx
        .query(
            "SELECT s.target_receipt, s.target_state, s.submitter_reason, s.receipt
             FROM stage_versions s
             WHERE s.outcome = 'applied' AND s.kind = 'withdrawal' ORDER BY s.ord",
            &[],
        )
        .map_err(db("reading withdrawals"))?;
    let mut events = Vec::new();
    for row in rows {
        let target: String = row.get(0);
        let why: Option<String> = row.get(2);
        let withdrawal_receipt: String = row.get(3);
        // Re-read under the import lock: an earlier withdrawal in this bundle may have closed it.
        let current: Option<String> = tx
            .query_opt(
                "SELECT state FROM receipts WHERE receipt = $1 FOR UPDATE",
                &[&target],
            )
            .map_err(db("reading a withdrawn receipt"))?
            .map(|r| r.get(0));
        let Some(current) = current.as_deref().and_then(workflow::parse_state) else {
            continue;
        };
        let facts = Facts {
            needs_provider_check: false,
            needs_pre_approval: false,
            is_cancellation: false,
        };
        let Ok(next) = workflow::transition(Some(current), workflow::Action::Withdraw, facts)
        else {
            continue;
        };
        let event = record_transition(
            tx,
            &target,
            current,
            next,
            &withdrawal_receipt,
            why.as_deref(),
            None,
            now,
        )?;
        tx.execute(
            "UPDATE website_records SET status = 'discarded' WHERE receipt = $1 AND status = 'pending'",
            &[&target],
        )
        .map_err(db("discarding withdrawn website rows"))?;
        tx.execute(
            "UPDATE subject_records SET status = 'discarded' WHERE receipt = $1 AND status = 'pending'",
            &[&target],
        )
        .map_err(db("discarding withdrawn subject rows"))?;
        tx.execute(
            "UPDATE filings SET status = 'withdrawn' WHERE origin_receipt = $1 AND status = 'pending'",
            &[&target],
        )
        .map_err(db("withdrawing a pending filing"))?;
        events.push(event);
    }
    Ok(events)
}

/// Stores every submission version of the bundle verbatim for audit, with what the import did
/// with it; the versions reported as already applied are stored already.
///
/// A version's key (receipt, version, content hash) may be stored before even when it is not
/// reported as already applied (a version refused by the local checks, or superseded in a resent
/// bundle), or appear twice in one bundle; such a version is not stored again, as
/// `INSERT ... ON CONFLICT DO NOTHING` did before the rows were copied.
fn store_versions(
    tx: &mut Transaction<'_>,
    bundle: &IncomingBundle<'_>,
    outcomes: &[ReceiptAck],
    now: i64,
) -> Result<(), ApplyError> {
    const STEP: &str = "storing submission versions for audit";
    let stored: HashSet<i32> = tx
        .query(
            "SELECT s.ord FROM stage_versions s
             JOIN submission_versions v ON v.receipt = s.receipt AND v.version = s.version
                                       AND v.content_hash = s.content_hash
             WHERE s.outcome <> 'already-applied'",
            &[],
        )
        .map_err(db(STEP))?
        .iter()
        .map(|row| row.get(0))
        .collect();
    let mut copy = Copier::new(
        tx,
        STEP,
        "submission_versions",
        "receipt, version, content_hash, bundle_id, bundle_position, submitted_at, submitter, \
         access_provider, encoded, outcome, reason, received_at",
        &[
            Type::TEXT,
            Type::INT8,
            Type::BYTEA,
            Type::BYTEA,
            Type::INT4,
            Type::INT8,
            Type::TEXT,
            Type::TEXT,
            Type::BYTEA,
            Type::TEXT,
            Type::TEXT,
            Type::INT8,
        ],
    )?;
    let bundle_id: &[u8] = &bundle.bundle_id;
    let mut keys: HashSet<(&str, u32, [u8; 32])> = HashSet::new();
    let mut encoded = Vec::new();
    for (i, (version, ack)) in bundle.submissions.iter().zip(outcomes).enumerate() {
        let ord = ordinal(i);
        let outcome = match ack.outcome {
            ImportOutcome::AlreadyApplied => continue,
            ImportOutcome::Applied => "applied",
            ImportOutcome::Conflict => "conflict",
            ImportOutcome::Rejected => "rejected",
            ImportOutcome::Superseded => "superseded",
        };
        if stored.contains(&ord) || !keys.insert((&ack.receipt, ack.version, ack.content_hash)) {
            continue;
        }
        encoded.clear();
        bincode::encode_into_std_write(version, &mut encoded, wire_config()).map_err(|e| {
            ApplyError::Encode {
                what: "submission version",
                message: e.to_string(),
            }
        })?;
        let hash: &[u8] = &version.content_hash;
        copy.row(&[
            &ack.receipt,
            &i64::from(version.version),
            &hash,
            &bundle_id,
            &ord,
            &version.submitted_at,
            &storable(&version.submitter),
            &version.access_provider.as_deref().map(storable),
            &encoded,
            &outcome,
            &ack.reason,
            &now,
        ])?;
    }
    copy.finish()?;
    Ok(())
}

fn read_outcomes(tx: &mut Transaction<'_>) -> Result<Vec<ReceiptAck>, ApplyError> {
    let rows = tx
        .query(
            "SELECT receipt, version, content_hash, outcome, reason FROM stage_versions ORDER BY ord",
            &[],
        )
        .map_err(db("reading outcomes"))?;
    let mut acks = Vec::with_capacity(rows.len());
    for row in rows {
        let version: i64 = row.get(1);
        let hash: Vec<u8> = row.get(2);
        let outcome: &str = row.get(3);
        let outcome = match outcome {
            "applied" => ImportOutcome::Applied,
            "already-applied" => ImportOutcome::AlreadyApplied,
            "superseded" => ImportOutcome::Superseded,
            "conflict" => ImportOutcome::Conflict,
            _ => ImportOutcome::Rejected,
        };
        acks.push(ReceiptAck {
            receipt: row.get(0),
            version: u32::try_from(version).unwrap_or(u32::MAX),
            content_hash: hash.try_into().unwrap_or([0; 32]),
            outcome,
            reason: row.get(4),
        });
    }
    Ok(acks)
}
