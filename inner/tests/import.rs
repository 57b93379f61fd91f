//! Applying submissions bundles to a real PostgreSQL: outcomes, versions, replays, failures.

mod common;

use bundle_format::records::{
    CancellationScope, Change, ImportOutcome, Record, ReviewState, Submission,
};
use common::*;
use inner::import::{ApplyError, ApplyStatus, IncomingBundle, apply_bundle, reason};
use inner::review;
use testkit::pg::TestDatabase;

/// An outcome with its reason, as [`outcome_of`] gives it.
fn with_reason(outcome: ImportOutcome, reason: &str) -> (ImportOutcome, Option<String>) {
    (outcome, Some(reason.to_owned()))
}

fn outcome_of(
    report: &inner::import::ApplyReport,
    receipt: &str,
    version: u32,
) -> (ImportOutcome, Option<String>) {
    let ack = report
        .outcomes
        .iter()
        .find(|a| a.receipt == receipt && a.version == version)
        .expect("outcome listed");
    (ack.outcome, ack.reason.clone())
}

#[test]
fn new_filings_are_stored_with_their_websites_and_acked() {
    let db = TestDatabase::with_schema().expect("db");
    let submissions = vec![
        first_version(
            "R1",
            "北京甲科技有限公司",
            "91110108MA00000001",
            110_108,
            vec![
                website("甲官网", &["jia.example.cn", "www.jia.example.cn"], 1),
                website("甲商城", &["shop.jia.example.cn"], 2),
            ],
        ),
        first_version(
            "R2",
            "广州乙贸易有限公司",
            "91440101MA00000002",
            440_106,
            vec![website("乙官网", &["yi.example.cn"], 3)],
        ),
    ];
    let report = apply_at(&db, 1, &submissions);
    assert_eq!(report.status, ApplyStatus::Applied);
    assert_eq!(report.count(ImportOutcome::Applied), 2);
    // A reviewer sees each filing with its websites, read from the stored bundle.
    let r1 = show(&db, "R1");
    assert_eq!(r1.organiser.as_deref(), Some("北京甲科技有限公司"));
    assert_eq!(r1.entry.filing_number, None);
    assert_eq!(
        shown_websites(&db, "R1"),
        [
            (
                "pending".to_owned(),
                vec!["jia.example.cn".to_owned(), "www.jia.example.cn".to_owned()]
            ),
            ("pending".to_owned(), vec!["shop.jia.example.cn".to_owned()]),
        ]
    );
    assert_eq!(
        shown_websites(&db, "R2"),
        [("pending".to_owned(), vec!["yi.example.cn".to_owned()])]
    );
    let ip_ranges: usize = ["R1", "R2"]
        .iter()
        .flat_map(|r| show(&db, r).websites)
        .map(|w| w.ip_ranges.len())
        .sum();
    assert_eq!(ip_ranges, 3);
    assert_eq!(count(&db, "SELECT count(*) FROM submission_versions"), 2);
    // Nothing is normalised before approval: those tables hold approved filings only.
    for table in [
        "filings",
        "subject_records",
        "website_records",
        "website_domains",
    ] {
        assert_eq!(rows_in(&db, table), 0, "{table}");
    }
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM receipts WHERE province = 44 AND state = 'awaiting-regional-review'"
        ),
        1
    );
    // The bundle's message is stored once, and the version's record in it decodes back to
    // exactly what arrived.
    let mut client = db.connect().unwrap();
    let row = client
        .query_one(
            "SELECT b.message, v.bundle_position, v.encoded IS NULL
             FROM submission_versions v JOIN bundles b USING (bundle_id) WHERE v.receipt = 'R1'",
            &[],
        )
        .unwrap();
    let message: Vec<u8> = row.get(0);
    let position: i32 = row.get(1);
    assert!(row.get::<_, bool>(2), "no second copy of the version");
    let (header, payload) =
        bundle_format::Header::parse(&message, bundle_format::header::MAX_CONTENT_BYTES).unwrap();
    let content =
        bundle_format::payload::decompress(payload, header.content_length, &header.content_sha256)
            .unwrap();
    let records = bundle_format::payload::decode_records(&content, header.kind).unwrap();
    assert_eq!(
        records[usize::try_from(position).unwrap()],
        Record::Submission(submissions[0].clone())
    );
    // One ack is queued, for both versions with their hashes, with the import's time: it
    // stands for their arrivals, so no review event is written and no status change queued
    // for them (arrivals as state, bundle format version 11).
    let pending = inner::returns::pending_returns(&mut client, 100).unwrap();
    assert_eq!(pending.entries.len(), 1, "{:?}", pending.entries);
    let Record::ArrivalAck(arrival) = &pending.entries[0].record else {
        panic!(
            "the ack goes out with its import time: {:?}",
            pending.entries
        )
    };
    assert_eq!(arrival.imported_at, NOW);
    assert_eq!(arrival.ack.sequence, 1);
    assert_eq!(arrival.ack.members, 2);
    assert_eq!(
        arrival.ack.members_digest,
        bundle_format::records::members_digest(submissions.iter().map(|v| (
            v.receipt.as_str(),
            v.version,
            &v.content_hash
        )))
    );
    assert!(
        arrival.ack.exceptions.is_empty(),
        "{:?}",
        arrival.ack.exceptions
    );
    assert_eq!(rows_in(&db, "review_events"), 0);
    // Each version row records the state it entered, the one rule's (filing::arrival).
    let entered: Vec<(String, Option<String>, Option<String>)> = client
        .query(
            "SELECT receipt, prev_state, entry_state FROM submission_versions ORDER BY receipt",
            &[],
        )
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2)))
        .collect();
    assert_eq!(
        entered,
        [
            ("R1".into(), None, Some("awaiting-regional-review".into())),
            ("R2".into(), None, Some("awaiting-regional-review".into()))
        ]
    );
    for (version, entered) in submissions.iter().zip(&entered) {
        assert_eq!(
            filing::arrival::entry_state(version).map(|s| format!("{s:?}")),
            Some("AwaitingRegionalReview".to_owned()),
            "both sides decide {} alike",
            entered.0
        );
    }
}

