//! Staging: runs the local checks and writes what the set-based checks read into a temporary
//! table with binary `COPY`.

use std::collections::HashMap;

use bundle_format::records::{Change, IpRange, Submission, SubmissionVersion, Website};
use postgres::Transaction;
use postgres::types::Type;

use super::checks::{Local, Verdict, local_checks};
use super::copier::Copier;
use super::outcomes::outcome_name;
use super::{ApplyError, db, ordinal, reason, storable};
use crate::workflow;

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
    filing_id bigint, source_record_id bigint, prev_state text, target_state text
) ON COMMIT DROP;
";

/// What [`stage`] decided in Rust and keeps for writing the accepted submissions.
pub(super) struct Staged<'a> {
    pub(super) submissions: &'a [SubmissionVersion],
    /// One per submission, in bundle order.
    pub(super) locals: Vec<Local>,
    /// Their domains, for the domain-conflict check.
    pub(super) domains: StagedDomains,
}

/// The domains of the staged websites, as two parallel arrays (bundle position, domain in
/// lower case). The domain-conflict check takes them as parameters: it is their only reader,
/// and a staging table for them cost a COPY and a scan for statistics (0.2-0.45 s for the
/// 300,000 domains of 50,000 filings, against about 0.05 s for the check to unnest them).
#[derive(Default)]
pub(super) struct StagedDomains {
    pub(super) ords: Vec<i32>,
    pub(super) names: Vec<String>,
}

/// Runs the local checks and writes what the set-based checks read into the staging tables
/// with binary COPY.
pub(super) fn stage<'a>(
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
            locals[i].verdict = Some(Verdict::superseded(reason::NEWER_VERSION_IN_BUNDLE));
        } else if i != first {
            locals[i].verdict = Some(Verdict::already_applied(reason::DUPLICATE_IN_BUNDLE));
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
            let outcome = local.verdict.map(|verdict| outcome_name(verdict.outcome));
            let why = local.verdict.map(|verdict| verdict.reason);
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

    // The domains of the websites each submission that passed the local checks files, for the
    // domain-conflict check.
    let mut domains = StagedDomains::default();
    for (i, (version, local)) in submissions.iter().zip(&locals).enumerate() {
        if local.verdict.is_none() {
            for domain in filed_websites(&version.body).flat_map(|w| &w.domains) {
                domains.ords.push(ordinal(i));
                // Domains compare case-insensitively; the store holds the canonical lower case.
                domains.names.push(domain.to_ascii_lowercase());
            }
        }
    }
    // The checks join this with the store. Statistics cost a scan (about 0.05-0.1 s for 50,000
    // filings), and are kept: without them the planner guesses the staged rows' distinct values,
    // and in a trial the checks over a store of 50,000 other filings got slower by about as much.
    tx.batch_execute("ANALYZE stage_versions")
        .map_err(db("analysing staging tables"))?;
    Ok(Staged {
        submissions,
        locals,
        domains,
    })
}

/// The websites a submission files with their details: a new filing's, in order, or the one
/// of a website change or an added website. An access change has no website details of its
/// own (it keeps those of the website it changes).
pub(super) fn filed_websites(body: &Submission) -> impl Iterator<Item = &Website> {
    let websites: &[Website] = match body {
        Submission::NewFiling(filing) => &filing.websites,
        Submission::Change {
            change: Change::Website { website, .. } | Change::AddedWebsite(website),
            ..
        } => std::slice::from_ref(website),
        _ => &[],
    };
    websites.iter()
}

/// The IP ranges a submission files: its websites' and an access change's.
pub(super) fn filed_ip_ranges(body: &Submission) -> impl Iterator<Item = &IpRange> {
    let access_change = match body {
        Submission::Change {
            change: Change::Access { access, .. },
            ..
        } => Some(access),
        _ => None,
    };
    filed_websites(body)
        .map(|w| &w.access)
        .chain(access_change)
        .flat_map(|a| &a.ip_ranges)
}
