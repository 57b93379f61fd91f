//! The binary as operators and their systemd units call it: configuration files, exit codes,
//! JSON summaries, and what `inspect` will and will not print.

use std::path::Path;
use std::process::{Command, Output};

use transfer::demo::{self, OuterNode, new_filing};

fn sluice_transfer(config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sluice-transfer"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("run sluice-transfer")
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

fn toml_path(path: &Path) -> String {
    format!("{:?}", path.display().to_string())
}

#[test]
fn help_documents_every_exit_code() {
    let output = Command::new(env!("CARGO_BIN_EXE_sluice-transfer"))
        .arg("--help")
        .output()
        .unwrap();
    assert_eq!(code(&output), 0);
    let help = String::from_utf8_lossy(&output.stdout);
    for line in [
        "0  done",
        "1  failed",
        "3  nothing to do",
        "4  quarantined at least one bundle",
    ] {
        assert!(help.contains(line), "{help}");
    }
    for command in [
        "export", "import", "return", "apply", "replay", "status", "carry", "verify", "inspect",
        "demo",
    ] {
        assert!(
            help.contains(&format!("  {command} ")),
            "{command} missing from {help}"
        );
    }
}

#[test]
fn a_missing_setting_fails_with_its_flag_named() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("transfer.toml");
    std::fs::write(&config, "spool_dir = \"spool\"\n").unwrap();
    let output = sluice_transfer(&config, &["export"]);
    assert_eq!(code(&output), 1);
    assert!(String::from_utf8_lossy(&output.stderr).contains("--outer-database"));
}

#[test]
fn the_scheduled_commands_run_a_round_trip_from_configuration_files() {
    let dir = tempfile::tempdir().unwrap();
    let now = demo::now();
    let keys = demo::generate_keys(&dir.path().join("keys"), &[1], 100, now).unwrap();
    let database = inner::testing::TestDatabase::new().unwrap();
    let outer_db = dir.path().join("outer.sqlite");
    let node = OuterNode::start(&outer_db).unwrap();
    let receipt = node.submit(&new_filing(1, "企业展示网站")).unwrap();

    let outer_config = dir.path().join("outer.toml");
    std::fs::write(
        &outer_config,
        format!(
            "spool_dir = {}\nsigning_key = {}\nkeyset = [{}]\nouter_database = {}\nchannel = 1\nreturn_channel = 100\n",
            toml_path(&dir.path().join("outer-spool")),
            toml_path(keys.outer_key(keys::ChannelId(1)).unwrap()),
            toml_path(&keys.keyset),
            toml_path(&outer_db),
        ),
    )
    .unwrap();
    let inner_config = dir.path().join("inner.toml");
    std::fs::write(
        &inner_config,
        format!(
            "spool_dir = {}\nsigning_key = {}\nkeyset = [{}]\ninner_database_url = {:?}\naccept_channels = [1]\nreturn_channel = 100\n",
            toml_path(&dir.path().join("inner-spool")),
            toml_path(&keys.inner_return),
            toml_path(&keys.keyset),
            database.connection_string(),
        ),
    )
    .unwrap();
    let outer_spool = transfer::spool::Spool::under(&dir.path().join("outer-spool"));
    let inner_spool = transfer::spool::Spool::under(&dir.path().join("inner-spool"));

    // Nothing has arrived yet: import says so with its own exit code.
    assert_eq!(code(&sluice_transfer(&inner_config, &["import"])), 3);

    let export = sluice_transfer(&outer_config, &["--json", "export"]);
    assert_eq!(
        code(&export),
        0,
        "{}",
        String::from_utf8_lossy(&export.stderr)
    );
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

    let medium = dir.path().join("medium");
    std::fs::create_dir_all(&medium).unwrap();
    let carry = |from: &Path, to: &Path| {
        let output = sluice_transfer(
            &outer_config,
            &[
                "carry",
                "--from",
                from.to_str().unwrap(),
                "--to",
                to.to_str().unwrap(),
            ],
        );
        assert_eq!(
            code(&output),
            0,
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    carry(&outer_spool.outbox, &medium);
    carry(&medium, &inner_spool.inbox);
    // A file that is not a bundle at all arrives too.
    std::fs::write(inner_spool.inbox.join("garbage.bundle"), b"not a bundle").unwrap();
    let import = sluice_transfer(&inner_config, &["--json", "import"]);
    assert_eq!(
        code(&import),
        4,
        "{}",
        String::from_utf8_lossy(&import.stderr)
    );
    let files = json(&import)["files"].as_array().unwrap().clone();
    assert_eq!(files.len(), 2);
    assert!(files.iter().any(|f| f["result"] == "applied"));
    assert!(
        files
            .iter()
            .any(|f| f["result"] == "quarantined" && f["file"] == "garbage.bundle")
    );

    let ret = sluice_transfer(&inner_config, &["--json", "return"]);
    assert_eq!(code(&ret), 0, "{}", String::from_utf8_lossy(&ret.stderr));
    assert_eq!(json(&ret)["acks"], 1);
    assert_eq!(
        code(&sluice_transfer(&inner_config, &["return"])),
        3,
        "nothing new to return"
    );
    carry(&inner_spool.outbox, &medium);
    carry(&medium, &outer_spool.inbox);
    let apply = sluice_transfer(&outer_config, &["--json", "apply"]);
    assert_eq!(
        code(&apply),
        0,
        "{}",
        String::from_utf8_lossy(&apply.stderr)
    );
    assert_eq!(json(&apply)["files"][0]["payloads_deleted"], 1);
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
    let replay = sluice_transfer(
        &inner_config,
        &["--json", "replay", archived.to_str().unwrap()],
    );
    assert_eq!(
        code(&replay),
        3,
        "{}",
        String::from_utf8_lossy(&replay.stderr)
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