#[test]
fn replayed_bundle_is_a_no_op_that_says_so() {
    let db = TestDatabase::with_schema().expect("db");
    let submissions = vec![jia_filing(1, &["jia.example.cn"], 1)];
    apply_at(&db, 1, &submissions);
    let before = count(&db, "SELECT count(*) FROM return_queue")
        + count(&db, "SELECT count(*) FROM submission_versions")
        + count(&db, "SELECT count(*) FROM review_events");
    let again = apply_at(&db, 1, &submissions);
    assert_eq!(
        again.status,
        ApplyStatus::AlreadyApplied { imported_at: NOW }
    );
    let after = count(&db, "SELECT count(*) FROM return_queue")
        + count(&db, "SELECT count(*) FROM submission_versions")
        + count(&db, "SELECT count(*) FROM review_events");
    assert_eq!(before, after, "a replay changes nothing");
}

#[test]
fn resent_version_in_a_new_bundle_is_already_applied() {
    let db = TestDatabase::with_schema().expect("db");
    let submissions = vec![jia_filing(1, &["jia.example.cn"], 1)];
    apply_at(&db, 1, &submissions);
    let report = apply_at(&db, 2, &submissions);
    assert_eq!(
        outcome_of(&report, "R1", 1),
        with_reason(ImportOutcome::AlreadyApplied, reason::ALREADY_APPLIED)
    );
    assert_eq!(count(&db, "SELECT count(*) FROM submission_versions"), 1);
    assert_eq!(
        shown_websites(&db, "R1"),
        [("pending".to_owned(), vec!["jia.example.cn".to_owned()])]
    );
}

#[test]
fn older_version_after_newer_never_rolls_back() {
    let db = TestDatabase::with_schema().expect("db");
    let v1 = jia_filing(1, &["old.example.cn"], 1);
    let v2 = jia_filing(2, &["new.example.cn", "www.new.example.cn"], 9);
    let report = apply_at(&db, 1, std::slice::from_ref(&v2));
    assert_eq!(outcome_of(&report, "R1", 2).0, ImportOutcome::Applied);
    let report = apply_at(&db, 2, std::slice::from_ref(&v1));
    assert_eq!(
        outcome_of(&report, "R1", 1),
        with_reason(ImportOutcome::Superseded, reason::NEWER_VERSION_STORED)
    );
    assert_eq!(
        shown_websites(&db, "R1"),
        [(
            "pending".to_owned(),
            vec!["new.example.cn".to_owned(), "www.new.example.cn".to_owned()]
        )]
    );
    // Only the applied version's domains count in the competitor check.
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM submission_versions WHERE 'old.example.cn' = ANY(domains)"
        ),
        0
    );
    assert_eq!(
        count(&db, "SELECT version FROM receipts WHERE receipt = 'R1'"),
        2
    );
    // Both versions are kept for audit.
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM submission_versions WHERE receipt = 'R1'"
        ),
        2
    );
}

