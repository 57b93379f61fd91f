//! `sluice-outer` keeps the command-line convention all four Sluice tools share (`keys::exit`):
//! its `--help` ends with the one exit-code table, `--json` prints one JSON object per run, and a
//! stdout closed before anything is written ends the run quietly with its usual code. The other
//! three binaries have the same tests against the same `keys::exit::HELP`.

use std::path::Path;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_sluice-outer");

/// `sluice-outer` with nothing from the environment that could point it at a real store.
fn command(args: &[&str], dir: &Path) -> Command {
    let mut command = Command::new(BIN);
    command.args(args).current_dir(dir).env_clear();
    command
}

/// Runs `sluice-outer` with its stdout a pipe whose reading end is already closed, so the first
/// write to it fails with a broken pipe (the reader of `| head -1` gone).
fn run_with_stdout_closed(args: &[&str], dir: &Path) -> Output {
    let (reader, writer) = std::io::pipe().expect("make a pipe");
    drop(reader);
    command(args, dir)
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .output()
        .expect("run sluice-outer")
}

fn run(args: &[&str], dir: &Path) -> Output {
    command(args, dir).output().expect("run sluice-outer")
}

#[test]
fn help_ends_with_the_shared_exit_code_table() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(&["--help"], dir.path());
    assert_eq!(output.status.code(), Some(0));
    let help = String::from_utf8(output.stdout).unwrap();
    assert!(
        help.trim_end().ends_with(keys::exit::HELP),
        "sluice-outer --help does not end with keys::exit::HELP:\n{help}"
    );
}

#[test]
fn a_closed_stdout_ends_the_run_quietly_with_its_usual_code() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("outer.toml"),
        "database = \"outer.db\"\nlisten = \"127.0.0.1:0\"\n",
    )
    .unwrap();
    let db = ["--database", "outer.db"];
    for args in [
        &["check-config", "outer.toml"][..],
        &["--json", "check-config", "outer.toml"],
        &[
            "accounts",
            "add",
            db[0],
            db[1],
            "甲接入商",
            "--kind",
            "access-provider",
        ],
        &["accounts", "list", db[0], db[1]],
        &["accounts", "list", db[0], db[1], "--json"],
        &["--help"],
    ] {
        let output = run_with_stdout_closed(args, d);
        assert_eq!(
            (
                output.status.code(),
                String::from_utf8_lossy(&output.stderr)
            ),
            (Some(0), "".into()),
            "sluice-outer {args:?}"
        );
    }
    // The account was added although nobody read the report.
    let listed = run(&["accounts", "list", db[0], db[1]], d);
    assert_eq!(
        String::from_utf8_lossy(&listed.stdout),
        "甲接入商\taccess_provider\tenabled\n"
    );
    let failed = run_with_stdout_closed(&["check-config", "missing.toml"], d);
    assert_eq!(failed.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&failed.stderr).starts_with("error: "));
}

#[test]
fn json_output_is_one_object_per_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("outer.toml"),
        "database = \"outer.db\"\nlisten = \"127.0.0.1:0\"\n",
    )
    .unwrap();
    let db = ["--database", "outer.db"];
    for args in [
        &["--json", "check-config", "outer.toml"][..],
        &[
            "--json",
            "accounts",
            "add",
            db[0],
            db[1],
            "乙站长",
            "--kind",
            "website-owner",
        ],
        &["--json", "accounts", "list", db[0], db[1]],
        &["--json", "accounts", "disable", db[0], db[1], "乙站长"],
        &["--json", "accounts", "enable", db[0], db[1], "乙站长"],
        &["--json", "tokens", "issue", db[0], db[1], "乙站长"],
        &["--json", "tokens", "revoke", db[0], db[1], "1"],
    ] {
        let output = run(args, d);
        assert_eq!(
            output.status.code(),
            Some(0),
            "sluice-outer {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let text = String::from_utf8(output.stdout).unwrap();
        assert_eq!(text.lines().count(), 1, "sluice-outer {args:?}: {text}");
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert!(value.is_object(), "sluice-outer {args:?}: {text}");
    }
    let listed: serde_json::Value =
        serde_json::from_slice(&run(&["--json", "accounts", "list", db[0], db[1]], d).stdout)
            .unwrap();
    assert_eq!(listed["accounts"][0]["name"], "乙站长");
    assert_eq!(listed["accounts"][0]["disabled"], false);
}
