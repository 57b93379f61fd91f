//! Revocation by the authority (撤销) and the public register records, on a real PostgreSQL:
//! who may revoke, what a revocation frees, what crosses back out, and the owner's application
//! for cancellation withdrawn while pending.

mod common;

use bundle_format::records::{
    CancellationScope, Record, RegisterEntry, RegisterRemoval, ReviewState, Submission,
};
use common::*;
use inner::review::{self, ReviewError};
use inner::reviewers::{Reviewer, Role};
use testkit::pg::TestDatabase;

fn register_records(db: &TestDatabase) -> Vec<Record> {
    let mut client = db.connect().unwrap();
    inner::returns::pending_returns(&mut client, 10_000)
        .unwrap()
        .entries
        .into_iter()
        .map(|e| e.record)
        .filter(|r| matches!(r, Record::RegisterEntry(_) | Record::RegisterRemoval(_)))
        .collect()
}

fn last_entry(db: &TestDatabase) -> RegisterEntry {
    match register_records(db).pop() {
        Some(Record::RegisterEntry(entry)) => entry,
        other => panic!("expected a register entry last, found {other:?}"),
    }
}

fn last_removal(db: &TestDatabase) -> RegisterRemoval {
    match register_records(db).pop() {
        Some(Record::RegisterRemoval(removal)) => removal,
        other => panic!("expected a register removal last, found {other:?}"),
    }
}

/// R1, 甲公司's Beijing filing of 甲网 (jia.example.cn), approved; its filing number.
fn approved_jia(db: &TestDatabase) -> String {
    apply_at(db, 1, &[jia_filing(1, &["jia.example.cn"], 1)]);
    approve(db, "R1").filing_number.expect("a filing number")
}

/// Applies bundle `sequence` holding `receipt`, the owner's cancellation of filing `number`.
fn apply_cancellation(db: &TestDatabase, sequence: u64, receipt: &str, number: &str) {
    apply_at(
        db,
        sequence,
        &[version(
            receipt,
            1,
            Submission::Cancellation {
                filing_number: number.to_owned(),
                scope: CancellationScope::Subject,
                reason: "不再运营".to_owned(),
            },
        )],
    );
}

/// Applies bundle `sequence` holding `receipt`, 乙公司's filing of 乙网 for `domain`.
fn apply_yi_filing(db: &TestDatabase, sequence: u64, receipt: &str, domain: &str) {
    apply_at(
        db,
        sequence,
        &[one_site_filing(
            receipt,
            "乙公司",
            "C2",
            "乙网",
            &[domain],
            2,
        )],
    );
}

/// Revokes website 2 (the forum) of filing `number` as `by`, `key` reissuing the certificate.
fn revoke_forum(
    db: &TestDatabase,
    number: &str,
    by: &Reviewer,
    key: Option<&dyn keys::Signer>,
) -> Result<review::Revocation, ReviewError> {
    decide(db, |tx| {
        review::revoke(tx, number, Some(2), "论坛未取得许可", by, key, NOW + 120)
    })
}

#[test]
fn an_authority_of_another_province_or_a_pre_approval_reviewer_cannot_revoke() {
    let db = TestDatabase::with_schema().expect("db");
    let number = approved_jia(&db);
    let zhejiang = account(&db, "zj-01", Role::Authority, Some(33), &[]);
    let news = account(&db, "bj-news", Role::PreApproval, Some(11), &["news"]);
    let before = count(&db, "SELECT count(*) FROM return_queue");

    for (reviewer, problem) in [
        (&zhejiang, "may not revoke a filing of province 11"),
        (&news, "may not revoke filings"),
    ] {
        let refused = decide(&db, |tx| {
            review::revoke(tx, &number, None, "违规", reviewer, None, NOW + 120)
        })
        .unwrap_err();
        assert!(
            matches!(refused, ReviewError::NotAllowedOnFiling { .. }),
            "{refused}"
        );
        assert!(refused.to_string().contains(problem), "{refused}");
    }
    assert_eq!(filing_status(&db, &number), "active");
    assert_eq!(count(&db, "SELECT count(*) FROM revocations"), 0);
    assert_eq!(
        count(&db, "SELECT count(*) FROM return_queue"),
        before,
        "a refusal queues nothing"
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM website_domains WHERE active"),
        1
    );
}

