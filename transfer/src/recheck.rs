//! The import's re-check of the filing rules (DESIGN.md: "validate at intake, re-check at
//! import").
//!
//! The outer intake refuses every submission that breaks a filing rule before it is ever put in
//! a bundle, so a signed bundle whose records break one means the intake was bypassed or is
//! broken. Such a bundle is quarantined whole with [`BREAKS_FILING_RULE`]: nothing of it is
//! applied, no ledger row is written.
//!
//! The rules re-checked, and those left out on purpose, are the `filing` crate's
//! [`filing::check()`]: the same rule functions the intake uses, written once. This module keeps
//! only what the import makes of them: the first breach of a bundle, with the others counted.

use bundle_format::records::SubmissionVersion;

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
    /// The rule's stable code from the `filing` crate, e.g. `ip.not_public`.
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
    let mut rechecker = Rechecker::default();
    for version in submissions {
        rechecker.see(version);
    }
    rechecker.finish()
}

/// [`recheck`] one version at a time, as a bundle's records are read (the import re-checks
/// them while its verification decodes them, so that they are not read again for it).
#[derive(Debug, Default)]
pub struct Rechecker {
    first: Option<FilingRuleBreach>,
    breaches: usize,
    records_breaking: usize,
    seen: usize,
}

impl Rechecker {
    /// Re-checks the next submission version of the bundle.
    pub fn see(&mut self, version: &SubmissionVersion) {
        let index = self.seen;
        self.seen += 1;
        // Scratch space of the checks, borrowing from this version only.
        let mut listings = Vec::new();
        let before = self.breaches;
        let (first, breaches) = (&mut self.first, &mut self.breaches);
        filing::check_each(&version.body, &mut listings, &mut |field, rule| {
            *breaches += 1;
            if first.is_none() {
                *first = Some(FilingRuleBreach {
                    record: index,
                    receipt: version.receipt.clone(),
                    version: version.version,
                    field: field.to_string(),
                    rule: rule.code.to_owned(),
                    message: rule.message,
                    other_breaches: 0,
                    records_breaking: 0,
                });
            }
        });
        if self.breaches > before {
            self.records_breaking += 1;
        }
    }

    /// How many versions it has seen.
    pub fn seen(&self) -> usize {
        self.seen
    }

    /// The first breach among the versions seen, with the others counted.
    pub fn finish(self) -> Result<(), Box<FilingRuleBreach>> {
        match self.first {
            None => Ok(()),
            Some(mut first) => {
                first.other_breaches = self.breaches - 1;
                first.records_breaking = self.records_breaking;
                Err(Box::new(first))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    use bundle_format::records::{Change, IpRange, Submission, content_hash};

    use super::*;

    /// A submission exactly as the outer intake makes it from the demo's sample filing.
    fn accepted(n: u32) -> SubmissionVersion {
        let request = crate::demo::new_filing(n, "青山网络");
        let body: outer::api::SubmissionBody =
            serde_json::from_value(request["submission"].clone()).unwrap();
        let context = outer::convert::Context {
            access_provider: None,
            max_scan_bytes: filing::scan::DEFAULT_MAX_SCAN_BYTES,
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
