//! The round trip, on real SQLite and PostgreSQL: what a submitter sees at the end, what the
//! inner side stored, what the outer side deleted.

mod common;

use std::collections::BTreeSet;

use bundle_format::records::{Ack, ImportOutcome, RangeAck, ReceiptAck, Record};
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

/// The inner side acknowledges a bundle as a range (its members digest, no entry per
/// version, and the import time that stands for the arrivals); when the outer store's own
/// record of the bundle's range no longer matches, apply falls back to the members of the
/// bundle's retained copy, entry by entry, says why, and still shows each filing in the review
/// state it entered.
#[test]
fn a_range_ack_that_does_not_match_the_stored_range_falls_back_to_the_retained_bundle() {
    let mut app = Appliance::new(&[1]).unwrap();
    // Sent by the access provider: no provider check keeps their payloads after the ack.
    let receipts = submit_filings_as_provider(app.outer(), 1..=3);
    app.outer().export().unwrap();
    app.carry_in(0).unwrap();
    app.import().unwrap();
    let (_, format_version) = write_first_return(&mut app);
    assert_eq!(
        format_version,
        bundle_format::header::FORMAT_VERSION_11,
        "a return bundle with an ack is a range ack with its import time, format version 11"
    );
    // The outer store's record of the bundle loses its last version.
    rusqlite::Connection::open(&app.outer().node.database)
        .unwrap()
        .execute(
            "UPDATE transfer_outbox SET last_seq = last_seq - 1, versions = versions - 1
             WHERE kind = 'submissions'",
            [],
        )
        .unwrap();
    app.carry_out().unwrap();
    let applied = app.apply(0).unwrap();
    let file = &applied.files[0];
    assert_eq!(file.result, FileResult::Applied);
    assert_eq!(file.payloads_deleted, 3, "{file:?}");
    assert_eq!(file.range_fallbacks.len(), 1, "{file:?}");
    let fallback = &file.range_fallbacks[0];
    assert!(fallback.entry_by_entry, "{fallback:?}");
    assert!(
        fallback.reason.contains("holds 2 versions") && fallback.reason.contains("names 3"),
        "{fallback:?}"
    );
    let versions = outer_versions(&app.outer().node.database).unwrap();
    assert!(
        versions.iter().all(|v| v.acknowledged && !v.payload_stored),
        "{versions:?}"
    );
    // Delivered, and already past it: the same return bundle carries the review states.
    for receipt in &receipts {
        let status = app.outer().node.status(receipt).unwrap();
        assert_eq!(status["state"], "awaiting_regional_review", "{status}");
    }
    assert!(
        transfer::spool::list_bundles(&app.outer().spool.retained)
            .unwrap()
            .is_empty(),
        "the acknowledged bundle's retained copy goes"
    );
}

/// An inner store upgraded with bundles imported by the release before arrivals as state:
/// their ack waits in the return queue as a per-version ack, and their arrivals as review
/// events with queued status changes. After the upgrade they still go out as they were made, a
/// range ack (format version 3) and a status change per arrival, and the outer side shows each
/// filing in review, each arrival recorded once.
#[test]
fn an_ack_queued_before_the_upgrade_goes_out_with_its_arrivals_status_changes() {
    let mut app = Appliance::new(&[1]).unwrap();
    let receipts = submit_filings_as_provider(app.outer(), 1..=2);
    app.outer().export().unwrap();
    app.carry_in(0).unwrap();
    app.import().unwrap();
    // What the import before inner migration 19 left: the ack entry by entry, an arrival
    // review event and a queued status change per version, no entry state on the versions.
    let client = &mut app.inner.client;
    let queued = inner::returns::pending_returns(client, 100).unwrap();
    let Record::ArrivalAck(arrival) = &queued.entries[0].record else {
        panic!("{:?}", queued.entries)
    };
    let old_ack = per_version_ack(client, &arrival.ack);
    let old_ack = bincode::encode_to_vec(&old_ack, bundle_format::records::wire_config()).unwrap();
    client
        .execute(
            "UPDATE return_queue SET record = $1 WHERE entry_id = $2",
            &[&old_ack, &queued.entries[0].entry_id],
        )
        .unwrap();
    client
        .batch_execute(
            "WITH arrivals AS (
                 INSERT INTO review_events (receipt, version, from_state, to_state, reviewer, at)
                 SELECT receipt, version, prev_state, entry_state, 'import', received_at
                 FROM submission_versions ORDER BY bundle_position
                 RETURNING event_id, receipt, at)
             INSERT INTO return_queue (kind, event_id, queued_at, destination)
             SELECT 'status-change', event_id, at, receipt_channel(receipt) FROM arrivals;
             UPDATE submission_versions SET prev_state = NULL, entry_state = NULL;",
        )
        .unwrap();

    let (file, format_version) = write_first_return(&mut app);
    assert_eq!(format_version, bundle_format::header::FORMAT_VERSION_3);
    let (_, records) = transfer::examine::inspect(&file, &[]).unwrap();
    let kinds: Vec<&str> = records.iter().map(Record::kind_name).collect();
    assert_eq!(
        kinds,
        [
            "sequence-report",
            "range-ack",
            "status-change",
            "status-change"
        ],
        "the ack as a range ack, then the arrivals it was queued before"
    );
    app.carry_out().unwrap();
    let applied = app.apply(0).unwrap();
    assert_eq!(applied.files[0].result, FileResult::Applied, "{applied:?}");
    assert_eq!(applied.files[0].payloads_deleted, 2);
    for receipt in &receipts {
        let status = app.outer().node.status(receipt).unwrap();
        assert_eq!(status["state"], "awaiting_regional_review", "{status}");
        let states: Vec<&str> = status["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["state"].as_str().unwrap())
            .collect();
        assert_eq!(
            states
                .iter()
                .filter(|s| **s == "awaiting_regional_review")
                .count(),
            1,
            "{status}"
        );
    }
    // Imported after the upgrade, a bundle's ack carries its import time instead.
    let more = submit_filings_as_provider(app.outer(), 3..=3);
    app.outer().export().unwrap();
    app.carry_in(0).unwrap();
    app.import().unwrap();
    app.inner.write_return().unwrap();
    app.carry_out().unwrap();
    app.apply(0).unwrap();
    let status = app.outer().node.status(&more[0]).unwrap();
    assert_eq!(status["state"], "awaiting_regional_review", "{status}");
}