#[test]
fn a_revocation_needs_a_reason_and_an_approved_filing() {
    let db = TestDatabase::with_schema().expect("db");
    let number = approved_jia(&db);
    let beijing = account(&db, "bj-01", Role::Authority, Some(11), &[]);
    let empty = decide(&db, |tx| {
        review::revoke(tx, &number, None, "  ", &beijing, None, NOW + 120)
    })
    .unwrap_err();
    assert!(
        matches!(empty, ReviewError::RevocationReason { .. }),
        "{empty}"
    );
    let long = "理".repeat(400);
    let too_long = decide(&db, |tx| {
        review::revoke(tx, &number, None, &long, &beijing, None, NOW + 120)
    })
    .unwrap_err();
    assert!(
        too_long
            .to_string()
            .contains("1200 bytes long; at most 1024"),
        "{too_long}"
    );
    let unknown = decide(&db, |tx| {
        review::revoke(tx, "京ICP备2026999999号", None, "违规", &beijing, None, NOW)
    })
    .unwrap_err();
    assert!(
        matches!(unknown, ReviewError::UnknownFiling { .. }),
        "{unknown}"
    );
    let no_site = decide(&db, |tx| {
        review::revoke(tx, &number, Some(9), "违规", &beijing, None, NOW)
    })
    .unwrap_err();
    assert_eq!(
        no_site.to_string(),
        format!("filing {number} has no website {number}-9 in service")
    );
    decide(&db, |tx| {
        review::revoke(tx, &number, None, "违规", &beijing, None, NOW + 120)
    })
    .unwrap();
    let again = decide(&db, |tx| {
        review::revoke(tx, &number, None, "违规", &beijing, None, NOW + 180)
    })
    .unwrap_err();
    assert!(
        matches!(again, ReviewError::FilingNotActive { ref status, .. } if status == "revoked"),
        "{again}"
    );
}

#[test]
fn a_revoked_filing_frees_its_domain_so_a_conflicting_filing_can_be_approved() {
    let db = TestDatabase::with_schema().expect("db");
    let number = approved_jia(&db);
    let entry = last_entry(&db);
    assert_eq!(entry.filing_number, number);
    assert_eq!(entry.websites[0].domains, ["jia.example.cn"]);

    // 乙公司 files the same domain: a conflict the authority cannot approve.
    apply_yi_filing(&db, 2, "R2", "jia.example.cn");
    let key = signer();
    let blocked = decide(&db, |tx| {
        review::approve(tx, "R2", &ministry(&db), None, &key, NOW + 120)
    })
    .unwrap_err();
    assert!(
        matches!(blocked, ReviewError::DomainConflict { ref holder, .. } if *holder == number),
        "{blocked}"
    );

    // Beijing's authority revokes 甲公司's filing.
    let beijing = account(&db, "bj-01", Role::Authority, Some(11), &[]);
    let revocation = decide(&db, |tx| {
        review::revoke(tx, &number, None, "网站内容违法", &beijing, None, NOW + 180)
    })
    .unwrap();
    assert!(revocation.whole_filing);
    assert!(revocation.certificate_revoked);
    assert_eq!(filing_status(&db, &number), "revoked");
    let mut client = db.connect().unwrap();
    let certificates = inner::certificates::history(&mut client, &number).unwrap();
    assert_eq!(certificates[0].status, "revoked");
    let history = review::revocations(&mut client, &number).unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].reviewer, "bj-01");
    assert_eq!(history[0].reason, "网站内容违法");
    assert!(history[0].whole_filing);
    let removal = last_removal(&db);
    assert_eq!(removal.filing_number, number);
    assert_eq!(removal.reason, "filing-revoked");
    assert!(removal.event > entry.event);
    let revoked = inner::returns::pending_returns(&mut client, 10_000)
        .unwrap()
        .entries
        .into_iter()
        .find_map(|e| match e.record {
            Record::CertificateRevocation(r) => Some(r),
            _ => None,
        })
        .expect("the certificate revocation goes out");
    assert_eq!(revoked.reason, "filing-revoked");
    assert_eq!(revoked.filing_number, number);

    // The public query inside no longer finds it, and the domain is free for 乙公司.
    let found = inner::query::query(
        &mut client,
        &inner::query::QueryKey::Domain("jia.example.cn".into()),
    )
    .unwrap();
    assert!(found.is_empty(), "{found:?}");
    let approved = decide(&db, |tx| {
        review::approve(tx, "R2", &ministry(&db), None, &key, NOW + 240)
    })
    .unwrap();
    assert_eq!(approved.to, ReviewState::Approved);
    let found = inner::query::query(
        &mut client,
        &inner::query::QueryKey::Domain("jia.example.cn".into()),
    )
    .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].organiser, "乙公司");
}

