//! Bundles for the store tests, built from testkit's sample filings, and the calls that apply
//! them.
#![allow(dead_code)] // each test binary uses a different part

use std::path::Path;
use std::process::{Command, Output};

use bundle_format::records::{Change, Submission, SubmissionVersion, Website};
use inner::import::{ApplyReport, IncomingBundle, apply_bundle};
use inner::review;
use inner::reviewers::{self, AccountError, AuthError, NewAccount, Reviewer, Role};
use testkit::pg::TestDatabase;
pub use testkit::records::{REGION_CODE, new_filing, version, website};

/// 2026-11-22T08:00:00Z, an hour after `testkit::records::SUBMITTED_AT`.
pub const NOW: i64 = 1_795_334_400;

/// A submissions bundle of the tests on channel 7, epoch 1: its signed message (unsigned
/// here: the import takes a verified message and stores it) and the versions it holds.
pub struct TestBundle {
    pub sequence: u64,
    pub message: Vec<u8>,
    pub submissions: Vec<SubmissionVersion>,
}

impl TestBundle {
    /// The bundle as the importer hands it over.
    pub fn incoming(&self) -> IncomingBundle<'_> {
        let header = bundle_format::Header::parse(&self.message, u64::MAX)
            .expect("test bundle header")
            .0;
        IncomingBundle::verified(
            bundle_format::BundleId::of_message(&self.message),
            &header,
            keys::KeyId(*b"outerkey"),
            &self.submissions,
            &self.message,
        )
    }
}

/// Bundle `sequence` holding `submissions`, made a minute before [`NOW`].
pub fn bundle_at(sequence: u64, submissions: &[SubmissionVersion]) -> TestBundle {
    made_at(sequence, submissions, NOW - 60)
}

