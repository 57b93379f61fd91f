//! One approval among millions: how long the final approval of a new filing takes in a store
//! that already holds `--preload N` approved filings, and how many approvals a second a team
//! of reviewers gets through at once.
//!
//! The store is preloaded by [`inner::bench_support::preload`] (every row the import and the
//! approval leave behind for N filings, loaded with binary `COPY`, the secondary indexes built
//! after the load); the cluster is kept in `target/sluice-bench/preload-N-…/` and copied
//! from there on the next run of the same N and schema. Then a bundle of `--bundle B` new
//! filings (default 50,000, the export's bundle size) is imported through the real import
//! (`apply_bundle`), and `--approvals M` of them (default 2,000, spread evenly over the
//! bundle) are approved through the real approval, `inner::review::approve`, the call the reviewers'
//! command (`sluice-inner review approve`) and review page make: each approval in its own
//! transaction, committed, as the authority account of the filings' province, its
//! certificate signed with an `inner-cert` key. The filings come from their owners without
//! an access provider, so each first passes the provider check (one approval each, untimed);
//! what is timed is the final approval, the one that numbers and normalises the filing and
//! issues its certificate. Latency is measured around the transaction, from `BEGIN` to the
//! end of `COMMIT`:
//!
//! - one at a time: every other one of the M, on one connection;
//! - a team of 8 reviewers: the others, 8 connections approving at once (each takes the
//!   next receipt), approvals per second over the whole team's time;
//! - the floor: the same bundle imported into an empty store (same schema, same cluster, same
//!   run) and the one-at-a-time half approved there the same way.
//!
//! - reading a pending record back: `inner::queue::show` (what `sluice-inner review show`
//!   prints) of filings of the bundle that are still pending, once as the import left them
//!   (each record read from its own frame, bundle format version 10 and inner migration 18)
//!   and once with the frame rows deleted (the whole stored message read and decompressed up to
//!   the record, as before migration 18): the same records in the same store and run.
//!
//! If the server has `pg_stat_statements` loaded (`SLUICE_TEST_PG_OPTIONS=
//! "shared_preload_libraries=pg_stat_statements"`; the cached cluster does not keep server
//! settings), the statements of the one-at-a-time approvals are listed by total time.
//!
//! Usage: `cargo bench -p inner --bench approval -- --preload N [--approvals M] [--bundle B]
//! [--no-cache] [--workers W]` (defaults: N 200,000, M 2,000, B 50,000, W 1 thread making
//! preload rows). Results are printed, written to `target/sluice-bench/approval.json` and
//! into the "approval" section of `BENCHMARKS.md` beside this crate's manifest (with another
//! bundle size B: `approval-bundle-B.json` and section). Benchmarks measure; nothing here asserts a
//! time.

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use bundle_format::records::{ImportOutcome, SubmissionVersion};
use inner::bench_support::{self, preload};
use inner::import::{IncomingBundle, apply_bundle};
use inner::reviewers::{self, Reviewer};
use inner::testing::TestDatabase;
use serde_json::json;

/// 2026-11-22T08:00:00Z, the bench's clock (the preload's newest approval is two days
/// before it).
const NOW: i64 = 1_795_334_400;

/// Reviewers approving at once in the team run.
const TEAM: usize = 8;

struct Args {
    preload: usize,
    approvals: usize,
    bundle: usize,
    cache: bool,
    workers: usize,
}

fn args() -> Args {
    let mut args = Args {
        preload: 200_000,
        approvals: 2_000,
        bundle: bench_support::preload::BUNDLE_FILINGS,
        cache: true,
        workers: 1,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut number = |name: &str| -> usize {
            it.next()
                .and_then(|v| v.replace('_', "").parse().ok())
                .unwrap_or_else(|| panic!("{name} takes a number"))
        };
        match arg.as_str() {
            "--preload" => args.preload = number("--preload"),
            "--approvals" => args.approvals = number("--approvals").max(2),
            "--workers" => args.workers = number("--workers").max(1),
            "--bundle" => args.bundle = number("--bundle").max(1),
            "--no-cache" => args.cache = false,
            // cargo bench passes --bench to every bench
            _ => {}
        }
    }
    args
}

/// The pending filings, as one submissions bundle on the preload's channel after its bundles.
struct Pending {
    submissions: Vec<SubmissionVersion>,
    message: Vec<u8>,
}

