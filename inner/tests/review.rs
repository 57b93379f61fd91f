//! Review decisions on a real PostgreSQL: transitions, filing numbers under concurrency,
//! certificates checked with the real signify.

mod common;

use bundle_format::records::{CancellationScope, Record, ReviewState, ServiceType, Submission};
use common::*;
use inner::review::{self, ReviewError};
use inner::workflow::ReturnTo;
use testkit::pg::TestDatabase;

fn status_changes(db: &TestDatabase, receipt: &str) -> Vec<(ReviewState, Option<String>)> {
    let mut client = db.connect().unwrap();
    inner::returns::pending_returns(&mut client, 10_000)
        .unwrap()
        .entries
        .into_iter()
        .filter_map(|e| match e.record {
            Record::StatusChange(c) if c.receipt == receipt => Some((c.state, c.filing_number)),
            _ => None,
        })
        .collect()
}

#[test]
fn direct_submission_with_news_passes_every_stage_and_each_step_goes_out() {
    let db = TestDatabase::with_schema().expect("db");
    let mut site = website("甲新闻", &["news.jia.example.cn"], 1);
    site.service_types = vec![ServiceType::News];
    let mut v = version("R1", 1, new_filing("甲公司", "C1", 110_108, vec![site]));
    v.access_provider = None;
    apply_at(&db, 1, &[v]);
    let key = signer();
    let mut states = Vec::new();
    for _ in 0..3 {
        let d = decide(&db, |tx| {
            review::approve(tx, "R1", &ministry(&db), None, &key, NOW)
        })
        .unwrap();
        states.push(d.to);
    }
    assert_eq!(
        states,
        [
            ReviewState::AwaitingPreApproval,
            ReviewState::AwaitingRegionalReview,
            ReviewState::Approved
        ]
    );
    // The arrival goes out as the bundle's ack (its import time; the entry state is the
    // record's, decided alike on both sides); every review step as a status change.
    let changes = status_changes(&db, "R1");
    let states: Vec<ReviewState> = changes.iter().map(|c| c.0).collect();
    assert_eq!(
        states,
        [
            ReviewState::AwaitingPreApproval,
            ReviewState::AwaitingRegionalReview,
            ReviewState::Approved
        ],
        "every step goes back out"
    );
    let number = changes[2].1.clone().expect("number on approval");
    assert!(
        number.starts_with("京ICP备2026") && number.ends_with("000001号"),
        "{number}"
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM review_events WHERE receipt = 'R1'"
        ),
        3,
        "one review event a decision; the arrival is recorded on its version"
    );
    let history: Vec<(Option<String>, String, String)> = show(&db, "R1")
        .history
        .into_iter()
        .map(|h| (h.from_state, h.to_state, h.reviewer))
        .collect();
    let step = |from: Option<&str>, to: &str, by: &str| {
        (from.map(str::to_owned), to.to_owned(), by.to_owned())
    };
    assert_eq!(
        history,
        [
            step(None, "awaiting-provider-check", "import"),
            step(
                Some("awaiting-provider-check"),
                "awaiting-pre-approval",
                "reviewer-li"
            ),
            step(
                Some("awaiting-pre-approval"),
                "awaiting-regional-review",
                "reviewer-li"
            ),
            step(Some("awaiting-regional-review"), "approved", "reviewer-li"),
        ],
        "the reviewer sees the arrival and every step, in order"
    );
}

/// A receipt returned to its submitter and corrected: the reviewer's history lists the first
/// arrival, the return, and the corrected version's arrival from the returned state, in the
/// order they happened, though the arrivals are read from the version rows and the return
/// from the review events.
#[test]
fn a_corrected_versions_arrival_follows_the_return_in_the_history() {
    let db = TestDatabase::with_schema().expect("db");
    apply_at(&db, 1, &[jia_filing(1, &["jia.example.cn"], 1)]);
    decide(&db, |tx| {
        review::return_submission(
            tx,
            "R1",
            ReturnTo::Submitter,
            &ministry(&db),
            "地址不完整",
            NOW + 10,
        )
    })
    .unwrap();
    apply_at(&db, 2, &[jia_filing(2, &["jia.example.cn"], 1)]);
    let history: Vec<(i64, Option<String>, String, Option<String>)> = show(&db, "R1")
        .history
        .into_iter()
        .map(|h| (h.version, h.from_state, h.to_state, h.reason))
        .collect();
    assert_eq!(
        history,
        [
            (1, None, "awaiting-regional-review".to_owned(), None),
            (
                1,
                Some("awaiting-regional-review".to_owned()),
                "returned-to-submitter".to_owned(),
                Some("地址不完整".to_owned())
            ),
            (
                2,
                Some("returned-to-submitter".to_owned()),
                "awaiting-regional-review".to_owned(),
                None
            ),
        ]
    );
}

