//! Staging: runs the local checks and writes what the set-based checks read into a temporary
//! table with binary `COPY`.

use std::collections::HashMap;

use bundle_format::records::{Change, IpRange, Submission, Website};
use postgres::Transaction;
use postgres::types::Type;

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
    target_version bigint, target_hash bytea, filing_id bigint, source_record_id bigint, prev_state text, target_state text
) ON COMMIT DROP;
";

/// What [`stage`] decided in Rust and keeps for writing the accepted submissions.
pub(super) struct Staged<'a> {
    pub(super) submissions: Submissions<'a>,
    /// One per submission, in bundle order.
    pub(super) locals: Vec<Local>,
    /// Where each zstd frame of the bundle's message lies, as the first reading found them;
    /// `None` for versions given decoded.
    pub(super) frames: Option<Vec<FrameSpan>>,
}

/// What takes one batch of domains: their bundle positions and the domains.
pub(super) type DomainBatch<'f> = dyn FnMut(&[i32], &[String]) -> Result<(), ApplyError> + 'f;

/// Most domains handed to the domain-conflict check at once.
const DOMAIN_BATCH: usize = 256 * 1024;

impl Staged<'_> {
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
        for (i, (version, local)) in self.submissions.iter().zip(&self.locals).enumerate() {
            let version = version?;
            if local.verdict.is_some() {
                continue;
            }
            for domain in filed_websites(&version.body).flat_map(|w| &w.domains) {
                ords.push(ordinal(i));
                // Domains compare case-insensitively; the store holds the canonical lower case.
                names.push(domain.to_ascii_lowercase());
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
) -> Result<Staged<'a>, ApplyError> {
    // The count was checked against MAX_SUBMISSIONS_PER_BUNDLE before anything was read.
    let mut locals = Vec::with_capacity(submissions.len());
    // Within one bundle only the highest version of a receipt can apply; a repeat of one
    // version is reported once as applied and then as a duplicate.
    let mut best: HashMap<String, (u32, usize)> = HashMap::new();
    let mut versions: Vec<u32> = Vec::with_capacity(submissions.len());
    let mut receipts: Vec<String> = Vec::with_capacity(submissions.len());
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
pub(super) fn filed_websites(body: &Submission) -> impl Iterator<Item = &Website> {
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
pub(super) fn filed_ip_ranges(body: &Submission) -> impl Iterator<Item = &IpRange> {
    let access_change = match body.change() {
        Some((_, Change::Access { access, .. })) => Some(access),
        _ => None,
    };
    filed_websites(body)
        .map(|w| &w.access)
        .chain(access_change)
        .flat_map(|a| &a.ip_ranges)
}