#[test]
fn revoking_one_website_of_two_reissues_the_certificate_without_it() {
    let db = TestDatabase::with_schema().expect("db");
    apply_at(
        &db,
        1,
        &[first_version(
            "R1",
            "甲公司",
            "C1",
            REGION_CODE,
            vec![
                website("甲网", &["jia.example.cn"], 1),
                website("甲论坛", &["bbs.jia.example.cn"], 2),
            ],
        )],
    );
    let number = approve(&db, "R1").filing_number.unwrap();
    let beijing = account(&db, "bj-01", Role::Authority, Some(11), &[]);
    let without_key = revoke_forum(&db, &number, &beijing, None).unwrap_err();
    assert!(
        without_key.to_string().contains("--cert-key"),
        "{without_key}"
    );
    let key = signer();
    let revocation = revoke_forum(&db, &number, &beijing, Some(&key)).unwrap();
    assert!(!revocation.whole_filing);
    assert_eq!(
        revocation.website_number.as_deref(),
        Some(format!("{number}-2").as_str())
    );
    assert!(revocation.certificate_id.is_some());
    assert_eq!(filing_status(&db, &number), "active");
    let mut client = db.connect().unwrap();
    let certificates = inner::certificates::history(&mut client, &number).unwrap();
    assert_eq!(certificates[0].status, "current");
    let text = String::from_utf8_lossy(&certificates[0].document).into_owned();
    assert!(!text.contains("bbs.jia.example.cn"), "{text}");
    assert!(text.contains("jia.example.cn"), "{text}");
    let entry = last_entry(&db);
    assert_eq!(entry.websites.len(), 1);
    assert_eq!(entry.websites[0].website_number, format!("{number}-1"));
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM website_domains WHERE active AND domain = 'bbs.jia.example.cn'"
        ),
        0,
        "the revoked website's domain is free"
    );
}

#[test]
fn the_register_entry_holds_nothing_personal() {
    let db = TestDatabase::with_schema().expect("db");
    let filing = jia_filing(1, &["jia.example.cn", "www.jia.example.cn"], 1);
    apply_at(&db, 1, std::slice::from_ref(&filing));
    approve(&db, "R1");
    let entry = last_entry(&db);
    assert_eq!(entry.subject_name, "甲公司");
    assert_eq!(entry.subject_nature, "enterprise");
    assert_eq!(entry.websites[0].name, "甲网");
    assert_eq!(entry.approved_at, NOW + 60);
    let Submission::NewFiling(filed) = &filing.body else {
        unreachable!()
    };
    let mut personal = vec![
        filed.subject.certificate_number.clone(),
        filed.subject.address.clone(),
    ];
    for person in
        std::iter::once(&filed.subject.principal).chain(filed.websites.iter().map(|w| &w.principal))
    {
        personal.push(person.name.clone());
        personal.push(person.certificate_number.clone());
        personal.push(person.email.clone());
        personal.extend(person.mobile_phones.iter().cloned());
        personal.extend(person.office_phones.iter().cloned());
    }
    let shown = format!("{entry:?}");
    for value in personal {
        assert!(
            !shown.contains(&value),
            "the register entry shows {value:?}: {shown}"
        );
    }
    assert!(!shown.contains("203.0.113"), "no IP addresses: {shown}");
}

