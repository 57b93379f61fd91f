//! Support for the workspace's benchmarks, and for nothing else: synthetic new filings, the
//! rows the import writes for them, and a `psql \copy` of those rows as the speed limit the
//! import is measured against. inner's `apply` bench and transfer's `round_trip` bench share it
//! so that both load the same filings and compare with the same baseline. Nothing in
//! `sluice-inner` calls it.
//!
//! The filings pass the import's re-check of the filing rules (`filing::check`): GB 32100 and
//! GB 11643 check characters are computed with the `filing` crate's own functions, IP
//! addresses are public and domains well-formed. transfer's tests hold the generator to that.
//!
//! [`Rows`] spells out, table by table, what `apply_bundle` (and `sluice-transfer import`
//! around it) stores for a bundle of new filings that all apply to a fresh database; change it
//! together with the import's SQL, or the baseline loads something else. [`CopyFiles`] writes
//! those rows as CSV files with a `psql` script that loads each bundle in one transaction, and
//! [`psql_copy`] runs it. [`floor`] turns the same files into binary `COPY` data and loads that,
//! the import's floor, and measures what a load leaves behind (rows, index entries, WAL).

use std::fmt::Write as _;
use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bundle_format::records::{
    Access, AccessMethod, ArrivalAck, CertificateType, Filing, IpRange, MembersDigest, Person,
    RangeAck, Record, ServiceType, Subject, SubjectNature, Submission, SubmissionVersion, Website,
    content_hash, wire_config,
};

use crate::import::IncomingBundle;

pub mod floor;
pub mod preload;

/// Region code of every generated subject and server location (Haidian, Beijing).
pub const REGION_CODE: u32 = 110_108;

/// The province code the import derives from [`REGION_CODE`].
const PROVINCE: &str = "11";

/// Filings `0..MAX_FILINGS` have distinct credit codes and public IP addresses; beyond it
/// [`filing()`] repeats credit codes.
pub const MAX_FILINGS: usize = 10_000_000;

/// The unified social credit code of filing `i`'s subject, check character included.
pub fn credit_code(i: usize) -> String {
    let first17 = format!("91110108MA{:07}", i % MAX_FILINGS);
    let check = filing::uscc_check_char(&first17).unwrap_or('0');
    format!("{first17}{check}")
}

/// A resident ID for the people of filing `i`: a valid birth date and the check character.
pub fn resident_id(i: usize) -> String {
    let first17 = format!(
        "110108{:04}{:02}{:02}{:03}",
        1950 + i % 50,
        1 + i % 12,
        1 + i % 28,
        i % 997
    );
    let check = filing::resident_id_check_char(&first17).unwrap_or('0');
    format!("{first17}{check}")
}

fn person(name: String, i: usize) -> Person {
    Person {
        name,
        certificate_type: CertificateType::ResidentId,
        certificate_number: resident_id(i),
        mobile_phones: vec!["13800138000".to_owned()],
        office_phones: vec!["010-62345678".to_owned()],
        email: "admin@example.cn".to_owned(),
    }
}

