//! Staging: runs the local checks and writes what the set-based checks read into a temporary
//! table with binary `COPY`.

use std::borrow::Cow;

use bundle_format::records::{Change, IpRange, Submission, SubmissionVersion, Website};
use postgres::Transaction;
use postgres::types::Type;
use rustc_hash::FxHashMap as HashMap;

use super::checks::{Local, Verdict, local_checks};
use super::copier::Copier;
use super::outcomes::outcome_name;
use super::submissions::Submissions;
use super::{ApplyError, db, ordinal, reason, storable};
use crate::workflow;
use bundle_format::payload::FrameSpan;

/// Column types of `stage_versions`, in order.
const VERSION_TYPES: [Type; 20] = [
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
    Type::INT8,  // target_version
    Type::BYTEA, // target_hash
];

// Only what the set-based checks read is staged: one row per submission version (the domains go
// to their check as parameters). The rows the import keeps are copied straight into their
// tables once the checks have decided (see `write_records` and `store_versions`): staging them
// first and moving them with `INSERT ... SELECT` wrote every row twice.
pub(super) const STAGING: &str = "
CREATE TEMP TABLE stage_versions (
    ord integer PRIMARY KEY, receipt text NOT NULL, version bigint NOT NULL,
    content_hash bytea NOT NULL, submitted_at bigint NOT NULL, submitter text NOT NULL,
    access_provider text, kind text, province smallint, filing_ref text,
    target_seq integer, target_receipt text, submitter_reason text, needs_pre_approval boolean,
    entry_state text, outcome text, reason text, certificate_number text,
    target_version bigint, target_hash bytea, filing_id bigint, source_record_id bigint, prev_state text, target_state text,
    known boolean NOT NULL DEFAULT false
) ON COMMIT DROP;
";

/// What the passes after staging (the domain check, the receipts, the version rows) read of
/// one submission version: taken from the staging reading, so that they need not decode the
/// bundle again. Domains are in lower case, as the store holds them; IP ranges as
/// `first-last`; both in the submission's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct StagedVersion {
    pub(super) receipt: String,
    pub(super) version: u32,
    pub(super) content_hash: [u8; 32],
    pub(super) submitted_at: i64,
    pub(super) submitter: String,
    pub(super) access_provider: Option<String>,
    /// The certificate number of the subject a new filing or a subject change files.
    pub(super) subject_key: Option<String>,
    /// The domains of the websites it files.
    pub(super) domains: Vec<String>,
    /// The IP ranges it files.
    pub(super) ip_ranges: Vec<String>,
}

impl StagedVersion {
    /// What the later passes read of `version`, its texts moved out of it when it is owned.
    fn of(version: Cow<'_, SubmissionVersion>) -> StagedVersion {
        let version = version.into_owned();
        let body = &version.body;
        StagedVersion {
            subject_key: subject_key(body).map(str::to_owned),
            domains: filed_websites(body)
                .flat_map(|w| &w.domains)
                .map(|d| d.to_ascii_lowercase())
                .collect(),
            ip_ranges: filed_ip_ranges(body)
                .map(|r| format!("{}-{}", r.first, r.last))
                .collect(),
            version: version.version,
            content_hash: version.content_hash,
            submitted_at: version.submitted_at,
            receipt: version.receipt,
            submitter: version.submitter,
            access_provider: version.access_provider,
        }
    }

    /// About what holding it takes, in bytes: its texts and the bookkeeping of each.
    fn held_bytes(&self) -> usize {
        const PER_TEXT: usize = std::mem::size_of::<String>() + 16;
        let texts = [&self.receipt, &self.submitter]
            .into_iter()
            .chain(&self.access_provider)
            .chain(&self.subject_key)
            .chain(&self.domains)
            .chain(&self.ip_ranges);
        std::mem::size_of::<StagedVersion>() + texts.map(|t| t.len() + PER_TEXT).sum::<usize>()
    }
}

/// The certificate number of the subject a new filing or a subject change files.
fn subject_key(body: &Submission) -> Option<&str> {
    match (body.new_filing(), body.change()) {
        (Some(filing), _) => Some(&filing.subject.certificate_number),
        (_, Some((_, Change::Subject(subject)))) => Some(&subject.certificate_number),
        _ => None,
    }
}

