//! Hostile inputs through the real `sluice-transfer import` into a real PostgreSQL: the
//! committed corpus in `tests/corpus/`, the format vectors of `bundle-format/tests/vectors/`,
//! every single-bit flip and every truncation of a small valid bundle, appended data, and files
//! on the medium that are not plain finished files. Every attack must be quarantined with its
//! own reason (or, for a replay, recognised as a duplicate) and leave every row of the inner
//! database exactly as it was, but for one thing: a bundle signed with a key trusted for its
//! channel once, since revoked or expired, is refused with a notice queued for its sender.
//!
//! Regenerate the corpus (only to add entries; committed ones never change):
//! `SLUICE_BLESS_CORPUS=1 cargo test -p tests --test hostile`

mod common;
#[path = "hostile/corpus.rs"]
mod corpus;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use bundle_format::records::{ImportOutcome, Record};
use corpus::CorpusEntry;

/// The inner host: a spool directory, the test keyset and its own PostgreSQL database.
struct InnerHost {
    dir: tempfile::TempDir,
    database: inner::testing::TestDatabase,
}

/// What the import said about one file.
#[derive(Debug, Clone)]
struct Outcome {
    result: String,
    code: Option<String>,
    /// For `record.breaks-filing-rule`: the code of the first filing rule broken.
    rule: Option<String>,
    outcomes: BTreeMap<String, u64>,
}

impl InnerHost {
    fn new() -> InnerHost {
        // Quarantining thousands of files costs several fsyncs each; on tmpfs (where Linux has
        // it) that takes seconds instead of minutes, and nothing here tests durability.
        let shm = Path::new("/dev/shm");
        let dir = if shm.is_dir() {
            tempfile::tempdir_in(shm).unwrap()
        } else {
            tempfile::tempdir().unwrap()
        };
        corpus::write_keyset(&dir.path().join("keyset")).unwrap();
        let host = InnerHost {
            dir,
            database: inner::testing::TestDatabase::new().unwrap(),
        };
        std::fs::create_dir_all(host.inbox()).unwrap();
        host
    }

    fn inbox(&self) -> PathBuf {
        self.dir.path().join("spool/inbox")
    }

    fn put(&self, name: &str, bytes: &[u8]) {
        std::fs::write(self.inbox().join(name), bytes).unwrap();
    }

