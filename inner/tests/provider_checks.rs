//! The access provider's check done outside, as the import takes it on a real PostgreSQL: a
//! provider the filing names confirms or returns the exact version it was shown; anyone else's
//! check, a check of a version the owner changed since, and a check from another channel are
//! refused and change nothing.

mod common;

use bundle_format::records::{
    ImportOutcome, ProviderDecision, Submission, SubmissionVersion, Website,
};
use common::*;
use inner::import::reason;
use testkit::pg::TestDatabase;
use testkit::records::ACCESS_PROVIDER;

/// Another access provider, which the sample filings do not name.
const OTHER_PROVIDER: &str = "上海云接入有限公司";

const APPLIED: (ImportOutcome, Option<String>) = (ImportOutcome::Applied, None);

fn refused(why: &str) -> (ImportOutcome, Option<String>) {
    (ImportOutcome::Rejected, Some(why.to_owned()))
}

/// `filing` as its owner sent it, without an access provider: it waits for the check.
fn from_owner(mut filing: SubmissionVersion) -> SubmissionVersion {
    filing.access_provider = None;
    filing
}

/// The check of `checked` by `provider` as the outer side sends it (the provider as submitter
/// and access provider), under its own receipt `receipt`.
fn check_by(
    provider: &str,
    receipt: &str,
    checked: &SubmissionVersion,
    decision: ProviderDecision,
) -> SubmissionVersion {
    SubmissionVersion {
        submitter: provider.to_owned(),
        access_provider: Some(provider.to_owned()),
        ..version(
            receipt,
            1,
            Submission::ProviderCheck {
                receipt: checked.receipt.clone(),
                version: checked.version,
                content_hash: checked.content_hash,
                decision,
            },
        )
    }
}

fn returned(reason: &str) -> ProviderDecision {
    ProviderDecision::Return {
        reason: reason.to_owned(),
    }
}

fn state_of(db: &TestDatabase, receipt: &str) -> String {
    db.connect()
        .expect("connect")
        .query_one("SELECT state FROM receipts WHERE receipt = $1", &[&receipt])
        .expect("receipt row")
        .get(0)
}

/// The review events of `receipt` after its arrival: (to state, reviewer, reason).
fn steps_of(db: &TestDatabase, receipt: &str) -> Vec<(String, String, Option<String>)> {
    db.connect()
        .expect("connect")
        .query(
            "SELECT to_state, reviewer, reason FROM review_events
             WHERE receipt = $1 AND from_state IS NOT NULL ORDER BY event_id",
            &[&receipt],
        )
        .expect("review events")
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2)))
        .collect()
}

fn status_changes_queued(db: &TestDatabase) -> i64 {
    count(
        db,
        "SELECT count(*) FROM return_queue WHERE kind = 'status-change'",
    )
}

/// A site of 甲公司 hosted by `provider`.
fn site_of(provider: &str, name: &str, domain: &str, last_octet: u8) -> Website {
    let mut site = website(name, &[domain], last_octet);
    site.access.provider = provider.to_owned();
    site
}

#[test]
fn a_confirmation_by_the_provider_the_filing_names_sends_it_on_to_review() {
    let db = TestDatabase::with_schema().expect("db");
    let filing = from_owner(jia_filing(1, &["jia.example.cn"], 1));
    assert_eq!(
        apply_on(&db, 7, 1, std::slice::from_ref(&filing)),
        [APPLIED]
    );
    assert_eq!(state_of(&db, "R1"), "awaiting-provider-check");
    let queued = status_changes_queued(&db);

    let check = check_by(ACCESS_PROVIDER, "RC1", &filing, ProviderDecision::Confirm);
    assert_eq!(apply_on(&db, 7, 2, &[check]), [APPLIED]);
    assert_eq!(state_of(&db, "R1"), "awaiting-regional-review");
    assert_eq!(
        steps_of(&db, "R1"),
        [(
            "awaiting-regional-review".to_owned(),
            format!("provider:{ACCESS_PROVIDER}"),
            None
        )]
    );
    assert_eq!(
        status_changes_queued(&db),
        queued + 1,
        "the step goes back out"
    );
    // The check is an instruction, not a case of its own.
    assert_eq!(
        count(&db, "SELECT count(*) FROM receipts WHERE receipt = 'RC1'"),
        0
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM submission_versions
             WHERE receipt = 'RC1' AND kind = 'provider-check' AND outcome = 'applied'"
        ),
        1,
        "kept for audit"
    );
}

