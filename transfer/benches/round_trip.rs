//! The transfer pipeline at volume, each step timed and its peak memory measured, beside
//! baselines on the same data in the same run:
//!
//! - `export` of N submission versions from the outer SQLite into signed bundles, beside bare
//!   `zstd -3 -T1` compressing the same record payload (written to a file beforehand, untimed);
//! - `import` of those bundles into a fresh PostgreSQL, beside `inner::import::apply_bundle`
//!   alone on the same decoded records into another fresh database (the import's own floor;
//!   the inner crate's benchmark compares `apply_bundle` with `psql COPY`);
//! - the whole round trip: export, carry, import, return, carry back, apply.
//!
//! Peak memory is the process's peak resident set, reset before each step through
//! `/proc/self/clear_refs`. Usage: `cargo bench -p transfer --bench round_trip -- [N]`
//! (default 200000). Results are printed and written to `BENCHMARKS.md` beside this crate's
//! manifest. Needs `zstd` and the PostgreSQL server binaries (Debian `zstd`, `postgresql`).

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::time::Instant;

use bundle_format::records::{
    Access, AccessMethod, CertificateType, Filing, IpRange, Person, Record, ServiceType, Subject,
    SubjectNature, Submission, SubmissionVersion, Website, content_hash,
};
use bundle_format::{Expectation, ReadLimits};
use keys::{ChannelId, Role, SecretKey};
use outer::store::{AccountKind, NewSubmission};
use transfer::demo;
use transfer::inner_side::{self, ImportSettings, ReturnSettings};
use transfer::outer_side::{self, ApplySettings, ExportSettings, OuterHost};
use transfer::spool::{self, Spool};

fn person(name: String) -> Person {
    Person {
        name,
        certificate_type: CertificateType::ResidentId,
        // The example printed in GB 11643: import re-checks check characters.
        certificate_number: "11010519491231002X".to_owned(),
        mobile_phones: vec!["13800138000".to_owned()],
        office_phones: vec!["010-62345678".to_owned()],
        email: "admin@example.cn".to_owned(),
    }
}

/// A unified social credit code for filing `i` with its check character right (import
/// re-checks it).
fn credit_code(i: usize) -> String {
    let first17 = format!("91110108MA{i:07}");
    let check = outer::validate::uscc_check_char(&first17).unwrap_or('0');
    format!("{first17}{check}")
}

/// Filing `i`: 1-3 websites with 1-5 domains and 1-4 IP addresses each (fixed by `i`).
fn filing(i: usize, now: i64) -> SubmissionVersion {
    let websites = (0..1 + i % 3)
        .map(|w| {
            let domains: Vec<String> = (0..1 + (i / 3) % 5)
                .map(|d| format!("d{d}.w{w}.f{i}.example.cn"))
                .collect();
            let ip_ranges = (0..1 + (i / 15) % 4)
                .map(|k| {
                    let n = u32::try_from(i * 12 + w * 4 + k).unwrap_or(u32::MAX);
                    let ip = IpAddr::V4(Ipv4Addr::from(0x0b00_0000 + n));
                    IpRange {
                        first: ip,
                        last: ip,
                    }
                })
                .collect();
            Website {
                name: format!("网站{i}-{w}"),
                home_urls: vec![format!("https://{}/", domains[0])],
                domains,
                service_types: vec![ServiceType::Showcase],
                pre_approvals: Vec::new(),
                access: Access {
                    provider: "provider_1".to_owned(),
                    method: AccessMethod::Cloud,
                    server_region_code: 110_108,
                    ip_ranges,
                },
                principal: person(format!("负责人{i}")),
            }
        })
        .collect();
    let body = Submission::NewFiling(Filing {
        subject: Subject {
            name: format!("测试科技有限公司{i}"),
            nature: SubjectNature::Enterprise,
            certificate_type: CertificateType::UnifiedSocialCreditCode,
            certificate_number: credit_code(i),
            region_code: 110_108,
            address: "北京市海淀区中关村大街1号".to_owned(),
            investor: format!("测试科技有限公司{i}"),
            principal: person(format!("法人{i}")),
        },
        websites,
        attachments: Vec::new(),
    });
    SubmissionVersion {
        receipt: format!("R20261122-{i:08}"),
        version: 1,
        content_hash: content_hash(&body),
        submitted_at: now - 3600,
        submitter: "owner".to_owned(),
        access_provider: None,
        body,
    }
}