/// What [`stage`] decided in Rust and keeps for writing the accepted submissions.
pub(super) struct Staged<'a> {
    pub(super) submissions: Submissions<'a>,
    /// One per submission, in bundle order.
    pub(super) locals: Vec<Local>,
    /// What the later passes read of each submission, in bundle order, when it took at most
    /// the bundle's `max_held_bytes`; `None` past that: they then read the bundle again.
    held: Option<Vec<StagedVersion>>,
    /// Where each zstd frame of the bundle's message lies, as the first reading found them;
    /// `None` for versions given decoded.
    pub(super) frames: Option<Vec<FrameSpan>>,
}

/// What takes one batch of domains: their bundle positions and the domains.
pub(super) type DomainBatch<'f> = dyn FnMut(&[i32], &[String]) -> Result<(), ApplyError> + 'f;

/// Most domains handed to the domain-conflict check at once.
const DOMAIN_BATCH: usize = 256 * 1024;

impl Staged<'_> {
    /// What the later passes read of each submission, in bundle order: held since staging, or
    /// read again from the bundle when holding it all would have taken too much memory.
    pub(super) fn versions(
        &self,
    ) -> Box<dyn Iterator<Item = Result<Cow<'_, StagedVersion>, ApplyError>> + '_> {
        match &self.held {
            Some(held) => Box::new(held.iter().map(|version| Ok(Cow::Borrowed(version)))),
            None => Box::new(
                self.submissions
                    .iter()
                    .map(|version| version.map(|version| Cow::Owned(StagedVersion::of(version)))),
            ),
        }
    }

    /// The domains of the websites each submission that passed the local checks files, for
    /// the domain-conflict check, in batches of at most [`DOMAIN_BATCH`] as two parallel arrays
    /// (bundle position, domain in lower case). The check takes them as parameters: it is their
    /// only reader, and a staging table for them cost a COPY and a scan for statistics
    /// (0.2-0.45 s for the 300,000 domains of 50,000 filings, against about 0.05 s for the
    /// check to unnest them). Batches keep what is held at once bounded: a bundle packed with
    /// domains holds millions.
    pub(super) fn domains_in_batches(&self, each: &mut DomainBatch<'_>) -> Result<(), ApplyError> {
        let mut ords: Vec<i32> = Vec::new();
        let mut names: Vec<String> = Vec::new();
        for (i, (version, local)) in self.versions().zip(&self.locals).enumerate() {
            let version = version?;
            if local.verdict.is_some() {
                continue;
            }
            // Domains compare case-insensitively; the store holds the canonical lower case.
            for domain in &version.domains {
                ords.push(ordinal(i));
                names.push(domain.clone());
                if names.len() == DOMAIN_BATCH {
                    each(&ords, &names)?;
                    ords.clear();
                    names.clear();
                }
            }
        }
        if !names.is_empty() {
            each(&ords, &names)?;
        }
        Ok(())
    }
}

/// Runs the local checks and writes what the set-based checks read into the staging tables
/// with binary COPY, in one reading of the submissions; then marks the versions another of the
/// same receipt in the bundle overrides, which only the whole bundle tells.
pub(super) fn stage<'a>(
    tx: &mut Transaction<'_>,
    submissions: Submissions<'a>,
    max_scan_bytes: usize,
    max_held_bytes: usize,
) -> Result<Staged<'a>, ApplyError> {
    // The count was checked against MAX_SUBMISSIONS_PER_BUNDLE before anything was read.
    let mut locals = Vec::with_capacity(submissions.len());
    // Within one bundle only the highest version of a receipt can apply; a repeat of one
    // version is reported once as applied and then as a duplicate.
    let mut best: HashMap<String, (u32, usize)> = HashMap::default();
    let mut versions: Vec<u32> = Vec::with_capacity(submissions.len());
    let mut receipts: Vec<String> = Vec::with_capacity(submissions.len());
    let mut held = Some(Vec::with_capacity(submissions.len()));
    let mut held_bytes = 0usize;
    let mut reading = submissions.iter();
    {
        let mut copy = Copier::new(
            tx,
            "staging submission versions",
            "stage_versions",
            "ord, receipt, version, content_hash, submitted_at, submitter, access_provider, \
             kind, province, filing_ref, target_seq, target_receipt, submitter_reason, \
             needs_pre_approval, entry_state, outcome, reason, certificate_number, \
             target_version, target_hash",
            &VERSION_TYPES,
        )?;
        for (i, version) in reading.by_ref().enumerate() {
            let version = version?;
            let local = local_checks(&version, max_scan_bytes);
            match best.get_mut(version.receipt.as_str()) {
                Some(entry) if version.version > entry.0 => *entry = (version.version, i),
                Some(_) => {}
                None => {
                    best.insert(version.receipt.clone(), (version.version, i));
                }
            }
            let ord = ordinal(i);
            let hash: &[u8] = &version.content_hash;
            let outcome = local.verdict.map(|verdict| outcome_name(verdict.outcome));
            let why = local.verdict.map(|verdict| verdict.reason);
            // The subject check reads the certificate number of new filings that passed the
            // local checks (any other text of a refused submission may not be storable).
            let certificate_number = match (version.body.new_filing(), local.verdict) {
                (Some(filing), None) => Some(filing.subject.certificate_number.as_str()),
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
                &local.target_version,
                &local.target_hash,
            ])?;
            locals.push(local);
            versions.push(version.version);
            receipts.push(version.receipt.clone());
            if let Some(kept) = held.as_mut() {
                let staged = StagedVersion::of(version);
                held_bytes = held_bytes.saturating_add(staged.held_bytes());
                if held_bytes <= max_held_bytes {
                    kept.push(staged);
                } else {
                    held = None;
                }
            }
        }
        copy.finish()?;
    }
    let frames = reading.frames();
    overridden_in_bundle(tx, &mut locals, &receipts, &versions, &best)?;
    // The checks join this with the store. Statistics cost a scan (about 0.05-0.1 s for 50,000
    // filings), and are kept: without them the planner guesses the staged rows' distinct values,
    // and in a trial the checks over a store of 50,000 other filings got slower by about as much.
    tx.batch_execute("ANALYZE stage_versions")
        .map_err(db("analysing staging tables"))?;
    Ok(Staged {
        submissions,
        locals,
        held,
        frames,
    })
}

