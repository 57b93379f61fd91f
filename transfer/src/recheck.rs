//! The import's re-check of the filing rules (DESIGN.md: "validate at intake, re-check at
//! import").
//!
//! The outer intake refuses every submission that breaks a filing rule before it is ever put in
//! a bundle, so a signed bundle whose records break one means the intake was bypassed or is
//! broken. Such a bundle is quarantined whole with [`BREAKS_FILING_RULE`]: nothing of it is
//! applied, no ledger row is written.
//!
//! Re-checked here, with `outer::validate`'s own functions (the rules are not copied):
//! - every domain is well-formed and already in the canonical form the intake stores (what
//!   [`validate::domain_ascii`] makes of it: lower-case punycode, no trailing dot), and no
//!   domain is listed twice in one submission;
//! - every IP range is of one family, ordered, not too large and entirely public
//!   ([`validate::parsed_ip_range`]: no private, reserved, loopback, link-local, documentation
//!   or multicast space);
//! - every certificate number (the subject's and each principal's) passes
//!   [`validate::certificate_number`] for its type, check characters included;
//! - every region code (the subject's and each server location) is in one of the 31 provinces
//!   ([`validate::region_code_number`]);
//! - every home URL is well-formed ([`validate::home_url`]).
//!
//! Left out on purpose, because they are fuzzy, policy, or depend on data that changes between
//! the two sides' builds: whether a domain's suffix is registrable under the public suffix list
//! (the list is compiled in and its editions differ), placeholder or mixed-script person names,
//! website-name wording (public-affairs and company words, "中国"/"中华", pre-approval words),
//! addresses, phone numbers and e-mail addresses, whether the subject's nature fits its
//! certificate type, and whether a home URL's host is among the website's domains. Outcomes that
//! depend on the database (unknown filing numbers, domain conflicts, closed receipts) stay the
//! inner side's per-record rejections.
//!
//! The check costs a few small allocations per field inside `outer::validate` and nothing
//! else while records are in order: field paths and messages are only built for the first
//! breach, and the scratch list for duplicate domains is reused across records.

use bundle_format::records::{
    Access, CertificateType, Change, Path, Person, Subject, Submission, SubmissionVersion, Website,
};
use outer::validate::{self, Rule};

/// The quarantine code of a bundle whose records break a filing rule.
pub const BREAKS_FILING_RULE: &str = "record.breaks-filing-rule";

/// The first filing rule a bundle's records break, in the order they are checked (record by
/// record, each field in order, duplicate domains after a submission's other fields), and how
/// many more breaches there are.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FilingRuleBreach {
    /// Index of the record in the bundle, from 0.
    pub record: usize,
    /// Its receipt.
    pub receipt: String,
    /// Its version.
    pub version: u32,
    /// Path of the field, e.g. `submission.body.new_filing.websites[0].access.ip_ranges[1]`.
    pub field: String,
    /// The rule's stable code from `outer::validate`, e.g. `ip.not_public`.
    pub rule: String,
    /// What is wrong, as the intake would have said it.
    pub message: String,
    /// Further breaches in the bundle after this one.
    pub other_breaches: usize,
    /// Records of the bundle that break at least one rule, this one included.
    pub records_breaking: usize,
}

impl std::fmt::Display for FilingRuleBreach {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "record {} (receipt {}, version {}) breaks a filing rule at {}: {}: {}",
            self.record, self.receipt, self.version, self.field, self.rule, self.message
        )?;
        if self.other_breaches > 0 {
            write!(
                f,
                "; {} more breach(es) in {} record(s) in all",
                self.other_breaches, self.records_breaking
            )?;
        }
        f.write_str(
            "; the outer intake refuses such records, so it was bypassed or is broken: \
             nothing of this bundle was applied",
        )
    }
}

/// Re-checks every submission of a bundle, in bundle order; returns the first breach, with the
/// others counted.
pub fn recheck(submissions: &[SubmissionVersion]) -> Result<(), Box<FilingRuleBreach>> {
    let mut found = Found::default();
    let mut domains = Vec::new();
    for (index, version) in submissions.iter().enumerate() {
        let before = found.breaches;
        let at = At { index, version };
        submission(&mut found, &at, &version.body, &mut domains);
        if found.breaches > before {
            found.records += 1;
        }
    }
    match found.first {
        None => Ok(()),
        Some(mut first) => {
            first.other_breaches = found.breaches - 1;
            first.records_breaking = found.records;
            Err(Box::new(first))
        }
    }
}