#[test]
fn a_providers_return_sends_the_filing_back_to_its_owner_with_the_reason() {
    let db = TestDatabase::with_schema().expect("db");
    let filing = from_owner(jia_filing(1, &["jia.example.cn"], 1));
    apply_on(&db, 7, 1, std::slice::from_ref(&filing));

    let check = check_by(
        ACCESS_PROVIDER,
        "RC1",
        &filing,
        returned("203.0.113.1 不是本公司分配的地址"),
    );
    assert_eq!(apply_on(&db, 7, 2, &[check]), [APPLIED]);
    assert_eq!(state_of(&db, "R1"), "returned-to-submitter");
    assert_eq!(
        steps_of(&db, "R1"),
        [(
            "returned-to-submitter".to_owned(),
            format!("provider:{ACCESS_PROVIDER}"),
            Some("203.0.113.1 不是本公司分配的地址".to_owned())
        )]
    );
}

#[test]
fn a_provider_not_named_by_the_filing_cannot_check_it() {
    let db = TestDatabase::with_schema().expect("db");
    let filing = from_owner(jia_filing(1, &["jia.example.cn"], 1));
    apply_on(&db, 7, 1, std::slice::from_ref(&filing));
    let events = count(&db, "SELECT count(*) FROM review_events");

    let check = check_by(OTHER_PROVIDER, "RC1", &filing, ProviderDecision::Confirm);
    assert_eq!(
        apply_on(&db, 7, 2, &[check]),
        [refused(reason::NOT_NAMED_PROVIDER)]
    );
    assert_eq!(state_of(&db, "R1"), "awaiting-provider-check");
    assert_eq!(count(&db, "SELECT count(*) FROM review_events"), events);
}

#[test]
fn an_owner_cannot_check_their_own_filing() {
    let db = TestDatabase::with_schema().expect("db");
    let filing = from_owner(jia_filing(1, &["jia.example.cn"], 1));
    apply_on(&db, 7, 1, std::slice::from_ref(&filing));

    // As itself, and naming the provider as the one it sends through.
    let as_itself = SubmissionVersion {
        access_provider: None,
        ..check_by("owner1", "RC1", &filing, ProviderDecision::Confirm)
    };
    let through_provider = SubmissionVersion {
        submitter: "owner1".to_owned(),
        ..check_by(ACCESS_PROVIDER, "RC2", &filing, ProviderDecision::Confirm)
    };
    assert_eq!(
        apply_on(&db, 7, 2, &[as_itself, through_provider]),
        [
            refused(reason::NOT_NAMED_PROVIDER),
            refused(reason::NOT_NAMED_PROVIDER)
        ]
    );
    assert_eq!(state_of(&db, "R1"), "awaiting-provider-check");
}

#[test]
fn a_check_of_a_version_the_owner_changed_since_is_refused() {
    let db = TestDatabase::with_schema().expect("db");
    let first = from_owner(jia_filing(1, &["jia.example.cn"], 1));
    apply_on(&db, 7, 1, std::slice::from_ref(&first));
    // The owner changes the IP address after the provider was shown version 1.
    let edit = from_owner(jia_filing(2, &["jia.example.cn"], 9));
    apply_on(&db, 7, 2, std::slice::from_ref(&edit));

    let stale = check_by(ACCESS_PROVIDER, "RC1", &first, ProviderDecision::Confirm);
    assert_eq!(
        apply_on(&db, 7, 3, &[stale]),
        [refused(reason::CHECKED_VERSION_OUTDATED)]
    );
    assert_eq!(state_of(&db, "R1"), "awaiting-provider-check");

    // A check of version 2 that travels with the owner's version 3 is outdated too.
    let second = check_by(ACCESS_PROVIDER, "RC2", &edit, ProviderDecision::Confirm);
    let again = from_owner(jia_filing(3, &["jia.example.cn"], 10));
    assert_eq!(
        apply_on(&db, 7, 4, &[second, again]),
        [refused(reason::CHECKED_VERSION_OUTDATED), APPLIED]
    );
    assert_eq!(state_of(&db, "R1"), "awaiting-provider-check");

    // A check naming the current version with another content hash is not of this version.
    let mut forged = check_by(
        ACCESS_PROVIDER,
        "RC3",
        &jia_filing(3, &["jia.example.cn"], 10),
        ProviderDecision::Confirm,
    );
    if let Submission::ProviderCheck { content_hash, .. } = &mut forged.body {
        content_hash[0] ^= 1;
    }
    forged.content_hash = bundle_format::records::content_hash(&forged.body);
    assert_eq!(
        apply_on(&db, 7, 5, &[forged]),
        [refused(reason::CHECKED_VERSION_OUTDATED)]
    );
}

