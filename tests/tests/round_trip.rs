//! The round trip, on real SQLite and PostgreSQL: what a submitter sees at the end, what the
//! inner side stored, what the outer side deleted.

mod common;

use std::collections::BTreeSet;
use transfer::outcome::FileResult;

use common::*;
use tests::{Appliance, outer_versions, signify_verifies};
use transfer::demo::{batch_csv, new_filing};

#[test]
fn every_accepted_submission_is_imported_once_acknowledged_deleted_outside_and_certified() {
    let mut app = Appliance::new(&[1]).unwrap();
    let mut receipts = submit_filings(app.outer(), 1..=4);
    let batch = app.outer().node.batch(&batch_csv(&[5, 6], &[7])).unwrap();
    assert_eq!(batch["rejected"], 1, "{batch}");
    for row in batch["results"].as_array().unwrap() {
        if let Some(receipt) = row["receipt"].as_str() {
            receipts.push(receipt.to_owned());
        }
    }
    assert_eq!(receipts.len(), 6);

    let export = app.outer().export().unwrap();
    assert_eq!(export.versions, 6);
    for receipt in &receipts {
        assert_eq!(
            app.outer().node.status(receipt).unwrap()["state"],
            "in_transit"
        );
    }
    assert_eq!(app.carry_in(0).unwrap(), 1);
    let import = app.import().unwrap();
    assert_eq!(import.count(FileResult::Applied), 1);
    assert_eq!(import.files[0].outcomes.get("applied"), Some(&6));
    let numbers = app.approve_all().unwrap();
    assert_eq!(numbers.len(), 6);
    let applied = return_to_first_outer(&mut app);
    assert_eq!(applied.count(FileResult::Applied), 1);
    assert_eq!(applied.files[0].payloads_deleted, 6);

    // Inside: each receipt stored exactly once.
    let rows = app
        .inner
        .client
        .query("SELECT receipt, version FROM submission_versions", &[])
        .unwrap();
    let stored: Vec<(String, i64)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    let unique: BTreeSet<_> = stored.iter().cloned().collect();
    assert_eq!(stored.len(), 6);
    assert_eq!(unique.len(), 6);
    assert_eq!(
        unique
            .iter()
            .map(|(r, _)| r.clone())
            .collect::<BTreeSet<_>>(),
        receipts.iter().cloned().collect()
    );

    // Outside: every version acknowledged and its payload gone; every status approved.
    let versions = outer_versions(&app.outer().node.database).unwrap();
    assert_eq!(versions.len(), 6);
    assert!(
        versions.iter().all(|v| v.acknowledged && !v.payload_stored),
        "{versions:?}"
    );
    let public = app.keys.inner_cert_pub.clone();
    for receipt in &receipts {
        let status = app.outer().node.status(receipt).unwrap();
        assert_eq!(status["state"], "approved", "{status}");
        assert_eq!(status["certificate_ready"], true, "{status}");
        let number = status["filing_number"].as_str().unwrap().to_owned();
        assert!(numbers.contains(&number));
        let certificate = app.outer().node.certificate(&number).unwrap();
        assert!(
            signify_verifies(&public, &certificate, app.dir()).unwrap(),
            "signify-openbsd refused the certificate of {number}"
        );
    }
    // Nothing is left unacknowledged in the retained outbox.
    assert!(
        transfer::spool::list_bundles(&app.outer().spool.retained)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn an_edit_made_while_its_first_version_is_in_transit_survives_and_goes_out_next_time() {
    let mut app = Appliance::new(&[1]).unwrap();
    let receipt = submit_filings(app.outer(), [1]).remove(0);
    app.outer().export().unwrap();
    app.carry_in(0).unwrap();
    let version = app
        .outer()
        .node
        .edit(&receipt, &new_filing(1, "企业展示门户网站"))
        .unwrap();
    assert_eq!(version, 2);
    app.import().unwrap();
    return_to_first_outer(&mut app);

    // Version 1 was acknowledged and deleted; version 2 is untouched and waits to go out.
    let versions = outer_versions(&app.outer().node.database).unwrap();
    assert_eq!(versions.len(), 2);
    assert!(versions[0].acknowledged && !versions[0].payload_stored);
    assert!(!versions[1].acknowledged && versions[1].payload_stored);
    assert_eq!(versions[1].exported_sequence, None);
    let status = app.outer().node.status(&receipt).unwrap();
    assert_eq!(status["state"], "received", "{status}");
    assert_eq!(status["version"], 2);

    let export = app.outer().export().unwrap();
    assert_eq!(export.versions, 1);
    app.carry_in(0).unwrap();
    app.import().unwrap();
    let stored: i64 = app
        .inner
        .client
        .query_one(
            "SELECT count(*) FROM submission_versions WHERE receipt = $1",
            &[&receipt],
        )
        .unwrap()
        .get(0);
    assert_eq!(stored, 2, "both versions are kept inside");
    app.approve_all().unwrap();
    return_to_first_outer(&mut app);
    let versions = outer_versions(&app.outer().node.database).unwrap();
    assert!(versions.iter().all(|v| v.acknowledged && !v.payload_stored));
    let status = app.outer().node.status(&receipt).unwrap();
    assert_eq!(status["state"], "approved");
    assert_eq!(status["version"], 2);
}

#[test]
fn replaying_archived_bundles_and_importing_the_same_file_twice_change_nothing() {
    let mut app = Appliance::new(&[1]).unwrap();
    submit_and_export(app.outer(), 1..=3);
    // The carrier delivers the same file twice (once under another name).
    transfer::carry::carry(&app.outer().spool.outbox, &app.medium, false).unwrap();
    let name = transfer::spool::list_bundles(&app.medium)
        .unwrap()
        .remove(0);
    std::fs::copy(&name, app.inner.spool.inbox.join("again.bundle")).unwrap();
    transfer::carry::carry(&app.medium, &app.inner.spool.inbox, false).unwrap();
    let import = app.import().unwrap();
    assert_eq!(import.count(FileResult::Applied), 1);
    assert_eq!(import.count(FileResult::Duplicate), 1);
    app.approve_all().unwrap();
    return_to_first_outer(&mut app);

    let inner_before = app.inner_counts().unwrap();
    let outer_before = outer_versions(&app.outer().node.database).unwrap();
    let statuses_before: Vec<_> = outer_before
        .iter()
        .map(|v| app.outer().node.status(&v.receipt).unwrap())
        .collect();

    // Every archived bundle, on both sides, goes through again.
    for archived in transfer::spool::list_bundles(&app.inner.spool.archive).unwrap() {
        let copy = app.inner.spool.inbox.join(archived.file_name().unwrap());
        std::fs::copy(&archived, &copy).unwrap();
    }
    let again = app.import().unwrap();
    assert!(
        again.files.iter().all(|f| f.result == "duplicate"),
        "{again:?}"
    );
    for archived in transfer::spool::list_bundles(&app.outer().spool.archive).unwrap() {
        let copy = app.outer().spool.inbox.join(archived.file_name().unwrap());
        std::fs::copy(&archived, &copy).unwrap();
    }
    let again = app.apply(0).unwrap();
    assert!(
        again.files.iter().all(|f| f.result == "duplicate"),
        "{again:?}"
    );

    assert_eq!(app.inner_counts().unwrap(), inner_before);
    assert_eq!(
        outer_versions(&app.outer().node.database).unwrap(),
        outer_before
    );
    let statuses_after: Vec<_> = outer_before
        .iter()
        .map(|v| app.outer().node.status(&v.receipt).unwrap())
        .collect();
    assert_eq!(statuses_after, statuses_before);
}