/// What has been found so far.
#[derive(Default)]
struct Found {
    first: Option<FilingRuleBreach>,
    breaches: usize,
    records: usize,
}

/// The record being checked.
struct At<'a> {
    index: usize,
    version: &'a SubmissionVersion,
}

impl Found {
    fn breach(&mut self, at: &At<'_>, field: &Path<'_>, rule: Rule) {
        self.breaches += 1;
        if self.first.is_none() {
            self.first = Some(FilingRuleBreach {
                record: at.index,
                receipt: at.version.receipt.clone(),
                version: at.version.version,
                field: field.to_string(),
                rule: rule.code.to_owned(),
                message: rule.message,
                other_breaches: 0,
                records_breaking: 0,
            });
        }
    }

    fn check<T>(&mut self, at: &At<'_>, field: &Path<'_>, result: Result<T, Rule>) {
        if let Err(rule) = result {
            self.breach(at, field, rule);
        }
    }
}

/// A domain seen in the submission being checked: the text, its website and its index there.
type SeenDomain<'a> = (&'a str, usize, usize);

fn submission<'a>(
    found: &mut Found,
    at: &At<'_>,
    body: &'a Submission,
    domains: &mut Vec<SeenDomain<'a>>,
) {
    domains.clear();
    let root = Path::Root("submission.body");
    match body {
        Submission::NewFiling(filing) => {
            let filing_path = root.field("new_filing");
            subject(found, at, &filing_path.field("subject"), &filing.subject);
            let websites = filing_path.field("websites");
            for (w, site) in filing.websites.iter().enumerate() {
                website(found, at, &websites.index(w), site, w, domains);
            }
            duplicate_domains(domains, |w, i, rule| {
                found.breach(at, &websites.index(w).field("domains").index(i), rule);
            });
        }
        Submission::Change { change, .. } => {
            let change_path = root.field("change");
            match change {
                Change::Subject(changed) => {
                    subject(found, at, &change_path.field("subject"), changed);
                }
                Change::Website {
                    website: changed, ..
                } => {
                    let site_path = change_path.field("website");
                    website(found, at, &site_path, changed, 0, domains);
                    duplicate_domains(domains, |_, i, rule| {
                        found.breach(at, &site_path.field("domains").index(i), rule);
                    });
                }
                Change::Access {
                    access: changed, ..
                } => access(found, at, &change_path.field("access"), changed),
                Change::AddedWebsite(added) => {
                    let site_path = change_path.field("added_website");
                    website(found, at, &site_path, added, 0, domains);
                    duplicate_domains(domains, |_, i, rule| {
                        found.breach(at, &site_path.field("domains").index(i), rule);
                    });
                }
            }
        }
        // Filing numbers and receipts name records inside; whether they exist, and are open, is
        // the inner side's per-record judgement.
        Submission::Cancellation { .. } | Submission::Withdrawal { .. } => {}
    }
}

fn subject(found: &mut Found, at: &At<'_>, path: &Path<'_>, subject: &Subject) {
    certificate(
        found,
        at,
        &path.field("certificate_number"),
        subject.certificate_type,
        &subject.certificate_number,
    );
    found.check(
        at,
        &path.field("region_code"),
        validate::region_code_number(subject.region_code),
    );
    person(found, at, &path.field("principal"), &subject.principal);
}

fn person(found: &mut Found, at: &At<'_>, path: &Path<'_>, person: &Person) {
    certificate(
        found,
        at,
        &path.field("certificate_number"),
        person.certificate_type,
        &person.certificate_number,
    );
}

fn certificate(
    found: &mut Found,
    at: &At<'_>,
    path: &Path<'_>,
    kind: CertificateType,
    number: &str,
) {
    found.check(at, path, validate::certificate_number(kind, number));
}

fn website<'a>(
    found: &mut Found,
    at: &At<'_>,
    path: &Path<'_>,
    website: &'a Website,
    website_index: usize,
    domains: &mut Vec<SeenDomain<'a>>,
) {
    let home_urls = path.field("home_urls");
    for (i, url) in website.home_urls.iter().enumerate() {
        found.check(at, &home_urls.index(i), validate::home_url(url));
    }
    let domain_paths = path.field("domains");
    for (i, domain) in website.domains.iter().enumerate() {
        match validate::domain_ascii(domain) {
            Ok(canonical) if canonical == *domain => {
                domains.push((domain.as_str(), website_index, i));
            }
            Ok(canonical) => found.breach(
                at,
                &domain_paths.index(i),
                Rule {
                    code: "domain.not_canonical",
                    message: format!(
                        "{domain:?} is not stored as the intake stores it ({canonical:?})"
                    ),
                },
            ),
            Err(rule) => found.breach(at, &domain_paths.index(i), rule),
        }
    }
    access(found, at, &path.field("access"), &website.access);
    person(found, at, &path.field("principal"), &website.principal);
}

