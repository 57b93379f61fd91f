//! Writing the accepted submissions (outcome `applied` or `conflict`): their filings, subject
//! records, website records with everything under them, receipts and review events.
//!
//! The rows come from the bundle itself, with binary COPY straight into their tables: once the
//! checks have decided, the outcomes, filing ids and previous states are read back (one row per
//! accepted submission) and everything else is already in memory. Only what depends on rows
//! stored before goes through SQL: deleting the pending rows of older versions, the details an
//! access change copies from the website record it changes, and the receipts that exist
//! already (an upsert, which COPY cannot do).

mod receipts;
mod websites;

use bundle_format::records::{
    Change, ImportOutcome, Person, Subject, Submission, SubmissionVersion,
};
use postgres::Transaction;
use postgres::types::Type;

use super::checks::Local;
use super::copier::Copier;
use super::outcomes::parse_outcome;
use super::staging::{Staged, StagedWebsite};
use super::{ApplyError, db};
use crate::names;

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

/// The staged bundle together with what the checks decided for each accepted submission.
struct Decided<'s, 'a> {
    staged: &'s Staged<'a>,
    /// One slot per bundle position; `None` for a submission that was not accepted.
    accepted: Vec<Option<Accepted>>,
}

impl<'a> Decided<'_, 'a> {
    /// Accepted submissions in bundle order.
    fn submissions(&self) -> impl Iterator<Item = (&SubmissionVersion, &Local, &Accepted)> {
        self.staged
            .submissions
            .iter()
            .zip(&self.staged.locals)
            .zip(&self.accepted)
            .filter_map(|((version, local), accepted)| Some((version, local, accepted.as_ref()?)))
    }

    /// Websites of accepted submissions, with their submission and what was decided for it.
    fn websites(
        &self,
    ) -> impl Iterator<Item = (&StagedWebsite<'a>, &SubmissionVersion, &Local, &Accepted)> {
        self.staged.websites.iter().filter_map(|website| {
            let i = usize::try_from(website.ord).ok()?;
            Some((
                website,
                self.staged.submissions.get(i)?,
                self.staged.locals.get(i)?,
                self.accepted.get(i)?.as_ref()?,
            ))
        })
    }
}

/// Writes the normalised rows, receipts and review events of every accepted submission, table
/// by table in an order the schema's references accept.
pub(super) fn write_records(
    tx: &mut Transaction<'_>,
    staged: &Staged<'_>,
    now: i64,
) -> Result<(), ApplyError> {
    discard_older_versions(tx)?;
    let decided = Decided {
        staged,
        accepted: read_accepted(tx, staged.submissions.len())?,
    };
    create_filings(tx, &decided)?;
    write_subjects(tx, &decided)?;
    websites::write_websites(tx, &decided)?;
    receipts::write_receipts(tx, &decided, now)?;
    receipts::record_arrivals(tx, &decided, now)
}

/// Deletes the pending rows that older versions of the accepted receipts left.
fn discard_older_versions(tx: &mut Transaction<'_>) -> Result<(), ApplyError> {
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
    Ok(())
}

/// Reads back what the checks decided for the accepted submissions, by bundle position.
fn read_accepted(
    tx: &mut Transaction<'_>,
    submissions: usize,
) -> Result<Vec<Option<Accepted>>, ApplyError> {
    let mut accepted: Vec<Option<Accepted>> = Vec::new();
    accepted.resize_with(submissions, || None);
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
            conflict: if parse_outcome(outcome) == Some(ImportOutcome::Conflict) {
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
    Ok(accepted)
}

/// Creates the filing of each accepted new filing that has none yet.
fn create_filings(tx: &mut Transaction<'_>, decided: &Decided<'_, '_>) -> Result<(), ApplyError> {
    let mut copy = Copier::new(
        tx,
        "creating filings",
        "filings",
        "filing_id, origin_receipt, province, status",
        &[Type::INT8, Type::TEXT, Type::INT2, Type::TEXT],
    )?;
    for (version, _, accepted) in decided.submissions().filter(|(.., a)| a.creates_filing) {
        copy.row(&[
            &accepted.filing_id,
            &version.receipt,
            &accepted.province,
            &"pending",
        ])?;
    }
    copy.finish()?;
    Ok(())
}

/// Writes the subject records of new filings and subject changes.
fn write_subjects(tx: &mut Transaction<'_>, decided: &Decided<'_, '_>) -> Result<(), ApplyError> {
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
    for (version, _, accepted) in decided.submissions() {
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
    Ok(())
}
