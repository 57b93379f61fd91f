//! Peak memory of the real `sluice-transfer import` on the bundles the limits allow at their
//! largest (issue 14, item 8: within 512 MB), each imported alone into a fresh database:
//!
//! - `largest`: the largest content a bundle may hold (256 MiB, `header::MAX_CONTENT_BYTES`)
//!   made of scanned certificates that do not compress (16 of 512 KiB per submission, the most
//!   one may carry), so that the file is as large as the format allows too;
//! - `packed`: as many records as a bundle may hold (`payload::MAX_RECORDS_PER_BUNDLE`,
//!   100,000 filings) padded with domains until they fill the same 256 MiB of content: the
//!   most records, the most content and the most small allocations at once;
//! - `largest-encrypted`: `largest` encrypted to the inner host's age identity (format
//!   version 5), whose frame is decrypted in the file's own buffer and becomes the stored
//!   message.
//!
//! Each import runs under `/usr/bin/time -f %M` (the Debian package `time`), which reports the
//! child's peak resident set as the kernel accounted it (`ru_maxrss` from `wait4`). The floor
//! is the same command on an empty inbox in the same host (keyset, database connection,
//! nothing to do), measured before each import; an import that must hold the bundle's message
//! cannot go below the floor plus the message's size, which the table gives as well.
//!
//! Usage: `cargo bench -p transfer --bench import_memory -- [DIVISOR]`: DIVISOR (default 1)
//! divides the content and the record count of every bundle, for a quick run. With
//! `SLUICE_BENCH_TRANSFER=PATH` the same bundles are imported by that build of
//! `sluice-transfer` instead (the one from before a change, say), into sections and files of
//! their own (`-other-build`). Results are
//! printed, written to `target/sluice-bench/import_memory[-DIVISOR].json` and into the
//! `BENCHMARKS.md` beside this crate's manifest. Needs PostgreSQL's server binaries
//! (`postgresql`) and `/usr/bin/time` (`time`).

use std::path::Path;
use std::time::Instant;

use bundle_format::records::{Record, Submission, SubmissionVersion};
use bundle_format::{BundleWriter, SealedBundle};
use serde_json::json;
use testkit::inner_host::now;
use testkit::keys::{appliance_entries, named_key, signed_keyset};

const MIB: u64 = 1024 * 1024;
/// 512 MB, the goal for every import.
const GOAL_BYTES: u64 = 512_000_000;

/// One bundle to import.
struct Case {
    name: &'static str,
    what: String,
    file: Vec<u8>,
    records: usize,
}

/// The inner host of one case: spool, keyset, age identity and a database of its own.
struct Host {
    dir: tempfile::TempDir,
    database: inner::testing::TestDatabase,
}

/// What one import measured.
struct Run {
    peak: u64,
    seconds: f64,
    report: serde_json::Value,
}

impl Host {
    fn new(dir: tempfile::TempDir) -> Host {
        std::fs::create_dir_all(dir.path().join("spool/inbox")).expect("inbox");
        Host {
            dir,
            database: inner::testing::TestDatabase::new().expect("a throwaway database"),
        }
    }

    fn import(&self) -> Run {
        let args =
            testkit::inner_host::import_args(self.dir.path(), &self.database.connection_string());
        let started = Instant::now();
        let (output, peak) = testkit::inner_host::run_for_peak(
            &transfer_binary(),
            &args,
            &self.dir.path().join("peak-kib"),
        );
        let seconds = started.elapsed().as_secs_f64();
        let report = testkit::inner_host::json_report(&output, "import");
        Run {
            peak,
            seconds,
            report,
        }
    }
}

/// The `sluice-transfer` measured: this build's, or the one `SLUICE_BENCH_TRANSFER` names (to
/// measure the build from before a change with the same bundles).
fn transfer_binary() -> std::ffi::OsString {
    std::env::var_os("SLUICE_BENCH_TRANSFER")
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_sluice-transfer").into())
}

/// Filing `i` of the benchmark samples carrying `scans` scanned certificates of 512 KiB.
fn with_scans(i: usize, scans: usize) -> Record {
    let mut version = inner::bench_support::filing(i, now());
    if let Submission::NewFiling(filing) = &mut version.body {
        filing.attachments = testkit::inner_host::incompressible_certificates(i, scans);
    }
    rehash(version)
}