/// Filing `i`, submitted an hour before `now`: a new filing of 1-3 websites with 1-5 domains
/// and 1-4 IPv4 addresses each, all fixed by `i`, so every run and every process makes the
/// same filings. Its IP addresses lie in 11.0.0.0 to 18.39.255.255 (public) while
/// `i < MAX_FILINGS`.
pub fn filing(i: usize, now: i64) -> SubmissionVersion {
    let websites = (0..1 + i % 3)
        .map(|w| {
            let domains: Vec<String> = (0..1 + (i / 3) % 5)
                .map(|d| format!("d{d}.w{w}.f{i}.example.cn"))
                .collect();
            let ip_ranges = (0..1 + (i / 15) % 4)
                .map(|k| {
                    let n = u32::try_from((i % MAX_FILINGS) * 12 + w * 4 + k).unwrap_or(0);
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
                    server_region_code: REGION_CODE,
                    ip_ranges,
                },
                principal: person(format!("负责人{i}"), i),
            }
        })
        .collect();
    let body = Submission::NewFiling(Filing {
        subject: Subject {
            name: format!("测试科技有限公司{i}"),
            nature: SubjectNature::Enterprise,
            certificate_type: CertificateType::UnifiedSocialCreditCode,
            certificate_number: credit_code(i),
            region_code: REGION_CODE,
            address: "北京市海淀区中关村大街1号".to_owned(),
            investor: format!("测试科技有限公司{i}"),
            principal: person(format!("法人{i}"), i),
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

/// A table the import writes to. [`Table::ALL`] lists them in an order that loads without
/// breaking a reference (every row's filing, website record, receipt or bundle is loaded
/// before it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Table {
    /// The bundle ledger.
    Bundles,
    /// The transfer tool's chain ledger.
    TransferInbound,
    /// One row per submission version (its record stays in the bundle's stored message).
    SubmissionVersions,
    /// One row per receipt.
    Receipts,
    /// The bundle's ack (with its import time, which stands for the arrivals), queued for the
    /// return channel.
    ReturnQueue,
}

impl Table {
    /// Every table, in loading order.
    pub const ALL: [Table; 5] = [
        Table::Bundles,
        Table::TransferInbound,
        Table::SubmissionVersions,
        Table::Receipts,
        Table::ReturnQueue,
    ];

    /// The table of that name in the schema.
    pub fn named(name: &str) -> Option<Table> {
        Table::ALL.into_iter().find(|t| t.name() == name)
    }

    /// Its name in the schema.
    pub fn name(self) -> &'static str {
        match self {
            Table::Bundles => "bundles",
            Table::TransferInbound => "transfer_inbound",
            Table::SubmissionVersions => "submission_versions",
            Table::Receipts => "receipts",
            Table::ReturnQueue => "return_queue",
        }
    }

    /// The columns [`Rows`] gives values for, in order, comma-separated.
    pub fn columns(self) -> &'static str {
        match self {
            Table::Bundles => {
                "bundle_id, channel, epoch, sequence, signer_key_id, created, imported_at, \
                 submission_count, message"
            }
            Table::TransferInbound => {
                "bundle_id, channel, epoch, sequence, previous, kind, file_name, imported_at"
            }
            Table::SubmissionVersions => {
                "receipt, version, content_hash, bundle_id, bundle_position, submitted_at, \
                 submitter, access_provider, outcome, received_at, channel, kind, province, \
                 subject_key, domains, ip_ranges, entry_state"
            }
            Table::Receipts => {
                "receipt, version, content_hash, kind, province, state, state_since, \
                 needs_pre_approval, submitted_at, submitter, access_provider, received_at"
            }
            Table::ReturnQueue => "kind, record, queued_at",
        }
    }
}

/// One row: values in PostgreSQL's text input form, `None` for NULL.
pub type Row = Vec<Option<String>>;

/// The transfer tool's chain-ledger row of a bundle (`transfer_inbound`), which
/// `sluice-transfer import` writes in the transaction that applies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainEntry {
    /// Id of the bundle before it on its channel (all zero for the first of an epoch).
    pub previous: [u8; 32],
    /// Its kind, as the header names it (`submissions`).
    pub kind: String,
    /// Its file name in the inbox.
    pub file_name: String,
}

/// Turns bundles of new filings into exactly the rows the import writes for them when every
/// filing applies: the bundle's ledger row with its message, a version row (with the state the
/// filing entered review in, which stands for its arrival) and a receipt per filing, and the
/// bundle's ack with its import time. Each filing's entry state is the one rule's
/// (`filing::arrival`).
#[derive(Debug, Default)]
pub struct Rows {}

/// The ack the import queues for bundle (id, channel, sequence) when every one of `versions`
/// applied: its range (members digest, no exceptions) with the import time.
pub(crate) fn applied_arrival<'v>(
    (bundle_id, channel, sequence): ([u8; 32], u32, u64),
    versions: impl Iterator<Item = &'v SubmissionVersion>,
    imported_at: i64,
) -> Record {
    let (mut members, mut digest) = (0u64, MembersDigest::new());
    for version in versions {
        digest.add(&version.receipt, version.version, &version.content_hash);
        members += 1;
    }
    Record::ArrivalAck(ArrivalAck {
        ack: RangeAck {
            bundle_id,
            channel,
            sequence,
            members,
            members_digest: digest.finish(),
            exceptions: Vec::new(),
        },
        imported_at,
    })
}

/// The state `version` enters review in, as the import stores it.
fn entry_state(version: &SubmissionVersion) -> Option<String> {
    filing::arrival::entry_state(version).map(|state| crate::workflow::state_name(state).to_owned())
}

fn bytea(bytes: &[u8]) -> String {
    format!("\\x{}", hex::encode(bytes))
}

