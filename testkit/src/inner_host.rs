//! The inner host's `sluice-transfer`, as the end-to-end tests and the import benchmark run it:
//! the arguments that point it at a host laid out in one directory, a run under
//! `/usr/bin/time` that reports the peak resident set the kernel accounted (`ru_maxrss` from
//! `wait4`), and the JSON report a `--json` run prints.

use std::ffi::{OsStr, OsString};
use std::path::Path;
use std::process::{Command, Output};

use bundle_format::records::{Attachment, AttachmentKind};
use bundle_format::{BundleId, Kind, WriterConfig};
use keys::ChannelId;

/// The global arguments of `sluice-transfer --json` for an inner host laid out in `dir` (its
/// spool in `spool/`, its keyset file `keyset`), with its database at `database_url`, accepting
/// channel 1.
pub fn transfer_args(dir: &Path, database_url: &str) -> Vec<OsString> {
    vec![
        "--json".into(),
        "--spool-dir".into(),
        dir.join("spool").into(),
        "--keyset".into(),
        dir.join("keyset").into(),
        "--inner-database-url".into(),
        database_url.into(),
        "--accept-channel".into(),
        "1".into(),
    ]
}

/// [`transfer_args`] for `import`, with the host's age identity in `dir/age-identity` to decrypt
/// encrypted bundles.
pub fn import_args(dir: &Path, database_url: &str) -> Vec<OsString> {
    let mut args = transfer_args(dir, database_url);
    args.extend([
        "--age-identity".into(),
        dir.join("age-identity").into(),
        "import".into(),
    ]);
    args
}

/// Runs `program` with `args` (and `RUST_LOG=warn`) under `/usr/bin/time -f %M`, which writes
/// the peak resident set into `peak_file`; returns what the program printed and that peak in
/// bytes. A missing `/usr/bin/time` fails with the Debian package to install.
pub fn run_for_peak(program: &OsStr, args: &[OsString], peak_file: &Path) -> (Output, u64) {
    let output = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(peak_file)
        .arg(program)
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap_or_else(|error| {
            panic!(
                "cannot run /usr/bin/time ({error}); install the Debian package `time` \
                 (apt-get install time)"
            )
        });
    let peak_kib: u64 = std::fs::read_to_string(peak_file)
        .expect("the peak file")
        .lines()
        .last()
        .and_then(|line| line.trim().parse().ok())
        .expect("/usr/bin/time wrote the peak resident set in KiB");
    (output, peak_kib * 1024)
}

/// The JSON report a `--json` run of `what` printed; fails with what it printed otherwise.
pub fn json_report(output: &Output, what: &str) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "{what} printed no JSON report ({e}): {stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// `count` bytes that do not compress (xorshift64 from `seed`), behind a PNG signature: a
/// scanned certificate whose bundle is as large as its content.
pub fn incompressible_scan(seed: u64, count: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(2).wrapping_add(1);
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    while bytes.len() < count {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bytes.extend_from_slice(&state.to_le_bytes());
    }
    bytes.truncate(count);
    bytes
}

/// `count` scanned subject certificates for sample filing `i`, each as large as an attachment
/// may be (`MAX_ATTACHMENT_BYTES`) and made by [`incompressible_scan`] from seed `i * 64 + k`.
pub fn incompressible_certificates(i: usize, count: usize) -> Vec<Attachment> {
    (0..count)
        .map(|k| Attachment {
            kind: AttachmentKind::SubjectCertificate,
            media_type: "image/png".to_owned(),
            bytes: incompressible_scan(
                (i * 64 + k) as u64,
                bundle_format::records::MAX_ATTACHMENT_BYTES,
            ),
        })
        .collect()
}

/// Now, Unix seconds: the import tests and benchmark make their bundles now and import them at
/// once.
pub fn now() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("a clock after 1970");
    i64::try_from(since.as_secs()).expect("a clock before 2262")
}

/// The first submissions bundle of channel 1 (epoch 1), made at `created` and valid for
/// `valid_seconds`, in one part however large the format allows.
pub fn first_submissions_config(created: i64, valid_seconds: i64) -> WriterConfig {
    WriterConfig {
        kind: Kind::Submissions,
        channel: ChannelId(1),
        epoch: 1,
        next_sequence: 1,
        previous: BundleId::ZERO,
        created,
        expires: created + valid_seconds,
        part_content_bytes: usize::try_from(bundle_format::header::MAX_CONTENT_BYTES)
            .expect("256 MiB fits usize"),
        part_records: bundle_format::payload::MAX_RECORDS_PER_BUNDLE,
    }
}
