//! The rules a signed submission record must meet wherever it is read: the one entry point the
//! import uses to re-check what the intake accepted ("validate at intake, re-check at import").
//!
//! Checked, with the same rule functions the intake uses (nothing is copied):
//! - every domain is well-formed and already in the canonical form the intake stores (what
//!   [`domain_ascii`] makes of it: lower-case punycode, no trailing dot), and no domain is listed
//!   twice in one submission ([`domain::repeated`]);
//! - every IP range is of one family, ordered, not too large and entirely public
//!   ([`parsed_ip_range`]);
//! - every certificate number (the subject's and each principal's) passes
//!   [`certificate_number`] for its type, check characters included;
//! - every region code (the subject's and each server location) is in one of the 31 provinces
//!   ([`region_code_number`]);
//! - every home URL is well-formed ([`home_url`]).
//!
//! Left out on purpose, because they are fuzzy, policy, or depend on data that changes between
//! the two sides' builds: whether a domain's suffix is registrable under the public suffix list
//! (the list is compiled in and its editions differ), placeholder or mixed-script person names,
//! website-name wording ([`crate::website`]), addresses, phone numbers and e-mail addresses,
//! whether the subject's nature fits its certificate type, and whether a home URL's host is among
//! the website's domains. Outcomes that depend on the database (unknown filing numbers, domain
//! conflicts, closed receipts) are the inner side's per-record judgements.
//!
//! A check costs a few small allocations per field while records are in order: field paths are
//! only formatted for the problems a caller keeps ([`check_each`]).

use bundle_format::records::{
    Access, CertificateType, Change, Path, Person, Subject, Submission, Website,
};

use crate::{
    Rule, certificate_number,
    domain::{self, Listing},
    domain_ascii, home_url, parsed_ip_range, region_code_number, rule,
};

/// A rule a submission breaks, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Path of the field, e.g. `submission.body.new_filing.websites[0].access.ip_ranges[1]`.
    pub field: String,
    /// The rule's stable code, e.g. `ip.not_public`.
    pub code: &'static str,
    /// What is wrong, as the intake says it.
    pub message: String,
}

/// Every rule `submission` breaks, in order: field by field, and a submission's duplicate
/// domains after its other fields. Field paths start at `submission.body`.
pub fn check(submission: &Submission) -> Vec<Problem> {
    let mut problems = Vec::new();
    check_each(submission, &mut Vec::new(), &mut |field, rule| {
        problems.push(Problem {
            field: field.to_string(),
            code: rule.code,
            message: rule.message,
        });
    });
    problems
}

/// [`check`] for callers that keep only some problems (the import keeps the first of a bundle
/// and counts the rest): `broken` is called with the field and the rule, and the field's path
/// is formatted only if the caller does so. `listings` is scratch space for the duplicate-domain
/// rule, to reuse across records.
pub fn check_each<'a>(
    submission: &'a Submission,
    listings: &mut Vec<Listing<'a>>,
    broken: &mut dyn FnMut(&Path<'_>, Rule),
) {
    listings.clear();
    let root = Path::Root("submission.body");
    let new_filing_with_scans = root.field("new_filing_with_scans");
    let change_with_scans = root.field("change_with_scans");
    match submission {
        Submission::NewFiling(filing) | Submission::NewFilingWithScans { filing, .. } => {
            let filing_path = match submission {
                Submission::NewFilingWithScans { .. } => new_filing_with_scans.field("filing"),
                _ => root.field("new_filing"),
            };
            subject(broken, &filing_path.field("subject"), &filing.subject);
            let websites = filing_path.field("websites");
            for (w, site) in filing.websites.iter().enumerate() {
                website(broken, &websites.index(w), site, w, listings);
            }
            for (w, i, name) in domain::repeated(listings) {
                broken(
                    &websites.index(w).field("domains").index(i),
                    domain::listed_twice(name),
                );
            }
        }
        Submission::Change { change, .. } | Submission::ChangeWithScans { change, .. } => {
            let change_path = match submission {
                Submission::ChangeWithScans { .. } => change_with_scans.field("change"),
                _ => root.field("change"),
            };
            let site_path = match change {
                Change::Subject(changed) => {
                    subject(broken, &change_path.field("subject"), changed);
                    return;
                }
                Change::Access {
                    access: changed, ..
                } => {
                    access(broken, &change_path.field("access"), changed);
                    return;
                }
                Change::Website {
                    website: changed, ..
                } => (change_path.field("website"), changed),
                Change::AddedWebsite(added) => (change_path.field("added_website"), added),
            };
            let (site_path, changed) = site_path;
            website(broken, &site_path, changed, 0, listings);
            for (_, i, name) in domain::repeated(listings) {
                broken(
                    &site_path.field("domains").index(i),
                    domain::listed_twice(name),
                );
            }
        }
        // Filing numbers and receipts name records inside; whether they exist, and are open, is
        // the inner side's per-record judgement.
        Submission::Cancellation { .. }
        | Submission::Withdrawal { .. }
        | Submission::ProviderCheck { .. } => {}
    }
}

fn checked<T>(broken: &mut dyn FnMut(&Path<'_>, Rule), field: &Path<'_>, result: Result<T, Rule>) {
    if let Err(rule) = result {
        broken(field, rule);
    }
}

fn subject(broken: &mut dyn FnMut(&Path<'_>, Rule), path: &Path<'_>, subject: &Subject) {
    certificate(
        broken,
        &path.field("certificate_number"),
        subject.certificate_type,
        &subject.certificate_number,
    );
    checked(
        broken,
        &path.field("region_code"),
        region_code_number(subject.region_code),
    );
    person(broken, &path.field("principal"), &subject.principal);
}

fn person(broken: &mut dyn FnMut(&Path<'_>, Rule), path: &Path<'_>, person: &Person) {
    certificate(
        broken,
        &path.field("certificate_number"),
        person.certificate_type,
        &person.certificate_number,
    );
}

fn certificate(
    broken: &mut dyn FnMut(&Path<'_>, Rule),
    path: &Path<'_>,
    kind: CertificateType,
    number: &str,
) {
    checked(broken, path, certificate_number(kind, number));
}

fn website<'a>(
    broken: &mut dyn FnMut(&Path<'_>, Rule),
    path: &Path<'_>,
    website: &'a Website,
    website_index: usize,
    listings: &mut Vec<Listing<'a>>,
) {
    let home_urls = path.field("home_urls");
    for (i, url) in website.home_urls.iter().enumerate() {
        checked(broken, &home_urls.index(i), home_url(url));
    }
    let domain_paths = path.field("domains");
    for (i, listed) in website.domains.iter().enumerate() {
        match domain_ascii(listed) {
            Ok(canonical) if canonical == *listed => {
                listings.push((website_index, i, listed.as_str()));
            }
            Ok(canonical) => broken(
                &domain_paths.index(i),
                rule(
                    "domain.not_canonical",
                    format!("{listed:?} is not stored as the intake stores it ({canonical:?})"),
                ),
            ),
            Err(rule) => broken(&domain_paths.index(i), rule),
        }
    }
    access(broken, &path.field("access"), &website.access);
    person(broken, &path.field("principal"), &website.principal);
}

fn access(broken: &mut dyn FnMut(&Path<'_>, Rule), path: &Path<'_>, access: &Access) {
    checked(
        broken,
        &path.field("server_region_code"),
        region_code_number(access.server_region_code),
    );
    let ranges = path.field("ip_ranges");
    for (i, range) in access.ip_ranges.iter().enumerate() {
        checked(broken, &ranges.index(i), parsed_ip_range(range));
    }
}