#[test]
fn an_owners_cancellation_application_is_withdrawn_while_pending_and_the_filing_stays() {
    let db = TestDatabase::with_schema().expect("db");
    let number = approved_jia(&db);
    apply_cancellation(&db, 2, "R3", &number);
    let state = |receipt: &str| -> String {
        db.connect()
            .unwrap()
            .query_one("SELECT state FROM receipts WHERE receipt = $1", &[&receipt])
            .unwrap()
            .get(0)
    };
    assert_eq!(state("R3"), "awaiting-regional-review");
    let report = apply_at(
        &db,
        3,
        &[version(
            "R4",
            1,
            Submission::Withdrawal {
                receipt: "R3".to_owned(),
                reason: "改变主意".to_owned(),
            },
        )],
    );
    assert_eq!(report.outcomes[0].reason, None, "{:?}", report.outcomes);
    assert_eq!(state("R3"), "withdrawn");
    assert_eq!(filing_status(&db, &number), "active");
    // A withdrawn application cannot be approved any more.
    let key = signer();
    assert!(
        decide(&db, |tx| review::approve(
            tx,
            "R3",
            &ministry(&db),
            None,
            &key,
            NOW + 300
        ))
        .is_err()
    );
    assert_eq!(filing_status(&db, &number), "active");
}

#[test]
fn a_cancellation_approved_removes_the_filing_from_the_register() {
    let db = TestDatabase::with_schema().expect("db");
    let number = approved_jia(&db);
    apply_cancellation(&db, 2, "R3", &number);
    approve(&db, "R3");
    let removal = last_removal(&db);
    assert_eq!(removal.filing_number, number);
    assert_eq!(removal.reason, "filing-cancelled");
}

#[test]
fn register_publish_sends_every_approved_filing_once_more_and_no_other() {
    let db = TestDatabase::with_schema().expect("db");
    let number = approved_jia(&db);
    apply_yi_filing(&db, 2, "R2", "yi.example.cn");
    // R2 is pending: not in the register.
    let before = register_records(&db).len();
    let mut client = db.connect().unwrap();
    let mut tx = client.transaction().unwrap();
    let (count, last) = inner::register::publish_approved(&mut tx, 0, 10, NOW).unwrap();
    tx.commit().unwrap();
    assert_eq!(count, 1);
    let (again, _) = {
        let mut tx = client.transaction().unwrap();
        let next = inner::register::publish_approved(&mut tx, last, 10, NOW).unwrap();
        tx.commit().unwrap();
        next
    };
    assert_eq!(again, 0, "nothing after the last filing published");
    assert_eq!(register_records(&db).len(), before + 1);
    assert_eq!(last_entry(&db).filing_number, number);
}