#[test]
fn refused_transitions_change_nothing() {
    let db = TestDatabase::with_schema().expect("db");
    apply_at(&db, 1, &[jia_filing(1, &["jia.example.cn"], 1)]);
    let returned = decide(&db, |tx| {
        review::return_submission(
            tx,
            "R1",
            ReturnTo::Provider,
            &ministry(&db),
            "地址不完整",
            NOW,
        )
    })
    .unwrap();
    assert_eq!(returned.to, ReviewState::ReturnedToProvider);
    let key = signer();
    let error = decide(&db, |tx| {
        review::approve(tx, "R1", &ministry(&db), None, &key, NOW)
    })
    .unwrap_err();
    assert!(matches!(error, ReviewError::Refused { .. }), "{error}");
    assert!(
        error
            .to_string()
            .contains("returned-to-provider cannot be approved"),
        "{error}"
    );
    // A corrected version puts it back in the queue.
    let mut corrected = new_filing(
        "甲公司",
        "C1",
        110_108,
        vec![website("甲网", &["jia.example.cn"], 1)],
    );
    if let Submission::NewFiling(f) = &mut corrected {
        f.subject.address = "北京市海淀区中关村大街1号院2号楼".to_owned();
    }
    apply_at(&db, 2, &[version("R1", 2, corrected)]);
    decide(&db, |tx| {
        review::approve(tx, "R1", &ministry(&db), None, &key, NOW)
    })
    .unwrap();
    let error = decide(&db, |tx| {
        review::reject(tx, "R1", &ministry(&db), "迟了", NOW)
    })
    .unwrap_err();
    assert!(
        error.to_string().contains("approved cannot be rejected"),
        "{error}"
    );
    // A decided receipt does not reopen by a new version.
    let report = apply_at(&db, 3, &[jia_filing(3, &["jia2.example.cn"], 1)]);
    assert_eq!(report.outcomes[0].reason.as_deref(), Some("receipt-closed"));
    let error = decide(&db, |tx| {
        review::reject(tx, "R-nope", &ministry(&db), "x", NOW)
    })
    .unwrap_err();
    assert!(
        matches!(error, ReviewError::UnknownReceipt { .. }),
        "{error}"
    );
}

#[test]
fn concurrent_approvals_never_share_a_number() {
    const FILINGS: usize = 24;
    const THREADS: usize = 6;
    let db = TestDatabase::with_schema().expect("db");
    let submissions: Vec<_> = (0..FILINGS)
        .map(|i| {
            let domain = format!("site{i}.example.cn");
            one_site_filing(
                &format!("R{i}"),
                &format!("公司{i}"),
                &format!("C{i}"),
                "网站",
                &[domain.as_str()],
                1,
            )
        })
        .collect();
    apply_at(&db, 1, &submissions);
    let db = std::sync::Arc::new(db);
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let db = db.clone();
            std::thread::spawn(move || {
                let key = signer();
                let mut numbers = Vec::new();
                for i in (t..FILINGS).step_by(THREADS) {
                    let receipt = format!("R{i}");
                    let d = decide(&db, |tx| {
                        review::approve(tx, &receipt, &ministry(&db), None, &key, NOW)
                    })
                    .expect("approve");
                    numbers.push(d.filing_number.expect("number"));
                }
                numbers
            })
        })
        .collect();
    let mut numbers: Vec<String> = handles
        .into_iter()
        .flat_map(|h| h.join().expect("thread"))
        .collect();
    numbers.sort();
    let expected: Vec<String> = (1..=FILINGS)
        .map(|n| format!("京ICP备2026{n:06}号"))
        .collect();
    assert_eq!(
        numbers, expected,
        "every serial once, none skipped, none twice"
    );
}