#[test]
fn resent_bundle_with_superseded_versions_stores_each_version_once() {
    let db = TestDatabase::with_schema().expect("db");
    let v1 = jia_filing(1, &["old.example.cn"], 1);
    let v2 = jia_filing(2, &["new.example.cn"], 2);
    // The older version twice: both are superseded, and it is kept for audit once.
    let submissions = vec![v1.clone(), v1, v2];
    let report = apply_at(&db, 1, &submissions);
    assert_eq!(report.count(ImportOutcome::Superseded), 2);
    assert_eq!(outcome_of(&report, "R1", 2).0, ImportOutcome::Applied);
    let versions = "SELECT count(*) FROM submission_versions WHERE receipt = 'R1'";
    assert_eq!(count(&db, versions), 2);
    // Sent again in a new bundle: the superseded version is stored already, and stays once.
    let report = apply_at(&db, 2, &submissions);
    assert_eq!(report.count(ImportOutcome::Superseded), 2);
    assert_eq!(
        outcome_of(&report, "R1", 2),
        with_reason(ImportOutcome::AlreadyApplied, reason::ALREADY_APPLIED)
    );
    assert_eq!(count(&db, versions), 2);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM submission_versions
             WHERE receipt = 'R1' AND version = 1 AND bundle_position = 0"
        ),
        1,
        "the first copy in the bundle is the one stored"
    );
}

/// Within one bundle only a receipt's highest version applies, once: a lower version is
/// superseded and a repeat of the highest is a duplicate, each with its reason, and neither
/// enters review. The bundle's one reading learns this only at its end, and marks them then.
#[test]
fn versions_of_one_receipt_in_one_bundle_are_superseded_or_duplicates_with_reasons() {
    let db = TestDatabase::with_schema().expect("db");
    let v1 = jia_filing(1, &["old.example.cn"], 1);
    let v2 = jia_filing(2, &["new.example.cn"], 2);
    let report = apply_at(&db, 1, &[v2.clone(), v1, v2]);
    let outcomes: Vec<(ImportOutcome, Option<String>)> = report
        .outcomes
        .iter()
        .map(|o| (o.outcome, o.reason.clone()))
        .collect();
    assert_eq!(
        outcomes,
        [
            (ImportOutcome::Applied, None),
            with_reason(ImportOutcome::Superseded, reason::NEWER_VERSION_IN_BUNDLE),
            with_reason(ImportOutcome::AlreadyApplied, reason::DUPLICATE_IN_BUNDLE),
        ]
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM submission_versions WHERE entry_state IS NOT NULL"
        ),
        1,
        "one arrival"
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM receipts WHERE version = 2"),
        1
    );
}