/// Filing `i` of the benchmark samples with domains added to its first website until its
/// encoding takes at least `bytes`.
fn padded(i: usize, bytes: usize) -> Record {
    let mut version = inner::bench_support::filing(i, now());
    let mut extra = 0;
    loop {
        let mut encoded = Vec::new();
        let record = rehash(version.clone());
        let length = bundle_format::payload::encode_record(&record, &mut encoded)
            .expect("a padded filing encodes");
        if length >= bytes {
            return record;
        }
        // A domain added takes 30 to 34 bytes: the last one overshoots by less than one.
        let missing = ((bytes - length) / 34).max(1);
        if let Submission::NewFiling(filing) = &mut version.body {
            for _ in 0..missing {
                filing.websites[0]
                    .domains
                    .push(format!("x{extra}.f{i}.example.cn"));
                extra += 1;
            }
        }
    }
}

fn rehash(mut version: SubmissionVersion) -> Record {
    version.content_hash = bundle_format::records::content_hash(&version.body);
    Record::Submission(version)
}

/// Signs `records` as the first submissions bundle of channel 1, encrypted to `recipient` if
/// given; the run must fit one bundle.
fn first_bundle(
    records: impl Iterator<Item = Record>,
    recipient: Option<&bundle_format::encryption::Recipient>,
) -> (Vec<u8>, usize) {
    let config = testkit::inner_host::first_submissions_config(now(), 7 * 86_400);
    let mut files = Vec::new();
    let key = named_key("outer-bundle");
    let sink = |sealed: &SealedBundle<'_>| -> std::io::Result<()> {
        files.push(sealed.to_vec());
        Ok(())
    };
    let mut writer = BundleWriter::new(&key, config, sink).expect("a bundle writer");
    if let Some(recipient) = recipient {
        writer = writer
            .encrypt_to(vec![recipient.clone()])
            .expect("encrypting to one recipient");
    }
    let mut count = 0;
    for record in records {
        writer.push(&record).expect("a sample filing fits a bundle");
        count += 1;
    }
    writer.finish().expect("sealing the bundle");
    assert_eq!(files.len(), 1, "the records must fit one bundle");
    (files.pop().expect("one bundle"), count)
}

/// The signed message's length and the content length of a bundle file.
fn sizes(file: &[u8]) -> (u64, u64) {
    let envelope = bundle_format::envelope::open(file, usize::MAX).expect("a bundle file");
    let (header, _) =
        bundle_format::Header::parse(envelope.message, u64::MAX).expect("a bundle header");
    (envelope.message.len() as u64, header.content_length)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / MIB as f64
}

