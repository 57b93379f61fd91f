//! The approved record inside, on a real PostgreSQL: an approval queues the filing as it was
//! normalised (subject, websites with their numbers, domains, IP ranges, access,
//! pre-approvals) for the intake node of the filing's first receipt; an approved change queues
//! the filing as it now stands under a newer event; a revocation and a cancellation queue its
//! withdrawal with the reason.

mod common;

use bundle_format::records::{
    ApprovedRecord, ApprovedState, CancellationScope, Change, PreApproval, PreApprovalItem, Record,
    ServiceType, Submission,
};
use common::*;
use inner::review;
use testkit::pg::TestDatabase;

/// The approved records waiting in the return queue, oldest first, with their destination.
fn queued(db: &TestDatabase) -> Vec<(Option<i64>, ApprovedRecord)> {
    let mut client = db.connect().unwrap();
    let destinations: Vec<(i64, Option<i64>)> = client
        .query(
            "SELECT entry_id, destination FROM return_queue WHERE kind = 'approved-record'",
            &[],
        )
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    inner::returns::pending_returns(&mut client, 10_000)
        .unwrap()
        .entries
        .into_iter()
        .filter_map(|e| match e.record {
            Record::ApprovedRecord(record) => {
                let destination = destinations
                    .iter()
                    .find(|(id, _)| *id == e.entry_id)
                    .and_then(|(_, d)| *d);
                Some((destination, record))
            }
            _ => None,
        })
        .collect()
}

fn approved_state(record: &ApprovedRecord) -> (&bundle_format::records::Subject, Vec<&str>) {
    let ApprovedState::Approved { subject, websites } = &record.state else {
        panic!("not approved: {record:?}")
    };
    (
        subject,
        websites.iter().map(|w| w.website_number.as_str()).collect(),
    )
}

/// A new database where 甲公司's filing `R1` of jia.example.cn is approved; returns its number.
fn jia_approved() -> (TestDatabase, String) {
    let db = TestDatabase::with_schema().expect("db");
    apply_at(&db, 1, &[jia_filing(1, &["jia.example.cn"], 1)]);
    let number = approve(&db, "R1").filing_number.unwrap();
    (db, number)
}

/// Applies `R2`, the cancellation of `filing_number` (its `scope`, for `reason`), and approves it.
fn cancellation_approved(
    db: &TestDatabase,
    filing_number: &str,
    scope: CancellationScope,
    reason: &str,
) {
    apply_at(
        db,
        2,
        &[version(
            "R2",
            1,
            Submission::Cancellation {
                filing_number: filing_number.to_owned(),
                scope,
                reason: reason.into(),
            },
        )],
    );
    approve(db, "R2");
}

#[test]
fn an_approval_queues_the_filing_as_normalised_for_its_owners_node() {
    let db = TestDatabase::with_schema().expect("db");
    let mut submitted = one_site_filing(
        "R1",
        "北京甲科技有限公司",
        "C1",
        "甲官网",
        &["jia.example.cn", "www.jia.example.cn"],
        1,
    );
    let Submission::NewFiling(filing) = &mut submitted.body else {
        unreachable!()
    };
    filing.websites[0].service_types = vec![ServiceType::Showcase, ServiceType::News];
    filing.websites[0].pre_approvals = vec![PreApproval {
        item: PreApprovalItem::News,
        document_number: "京新审〔2026〕12号".into(),
    }];
    let filing = filing.clone();
    submitted.content_hash = bundle_format::records::content_hash(&submitted.body);
    apply_at(&db, 1, &[submitted]);
    // The pre-approval stage first, then the regional review.
    approve(&db, "R1");
    assert!(queued(&db).is_empty(), "nothing before the final approval");
    let number = approve(&db, "R1").filing_number.unwrap();

    let records = queued(&db);
    assert_eq!(records.len(), 1);
    let (destination, record) = &records[0];
    let channel = count(&db, "SELECT receipt_channel('R1')");
    assert_eq!(*destination, Some(channel), "for the node that created R1");
    assert_eq!(record.filing_number, number);
    assert_eq!(record.origin_receipt, "R1");
    assert_eq!(
        record.filer, "bjcloud",
        "the access provider that filed it for owner1 is the account that filed"
    );
    assert_eq!(record.at, NOW + 60);
    let ApprovedState::Approved { subject, websites } = &record.state else {
        panic!("{record:?}")
    };
    assert_eq!(*subject, filing.subject, "the subject as approved");
    assert_eq!(websites.len(), 1);
    assert_eq!(websites[0].website_number, format!("{number}-1"));
    assert_eq!(
        websites[0].website, filing.websites[0],
        "the website as approved"
    );
    assert_eq!(
        record.access_providers(),
        [filing.websites[0].access.provider.as_str()]
    );
}

#[test]
fn the_record_of_a_filing_its_owner_sent_directly_names_the_owner_as_filer() {
    let db = TestDatabase::with_schema().expect("db");
    let mut direct = one_site_filing(
        "R1",
        "北京甲科技有限公司",
        "C1",
        "甲官网",
        &["jia.example.cn"],
        1,
    );
    direct.access_provider = None;
    apply_at(&db, 1, &[direct]);
    // The provider named on the website checks it first, then the authority approves.
    approve(&db, "R1");
    approve(&db, "R1");
    let records = queued(&db);
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0].1.filer, "owner1");
}