/// A return bundle written before range acks (format version 1, one ack entry per version)
/// still applies: it deletes exactly the versions it names.
#[test]
fn an_old_format_ack_with_an_entry_per_version_still_applies() {
    let mut app = Appliance::new(&[1]).unwrap();
    let receipts = submit_filings_as_provider(app.outer(), 1..=2);
    app.outer().export().unwrap();
    app.carry_in(0).unwrap();
    app.import().unwrap();
    // The ack an inner side of format version 1 would have sent for the bundle: one entry per
    // version, as the import stored them.
    let queued = inner::returns::pending_returns(&mut app.inner.client, 100).unwrap();
    let ranges: Vec<RangeAck> = queued
        .entries
        .into_iter()
        .filter_map(|entry| match entry.record {
            Record::ArrivalAck(arrival) => Some(arrival.ack),
            _ => None,
        })
        .collect();
    assert_eq!(ranges.len(), 1);
    let acks = vec![per_version_ack(&mut app.inner.client, &ranges[0])];
    let return_key = keys::SecretKey::read_file(&app.keys.inner_return, None).unwrap();
    let config = bundle_format::WriterConfig {
        kind: bundle_format::Kind::Return,
        channel: keys::ChannelId(transfer::demo::DEMO_RETURN_CHANNEL),
        epoch: 1,
        next_sequence: 1,
        previous: bundle_format::BundleId::ZERO,
        created: transfer::demo::now(),
        expires: transfer::demo::now() + 86_400,
        part_content_bytes: bundle_format::bundle::DEFAULT_PART_CONTENT_BYTES,
        part_records: 1000,
    };
    let file = sign_bundle(&return_key, config, &acks).unwrap();
    let (_, header) =
        bundle_format::bundle::peek_unverified(&file, &bundle_format::ReadLimits::default())
            .unwrap();
    assert_eq!(
        header.format_version,
        bundle_format::header::FORMAT_VERSION_1
    );
    std::fs::write(app.outer().spool.inbox.join("old-ack.bundle"), &file).unwrap();
    let applied = app.apply(0).unwrap();
    let file = &applied.files[0];
    assert_eq!(file.result, FileResult::Applied, "{file:?}");
    assert_eq!(file.payloads_deleted, 2);
    assert!(file.range_fallbacks.is_empty());
    assert_eq!(file.ack_mismatches, 0);
    for receipt in &receipts {
        assert_eq!(
            app.outer().node.status(receipt).unwrap()["state"],
            "delivered"
        );
    }
}

/// The ack the inner side sent before range acks for the bundle `range` acknowledges: one
/// entry per version, as the import stored them, each applied.
fn per_version_ack(client: &mut postgres::Client, range: &RangeAck) -> Record {
    let receipts = client
        .query(
            "SELECT receipt, version, content_hash FROM submission_versions
             WHERE bundle_id = $1 ORDER BY bundle_position",
            &[&&range.bundle_id[..]],
        )
        .unwrap()
        .iter()
        .map(|row| ReceiptAck {
            receipt: row.get(0),
            version: u32::try_from(row.get::<_, i64>(1)).unwrap(),
            content_hash: row.get::<_, Vec<u8>>(2).try_into().unwrap(),
            outcome: ImportOutcome::Applied,
            reason: None,
        })
        .collect();
    Record::Ack(Ack {
        bundle_id: range.bundle_id,
        channel: range.channel,
        sequence: range.sequence,
        receipts,
    })
}

/// Runs `return` inside; the first return bundle it wrote and its format version.
fn write_first_return(app: &mut Appliance) -> (Vec<u8>, u16) {
    app.inner.write_return().unwrap();
    let returned = transfer::spool::list_bundles(&app.inner.spool.outbox).unwrap();
    let file = std::fs::read(&returned[0]).unwrap();
    let (_, header) =
        bundle_format::bundle::peek_unverified(&file, &bundle_format::ReadLimits::default())
            .unwrap();
    (file, header.format_version)
}
