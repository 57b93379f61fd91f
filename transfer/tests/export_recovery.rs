//! Export's crash recovery and re-sending, on a real SQLite file: a run that died before its
//! commit leaves nothing that can leave the host; one that died after it is published by the
//! next run; bundles without an ack go out again after the resend age.

mod common;

use common::{export_settings, names};
use keys::SecretKey;
use transfer::outer_side::{self, OuterHost};
use transfer::spool::{self, Spool};

#[test]
fn a_retained_file_no_committed_export_owns_is_removed_and_never_published() {
    let dir = tempfile::tempdir().unwrap();
    let host = OuterHost::open(&dir.path().join("outer.sqlite")).unwrap();
    let spool = Spool::under(&dir.path().join("spool"));
    spool.create_all().unwrap();
    let orphan = "submissions-c1-e1-s000000000001-p0000-00112233deadbeef.bundle";
    std::fs::write(spool.retained.join(orphan), b"written before a crash").unwrap();
    let report = outer_side::export(
        &host,
        &spool,
        &SecretKey::generate(),
        &export_settings(1_800_000_000),
    )
    .unwrap();
    assert_eq!(report.orphans_removed, 1);
    assert!(!names(&spool.retained).contains(&orphan.to_owned()));
    assert!(!names(&spool.outbox).contains(&orphan.to_owned()));
    // The heartbeat this run wrote took sequence 1: the orphan's number was never used.
    assert_eq!(report.written[0].sequence, 1);
    assert!(report.heartbeat);
}

#[test]
fn a_committed_bundle_that_never_reached_the_outbox_is_published_by_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("outer.sqlite");
    let host = OuterHost::open(&database).unwrap();
    let spool = Spool::under(&dir.path().join("spool"));
    let key = SecretKey::generate();
    let first = outer_side::export(&host, &spool, &key, &export_settings(1_800_000_000)).unwrap();
    let name = first.written[0].file.clone();
    // Simulate a crash between the commit and the publication.
    spool::remove_durable(&spool.outbox.join(&name)).unwrap();
    rusqlite::Connection::open(&database)
        .unwrap()
        .execute("UPDATE transfer_outbox SET published_at = NULL", [])
        .unwrap();
    let second = outer_side::export(&host, &spool, &key, &export_settings(1_800_000_100)).unwrap();
    assert_eq!(second.republished, vec![1]);
    assert!(names(&spool.outbox).contains(&name));
    assert_eq!(
        second.written[0].sequence, 2,
        "the next heartbeat follows it in the chain"
    );
}

#[test]
fn an_unacknowledged_bundle_is_published_again_only_after_the_resend_age() {
    let dir = tempfile::tempdir().unwrap();
    let host = OuterHost::open(&dir.path().join("outer.sqlite")).unwrap();
    let spool = Spool::under(&dir.path().join("spool"));
    let key = SecretKey::generate();
    let start = 1_800_000_000;
    let first = outer_side::export(&host, &spool, &key, &export_settings(start)).unwrap();
    let name = first.written[0].file.clone();
    // A carrier took it.
    spool::remove_durable(&spool.outbox.join(&name)).unwrap();
    let soon = outer_side::export(&host, &spool, &key, &export_settings(start + 3600)).unwrap();
    assert!(soon.republished.is_empty());
    assert!(!names(&spool.outbox).contains(&name));
    let later =
        outer_side::export(&host, &spool, &key, &export_settings(start + 26 * 3600)).unwrap();
    assert_eq!(later.republished, vec![1, 2]);
    assert!(names(&spool.outbox).contains(&name));
}