    /// `sluice-transfer --json` with this host's settings and `args`; checks the exit code
    /// and returns the JSON it printed.
    fn run(&self, args: &[&std::ffi::OsStr], exit: i32) -> serde_json::Value {
        let output = Command::new(testkit::binaries::workspace_binary("sluice-transfer").unwrap())
            .args(testkit::inner_host::transfer_args(
                self.dir.path(),
                &self.database.connection_string(),
            ))
            .args(args)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(
            output.status.code(),
            Some(exit),
            "{args:?} ended unexpectedly: {}\n{stdout}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_str(stdout.trim())
            .unwrap_or_else(|e| panic!("{args:?} printed no JSON report ({e}): {stdout}"))
    }

    /// Runs `sluice-transfer --json import` and returns what it reported per file.
    fn import(&self, exit: i32) -> BTreeMap<String, Outcome> {
        let report = self.run(&["import".as_ref()], exit);
        let mut outcomes = BTreeMap::new();
        for file in report["files"].as_array().unwrap() {
            outcomes.insert(file["file"].as_str().unwrap().to_owned(), outcome(file));
        }
        outcomes
    }

    /// Runs `sluice-transfer --json replay FILE` on a quarantined file, which must stay
    /// quarantined (exit code 4), and returns what it reported.
    fn replay(&self, file: &Path) -> Outcome {
        outcome(&self.run(&["replay".as_ref(), file.as_os_str()], 4))
    }

    /// Takes the bundle refusals the import queued for the return channel out of the queue:
    /// each refused bundle's id and code, sorted.
    fn take_bundle_refusals(&self) -> Vec<(bundle_format::BundleId, String)> {
        let mut client =
            postgres::Client::connect(&self.database.connection_string(), postgres::NoTls).unwrap();
        let pending = inner::returns::pending_returns(&mut client, 10_000).unwrap();
        let mut notices: Vec<(bundle_format::BundleId, String)> = pending
            .entries
            .into_iter()
            .filter_map(|entry| match entry.record {
                Record::BundleRefusal(notice) => {
                    Some((bundle_format::BundleId(notice.bundle_id), notice.code))
                }
                _ => None,
            })
            .collect();
        notices.sort();
        client
            .execute(
                "DELETE FROM return_queue WHERE kind = 'bundle-refusal'",
                &[],
            )
            .unwrap();
        notices
    }

    fn checksum(&self) -> Vec<(String, String)> {
        let mut client =
            postgres::Client::connect(&self.database.connection_string(), postgres::NoTls).unwrap();
        corpus::database_checksum(&mut client).unwrap()
    }

    /// The reasons of the rejected acks queued for the return channel for `receipts`.
    fn rejection_reasons(&self, receipts: &[String]) -> Vec<String> {
        let mut client =
            postgres::Client::connect(&self.database.connection_string(), postgres::NoTls).unwrap();
        let pending = inner::returns::pending_returns(&mut client, 10_000).unwrap();
        let mut reasons = Vec::new();
        for entry in pending.entries {
            // A refused version is one of its range ack's exceptions.
            let Record::ArrivalAck(arrival) = entry.record else {
                continue;
            };
            for receipt in arrival.ack.exceptions {
                if receipts.contains(&receipt.receipt) && receipt.outcome == ImportOutcome::Rejected
                {
                    reasons.push(receipt.reason.unwrap_or_default());
                }
            }
        }
        reasons.sort();
        reasons
    }
}

/// One file's entry of an import report.
fn outcome(file: &serde_json::Value) -> Outcome {
    // The reason ends with its stable code in parentheses.
    let code = file["reason"].as_str().map(|reason| {
        let open = reason.rfind('(').unwrap_or(0);
        reason[open + 1..].trim_end_matches(')').to_owned()
    });
    let counts = file["outcomes"]
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default();
    Outcome {
        result: file["result"].as_str().unwrap().to_owned(),
        code,
        rule: file["filing_rule"]["rule"].as_str().map(str::to_owned),
        outcomes: counts,
    }
}

fn corpus() -> Vec<CorpusEntry> {
    corpus::generate().unwrap()
}

#[test]
fn the_committed_corpus_is_what_the_generator_makes() {
    let dir = corpus::corpus_dir();
    let bless = std::env::var_os("SLUICE_BLESS_CORPUS").is_some();
    for entry in corpus() {
        let bundle = dir.join(format!("{}.bundle", entry.name));
        let expected = dir.join(format!("{}.expected", entry.name));
        if bless {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&bundle, &entry.bytes).unwrap();
            std::fs::write(&expected, corpus::sidecar(&entry)).unwrap();
        }
        assert_eq!(
            std::fs::read(&bundle).ok().as_deref(),
            Some(&entry.bytes[..]),
            "{} differs from the generator; committed corpus files never change",
            bundle.display()
        );
        assert_eq!(
            std::fs::read_to_string(&expected).unwrap(),
            corpus::sidecar(&entry)
        );
    }
}

/// Committed files with their sidecars, read from disk (not from the generator).
struct Committed {
    name: String,
    expect: String,
    stage: String,
    /// The filing rule a `record.breaks-filing-rule` quarantine must name; empty if none.
    rule: String,
    bytes: Vec<u8>,
}

fn read_committed(dir: &Path) -> Vec<Committed> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("expected") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let field = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(key))
                .unwrap_or_default()
                .trim()
                .to_owned()
        };
        let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
        found.push(Committed {
            bytes: std::fs::read(path.with_extension("bundle")).unwrap(),
            expect: field("expect:"),
            stage: field("stage:"),
            rule: field("rule:"),
            name,
        });
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    found
}

