//! The transfer pipeline at volume: N new filings from the outer SQLite to PostgreSQL and their
//! acks back, each step timed and its peak memory measured in a process of its own, beside
//! baselines on the same data in the same run.
//!
//! Usage: `cargo bench -p transfer --bench round_trip -- [N] [--baselines | --no-baselines]
//! [--production-pg] [--until STEP]` (N defaults to 200000; `--until` stops after that step,
//! keeps the work directory and writes no results). Baselines are on by default for N ≤ 200,000
//! and off above, where their files take gigabytes (the record content, and the rows as CSV and
//! as binary COPY data). `--production-pg` runs PostgreSQL with `fsync`, `full_page_writes` and
//! `synchronous_commit` on and 1 GB of `shared_buffers` (the section and JSON file are then
//! labelled `N-production`). Other flags (cargo passes `--bench`) are ignored. Needs `zstd`,
//! `psql` and the PostgreSQL server binaries (Debian's `zstd` and `postgresql`). Work files go
//! to a temporary directory (`TMPDIR`); a 1,000,000-submission run needs several GB there.
//!
//! The parent process starts the throwaway PostgreSQL cluster ([`inner::testing`]), generates
//! the keys ([`transfer::demo::generate_keys`]) and runs each step by running this binary again
//! with `--step NAME --dir DIR` (settings in `DIR/run.json`). The steps:
//!
//! 1. `populate` (setup, not part of the round trip): N filings from
//!    [`inner::bench_support::filing`] into the outer SQLite, 10,000 per transaction;
//! 2. `export`, `carry-in`, `import`, `return`, `carry-back`, `apply`: the round trip, through
//!    the same library calls as `sluice-transfer`.
//!
//! Each step's process measures its wall time around the step (opening its stores and
//! connections included, loading keys not), reads its own peak resident set (`VmHWM`) when done,
//! and prints both as one JSON line to the parent; so a step's peak memory is its own. The
//! PostgreSQL server's memory (separate processes) is not in any step's figure.
//!
//! Baselines, each on exactly the data of this run, its input prepared by an untimed
//! `prepare-baselines` process after the export:
//!
//! - bare `zstd -3 -T1` compressing the record content of the exported bundles (what export
//!   compresses) to `/dev/null`; export ratio = zstd seconds / export seconds (goal ≥ 0.8);
//! - binary `COPY` of exactly the rows the import writes for those bundles
//!   ([`inner::bench_support::Rows`], ledger and chain rows included), one transaction per
//!   bundle as the import does, into a fresh database with the same schema and indexes; the
//!   binary data is made from CSV by the server beforehand, untimed
//!   ([`inner::bench_support::floor::BinaryFloor`]); import ratio = COPY seconds / import
//!   seconds (goal ≥ 0.75).
//!
//! The import step also reports the rows and index entries the import's tables hold after it,
//! and the WAL bytes written while it ran (`pg_current_wal_lsn()` before and after), and the
//! server settings. Results go to `target/sluice-bench/round_trip-N.json` too.
//!
//! The results are printed and written into `BENCHMARKS.md` beside this crate's manifest, in a
//! section of their own for this N (between `<!-- round_trip N=… -->` markers), so runs at
//! different N stay side by side.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;
use transfer::outcome::FileResult;

use bundle_format::records::{Record, Submission, SubmissionVersion};
use bundle_format::{Expectation, ReadLimits};
use inner::bench_support::floor::{self, BinaryFloor};
use inner::bench_support::{self, ChainEntry, CopyFiles};
use inner::import::IncomingBundle;
use keys::{ChannelId, Role, SecretKey};
use outer::store::{AccountKind, NewSubmission};
use serde_json::{Value, json};
use transfer::inner_side::{self, ImportSettings, ReturnSettings};
use transfer::keysets::KeysetStore;
use transfer::outer_side::{self, ApplySettings, ExportSettings, OuterHost};
use transfer::spool::{self, Spool};
use transfer::{carry, demo, examine};