#[test]
fn newer_version_replaces_the_websites_child_rows_as_a_unit() {
    let db = TestDatabase::with_schema().expect("db");
    let v1 = jia_filing(1, &["a.example.cn", "b.example.cn"], 1);
    let v2 = jia_filing(2, &["c.example.cn"], 2);
    apply_at(&db, 1, &[v1]);
    apply_at(&db, 2, &[v2]);
    let shown = show(&db, "R1");
    assert_eq!(shown.websites.len(), 1);
    assert_eq!(shown.websites[0].domains, ["c.example.cn"]);
    assert_eq!(shown.websites[0].ip_ranges.len(), 1);
    // Approval files exactly the newer version's website, under one filing.
    approve(&db, "R1");
    let mut client = db.connect().unwrap();
    let domains: Vec<String> = client
        .query("SELECT domain FROM website_domains ORDER BY domain", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(domains, ["c.example.cn"]);
    assert_eq!(count(&db, "SELECT count(*) FROM website_ips"), 1);
    assert_eq!(count(&db, "SELECT count(*) FROM filings"), 1);
}

#[test]
fn domain_filed_by_another_subject_is_a_conflict_not_an_abort() {
    let db = TestDatabase::with_schema().expect("db");
    apply_at(&db, 1, &[jia_filing(1, &["jia.example.cn"], 1)]);
    approve(&db, "R1");
    let report = apply_at(
        &db,
        2,
        &[
            one_site_filing("R2", "乙公司", "C2", "乙网", &["jia.example.cn"], 2),
            one_site_filing("R3", "丙公司", "C3", "丙网", &["bing.example.cn"], 3),
        ],
    );
    assert_eq!(
        outcome_of(&report, "R2", 1),
        with_reason(ImportOutcome::Conflict, reason::DOMAIN_CONFLICT)
    );
    assert_eq!(outcome_of(&report, "R3", 1).0, ImportOutcome::Applied);
    // The conflicting filing waits for the authority, flagged.
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM receipts WHERE receipt = 'R2' AND conflict = 'domain-conflict'"
        ),
        1
    );
    // Approving it is refused while the domain is filed elsewhere.
    let key = signer();
    let mut client = db.connect().unwrap();
    let mut tx = client.transaction().unwrap();
    let error = approval_refused(&mut tx, &db, "R2", &key);
    assert!(
        matches!(error, review::ReviewError::DomainConflict { ref domain, .. } if domain == "jia.example.cn"),
        "{error}"
    );
}

/// A store whose domain table the planner counts in the millions has each domain of an
/// arriving bundle looked up through its index instead of one join over the whole table
/// (`import::classify`'s `domain_check`): the same domains filed elsewhere are conflicts, and a
/// change that keeps its own website's domain is none.
#[test]
fn domains_filed_elsewhere_are_found_by_lookups_in_a_large_store() {
    let db = TestDatabase::with_schema().expect("db");
    apply_at(&db, 1, &[jia_filing(1, &["jia.example.cn"], 1)]);
    let number = approve(&db, "R1").filing_number.unwrap();
    let mut client = db.connect().unwrap();
    // The planner's count of a store of ten million approved filings.
    client
        .batch_execute(
            "UPDATE pg_class SET reltuples = 60000000 WHERE oid = 'website_domains'::regclass",
        )
        .unwrap();
    let report = apply_at(
        &db,
        2,
        &[
            one_site_filing("R2", "乙公司", "C2", "乙网", &["jia.example.cn"], 2),
            one_site_filing("R3", "丙公司", "C3", "丙网", &["bing.example.cn"], 3),
            first_website_changed(
                "R4",
                &number,
                website("甲网", &["jia.example.cn", "m.jia.example.cn"], 7),
            ),
        ],
    );
    assert_eq!(
        outcome_of(&report, "R2", 1),
        with_reason(ImportOutcome::Conflict, reason::DOMAIN_CONFLICT)
    );
    assert_eq!(outcome_of(&report, "R3", 1).0, ImportOutcome::Applied);
    assert_eq!(
        outcome_of(&report, "R4", 1).0,
        ImportOutcome::Applied,
        "the website keeps its own domain"
    );
}

