//! Fault injection: dropped bundles, attacks on the channel, and two outer nodes feeding one
//! inner database — each on real SQLite and PostgreSQL.

mod common;

use bundle_format::records::Record;
use bundle_format::{BundleId, Expectation, Kind, ReadLimits, WriterConfig};
use common::*;
use keys::{ChannelId, Role, SecretKey, Signer};
use tests::{Appliance, outer_versions};
use transfer::demo;
use transfer::outcome::FileResult;

/// Signs `records` into one submissions bundle file on `channel`.
fn bundle_file(
    signer: &dyn Signer,
    channel: u32,
    sequence: u64,
    previous: BundleId,
    created: i64,
    expires: i64,
    records: &[Record],
) -> Vec<u8> {
    let config = WriterConfig {
        kind: Kind::Submissions,
        channel: ChannelId(channel),
        epoch: 1,
        next_sequence: sequence,
        previous,
        created,
        expires,
        part_content_bytes: bundle_format::bundle::DEFAULT_PART_CONTENT_BYTES,
        part_records: 1000,
    };
    sign_bundle(signer, config, records).unwrap()
}

#[test]
fn forged_tampered_expired_wrong_role_and_forked_bundles_are_quarantined_and_apply_nothing() {
    let mut app = Appliance::new(&[1]).unwrap();
    submit_and_export(app.outer(), [1]);
    let legit_path = transfer::spool::list_bundles(&app.outer().spool.outbox)
        .unwrap()
        .remove(0);
    let legit = std::fs::read(&legit_path).unwrap();
    let now = demo::now();
    let verified = bundle_format::read_bundle(
        &legit,
        &app.keyset,
        &Expectation {
            role: Role::OuterBundle,
            channel: ChannelId(1),
            at: now,
        },
        &ReadLimits::default(),
    )
    .unwrap();
    app.carry_in(0).unwrap();
    assert_eq!(app.import().unwrap().count(FileResult::Applied), 1);
    let before = app.inner_counts().unwrap();

    // What an attacker would want applied: a submission under a receipt never issued outside.
    let Record::Submission(mut planted) = verified.records[0].clone() else {
        panic!("a submissions bundle holds submissions");
    };
    planted.receipt = "R20261122-PLANTED1".into();
    let records = [Record::Submission(planted)];
    let outer_key = SecretKey::read_file(app.keys.outer_key(ChannelId(1)).unwrap(), None).unwrap();
    let return_key = SecretKey::read_file(&app.keys.inner_return, None).unwrap();
    let day = 24 * 3600;
    let inbox = app.inner.spool.inbox.clone();
    let write = |name: &str, bytes: &[u8]| std::fs::write(inbox.join(name), bytes).unwrap();

    write(
        "forged_bundle.bundle",
        &bundle_file(
            &SecretKey::generate(),
            1,
            2,
            verified.id,
            now,
            now + day,
            &records,
        ),
    );
    let mut tampered = bundle_file(&outer_key, 1, 2, verified.id, now, now + day, &records);
    let last = tampered.len() - 1;
    tampered[last] ^= 0x01;
    write("tampered_bundle.bundle", &tampered);
    write(
        "expired_bundle.bundle",
        &bundle_file(
            &outer_key,
            1,
            2,
            verified.id,
            now - 10 * day,
            now - day,
            &records,
        ),
    );
    write(
        "ack_key_signed_submissions.bundle",
        &bundle_file(&return_key, 1, 2, verified.id, now, now + day, &records),
    );
    write(
        "forked_bundle.bundle",
        &bundle_file(
            &outer_key,
            1,
            1,
            BundleId::ZERO,
            now + 1,
            now + day,
            &records,
        ),
    );

    let report = app.import().unwrap();
    assert_eq!(report.files.len(), 5);
    let codes: std::collections::BTreeMap<String, String> = report
        .files
        .iter()
        .map(|f| {
            assert_eq!(f.result, "quarantined", "{f:?}");
            (f.file.clone(), f.reason.clone().unwrap_or_default())
        })
        .collect();
    for (file, reason) in [
        ("forged_bundle.bundle", "not in the keyset"),
        ("tampered_bundle.bundle", "signature"),
        ("expired_bundle.bundle", "chain.expired"),
        (
            "ack_key_signed_submissions.bundle",
            "inner-return key, not a outer-bundle",
        ),
        ("forked_bundle.bundle", "chain.fork"),
    ] {
        assert!(codes[file].contains(reason), "{file}: {codes:?}");
    }

    // Each sits in quarantine with its reason beside it; nothing reached the database.
    for name in codes.keys() {
        let placed = app.inner.spool.quarantine.join(name);
        let reason = transfer::spool::read_reason(&placed).expect("reason file");
        assert_eq!(&reason.original_name, name);
        assert!(!reason.code.is_empty());
    }
    assert!(transfer::spool::list_bundles(&inbox).unwrap().is_empty());
    assert_eq!(app.inner_counts().unwrap(), before);
    let planted: i64 = app
        .inner
        .client
        .query_one(
            "SELECT count(*) FROM submission_versions WHERE receipt = 'R20261122-PLANTED1'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(planted, 0);
}

#[test]
fn a_dropped_bundle_is_reported_missing_inside_and_re_sent_from_outside() {
    let mut app = Appliance::new(&[1]).unwrap();
    submit_and_export(app.outer(), 1..=2);
    // The carrier loses sequence 1.
    transfer::carry::carry(&app.outer().spool.outbox, &app.medium, false).unwrap();
    for lost in transfer::spool::list_bundles(&app.medium).unwrap() {
        std::fs::remove_file(lost).unwrap();
    }
    submit_and_export(app.outer(), 3..=4);
    app.carry_in(0).unwrap();
    let import = app.import().unwrap();
    assert_eq!(
        import.count(FileResult::Applied),
        1,
        "later bundles still apply"
    );
    assert_eq!(import.files[0].gap, Some((1, 1)));

    let ret = app.inner.write_return().unwrap();
    assert_eq!(ret.sequence_reports, vec![(1, 1, vec![1])]);
    app.carry_out().unwrap();
    let applied = app.apply(0).unwrap();
    assert_eq!(applied.files[0].republished, vec![1]);
    assert_eq!(
        applied.files[0].payloads_deleted, 0,
        "acknowledged, kept for the provider's check"
    );

    app.carry_in(0).unwrap();
    assert_eq!(app.import().unwrap().count(FileResult::Applied), 1);
    app.approve_all().unwrap();
    return_to_first_outer(&mut app);

    let versions = outer_versions(&app.outer().node.database).unwrap();
    assert_eq!(versions.len(), 4);
    assert!(
        versions.iter().all(|v| v.acknowledged && !v.payload_stored),
        "{versions:?}"
    );
    let reports = inner::returns::sequence_reports(&mut app.inner.client).unwrap();
    assert_eq!(reports[0].highest_contiguous, 2);
    assert!(reports[0].missing.is_empty());
    let stored: i64 = app
        .inner
        .client
        .query_one(
            "SELECT count(DISTINCT receipt) FROM submission_versions",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(stored, 4);
}

#[test]
fn two_outer_nodes_on_two_channels_feed_one_inner_database() {
    let mut app = Appliance::new(&[1, 2]).unwrap();
    let receipts = [
        submit_filings(&app.outers[0], 1..=3),
        submit_filings(&app.outers[1], 21..=23),
    ];
    app.outers[0].export().unwrap();
    app.outers[1].export().unwrap();
    app.carry_in(0).unwrap();
    app.carry_in(1).unwrap();
    let import = app.import().unwrap();
    assert_eq!(import.count(FileResult::Applied), 2);
    assert_eq!(app.approve_all().unwrap().len(), 6);
    app.inner.write_return().unwrap();
    app.carry_out().unwrap();
    for (i, own) in receipts.iter().enumerate() {
        let applied = app.apply(i).unwrap();
        assert_eq!(applied.count(FileResult::Applied), 1);
        // Each node deletes its own three payloads and is told nothing about the other's.
        assert_eq!(applied.files[0].payloads_deleted, 3);
        assert_eq!(applied.files[0].ack_mismatches, 0);
        assert_eq!(applied.files[0].certificates, 3);
        let versions = outer_versions(&app.outers[i].node.database).unwrap();
        assert_eq!(versions.len(), 3);
        assert!(versions.iter().all(|v| v.acknowledged && !v.payload_stored));
        for receipt in own {
            assert_eq!(
                app.outers[i].node.status(receipt).unwrap()["state"],
                "approved"
            );
        }
    }
    let channels = contiguous_per_channel(&mut app);
    assert_eq!(channels, vec![(1, 1), (2, 1)]);
}

#[test]
fn a_lost_return_bundle_is_healed_when_the_outer_side_sends_its_unacknowledged_bundle_again() {
    let mut app = Appliance::new(&[1]).unwrap();
    let receipts = imported_and_approved(&mut app, 1..=2);
    app.inner.write_return().unwrap();
    // The return carrier loses the bundle with the acks, status changes and certificates.
    transfer::carry::carry(&app.inner.spool.outbox, &app.medium, false).unwrap();
    for lost in transfer::spool::list_bundles(&app.medium).unwrap() {
        std::fs::remove_file(lost).unwrap();
    }
    for receipt in &receipts {
        assert_eq!(
            app.outer().node.status(receipt).unwrap()["state"],
            "in_transit"
        );
    }

    // A day and more later the outer side publishes its unacknowledged bundle again.
    let later = demo::now() + 2 * 24 * 3600;
    let export = app.outer().export_at(later).unwrap();
    assert_eq!(export.republished, vec![1]);
    app.carry_in(0).unwrap();
    let import = app.import().unwrap();
    let duplicate = import
        .files
        .iter()
        .find(|f| f.result == "duplicate")
        .unwrap();
    assert_eq!(duplicate.returns_resent.len(), 1);
    let applied = return_to_first_outer(&mut app);
    assert_eq!(applied.count(FileResult::Applied), 2, "{applied:?}");

    let versions = outer_versions(&app.outer().node.database).unwrap();
    assert!(
        versions.iter().all(|v| v.acknowledged && !v.payload_stored),
        "{versions:?}"
    );
    assert_approved_with_certificates(&app, &receipts);
}

#[test]
fn a_return_queue_longer_than_one_bundle_goes_out_in_several_chained_bundles() {
    let mut app = Appliance::new(&[1]).unwrap();
    let receipts = imported_and_approved(&mut app, 1..=3);
    let report = write_return_on(&mut app, ChannelId(demo::DEMO_RETURN_CHANNEL), None, 2);
    assert!(report.written.len() > 1, "{report:?}");
    let sequences: Vec<u64> = report.written.iter().map(|b| b.sequence).collect();
    assert_eq!(
        sequences,
        (1..=report.written.len() as u64).collect::<Vec<_>>()
    );
    app.carry_out().unwrap();
    let applied = app.apply(0).unwrap();
    assert_eq!(applied.count(FileResult::Applied), report.written.len());
    assert_approved_with_certificates(&app, &receipts);
}

#[test]
fn a_bundle_whose_epoch_no_ledger_holds_is_quarantined_and_the_rest_of_the_spool_imports() {
    let mut app = Appliance::new(&[1, 2]).unwrap();
    submit_filings(&app.outers[0], [1]);
    submit_filings(&app.outers[1], [21]);
    app.outers[0].export().unwrap();
    app.outers[1].export().unwrap();
    app.carry_in(0).unwrap();
    app.carry_in(1).unwrap();
    // Correctly signed by channel 1's key, at epoch 2^63: chain order puts it after channel
    // 1's bundle and before channel 2's.
    let outer_key = SecretKey::read_file(app.keys.outer_key(ChannelId(1)).unwrap(), None).unwrap();
    let now = demo::now();
    let config = WriterConfig {
        kind: Kind::Heartbeat,
        channel: ChannelId(1),
        epoch: 1 << 63,
        next_sequence: 1,
        previous: BundleId::ZERO,
        created: now,
        expires: now + 24 * 3600,
        part_content_bytes: bundle_format::bundle::DEFAULT_PART_CONTENT_BYTES,
        part_records: 1000,
    };
    let huge_epoch = sign_bundle(&outer_key, config, &[]).unwrap();
    let name = "heartbeat-c1-huge-epoch.bundle";
    std::fs::write(app.inner.spool.inbox.join(name), huge_epoch).unwrap();

    let report = app.import().unwrap();

    let results: Vec<(Option<u32>, FileResult)> =
        report.files.iter().map(|f| (f.channel, f.result)).collect();
    assert_eq!(
        results,
        vec![
            (Some(1), FileResult::Applied),
            (Some(1), FileResult::Quarantined),
            (Some(2), FileResult::Applied),
        ],
        "{report:?}"
    );
    let refused = transfer::spool::read_reason(&app.inner.spool.quarantine.join(name)).unwrap();
    assert_eq!(refused.code, "header.out-of-range");
    assert!(
        refused.reason.contains("epoch 9223372036854775808"),
        "{refused:?}"
    );
    // Nothing is left to hold the next run back.
    assert!(app.import().unwrap().files.is_empty());
    let channels = contiguous_per_channel(&mut app);
    assert_eq!(channels, vec![(1, 1), (2, 1)]);
}