/// Bundle `sequence` holding `submissions`, made at `created` (another time makes another
/// bundle with the same contents).
pub fn made_at(sequence: u64, submissions: &[SubmissionVersion], created: i64) -> TestBundle {
    TestBundle {
        sequence,
        message: inner::testing::submissions_message(7, 1, sequence, created, submissions)
            .expect("test bundle message"),
        submissions: submissions.to_vec(),
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
    apply(db, &bundle_at(sequence, submissions).incoming())
}

/// Applies bundle `sequence` of `channel` (epoch 1) holding `submissions`; returns each
/// version's outcome and reason, in bundle order.
pub fn apply_on(
    db: &TestDatabase,
    channel: u32,
    sequence: u64,
    submissions: &[SubmissionVersion],
) -> Vec<(bundle_format::records::ImportOutcome, Option<String>)> {
    let message = inner::testing::submissions_message(channel, 1, sequence, NOW - 60, submissions)
        .expect("test bundle message");
    let bundle = TestBundle {
        sequence,
        message,
        submissions: submissions.to_vec(),
    };
    apply(db, &bundle.incoming())
        .outcomes
        .into_iter()
        .map(|ack| (ack.outcome, ack.reason))
        .collect()
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

/// Version 1 of `receipt`: a change of the approved filing `number` that replaces its first
/// website (`number-1`) with `website`.
pub fn first_website_changed(receipt: &str, number: &str, website: Website) -> SubmissionVersion {
    version(
        receipt,
        1,
        Submission::Change {
            filing_number: number.to_owned(),
            change: Change::Website {
                website_number: format!("{number}-1"),
                website,
            },
        },
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

/// The password of every reviewer account the tests make.
pub const PASSWORD: &str = "审核员的密码-2026";

/// The ministry account reviewer-li, logged in; made by the operator's bootstrap the first time.
pub fn ministry(db: &TestDatabase) -> Reviewer {
    let mut client = db.connect().expect("connect");
    match reviewers::authenticate(&mut client, "reviewer-li", PASSWORD, NOW) {
        Ok(reviewer) => reviewer,
        Err(AuthError::WrongCredentials(_)) => {
            match reviewers::bootstrap_ministry(&mut client, "reviewer-li", PASSWORD, NOW) {
                Ok(reviewer) => reviewer,
                // Another thread of the test made it meanwhile.
                Err(AccountError::MinistryExists(_)) => {
                    reviewers::authenticate(&mut client, "reviewer-li", PASSWORD, NOW)
                        .expect("log in as reviewer-li")
                }
                Err(e) => panic!("bootstrapping reviewer-li: {e}"),
            }
        }
        Err(e) => panic!("logging in as reviewer-li: {e}"),
    }
}

/// A new account `name` of `role` for `province` (and `service_types`), made by reviewer-li.
pub fn account(
    db: &TestDatabase,
    name: &str,
    role: Role,
    province: Option<i16>,
    service_types: &[&str],
) -> Reviewer {
    let by = ministry(db);
    let mut client = db.connect().expect("connect");
    let new = NewAccount {
        name,
        role,
        province,
        service_types: service_types.iter().map(|s| (*s).to_owned()).collect(),
        password: PASSWORD,
    };
    reviewers::create(&mut client, &by, &new, NOW).expect("create the account");
    reviewers::authenticate(&mut client, name, PASSWORD, NOW).expect("log in")
}

/// Approves `receipt` as reviewer-li (the ministry) a minute after [`NOW`], signing with a new
/// key, and commits.
pub fn approve(db: &TestDatabase, receipt: &str) -> review::Decision {
    let key = signer();
    let reviewer = ministry(db);
    let mut client = db.connect().expect("connect");
    let mut tx = client.transaction().expect("begin");
    let decision =
        review::approve(&mut tx, receipt, &reviewer, None, &key, NOW + 60).expect("approve");
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

/// A new database with version 1 of 甲公司's filing R1 (see [`jia_filing`]) of `domains` applied.
pub fn with_jia_filing(domains: &[&str]) -> TestDatabase {
    let db = TestDatabase::with_schema().expect("db");
    apply_at(&db, 1, &[jia_filing(1, domains, 1)]);
    db
}

/// Approves `receipt` as reviewer-li in `tx`, signing with `key` at [`NOW`]; returns the refusal.
pub fn approval_refused(
    tx: &mut postgres::Transaction<'_>,
    db: &TestDatabase,
    receipt: &str,
    key: &keys::SecretKey,
) -> review::ReviewError {
    review::approve(tx, receipt, &ministry(db), None, key, NOW).unwrap_err()
}

/// The number of rows in `table`, a table name with or without a `WHERE` clause.
pub fn rows_in(db: &TestDatabase, table: &str) -> i64 {
    count(db, &format!("SELECT count(*) FROM {table}"))
}

/// Runs `f` in a transaction of its own, committed only when `f` succeeds.
pub fn decide<T>(
    db: &TestDatabase,
    f: impl FnOnce(&mut postgres::Transaction<'_>) -> Result<T, review::ReviewError>,
) -> Result<T, review::ReviewError> {
    let mut client = db.connect().expect("connect");
    let mut tx = client.transaction().expect("begin");
    let result = f(&mut tx);
    if result.is_ok() {
        tx.commit().expect("commit");
    }
    result
}

/// The state of `receipt`, as the store holds it.
pub fn state_of(db: &TestDatabase, receipt: &str) -> String {
    db.connect()
        .unwrap()
        .query_one("SELECT state FROM receipts WHERE receipt = $1", &[&receipt])
        .unwrap()
        .get(0)
}

/// The status of the filing `number`, as the store holds it.
pub fn filing_status(db: &TestDatabase, number: &str) -> String {
    db.connect()
        .unwrap()
        .query_one(
            "SELECT status FROM filings WHERE filing_number = $1",
            &[&number],
        )
        .unwrap()
        .get(0)
}

/// Version 1 of receipt R1: 北京甲科技有限公司 (certificate C1) filing its one website 甲官网
/// with `domains`.
pub fn beijing_jia_filing(domains: &[&str]) -> SubmissionVersion {
    one_site_filing("R1", "北京甲科技有限公司", "C1", "甲官网", domains, 1)
}

/// Version 1 of receipt R2: a change of the filing `number` adding the website 甲商城.
pub fn shop_added(number: &str) -> SubmissionVersion {
    version(
        "R2",
        1,
        Submission::Change {
            filing_number: number.to_owned(),
            change: Change::AddedWebsite(website("甲商城", &["shop.jia.example.cn"], 2)),
        },
    )
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

/// What a reviewer sees of `receipt` (what `sluice-inner review show` prints).
pub fn show(db: &TestDatabase, receipt: &str) -> inner::queue::SubmissionView {
    inner::queue::show(&mut db.connect().expect("connect"), receipt).expect("review show")
}

/// The domains of each website a reviewer sees for `receipt`, with the website's status.
pub fn shown_websites(db: &TestDatabase, receipt: &str) -> Vec<(String, Vec<String>)> {
    show(db, receipt)
        .websites
        .into_iter()
        .map(|w| (w.status, w.domains))
        .collect()
}