/// Resets the peak resident set of this process.
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Peak resident set since the last reset, MiB.
fn peak_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

struct Step {
    name: &'static str,
    seconds: f64,
    peak_mib: f64,
}

fn step<T>(steps: &mut Vec<Step>, name: &'static str, work: impl FnOnce() -> T) -> T {
    reset_peak();
    let started = Instant::now();
    let result = work();
    let seconds = started.elapsed().as_secs_f64();
    let peak = peak_mib();
    eprintln!("{name}: {seconds:.2} s, peak {peak:.0} MiB");
    steps.push(Step {
        name,
        seconds,
        peak_mib: peak,
    });
    result
}

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(200_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let now = demo::now();
    let keys = demo::generate_keys(&dir.path().join("keys"), &[1], 100, now).expect("keys");
    let keyset = keys.load_keyset(now).expect("keyset");
    let mut keysets = transfer::keysets::KeysetStore::with_keyset(keyset.clone(), None);
    let outer_key = SecretKey::read_file(keys.outer_key(ChannelId(1)).unwrap(), None).unwrap();
    let return_key = SecretKey::read_file(&keys.inner_return, None).unwrap();

    eprintln!("storing {n} submissions in the outer SQLite (untimed)");
    let host = OuterHost::open(&dir.path().join("outer.sqlite")).expect("outer store");
    let account = host
        .store()
        .add_account("owner", AccountKind::WebsiteOwner)
        .expect("account")
        .id;
    for chunk in (0..n).collect::<Vec<_>>().chunks(10_000) {
        let batch: Vec<NewSubmission> = chunk
            .iter()
            .map(|&i| {
                let version = filing(i, now);
                let subject_key = match &version.body {
                    Submission::NewFiling(f) => Some(outer::convert::subject_key(&f.subject)),
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
    }
    let outer_spool = Spool::under(&dir.path().join("outer-spool"));
    let inner_spool = Spool::under(&dir.path().join("inner-spool"));
    let medium = dir.path().join("medium");
    std::fs::create_dir_all(&medium).unwrap();
    outer_spool.create_all().unwrap();
    inner_spool.create_all().unwrap();
    let mut steps = Vec::new();

    let export = step(&mut steps, "export", || {
        let settings = ExportSettings {
            channel: ChannelId(1),
            validity_seconds: 7 * 24 * 3600,
            resend_after_seconds: 24 * 3600,
            records_per_bundle: 50_000,
            now,
        };
        outer_side::export(&host, &outer_spool, &outer_key, &settings).expect("export")
    });
    assert_eq!(export.versions, n);
    let export_seconds = steps[0].seconds;

    // The baseline's input: exactly the record content of the exported bundles.
    let mut content = Vec::new();
    let mut all_records: Vec<SubmissionVersion> = Vec::with_capacity(n);
    let mut bundle_bytes = 0u64;
    for path in spool::list_bundles(&outer_spool.outbox).unwrap() {
        let file = std::fs::read(&path).unwrap();
        bundle_bytes += file.len() as u64;
        let verified = bundle_format::read_bundle(
            &file,
            &keyset,
            &Expectation {
                role: Role::OuterBundle,
                channel: ChannelId(1),
                at: now,
            },
            &ReadLimits::default(),
        )
        .expect("verify");
        for record in verified.records {
            bundle_format::payload::encode_record(&record, &mut content).unwrap();
            if let Record::Submission(version) = record {
                all_records.push(version);
            }
        }
    }
    let content_path = dir.path().join("content.bin");
    std::fs::write(&content_path, &content).unwrap();
    let zstd_started = Instant::now();
    let status = std::process::Command::new("zstd")
        .args(["-3", "-T1", "-q", "-c"])
        .arg(&content_path)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("zstd not found: install Debian's `zstd` package");
    assert!(status.success());
    let zstd_seconds = zstd_started.elapsed().as_secs_f64();

    // The import's floor: apply_bundle alone on the same records, in bundles of the same size.
    let floor_db = inner::testing::TestDatabase::with_schema().expect("PostgreSQL");
    let mut floor_client = floor_db.connect().expect("connect");
    inner::import::configure_session(&mut floor_client).expect("session settings");
    let floor_started = Instant::now();
    for (k, chunk) in all_records.chunks(50_000).enumerate() {
        let mut tx = floor_client.transaction().unwrap();
        let bundle = inner::import::IncomingBundle {
            bundle_id: [u8::try_from(k % 256).unwrap_or(0); 32],
            channel: 1,
            epoch: 1,
            sequence: k as u64 + 1,
            signer: keys::KeyId([0; 8]),
            created: now,
            submissions: chunk,
        };
        inner::import::apply_bundle(&mut tx, &bundle, now).expect("apply_bundle");
        tx.commit().unwrap();
    }
    let floor_seconds = floor_started.elapsed().as_secs_f64();
    let content_bytes = content.len();
    drop(all_records);
    drop(content);

    let carry = |from: &Path, to: &Path| {
        transfer::carry::carry(from, &medium, false).unwrap();
        transfer::carry::carry(&medium, to, false).unwrap();
    };
    step(&mut steps, "carry in", || {
        carry(&outer_spool.outbox, &inner_spool.inbox)
    });

    let database = inner::testing::TestDatabase::new().expect("PostgreSQL");
    let mut client = inner_side::connect(&database.connection_string()).expect("connect");
    let import = step(&mut steps, "import", || {
        let settings = ImportSettings {
            channels: vec![ChannelId(1)],
            now,
        };
        inner_side::import(&mut client, &inner_spool, &mut keysets, &settings).expect("import")
    });
    assert_eq!(import.count("applied"), export.written.len());
    let import_seconds = steps.last().unwrap().seconds;

    let ret = step(&mut steps, "return", || {
        let settings = ReturnSettings {
            channel: ChannelId(100),
            validity_seconds: 7 * 24 * 3600,
            max_entries: 50_000,
            now,
        };
        inner_side::write_return(&mut client, &inner_spool, &return_key, &settings).expect("return")
    });
    assert_eq!(
        ret.acks,
        export.written.len(),
        "every ack goes out in one return run"
    );
    step(&mut steps, "carry back", || {
        carry(&inner_spool.outbox, &outer_spool.inbox)
    });
    let applied = step(&mut steps, "apply", || {
        let settings = ApplySettings {
            channel: ChannelId(1),
            return_channel: ChannelId(100),
            now,
        };
        outer_side::apply(&host, &outer_spool, &mut keysets, &settings).expect("apply")
    });
    let deleted: usize = applied.files.iter().map(|f| f.payloads_deleted).sum();
    assert_eq!(deleted, n);

    let total: f64 = steps.iter().map(|s| s.seconds).sum();
    let rate = |seconds: f64| n as f64 / seconds;
    let mut table = String::new();
    for s in &steps {
        table.push_str(&format!(
            "| {} | {:.2} | {:.0} | {:.0} |\n",
            s.name,
            s.seconds,
            rate(s.seconds),
            s.peak_mib
        ));
    }
    let report = format!(
        "# transfer benchmarks\n\n\
         `cargo bench -p transfer --bench round_trip -- {n}` on this machine; {n} new filings \
         (1-3 websites, 1-5 domains, 1-4 IPs each), {bundles} bundles of at most 50,000, \
         {mib:.1} MiB of bundle files for {content_mib:.1} MiB of records.\n\n\
         ## Round trip, step by step\n\n\
         Peak RSS is this process's high-water mark reset before each step; memory freed by \
         an earlier step but kept by the allocator counts again, so later figures are upper \
         bounds.\n\n\
         | step | seconds | submissions/s | peak RSS MiB |\n|---|---|---|---|\n{table}\
         | **whole round trip** | **{total:.2}** | {total_rate:.0} | |\n\n\
         ## Against baselines in the same run\n\n\
         | comparison | seconds | ratio (goal) |\n|---|---|---|\n\
         | `zstd -3 -T1` of the same record payload | {zstd_seconds:.2} | |\n\
         | `export` (SQLite read, encode, compress, sign, fsync, mark in transit) | {export_seconds:.2} | {export_ratio:.2}x of zstd (goal ≥ 0.8x) |\n\
         | `apply_bundle` alone on the same records | {floor_seconds:.2} | |\n\
         | `import` (read, verify, decode, chain check, apply, ledger, archive) | {import_seconds:.2} | {import_ratio:.2}x of apply_bundle alone |\n",
        bundles = export.written.len(),
        mib = bundle_bytes as f64 / 1048576.0,
        content_mib = content_bytes as f64 / 1048576.0,
        total_rate = rate(total),
        export_ratio = zstd_seconds / export_seconds,
        import_ratio = floor_seconds / import_seconds,
    );
    println!("{report}");
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("BENCHMARKS.md");
    std::fs::write(&out, report).expect("write BENCHMARKS.md");
    eprintln!("written to {}", out.display());
}