#[path = "round_trip/report.rs"]
mod report;
use report::{Report, results, section, with_section};

/// Submission versions per submissions bundle, and entries per return bundle.
const PER_BUNDLE: usize = 50_000;
/// Filings stored per transaction while populating.
const POPULATE_CHUNK: usize = 10_000;
/// The memory goal for each step, bytes (512 MB read as 512 × 10⁶ bytes).
const MEMORY_GOAL_BYTES: f64 = 512e6;
/// The round trip's time goal, seconds, at [`GOAL_SUBMISSIONS`].
const ROUND_TRIP_GOAL_SECONDS: f64 = 45.0;
/// The round trip's hard limit, seconds, at [`GOAL_SUBMISSIONS`].
const ROUND_TRIP_LIMIT_SECONDS: f64 = 60.0;
/// The number of submissions the round trip's time goal is set for.
const GOAL_SUBMISSIONS: usize = 1_000_000;
/// Export beside `zstd -3 -T1`, at least.
const EXPORT_GOAL: f64 = 0.8;
/// Import beside binary `COPY` of the rows it writes, at least.
const IMPORT_GOAL: f64 = 0.75;
/// PostgreSQL settings of the `--production-pg` run (applied after the test harness's own,
/// so they win): durable commits and writes, and a buffer cache a production server would have.
const PRODUCTION_PG: &str = "fsync=on synchronous_commit=on full_page_writes=on shared_buffers=1GB";
/// The test harness's variable for extra server settings.
const PG_OPTIONS_VARIABLE: &str = "SLUICE_TEST_PG_OPTIONS";
/// Steps that make up the round trip, in order.
const ROUND_TRIP: [&str; 6] = [
    "export",
    "carry-in",
    "import",
    "return",
    "carry-back",
    "apply",
];

/// What every step's process is told, written by the parent to `DIR/run.json`.
#[derive(serde::Serialize, serde::Deserialize)]
struct Run {
    submissions: usize,
    now: i64,
    keyset: PathBuf,
    outer_key: PathBuf,
    return_key: PathBuf,
    database_url: String,
}

/// The directories of one run, all under its work directory.
struct Layout {
    outer_db: PathBuf,
    outer_spool: Spool,
    inner_spool: Spool,
    medium: PathBuf,
    baseline: PathBuf,
}

impl Layout {
    fn under(dir: &Path) -> Layout {
        Layout {
            outer_db: dir.join("outer.sqlite"),
            outer_spool: Spool::under(&dir.join("outer-spool")),
            inner_spool: Spool::under(&dir.join("inner-spool")),
            medium: dir.join("medium"),
            baseline: dir.join("baseline"),
        }
    }
}

/// The command line: `[N] [--baselines | --no-baselines] [--until STEP]`, or, for a step's
/// process, `--step NAME --dir DIR`.
#[derive(Default)]
struct Options {
    submissions: Option<usize>,
    baselines: Option<bool>,
    /// Stop after this step (any of them), keep the work directory and write no results: for
    /// working on one step, whose process can then be run again by hand with
    /// `--step NAME --dir DIR` on a copy of the directory (PostgreSQL is stopped by then, so
    /// the steps that need it, import and return, cannot).
    until: Option<String>,
    /// Run PostgreSQL with production settings ([`PRODUCTION_PG`]) instead of the test
    /// harness's fast ones.
    production: bool,
    step: Option<String>,
    dir: Option<PathBuf>,
}

impl Options {
    fn parse(mut args: impl Iterator<Item = String>) -> Options {
        let mut options = Options::default();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--baselines" => options.baselines = Some(true),
                "--no-baselines" => options.baselines = Some(false),
                "--step" => options.step = args.next(),
                "--until" => options.until = args.next(),
                "--production-pg" => options.production = true,
                "--dir" => options.dir = args.next().map(PathBuf::from),
                other => {
                    if let Ok(n) = other.replace(['_', ','], "").parse() {
                        options.submissions = Some(n);
                    }
                    // Anything else (cargo's `--bench`, a filter) is not ours.
                }
            }
        }
        options
    }
}