impl Pending {
    fn new(count: usize, sequence: u64) -> Pending {
        let submissions: Vec<SubmissionVersion> = (0..count)
            .map(|i| bench_support::filing(i, NOW - 86_400))
            .collect();
        let message = inner::testing::submissions_message(
            preload::CHANNEL,
            1,
            sequence,
            NOW - 86_400,
            &submissions,
        )
        .expect("bundle message");
        Pending {
            submissions,
            message,
        }
    }

    fn incoming(&self) -> IncomingBundle<'_> {
        common::incoming(&self.message, &self.submissions)
    }
}

/// Imports `pending` through the real import; returns the seconds it took.
fn import(db: &TestDatabase, pending: &Pending) -> f64 {
    let mut client = db.connect().expect("connect");
    inner::import::configure_session(&mut client).expect("session settings");
    let started = Instant::now();
    let mut tx = client.transaction().expect("begin");
    let report = apply_bundle(&mut tx, &pending.incoming(), NOW - 3600).expect("import");
    tx.commit().expect("commit");
    assert_eq!(
        report.count(ImportOutcome::Applied),
        pending.submissions.len(),
        "every pending filing is imported"
    );
    started.elapsed().as_secs_f64()
}

fn reviewer(db: &TestDatabase) -> Reviewer {
    let mut client = db.connect().expect("connect");
    reviewers::authenticate(&mut client, preload::REVIEWER, preload::PASSWORD, NOW)
        .expect("log in as the bench's authority account")
}

/// Approves one receipt in its own transaction, as `sluice-inner review approve` does; returns
/// the time from `BEGIN` to the end of `COMMIT`.
fn approve_one(
    client: &mut postgres::Client,
    receipt: &str,
    reviewer: &Reviewer,
    key: &keys::SecretKey,
    now: i64,
) -> Duration {
    let started = Instant::now();
    let mut tx = client.transaction().expect("begin");
    let decision = inner::review::approve(&mut tx, receipt, reviewer, None, key, now)
        .unwrap_or_else(|e| panic!("approving {receipt}: {e}"));
    tx.commit().expect("commit");
    let took = started.elapsed();
    assert!(
        decision.filing_number.is_some(),
        "{receipt} was approved finally"
    );
    took
}

/// Passes the first review stage of each receipt: a new filing from its owner (no access
/// provider named) waits for the provider check before the regional review.
fn provider_check(db: &TestDatabase, receipts: &[String], key: &keys::SecretKey) {
    let reviewer = reviewer(db);
    let mut client = db.connect().expect("connect");
    for receipt in receipts {
        let mut tx = client.transaction().expect("begin");
        let decision = inner::review::approve(&mut tx, receipt, &reviewer, None, key, NOW)
            .unwrap_or_else(|e| panic!("passing the provider check of {receipt}: {e}"));
        tx.commit().expect("commit");
        assert!(decision.filing_number.is_none(), "{receipt}: a first stage");
    }
}

/// What a reviewer sees of each receipt (`inner::queue::show`), one after the other on one
/// connection; returns each one's latency.
fn shown(db: &TestDatabase, receipts: &[String]) -> Vec<Duration> {
    let mut client = db.connect().expect("connect");
    receipts
        .iter()
        .map(|receipt| {
            let started = Instant::now();
            let view = inner::queue::show(&mut client, receipt)
                .unwrap_or_else(|e| panic!("showing {receipt}: {e}"));
            let took = started.elapsed();
            assert!(
                view.organiser.is_some(),
                "{receipt} is shown with its subject"
            );
            took
        })
        .collect()
}

fn one_at_a_time(db: &TestDatabase, receipts: &[String], key: &keys::SecretKey) -> Vec<Duration> {
    let reviewer = reviewer(db);
    let mut client = db.connect().expect("connect");
    receipts
        .iter()
        .map(|receipt| approve_one(&mut client, receipt, &reviewer, key, NOW))
        .collect()
}