#[test]
fn versions_subjects_and_receipts_are_checked_by_lookups_in_a_large_store() {
    let db = TestDatabase::with_schema().expect("db");
    apply_at(
        &db,
        1,
        &[
            jia_filing(2, &["jia.example.cn"], 1),
            one_site_filing("R9", "己公司", "C9", "己网", &["ji.example.cn"], 9),
        ],
    );
    approve(&db, "R9");
    // The planner's count of a store of ten million approved filings: the version and subject
    // checks look each staged row up instead of joining.
    db.connect()
        .unwrap()
        .batch_execute(
            "UPDATE pg_class SET reltuples = 60000000
             WHERE oid IN ('submission_versions'::regclass, 'subject_records'::regclass,
                           'receipts'::regclass, 'filings'::regclass)",
        )
        .unwrap();
    let resent = apply_at(&db, 2, &[jia_filing(2, &["jia.example.cn"], 1)]);
    assert_eq!(
        outcome_of(&resent, "R1", 2),
        with_reason(ImportOutcome::AlreadyApplied, reason::ALREADY_APPLIED)
    );
    let other_content = apply_at(&db, 3, &[jia_filing(2, &["yi.example.cn"], 2)]);
    assert_eq!(
        outcome_of(&other_content, "R1", 2),
        with_reason(ImportOutcome::Rejected, reason::VERSION_HASH_CONFLICT)
    );
    let older = apply_at(&db, 4, &[jia_filing(1, &["old.example.cn"], 1)]);
    assert_eq!(
        outcome_of(&older, "R1", 1),
        with_reason(ImportOutcome::Superseded, reason::NEWER_VERSION_STORED)
    );
    let report = apply_at(
        &db,
        5,
        &[
            one_site_filing("R5", "庚公司", "C9", "庚网", &["geng.example.cn"], 5),
            one_site_filing("R6", "辛公司", "C6", "辛网", &["xin.example.cn"], 6),
        ],
    );
    assert_eq!(
        outcome_of(&report, "R5", 1),
        with_reason(ImportOutcome::Conflict, reason::SUBJECT_ALREADY_FILED)
    );
    assert_eq!(outcome_of(&report, "R6", 1).0, ImportOutcome::Applied);
    // R9 is approved: a new version of it cannot reopen it.
    let reopened = apply_at(
        &db,
        6,
        &[version(
            "R9",
            2,
            one_site_filing("R9", "己公司", "C9", "己网", &["ji2.example.cn"], 9).body,
        )],
    );
    assert_eq!(
        outcome_of(&reopened, "R9", 2),
        with_reason(ImportOutcome::Rejected, reason::RECEIPT_CLOSED)
    );
    assert_eq!(
        shown_websites(&db, "R1"),
        [("pending".to_owned(), vec!["jia.example.cn".to_owned()])],
        "neither the older version nor the other content replaced what is stored"
    );
}

#[test]
fn changes_and_cancellations_of_unknown_numbers_are_rejected_with_reasons() {
    let db = TestDatabase::with_schema().expect("db");
    let report = apply_at(
        &db,
        1,
        &[
            version(
                "R1",
                1,
                Submission::Change {
                    filing_number: "京ICP备2026999999号".to_owned(),
                    change: Change::AddedWebsite(website("新网", &["x.example.cn"], 1)),
                },
            ),
            version(
                "R2",
                1,
                Submission::Cancellation {
                    filing_number: "京ICP备2026999998号-1".to_owned(),
                    scope: CancellationScope::Website,
                    reason: "网站关闭".to_owned(),
                },
            ),
            version(
                "R3",
                1,
                Submission::Withdrawal {
                    receipt: "R-none".to_owned(),
                    reason: "填错".to_owned(),
                },
            ),
            first_version(
                "R4",
                "丁公司",
                "C4",
                710_000,
                vec![website("丁网", &["ding.example.cn"], 4)],
            ),
        ],
    );
    for (receipt, why) in [
        ("R1", reason::UNKNOWN_FILING_NUMBER),
        ("R2", reason::UNKNOWN_FILING_NUMBER),
        ("R3", reason::UNKNOWN_RECEIPT),
        ("R4", reason::UNKNOWN_PROVINCE),
    ] {
        assert_eq!(
            outcome_of(&report, receipt, 1),
            with_reason(ImportOutcome::Rejected, why),
            "{receipt}"
        );
    }
    assert_eq!(count(&db, "SELECT count(*) FROM receipts"), 0);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM submission_versions WHERE outcome = 'rejected'"
        ),
        4,
        "kept for audit"
    );
}

#[test]
fn tampered_content_hash_is_rejected() {
    let db = TestDatabase::with_schema().expect("db");
    let mut v = jia_filing(1, &["jia.example.cn"], 1);
    v.content_hash[0] ^= 1;
    let report = apply_at(&db, 1, &[v]);
    assert_eq!(
        outcome_of(&report, "R1", 1),
        with_reason(ImportOutcome::Rejected, reason::CONTENT_HASH_MISMATCH)
    );
}

