//! The checks of one submission that need no database: wire-format shape, content hash, text
//! the store can hold, province, website numbers, duplicate domains and IP range order (the rules
//! themselves are the `filing` crate's, shared with the intake). What
//! they decide, and what they work out for the later stages (kind, province, targets, entry
//! state), is the submission's [`Local`].

use bundle_format::records::{
    Access, CancellationScope, Change, ImportOutcome, Person, ProviderDecision, Request,
    ReviewState, Subject, SubmissionVersion, Website,
};

use super::{reason, storable};
use crate::filing_number;
use crate::store::kinds::SubmissionKind as Kind;

/// Everything of one submission that decides its outcome without the database.
pub(super) struct Local {
    pub(super) kind: Kind,
    pub(super) province: Option<i16>,
    pub(super) filing_ref: Option<String>,
    pub(super) target_seq: Option<i32>,
    pub(super) target_receipt: Option<String>,
    /// The version and content hash a provider check names.
    pub(super) target_version: Option<i64>,
    pub(super) target_hash: Option<Vec<u8>>,
    /// The providers whose check the version waits for, when it enters the provider check
    /// (empty otherwise).
    pub(super) named_providers: Vec<String>,
    pub(super) submitter_reason: Option<String>,
    pub(super) needs_pre_approval: bool,
    pub(super) entry_state: ReviewState,
    /// What decided the submission's outcome already, if anything did.
    pub(super) verdict: Option<Verdict>,
}

/// An outcome decided before the set-based checks, with its reason code (one of [`reason`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Verdict {
    pub(super) outcome: ImportOutcome,
    pub(super) reason: &'static str,
}

impl Verdict {
    /// The submission breaks a rule and goes back to the submitter.
    pub(super) fn rejected(reason: &'static str) -> Verdict {
        Verdict {
            outcome: ImportOutcome::Rejected,
            reason,
        }
    }

    /// A newer version of the receipt makes this one an audit copy only.
    pub(super) fn superseded(reason: &'static str) -> Verdict {
        Verdict {
            outcome: ImportOutcome::Superseded,
            reason,
        }
    }

    /// This version counts as applied already.
    pub(super) fn already_applied(reason: &'static str) -> Verdict {
        Verdict {
            outcome: ImportOutcome::AlreadyApplied,
            reason,
        }
    }
}

pub(super) fn local_checks(version: &SubmissionVersion, max_scan_bytes: usize) -> Local {
    let kind = Kind::of(&version.body);
    let mut local = Local {
        kind,
        province: None,
        filing_ref: None,
        target_seq: None,
        target_receipt: None,
        target_version: None,
        target_hash: None,
        named_providers: Vec::new(),
        submitter_reason: None,
        needs_pre_approval: false,
        entry_state: ReviewState::AwaitingRegionalReview,
        verdict: None,
    };
    let rejected = |reason| Some(Verdict::rejected(reason));
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
    // The scan limit is this side's setting, at most the wire's; the type is told by the
    // bytes, as at intake.
    for scan in version.body.scans() {
        let a = scan.attachment;
        match filing::scan::check(&a.media_type, &a.bytes, max_scan_bytes) {
            Ok(()) => {}
            Err(filing::scan::ScanProblem::TooLarge { .. }) => {
                local.verdict = rejected(reason::SCAN_TOO_LARGE);
                return local;
            }
            Err(_) => {
                local.verdict = rejected(reason::SCAN_NOT_IMAGE);
                return local;
            }
        }
    }
    let mut websites: Vec<&Website> = Vec::new();
    let mut access: Option<&Access> = None;
    match version.body.request() {
        Request::NewFiling { filing, .. } => {
            local.province = filing_number::province_of_region(filing.subject.region_code)
                .and_then(|p| i16::try_from(p).ok());
            if local.province.is_none() {
                local.verdict = rejected(reason::UNKNOWN_PROVINCE);
            }
            websites.extend(&filing.websites);
        }
        Request::Change {
            filing_number,
            change,
            ..
        } => {
            local.filing_ref = Some(filing_number.to_owned());
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
        Request::Cancellation {
            filing_number,
            scope,
            reason: why,
        } => {
            local.submitter_reason = Some(why.to_owned());
            if scope == CancellationScope::Subject {
                local.filing_ref = Some(filing_number.to_owned());
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
        Request::Withdrawal {
            receipt,
            reason: why,
        } => {
            local.target_receipt = Some(receipt.to_owned());
            local.submitter_reason = Some(why.to_owned());
            local.entry_state = ReviewState::Withdrawn;
            return local;
        }
        Request::ProviderCheck {
            receipt,
            version: checked,
            content_hash,
            decision,
        } => {
            local.target_receipt = Some(receipt.to_owned());
            local.target_version = Some(i64::from(checked));
            local.target_hash = Some(content_hash.to_vec());
            // A return carries the provider's reason; a confirmation none.
            if let ProviderDecision::Return { reason: why } = decision {
                local.submitter_reason = Some(why.clone());
            }
            // Only a provider account checks, as itself: the outer side sends a check with the
            // provider as both submitter and access provider.
            if version.access_provider.as_deref() != Some(version.submitter.as_str()) {
                local.verdict = rejected(reason::NOT_NAMED_PROVIDER);
            }
            return local;
        }
    }
    let mut listings: Vec<filing::domain::Listing<'_>> = websites
        .iter()
        .enumerate()
        .flat_map(|(w, site)| {
            site.domains
                .iter()
                .enumerate()
                .map(move |(i, domain)| (w, i, domain.as_str()))
        })
        .collect();
    if !filing::domain::repeated(&mut listings).is_empty() {
        local.verdict = local.verdict.or(rejected(reason::DUPLICATE_DOMAIN));
    }
    local.needs_pre_approval = filing::arrival::needs_pre_approval(&version.body);
    let ranges = websites
        .iter()
        .map(|w| &w.access)
        .chain(access)
        .flat_map(|a| &a.ip_ranges);
    for range in ranges {
        if !filing::ip::is_ordered(range) {
            local.verdict = local.verdict.or(rejected(reason::BAD_IP_RANGE));
        }
    }
    // The one rule of both sides (filing::provider_check): the outer keeps such a version's
    // payload for the provider's page.
    let needs_provider_check = filing::provider_check::needs_provider_check(version);
    if needs_provider_check {
        local.named_providers = filing::provider_check::named_providers(&version.body)
            .into_iter()
            .map(storable_owned)
            .collect();
    }
    // The one rule of both sides (filing::arrival): the outer shows this state once the
    // bundle's acknowledgement says the version arrived.
    if let Some(state) = filing::arrival::entry_state(version) {
        local.entry_state = state;
    }
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
    match version.body.request() {
        Request::NewFiling { filing, .. } => {
            subject(&mut out, &filing.subject);
            for w in &filing.websites {
                website(&mut out, w);
            }
        }
        Request::Change {
            filing_number,
            change,
            ..
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
        Request::Cancellation {
            filing_number,
            reason,
            ..
        } => out.extend([filing_number, reason]),
        Request::Withdrawal { receipt, reason } => out.extend([receipt, reason]),
        Request::ProviderCheck {
            receipt, decision, ..
        } => {
            out.push(receipt);
            if let ProviderDecision::Return { reason } = decision {
                out.push(reason);
            }
        }
    }
    out.extend(
        version
            .body
            .scans()
            .map(|scan| scan.attachment.media_type.as_str()),
    );
    out
}

/// A provider's name as the store can hold it (a version with a NUL in it is rejected anyway).
fn storable_owned(name: &str) -> String {
    storable(name).into_owned()
}
