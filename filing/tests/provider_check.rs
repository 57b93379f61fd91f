//! Which submissions wait for the access provider's check, and which provider accounts may do
//! it: the one rule both sides use.

use bundle_format::records::{CancellationScope, Change, Submission, SubmissionVersion};
use filing::provider_check::{may_check, named_providers, needs_provider_check};
use testkit::records::{ACCESS_PROVIDER, new_filing, version, website};

/// A filing of two websites on [`ACCESS_PROVIDER`]'s cloud and one on `provider_2`'s.
fn three_sites_two_providers() -> Submission {
    let mut other = website("第三站", &["c.example.cn"], 3);
    other.access.provider = "provider_2".to_owned();
    new_filing(
        "北京示例科技有限公司",
        &testkit::records::credit_code("91110108", 1),
        110108,
        vec![
            website("第一站", &["a.example.cn"], 1),
            website("第二站", &["b.example.cn"], 2),
            other,
        ],
    )
}

fn from_owner(body: Submission) -> SubmissionVersion {
    SubmissionVersion {
        access_provider: None,
        ..version("R1", 1, body)
    }
}

#[test]
fn an_owners_filing_waits_for_every_provider_it_names_each_named_once() {
    let body = three_sites_two_providers();
    assert_eq!(named_providers(&body), [ACCESS_PROVIDER, "provider_2"]);
    assert!(needs_provider_check(&from_owner(body.clone())));
    assert!(may_check(&body, "provider_2"));
    assert!(!may_check(&body, "provider_3"));
}

#[test]
fn a_filing_its_provider_sent_waits_for_no_check() {
    let sent = version("R1", 1, three_sites_two_providers());
    assert!(sent.access_provider.is_some());
    assert!(!needs_provider_check(&sent));
}

#[test]
fn only_changes_that_bring_access_details_wait_for_the_check() {
    let site = website("第一站", &["a.example.cn"], 1);
    let access_change = Submission::Change {
        filing_number: "京ICP备2026000001号".to_owned(),
        change: Change::Access {
            website_number: "京ICP备2026000001号-1".to_owned(),
            access: site.access.clone(),
        },
    };
    assert!(needs_provider_check(&from_owner(access_change)));
    let added = Submission::Change {
        filing_number: "京ICP备2026000001号".to_owned(),
        change: Change::AddedWebsite(site),
    };
    assert!(needs_provider_check(&from_owner(added)));
    let subject_change = Submission::Change {
        filing_number: "京ICP备2026000001号".to_owned(),
        change: Change::Subject(testkit::records::subject(
            "北京示例科技有限公司",
            &testkit::records::credit_code("91110108", 1),
            110108,
        )),
    };
    let cancellation = Submission::Cancellation {
        filing_number: "京ICP备2026000001号".to_owned(),
        scope: CancellationScope::Subject,
        reason: "closing".to_owned(),
    };
    for body in [subject_change, cancellation] {
        assert!(named_providers(&body).is_empty());
        assert!(!needs_provider_check(&from_owner(body)));
    }
}
