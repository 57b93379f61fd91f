//! Who may add to a receipt, on a real PostgreSQL: only the channel whose signed bundle created
//! it, and a withdrawal only while no reviewer has it (DESIGN.md invariant 8).

mod common;

use bundle_format::records::{ImportOutcome, ReviewState, Submission, SubmissionVersion};
use common::*;
use inner::import::reason;
use testkit::pg::TestDatabase;

/// The channel [`common`]'s bundles come on, the owner's.
const OWNER: u32 = 7;
/// Another intake node's channel.
const STRANGER: u32 = 8;

fn refused(why: &str) -> (ImportOutcome, Option<String>) {
    (ImportOutcome::Rejected, Some(why.to_owned()))
}

/// Receipt `receipt`'s review state and the version it is on.
fn receipt_state(db: &TestDatabase, receipt: &str) -> (String, i64) {
    let row = db
        .connect()
        .expect("connect")
        .query_one(
            "SELECT state, version FROM receipts WHERE receipt = $1",
            &[&receipt],
        )
        .expect("receipt row");
    (row.get(0), row.get(1))
}

fn withdrawal(receipt: &str, target: &str) -> SubmissionVersion {
    version(
        receipt,
        1,
        Submission::Withdrawal {
            receipt: target.to_owned(),
            reason: "不再需要".to_owned(),
        },
    )
}

#[test]
fn a_version_from_another_channel_is_refused_and_the_owners_next_edit_still_applies() {
    let db = TestDatabase::with_schema().expect("db");
    apply_on(&db, OWNER, 1, &[jia_filing(1, &["jia.example.cn"], 1)]);

    // Another channel's version 2 of the owner's receipt, and the same again as version 5.
    let planted = jia_filing(2, &["jia.example.cn", "attacker.example.cn"], 9);
    let far_ahead = jia_filing(5, &["attacker.example.cn"], 9);
    assert_eq!(
        apply_on(&db, STRANGER, 1, &[planted, far_ahead]),
        [
            refused(reason::RECEIPT_OF_ANOTHER_CHANNEL),
            refused(reason::RECEIPT_OF_ANOTHER_CHANNEL)
        ]
    );
    assert_eq!(
        receipt_state(&db, "R1"),
        ("awaiting-regional-review".to_owned(), 1)
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM submission_versions WHERE receipt = 'R1' AND outcome = 'rejected'"
        ),
        2,
        "kept for audit"
    );

    // The owner's own version 2, with other content than the stranger's: neither a hash
    // conflict nor superseded by the stranger's version 5.
    let edit = jia_filing(2, &["jia.example.cn", "www.jia.example.cn"], 1);
    assert_eq!(
        apply_on(&db, OWNER, 2, &[edit]),
        [(ImportOutcome::Applied, None)]
    );
    assert_eq!(
        receipt_state(&db, "R1"),
        ("awaiting-regional-review".to_owned(), 2)
    );
    assert_eq!(
        show(&db, "R1").websites[0].domains,
        ["jia.example.cn", "www.jia.example.cn"]
    );
}

#[test]
fn a_withdrawal_from_another_channel_is_refused_and_changes_nothing() {
    let db = TestDatabase::with_schema().expect("db");
    let mut direct = jia_filing(1, &["jia.example.cn"], 1);
    // Filed by the owner directly: it waits for the provider's check, where the owner itself
    // could still withdraw it.
    direct.access_provider = None;
    apply_on(&db, OWNER, 1, &[direct]);
    let before = receipt_state(&db, "R1");
    assert_eq!(before.0, "awaiting-provider-check");
    let events = count(&db, "SELECT count(*) FROM review_events");

    assert_eq!(
        apply_on(&db, STRANGER, 1, &[withdrawal("R-EVIL", "R1")]),
        [refused(reason::RECEIPT_OF_ANOTHER_CHANNEL)]
    );
    assert_eq!(receipt_state(&db, "R1"), before);
    assert_eq!(count(&db, "SELECT count(*) FROM review_events"), events);

    // The owner's own channel may.
    assert_eq!(
        apply_on(&db, OWNER, 2, &[withdrawal("R2", "R1")]),
        [(ImportOutcome::Applied, None)]
    );
    assert_eq!(receipt_state(&db, "R1").0, "withdrawn");
}

