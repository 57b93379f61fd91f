//! Applying one large submissions bundle, against two baselines on the same rows in the same
//! run, each into a fresh database with the same schema and indexes:
//!
//! - `apply`: [`inner::import::apply_bundle`] (the bundle's message stored once, binary COPY of
//!   what the checks read into staging, set-based checks, binary COPY of the version rows,
//!   receipts and review events, ack) in one transaction;
//! - `psql COPY`: `psql` loading exactly the rows `apply` writes, from CSV files prepared
//!   beforehand (untimed), with `\copy` in one transaction — the speed limit;
//! - `per-row INSERT`: the same rows, one prepared `INSERT` each, in one transaction.
//!
//! The filings, their rows and the `psql` baseline come from [`inner::bench_support`], which
//! transfer's round-trip benchmark uses too.
//!
//! Usage: `cargo bench -p inner --bench apply -- [FILINGS]` (default 200000). Results are
//! printed and written to the "apply" section of `BENCHMARKS.md` beside this crate's
//! manifest. Needs the PostgreSQL server binaries and `psql` (Debian's `postgresql` package),
//! like the tests.
//!
//! Scale: `cargo bench -p inner --bench apply -- FILINGS --preload N [--no-cache]
//! [--workers W]` measures instead the same bundle applied into a store that already holds N
//! approved filings ([`inner::bench_support::preload`]: every row the import and the approval
//! leave behind, the indexes as in production; the cluster is cached under
//! `target/sluice-bench/`) beside the bundle applied into an empty store in the same cluster,
//! made before and after it. It writes `target/sluice-bench/apply-preload-N.json` and the
//! "apply-preload" section of `BENCHMARKS.md`.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use bundle_format::records::SubmissionVersion;
use inner::bench_support::{self, CopyFiles, TableRows, psql_copy};
use inner::import::{IncomingBundle, apply_bundle};
use inner::testing::TestDatabase;

const NOW: i64 = 1_795_334_400;

/// The one bundle every method loads, whose signed message is `message`.
fn bundle<'a>(submissions: &'a [SubmissionVersion], message: &'a [u8]) -> IncomingBundle<'a> {
    IncomingBundle {
        bundle_id: bundle_format::BundleId::of_message(message).0,
        channel: 1,
        epoch: 1,
        sequence: 1,
        signer: keys::KeyId(*b"benchkey"),
        created: NOW,
        submissions: inner::import::Submissions::Decoded(submissions),
        message,
        encrypted: false,
        max_scan_bytes: filing::scan::DEFAULT_MAX_SCAN_BYTES,
        max_held_bytes: inner::import::DEFAULT_MAX_HELD_BYTES,
    }
}

fn run_apply(bundle: &IncomingBundle<'_>) -> Duration {
    let db = TestDatabase::with_schema().expect("benchmark database");
    apply_into(&db, bundle)
}

fn run_psql_copy(bundle: &IncomingBundle<'_>) -> Duration {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut files = CopyFiles::new(dir.path());
    files.add_bundle(bundle, None, NOW).expect("write CSV");
    let script = files.finish().expect("write script");
    let db = TestDatabase::with_schema().expect("benchmark database");
    psql_copy(&db.connection_string(), &script).expect("psql")
}

fn run_inserts(tables: &[TableRows]) -> Duration {
    let db = TestDatabase::with_schema().expect("benchmark database");
    let mut client = db.connect().expect("connect");
    let started = Instant::now();
    let mut tx = client.transaction().expect("begin");
    for table in tables {
        // The server infers each parameter's type from its column; the IP range type has no
        // binary encoder in the client, so it goes as text and is cast.
        let columns = table.table.columns();
        let params: Vec<String> = columns
            .split(',')
            .enumerate()
            .map(|(n, column)| match column.trim() {
                "ips" => format!("${}::text::inetrange", n + 1),
                _ => format!("${}", n + 1),
            })
            .collect();
        let sql = format!(
            "INSERT INTO {} ({columns}) VALUES ({})",
            table.table.name(),
            params.join(", ")
        );
        let statement = tx.prepare(&sql).expect("prepare");
        for row in &table.rows {
            let values: Vec<Box<dyn postgres::types::ToSql + Sync>> = row
                .iter()
                .zip(statement.params())
                .map(|(value, ty)| text_param(value.as_deref(), ty))
                .collect();
            let refs: Vec<&(dyn postgres::types::ToSql + Sync)> =
                values.iter().map(|b| b.as_ref()).collect();
            tx.execute(&statement, &refs).expect("insert");
        }
    }
    tx.commit().expect("commit");
    started.elapsed()
}