#[test]
fn change_cancel_and_withdraw_an_approved_filing() {
    let db = TestDatabase::with_schema().expect("db");
    let jia_with_shop = first_version(
        "R1",
        "甲公司",
        "C1",
        REGION_CODE,
        vec![
            website("甲网", &["jia.example.cn"], 1),
            website("甲店", &["shop.jia.example.cn"], 2),
        ],
    );
    apply_at(&db, 1, &[jia_with_shop]);
    let number = approve(&db, "R1").filing_number.expect("number");
    let website_2 = format!("{number}-2");
    let report = apply_at(
        &db,
        2,
        &[
            first_website_changed(
                "R2",
                &number,
                website("甲网", &["jia.example.cn", "m.jia.example.cn"], 1),
            ),
            version(
                "R3",
                1,
                Submission::Cancellation {
                    filing_number: website_2.clone(),
                    scope: CancellationScope::Website,
                    reason: "不再运营".to_owned(),
                },
            ),
            version(
                "R4",
                1,
                Submission::Change {
                    filing_number: number.clone(),
                    change: Change::AddedWebsite(website("甲博客", &["blog.jia.example.cn"], 3)),
                },
            ),
            version(
                "R5",
                1,
                Submission::Withdrawal {
                    receipt: "R4".to_owned(),
                    reason: "暂不新增".to_owned(),
                },
            ),
        ],
    );
    for receipt in ["R2", "R3", "R4", "R5"] {
        assert_eq!(
            outcome_of(&report, receipt, 1).0,
            ImportOutcome::Applied,
            "{receipt}"
        );
    }
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM receipts WHERE receipt = 'R4' AND state = 'withdrawn'"
        ),
        1
    );
    approve(&db, "R2");
    let cancel = approve(&db, "R3");
    assert_eq!(cancel.to, ReviewState::Cancelled);
    let mut client = db.connect().unwrap();
    let active: Vec<(i32, String)> = client
        .query(
            "SELECT w.website_seq, d.domain FROM website_records w JOIN website_domains d USING (record_id)
             WHERE w.status = 'active' AND d.active ORDER BY 1, 2",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        active,
        [
            (1, "jia.example.cn".to_owned()),
            (1, "m.jia.example.cn".to_owned())
        ]
    );
    // The website's suffix 2 is never handed out again, and nothing of R4 became public.
    assert_eq!(
        count(&db, "SELECT next_website_seq::bigint FROM filings"),
        3
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM website_records WHERE receipt = 'R4'"
        ),
        0
    );
    assert_eq!(
        shown_websites(&db, "R4"),
        [(
            "discarded".to_owned(),
            vec!["blog.jia.example.cn".to_owned()]
        )]
    );
}

#[test]
fn forked_sequence_is_refused() {
    let db = TestDatabase::with_schema().expect("db");
    apply_at(&db, 1, &[]);
    let other = made_at(1, &[], NOW - 59);
    let mut client = db.connect().unwrap();
    let mut tx = client.transaction().unwrap();
    let error = apply_bundle(&mut tx, &other.incoming(), NOW).unwrap_err();
    assert!(
        matches!(error, ApplyError::Fork { sequence: 1, .. }),
        "{error}"
    );
}

#[test]
fn failed_apply_leaves_nothing_behind() {
    let db = TestDatabase::with_schema().expect("db");
    let submissions = vec![jia_filing(1, &["jia.example.cn"], 1)];
    let mut client = db.connect().unwrap();
    // Make the very last write of an apply (queueing the ack) fail.
    client
        .batch_execute(
            "ALTER TABLE return_queue ADD CONSTRAINT injected_fault CHECK (kind <> 'ack')",
        )
        .unwrap();
    {
        let mut tx = client.transaction().unwrap();
        let error = apply_bundle(&mut tx, &bundle_at(1, &submissions).incoming(), NOW).unwrap_err();
        assert!(
            error.to_string().contains("queueing a return record"),
            "{error}"
        );
        tx.rollback().unwrap();
    }
    for table in [
        "bundles",
        "filings",
        "receipts",
        "submission_versions",
        "website_records",
        "website_domains",
        "review_events",
        "return_queue",
    ] {
        assert_eq!(rows_in(&db, table), 0, "{table} after a failed apply");
    }
    client
        .batch_execute("ALTER TABLE return_queue DROP CONSTRAINT injected_fault")
        .unwrap();
    let report = apply_at(&db, 1, &submissions);
    assert_eq!(
        report.status,
        ApplyStatus::Applied,
        "the same bundle applies after the fault"
    );
}

