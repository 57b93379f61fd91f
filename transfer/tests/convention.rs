//! `sluice-transfer` keeps the command-line convention all four Sluice tools share (`keys::exit`):
//! its `--help` ends with the one exit-code table, `--json` prints one JSON object per run, and a
//! stdout closed before anything is written ends the run quietly with its usual code. The other
//! three binaries have the same tests against the same `keys::exit::HELP`.

use std::path::Path;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_sluice-transfer");

/// `sluice-transfer` with nothing from the environment that could point it at a real host.
fn command(args: &[&str], dir: &Path) -> Command {
    let mut command = Command::new(BIN);
    command.args(args).current_dir(dir).env_clear();
    command
}

/// Runs `sluice-transfer` with its stdout a pipe whose reading end is already closed, so the
/// first write to it fails with a broken pipe (the reader of `| head -1` gone).
fn run_with_stdout_closed(args: &[&str], dir: &Path) -> Output {
    let (reader, writer) = std::io::pipe().expect("make a pipe");
    drop(reader);
    command(args, dir)
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .output()
        .expect("run sluice-transfer")
}

fn run(args: &[&str], dir: &Path) -> Output {
    command(args, dir).output().expect("run sluice-transfer")
}

#[test]
fn help_ends_with_the_shared_exit_code_table() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(&["--help"], dir.path());
    assert_eq!(output.status.code(), Some(0));
    let help = String::from_utf8(output.stdout).unwrap();
    assert!(
        help.trim_end().ends_with(keys::exit::HELP),
        "sluice-transfer --help does not end with keys::exit::HELP:\n{help}"
    );
}

#[test]
fn a_closed_stdout_ends_the_run_quietly_with_its_usual_code() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("outbox")).unwrap();
    std::fs::create_dir(d.join("medium")).unwrap();
    for (args, code) in [
        (&["status"][..], 0),
        (&["--json", "status"], 0),
        // Nothing to carry is exit 3 whether or not anyone reads the report.
        (&["carry", "--from", "outbox", "--to", "medium"], 3),
        (
            &["--json", "carry", "--from", "outbox", "--to", "medium"],
            3,
        ),
        (&["--help"], 0),
    ] {
        let output = run_with_stdout_closed(args, d);
        assert_eq!(
            (
                output.status.code(),
                String::from_utf8_lossy(&output.stderr)
            ),
            (Some(code), "".into()),
            "sluice-transfer {args:?}"
        );
    }
    let failed = run_with_stdout_closed(&["carry", "--from", "missing", "--to", "medium"], d);
    assert_eq!(failed.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&failed.stderr).starts_with("error: "));
}

#[test]
fn json_output_is_one_object_per_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("outbox")).unwrap();
    std::fs::create_dir(d.join("medium")).unwrap();
    for args in [
        &["--json", "status"][..],
        &["--json", "carry", "--from", "outbox", "--to", "medium"],
    ] {
        let output = run(args, d);
        let text = String::from_utf8(output.stdout).unwrap();
        assert_eq!(text.lines().count(), 1, "sluice-transfer {args:?}: {text}");
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert!(value.is_object(), "sluice-transfer {args:?}: {text}");
    }
}
