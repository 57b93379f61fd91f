//! Staging: runs the local checks and writes what the set-based checks read into temporary
//! tables with binary `COPY`, and takes the website record ids the accepted rows will use.

use std::collections::HashMap;

use bundle_format::records::{Access, Change, Submission, SubmissionVersion, Website};
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

// Only what the set-based checks read is staged: one row per submission version, and the
// website records that access changes copy (the domains go to their check as parameters). The rows that end up in
// the filing tables are copied straight into them once the checks have decided which
// submissions apply (see `write_records`): staging them first and moving them with
// `INSERT ... SELECT` wrote every row twice, and on a 50,000-filing bundle that was a quarter of
// the import's time.
pub(super) const STAGING: &str = "
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

/// One website a submission writes: the websites of a new filing, or the one of a website
/// change, an added website or an access change (which has no details of its own and keeps
/// those of the website record it changes).
pub(super) struct StagedWebsite<'a> {
    pub(super) ord: i32,
    pub(super) record_id: i64,
    pub(super) details: Option<&'a Website>,
    pub(super) access: &'a Access,
}

/// What [`stage`] decided in Rust and keeps for writing the accepted submissions.
pub(super) struct Staged<'a> {
    pub(super) submissions: &'a [SubmissionVersion],
    /// One per submission, in bundle order.
    pub(super) locals: Vec<Local>,
    /// Websites of the submissions that passed the local checks, in bundle order.
    pub(super) websites: Vec<StagedWebsite<'a>>,
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