#[test]
fn sequence_reports_name_the_gaps_and_entries_are_marked_sent() {
    let db = TestDatabase::with_schema().expect("db");
    for sequence in [1, 2, 4, 7] {
        apply_at(&db, sequence, &[]);
    }
    let mut client = db.connect().unwrap();
    let pending = inner::returns::pending_returns(&mut client, 1000).unwrap();
    assert_eq!(pending.sequence_reports.len(), 1);
    let report = &pending.sequence_reports[0];
    assert_eq!(
        (report.channel, report.epoch, report.highest_contiguous),
        (7, 1, 2)
    );
    assert_eq!(report.missing, [3, 5, 6]);
    assert_eq!(pending.entries.len(), 4, "one ack per bundle");
    let ids: Vec<i64> = pending.entries.iter().map(|e| e.entry_id).collect();
    let mut tx = client.transaction().unwrap();
    inner::returns::mark_sent(&mut tx, &ids, [9; 32], NOW).unwrap();
    tx.commit().unwrap();
    assert!(
        inner::returns::pending_returns(&mut client, 1000)
            .unwrap()
            .entries
            .is_empty()
    );
    let mut tx = client.transaction().unwrap();
    let error = inner::returns::mark_sent(&mut tx, &ids, [8; 32], NOW).unwrap_err();
    assert!(error.to_string().contains("not pending"), "{error}");
}

#[test]
fn nul_in_a_text_field_rejects_that_submission_only() {
    let db = TestDatabase::with_schema().expect("db");
    let report = apply_at(
        &db,
        1,
        &[
            one_site_filing("R1", "甲公司\0", "C1", "甲网", &["jia.example.cn"], 1),
            one_site_filing("R2", "乙公司", "C2", "乙网", &["yi.example.cn"], 2),
            one_site_filing("R3\0", "丙公司", "C3", "丙网", &["bing.example.cn"], 3),
        ],
    );
    assert_eq!(
        outcome_of(&report, "R1", 1),
        with_reason(ImportOutcome::Rejected, reason::NUL_IN_TEXT)
    );
    assert_eq!(outcome_of(&report, "R2", 1).0, ImportOutcome::Applied);
    assert_eq!(
        outcome_of(&report, "R3\u{fffd}", 1),
        with_reason(ImportOutcome::Rejected, reason::NUL_IN_TEXT)
    );
}

#[test]
fn access_change_keeps_the_website_and_replaces_its_ip_list() {
    let db = with_jia_filing(&["jia.example.cn", "www.jia.example.cn"]);
    let number = approve(&db, "R1").filing_number.expect("number");
    let mut access = website("甲网", &[], 0).access;
    access.provider = "上海云接入有限公司".to_owned();
    access.ip_ranges = vec![bundle_format::records::IpRange {
        first: "192.0.2.10".parse().unwrap(),
        last: "192.0.2.20".parse().unwrap(),
    }];
    let report = apply_at(
        &db,
        2,
        &[version(
            "R2",
            1,
            Submission::Change {
                filing_number: number.clone(),
                change: Change::Access {
                    website_number: format!("{number}-1"),
                    access,
                },
            },
        )],
    );
    assert_eq!(outcome_of(&report, "R2", 1).0, ImportOutcome::Applied);
    approve(&db, "R2");
    let mut client = db.connect().unwrap();
    let row = client
        .query_one(
            "SELECT w.name, a.provider,
                    ARRAY(SELECT domain FROM website_domains d WHERE d.record_id = w.record_id AND d.active ORDER BY 1),
                    ARRAY(SELECT host(lower(ips)) || '-' || host(upper(ips)) FROM website_ips i WHERE i.record_id = w.record_id AND i.active)
             FROM website_records w JOIN website_access a USING (record_id)
             WHERE w.status = 'active'",
            &[],
        )
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "甲网");
    assert_eq!(row.get::<_, String>(1), "上海云接入有限公司");
    assert_eq!(
        row.get::<_, Vec<String>>(2),
        ["jia.example.cn", "www.jia.example.cn"]
    );
    assert_eq!(row.get::<_, Vec<String>>(3), ["192.0.2.10-192.0.2.20"]);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM website_records WHERE status = 'superseded'"
        ),
        1
    );
}