/// The team: `TEAM` connections, each approving the next receipt not yet taken. Returns each
/// approval's latency and the time from the common start to the last commit.
fn team(
    db: &TestDatabase,
    receipts: &[String],
    key: &keys::SecretKey,
) -> (Vec<Duration>, Duration) {
    let reviewer = reviewer(db);
    let next = AtomicUsize::new(0);
    let latencies = Mutex::new(Vec::with_capacity(receipts.len()));
    let start = Arc::new(Barrier::new(TEAM + 1));
    let elapsed = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..TEAM)
            .map(|_| {
                let mut client = db.connect().expect("connect");
                let (start, next, latencies, reviewer) =
                    (Arc::clone(&start), &next, &latencies, &reviewer);
                scope.spawn(move || {
                    let mut mine = Vec::new();
                    start.wait();
                    loop {
                        let k = next.fetch_add(1, Ordering::Relaxed);
                        let Some(receipt) = receipts.get(k) else {
                            break;
                        };
                        mine.push(approve_one(&mut client, receipt, reviewer, key, NOW));
                    }
                    latencies.lock().expect("latencies").extend(mine);
                })
            })
            .collect();
        start.wait();
        let started = Instant::now();
        for worker in workers {
            worker.join().expect("a reviewer thread");
        }
        started.elapsed()
    });
    (latencies.into_inner().expect("latencies"), elapsed)
}

#[derive(Debug, Clone, Copy)]
struct Summary {
    count: usize,
    p50: f64,
    p95: f64,
    p99: f64,
    max: f64,
    mean: f64,
}

/// Percentiles in milliseconds (nearest rank).
fn summary(latencies: &[Duration]) -> Summary {
    let mut ms: Vec<f64> = latencies.iter().map(|d| d.as_secs_f64() * 1e3).collect();
    ms.sort_by(f64::total_cmp);
    let rank = |percent: usize| {
        if ms.is_empty() {
            return 0.0;
        }
        let k = (percent * ms.len()).div_ceil(100);
        ms[k.clamp(1, ms.len()) - 1]
    };
    Summary {
        count: ms.len(),
        p50: rank(50),
        p95: rank(95),
        p99: rank(99),
        max: ms.last().copied().unwrap_or(0.0),
        mean: ms.iter().sum::<f64>() / ms.len().max(1) as f64,
    }
}

fn summary_json(s: &Summary) -> serde_json::Value {
    json!({
        "count": s.count, "p50_ms": s.p50, "p95_ms": s.p95, "p99_ms": s.p99,
        "max_ms": s.max, "mean_ms": s.mean,
    })
}

