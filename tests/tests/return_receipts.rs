//! Return receipts (issue 14 item 9): an outer node says, on every submissions bundle and
//! heartbeat, how far it has applied the return channel. A replayed old bundle then re-sends only
//! what the node lacks, and the inner host deletes the return bundles every node it serves has
//! applied — on a real PostgreSQL cluster and real SQLite stores.

mod common;

use bundle_format::records::{Record, ReturnReceipt};
use bundle_format::{Kind, WriterConfig};
use common::*;
use keys::ChannelId;
use tests::Appliance;
use transfer::demo;
use transfer::outcome::FileResult;

/// The sequence numbers of the return bundles in the inner host's retained outbox.
fn retained_returns(app: &Appliance) -> Vec<u64> {
    let mut sequences: Vec<u64> = transfer::spool::list_bundles(&app.inner.spool.retained)
        .unwrap()
        .iter()
        .filter_map(|path| {
            let name = path.file_name()?.to_string_lossy().into_owned();
            let rest = name.strip_prefix("return-")?;
            let sequence = rest.split('-').find_map(|part| part.strip_prefix('s'))?;
            sequence.parse().ok()
        })
        .collect();
    sequences.sort_unstable();
    sequences
}

/// One whole round: filings `numbers` submitted at the first outer node, exported, imported,
/// approved, returned and applied there.
fn round(app: &mut Appliance, numbers: std::ops::RangeInclusive<u32>) -> Vec<String> {
    let receipts = imported_and_approved(app, numbers);
    let applied = return_to_first_outer(app);
    assert_eq!(applied.count(FileResult::Applied), 1, "{applied:?}");
    receipts
}

/// The first outer node exports (a heartbeat when nothing waits) and the inner host imports
/// it; returns the receipts the imported bundles carried, as (through, what became of it).
fn send_receipt(app: &mut Appliance) -> Vec<(u64, &'static str)> {
    app.outer().export().unwrap();
    app.carry_in(0).unwrap();
    let import = app.import().unwrap();
    import
        .files
        .iter()
        .flat_map(|file| file.receipts.iter().map(|r| (r.through, r.taken)))
        .collect()
}

/// Delivers the channel's first submissions bundle to the inner host again and imports it;
/// returns the return bundles that duplicate made it publish again.
fn replay_first_bundle(app: &mut Appliance) -> Vec<String> {
    deliver_archived_again(
        &app.inner.spool.archive,
        &app.inner.spool.inbox,
        "submissions-c1-e1-s000000000001-",
    );
    let import = app.import().unwrap();
    assert_eq!(import.count(FileResult::Duplicate), 1, "{import:?}");
    import.files[0].returns_resent.clone()
}

#[test]
fn a_replayed_old_submissions_bundle_resends_only_the_return_bundles_the_outer_lacks() {
    let mut app = Appliance::new(&[1]).unwrap();
    round(&mut app, 1..=2);
    round(&mut app, 3..=4);
    // The third round's return bundle is lost on the way out.
    let lost = imported_and_approved(&mut app, 5..=6);
    app.inner.write_return().unwrap();
    transfer::carry::carry(&app.inner.spool.outbox, &app.medium, false).unwrap();
    for file in transfer::spool::list_bundles(&app.medium).unwrap() {
        std::fs::remove_file(file).unwrap();
    }
    // The outer node says it has applied return bundles 1 and 2.
    assert_eq!(send_receipt(&mut app), vec![(2, "behind")]);

    // Someone delivers the very first submissions bundle again. Before receipts, every return
    // bundle written since it was imported went out again; now only the lost one does.
    let resent = replay_first_bundle(&mut app);
    assert_eq!(resent.len(), 1, "{resent:?}");
    assert!(resent[0].starts_with("return-c"), "{resent:?}");
    assert!(resent[0].contains("-s000000000003-"), "{resent:?}");

    // The one bundle resent is what the node lacked: its third round is approved now.
    app.carry_out().unwrap();
    let applied = app.apply(0).unwrap();
    assert_eq!(applied.count(FileResult::Applied), 1, "{applied:?}");
    assert_approved_with_certificates(&app, &lost);

    // Replayed again and again, the same bundle sends nothing once the node has said so.
    assert_eq!(send_receipt(&mut app), vec![(3, "recorded")]);
    for _ in 0..3 {
        assert!(replay_first_bundle(&mut app).is_empty());
    }
}