fn main() {
    let options = Options::parse(std::env::args().skip(1));
    match (&options.step, &options.dir) {
        (Some(step), Some(dir)) => step_process(step, dir),
        (Some(_), None) => panic!("--step needs --dir"),
        _ => parent(&options),
    }
}

// ---------------------------------------------------------------------------------------------
// A step's process

fn step_process(step: &str, dir: &Path) {
    let run: Run =
        serde_json::from_slice(&std::fs::read(dir.join("run.json")).expect("read run.json"))
            .expect("parse run.json");
    let layout = Layout::under(dir);
    let (seconds, detail) = match step {
        "populate" => populate(&run, &layout),
        "export" => export(&run, &layout),
        "prepare-baselines" => prepare_baselines(&run, &layout),
        "carry-in" => carry_between(
            &layout.outer_spool.outbox,
            &layout.inner_spool.inbox,
            &layout,
        ),
        "import" => import(&run, &layout),
        "return" => write_return(&run, &layout),
        "carry-back" => carry_between(
            &layout.inner_spool.outbox,
            &layout.outer_spool.inbox,
            &layout,
        ),
        "apply" => apply(&run, &layout),
        other => panic!("unknown step {other:?}"),
    };
    let result = json!({ "seconds": seconds, "peak_kib": peak_kib(), "detail": detail });
    println!("{result}");
}

