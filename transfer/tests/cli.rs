//! The binary as operators and their systemd units call it: configuration files, exit codes,
//! JSON summaries, and what `inspect` will and will not print. Help text and the errors that need
//! no database are pinned in `cli_snapshots.rs`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use inner::testing::TestDatabase;
use transfer::demo::{self, DemoKeys, OuterNode, new_filing};

fn sluice_transfer(config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sluice-transfer"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("run sluice-transfer")
}

/// Runs `args` with `config` and checks that it ends with exit code `expected`.
fn run_expecting(config: &Path, args: &[&str], expected: i32) -> Output {
    let output = sluice_transfer(config, args);
    assert_eq!(
        code(&output),
        expected,
        "sluice-transfer {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Fails unless each of `lines` is a whole line of `text` (Prometheus metrics, say).
fn assert_whole_lines(text: &str, lines: &[&str]) {
    for line in lines {
        assert!(text.lines().any(|l| l == *line), "{line:?} in\n{text}");
    }
}

fn code(output: &Output) -> i32 {
    output.status.code().expect("exit code")
}

fn json(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// Writes the configuration `text` to `path` and returns the path.
fn write_config(path: PathBuf, text: String) -> PathBuf {
    std::fs::write(&path, text).unwrap();
    path
}

fn toml_path(path: &Path) -> String {
    format!("{:?}", path.display().to_string())
}

/// Writes `dir/outer.toml`, the outer host of channel 1 (spool `dir/outer-spool`, database
/// `dir/outer.sqlite`, returns on channel 100), and returns its path.
fn write_outer_config(dir: &Path, keys: &DemoKeys) -> PathBuf {
    write_config(
        dir.join("outer.toml"),
        format!(
            "spool_dir = {}\nsigning_key = {}\nkeyset = [{}]\nouter_database = {}\nchannel = 1\nreturn_channel = 100\n",
            toml_path(&dir.join("outer-spool")),
            toml_path(keys.outer_key(keys::ChannelId(1)).unwrap()),
            toml_path(&keys.keyset),
            toml_path(&dir.join("outer.sqlite")),
        ),
    )
}

/// Writes `dir/inner.toml`, the inner host accepting channel 1 (spool `dir/inner-spool`,
/// `database`, returns on channel 100) with the settings `extra` added, and returns its path.
fn write_inner_config(
    dir: &Path,
    keys: &DemoKeys,
    database: &TestDatabase,
    extra: &str,
) -> PathBuf {
    write_config(
        dir.join("inner.toml"),
        format!(
            "spool_dir = {}\nsigning_key = {}\nkeyset = [{}]\ninner_database_url = {:?}\naccept_channels = [1]\nreturn_channel = 100\n{extra}",
            toml_path(&dir.join("inner-spool")),
            toml_path(&keys.inner_return),
            toml_path(&keys.keyset),
            database.connection_string(),
        ),
    )
}

/// A scratch directory with the demo's keys made at `now` (channel 1, returns on channel 100)
/// in `keys/`, and an empty inner database.
fn scratch_keys_and_database(now: i64) -> (tempfile::TempDir, DemoKeys, TestDatabase) {
    let dir = tempfile::tempdir().unwrap();
    let keys = demo::generate_keys(&dir.path().join("keys"), &[1], 100, now).unwrap();
    (dir, keys, TestDatabase::new().unwrap())
}

#[test]
fn the_scheduled_commands_run_a_round_trip_from_configuration_files() {
    let now = demo::now();
    let (dir, keys, database) = scratch_keys_and_database(now);
    let outer_db = dir.path().join("outer.sqlite");
    let node = OuterNode::start(&outer_db).unwrap();
    // Sent by the access provider: its payload goes with its acknowledgement.
    let receipt = node
        .submit_for_customer("customer_1", &new_filing(1, "企业展示网站"))
        .unwrap();

    let outer_config = write_outer_config(dir.path(), &keys);
    let inner_config = write_inner_config(dir.path(), &keys, &database, "");
    let outer_spool = transfer::spool::Spool::under(&dir.path().join("outer-spool"));
    let inner_spool = transfer::spool::Spool::under(&dir.path().join("inner-spool"));

    // Nothing has arrived yet: import says so with its own exit code.
    assert_eq!(code(&sluice_transfer(&inner_config, &["import"])), 3);

    let export = run_expecting(&outer_config, &["--json", "export"], 0);
    assert_eq!(json(&export)["versions"], 1);
    let stderr = String::from_utf8_lossy(&export.stderr);
    assert!(
        stderr.contains("bundle.exported"),
        "audit line missing: {stderr}"
    );

    let bundle = transfer::spool::list_bundles(&outer_spool.outbox)
        .unwrap()
        .remove(0);
    let inspect = sluice_transfer(&outer_config, &["inspect", bundle.to_str().unwrap()]);
    assert_eq!(code(&inspect), 0);
    let shown = String::from_utf8_lossy(&inspect.stdout);
    assert!(shown.contains("1 submission"), "{shown}");
    for personal in [
        "张三丰",
        "11010519491231002X",
        "13905711234",
        &demo::subject_name(1),
    ] {
        assert!(
            !shown.contains(personal),
            "inspect printed {personal}: {shown}"
        );
    }
    let full = sluice_transfer(
        &outer_config,
        &["inspect", "--show-records", bundle.to_str().unwrap()],
    );
    assert!(String::from_utf8_lossy(&full.stdout).contains("11010519491231002X"));

    let verify = sluice_transfer(
        &outer_config,
        &["--json", "verify", bundle.to_str().unwrap()],
    );
    assert_eq!(code(&verify), 0);
    assert_eq!(json(&verify)["files"][0]["signer_role"], "outer-bundle");
    // A copy with its header's magic altered: the header no longer parses, but security staff
    // are told the file is tampered (its signature fails), not what the altered header says.
    let mut tampered = std::fs::read(&bundle).unwrap();
    let message = tampered
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .nth(1)
        .map(|(i, _)| i + 1)
        .unwrap();
    tampered[message] ^= 0x01;
    let tampered_path = dir.path().join("tampered.bundle");
    std::fs::write(&tampered_path, &tampered).unwrap();
    let refused = sluice_transfer(
        &outer_config,
        &["--json", "verify", tampered_path.to_str().unwrap()],
    );
    assert_ne!(code(&refused), 0);
    assert_eq!(
        json(&refused)["files"][0]["code"],
        "envelope.bad-signature",
        "{}",
        String::from_utf8_lossy(&refused.stdout)
    );

    let medium = dir.path().join("medium");
    std::fs::create_dir_all(&medium).unwrap();
    let carry = |from: &Path, to: &Path| {
        run_expecting(
            &outer_config,
            &[
                "carry",
                "--from",
                from.to_str().unwrap(),
                "--to",
                to.to_str().unwrap(),
            ],
            0,
        );
    };
    carry(&outer_spool.outbox, &medium);
    carry(&medium, &inner_spool.inbox);
    // A file that is not a bundle at all arrives too.
    std::fs::write(inner_spool.inbox.join("garbage.bundle"), b"not a bundle").unwrap();
    let import = run_expecting(&inner_config, &["--json", "import"], 4);
    let files = json(&import)["files"].as_array().unwrap().clone();
    assert_eq!(files.len(), 2);
    assert!(files.iter().any(|f| f["result"] == "applied"));
    assert!(
        files
            .iter()
            .any(|f| f["result"] == "quarantined" && f["file"] == "garbage.bundle")
    );

    let ret = run_expecting(&inner_config, &["--json", "return"], 0);
    assert_eq!(json(&ret)["acks"], 1);
    // Nothing new: the return channel's heartbeat, so the outer side can tell a quiet inner
    // side from a dead one.
    let heartbeat = sluice_transfer(&inner_config, &["--json", "return"]);
    assert_eq!(code(&heartbeat), 3, "nothing new to return");
    let heartbeat = json(&heartbeat);
    assert_eq!(heartbeat["heartbeat"], true);
    assert_eq!(heartbeat["acks"], 0);
    assert_eq!(heartbeat["written"][0]["sequence"], 2);
    carry(&inner_spool.outbox, &medium);
    carry(&medium, &outer_spool.inbox);
    let apply = run_expecting(&outer_config, &["--json", "apply"], 0);
    let applied = json(&apply);
    assert_eq!(applied["files"][0]["payloads_deleted"], 1);
    assert_eq!(applied["files"][1]["result"], "applied", "{applied}");
    assert_eq!(applied["files"][1]["payloads_deleted"], 0);
    let status = json(&sluice_transfer(&outer_config, &["--json", "status"]));
    assert_eq!(status["outer"]["last_return"][0], 2, "{status}");
    // The same as Prometheus metrics, written atomically for a textfile collector.
    let prom = dir.path().join("textfile").join("sluice_outer.prom");
    std::fs::create_dir_all(prom.parent().unwrap()).unwrap();
    run_expecting(
        &outer_config,
        &[
            "status",
            "--prometheus",
            "--output",
            prom.to_str().unwrap(),
            "--record-history",
        ],
        0,
    );
    let metrics = std::fs::read_to_string(&prom).unwrap();
    // The same samples are kept as the operations page's history in the outer store.
    let history = outer::store::Store::open(&outer_db)
        .unwrap()
        .read_blocking(|conn| outer::store::ops::samples_since_on(conn, 0))
        .unwrap();
    assert!(
        history
            .iter()
            .any(|s| s.metric == "sluice_outer_last_return_sequence" && s.value == 2.0),
        "{history:?}"
    );
    assert_eq!(
        history.len(),
        metrics.lines().filter(|l| !l.starts_with('#')).count(),
        "one sample per metric line"
    );
    assert_whole_lines(
        &metrics,
        &[
            "# TYPE sluice_outer_pending_versions gauge",
            "sluice_outer_pending_versions 0",
            "sluice_outer_in_transit_versions 0",
            "sluice_outer_unacknowledged_bundles 0",
            "sluice_outer_last_return_sequence 2",
            "# TYPE sluice_keyset_key_not_after_timestamp_seconds gauge",
        ],
    );
    assert!(
        metrics.lines().any(|l| l
            .starts_with("sluice_keyset_key_not_after_timestamp_seconds{role=\"outer-bundle\"")),
        "the outer-bundle key's expiry is reported:\n{metrics}"
    );
    let inner_metrics = run_expecting(
        &inner_config,
        &["status", "--prometheus", "--record-history"],
        0,
    );
    let history = inner::ops::samples_since(&mut database.connect().unwrap(), 0).unwrap();
    assert!(
        history
            .iter()
            .any(|s| s.metric == "sluice_inner_missing_bundles"
                && s.labels == "channel=\"1\""
                && s.value == 0.0),
        "the inner database keeps the history too: {history:?}"
    );
    let inner_metrics = String::from_utf8_lossy(&inner_metrics.stdout).into_owned();
    assert_whole_lines(
        &inner_metrics,
        &[
            "sluice_inner_highest_contiguous_sequence{channel=\"1\"} 1",
            "sluice_inner_missing_bundles{channel=\"1\"} 0",
            "sluice_inner_pending_returns 0",
            "sluice_inner_return_bundles_sent_total 2",
            "sluice_quarantined_bundles{code=\"envelope.missing-comment-prefix\"} 1",
            "sluice_spool_files{dir=\"inbox\"} 0",
            "sluice_spool_files{dir=\"quarantine\"} 2",
            "# TYPE sluice_spool_bytes gauge",
        ],
    );
    // Spool disk use: the quarantined file and its reason file, taking real blocks.
    let quarantine_bytes = inner_metrics
        .lines()
        .find_map(|l| l.strip_prefix("sluice_spool_bytes{dir=\"quarantine\"} "))
        .unwrap_or_else(|| panic!("no quarantine disk use in\n{inner_metrics}"));
    assert!(
        quarantine_bytes.parse::<u64>().unwrap() > 0,
        "{inner_metrics}"
    );
    // Delivered inside: the status shows the inner side's state, no longer "in transit".
    let state = node.status(&receipt).unwrap()["state"].clone();
    assert!(
        !["received", "in_transit"].contains(&state.as_str().unwrap()),
        "{state}"
    );

    // Replaying the archived submissions bundle changes nothing and says so.
    let archived = transfer::spool::list_bundles(&inner_spool.archive)
        .unwrap()
        .remove(0);
    let replay = run_expecting(
        &inner_config,
        &["--json", "replay", archived.to_str().unwrap()],
        3,
    );
    assert_eq!(json(&replay)["result"], "duplicate");

    let status = sluice_transfer(&inner_config, &["--json", "status"]);
    assert_eq!(code(&status), 0);
    let status = json(&status);
    assert_eq!(status["inner"]["channels"][0]["highest_contiguous"], 1);
    assert_eq!(status["quarantine"][0]["file"], "garbage.bundle");
    let status = json(&sluice_transfer(&outer_config, &["--json", "status"]));
    assert_eq!(status["outer"]["pending_versions"], 0);
    assert_eq!(
        status["outer"]["unacknowledged"].as_array().unwrap().len(),
        0
    );

    // With nothing pending, export writes a heartbeat and says there was nothing to do.
    let heartbeat = sluice_transfer(&outer_config, &["--json", "export"]);
    assert_eq!(code(&heartbeat), 3);
    assert_eq!(json(&heartbeat)["written"][0]["kind"], "heartbeat");
    node.stop().unwrap();
}

#[test]
fn publish_keyset_sends_the_next_version_that_import_installs_and_status_inspect_verify_show() {
    use keys::{KeyEntry, KeysetFile, Role, SecretKey};

    let now = demo::now();
    let (dir, keys, database) = scratch_keys_and_database(now);
    let outer_config = write_outer_config(dir.path(), &keys);
    let keyset_dir = format!(
        "keyset_dir = {}\n",
        toml_path(&dir.path().join("inner-keysets"))
    );
    let inner_config = write_inner_config(dir.path(), &keys, &database, &keyset_dir);

    // Version 2: a second outer-bundle key for channel 1, signed by the root key.
    let keyset_1 = keys.load_keyset(now).unwrap();
    let new_key = SecretKey::generate();
    let mut next = keyset_1.document().next_version();
    next.add_key(KeyEntry {
        public_key: new_key.public_key(),
        role: Role::OuterBundle,
        channels: vec![keys::ChannelId(1)],
        not_before: now - 60,
        not_after: now + 3600,
        revoked_at: None,
    })
    .unwrap();
    let mut file = KeysetFile::unsigned(next);
    file.sign(&SecretKey::read_file(&keys.root, None).unwrap())
        .unwrap();
    let keyset_2 = dir.path().join("keyset-2.txt");
    std::fs::write(&keyset_2, file.to_bytes()).unwrap();
    // A draft nobody signed is refused before anything is written.
    let unsigned = dir.path().join("unsigned.txt");
    std::fs::write(
        &unsigned,
        KeysetFile::unsigned(file.document().clone()).to_bytes(),
    )
    .unwrap();
    let refused = sluice_transfer(
        &outer_config,
        &["publish-keyset", unsigned.to_str().unwrap()],
    );
    assert_eq!(code(&refused), 1);
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("keyset.threshold-not-met"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );

    let published = run_expecting(
        &outer_config,
        &["--json", "publish-keyset", keyset_2.to_str().unwrap()],
        0,
    );
    let published = json(&published);
    assert_eq!(published["keyset"]["version"], 2);
    assert_eq!(published["bundle"]["kind"], "keyset");
    assert!(
        dir.path()
            .join("outer-spool/keysets/keyset-2.txt")
            .is_file()
    );

    let bundle = dir
        .path()
        .join("outer-spool/outbox")
        .join(published["bundle"]["file"].as_str().unwrap());
    let inspect = sluice_transfer(&outer_config, &["inspect", bundle.to_str().unwrap()]);
    let shown = String::from_utf8_lossy(&inspect.stdout);
    assert!(
        shown.contains("keyset:      version 2, threshold 1, 5 key(s)"),
        "{shown}"
    );
    assert!(
        shown.contains(&new_key.public_key().key_id().to_string()),
        "{shown}"
    );
    let inspect = json(&sluice_transfer(
        &outer_config,
        &["--json", "inspect", bundle.to_str().unwrap()],
    ));
    assert_eq!(inspect["keyset"]["version"], 2);
    // The inner host has version 1 only: verify says what importing the bundle would do.
    let verify = sluice_transfer(&inner_config, &["verify", bundle.to_str().unwrap()]);
    assert_eq!(code(&verify), 0);
    let shown = String::from_utf8_lossy(&verify.stdout);
    assert!(
        shown.contains("keyset version 2, threshold 1, 5 key(s)"),
        "{shown}"
    );
    assert!(shown.contains("here: next version"), "{shown}");
    let verify = json(&sluice_transfer(
        &outer_config,
        &["--json", "verify", bundle.to_str().unwrap()],
    ));
    assert!(
        verify["files"][0]["keyset_judgement"]
            .as_str()
            .unwrap()
            .contains("trusted already"),
        "{verify}"
    );

    let inner_inbox = dir.path().join("inner-spool/inbox");
    std::fs::create_dir_all(&inner_inbox).unwrap();
    std::fs::copy(&bundle, inner_inbox.join(bundle.file_name().unwrap())).unwrap();
    let import = run_expecting(&inner_config, &["import"], 0);
    assert!(
        String::from_utf8_lossy(&import.stdout).contains("keyset version 2 installed (was 1"),
        "{}",
        String::from_utf8_lossy(&import.stdout)
    );
    let audit = String::from_utf8_lossy(&import.stderr);
    assert!(audit.contains("keyset.installed"), "{audit}");
    assert!(dir.path().join("inner-keysets/keyset-2.txt").is_file());

    for (config, side) in [(&inner_config, "inner"), (&outer_config, "outer")] {
        let status = json(&sluice_transfer(config, &["--json", "status"]));
        assert_eq!(status["keyset"]["trusted_version"], 2, "{status}");
        assert_eq!(
            status[side]["keysets_installed"][0]["version"], 2,
            "{status}"
        );
    }
}
