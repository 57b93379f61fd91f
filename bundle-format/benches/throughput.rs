//! Write and read throughput of a 100 000-record submissions bundle, as ratios against plain
//! zstd (same level, same content bytes) measured in the same run on the same machine.
//!
//! `cargo bench -p bundle-format --bench throughput` runs the full size; without `--bench` (as
//! when `cargo test --all-targets` runs it) it runs 1 000 records so the harness stays quick.

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use bundle_format::payload::{COMPRESSION_LEVEL, MAX_RECORDS_PER_BUNDLE, encode_record};
use bundle_format::records::Record;
use bundle_format::{Expectation, Kind, ReadLimits, read_bundle};
use common::bundles::{CHANNEL, config, write_one};
use common::samples::submission;
use common::{KeyTable, NOW, TestSigner};
use keys::{ChannelId, Role};

fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut last = None;
    for _ in 0..runs {
        let start = Instant::now();
        let out = f();
        best = best.min(start.elapsed());
        last = Some(out);
    }
    (best, last.expect("at least one run"))
}

fn main() {
    let full = std::env::args().any(|arg| arg == "--bench");
    let (count, runs) = if full {
        (MAX_RECORDS_PER_BUNDLE as u64, 3)
    } else {
        (1_000, 1)
    };
    let records: Vec<Record> = (0..count).map(submission).collect();
    let signer = TestSigner::named("outer-bundle");
    let keys = KeyTable::default().with(&signer, Role::OuterBundle, Some(CHANNEL));
    let mut cfg = config(Kind::Submissions);
    cfg.part_content_bytes =
        usize::try_from(bundle_format::header::MAX_CONTENT_BYTES).expect("256 MiB fits a usize");
    let expect = Expectation {
        role: Role::OuterBundle,
        channel: ChannelId(CHANNEL),
        at: NOW,
    };

    let mut content = Vec::new();
    for record in &records {
        encode_record(record, &mut content).expect("sample records encode");
    }
    let (zstd_write, compressed) = best_of(runs, || {
        zstd::bulk::compress(black_box(&content), COMPRESSION_LEVEL).expect("zstd compresses")
    });
    let (zstd_read, _) = best_of(runs, || {
        zstd::bulk::decompress(black_box(&compressed), content.len()).expect("zstd decompresses")
    });
    let (write, file) = best_of(runs, || write_one(&signer, cfg, black_box(&records)));
    let (read, bundle) = best_of(runs, || {
        read_bundle(black_box(&file), &keys, &expect, &ReadLimits::default()).expect("reads")
    });
    assert_eq!(bundle.records.len(), records.len());
    // Where the reader's time goes: the content hash and the record decoding on their own.
    let (hash, _) = best_of(runs, || {
        <sha2::Sha256 as sha2::Digest>::digest(black_box(&content))
    });
    let (decode, _) = best_of(runs, || {
        bundle_format::payload::decode_records(black_box(&content), Kind::Submissions)
            .expect("decodes")
    });
    let (check, _) = best_of(runs, || {
        for record in black_box(&records) {
            record.check().expect("in shape");
        }
    });

    let mib = content.len() as f64 / (1024.0 * 1024.0);
    let rate = |d: Duration| mib / d.as_secs_f64();
    println!(
        "{count} records, {mib:.1} MiB content, {:.1} MiB bundle ({} runs, best)",
        file.len() as f64 / (1024.0 * 1024.0),
        runs
    );
    println!(
        "write bundle (encode+compress+sign): {:.0} MiB/s; plain zstd compress: {:.0} MiB/s; \
         ratio {:.2}x the zstd time",
        rate(write),
        rate(zstd_write),
        write.as_secs_f64() / zstd_write.as_secs_f64()
    );
    println!(
        "read bundle (verify+decompress+hash+decode): {:.0} MiB/s; plain zstd decompress: \
         {:.0} MiB/s; ratio {:.2}x the zstd time",
        rate(read),
        rate(zstd_read),
        read.as_secs_f64() / zstd_read.as_secs_f64()
    );
    println!(
        "of which: SHA-256 of content {:.2}x, record decoding {:.2}x (shape checks alone {:.2}x) \
         the zstd decompress time",
        hash.as_secs_f64() / zstd_read.as_secs_f64(),
        decode.as_secs_f64() / zstd_read.as_secs_f64(),
        check.as_secs_f64() / zstd_read.as_secs_f64()
    );
}