/// The statements `pg_stat_statements` saw since its reset, by total time (empty when the
/// extension is not loaded).
fn top_statements(client: &mut postgres::Client, limit: i64) -> Vec<serde_json::Value> {
    client
        .query(
            "SELECT calls, total_exec_time, mean_exec_time, shared_blks_hit, shared_blks_read,
                    regexp_replace(query, '\\s+', ' ', 'g')
             FROM pg_stat_statements
             WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
             ORDER BY total_exec_time DESC LIMIT $1",
            &[&limit],
        )
        .map(|rows| {
            rows.iter()
                .map(|r| {
                    let query: String = r.get(5);
                    json!({
                        "calls": r.get::<_, i64>(0),
                        "total_ms": r.get::<_, f64>(1),
                        "mean_ms": r.get::<_, f64>(2),
                        "shared_blks_hit": r.get::<_, i64>(3),
                        "shared_blks_read": r.get::<_, i64>(4),
                        "query": query.chars().take(160).collect::<String>(),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

fn stat_statements_reset(client: &mut postgres::Client) -> bool {
    client
        .batch_execute(
            "CREATE EXTENSION IF NOT EXISTS pg_stat_statements; SELECT pg_stat_statements_reset()",
        )
        .is_ok()
}

fn main() {
    let args = args();
    let load = testkit::bench::load_average();
    let cache_root = testkit::bench::results_dir();
    let started = Instant::now();
    eprintln!("preloading {} approved filings", args.preload);
    let store = preload::preloaded_store(
        args.preload,
        NOW,
        args.cache.then_some(cache_root.as_path()),
        args.workers,
        &mut |line| eprintln!("{line}"),
    )
    .expect("preloaded store");
    let preload_wall = started.elapsed().as_secs_f64();
    eprintln!(
        "store ready in {preload_wall:.0} s ({}; database {:.1} GiB)",
        if store.from_cache {
            format!("copied from the cache in {:.0} s", store.copy_seconds)
        } else {
            "preloaded in this run".to_owned()
        },
        store.database_bytes as f64 / f64::from(1u32 << 30)
    );
    let db = &store.database;

    let imported = args.bundle.max(args.approvals);
    let pending = Pending::new(imported, store.preloaded.bundles + 1);
    eprintln!("importing {imported} pending filings in one bundle");
    let import_seconds = import(db, &pending);
    // Filings spread evenly over the bundle: reading one back decodes its bundle's content up
    // to its record, so where it lies matters. Every other one is approved one at a time, the
    // rest by the team.
    let chosen: Vec<String> = (0..args.approvals)
        .map(|j| {
            pending.submissions[j * imported / args.approvals]
                .receipt
                .clone()
        })
        .collect();
    let first: Vec<String> = chosen.iter().step_by(2).cloned().collect();
    let second: Vec<String> = chosen.iter().skip(1).step_by(2).cloned().collect();
    let (first, second) = (first.as_slice(), second.as_slice());
    let key = keys::SecretKey::generate();
    eprintln!("passing the provider check of each (untimed)");
    provider_check(db, &chosen, &key);

    let mut stats_client = db.connect().expect("connect");
    let stats = stat_statements_reset(&mut stats_client);
    eprintln!("approving {} one at a time", first.len());
    let single = one_at_a_time(db, first, &key);
    let statements = if stats {
        top_statements(&mut stats_client, 15)
    } else {
        Vec::new()
    };
    eprintln!("approving {} with {TEAM} connections at once", second.len());
    let (team_latencies, team_elapsed) = team(db, second, &key);

    // Pending filings of the bundle that none of the above touched, spread over it.
    let untouched: Vec<String> = (0..args.approvals / 2)
        .map(|j| {
            let i = (j * imported / (args.approvals / 2).max(1) + 1).min(imported - 1);
            pending.submissions[i].receipt.clone()
        })
        .filter(|receipt| !chosen.contains(receipt))
        .collect();
    eprintln!(
        "showing {} pending filings, each from its own frame",
        untouched.len()
    );
    let from_frames = summary(&shown(db, &untouched));
    db.connect()
        .expect("connect")
        .batch_execute("DELETE FROM bundle_frames")
        .expect("forget the frames");
    eprintln!("showing them again from the whole stored message");
    let from_message = summary(&shown(db, &untouched));

    eprintln!("the floor: the same approvals one at a time in an empty store");
    let empty = TestDatabase::with_schema().expect("empty store");
    {
        let mut client = empty.connect().expect("connect");
        preload::preload(&mut client, 0, NOW, &key, 1, &mut |_| {}).expect("reviewer accounts");
    }
    let empty_pending = Pending::new(imported, 1);
    import(&empty, &empty_pending);
    provider_check(&empty, first, &key);
    let floor = one_at_a_time(&empty, first, &key);

    let single_s = summary(&single);
    let team_s = summary(&team_latencies);
    let floor_s = summary(&floor);
    let team_rate = team_latencies.len() as f64 / team_elapsed.as_secs_f64();
    let single_rate = single.len() as f64 / single.iter().sum::<Duration>().as_secs_f64();
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let load_text = load.map_or_else(
        || "unknown".to_owned(),
        |[one, five, fifteen]| format!("{one:.2} {five:.2} {fifteen:.2}"),
    );
    let met = |p99: f64| if p99 <= 50.0 { "yes" } else { "**no**" };
    let preloaded = &store.preloaded;
    let mut report = format!(
        "## One approval among {n} approved filings\n\n\
         `cargo bench -p inner --bench approval -- --preload {n} --approvals {m} --bundle {b}` on {date}: \
         {cores} cores, load average {load_text} at the start (the machine is shared). \
         Store: {n} approved filings preloaded {made}. A bundle of {b} new filings \
         imported through `apply_bundle` ({imp:.2} s), {m} of them (spread over the bundle) \
         approved with `inner::review::approve` as \
         the province's authority account after an untimed provider check, one transaction each (latency from `BEGIN` to the \
         end of `COMMIT`). Throwaway cluster, the test harness's settings (`fsync=off`, \
         64 MB `shared_buffers`).\n\n\
         | approvals | store | count | p50 ms | p95 ms | p99 ms | max ms | approvals/s | p99 ≤ 50 ms |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---|\n\
         | one at a time | {n} approved | {c1} | {a50:.1} | {a95:.1} | {a99:.1} | {amax:.1} | {r1:.0} | {m1} |\n\
         | {TEAM} reviewers at once | {n} approved | {c2} | {b50:.1} | {b95:.1} | {b99:.1} | {bmax:.1} | {r2:.0} | {m2} |\n\
         | one at a time (floor) | empty | {c3} | {f50:.1} | {f95:.1} | {f99:.1} | {fmax:.1} | {r3:.0} | {m3} |\n",
        n = preloaded.filings,
        m = args.approvals,
        b = imported,
        date = common::today(),
        made = store.made(),
        imp = import_seconds,
        c1 = single_s.count,
        a50 = single_s.p50,
        a95 = single_s.p95,
        a99 = single_s.p99,
        amax = single_s.max,
        r1 = single_rate,
        m1 = met(single_s.p99),
        c2 = team_s.count,
        b50 = team_s.p50,
        b95 = team_s.p95,
        b99 = team_s.p99,
        bmax = team_s.max,
        r2 = team_rate,
        m2 = met(team_s.p99),
        c3 = floor_s.count,
        f50 = floor_s.p50,
        f95 = floor_s.p95,
        f99 = floor_s.p99,
        fmax = floor_s.max,
        r3 = floor.len() as f64 / floor.iter().sum::<Duration>().as_secs_f64(),
        m3 = met(floor_s.p99),
    );
    report.push_str(&format!(
        "\nReading a pending record back (`inner::queue::show`, {count} filings of the bundle \
         still pending, one at a time): from its own frame p50 {f50:.1} ms, p99 {f99:.1} ms; \
         the same filings from the whole stored message (frame rows deleted, as a bundle \
         imported before inner migration 18 is read) p50 {w50:.1} ms, p99 {w99:.1} ms: \
         {ratio:.2}x the time at p50.\n",
        count = from_frames.count,
        f50 = from_frames.p50,
        f99 = from_frames.p99,
        w50 = from_message.p50,
        w99 = from_message.p99,
        ratio = from_frames.p50 / from_message.p50.max(f64::MIN_POSITIVE),
    ));
    report.push_str(&format!(
        "\nLargest tables of the preloaded store (with their indexes): {}.\n",
        store
            .table_bytes
            .iter()
            .map(|(t, b)| format!("`{t}` {:.0} MiB", *b as f64 / f64::from(1u32 << 20)))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    if !statements.is_empty() {
        report.push_str(
            "\nWhere the one-at-a-time approvals spent their server time \
             (`pg_stat_statements`, top statements by total time):\n\n\
             | calls | total ms | mean ms | blocks hit | blocks read | statement |\n\
             |---:|---:|---:|---:|---:|---|\n",
        );
        for s in &statements {
            report.push_str(&format!(
                "| {} | {:.1} | {:.3} | {} | {} | `{}` |\n",
                s["calls"],
                s["total_ms"].as_f64().unwrap_or(0.0),
                s["mean_ms"].as_f64().unwrap_or(0.0),
                s["shared_blks_hit"],
                s["shared_blks_read"],
                s["query"].as_str().unwrap_or("").replace('|', "\\|"),
            ));
        }
    }
    print!("{report}");
    let json = json!({
        "preload": {
            "filings": preloaded.filings,
            "rows": preloaded.rows,
            "database_bytes": store.database_bytes,
            "from_cache": store.from_cache,
            "copy_seconds": store.copy_seconds,
            "load_seconds": preloaded.load.as_secs_f64(),
            "index_seconds": preloaded.indexes.as_secs_f64(),
            "vacuum_seconds": preloaded.vacuum.as_secs_f64(),
            "rebuilt_indexes": preloaded.rebuilt_indexes,
            "table_bytes": store.table_bytes,
        },
        "approvals": args.approvals,
        "bundle_filings": imported,
        "import_seconds": import_seconds,
        "cores": cores,
        "load_average": load,
        "one_at_a_time": summary_json(&single_s),
        "one_at_a_time_per_second": single_rate,
        "team": {
            "connections": TEAM,
            "approvals_per_second": team_rate,
            "seconds": team_elapsed.as_secs_f64(),
            "latency": summary_json(&team_s),
        },
        "empty_store_one_at_a_time": summary_json(&floor_s),
        "show_from_frames": summary_json(&from_frames),
        "show_from_whole_message": summary_json(&from_message),
        "goal_p99_ms": 50.0,
        "statements": statements,
    });
    // A run with another bundle size than the export's keeps its own file and section.
    let name = if imported == bench_support::preload::BUNDLE_FILINGS {
        "approval".to_owned()
    } else {
        format!("approval-bundle-{imported}")
    };
    let written = testkit::bench::write_json(&name, &json);
    eprintln!("wrote {}", written.display());
    testkit::bench::write_section(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("BENCHMARKS.md"),
        &name,
        &report,
    );
}