fn text_array(values: &[String]) -> String {
    let quoted: Vec<String> = values
        .iter()
        .map(|v| format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    format!("{{{}}}", quoted.join(","))
}

impl Rows {
    /// Rows for a fresh database.
    pub fn new() -> Rows {
        Rows::default()
    }

    /// Hands `sink` every row the import writes for `bundle`, table by table in
    /// [`Table::ALL`] order (rows of one table together). `chain` adds the transfer tool's
    /// ledger row; without it the rows are those of `apply_bundle` alone. `now` is the
    /// importer's clock. Fails on a submission that is not a new filing, and with the sink's
    /// error.
    pub fn bundle(
        &mut self,
        bundle: &IncomingBundle<'_>,
        chain: Option<&ChainEntry>,
        now: i64,
        sink: &mut dyn FnMut(Table, Row) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        let s = |v: &str| Some(v.to_owned());
        let n = |v: u64| Some(v.to_string());
        let now_text = Some(now.to_string());
        let bundle_id = bytea(&bundle.bundle_id);
        let versions = bundle
            .submissions
            .iter()
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?;
        let mut filings = Vec::with_capacity(versions.len());
        for version in &versions {
            let version: &SubmissionVersion = version;
            match &version.body {
                Submission::NewFiling(filing) => filings.push((version, filing)),
                _ => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidInput,
                        format!("receipt {} is not a new filing", version.receipt),
                    ));
                }
            }
        }

        sink(
            Table::Bundles,
            vec![
                s(&bundle_id),
                Some(bundle.channel.to_string()),
                n(bundle.epoch),
                n(bundle.sequence),
                s(&bytea(&bundle.signer.0)),
                Some(bundle.created.to_string()),
                now_text.clone(),
                Some(bundle.submissions.len().to_string()),
                s(&bytea(bundle.message)),
            ],
        )?;
        if let Some(chain) = chain {
            sink(
                Table::TransferInbound,
                vec![
                    s(&bundle_id),
                    Some(bundle.channel.to_string()),
                    n(bundle.epoch),
                    n(bundle.sequence),
                    s(&bytea(&chain.previous)),
                    s(&chain.kind),
                    s(&chain.file_name),
                    now_text.clone(),
                ],
            )?;
        }
        for (position, (version, filing)) in filings.iter().enumerate() {
            let (domains, ip_ranges) = version_arrays(filing);
            sink(
                Table::SubmissionVersions,
                vec![
                    s(&version.receipt),
                    Some(version.version.to_string()),
                    s(&bytea(&version.content_hash)),
                    s(&bundle_id),
                    Some(position.to_string()),
                    Some(version.submitted_at.to_string()),
                    s(&version.submitter),
                    version.access_provider.clone(),
                    s("applied"),
                    now_text.clone(),
                    Some(bundle.channel.to_string()),
                    s("new-filing"),
                    s(PROVINCE),
                    s(&filing.subject.certificate_number),
                    Some(text_array(&domains)),
                    Some(text_array(&ip_ranges)),
                    entry_state(version),
                ],
            )?;
        }
        for (version, _) in &filings {
            sink(
                Table::Receipts,
                vec![
                    s(&version.receipt),
                    Some(version.version.to_string()),
                    s(&bytea(&version.content_hash)),
                    s("new-filing"),
                    s(PROVINCE),
                    entry_state(version),
                    now_text.clone(),
                    s("false"),
                    Some(version.submitted_at.to_string()),
                    s(&version.submitter),
                    version.access_provider.clone(),
                    now_text.clone(),
                ],
            )?;
        }
        let ack = applied_arrival(
            (bundle.bundle_id, bundle.channel, bundle.sequence),
            filings.iter().map(|(version, _)| *version),
            now,
        );
        let ack = bincode::encode_to_vec(&ack, wire_config()).map_err(std::io::Error::other)?;
        sink(
            Table::ReturnQueue,
            vec![s("ack"), s(&bytea(&ack)), now_text.clone()],
        )?;
        Ok(())
    }
}

/// Every row of one table, held in memory.
#[derive(Debug)]
pub struct TableRows {
    /// The table.
    pub table: Table,
    /// Its rows, in the order the import writes them.
    pub rows: Vec<Row>,
}