/// The format vectors that `read_bundle` refuses, with the code it refuses each with.
fn refused_vectors() -> Vec<(String, String, Vec<u8>)> {
    let mut vectors = Vec::new();
    for entry in std::fs::read_dir(corpus::vectors_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("expected") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let code = text.lines().next().unwrap().trim_start_matches("expect: ");
        if code == "accept" {
            continue;
        }
        let stem = path.file_stem().unwrap().to_str().unwrap().to_owned();
        let bytes = std::fs::read(path.with_extension("bundle")).unwrap();
        vectors.push((stem, code.to_owned(), bytes));
    }
    vectors.sort();
    vectors
}

/// The import peeks at the unverified header first (to order files and learn the channel); a
/// header that does not parse or names a channel not accepted here must still be refused for
/// its signature when the signature does not hold, as `read_bundle` refuses it. Needs no
/// database: this is the check `import` runs before anything else.
#[test]
fn import_names_a_broken_signature_before_an_unverified_header() {
    let dir = tempfile::tempdir().unwrap();
    let keyset_path = dir.path().join("keyset");
    corpus::write_keyset(&keyset_path).unwrap();
    let keyset = transfer::config::load_keyset(&[keyset_path], corpus::CORPUS_CREATED).unwrap();
    let vectors = refused_vectors();
    assert!(
        vectors.len() >= 40,
        "the vectors are in bundle-format/tests/vectors/"
    );
    let mut wrong = Vec::new();
    for (name, code, bytes) in &vectors {
        let got = transfer::examine::verify_bytes(
            bytes,
            &keyset,
            keys::Role::OuterBundle,
            &[keys::ChannelId(corpus::CHANNEL)],
            corpus::CORPUS_CREATED,
            &[],
        );
        match got {
            Err(refusal) if refusal.code == *code => {}
            other => wrong.push(format!(
                "{name}: expected {code}, got {:?}",
                other.map(|_| "accepted").map_err(|r| r.code)
            )),
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn every_hostile_bundle_is_quarantined_with_its_reason_and_changes_nothing() {
    let host = InnerHost::new();
    let committed = read_committed(&corpus::corpus_dir());
    assert!(committed.len() >= 10, "the corpus is in tests/corpus/");

    // The chain the attacks aim at.
    for entry in committed.iter().filter(|c| c.stage == "setup") {
        host.put(&format!("{}.bundle", entry.name), &entry.bytes);
    }
    let setup = host.import(0);
    assert!(
        setup.values().all(|o| o.result == "applied"),
        "setup: {setup:?}"
    );
    let small = &committed
        .iter()
        .find(|c| c.name == "setup_epoch_1_sequence_1")
        .unwrap()
        .bytes;
    let before = host.checksum();

    // name → (allowed results, the code a quarantine must carry, if one is fixed)
    let mut expected: BTreeMap<String, (Vec<&str>, Option<String>)> = BTreeMap::new();
    // name → the filing rule a `record.breaks-filing-rule` quarantine must name
    let mut rules: BTreeMap<String, String> = BTreeMap::new();
    for entry in committed.iter().filter(|c| c.stage == "attack") {
        let name = format!("corpus_{}.bundle", entry.name);
        host.put(&name, &entry.bytes);
        if !entry.rule.is_empty() {
            rules.insert(name.clone(), entry.rule.clone());
        }
        let expect = match entry.expect.strip_prefix("quarantined ") {
            Some(code) => (vec!["quarantined"], Some(code.to_owned())),
            None => (vec![entry.expect.as_str()], None),
        };
        expected.insert(name, (expect.0.into_iter().map(leak).collect(), expect.1));
    }
    let mut vectors = 0;
    for (stem, code, bytes) in refused_vectors() {
        let name = format!("vector_{stem}.bundle");
        host.put(&name, &bytes);
        expected.insert(name, (vec!["quarantined"], Some(code)));
        vectors += 1;
    }
    assert!(
        vectors >= 40,
        "the vectors are in bundle-format/tests/vectors/"
    );

    // Every single-bit flip. A flip inside the unsigned comment line may leave a file that
    // still verifies: it is the bundle already imported, so it must be a duplicate.
    let comment_end = small.iter().position(|&b| b == b'\n').unwrap();
    for offset in 0..small.len() {
        for bit in 0..8 {
            let mut flipped = small.clone();
            flipped[offset] ^= 1 << bit;
            let name = format!("bitflip_{offset:05}_{bit}.bundle");
            host.put(&name, &flipped);
            let allowed = if offset < comment_end {
                vec!["quarantined", "duplicate"]
            } else {
                vec!["quarantined"]
            };
            expected.insert(name, (allowed, None));
        }
    }
    for length in 0..small.len() {
        let name = format!("truncated_to_{length:05}.bundle");
        host.put(&name, &small[..length]);
        expected.insert(name, (vec!["quarantined"], None));
    }
    // Appended bytes become part of the signed message, so the signature no longer holds; the
    // header's payload length disagreeing with the file is not what the import names.
    for (what, extra) in [
        ("newline", b"\n".to_vec()),
        ("zero_byte", vec![0]),
        ("kilobyte", vec![0x5a; 1024]),
        ("whole_bundle_again", small.clone()),
    ] {
        let name = format!("appended_{what}.bundle");
        host.put(&name, &[small.as_slice(), &extra].concat());
        expected.insert(
            name,
            (vec!["quarantined"], Some("envelope.bad-signature".into())),
        );
    }

    // Files on the medium that are not finished plain files: a symlink to a valid bundle that
    // would apply, a FIFO (opening it would block), a file still being written under its
    // temporary name, and one too large to be a bundle (sparse, so it costs no disk).
    let next = &committed
        .iter()
        .find(|c| c.name == "comment_line_edited")
        .unwrap()
        .bytes;
    let outside = host.dir.path().join("outside.bundle");
    std::fs::write(&outside, next).unwrap();
    std::os::unix::fs::symlink(&outside, host.inbox().join("symlink_to_valid.bundle")).unwrap();
    let fifo = host.inbox().join("fifo.bundle");
    let made = Command::new("mkfifo").arg(&fifo).status();
    assert!(
        made.is_ok_and(|s| s.success()),
        "cannot run mkfifo; install the Debian package coreutils"
    );
    host.put(".carrier-writing.bundle", &next[..next.len() / 2]);
    let oversized = std::fs::File::create(host.inbox().join("oversized.bundle")).unwrap();
    oversized
        .set_len(bundle_format::bundle::MAX_FILE_BYTES as u64 + 1)
        .unwrap();
    drop(oversized);
    expected.insert(
        "oversized.bundle".into(),
        (vec!["quarantined"], Some("file.too-large".into())),
    );

    let report = host.import(4);
    // Signed by a key once trusted for the channel, refused for that key now: the refusal goes
    // back to the sender (and is the only thing queued), so that it signs again with its
    // current key. No other hostile file gets one.
    let signed_with = |bytes: &[u8]| transfer::examine::peek(bytes).unwrap().1;
    let mut once_trusted = vec![
        (
            signed_with(
                &committed
                    .iter()
                    .find(|c| c.name == "revoked_key")
                    .unwrap()
                    .bytes,
            ),
            "envelope.key-revoked".to_owned(),
        ),
        (
            signed_with(
                &refused_vectors()
                    .into_iter()
                    .find(|(stem, ..)| stem == "expired_key")
                    .unwrap()
                    .2,
            ),
            "envelope.key-expired".to_owned(),
        ),
    ];
    once_trusted.sort();
    assert_eq!(host.take_bundle_refusals(), once_trusted);
    assert_eq!(
        host.checksum(),
        before,
        "a hostile file changed the inner database"
    );
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut wrong_reason = Vec::new();
    for (name, (allowed, code)) in &expected {
        let got = report
            .get(name)
            .unwrap_or_else(|| panic!("{name} was not handled"));
        assert!(allowed.contains(&got.result.as_str()), "{name}: {got:?}");
        if let Some(code) = code
            && got.code.as_deref() != Some(code.as_str())
        {
            wrong_reason.push(format!("{name}: expected {code}, got {got:?}"));
        }
        if got.result == "quarantined" {
            let code = got.code.as_deref().unwrap_or_default();
            assert!(
                code.contains('.') && !code.is_empty(),
                "{name} quarantined without a specific reason: {got:?}"
            );
            let quarantined = host.dir.path().join("spool/quarantine").join(name);
            assert!(
                quarantined.is_file()
                    && quarantined
                        .with_file_name(format!("{name}.reason.json"))
                        .is_file(),
                "{name} is not in quarantine with its reason file"
            );
        }
        *counts.entry(got.result.clone()).or_default() += 1;
    }
    for (name, rule) in &rules {
        let got = &report[name];
        if got.rule.as_deref() != Some(rule.as_str()) {
            wrong_reason.push(format!("{name}: expected filing rule {rule}, got {got:?}"));
        }
        let reason =
            transfer::spool::read_reason(&host.dir.path().join("spool/quarantine").join(name))
                .unwrap();
        assert_eq!(
            reason.filing_rule.map(|breach| breach.rule).as_deref(),
            Some(rule.as_str()),
            "{name}: the reason file names the rule"
        );
    }
    assert!(
        wrong_reason.is_empty(),
        "quarantined for another reason than expected:\n{}",
        wrong_reason.join("\n")
    );
    assert_eq!(
        report.len(),
        expected.len(),
        "the import handled files it should have skipped: {:?}",
        report
            .keys()
            .filter(|k| !expected.contains_key(*k))
            .collect::<Vec<_>>()
    );
    // Skipped, never followed, opened or half-read, and left where they were.
    for left in [
        "symlink_to_valid.bundle",
        "fifo.bundle",
        ".carrier-writing.bundle",
    ] {
        assert!(
            std::fs::symlink_metadata(host.inbox().join(left)).is_ok(),
            "{left} was moved"
        );
    }
    println!(
        "hostile inputs: {} files ({} single-bit flips, {} truncations, {vectors} format vectors): {counts:?}",
        expected.len(),
        small.len() * 8,
        small.len()
    );

    // After the attacks: the comment-edited bundle still verifies and imports, and a signed
    // bundle of records that break the filing rules is quarantined whole, changes nothing, and
    // stays quarantined for the same reason when replayed.
    for entry in committed.iter().filter(|c| c.stage == "after") {
        let name = format!("corpus_{}.bundle", entry.name);
        host.put(&name, &entry.bytes);
        if let Some(code) = entry.expect.strip_prefix("quarantined ") {
            let before = host.checksum();
            let report = host.import(4);
            let got = &report[&name];
            assert_eq!(
                (got.result.as_str(), got.code.as_deref()),
                ("quarantined", Some(code)),
                "{name}: {got:?}"
            );
            assert_eq!(host.checksum(), before, "{name} changed the inner database");
            let quarantined = host.dir.path().join("spool/quarantine").join(&name);
            let replay = host.replay(&quarantined);
            assert_eq!(
                (replay.result.as_str(), replay.code.as_deref()),
                ("quarantined", Some(code)),
                "{name} replayed: {replay:?}"
            );
            assert_eq!(got.rule, replay.rule, "{name} replayed");
            assert!(quarantined.is_file(), "{name} is back in quarantine");
            assert_eq!(
                host.checksum(),
                before,
                "{name} replayed changed the database"
            );
            continue;
        }
        let report = host.import(0);
        let got = &report[&name];
        let (result, rejected) = entry
            .expect
            .split_once(" rejected=")
            .unwrap_or((entry.expect.as_str(), ""));
        assert_eq!(got.result, result, "{name}: {got:?}");
        if !rejected.is_empty() {
            let reasons: Vec<&str> = rejected.split(',').collect();
            assert_eq!(
                got.outcomes.get("rejected").copied(),
                Some(reasons.len() as u64),
                "{name}: {got:?}"
            );
            let receipts: Vec<String> = (4..=6).map(|n| format!("R20261122-H{n:07}")).collect();
            assert_eq!(host.rejection_reasons(&receipts), reasons, "{name}");
        }
    }
}

fn leak(s: &str) -> &'static str {
    match s {
        "quarantined" => "quarantined",
        "duplicate" => "duplicate",
        "applied" => "applied",
        other => panic!("unknown expectation {other}"),
    }
}