#[test]
fn a_withdrawal_of_a_receipt_under_regional_review_is_refused_inside_too() {
    let db = TestDatabase::with_schema().expect("db");
    let mut direct = one_site_filing("R2", "乙公司", "C2", "乙网", &["yi.example.cn"], 2);
    direct.access_provider = None;
    apply_on(
        &db,
        OWNER,
        1,
        &[jia_filing(1, &["jia.example.cn"], 1), direct],
    );
    assert_eq!(receipt_state(&db, "R1").0, "awaiting-regional-review");
    // R2 passes the provider's check: a reviewer has acted on it.
    let mut client = db.connect().expect("connect");
    let mut tx = client.transaction().expect("begin");
    let passed = inner::review::approve(&mut tx, "R2", &ministry(&db), None, &signer(), NOW)
        .expect("provider check");
    tx.commit().expect("commit");
    assert_eq!(passed.to, ReviewState::AwaitingRegionalReview);

    assert_eq!(
        apply_on(
            &db,
            OWNER,
            2,
            &[withdrawal("R3", "R1"), withdrawal("R4", "R2")]
        ),
        [
            refused(reason::RECEIPT_UNDER_REVIEW),
            refused(reason::RECEIPT_UNDER_REVIEW)
        ]
    );
    assert_eq!(receipt_state(&db, "R1").0, "awaiting-regional-review");
    assert_eq!(receipt_state(&db, "R2").0, "awaiting-regional-review");
}

/// A change of `filing_number` adding a website, as `receipt` version 1, submitted by
/// `submitter` (through `access_provider`, if any).
fn added_website(
    receipt: &str,
    filing_number: &str,
    submitter: &str,
    access_provider: Option<&str>,
    last_octet: u8,
) -> SubmissionVersion {
    let mut change = version(
        receipt,
        1,
        Submission::Change {
            filing_number: filing_number.to_owned(),
            change: bundle_format::records::Change::AddedWebsite(website(
                "新增网站",
                &[&format!("site{last_octet}.example.cn")],
                last_octet,
            )),
        },
    );
    change.submitter = submitter.to_owned();
    change.access_provider = access_provider.map(str::to_owned);
    change
}

#[test]
fn a_change_by_anyone_but_the_filer_is_refused_inside_whatever_name_it_types() {
    let db = TestDatabase::with_schema().expect("db");
    // R1 filed by the access provider bjcloud for its customer "owner1" (a name typed in);
    // R2 filed by the account "owner2" directly.
    let mut direct = one_site_filing("R2", "乙公司", "C2", "乙网", &["yi.example.cn"], 2);
    direct.submitter = "owner2".to_owned();
    direct.access_provider = None;
    apply_on(
        &db,
        OWNER,
        1,
        &[jia_filing(1, &["jia.example.cn"], 1), direct],
    );
    let through_provider = approve(&db, "R1").filing_number.expect("number");
    // R2 passes its provider check, then the authority's review.
    let mut client = db.connect().expect("connect");
    let mut tx = client.transaction().expect("begin");
    inner::review::approve(&mut tx, "R2", &ministry(&db), None, &signer(), NOW).expect("check");
    tx.commit().expect("commit");
    let direct_number = approve(&db, "R2").filing_number.expect("number");

    let refused_for_owner = refused(reason::FILING_OF_ANOTHER_OWNER);
    assert_eq!(
        apply_on(
            &db,
            OWNER,
            2,
            &[
                // Another access provider, and the customer's own account typing its name.
                added_website("R10", &through_provider, "owner1", Some("otherisp"), 10),
                added_website("R11", &through_provider, "owner1", None, 11),
                // Someone else directly, and a provider typing the owner's name.
                added_website("R12", &direct_number, "mallory", None, 12),
                added_website("R13", &direct_number, "owner2", Some("bjcloud"), 13),
                // The filers themselves.
                added_website("R14", &through_provider, "owner1", Some("bjcloud"), 14),
                added_website("R15", &direct_number, "owner2", None, 15),
            ]
        ),
        [
            refused_for_owner.clone(),
            refused_for_owner.clone(),
            refused_for_owner.clone(),
            refused_for_owner.clone(),
            (ImportOutcome::Applied, None),
            (ImportOutcome::Applied, None),
        ]
    );
    // The filer itself on another channel is someone else.
    assert_eq!(
        apply_on(
            &db,
            STRANGER,
            1,
            &[added_website(
                "R16",
                &through_provider,
                "owner1",
                Some("bjcloud"),
                16
            )]
        ),
        [refused_for_owner]
    );
}