/// Converts a text value to the parameter type the server inferred for its column.
fn text_param(
    value: Option<&str>,
    ty: &postgres::types::Type,
) -> Box<dyn postgres::types::ToSql + Sync> {
    use postgres::types::Type;
    // A NULL goes as the column's own type: the client refuses a text NULL for an int8 column.
    let Some(value) = value else {
        return match *ty {
            Type::INT8 => Box::new(Option::<i64>::None),
            Type::BYTEA => Box::new(Option::<Vec<u8>>::None),
            _ => Box::new(Option::<String>::None),
        };
    };
    let unhex = |v: &str| hex::decode(v.trim_start_matches("\\x")).expect("hex");
    match *ty {
        Type::INT2 => Box::new(value.parse::<i16>().expect("int2")),
        Type::INT4 => Box::new(value.parse::<i32>().expect("int4")),
        Type::INT8 => Box::new(value.parse::<i64>().expect("int8")),
        Type::BOOL => Box::new(value == "true"),
        Type::BYTEA => Box::new(unhex(value)),
        Type::TEXT_ARRAY => Box::new(
            value
                .trim_matches(|c| c == '{' || c == '}')
                .split(',')
                .map(|s| s.trim_matches('"').to_owned())
                .collect::<Vec<String>>(),
        ),
        _ => Box::new(value.to_owned()),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let option = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|k| args.get(k + 1))
            .and_then(|v| v.replace('_', "").parse::<usize>().ok())
    };
    // The first argument that is neither an option nor an option's value.
    let takes_value = |k: usize| k > 0 && matches!(args[k - 1].as_str(), "--preload" | "--workers");
    let filings: usize = args
        .iter()
        .enumerate()
        .find(|(k, a)| !(a.starts_with('-') || takes_value(*k)))
        .and_then(|(_, a)| a.replace('_', "").parse().ok())
        .unwrap_or(200_000);
    if let Some(preload) = option("--preload") {
        scale(
            filings,
            preload,
            !args.iter().any(|a| a == "--no-cache"),
            option("--workers").unwrap_or(1),
        );
        return;
    }
    eprintln!("generating {filings} filings");
    let submissions: Vec<SubmissionVersion> = (0..filings)
        .map(|i| bench_support::filing(i, NOW))
        .collect();
    let message =
        inner::testing::submissions_message(1, 1, 1, NOW, &submissions).expect("bundle message");
    let bundle = bundle(&submissions, &message);
    let tables = bench_support::rows_of(&[bundle], NOW).expect("rows");
    let row_count: usize = tables.iter().map(|t| t.rows.len()).sum();
    eprintln!("{row_count} rows in {} tables", tables.len());

    eprintln!("psql COPY baseline");
    let copy = run_psql_copy(&bundle);
    eprintln!("apply_bundle");
    let apply = run_apply(&bundle);
    eprintln!("per-row INSERT baseline");
    let insert = run_inserts(&tables);

    let rate = |d: Duration| filings as f64 / d.as_secs_f64();
    let report = format!(
        "# inner: applying one submissions bundle\n\n\
         Written by `cargo bench -p inner --bench apply -- {filings}`. All three load the same \
         rows into a fresh database with the same schema and indexes, in one transaction each, \
         in the same run, on a throwaway cluster (`fsync=off`).\n\n\
         Bundle: {filings} new filings of `inner::bench_support::filing` (valid check \
         characters, public IP addresses), {websites} websites, {domains} domains, {ips} IP \
         addresses; {row_count} rows in {tables} tables.\n\n\
         | method | seconds | filings/s | rate vs psql COPY |\n\
         |---|---:|---:|---:|\n\
         | psql `\\copy` of the same rows (CSV prepared beforehand, untimed) | {c:.2} | {cr:.0} | 1.00 |\n\
         | `apply_bundle` (staging + set-based checks + binary COPY of the accepted rows + audit + ack) | {a:.2} | {ar:.0} | {ax:.2} |\n\
         | per-row prepared `INSERT` of the same rows | {i:.2} | {ir:.0} | {ix:.2} |\n\n\
         apply_bundle / per-row INSERT speed-up: {speedup:.2}x\n",
        websites = submissions
            .iter()
            .map(websites_of)
            .map(<[_]>::len)
            .sum::<usize>(),
        domains = submissions
            .iter()
            .flat_map(websites_of)
            .map(|w| w.domains.len())
            .sum::<usize>(),
        ips = submissions
            .iter()
            .flat_map(websites_of)
            .map(|w| w.access.ip_ranges.len())
            .sum::<usize>(),
        tables = tables.len(),
        c = copy.as_secs_f64(),
        cr = rate(copy),
        a = apply.as_secs_f64(),
        ar = rate(apply),
        ax = copy.as_secs_f64() / apply.as_secs_f64(),
        i = insert.as_secs_f64(),
        ir = rate(insert),
        ix = copy.as_secs_f64() / insert.as_secs_f64(),
        speedup = insert.as_secs_f64() / apply.as_secs_f64(),
    );
    print!("{report}");
    testkit::bench::write_section(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("BENCHMARKS.md"),
        "apply",
        &report,
    );
}

