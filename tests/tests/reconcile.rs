//! Reconciliation (issue 17 item 4): the outer host compares what it sent and deleted with what
//! the inner host imported, acknowledged and refused, as the return channel carried it, and
//! names every difference — on real SQLite and PostgreSQL stores, with differences made on
//! purpose.

mod common;

use common::*;
use keys::ChannelId;
use tests::Appliance;
use transfer::demo;
use transfer::outer_side::{ReconcileReport, ReconcileSettings, reconcile};

fn reconciled(app: &Appliance) -> ReconcileReport {
    reconcile(
        &app.outer().host,
        &ReconcileSettings {
            channel: ChannelId(1),
            return_channel: ChannelId(demo::DEMO_RETURN_CHANNEL),
        },
    )
    .unwrap()
}

fn codes(findings: &[transfer::outer_side::Finding]) -> Vec<&'static str> {
    findings.iter().map(|f| f.code).collect()
}

#[test]
fn sides_that_agree_show_no_difference() {
    let mut app = Appliance::new(&[1]).unwrap();
    let receipts = imported_and_approved(&mut app, 1..=3);
    return_to_first_outer(&mut app);
    assert_approved_with_certificates(&app, &receipts);
    let report = reconciled(&app);
    assert!(report.differences.is_empty(), "{report:#?}");
    assert_eq!(report.bundles_sent, 1);
    assert_eq!(report.bundles_acknowledged, 1);
    assert_eq!(report.versions_sent, 3);
    assert_eq!(report.inner_highest_contiguous, Some(1));
}

#[test]
fn a_lost_bundle_and_a_payload_deleted_by_hand_are_named() {
    let mut app = Appliance::new(&[1]).unwrap();
    imported_and_approved(&mut app, 1..=2);
    return_to_first_outer(&mut app);

    // The second bundle is lost on the medium.
    let lost = submit_and_export(app.outer(), 3..=4);
    for file in transfer::spool::list_bundles(&app.outer().spool.outbox).unwrap() {
        std::fs::remove_file(file).unwrap();
    }
    // Before anything comes back, the second bundle is merely on its way.
    let report = reconciled(&app);
    assert!(report.differences.is_empty(), "{report:#?}");
    assert!(
        codes(&report.notes).contains(&"bundle.in-transit"),
        "{report:#?}"
    );

    // The third bundle arrives; the inner host reports the second missing.
    imported_and_approved(&mut app, 5..=6);
    app.inner.write_return().unwrap();
    app.carry_out().unwrap();
    app.apply(0).unwrap();

    // Someone deletes a payload of the lost bundle by hand.
    let conn = rusqlite::Connection::open(&app.outer().node.database).unwrap();
    conn.execute(
        "DELETE FROM submission_payloads WHERE receipt = ?1",
        [&lost[0]],
    )
    .unwrap();
    drop(conn);

    let report = reconciled(&app);
    assert_eq!(
        codes(&report.differences),
        vec!["bundle.missing-inside", "payload.missing"],
        "{report:#?}"
    );
    let missing = &report.differences[0];
    assert_eq!(missing.sequence, Some(2));
    assert_eq!(missing.bundle_id.as_ref().map(String::len), Some(64));
    let payload = &report.differences[1];
    assert_eq!(payload.receipt.as_deref(), Some(lost[0].as_str()));
    assert_eq!(payload.version, Some(1));
    assert_eq!(payload.sequence, Some(2));
    assert_eq!(report.bundles_sent, 3);
    assert_eq!(report.bundles_acknowledged, 2);
}

#[test]
fn a_lost_return_bundle_shows_as_an_ack_missing_and_a_return_gap() {
    let mut app = Appliance::new(&[1]).unwrap();
    imported_and_approved(&mut app, 1..=2);
    // The first return bundle is lost on the way out.
    app.inner.write_return().unwrap();
    transfer::carry::carry(&app.inner.spool.outbox, &app.medium, false).unwrap();
    for file in transfer::spool::list_bundles(&app.medium).unwrap() {
        std::fs::remove_file(file).unwrap();
    }
    // The next one arrives: it reports the first bundle imported, but its ack was in the lost one.
    let second = submit_and_export(app.outer(), 3..=3);
    app.carry_in(0).unwrap();
    app.import().unwrap();
    app.inner.write_return().unwrap();
    app.carry_out().unwrap();
    app.apply(0).unwrap();
    // The second bundle's own ack arrived.
    assert_ne!(
        app.outer().node.status(&second[0]).unwrap()["state"],
        "in_transit"
    );

    let report = reconciled(&app);
    assert_eq!(
        codes(&report.differences),
        vec!["bundle.ack-missing", "return.missing-here"],
        "{report:#?}"
    );
    assert_eq!(report.differences[0].sequence, Some(1));
    assert_eq!(report.differences[1].sequence, Some(1));
    assert!(
        report.differences[1].detail.contains("return bundle 1 "),
        "{report:#?}"
    );
}
