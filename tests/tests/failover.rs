//! A failover of the inner database: the primary goes and its synchronous standby is promoted
//! between two imports. Sluice reaches the new primary through the same connection string
//! (both servers, `target_session_attrs=read-write`), nothing acknowledged before the failover
//! is lost, and the chain carries on without a gap or a second copy.

mod common;

use transfer::outcome::FileResult;

use common::*;
use inner::testing::ReplicatedPair;
use tests::Appliance;

#[test]
fn a_database_failover_between_imports_loses_no_acknowledged_filing_and_the_chain_carries_on() {
    let mut pair = ReplicatedPair::start("sluice").expect(
        "a primary and a standby (Debian's `postgresql` package provides the server and \
         pg_basebackup)",
    );
    let url = pair.url();
    let mut app = Appliance::on_database(&[1], &url).unwrap();

    // Before: two filings imported and acknowledged on the primary.
    let before = submit_and_export(app.outer(), 1..=2);
    assert_eq!(app.carry_in(0).unwrap(), 1);
    let import = app.import().unwrap();
    assert_eq!(import.count(FileResult::Applied), 1);
    let applied = return_to_first_outer(&mut app);
    assert_eq!(applied.files[0].payloads_deleted, 2);
    assert!(
        pair.standby_caught_up().unwrap(),
        "a commit on the primary returns only once the standby has it"
    );

    // The primary goes; its standby takes over.
    pair.fail_over().unwrap();
    assert!(
        app.inner
            .client
            .is_valid(std::time::Duration::from_secs(2))
            .is_err(),
        "the old connection died with the old primary"
    );
    app.inner.client = transfer::inner_side::connect(&url).unwrap();

    // After: the next bundle imports on the new primary, right after the first (no gap, no
    // fork), and the filings from before are there, exactly once.
    let after = submit_and_export(app.outer(), 3..=4);
    assert_eq!(app.carry_in(0).unwrap(), 1);
    let import = app.import().unwrap();
    assert_eq!(import.count(FileResult::Applied), 1, "{:?}", import.files);
    let counts = app.inner_counts().unwrap();
    assert_eq!(counts.bundles, 2);
    assert_eq!(counts.submission_versions, 4);
    assert_eq!(counts.receipts, 4);

    // Review and the return channel work on the new primary, for filings from both sides of
    // the failover.
    assert_eq!(app.approve_all().unwrap().len(), 4);
    let applied = return_to_first_outer(&mut app);
    assert_eq!(applied.count(FileResult::Applied), 1, "{:?}", applied.files);
    let receipts: Vec<String> = before.into_iter().chain(after).collect();
    assert_approved_with_certificates(&app, &receipts);
}
