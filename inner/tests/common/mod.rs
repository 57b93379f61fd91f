//! Bundles for the store tests, built from testkit's sample filings, and the calls that apply
//! them.
#![allow(dead_code)] // each test binary uses a different part

use std::path::Path;
use std::process::{Command, Output};

use bundle_format::records::{SubmissionVersion, Website};
use inner::import::{ApplyReport, IncomingBundle, apply_bundle};
use inner::review;
use testkit::pg::TestDatabase;
pub use testkit::records::{REGION_CODE, new_filing, version, website};

/// 2026-11-22T08:00:00Z, an hour after `testkit::records::SUBMITTED_AT`.
pub const NOW: i64 = 1_795_334_400;

pub fn bundle_id(channel: u32, sequence: u64, salt: u8) -> [u8; 32] {
    let mut id = [salt; 32];
    id[..4].copy_from_slice(&channel.to_le_bytes());
    id[4..12].copy_from_slice(&sequence.to_le_bytes());
    id
}

pub fn incoming(sequence: u64, submissions: &[SubmissionVersion]) -> IncomingBundle<'_> {
    IncomingBundle {
        bundle_id: bundle_id(7, sequence, 0xab),
        channel: 7,
        epoch: 1,
        sequence,
        signer: keys::KeyId(*b"outerkey"),
        created: NOW - 60,
        submissions,
    }
}

/// Applies and commits one bundle.
pub fn apply(db: &TestDatabase, bundle: &IncomingBundle<'_>) -> ApplyReport {
    let mut client = db.connect().expect("connect");
    let mut tx = client.transaction().expect("begin");
    let report = apply_bundle(&mut tx, bundle, NOW).expect("apply");
    tx.commit().expect("commit");
    report
}

/// Applies and commits bundle `sequence` holding `submissions`.
pub fn apply_at(
    db: &TestDatabase,
    sequence: u64,
    submissions: &[SubmissionVersion],
) -> ApplyReport {
    apply(db, &incoming(sequence, submissions))
}

/// Version 1 of `receipt`: a new filing of the enterprise `subject` (credit code `certificate`,
/// region `region_code`) for `websites`.
pub fn first_version(
    receipt: &str,
    subject: &str,
    certificate: &str,
    region_code: u32,
    websites: Vec<Website>,
) -> SubmissionVersion {
    version(
        receipt,
        1,
        new_filing(subject, certificate, region_code, websites),
    )
}

/// Version 1 of `receipt`: a new filing of the enterprise `subject` (credit code `certificate`,
/// in [`REGION_CODE`]) for its one website `site` serving `domains` from `203.0.113.last_octet`.
pub fn one_site_filing(
    receipt: &str,
    subject: &str,
    certificate: &str,
    site: &str,
    domains: &[&str],
    last_octet: u8,
) -> SubmissionVersion {
    first_version(
        receipt,
        subject,
        certificate,
        REGION_CODE,
        vec![website(site, domains, last_octet)],
    )
}

/// Version `number` of receipt R1: 甲公司 (certificate C1, in [`REGION_CODE`]) filing its one
/// website 甲网 with `domains`, its IP address ending in `last_octet`.
pub fn jia_filing(number: u32, domains: &[&str], last_octet: u8) -> SubmissionVersion {
    version(
        "R1",
        number,
        new_filing(
            "甲公司",
            "C1",
            REGION_CODE,
            vec![website("甲网", domains, last_octet)],
        ),
    )
}

/// Approves `receipt` as reviewer-li a minute after [`NOW`], signing with a new key, and commits.
pub fn approve(db: &TestDatabase, receipt: &str) -> review::Decision {
    let key = signer();
    let mut client = db.connect().expect("connect");
    let mut tx = client.transaction().expect("begin");
    let decision =
        review::approve(&mut tx, receipt, "reviewer-li", None, &key, NOW + 60).expect("approve");
    tx.commit().expect("commit");
    decision
}

/// Checks the certificate `cert` with the stock `signify-openbsd`, as a site owner would: writes
/// it to `dir/bazs.cert`, verifies it against `dir/cert.pub` and leaves the signed text in
/// `dir/bazs.txt`.
pub fn signify_verify(dir: &Path, cert: &[u8]) -> Output {
    std::fs::write(dir.join("bazs.cert"), cert).expect("write the certificate");
    let _ = std::fs::remove_file(dir.join("bazs.txt"));
    Command::new("signify-openbsd")
        .current_dir(dir)
        .args([
            "-V",
            "-e",
            "-p",
            "cert.pub",
            "-x",
            "bazs.cert",
            "-m",
            "bazs.txt",
        ])
        .output()
        .expect("signify-openbsd not found: install Debian's `signify-openbsd` package")
}

pub fn count(db: &TestDatabase, sql: &str) -> i64 {
    db.connect()
        .expect("connect")
        .query_one(sql, &[])
        .expect("count query")
        .get(0)
}

pub fn signer() -> keys::SecretKey {
    keys::SecretKey::generate()
}