/// A store with approved filings from before migration 14 (made here by taking migrations 20,
/// 19, 18, 17, 16, 15 and 14 back out of a store, the inverse of their statements) migrates, and its filings can
/// then be revoked and published to the register.
#[test]
fn a_store_approved_before_migration_14_migrates_and_its_filings_can_be_revoked() {
    let db = TestDatabase::with_schema().expect("db");
    let number = approved_jia(&db);
    let mut client = db.connect().unwrap();
    client
        .batch_execute(
            "DELETE FROM return_queue
                 WHERE kind IN ('register-entry', 'register-removal', 'filing-password',
                                'approved-record');
             ALTER INDEX submission_versions_domains RESET (gin_pending_list_limit);
             ALTER TABLE submission_versions DROP COLUMN prev_state, DROP COLUMN entry_state;
             DROP TABLE bundle_frames;
             DROP TABLE provider_checks;
             ALTER TABLE submission_versions DROP CONSTRAINT submission_versions_kind_check;
             ALTER TABLE submission_versions ADD CONSTRAINT submission_versions_kind_check
                 CHECK (kind IN ('new-filing', 'change-subject', 'change-website',
                                 'change-access', 'added-website', 'cancel-subject',
                                 'cancel-website', 'cancel-access', 'withdrawal'));
             DROP SEQUENCE approved_record_events;
             DROP TABLE filing_passwords;
             ALTER TABLE return_queue DROP CONSTRAINT return_queue_kind_check;
             ALTER TABLE return_queue ADD CONSTRAINT return_queue_kind_check
                 CHECK (kind IN ('ack', 'status-change', 'certificate', 'bundle-refusal',
                                 'certificate-revocation'));
             DROP SEQUENCE register_events;
             DROP TABLE revocations;
             ALTER TABLE filings DROP CONSTRAINT filings_status_check;
             ALTER TABLE filings ADD CONSTRAINT filings_status_check
                 CHECK (status IN ('pending', 'active', 'cancelled', 'rejected', 'withdrawn'));
             ALTER TABLE subject_records DROP CONSTRAINT subject_records_status_check;
             ALTER TABLE subject_records ADD CONSTRAINT subject_records_status_check
                 CHECK (status IN ('pending', 'active', 'superseded', 'cancelled', 'discarded'));
             ALTER TABLE website_records DROP CONSTRAINT website_records_status_check;
             ALTER TABLE website_records ADD CONSTRAINT website_records_status_check
                 CHECK (status IN ('pending', 'active', 'superseded', 'cancelled', 'discarded'));
             DELETE FROM schema_migrations WHERE version IN (14, 15, 16, 17, 18, 19, 20);",
        )
        .unwrap();
    let report = inner::schema::migrate(&mut client).unwrap();
    assert_eq!(report.applied, [14, 15, 16, 17, 18, 19, 20]);
    assert!(register_records(&db).is_empty());

    let mut tx = client.transaction().unwrap();
    let (count, _) = inner::register::publish_approved(&mut tx, 0, 100, NOW).unwrap();
    tx.commit().unwrap();
    assert_eq!(count, 1);
    assert_eq!(last_entry(&db).filing_number, number);
    let beijing = account(&db, "bj-01", Role::Authority, Some(11), &[]);
    decide(&db, |tx| {
        review::revoke(tx, &number, None, "违规", &beijing, None, NOW + 120)
    })
    .unwrap();
    assert_eq!(filing_status(&db, &number), "revoked");
    assert_eq!(last_removal(&db).filing_number, number);
}

#[test]
fn a_change_pending_when_its_filing_was_revoked_cannot_be_approved() {
    let db = TestDatabase::with_schema().expect("db");
    let number = approved_jia(&db);
    apply_at(
        &db,
        2,
        &[version(
            "R5",
            1,
            Submission::Change {
                filing_number: number.clone(),
                change: bundle_format::records::Change::AddedWebsite(website(
                    "甲商城",
                    &["shop.jia.example.cn"],
                    5,
                )),
            },
        )],
    );
    let beijing = account(&db, "bj-01", Role::Authority, Some(11), &[]);
    decide(&db, |tx| {
        review::revoke(tx, &number, None, "违规", &beijing, None, NOW + 120)
    })
    .unwrap();
    let key = signer();
    let refused = decide(&db, |tx| {
        review::approve(tx, "R5", &ministry(&db), None, &key, NOW + 180)
    })
    .unwrap_err();
    assert!(
        matches!(refused, ReviewError::FilingNotActive { ref status, .. } if status == "revoked"),
        "{refused}"
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM website_domains WHERE active"),
        0,
        "nothing of the change was filed"
    );
    decide(&db, |tx| {
        review::reject(tx, "R5", &beijing, "备案已撤销", NOW + 240)
    })
    .unwrap();
}