#[test]
fn retained_return_bundles_are_deleted_once_the_outer_node_has_applied_them() {
    let mut app = Appliance::new(&[1]).unwrap();
    round(&mut app, 1..=2);
    // Nothing was acknowledged when the first return bundle was written: it is kept.
    assert_eq!(retained_returns(&app), vec![1]);
    // The second submissions bundle carried the node's receipt for it: the second return run
    // deleted it and kept only its own bundle, which the node had not seen yet.
    round(&mut app, 3..=4);
    assert_eq!(retained_returns(&app), vec![2]);

    // A heartbeat says the node applied that one too; the next return run deletes it.
    assert_eq!(send_receipt(&mut app), vec![(2, "recorded")]);
    let report = app.inner.write_return().unwrap();
    assert_eq!(report.pruned, 1, "{report:?}");
    assert_eq!(report.retained, 1, "{report:?}");
    assert_eq!(retained_returns(&app), vec![3]);
    let status = transfer::inner_side::status(&mut app.inner.client).unwrap();
    assert_eq!(status.return_bundles_sent, 3);
    assert_eq!(status.return_bundles_retained, 1);
    assert_eq!(status.return_receipts.len(), 1);
    assert_eq!(status.return_receipts[0].channel, 1);
    assert_eq!(status.return_receipts[0].through, 2);

    // The metrics say the same.
    let metrics = transfer::metrics::render(&transfer::metrics::Snapshot {
        inner: Some(&status),
        now: demo::now(),
        keyset: None,
        outer: None,
        spool: None,
        quarantine: None,
    });
    assert!(
        metrics.contains("sluice_inner_return_bundles_retained 1\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("sluice_inner_return_receipt_through{channel=\"1\",return_channel=\""),
        "{metrics}"
    );
}

#[test]
fn a_receipt_claiming_return_bundles_not_yet_written_cannot_delete_them() {
    let mut app = Appliance::new(&[1]).unwrap();
    round(&mut app, 1..=2);
    // The node's signing key makes a heartbeat claiming a million return bundles applied.
    let state = {
        let conn = rusqlite::Connection::open(&app.outer().node.database).unwrap();
        outer::store::ledger::send_state_on(&conn, ChannelId(1)).unwrap()
    };
    let now = demo::now();
    let config = WriterConfig {
        kind: Kind::Heartbeat,
        channel: ChannelId(1),
        epoch: state.epoch,
        next_sequence: state.next_sequence,
        previous: state.previous,
        created: now,
        expires: now + 3600,
        part_content_bytes: bundle_format::bundle::DEFAULT_PART_CONTENT_BYTES,
        part_records: 16,
    };
    let claim = Record::ReturnReceipt(ReturnReceipt {
        channel: demo::DEMO_RETURN_CHANNEL,
        epoch: 1,
        through: 1_000_000,
    });
    let file = sign_bundle(&app.outer().key, config, &[claim]).unwrap();
    std::fs::write(app.inner.spool.inbox.join("forged-claim.bundle"), file).unwrap();
    let import = app.import().unwrap();
    assert_eq!(import.count(FileResult::Applied), 1, "{import:?}");
    assert_eq!(import.files[0].receipts[0].taken, "recorded");

    // The claim covers the one return bundle that existed, and nothing written after it.
    let status = transfer::inner_side::status(&mut app.inner.client).unwrap();
    assert_eq!(status.return_receipts[0].through, 1);
    let first = app.inner.write_return().unwrap();
    assert_eq!(first.pruned, 1, "{first:?}");
    let second = app.inner.write_return().unwrap();
    assert_eq!(second.pruned, 0, "{second:?}");
    assert_eq!(retained_returns(&app), vec![2, 3]);
}

#[test]
fn one_nodes_receipt_does_not_delete_what_another_node_on_the_shared_return_channel_lacks() {
    let mut app = Appliance::new(&[1, 2]).unwrap();
    submit_and_export(&app.outers[0], 1..=2);
    let second = submit_and_export(&app.outers[1], 21..=22);
    app.carry_in(0).unwrap();
    app.carry_in(1).unwrap();
    app.import().unwrap();
    app.approve_all().unwrap();
    app.inner.write_return().unwrap();
    app.carry_out().unwrap();
    // Only the first node applies the return bundle; the second node's apply has not run.
    app.apply(0).unwrap();

    // The first node acknowledges; the second node's heartbeat carries no receipt (it has
    // applied nothing), which holds every bundle back.
    assert_eq!(send_receipt(&mut app), vec![(1, "recorded")]);
    app.outers[1].export().unwrap();
    app.carry_in(1).unwrap();
    let import = app.import().unwrap();
    assert!(
        import.files.iter().all(|f| f.receipts.is_empty()),
        "{import:?}"
    );
    let report = app.inner.write_return().unwrap();
    assert_eq!(report.pruned, 0, "{report:?}");
    assert_eq!(retained_returns(&app), vec![1, 2]);

    // Once the second node has applied the first bundle and said so, that one goes; the
    // second, which it has not applied, stays.
    let applied = app.apply(1).unwrap();
    assert_eq!(applied.count(FileResult::Applied), 1, "{applied:?}");
    assert_approved_with_certificates_at(&app, 1, &second);
    app.outers[1].export().unwrap();
    app.carry_in(1).unwrap();
    let import = app.import().unwrap();
    let receipts: Vec<u64> = import
        .files
        .iter()
        .flat_map(|f| f.receipts.iter().map(|r| r.through))
        .collect();
    assert_eq!(receipts, vec![1]);
    let report = app.inner.write_return().unwrap();
    assert_eq!(report.pruned, 1, "{report:?}");
    assert_eq!(retained_returns(&app), vec![2, 3]);
}

/// The outer node `i` tells the submitter of each of `receipts` that it is approved.
fn assert_approved_with_certificates_at(app: &Appliance, i: usize, receipts: &[String]) {
    for receipt in receipts {
        let status = app.outers[i].node.status(receipt).unwrap();
        assert_eq!(status["state"], "approved", "{status}");
    }
}
