//! Applying one large submissions bundle, against two baselines on the same rows in the same
//! run, each into a fresh database with the same schema and indexes:
//!
//! - `apply`: [`inner::import::apply_bundle`] (binary COPY into staging, set-based checks and
//!   moves, audit copies, receipts, review events, ack) in one transaction;
//! - `psql COPY`: `psql` loading exactly the rows `apply` writes, from CSV files prepared
//!   beforehand (untimed), with `\copy` in one transaction — the speed limit;
//! - `per-row INSERT`: the same rows, one prepared `INSERT` each, in one transaction.
//!
//! Usage: `cargo bench -p inner --bench apply -- [FILINGS]` (default 200000). Results are
//! printed and written to `BENCHMARKS.md` beside this crate's manifest. Needs the PostgreSQL
//! server binaries and `psql` (Debian's `postgresql` package), like the tests.

use std::fmt::Write as _;
use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::time::{Duration, Instant};

use bundle_format::records::{
    Access, AccessMethod, CertificateType, Filing, IpRange, Person, ServiceType, Subject,
    SubjectNature, Submission, SubmissionVersion, Website, content_hash, wire_config,
};
use inner::import::{IncomingBundle, apply_bundle};
use inner::testing::TestDatabase;

const NOW: i64 = 1_795_334_400;
const BUNDLE_ID: [u8; 32] = [0x5a; 32];

/// A small deterministic generator (SplitMix64), so every run loads the same bundle.
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `low..=high`.
    fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low + 1)
    }
}

fn person(name: String) -> Person {
    Person {
        name,
        certificate_type: CertificateType::ResidentId,
        certificate_number: "110105199001011234".to_owned(),
        mobile_phones: vec!["13800138000".to_owned()],
        office_phones: vec!["010-62345678".to_owned()],
        email: "admin@example.cn".to_owned(),
    }
}

/// `filings` new filings of 1-3 websites with 1-5 domains and 1-4 IP addresses each.
fn generate(filings: usize) -> Vec<SubmissionVersion> {
    let mut mix = Mix(20_261_122);
    let mut address = 0u32;
    (0..filings)
        .map(|i| {
            let websites = (0..mix.between(1, 3))
                .map(|w| {
                    let domains: Vec<String> = (0..mix.between(1, 5))
                        .map(|d| format!("d{d}.w{w}.f{i}.example.cn"))
                        .collect();
                    let ip_ranges = (0..mix.between(1, 4))
                        .map(|_| {
                            address += 1;
                            let ip = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + address));
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
                            provider: "北京云接入有限公司".to_owned(),
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
                    certificate_number: format!("91110108MA{i:08}"),
                    region_code: 110_108,
                    address: "北京市海淀区中关村大街1号".to_owned(),
                    investor: format!("测试科技有限公司{i}"),
                    principal: person(format!("法人{i}")),
                },
                websites,
                attachments: Vec::new(),
            });
            SubmissionVersion {
                receipt: format!("R{i:08}"),
                version: 1,
                content_hash: content_hash(&body),
                submitted_at: NOW - 3600,
                submitter: "owner".to_owned(),
                access_provider: Some("bjcloud".to_owned()),
                body,
            }
        })
        .collect()
}

/// The rows of one table, as text values (`None` is SQL NULL).
struct Table {
    name: &'static str,
    columns: &'static str,
    rows: Vec<Vec<Option<String>>>,
}

