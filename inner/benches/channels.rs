//! Channels importing side by side (issue "operations", item 5; docs/SCALING.md): the same
//! filings split over 1, 2 and 4 channels, each channel's share in one bundle applied by
//! [`inner::import::apply_bundle`] on a connection of its own, all channels at once, into a
//! fresh database with the same schema and indexes. Imports of different channels take
//! different locks, so they overlap; what they still share is the machine (cores, disk) and the
//! tables' indexes.
//!
//! The floor is the one-channel run on the same filings in the same run, made first and again
//! last (the table gives both; the speed-ups are against their mean). Only the inner import is
//! timed: verification and decoding happen in each channel's own `sluice-transfer import`
//! process before its transaction and scale with the processes.
//!
//! Usage: `cargo bench -p inner --bench channels -- [FILINGS]` (default 200000). Results are
//! printed, written to `target/sluice-bench/channels.json` and into the "channels" section of
//! `BENCHMARKS.md` beside this crate's manifest. Needs PostgreSQL's server binaries
//! (`postgresql`), like the tests.

mod common;

use std::path::Path;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use bundle_format::records::{ImportOutcome, SubmissionVersion};
use inner::bench_support;
use inner::import::{IncomingBundle, apply_bundle};
use inner::testing::TestDatabase;
use serde_json::json;

const NOW: i64 = 1_795_334_400;

/// One channel's bundle: its number, signed message (unsigned here: the import takes a
/// verified message) and versions.
struct ChannelBundle {
    channel: u32,
    message: Vec<u8>,
    submissions: Vec<SubmissionVersion>,
}

impl ChannelBundle {
    fn incoming(&self) -> IncomingBundle<'_> {
        common::incoming(&self.message, &self.submissions)
    }
}

/// `filings` split into `channels` bundles, channel `k + 1` holding every `channels`-th filing
/// from `k`.
fn split(filings: &[SubmissionVersion], channels: u32) -> Vec<ChannelBundle> {
    (0..channels)
        .map(|k| {
            let submissions: Vec<SubmissionVersion> = filings
                .iter()
                .skip(k as usize)
                .step_by(channels as usize)
                .cloned()
                .collect();
            let message = inner::testing::submissions_message(k + 1, 1, 1, NOW, &submissions)
                .expect("bundle message");
            ChannelBundle {
                channel: k + 1,
                message,
                submissions,
            }
        })
        .collect()
}

/// Applies every bundle at once, one thread and connection each, into a fresh database;
/// returns the time from the common start to the last commit.
fn run(bundles: &[ChannelBundle]) -> Duration {
    let db = TestDatabase::with_schema().expect("benchmark database");
    let start = Arc::new(Barrier::new(bundles.len() + 1));
    let elapsed = std::thread::scope(|scope| {
        let workers: Vec<_> = bundles
            .iter()
            .map(|bundle| {
                let mut client = db.connect().expect("connect");
                inner::import::configure_session(&mut client).expect("session settings");
                let start = Arc::clone(&start);
                scope.spawn(move || {
                    let incoming = bundle.incoming();
                    start.wait();
                    let mut tx = client.transaction().expect("begin");
                    let report = apply_bundle(&mut tx, &incoming, NOW).expect("apply");
                    tx.commit().expect("commit");
                    assert_eq!(
                        report.count(ImportOutcome::Applied),
                        bundle.submissions.len(),
                        "every filing of channel {} applies",
                        bundle.channel
                    );
                })
            })
            .collect();
        start.wait();
        let started = Instant::now();
        for worker in workers {
            worker.join().expect("an importing thread");
        }
        started.elapsed()
    });
    let receipts: i64 = db
        .connect()
        .expect("connect")
        .query_one("SELECT count(*) FROM receipts", &[])
        .expect("count")
        .get(0);
    assert_eq!(
        usize::try_from(receipts).expect("a count"),
        bundles.iter().map(|b| b.submissions.len()).sum::<usize>(),
        "every filing stored once"
    );
    elapsed
}

fn main() {
    let filings: usize = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .and_then(|a| a.parse().ok())
        .unwrap_or(200_000);
    let load = testkit::bench::load_average();
    eprintln!("generating {filings} filings");
    let all: Vec<SubmissionVersion> = (0..filings)
        .map(|i| bench_support::filing(i, NOW))
        .collect();

    let mut runs: Vec<(u32, Duration)> = Vec::new();
    for channels in [1u32, 2, 4, 1] {
        let bundles = split(&all, channels);
        eprintln!("{channels} channel(s) at once");
        let took = run(&bundles);
        eprintln!("  {:.2} s", took.as_secs_f64());
        runs.push((channels, took));
    }
    let floor = (runs[0].1.as_secs_f64() + runs[3].1.as_secs_f64()) / 2.0;
    let rate = |d: Duration| filings as f64 / d.as_secs_f64();
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let load_text = load.map_or_else(
        || "unknown".to_owned(),
        |[one, five, fifteen]| format!("{one:.2} {five:.2} {fifteen:.2}"),
    );
    let mut table = format!(
        "## Channels importing side by side\n\n\
         `cargo bench -p inner --bench channels -- {filings}`: {cores} cores, load average \
         {load_text} at the start. The same {filings} filings of `inner::bench_support::filing` \
         split over N channels, one bundle per channel, all applied at once by \
         `apply_bundle` (one thread and connection per channel) into a fresh database on a \
         throwaway cluster (`fsync=off`). The one-channel run is the floor, made first and \
         last; speed-up is against their mean ({floor:.2} s).\n\n\
         | channels | seconds | filings/s | speed-up vs one channel |\n\
         |---:|---:|---:|---:|\n"
    );
    for (channels, took) in &runs {
        table.push_str(&format!(
            "| {channels} | {:.2} | {:.0} | {:.2} |\n",
            took.as_secs_f64(),
            rate(*took),
            floor / took.as_secs_f64()
        ));
    }
    print!("{table}");
    let json = json!({
        "filings": filings,
        "cores": cores,
        "load_average": load,
        "floor_seconds": floor,
        "runs": runs.iter().map(|(channels, took)| json!({
            "channels": channels,
            "seconds": took.as_secs_f64(),
            "filings_per_second": rate(*took),
            "speed_up": floor / took.as_secs_f64(),
        })).collect::<Vec<_>>(),
    });
    let written = testkit::bench::write_json("channels", &json);
    eprintln!("wrote {}", written.display());
    testkit::bench::write_section(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("BENCHMARKS.md"),
        "channels",
        &table,
    );
}