/// The rows of `bundles` (numbered as in a fresh database, without chain-ledger rows), by
/// table in loading order; tables without rows are left out.
pub fn rows_of(bundles: &[IncomingBundle<'_>], now: i64) -> std::io::Result<Vec<TableRows>> {
    let mut tables: Vec<TableRows> = Table::ALL
        .iter()
        .map(|&table| TableRows {
            table,
            rows: Vec::new(),
        })
        .collect();
    let mut rows = Rows::new();
    for bundle in bundles {
        rows.bundle(bundle, None, now, &mut |table, row| {
            if let Some(t) = tables.iter_mut().find(|t| t.table == table) {
                t.rows.push(row);
            }
            Ok(())
        })?;
    }
    tables.retain(|t| !t.rows.is_empty());
    Ok(tables)
}

fn write_csv_row(out: &mut impl std::io::Write, row: &[Option<String>]) -> std::io::Result<()> {
    for (k, value) in row.iter().enumerate() {
        if k > 0 {
            out.write_all(b",")?;
        }
        // An unquoted empty field is NULL; a quoted one is a value.
        if let Some(value) = value {
            out.write_all(b"\"")?;
            out.write_all(value.replace('"', "\"\"").as_bytes())?;
            out.write_all(b"\"")?;
        }
    }
    out.write_all(b"\n")
}

/// CSV files of the rows the import writes, one set per bundle, and a `psql` script that
/// loads each bundle's set with `\copy` in one transaction, as the import applies each bundle
/// in one. Rows go straight to disk, so memory stays bounded however many bundles there are.
#[derive(Debug)]
pub struct CopyFiles {
    dir: PathBuf,
    script: String,
    rows: Rows,
    bundles: usize,
    row_count: u64,
    /// `bundle<TAB>table<TAB>file` per line, in loading order (written as `sets.tsv`).
    sets: String,
}

impl CopyFiles {
    /// Files go into `dir`, which must exist.
    pub fn new(dir: &Path) -> CopyFiles {
        CopyFiles {
            dir: dir.to_owned(),
            script: String::new(),
            rows: Rows::new(),
            bundles: 0,
            row_count: 0,
            sets: String::new(),
        }
    }

    /// Writes the rows of the next bundle (see [`Rows::bundle`]).
    pub fn add_bundle(
        &mut self,
        bundle: &IncomingBundle<'_>,
        chain: Option<&ChainEntry>,
        now: i64,
    ) -> std::io::Result<()> {
        self.bundles += 1;
        let mut files: Vec<(Table, PathBuf, std::io::BufWriter<std::fs::File>)> = Vec::new();
        let dir = &self.dir;
        let number = self.bundles;
        let mut count = 0u64;
        self.rows.bundle(bundle, chain, now, &mut |table, row| {
            let index = match files.iter().position(|(t, _, _)| *t == table) {
                Some(index) => index,
                None => {
                    let path = dir.join(format!("b{number:05}-{}.csv", table.name()));
                    let file =
                        std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&path)?);
                    files.push((table, path, file));
                    files.len() - 1
                }
            };
            count += 1;
            write_csv_row(&mut files[index].2, &row)
        })?;
        self.row_count += count;
        self.script.push_str("BEGIN;\n");
        for table in Table::ALL {
            if let Some((_, path, file)) = files.iter_mut().find(|(t, _, _)| *t == table) {
                file.flush()?;
                let _ = writeln!(
                    self.script,
                    "\\copy {} ({}) FROM '{}' WITH (FORMAT csv)",
                    table.name(),
                    table.columns(),
                    path.display()
                );
            }
        }
        self.script.push_str("COMMIT;\n");
        for table in Table::ALL {
            if let Some((_, path, _)) = files.iter().find(|(t, _, _)| *t == table) {
                let _ = writeln!(self.sets, "{number}\t{}\t{}", table.name(), path.display());
            }
        }
        Ok(())
    }

    /// Rows written so far.
    pub fn row_count(&self) -> u64 {
        self.row_count
    }

    /// Writes the script (`load.sql` in the directory) and the list of files per bundle
    /// (`sets.tsv`, read by [`floor::BinaryFloor::prepare`]) and returns the script's path.
    pub fn finish(self) -> std::io::Result<PathBuf> {
        std::fs::write(self.dir.join(floor::SETS_FILE), &self.sets)?;
        let path = self.dir.join("load.sql");
        let mut file = std::fs::File::create(&path)?;
        file.write_all(self.script.as_bytes())?;
        file.sync_all()?;
        Ok(path)
    }
}

/// Runs `script` (from [`CopyFiles::finish`]) with `psql` against `connection_string`,
/// stopping at the first error, and returns how long `psql` took from start to exit.
pub fn psql_copy(connection_string: &str, script: &Path) -> Result<Duration, String> {
    let started = Instant::now();
    let output = std::process::Command::new("psql")
        .arg(connection_string)
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-f"])
        .arg(script)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("cannot run psql ({e}); install Debian's `postgresql` package"))?;
    let elapsed = started.elapsed();
    if !output.status.success() {
        return Err(format!(
            "psql failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(elapsed)
}

/// A filing's domains (lower case) and IP ranges (`first-last`), each sorted, as the import
/// writes them into its version row's arrays.
fn version_arrays(filing: &bundle_format::records::Filing) -> (Vec<String>, Vec<String>) {
    let mut domains: Vec<String> = filing
        .websites
        .iter()
        .flat_map(|w| &w.domains)
        .map(|d| d.to_ascii_lowercase())
        .collect();
    domains.sort_unstable();
    let mut ip_ranges: Vec<String> = filing
        .websites
        .iter()
        .flat_map(|w| &w.access.ip_ranges)
        .map(|r| format!("{}-{}", r.first, r.last))
        .collect();
    ip_ranges.sort_unstable();
    (domains, ip_ranges)
}
