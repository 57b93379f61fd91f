//! Bundles for the store tests, built from testkit's sample filings, and the calls that apply
//! them.
#![allow(dead_code)] // each test binary uses a different part

use bundle_format::records::SubmissionVersion;
use inner::import::{ApplyReport, IncomingBundle, apply_bundle};
use testkit::pg::TestDatabase;
pub use testkit::records::{new_filing, version, website};

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