fn array(values: &[String]) -> String {
    let quoted: Vec<String> = values
        .iter()
        .map(|v| format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    format!("{{{}}}", quoted.join(","))
}

/// Exactly the rows `apply_bundle` writes for a bundle of new filings, all applied.
fn rows_of(submissions: &[SubmissionVersion]) -> Vec<Table> {
    let mut bundles = Table {
        name: "bundles",
        columns: "bundle_id, channel, epoch, sequence, signer_key_id, created, imported_at, submission_count",
        rows: Vec::new(),
    };
    bundles.rows.push(vec![
        Some(format!("\\x{}", hex::encode(BUNDLE_ID))),
        Some("1".into()),
        Some("1".into()),
        Some("1".into()),
        Some(format!("\\x{}", hex::encode(b"benchkey"))),
        Some(NOW.to_string()),
        Some(NOW.to_string()),
        Some(submissions.len().to_string()),
    ]);
    let mut filings = Table {
        name: "filings",
        columns: "filing_id, origin_receipt, province, status",
        rows: Vec::new(),
    };
    let mut subjects = Table {
        name: "subject_records",
        columns: "record_id, filing_id, receipt, status, name, nature, certificate_type, certificate_number, region_code, address, investor, principal_name, principal_certificate_type, principal_certificate_number, principal_mobile_phones, principal_office_phones, principal_email",
        rows: Vec::new(),
    };
    let mut websites = Table {
        name: "website_records",
        columns: "record_id, filing_id, receipt, status, name, service_types, principal_name, principal_certificate_type, principal_certificate_number, principal_mobile_phones, principal_office_phones, principal_email",
        rows: Vec::new(),
    };
    let mut access = Table {
        name: "website_access",
        columns: "record_id, provider, method, server_region_code",
        rows: Vec::new(),
    };
    let mut domains = Table {
        name: "website_domains",
        columns: "record_id, filing_id, domain",
        rows: Vec::new(),
    };
    let mut ips = Table {
        name: "website_ips",
        columns: "record_id, filing_id, ips",
        rows: Vec::new(),
    };
    let mut urls = Table {
        name: "website_home_urls",
        columns: "record_id, url",
        rows: Vec::new(),
    };
    let mut versions = Table {
        name: "submission_versions",
        columns: "receipt, version, content_hash, bundle_id, bundle_position, submitted_at, submitter, access_provider, encoded, outcome, received_at",
        rows: Vec::new(),
    };
    let mut receipts = Table {
        name: "receipts",
        columns: "receipt, version, content_hash, kind, filing_id, province, state, state_since, needs_pre_approval, submitted_at, submitter, access_provider, received_at",
        rows: Vec::new(),
    };
    let mut events = Table {
        name: "review_events",
        columns: "event_id, receipt, version, to_state, reviewer, at",
        rows: Vec::new(),
    };
    let mut queued = Table {
        name: "return_queue",
        columns: "kind, event_id, queued_at",
        rows: Vec::new(),
    };
    let s = |v: &str| Some(v.to_owned());
    let mut website_id = 0u64;
    for (i, version) in submissions.iter().enumerate() {
        let Submission::NewFiling(filing) = &version.body else {
            continue;
        };
        let filing_id = (i + 1).to_string();
        let hash = format!("\\x{}", hex::encode(version.content_hash));
        filings.rows.push(vec![
            s(&filing_id),
            s(&version.receipt),
            s("11"),
            s("pending"),
        ]);
        let subject = &filing.subject;
        let p = &subject.principal;
        subjects.rows.push(vec![
            s(&filing_id),
            s(&filing_id),
            s(&version.receipt),
            s("pending"),
            s(&subject.name),
            s("enterprise"),
            s("unified-social-credit-code"),
            s(&subject.certificate_number),
            Some(subject.region_code.to_string()),
            s(&subject.address),
            s(&subject.investor),
            s(&p.name),
            s("resident-id"),
            s(&p.certificate_number),
            Some(array(&p.mobile_phones)),
            Some(array(&p.office_phones)),
            s(&p.email),
        ]);
        for website in &filing.websites {
            website_id += 1;
            let id = website_id.to_string();
            let p = &website.principal;
            websites.rows.push(vec![
                s(&id),
                s(&filing_id),
                s(&version.receipt),
                s("pending"),
                s(&website.name),
                Some(array(&["showcase".to_owned()])),
                s(&p.name),
                s("resident-id"),
                s(&p.certificate_number),
                Some(array(&p.mobile_phones)),
                Some(array(&p.office_phones)),
                s(&p.email),
            ]);
            access.rows.push(vec![
                s(&id),
                s(&website.access.provider),
                s("cloud"),
                Some(website.access.server_region_code.to_string()),
            ]);
            for domain in &website.domains {
                domains.rows.push(vec![s(&id), s(&filing_id), s(domain)]);
            }
            for range in &website.access.ip_ranges {
                ips.rows.push(vec![
                    s(&id),
                    s(&filing_id),
                    Some(format!("[{},{}]", range.first, range.last)),
                ]);
            }
            for url in &website.home_urls {
                urls.rows.push(vec![s(&id), s(url)]);
            }
        }
        let encoded = bincode::encode_to_vec(version, wire_config()).unwrap_or_default();
        versions.rows.push(vec![
            s(&version.receipt),
            s("1"),
            s(&hash),
            Some(format!("\\x{}", hex::encode(BUNDLE_ID))),
            Some(i.to_string()),
            Some(version.submitted_at.to_string()),
            s(&version.submitter),
            version.access_provider.clone(),
            Some(format!("\\x{}", hex::encode(&encoded))),
            s("applied"),
            Some(NOW.to_string()),
        ]);
        receipts.rows.push(vec![
            s(&version.receipt),
            s("1"),
            s(&hash),
            s("new-filing"),
            s(&filing_id),
            s("11"),
            s("awaiting-regional-review"),
            Some(NOW.to_string()),
            s("false"),
            Some(version.submitted_at.to_string()),
            s(&version.submitter),
            version.access_provider.clone(),
            Some(NOW.to_string()),
        ]);
        queued.rows.push(vec![
            s("status-change"),
            s(&filing_id),
            Some(NOW.to_string()),
        ]);
        events.rows.push(vec![
            s(&filing_id),
            s(&version.receipt),
            s("1"),
            s("awaiting-regional-review"),
            s("import"),
            Some(NOW.to_string()),
        ]);
    }
    vec![
        bundles, filings, subjects, websites, access, domains, ips, urls, versions, receipts,
        events, queued,
    ]
}

fn csv_field(value: &Option<String>) -> String {
    match value {
        None => String::new(),
        Some(v) => format!("\"{}\"", v.replace('"', "\"\"")),
    }
}

fn write_csv(dir: &Path, tables: &[Table]) -> std::io::Result<String> {
    let mut script = String::new();
    for table in tables {
        let path = dir.join(format!("{}.csv", table.name));
        let mut file = std::io::BufWriter::new(std::fs::File::create(&path)?);
        for row in &table.rows {
            let line: Vec<String> = row.iter().map(csv_field).collect();
            writeln!(file, "{}", line.join(","))?;
        }
        file.flush()?;
        let _ = writeln!(
            script,
            "\\copy {} ({}) FROM '{}' WITH (FORMAT csv)",
            table.name,
            table.columns,
            path.display()
        );
    }
    Ok(script)
}

fn run_apply(submissions: &[SubmissionVersion]) -> Duration {
    let db = TestDatabase::with_schema().expect("benchmark database");
    let mut client = db.connect().expect("connect");
    inner::import::configure_session(&mut client).expect("session settings");
    let started = Instant::now();
    let mut tx = client.transaction().expect("begin");
    let report = apply_bundle(
        &mut tx,
        &IncomingBundle {
            bundle_id: BUNDLE_ID,
            channel: 1,
            epoch: 1,
            sequence: 1,
            signer: keys::KeyId(*b"benchkey"),
            created: NOW,
            submissions,
        },
        NOW,
    )
    .expect("apply");
    tx.commit().expect("commit");
    let elapsed = started.elapsed();
    assert_eq!(
        report.count(bundle_format::records::ImportOutcome::Applied),
        submissions.len(),
        "every filing applies"
    );
    elapsed
}

fn run_psql_copy(tables: &[Table]) -> Duration {
    let db = TestDatabase::with_schema().expect("benchmark database");
    let dir = tempfile::tempdir().expect("temp dir");
    let script = write_csv(dir.path(), tables).expect("write CSV");
    let script_path = dir.path().join("load.sql");
    std::fs::write(&script_path, script).expect("write script");
    let started = Instant::now();
    let output = std::process::Command::new("psql")
        .arg(db.connection_string())
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-1", "-f"])
        .arg(&script_path)
        .output()
        .expect("psql not found: install Debian's `postgresql` package");
    let elapsed = started.elapsed();
    assert!(
        output.status.success(),
        "psql: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    elapsed
}

fn run_inserts(tables: &[Table]) -> Duration {
    let db = TestDatabase::with_schema().expect("benchmark database");
    let mut client = db.connect().expect("connect");
    let started = Instant::now();
    let mut tx = client.transaction().expect("begin");
    for table in tables {
        // The server infers each parameter's type from its column; the IP range type has no
        // binary encoder in the client, so it goes as text and is cast.
        let params: Vec<String> = table
            .columns
            .split(',')
            .enumerate()
            .map(|(n, column)| match column.trim() {
                "ips" => format!("${}::text::inetrange", n + 1),
                _ => format!("${}", n + 1),
            })
            .collect();
        let sql = format!(
            "INSERT INTO {} ({}) VALUES ({})",
            table.name,
            table.columns,
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
    let Some(value) = value else {
        return Box::new(Option::<String>::None);
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
    let filings: usize = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .and_then(|a| a.parse().ok())
        .unwrap_or(200_000);
    eprintln!("generating {filings} filings");
    let submissions = generate(filings);
    let tables = rows_of(&submissions);
    let row_count: usize = tables.iter().map(|t| t.rows.len()).sum();
    let count = |name: &str| {
        tables
            .iter()
            .find(|t| t.name == name)
            .map_or(0, |t| t.rows.len())
    };
    eprintln!("{row_count} rows in {} tables", tables.len());

    eprintln!("psql COPY baseline");
    let copy = run_psql_copy(&tables);
    eprintln!("apply_bundle");
    let apply = run_apply(&submissions);
    eprintln!("per-row INSERT baseline");
    let insert = run_inserts(&tables);

    let rate = |d: Duration| filings as f64 / d.as_secs_f64();
    let report = format!(
        "# inner: applying one submissions bundle\n\n\
         Written by `cargo bench -p inner --bench apply -- {filings}`. All three load the same \
         rows into a fresh database with the same schema and indexes, in one transaction each, \
         in the same run, on a throwaway cluster (`fsync=off`).\n\n\
         Bundle: {filings} new filings, {websites} websites, {domains} domains, {ips} IP \
         addresses; {row_count} rows in {tables} tables.\n\n\
         | method | seconds | filings/s | rate vs psql COPY |\n\
         |---|---:|---:|---:|\n\
         | psql `\\copy` of the same rows (CSV prepared beforehand, untimed) | {c:.2} | {cr:.0} | 1.00 |\n\
         | `apply_bundle` (binary COPY to staging + set-based SQL + checks + audit + ack) | {a:.2} | {ar:.0} | {ax:.2} |\n\
         | per-row prepared `INSERT` of the same rows | {i:.2} | {ir:.0} | {ix:.2} |\n\n\
         apply_bundle / per-row INSERT speed-up: {speedup:.2}x\n",
        websites = count("website_records"),
        domains = count("website_domains"),
        ips = count("website_ips"),
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
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("BENCHMARKS.md");
    if let Err(error) = std::fs::write(&path, &report) {
        eprintln!("cannot write {}: {error}", path.display());
    }
}