/// Marks, in memory and in `stage_versions`, each version another version of its receipt in
/// the same bundle overrides: a lower version is superseded by the highest, a repeat of the
/// highest is a duplicate of its first appearance. Bundles rarely hold either; the statement
/// runs only when one does.
fn overridden_in_bundle(
    tx: &mut Transaction<'_>,
    locals: &mut [Local],
    receipts: &[String],
    versions: &[u32],
    best: &HashMap<String, (u32, usize)>,
) -> Result<(), ApplyError> {
    let (mut ords, mut outcomes, mut reasons) = (Vec::new(), Vec::new(), Vec::new());
    for (i, (receipt, version)) in receipts.iter().zip(versions).enumerate() {
        let verdict = match best.get(receipt.as_str()) {
            Some(&(top, _)) if *version < top => {
                Verdict::superseded(reason::NEWER_VERSION_IN_BUNDLE)
            }
            Some(&(_, first)) if i != first => {
                Verdict::already_applied(reason::DUPLICATE_IN_BUNDLE)
            }
            _ => continue,
        };
        if let Some(local) = locals.get_mut(i) {
            local.verdict = Some(verdict);
        }
        ords.push(ordinal(i));
        outcomes.push(outcome_name(verdict.outcome));
        reasons.push(verdict.reason);
    }
    if ords.is_empty() {
        return Ok(());
    }
    tx.execute(
        "UPDATE stage_versions s
         SET outcome = u.outcome, reason = u.reason, certificate_number = NULL
         FROM unnest($1::integer[], $2::text[], $3::text[]) AS u (ord, outcome, reason)
         WHERE s.ord = u.ord",
        &[&ords, &outcomes, &reasons],
    )
    .map_err(db("marking versions overridden in the bundle"))?;
    Ok(())
}

/// The websites a submission files with their details: a new filing's, in order, or the one
/// of a website change or an added website. An access change has no website details of its
/// own (it keeps those of the website it changes).
fn filed_websites(body: &Submission) -> impl Iterator<Item = &Website> {
    let websites: &[Website] = match (body.new_filing(), body.change()) {
        (Some(filing), _) => &filing.websites,
        (_, Some((_, Change::Website { website, .. } | Change::AddedWebsite(website)))) => {
            std::slice::from_ref(website)
        }
        _ => &[],
    };
    websites.iter()
}

/// The IP ranges a submission files: its websites' and an access change's.
fn filed_ip_ranges(body: &Submission) -> impl Iterator<Item = &IpRange> {
    let access_change = match body.change() {
        Some((_, Change::Access { access, .. })) => Some(access),
        _ => None,
    };
    filed_websites(body)
        .map(|w| &w.access)
        .chain(access_change)
        .flat_map(|a| &a.ip_ranges)
}