/// Every row the import writes for a bundle (version rows, receipts, the queued acks), as
/// text, in a fixed order.
fn stored_rows(db: &TestDatabase) -> Vec<String> {
    let mut client = db.connect().unwrap();
    client
        .query(
            "SELECT 'version ' || v::text FROM submission_versions v
             UNION ALL SELECT 'receipt ' || r::text FROM receipts r
             UNION ALL SELECT 'queued ' || q.kind || ' ' || coalesce(encode(q.record, 'hex'), '')
             FROM return_queue q WHERE q.kind = 'ack'
             ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect()
}

/// A bundle whose versions would take more memory than the import may hold after staging
/// (`IncomingBundle::max_held_bytes`) is read again from its signed message at each later pass
/// instead: its outcomes and every row it writes are the same as when they are held — a
/// domain conflict, an access change keeping its website's domains, a domain in capitals, a
/// lower version sent twice and superseded (stored once), and the IP ranges and subject keys
/// of the version rows.
#[test]
fn a_bundle_too_large_to_hold_after_staging_is_read_again_and_stored_the_same() {
    let (held, reread) = (
        with_jia_filing(&["jia.example.cn", "www.jia.example.cn"]),
        with_jia_filing(&["jia.example.cn", "www.jia.example.cn"]),
    );
    let number = approve(&held, "R1").filing_number.expect("number");
    assert_eq!(approve(&reread, "R1").filing_number, Some(number.clone()));
    let mut access = website("甲网", &[], 0).access;
    access.ip_ranges = vec![bundle_format::records::IpRange {
        first: "192.0.2.10".parse().unwrap(),
        last: "192.0.2.20".parse().unwrap(),
    }];
    let older = one_site_filing("R4", "丁公司", "C4", "丁网", &["ding.example.cn"], 4);
    let mut newer = older.clone();
    newer.version = 2;
    let submissions = vec![
        one_site_filing("R2", "乙公司", "C2", "乙网", &["jia.example.cn"], 2),
        one_site_filing("R3", "丙公司", "C3", "丙网", &["Bing.Example.CN"], 3),
        version(
            "R5",
            1,
            Submission::Change {
                filing_number: number.clone(),
                change: Change::Access {
                    website_number: format!("{number}-1"),
                    access,
                },
            },
        ),
        older.clone(),
        older,
        newer,
    ];
    let bundle = bundle_at(2, &submissions);
    let as_held = apply(&held, &bundle.incoming());
    let incoming = bundle.incoming();
    let header = bundle_format::Header::parse(&bundle.message, u64::MAX)
        .expect("header")
        .0;
    let read_again = apply(
        &reread,
        &IncomingBundle {
            max_held_bytes: 0,
            ..IncomingBundle::verified_in_message(
                bundle_format::BundleId::of_message(&bundle.message),
                &header,
                incoming.signer,
                submissions.len(),
                &bundle.message,
            )
        },
    );
    let outcomes = |report: &inner::import::ApplyReport| -> Vec<(ImportOutcome, Option<String>)> {
        report
            .outcomes
            .iter()
            .map(|o| (o.outcome, o.reason.clone()))
            .collect()
    };
    assert_eq!(
        outcomes(&as_held),
        [
            with_reason(ImportOutcome::Conflict, reason::DOMAIN_CONFLICT),
            (ImportOutcome::Applied, None),
            (ImportOutcome::Applied, None),
            with_reason(ImportOutcome::Superseded, reason::NEWER_VERSION_IN_BUNDLE),
            with_reason(ImportOutcome::Superseded, reason::NEWER_VERSION_IN_BUNDLE),
            (ImportOutcome::Applied, None),
        ]
    );
    assert_eq!(outcomes(&read_again), outcomes(&as_held));
    let rows = stored_rows(&held);
    assert_eq!(stored_rows(&reread), rows);
    let version_row = |receipt: &str| {
        let mut client = held.connect().unwrap();
        let row = client
            .query_one(
                "SELECT domains, ip_ranges FROM submission_versions
                 WHERE receipt = $1 ORDER BY version DESC LIMIT 1",
                &[&receipt],
            )
            .unwrap();
        (row.get::<_, Vec<String>>(0), row.get::<_, Vec<String>>(1))
    };
    assert_eq!(version_row("R3").0, ["bing.example.cn"]);
    assert_eq!(
        version_row("R5"),
        (
            vec!["jia.example.cn".to_owned(), "www.jia.example.cn".to_owned()],
            vec!["192.0.2.10-192.0.2.20".to_owned()]
        )
    );
    assert_eq!(
        count(
            &held,
            "SELECT count(*) FROM submission_versions WHERE receipt = 'R4'"
        ),
        2,
        "the superseded version sent twice is stored once"
    );
}