#[test]
fn certificates_verify_with_signify_and_are_reissued_and_revoked() {
    let db = TestDatabase::with_schema().expect("db");
    let key = signer();
    let dir = tempfile::tempdir().unwrap();
    key.public_key()
        .write_file(&dir.path().join("cert.pub"), "inner-cert public key")
        .unwrap();

    let filing = beijing_jia_filing(&["jia.example.cn", "www.jia.example.cn"]);
    apply_at(&db, 1, &[filing]);
    let approved = decide(&db, |tx| {
        review::approve(tx, "R1", &ministry(&db), None, &key, NOW)
    })
    .unwrap();
    let number = approved.filing_number.clone().unwrap();
    let mut client = db.connect().unwrap();
    let first = inner::certificates::history(&mut client, &number).unwrap();
    assert_eq!(first.len(), 1);
    let output = signify_verify(dir.path(), &first[0].document);
    assert!(
        output.status.success(),
        "signify: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = std::fs::read_to_string(dir.path().join("bazs.txt")).unwrap();
    assert!(text.contains(&format!("filing-number: {number}")), "{text}");
    assert!(text.contains("subject: 北京甲科技有限公司"), "{text}");
    assert!(
        text.contains(&format!("website: {number}-1 甲官网")),
        "{text}"
    );
    assert!(text.contains("  domain: www.jia.example.cn"), "{text}");
    assert!(text.contains("expires: 2027-11-22T08:00:00Z"), "{text}");
    assert_eq!(
        inner::certificates::verify(&first[0].document, &key.public_key()).unwrap(),
        text
    );

    // A tampered certificate fails both checks.
    let mut forged = first[0].document.clone();
    let at = forged.len() - 3;
    forged[at] ^= 1;
    assert!(!signify_verify(dir.path(), &forged).status.success());
    assert!(inner::certificates::verify(&forged, &key.public_key()).is_err());

    // An approved change re-issues it; the old one is superseded.
    apply_at(&db, 2, &[shop_added(&number)]);
    decide(&db, |tx| {
        review::approve(tx, "R2", &ministry(&db), None, &key, NOW + 86_400)
    })
    .unwrap();
    let history = inner::certificates::history(&mut client, &number).unwrap();
    let statuses: Vec<&str> = history.iter().map(|c| c.status.as_str()).collect();
    assert_eq!(statuses, ["current", "superseded"]);
    assert_eq!(history[0].supersedes, Some(history[1].certificate_id));
    let output = signify_verify(dir.path(), &history[0].document);
    assert!(output.status.success());
    let text = std::fs::read_to_string(dir.path().join("bazs.txt")).unwrap();
    assert!(
        text.contains(&format!("website: {number}-2 甲商城")),
        "{text}"
    );
    assert!(
        text.contains("expires: 2027-11-23T08:00:00Z"),
        "one year after the last approval: {text}"
    );

    // Cancelling the subject revokes it.
    apply_at(
        &db,
        3,
        &[version(
            "R3",
            1,
            Submission::Cancellation {
                filing_number: number.clone(),
                scope: CancellationScope::Subject,
                reason: "公司注销".to_owned(),
            },
        )],
    );
    let cancelled = decide(&db, |tx| {
        review::approve(tx, "R3", &ministry(&db), None, &key, NOW + 2 * 86_400)
    })
    .unwrap();
    assert_eq!(cancelled.to, ReviewState::Cancelled);
    let history = inner::certificates::history(&mut client, &number).unwrap();
    assert_eq!(history[0].status, "revoked");
    assert_eq!(
        count(&db, "SELECT count(*) FROM website_domains WHERE active"),
        0
    );
}

#[test]
fn a_certificate_needs_an_approved_filing() {
    let db = TestDatabase::with_schema().expect("db");
    apply_at(&db, 1, &[jia_filing(1, &["jia.example.cn"], 1)]);
    let mut client = db.connect().unwrap();
    // The import makes no filing (approval does); a pending one, as a store imported before
    // migration 5 holds, is still not approved.
    client
        .batch_execute(
            "INSERT INTO filings (origin_receipt, province, status) VALUES ('R1', 11, 'pending')",
        )
        .unwrap();
    let error = client
        .execute(
            "INSERT INTO certificates (filing_id, filing_number, receipt, issued_at, expires_at,
                 status, signer_key_id, document)
             SELECT filing_id, '京ICP备2026000001号', 'R1', 1, 2, 'current', '\\x0102030405060708', ''
             FROM filings",
            &[],
        )
        .unwrap_err();
    let message = error
        .as_db_error()
        .expect("refused by the database")
        .message();
    assert!(message.contains("not approved"), "{message}");
}

#[test]
fn a_subject_files_once_a_second_filing_is_a_conflict_and_cannot_be_approved() {
    let db = TestDatabase::with_schema().expect("db");
    apply_at(&db, 1, &[jia_filing(1, &["jia.example.cn"], 1)]);
    let key = signer();
    let number = decide(&db, |tx| {
        review::approve(tx, "R1", &ministry(&db), None, &key, NOW)
    })
    .unwrap()
    .filing_number
    .unwrap();
    let report = apply_at(
        &db,
        2,
        &[one_site_filing(
            "R2",
            "甲公司",
            "C1",
            "甲二网",
            &["jia2.example.cn"],
            2,
        )],
    );
    assert_eq!(
        report.outcomes[0].reason.as_deref(),
        Some(inner::import::reason::SUBJECT_ALREADY_FILED)
    );
    let error = decide(&db, |tx| {
        review::approve(tx, "R2", &ministry(&db), None, &key, NOW)
    })
    .unwrap_err();
    assert!(
        matches!(error, ReviewError::SubjectAlreadyFiled { ref holder, .. } if *holder == number),
        "{error}"
    );
}