/// The websites of a new filing (every filing of the bench is one).
fn websites_of(version: &SubmissionVersion) -> &[bundle_format::records::Website] {
    match &version.body {
        bundle_format::records::Submission::NewFiling(filing) => &filing.websites,
        _ => &[],
    }
}

/// Applies `bundle` into a fresh, empty database of this process's cluster; returns the time.
fn apply_into(db: &TestDatabase, bundle: &IncomingBundle<'_>) -> Duration {
    let mut client = db.connect().expect("connect");
    inner::import::configure_session(&mut client).expect("session settings");
    let started = Instant::now();
    let mut tx = client.transaction().expect("begin");
    let report = apply_bundle(&mut tx, bundle, NOW).expect("apply");
    tx.commit().expect("commit");
    let elapsed = started.elapsed();
    assert_eq!(
        report.count(bundle_format::records::ImportOutcome::Applied),
        bundle.submissions.len(),
        "every filing applies"
    );
    elapsed
}

/// The scale run: `filings` new filings applied into a store of `preload` approved filings,
/// beside the same filings applied into an empty store before and after.
fn scale(filings: usize, preload: usize, cache: bool, workers: usize) {
    use inner::bench_support::preload as pre;
    let load = testkit::bench::load_average();
    let cache_root = testkit::bench::results_dir();
    let started = Instant::now();
    eprintln!("preloading {preload} approved filings");
    let store = pre::preloaded_store(
        preload,
        NOW - 86_400,
        cache.then_some(cache_root.as_path()),
        workers,
        &mut |line| eprintln!("{line}"),
    )
    .expect("preloaded store");
    let ready = started.elapsed().as_secs_f64();
    eprintln!("store ready in {ready:.0} s");
    eprintln!("generating {filings} filings");
    let submissions: Vec<SubmissionVersion> = (0..filings)
        .map(|i| bench_support::filing(i, NOW))
        .collect();
    let message = |sequence: u64| {
        inner::testing::submissions_message(pre::CHANNEL, 1, sequence, NOW, &submissions)
            .expect("bundle message")
    };
    let first = message(1);
    let next = message(store.preloaded.bundles + 1);

    eprintln!("into an empty store");
    let empty_before = apply_into(
        &TestDatabase::with_schema().expect("empty store"),
        &common::incoming(&first, &submissions),
    );
    eprintln!("  {:.2} s", empty_before.as_secs_f64());
    eprintln!("into the store of {preload} approved filings");
    let mut stats_client = store.database.connect().expect("connect");
    let stats = stats_client
        .batch_execute(
            "CREATE EXTENSION IF NOT EXISTS pg_stat_statements; SELECT pg_stat_statements_reset()",
        )
        .is_ok();
    let preloaded = apply_into(&store.database, &common::incoming(&next, &submissions));
    eprintln!("  {:.2} s", preloaded.as_secs_f64());
    let statements: Vec<(i64, f64, i64, i64, i64, String)> = if stats {
        stats_client
            .query(
                "SELECT calls, total_exec_time, shared_blks_hit, shared_blks_read,
                        shared_blks_dirtied, regexp_replace(query, '\\s+', ' ', 'g')
                 FROM pg_stat_statements
                 WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
                 ORDER BY total_exec_time DESC LIMIT 10",
                &[],
            )
            .map(|rows| {
                rows.iter()
                    .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5)))
                    .collect()
            })
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    eprintln!("into an empty store again");
    let empty_after = apply_into(
        &TestDatabase::with_schema().expect("empty store"),
        &common::incoming(&first, &submissions),
    );
    eprintln!("  {:.2} s", empty_after.as_secs_f64());

    let empty = (empty_before + empty_after).as_secs_f64() / 2.0;
    let ratio = preloaded.as_secs_f64() / empty;
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let load_text = load.map_or_else(
        || "unknown".to_owned(),
        |[one, five, fifteen]| format!("{one:.2} {five:.2} {fifteen:.2}"),
    );
    let p = &store.preloaded;
    let report = format!(
        "## Import at scale: {filings} new filings into a store of {preload} approved filings\n\n\
         `cargo bench -p inner --bench apply -- {filings} --preload {preload}` on {date}: {cores} cores, \
         load average {load_text} at the start (the machine is shared). One bundle of {filings} \
         new filings of `inner::bench_support::filing` applied by `apply_bundle` in one \
         transaction, into the preloaded store and, before and after it, into an empty store \
         with the same schema in the same cluster (the test harness's settings: `fsync=off`, \
         64 MB `shared_buffers`). The preloaded store holds {preload} approved filings, every \
         row the import and the approval leave behind {made}.\n\n\
         | store | seconds | filings/s | ÷ empty store |\n\
         |---|---:|---:|---:|\n\
         | empty (before) | {eb:.2} | {ebr:.0} | {ebx:.2} |\n\
         | {preload} approved filings | {pr:.2} | {prr:.0} | {ratio:.2} |\n\
         | empty (after) | {ea:.2} | {ear:.0} | {eax:.2} |\n\n\
         Goal: ≤ 1.3x the empty store's time (their mean, {empty:.2} s): {met}.\n",
        date = common::today(),
        made = store.made(),
        eb = empty_before.as_secs_f64(),
        ebr = filings as f64 / empty_before.as_secs_f64(),
        ebx = empty_before.as_secs_f64() / empty,
        pr = preloaded.as_secs_f64(),
        prr = filings as f64 / preloaded.as_secs_f64(),
        ea = empty_after.as_secs_f64(),
        ear = filings as f64 / empty_after.as_secs_f64(),
        eax = empty_after.as_secs_f64() / empty,
        met = if ratio <= 1.3 {
            format!("met ({ratio:.2}x)")
        } else {
            format!(
                "**not met** ({ratio:.2}x, {:.0}% over)",
                (ratio / 1.3 - 1.0) * 100.0
            )
        },
    );
    let mut report = report;
    if !statements.is_empty() {
        report.push_str(
            "\nWhere the import into the preloaded store spent its server time \
             (`pg_stat_statements`, top statements by total time; blocks of 8 KiB):\n\n\
             | calls | total s | blocks hit | blocks read | blocks dirtied | statement |\n\
             |---:|---:|---:|---:|---:|---|\n",
        );
        for (calls, total, hit, read, dirtied, query) in &statements {
            report.push_str(&format!(
                "| {calls} | {:.2} | {hit} | {read} | {dirtied} | `{}` |\n",
                total / 1e3,
                query
                    .chars()
                    .take(140)
                    .collect::<String>()
                    .replace('|', "\\|")
            ));
        }
    }
    print!("{report}");
    let json = serde_json::json!({
        "statements": statements.iter().map(|(calls, total, hit, read, dirtied, query)| serde_json::json!({
            "calls": calls, "total_ms": total, "shared_blks_hit": hit,
            "shared_blks_read": read, "shared_blks_dirtied": dirtied, "query": query,
        })).collect::<Vec<_>>(),
        "filings": filings,
        "preload": {
            "filings": p.filings,
            "rows": p.rows,
            "database_bytes": store.database_bytes,
            "from_cache": store.from_cache,
            "copy_seconds": store.copy_seconds,
            "load_seconds": p.load.as_secs_f64(),
            "index_seconds": p.indexes.as_secs_f64(),
            "vacuum_seconds": p.vacuum.as_secs_f64(),
            "rebuilt_indexes": p.rebuilt_indexes,
        },
        "cores": cores,
        "load_average": load,
        "empty_seconds": [empty_before.as_secs_f64(), empty_after.as_secs_f64()],
        "preloaded_seconds": preloaded.as_secs_f64(),
        "ratio": ratio,
        "goal_ratio": 1.3,
    });
    let written = testkit::bench::write_json(&format!("apply-preload-{preload}"), &json);
    eprintln!("wrote {}", written.display());
    testkit::bench::write_section(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("BENCHMARKS.md"),
        "apply-preload",
        &report,
    );
}