/// This process's peak resident set, KiB.
fn peak_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The access-provider account that files every populated filing for its customer (the
/// provider `inner::bench_support::filing`'s websites name).
const PROVIDER: &str = "provider_1";

fn populate(run: &Run, layout: &Layout) -> (f64, Value) {
    let started = Instant::now();
    let host = OuterHost::open(&layout.outer_db).expect("outer store");
    let account = host
        .store()
        .add_account(PROVIDER, AccountKind::AccessProvider)
        .expect("account")
        .id;
    let (mut websites, mut domains, mut ips) = (0usize, 0usize, 0usize);
    let mut first = 0;
    while first < run.submissions {
        let last = (first + POPULATE_CHUNK).min(run.submissions);
        let batch: Vec<NewSubmission> = (first..last)
            .map(|i| {
                // Filed by the access provider its websites name, as the manuals' filings mostly
                // are: its payload goes with its ack. (A website owner's own filing would wait
                // outside for the provider's check, its payload kept after the ack.)
                let mut version = bench_support::filing(i, run.now);
                version.submitter = PROVIDER.to_owned();
                version.access_provider = Some(PROVIDER.to_owned());
                let subject_key = match &version.body {
                    Submission::NewFiling(filing) => {
                        websites += filing.websites.len();
                        for website in &filing.websites {
                            domains += website.domains.len();
                            ips += website.access.ip_ranges.len();
                        }
                        Some(outer::convert::subject_key(&filing.subject))
                    }
                    _ => None,
                };
                NewSubmission {
                    account_id: account,
                    kind: "new_filing".into(),
                    filing_number: None,
                    subject_key,
                    version,
                    idempotency: None,
                }
            })
            .collect();
        for result in host
            .block_on(host.store().insert_submissions(batch))
            .expect("insert")
        {
            result.expect("insert row");
        }
        first = last;
    }
    let seconds = started.elapsed().as_secs_f64();
    (
        seconds,
        json!({ "websites": websites, "domains": domains, "ips": ips }),
    )
}

fn export(run: &Run, layout: &Layout) -> (f64, Value) {
    let key = SecretKey::read_file(&run.outer_key, None).expect("outer key");
    let started = Instant::now();
    let host = OuterHost::open(&layout.outer_db).expect("outer store");
    let settings = ExportSettings {
        channel: ChannelId(1),
        validity_seconds: 7 * 24 * 3600,
        resend_after_seconds: 24 * 3600,
        records_per_bundle: PER_BUNDLE,
        now: run.now,
        recipients: Vec::new(),
    };
    let report = outer_side::export(&host, &layout.outer_spool, &key, &settings).expect("export");
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(
        report.versions, run.submissions,
        "every submission exported"
    );
    (seconds, json!({ "bundles": report.written.len() }))
}

/// Writes the baselines' inputs from the exported bundles: the record content zstd
/// compresses, and the rows the import writes as CSV files (turned into binary COPY data later).
/// Not timed for any comparison.
fn prepare_baselines(run: &Run, layout: &Layout) -> (f64, Value) {
    use std::io::Write as _;
    let started = Instant::now();
    let keyset =
        transfer::config::load_keyset(std::slice::from_ref(&run.keyset), run.now).expect("keyset");
    let csv_dir = layout.baseline.join("csv");
    std::fs::create_dir_all(&csv_dir).expect("baseline directory");
    let mut content_file = std::io::BufWriter::new(
        std::fs::File::create(layout.baseline.join("content.bin")).expect("content file"),
    );
    let mut copy_files = CopyFiles::new(&csv_dir);
    let (mut content_bytes, mut bundle_bytes, mut bundles) = (0u64, 0u64, 0usize);
    let files =
        examine::in_chain_order(spool::list_bundles(&layout.outer_spool.outbox).expect("list"));
    for path in files {
        let file = std::fs::read(&path).expect("read bundle");
        bundle_bytes += file.len() as u64;
        let verified = bundle_format::read_bundle(
            &file,
            &keyset,
            &Expectation {
                role: Role::OuterBundle,
                channel: ChannelId(1),
                at: run.now,
            },
            &ReadLimits::default(),
        )
        .expect("verify bundle");
        let mut content = Vec::new();
        let mut submissions: Vec<SubmissionVersion> = Vec::new();
        for record in verified.records {
            bundle_format::payload::encode_record(&record, &mut content).expect("encode");
            if let Record::Submission(version) = record {
                submissions.push(version);
            }
        }
        content_file.write_all(&content).expect("write content");
        content_bytes += content.len() as u64;
        let header = &verified.header;
        let chain = ChainEntry {
            previous: header.previous.0,
            kind: header.kind.as_str().to_owned(),
            file_name: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        };
        let message = bundle_format::envelope::open(&file, bundle_format::bundle::MAX_FILE_BYTES)
            .expect("open bundle")
            .message;
        let bundle =
            IncomingBundle::verified(verified.id, header, verified.signer, &submissions, message);
        copy_files
            .add_bundle(&bundle, Some(&chain), run.now)
            .expect("write CSV");
        bundles += 1;
    }
    content_file.flush().expect("write content");
    let rows = copy_files.row_count();
    let script = copy_files.finish().expect("write psql script");
    let seconds = started.elapsed().as_secs_f64();
    (
        seconds,
        json!({
            "content_bytes": content_bytes,
            "bundle_bytes": bundle_bytes,
            "bundles": bundles,
            "rows": rows,
            "script": script,
        }),
    )
}

/// The run's keyset, held in memory only (no keyset bundles travel in this benchmark).
fn keyset_store(run: &Run) -> KeysetStore {
    let keyset =
        transfer::config::load_keyset(std::slice::from_ref(&run.keyset), run.now).expect("keyset");
    KeysetStore::with_keyset(keyset, None)
}

fn carry_between(from: &Path, to: &Path, layout: &Layout) -> (f64, Value) {
    let started = Instant::now();
    let first = carry::carry(from, &layout.medium, false).expect("carry to the medium");
    let second = carry::carry(&layout.medium, to, false).expect("carry from the medium");
    let seconds = started.elapsed().as_secs_f64();
    assert!(first.incomplete.is_empty() && second.incomplete.is_empty());
    (seconds, json!({ "files": second.carried.len() }))
}

fn import(run: &Run, layout: &Layout) -> (f64, Value) {
    let mut keysets = keyset_store(run);
    let mut observer = inner_side::connect(&run.database_url).expect("connect");
    let wal_before = floor::wal_position(&mut observer).expect("WAL position");
    let started = Instant::now();
    let mut client = inner_side::connect(&run.database_url).expect("connect");
    let settings = ImportSettings {
        channels: vec![ChannelId(1)],
        now: run.now,
        identities: Default::default(),
        max_scan_bytes: filing::scan::DEFAULT_MAX_SCAN_BYTES,
    };
    let report = inner_side::import(&mut client, &layout.inner_spool, &mut keysets, &settings)
        .expect("import");
    let seconds = started.elapsed().as_secs_f64();
    for file in &report.files {
        assert_eq!(file.result, "applied", "{}: {:?}", file.file, file.reason);
    }
    let wal_bytes = floor::wal_bytes_since(&mut observer, &wal_before).expect("WAL position");
    let footprint = floor::footprint(&mut observer).expect("rows and index entries");
    let settings: serde_json::Map<String, Value> = floor::settings(&mut observer)
        .expect("server settings")
        .into_iter()
        .map(|(name, value)| (name, Value::from(value)))
        .collect();
    (
        seconds,
        json!({
            "applied": report.count(FileResult::Applied),
            "files": report.files.len(),
            "wal_bytes": wal_bytes,
            "rows": footprint.rows,
            "index_entries": footprint.index_entries,
            "pg_settings": settings,
        }),
    )
}

fn write_return(run: &Run, layout: &Layout) -> (f64, Value) {
    let key = SecretKey::read_file(&run.return_key, None).expect("return key");
    let started = Instant::now();
    let mut client = inner_side::connect(&run.database_url).expect("connect");
    let settings = ReturnSettings {
        channel: ChannelId(100),
        for_channel: None,
        validity_seconds: 7 * 24 * 3600,
        max_entries: PER_BUNDLE,
        now: run.now,
        recipients: Vec::new(),
    };
    let report = inner_side::write_return(&mut client, &layout.inner_spool, &key, &settings)
        .expect("return");
    let seconds = started.elapsed().as_secs_f64();
    (
        seconds,
        json!({ "acks": report.acks, "status_changes": report.status_changes }),
    )
}

fn apply(run: &Run, layout: &Layout) -> (f64, Value) {
    let mut keysets = keyset_store(run);
    let started = Instant::now();
    let host = OuterHost::open(&layout.outer_db).expect("outer store");
    let settings = ApplySettings {
        channel: ChannelId(1),
        return_channel: ChannelId(100),
        now: run.now,
        identities: Default::default(),
    };
    let report =
        outer_side::apply(&host, &layout.outer_spool, &mut keysets, &settings).expect("apply");
    let seconds = started.elapsed().as_secs_f64();
    let deleted: usize = report.files.iter().map(|f| f.payloads_deleted).sum();
    (seconds, json!({ "payloads_deleted": deleted }))
}

// ---------------------------------------------------------------------------------------------
// The parent

/// What one step's process reported.
struct StepResult {
    name: &'static str,
    seconds: f64,
    peak_kib: u64,
    detail: Value,
}

impl StepResult {
    fn peak_mib(&self) -> f64 {
        self.peak_kib as f64 / 1024.0
    }

    fn within_memory_goal(&self) -> bool {
        self.peak_kib as f64 * 1024.0 <= MEMORY_GOAL_BYTES
    }

    fn count(&self, field: &str) -> u64 {
        self.detail[field].as_u64().unwrap_or(0)
    }
}

fn run_step(name: &'static str, dir: &Path) -> StepResult {
    eprintln!("step {name}");
    let exe = std::env::current_exe().expect("path of this benchmark binary");
    let output = Command::new(exe)
        .arg("--step")
        .arg(name)
        .arg("--dir")
        .arg(dir)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .expect("start a step's process");
    assert!(
        output.status.success(),
        "step {name} failed ({})",
        output.status
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|line| line.starts_with('{'))
        .unwrap_or_else(|| panic!("step {name} reported nothing"));
    let result: Value = serde_json::from_str(line).expect("a step's report");
    let step = StepResult {
        name,
        seconds: result["seconds"].as_f64().unwrap_or(f64::NAN),
        peak_kib: result["peak_kib"].as_u64().unwrap_or(0),
        detail: result["detail"].clone(),
    };
    eprintln!(
        "  {:.2} s, peak RSS {:.0} MiB",
        step.seconds,
        step.peak_mib()
    );
    step
}

/// The baselines' results.
struct Baselines {
    zstd_seconds: f64,
    /// Binary `COPY` of the import's rows.
    copy_seconds: f64,
    /// Seconds of the `COPY` into each table.
    copy_tables: Vec<(&'static str, f64)>,
    copy_bytes: u64,
    copy_wal_bytes: u64,
    content_bytes: u64,
    rows: u64,
}

fn parent(options: &Options) {
    let options_now = std::env::var(PG_OPTIONS_VARIABLE).unwrap_or_default();
    if options.production && !options_now.contains(PRODUCTION_PG) {
        // The harness reads its settings from the environment when it starts the server:
        // run again with them there (this process never starts a server).
        let status = Command::new(std::env::current_exe().expect("path of this benchmark"))
            .args(std::env::args().skip(1))
            .env(
                PG_OPTIONS_VARIABLE,
                format!("{options_now} {PRODUCTION_PG}"),
            )
            .status()
            .expect("run the benchmark again with production settings");
        std::process::exit(status.code().unwrap_or(1));
    }
    let n = options.submissions.unwrap_or(200_000);
    let with_baselines = options.baselines.unwrap_or(n <= 200_000);
    let load_average = std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, |c| c.get());
    let date = time::OffsetDateTime::now_utc().date();

    let work = tempfile::Builder::new()
        .prefix("sluice-round-trip-")
        .tempdir()
        .expect("work directory");
    let dir = work.path();
    eprintln!("{n} submissions, work directory {}", dir.display());
    let now = demo::now();
    let keys = demo::generate_keys(&dir.join("keys"), &[1], 100, now).expect("keys");
    // The cluster lives as long as this process; every step connects to the same database.
    let database = inner::testing::TestDatabase::new().expect("PostgreSQL");
    drop(inner_side::connect(&database.connection_string()).expect("migrate the inner store"));
    let run = Run {
        submissions: n,
        now,
        keyset: keys.keyset.clone(),
        outer_key: keys.outer_key(ChannelId(1)).expect("outer key").to_owned(),
        return_key: keys.inner_return.clone(),
        database_url: database.connection_string(),
    };
    std::fs::write(
        dir.join("run.json"),
        serde_json::to_vec_pretty(&run).expect("encode run.json"),
    )
    .expect("write run.json");
    let layout = Layout::under(dir);
    for spool in [&layout.outer_spool, &layout.inner_spool] {
        spool.create_all().expect("spool");
    }
    std::fs::create_dir_all(&layout.medium).expect("medium");

    let populate = run_step("populate", dir);
    let stop_here = |step: &str| {
        if options.until.as_deref() == Some(step) {
            eprintln!(
                "stopped after {step}; work directory kept: {}",
                dir.display()
            );
            return true;
        }
        false
    };
    if stop_here("populate") {
        keep(work, database);
        return;
    }
    let mut steps = vec![run_step("export", dir)];
    let bundles = steps[0].count("bundles");
    let bundle_bytes: u64 = spool::list_bundles(&layout.outer_spool.outbox)
        .expect("list outbox")
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();

    // zstd runs right after the export, binary COPY right before the import, each on its own input.
    let mut zstd = None;
    if with_baselines {
        let prepared = run_step("prepare-baselines", dir);
        let content = layout.baseline.join("content.bin");
        eprintln!("baseline: zstd -3 -T1");
        let started = Instant::now();
        let status = Command::new("zstd")
            .args(["-3", "-T1", "-q", "-c"])
            .arg(&content)
            .stdout(Stdio::null())
            .status()
            .expect("zstd not found: install Debian's `zstd` package");
        let zstd_seconds = started.elapsed().as_secs_f64();
        assert!(status.success(), "zstd failed ({status})");
        let _ = std::fs::remove_file(&content);
        eprintln!(
            "  zstd {zstd_seconds:.2} s; export / zstd = {:.2}x",
            zstd_seconds / steps[0].seconds
        );
        zstd = Some((prepared, zstd_seconds));
    }
    if stop_here("export") {
        keep(work, database);
        return;
    }
    steps.push(run_step("carry-in", dir));
    if stop_here("carry-in") {
        keep(work, database);
        return;
    }
    let baselines = zstd.map(|(prepared, zstd_seconds)| {
        eprintln!("baseline: binary COPY (converting the rows, untimed)");
        let script = PathBuf::from(prepared.detail["script"].as_str().unwrap_or_default());
        let csv_dir = script.parent().expect("the script's directory");
        let scratch = inner::testing::TestDatabase::with_schema().expect("PostgreSQL");
        let binary = {
            let mut client = scratch.connect().expect("connect");
            BinaryFloor::prepare(&mut client, csv_dir).expect("binary COPY data")
        };
        drop_database(&scratch);
        eprintln!("baseline: binary COPY");
        let copy_db = inner::testing::TestDatabase::with_schema().expect("PostgreSQL");
        let (times, copy_wal_bytes) = {
            let mut client = copy_db.connect().expect("connect");
            let before = floor::wal_position(&mut client).expect("WAL position");
            let times = binary.load(&mut client).expect("binary COPY baseline");
            let wal = floor::wal_bytes_since(&mut client, &before).expect("WAL position");
            (times, wal)
        };
        let copy_seconds = times.total.as_secs_f64();
        let copy_tables = times
            .tables
            .iter()
            .map(|(table, spent)| (table.name(), spent.as_secs_f64()))
            .collect();
        eprintln!("  {copy_seconds:.2} s");
        let copy_bytes = binary.bytes();
        binary.remove();
        drop_database(&copy_db);
        let _ = std::fs::remove_dir_all(&layout.baseline);
        Baselines {
            zstd_seconds,
            copy_seconds,
            copy_tables,
            copy_bytes,
            copy_wal_bytes,
            content_bytes: prepared.count("content_bytes"),
            rows: prepared.count("rows"),
        }
    });
    for name in ["import", "return", "carry-back", "apply"] {
        steps.push(run_step(name, dir));
        if stop_here(name) {
            keep(work, database);
            return;
        }
    }
    let find = |name: &str| steps.iter().find(|s| s.name == name).expect("step ran");
    assert_eq!(
        find("import").count("applied"),
        bundles,
        "every bundle applied"
    );
    assert_eq!(
        find("return").count("acks"),
        bundles,
        "every ack goes out in one return run"
    );
    assert_eq!(
        find("apply").count("payloads_deleted"),
        n as u64,
        "every payload deleted on the outer side"
    );

    let report = Report {
        n,
        date,
        cores,
        load_average,
        production: options.production,
        bundles,
        bundle_bytes,
        populate: &populate,
        steps: &steps,
        baselines: baselines.as_ref(),
    };
    let label = report.label();
    let json_path = testkit::bench::write_json(&format!("round_trip-{label}"), &results(&report));
    eprintln!("results in {}", json_path.display());
    let section = section(&report);
    println!("{section}");
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("BENCHMARKS.md");
    let existing = std::fs::read_to_string(&path).unwrap_or_default();
    std::fs::write(&path, with_section(&existing, &label, &section)).expect("write BENCHMARKS.md");
    eprintln!("written to {}", path.display());
}

/// Leaves the work directory and the PostgreSQL cluster's files behind (the server stops).
fn keep(work: tempfile::TempDir, database: inner::testing::TestDatabase) {
    drop(database);
    let _ = work.keep();
}

/// Drops a database the benchmark no longer needs, so its files do not fill the disk.
fn drop_database(db: &inner::testing::TestDatabase) {
    let mut config = db.config().clone();
    config.dbname("postgres");
    if let Ok(mut client) = config.connect(postgres::NoTls) {
        let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS \"{}\"", db.name()));
    }
}
