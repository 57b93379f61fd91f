//! A failover of the inner database: the primary goes and its synchronous standby is promoted,
//! between two imports and in the middle of one. Sluice reaches the new primary through the same connection string
//! (both servers, `target_session_attrs=read-write`), nothing acknowledged before the failover
//! is lost, and the chain carries on without a gap or a second copy.

mod common;

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use transfer::outcome::FileResult;

use common::*;
use inner::testing::ReplicatedPair;
use tests::Appliance;

/// A primary and a standby replicating database `sluice`, its URL (which follows a failover)
/// and an appliance with one outer host whose inner side uses it.
fn appliance_on_replicated_pair() -> (ReplicatedPair, String, Appliance) {
    let pair = ReplicatedPair::start("sluice").expect(
        "a primary and a standby (Debian's `postgresql` package provides the server and \
         pg_basebackup)",
    );
    let url = pair.url();
    let app = Appliance::on_database(&[1], &url).unwrap();
    (pair, url, app)
}

#[test]
fn a_database_failover_between_imports_loses_no_acknowledged_filing_and_the_chain_carries_on() {
    let (mut pair, url, mut app) = appliance_on_replicated_pair();

    // Before: two filings imported and acknowledged on the primary (sent by the access
    // provider, so that their acknowledgement deletes their payloads at once).
    let before = submit_filings_as_provider(app.outer(), 1..=2);
    app.outer().export().unwrap();
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

/// Runs the real `sluice-transfer import` (built with failure points) against `url` with the
/// appliance's inner spool and keys, stopped at `import.mid-copy`: the bundle's rows are being
/// copied into its open transaction. Returns the running process, parked there.
fn import_parked_mid_copy(app: &Appliance, url: &str) -> std::process::Child {
    let quote = |path: &std::path::Path| path.display().to_string().replace('"', "\\\"");
    let config = app.dir().join("inner-transfer.toml");
    std::fs::write(
        &config,
        format!(
            "spool_dir = \"{}\"\nkeyset = [\"{}\"]\nkeyset_dir = \"{}\"\n\
             inner_database_url = \"{}\"\naccept_channels = [1]\n",
            quote(&app.dir().join("inner/spool")),
            quote(&app.keys.keyset),
            quote(&app.dir().join("inner/keysets")),
            url.replace('"', "\\\""),
        ),
    )
    .unwrap();
    let mut child = Command::new(testkit::binaries::failpoint_binary("sluice-transfer"))
        .arg("--config")
        .arg(&config)
        .arg("import")
        .env("SLUICE_FAILPOINT", "import.mid-copy")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let started = Instant::now();
    let mut seen = Vec::new();
    loop {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(line) if line.contains("failpoint import.mid-copy reached") => return child,
            Ok(line) => seen.push(line),
            Err(_) if started.elapsed() > Duration::from_secs(120) => {
                child.kill().unwrap();
                panic!("the import never reached import.mid-copy: {seen:?}");
            }
            Err(_) => {
                if let Some(status) = child.try_wait().unwrap() {
                    panic!("the import ended ({status}) before import.mid-copy: {seen:?}");
                }
            }
        }
    }
}

#[test]
fn a_primary_lost_in_the_middle_of_an_import_leaves_nothing_and_the_import_runs_again_on_the_standby()
 {
    let (mut pair, url, mut app) = appliance_on_replicated_pair();
    let receipts = submit_and_export(app.outer(), 1..=3);
    assert_eq!(app.carry_in(0).unwrap(), 1);

    // The import is copying the bundle's rows into its transaction when the primary goes.
    let mut import = import_parked_mid_copy(&app, &url);
    pair.fail_over().unwrap();
    import.kill().unwrap();
    import.wait().unwrap();

    // The new primary holds nothing of the interrupted import; run again, it imports the whole
    // bundle once, and the ledger agrees with the register.
    app.inner.client = transfer::inner_side::connect(&url).unwrap();
    let counts = app.inner_counts().unwrap();
    assert_eq!(
        (counts.bundles, counts.submission_versions, counts.receipts),
        (0, 0, 0),
        "half an import survived the failover: {counts:?}"
    );
    let report = app.import().unwrap();
    assert_eq!(report.count(FileResult::Applied), 1, "{:?}", report.files);
    let counts = app.inner_counts().unwrap();
    assert_eq!(
        (counts.bundles, counts.submission_versions, counts.receipts),
        (1, 3, 3)
    );
    assert_eq!(app.approve_all().unwrap().len(), 3);
    let applied = return_to_first_outer(&mut app);
    assert_eq!(applied.count(FileResult::Applied), 1, "{:?}", applied.files);
    assert_approved_with_certificates(&app, &receipts);
}