fn access(found: &mut Found, at: &At<'_>, path: &Path<'_>, access: &Access) {
    found.check(
        at,
        &path.field("server_region_code"),
        validate::region_code_number(access.server_region_code),
    );
    let ranges = path.field("ip_ranges");
    for (i, range) in access.ip_ranges.iter().enumerate() {
        found.check(at, &ranges.index(i), validate::parsed_ip_range(range));
    }
}

/// Calls `breach(website, index, rule)` for every later listing of a domain already listed in
/// the submission (the intake's `domain.duplicate`). Sorting keeps this linear-logarithmic for
/// the largest filings (64 websites of 256 domains).
fn duplicate_domains(domains: &mut [SeenDomain<'_>], mut breach: impl FnMut(usize, usize, Rule)) {
    if domains.len() < 2 {
        return;
    }
    domains.sort_unstable();
    for pair in domains.windows(2) {
        let (domain, website, index) = pair[1];
        if pair[0].0 == domain {
            breach(
                website,
                index,
                Rule {
                    code: "domain.duplicate",
                    message: format!("{domain} is listed twice in this filing"),
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    use bundle_format::records::{IpRange, content_hash};

    use super::*;

    /// A submission exactly as the outer intake makes it from the demo's sample filing.
    fn accepted(n: u32) -> SubmissionVersion {
        let request = crate::demo::new_filing(n, "青山网络");
        let body: outer::api::SubmissionBody =
            serde_json::from_value(request["submission"].clone()).unwrap();
        let context = outer::convert::Context {
            access_provider: None,
        };
        let body = outer::convert::submission(&body, &context).unwrap();
        SubmissionVersion {
            receipt: format!("R20261122-{n:08}"),
            version: 1,
            content_hash: content_hash(&body),
            submitted_at: 1_795_305_600,
            submitter: "owner".to_owned(),
            access_provider: None,
            body,
        }
    }

    fn filing(version: &mut SubmissionVersion) -> &mut bundle_format::records::Filing {
        match &mut version.body {
            Submission::NewFiling(filing) => filing,
            _ => unreachable!("the sample is a new filing"),
        }
    }

    fn broken(change: impl FnOnce(&mut bundle_format::records::Filing)) -> FilingRuleBreach {
        let mut version = accepted(7);
        change(filing(&mut version));
        *recheck(&[accepted(1), version]).unwrap_err()
    }

    #[test]
    fn what_the_intake_accepts_passes() {
        let bundle: Vec<_> = (1..50).map(accepted).collect();
        recheck(&bundle).unwrap();
    }

    #[test]
    fn a_private_range_is_named_with_its_record_and_field() {
        let breach = broken(|f| {
            f.websites[0].access.ip_ranges[0] = IpRange {
                first: IpAddr::V4(Ipv4Addr::new(192, 168, 1, 10)),
                last: IpAddr::V4(Ipv4Addr::new(192, 168, 1, 20)),
            };
        });
        assert_eq!(breach.record, 1);
        assert_eq!(breach.receipt, "R20261122-00000007");
        assert_eq!(breach.version, 1);
        assert_eq!(
            breach.field,
            "submission.body.new_filing.websites[0].access.ip_ranges[0]"
        );
        assert_eq!(breach.rule, "ip.not_public");
        assert!(breach.message.contains("192.168.1.10-192.168.1.20"));
        assert_eq!((breach.other_breaches, breach.records_breaking), (0, 1));
    }

    #[test]
    fn loopback_reversed_and_mixed_ranges_are_refused() {
        let loopback = IpAddr::V6(Ipv6Addr::LOCALHOST);
        let v4 = |d| IpAddr::V4(Ipv4Addr::new(202, 96, 128, d));
        for (range, rule) in [
            ((loopback, loopback), "ip.not_public"),
            ((v4(20), v4(10)), "ip.reversed"),
            ((v4(1), loopback), "ip.mixed_families"),
        ] {
            let breach = broken(|f| {
                f.websites[0].access.ip_ranges[0] = IpRange {
                    first: range.0,
                    last: range.1,
                };
            });
            assert_eq!(breach.rule, rule);
        }
    }

    #[test]
    fn domains_must_be_well_formed_canonical_and_listed_once() {
        let malformed = broken(|f| f.websites[0].domains[1] = "bad_domain..cn".to_owned());
        assert_eq!(
            malformed.field,
            "submission.body.new_filing.websites[0].domains[1]"
        );
        assert_eq!(malformed.rule, "domain.invalid");
        let upper = broken(|f| f.websites[0].domains[0] = "QINGSHAN7.CN".to_owned());
        assert_eq!(upper.rule, "domain.not_canonical");
        let twice = broken(|f| {
            let mut second = f.websites[0].clone();
            second.domains = vec!["other7.cn".to_owned(), f.websites[0].domains[0].clone()];
            f.websites.push(second);
        });
        assert_eq!(twice.rule, "domain.duplicate");
        assert_eq!(
            twice.field,
            "submission.body.new_filing.websites[1].domains[1]"
        );
        // The public suffix list is not consulted: its edition may differ inside.
        let mut version = accepted(7);
        filing(&mut version).websites[0].domains[0] = "qingshan7.notatld".to_owned();
        recheck(&[version]).unwrap();
    }

    #[test]
    fn check_characters_regions_and_home_urls() {
        let credit = broken(|f| {
            let number = &mut f.subject.certificate_number;
            let wrong = if number.ends_with('0') { "1" } else { "0" };
            number.replace_range(17.., wrong);
        });
        assert_eq!(
            credit.field,
            "submission.body.new_filing.subject.certificate_number"
        );
        assert_eq!(credit.rule, "uscc.check_digit");
        let resident = broken(|f| {
            f.websites[0].principal.certificate_number = "110105194912310021".to_owned();
        });
        assert_eq!(
            resident.field,
            "submission.body.new_filing.websites[0].principal.certificate_number"
        );
        assert_eq!(resident.rule, "resident_id.check_digit");
        let region = broken(|f| f.websites[0].access.server_region_code = 810_000);
        assert_eq!(region.rule, "region_code.province");
        let url = broken(|f| f.websites[0].home_urls[0] = "ftp://qingshan7.cn/".to_owned());
        assert_eq!(url.rule, "url.invalid");
    }

    #[test]
    fn the_first_breach_is_named_and_the_others_counted() {
        let mut first = accepted(2);
        filing(&mut first).subject.region_code = 990_000;
        filing(&mut first).websites[0].domains[0] = "Qingshan2.cn".to_owned();
        let mut third = accepted(3);
        filing(&mut third).websites[0].access.ip_ranges[0].first = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let breach = *recheck(&[accepted(1), first, accepted(4), third]).unwrap_err();
        assert_eq!(breach.record, 1);
        assert_eq!(
            breach.field,
            "submission.body.new_filing.subject.region_code"
        );
        assert_eq!(breach.rule, "region_code.province");
        assert_eq!((breach.other_breaches, breach.records_breaking), (2, 2));
        let text = breach.to_string();
        assert!(
            text.contains("record 1 (receipt R20261122-00000002, version 1)"),
            "{text}"
        );
        assert!(text.contains("2 more breach(es) in 2 record(s)"), "{text}");
    }

    #[test]
    fn changes_are_rechecked_and_cancellations_pass() {
        let site = match accepted(5).body {
            Submission::NewFiling(filing) => filing.websites[0].clone(),
            _ => unreachable!(),
        };
        let mut access = site.access.clone();
        access.ip_ranges[0].first = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        access.ip_ranges[0].last = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        let mut version = accepted(5);
        version.body = Submission::Change {
            filing_number: "浙ICP备2026000123号".to_owned(),
            change: Change::Access {
                website_number: "浙ICP备2026000123号-1".to_owned(),
                access,
            },
        };
        let breach = *recheck(&[version.clone()]).unwrap_err();
        assert_eq!(breach.field, "submission.body.change.access.ip_ranges[0]");
        version.body = Submission::Change {
            filing_number: "浙ICP备2026000123号".to_owned(),
            change: Change::AddedWebsite(site),
        };
        recheck(&[version.clone()]).unwrap();
        version.body = Submission::Withdrawal {
            receipt: "R20261122-00000004".to_owned(),
            reason: "提交有误".to_owned(),
        };
        recheck(&[version]).unwrap();
    }
}