fn main() {
    let divisor: usize = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .map(|a| a.parse().expect("DIVISOR is a whole number"))
        .unwrap_or(1)
        .max(1);
    let load = testkit::bench::load_average();
    let started = time::OffsetDateTime::now_utc();

    // The largest: 31 submissions of 16 scans and one of 15, 255.6 MiB of content in all.
    let scans_total = (31 * 16 + 15) / divisor;
    let scan_records = scans_total.div_ceil(16);
    let largest = |recipient: Option<&bundle_format::encryption::Recipient>| {
        first_bundle(
            (0..scan_records).map(|i| with_scans(i, (scans_total - i * 16).min(16))),
            recipient,
        )
    };
    // Packed: the most records, each encoding to about the same share of the most content.
    let records = bundle_format::payload::MAX_RECORDS_PER_BUNDLE / divisor;
    let share = usize::try_from(bundle_format::header::MAX_CONTENT_BYTES / 100_000)
        .expect("fits usize")
        - 64;

    let mut results = Vec::new();
    for name in ["largest", "packed", "largest-encrypted"] {
        let dir = tempfile::tempdir().expect("a temporary directory");
        signed_keyset(appliance_entries(1))
            .write_file(&dir.path().join("keyset"))
            .expect("the keyset");
        let recipient =
            keys::age_identity::write_new_identity(&dir.path().join("age-identity"), "bench")
                .expect("an age identity");
        let made = Instant::now();
        let (file, count) = match name {
            "largest" => largest(None),
            "packed" => first_bundle((0..records).map(|i| padded(i, share)), None),
            _ => largest(Some(&recipient)),
        };
        let case = Case {
            name,
            what: match name {
                "packed" => format!("{count} filings padded with domains"),
                _ => format!("{count} filings with 16 scans of 512 KiB that do not compress"),
            },
            file,
            records: count,
        };
        eprintln!(
            "{}: {} records, {:.1} MiB file, made in {:.1} s",
            case.name,
            case.records,
            mib(case.file.len() as u64),
            made.elapsed().as_secs_f64()
        );
        let host = Host::new(dir);
        let idle = host.import();
        std::fs::write(host.dir.path().join("spool/inbox/bench.bundle"), &case.file)
            .expect("writing the bundle into the inbox");
        let (message, content) = sizes(&case.file);
        let file_bytes = case.file.len() as u64;
        drop(case.file);
        let run = host.import();
        let entry = &run.report["files"][0];
        assert_eq!(entry["result"], "applied", "{}", run.report);
        assert_eq!(entry["outcomes"]["applied"], case.records, "{}", run.report);
        let above = run.peak.saturating_sub(idle.peak);
        eprintln!(
            "{}: peak {:.1} MiB, idle {:.1} MiB, {:.1} MiB above idle for a {:.1} MiB message, {:.1} s",
            case.name,
            mib(run.peak),
            mib(idle.peak),
            mib(above),
            mib(message),
            run.seconds
        );
        results.push(json!({
            "bundle": case.name,
            "what": case.what,
            "records": case.records,
            "file_bytes": file_bytes,
            "message_bytes": message,
            "content_bytes": content,
            "idle_peak_rss_bytes": idle.peak,
            "peak_rss_bytes": run.peak,
            "above_idle_bytes": above,
            "above_idle_per_message_byte": above as f64 / message as f64,
            "floor_bytes": idle.peak + message,
            "seconds": run.seconds,
            "goal_bytes": GOAL_BYTES,
            "goal_met": run.peak <= GOAL_BYTES,
        }));
    }

    let other = std::env::var_os("SLUICE_BENCH_TRANSFER").is_some();
    let suffix = format!(
        "{}{}",
        if divisor == 1 {
            String::new()
        } else {
            format!("-{divisor}")
        },
        if other { "-other-build" } else { "" }
    );
    let value = json!({
        "bench": "import_memory",
        "divisor": divisor,
        "started": started.format(&time::format_description::well_known::Rfc3339).ok(),
        "load_average": load,
        "results": results,
    });
    let path = testkit::bench::write_json(&format!("import_memory{suffix}"), &value);
    eprintln!("wrote {}", path.display());

    let mut table = format!(
        "## Peak memory of one import{}{}\n\n`cargo bench -p transfer --bench import_memory{}` on {}: \
         2 cores, load average {} at the start (the machine is shared). Each bundle is imported \
         alone by the real binary into a fresh database; peak RSS is the kernel's `ru_maxrss` of \
         the importing process (`/usr/bin/time -f %M`); idle is the same command on an empty \
         inbox just before.\n\n\
         | bundle | records | file MiB | content MiB | idle MiB | peak MiB | above idle ÷ message | \
         seconds | ≤ 512 MB |\n|---|---:|---:|---:|---:|---:|---:|---:|---|\n",
        if divisor == 1 {
            String::new()
        } else {
            format!(", at 1/{divisor} of the limits")
        },
        if other {
            ", another build of `sluice-transfer` (`SLUICE_BENCH_TRANSFER`)"
        } else {
            ""
        },
        if divisor == 1 {
            String::new()
        } else {
            format!(" -- {divisor}")
        },
        started.date(),
        load.map(|l| format!("{:.2} {:.2} {:.2}", l[0], l[1], l[2]))
            .unwrap_or_else(|| "unknown".into()),
    );
    for r in &results {
        let n = |key: &str| r[key].as_u64().unwrap_or(0);
        table.push_str(&format!(
            "| {} ({}) | {} | {:.1} | {:.1} | {:.0} | {:.0} | {:.2} | {:.1} | {} |\n",
            r["bundle"].as_str().unwrap_or(""),
            r["what"].as_str().unwrap_or(""),
            n("records"),
            mib(n("file_bytes")),
            mib(n("content_bytes")),
            mib(n("idle_peak_rss_bytes")),
            mib(n("peak_rss_bytes")),
            r["above_idle_per_message_byte"].as_f64().unwrap_or(0.0),
            r["seconds"].as_f64().unwrap_or(0.0),
            if r["goal_met"].as_bool().unwrap_or(false) {
                "yes"
            } else {
                "**no**"
            },
        ));
    }
    print!("{table}");
    let benchmarks = Path::new(env!("CARGO_MANIFEST_DIR")).join("BENCHMARKS.md");
    testkit::bench::write_section(&benchmarks, &format!("import_memory{suffix}"), &table);
}