#[test]
fn a_check_from_another_channel_is_refused() {
    let db = TestDatabase::with_schema().expect("db");
    let filing = from_owner(jia_filing(1, &["jia.example.cn"], 1));
    apply_on(&db, 7, 1, std::slice::from_ref(&filing));

    let check = check_by(ACCESS_PROVIDER, "RC1", &filing, ProviderDecision::Confirm);
    assert_eq!(
        apply_on(&db, 8, 1, &[check]),
        [refused(reason::RECEIPT_OF_ANOTHER_CHANNEL)]
    );
    assert_eq!(state_of(&db, "R1"), "awaiting-provider-check");
}

#[test]
fn a_check_of_a_receipt_not_awaiting_it_or_unknown_is_refused() {
    let db = TestDatabase::with_schema().expect("db");
    // Filed through its provider: straight to the regional review.
    let through_provider = jia_filing(1, &["jia.example.cn"], 1);
    apply_on(&db, 7, 1, std::slice::from_ref(&through_provider));
    assert_eq!(state_of(&db, "R1"), "awaiting-regional-review");

    let late = check_by(ACCESS_PROVIDER, "RC1", &through_provider, returned("晚了"));
    let mut unknown = through_provider.clone();
    unknown.receipt = "R-NONE".to_owned();
    let nowhere = check_by(ACCESS_PROVIDER, "RC2", &unknown, ProviderDecision::Confirm);
    assert_eq!(
        apply_on(&db, 7, 2, &[late, nowhere]),
        [
            refused(reason::NOT_AWAITING_PROVIDER_CHECK),
            refused(reason::UNKNOWN_RECEIPT)
        ]
    );
    assert_eq!(state_of(&db, "R1"), "awaiting-regional-review");
}

#[test]
fn a_filing_naming_two_providers_moves_on_once_both_confirmed() {
    let db = TestDatabase::with_schema().expect("db");
    let filing = from_owner(first_version(
        "R1",
        "甲公司",
        "C1",
        REGION_CODE,
        vec![
            site_of(ACCESS_PROVIDER, "甲网", "jia.example.cn", 1),
            site_of(OTHER_PROVIDER, "甲商城", "shop.jia.example.cn", 2),
        ],
    ));
    apply_on(&db, 7, 1, std::slice::from_ref(&filing));

    let first = check_by(ACCESS_PROVIDER, "RC1", &filing, ProviderDecision::Confirm);
    assert_eq!(apply_on(&db, 7, 2, &[first]), [APPLIED]);
    assert_eq!(state_of(&db, "R1"), "awaiting-provider-check");
    assert!(
        steps_of(&db, "R1").is_empty(),
        "no step until both confirmed"
    );

    let again = check_by(ACCESS_PROVIDER, "RC2", &filing, ProviderDecision::Confirm);
    let second = check_by(OTHER_PROVIDER, "RC3", &filing, ProviderDecision::Confirm);
    assert_eq!(
        apply_on(&db, 7, 3, &[again, second]),
        [refused(reason::ALREADY_CHECKED), APPLIED]
    );
    assert_eq!(state_of(&db, "R1"), "awaiting-regional-review");
    assert_eq!(
        steps_of(&db, "R1"),
        [(
            "awaiting-regional-review".to_owned(),
            format!("provider:{OTHER_PROVIDER}"),
            None
        )]
    );
}

#[test]
fn a_version_stored_before_the_providers_were_recorded_is_checked_from_its_record() {
    let db = TestDatabase::with_schema().expect("db");
    let filing = from_owner(jia_filing(1, &["jia.example.cn"], 1));
    apply_on(&db, 7, 1, std::slice::from_ref(&filing));
    // As a store migrated from before migration 17 holds it: no provider rows.
    db.connect()
        .expect("connect")
        .execute("DELETE FROM provider_checks", &[])
        .expect("forget the providers");

    let stranger = check_by(OTHER_PROVIDER, "RC1", &filing, ProviderDecision::Confirm);
    let named = check_by(ACCESS_PROVIDER, "RC2", &filing, ProviderDecision::Confirm);
    assert_eq!(
        apply_on(&db, 7, 2, &[stranger, named]),
        [refused(reason::NOT_NAMED_PROVIDER), APPLIED]
    );
    assert_eq!(state_of(&db, "R1"), "awaiting-regional-review");
}