#[test]
fn an_approved_change_sends_the_filing_as_it_now_stands_under_a_newer_event() {
    let (db, number) = jia_approved();
    let mut changed = website("甲网", &["jia.example.cn", "m.jia.example.cn"], 7);
    changed.access.provider = "江南接入".into();
    apply_at(
        &db,
        2,
        &[
            first_website_changed("R2", &number, changed.clone()),
            version(
                "R3",
                1,
                Submission::Change {
                    filing_number: number.clone(),
                    change: Change::AddedWebsite(website("甲商城", &["shop.jia.example.cn"], 2)),
                },
            ),
        ],
    );
    approve(&db, "R2");
    approve(&db, "R3");

    let records = queued(&db);
    assert_eq!(records.len(), 3);
    assert!(records.windows(2).all(|w| w[0].1.event < w[1].1.event));
    let (_, latest) = &records[2];
    assert_eq!(
        latest.origin_receipt, "R1",
        "still the filing's first receipt"
    );
    let (_, numbers) = approved_state(latest);
    assert_eq!(numbers, [format!("{number}-1"), format!("{number}-2")]);
    let ApprovedState::Approved { websites, .. } = &latest.state else {
        unreachable!()
    };
    assert_eq!(websites[0].website, changed, "the website as changed");
    assert_eq!(latest.access_providers().len(), 2);
}

#[test]
fn a_cancelled_access_leaves_the_website_without_its_provider_and_addresses() {
    let (db, number) = jia_approved();
    cancellation_approved(
        &db,
        &format!("{number}-1"),
        CancellationScope::Access,
        "更换接入商",
    );
    let records = queued(&db);
    let (_, latest) = records.last().unwrap();
    let ApprovedState::Approved { websites, .. } = &latest.state else {
        panic!("{latest:?}")
    };
    assert_eq!(websites[0].website.access.provider, "");
    assert!(websites[0].website.access.ip_ranges.is_empty());
    assert!(
        latest.access_providers().is_empty(),
        "the provider no longer reads it"
    );
}

#[test]
fn a_revocation_and_a_cancellation_withdraw_the_record_with_the_reason() {
    let (db, number) = jia_approved();
    let mut client = db.connect().unwrap();
    let mut tx = client.transaction().unwrap();
    review::revoke(
        &mut tx,
        &number,
        None,
        "违规",
        &ministry(&db),
        None,
        NOW + 120,
    )
    .unwrap();
    tx.commit().unwrap();
    let records = queued(&db);
    assert_eq!(
        records.last().unwrap().1.state,
        ApprovedState::Withdrawn {
            reason: "filing-revoked".into()
        }
    );

    let (db, number) = jia_approved();
    cancellation_approved(&db, &number, CancellationScope::Subject, "网站关闭");
    let records = queued(&db);
    let (destination, withdrawn) = records.last().unwrap();
    assert_eq!(withdrawn.filing_number, number);
    assert_eq!(
        withdrawn.state,
        ApprovedState::Withdrawn {
            reason: "filing-cancelled".into()
        }
    );
    assert_eq!(
        *destination,
        Some(count(&db, "SELECT receipt_channel('R1')"))
    );
}

/// A store whose filings were approved before migration 16 never sent their records:
/// `records publish` (`publish_approved`) queues each approved filing's record once, for the
/// node of its first receipt, in batches that pick up after the last filing, and nothing for a
/// filing still pending.
#[test]
fn records_publish_sends_every_approved_filing_once_and_no_pending_one() {
    let (db, number) = jia_approved();
    apply_at(
        &db,
        2,
        &[one_site_filing(
            "R2",
            "乙公司",
            "C2",
            "乙网",
            &["yi.example.cn"],
            2,
        )],
    );
    let mut client = db.connect().unwrap();
    // As a store approved before migration 16 left it: no record was ever queued.
    client
        .execute(
            "DELETE FROM return_queue WHERE kind = 'approved-record'",
            &[],
        )
        .unwrap();
    assert!(queued(&db).is_empty());

    let mut tx = client.transaction().unwrap();
    let (published, last) = inner::approved_records::publish_approved(&mut tx, 0, 10, NOW).unwrap();
    tx.commit().unwrap();
    assert_eq!(published, 1, "the approved filing, not the pending one");
    let mut tx = client.transaction().unwrap();
    let (again, _) = inner::approved_records::publish_approved(&mut tx, last, 10, NOW).unwrap();
    tx.commit().unwrap();
    assert_eq!(again, 0, "nothing after the last filing published");

    let records = queued(&db);
    assert_eq!(records.len(), 1);
    let (destination, record) = &records[0];
    assert_eq!(record.filing_number, number);
    assert_eq!(record.origin_receipt, "R1");
    let channel = count(&db, "SELECT receipt_channel('R1')");
    assert_eq!(*destination, Some(channel), "for the node that created R1");
    let (_, websites) = approved_state(record);
    assert_eq!(websites, [format!("{number}-1").as_str()]);
}
