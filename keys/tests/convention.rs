//! `sluice-keys` keeps the command-line convention all four Sluice tools share (`keys::exit`):
//! its `--help` ends with the one exit-code table, `--json` prints one JSON object per run, and a
//! stdout closed before anything is written ends the run quietly with its usual code. The other
//! three binaries have the same tests against the same `keys::exit::HELP`.

use std::path::Path;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_sluice-keys");

/// Runs `sluice-keys` with its stdout a pipe whose reading end is already closed, so the first
/// write to it fails with a broken pipe (the reader of `| head -1` gone).
fn run_with_stdout_closed(args: &[&str], dir: &Path) -> Output {
    let (reader, writer) = std::io::pipe().expect("make a pipe");
    drop(reader);
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .output()
        .expect("run sluice-keys")
}

fn run(args: &[&str], dir: &Path) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run sluice-keys")
}

#[test]
fn help_ends_with_the_shared_exit_code_table() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(&["--help"], dir.path());
    assert_eq!(output.status.code(), Some(0));
    let help = String::from_utf8(output.stdout).unwrap();
    assert!(
        help.trim_end().ends_with(keys::exit::HELP),
        "sluice-keys --help does not end with keys::exit::HELP:\n{help}"
    );
}

#[test]
fn a_closed_stdout_ends_every_kind_of_output_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let generated = run_with_stdout_closed(&["generate", "--role", "root", "--out", "root"], d);
    assert_eq!(
        (
            generated.status.code(),
            String::from_utf8_lossy(&generated.stderr)
        ),
        (Some(0), "".into())
    );
    // The work was done although nobody read the report.
    assert!(d.join("root.sec").is_file() && d.join("root.pub").is_file());
    for args in [
        &["show", "root.pub"][..],
        &["--json", "show", "root.pub"],
        &["export", "--openssl", "root.pub"],
        &["--help"],
    ] {
        let output = run_with_stdout_closed(args, d);
        assert_eq!(
            (
                output.status.code(),
                String::from_utf8_lossy(&output.stderr)
            ),
            (Some(0), "".into()),
            "sluice-keys {args:?}"
        );
    }
    // A failure still says so on stderr, with its own code.
    let refused = run_with_stdout_closed(&["show", "root.sec"], d);
    assert_eq!(refused.status.code(), Some(5));
    assert!(String::from_utf8_lossy(&refused.stderr).starts_with("error: "));
}

#[test]
fn json_output_is_one_object_per_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for args in [
        &["--json", "generate", "--role", "root", "--out", "root"][..],
        &["--json", "show", "root.pub"],
        &["--json", "export", "--openssl", "root.pub"],
        &[
            "--json",
            "export",
            "--openssl",
            "root.pub",
            "--out",
            "root.pem",
        ],
        &[
            "--json",
            "keyset",
            "init",
            "--root",
            "root.pub",
            "--threshold",
            "1",
            "--not-after",
            "2099-01-01T00:00:00Z",
            "--out",
            "keyset-1",
        ],
        &[
            "--json",
            "keyset",
            "sign",
            "keyset-1",
            "--secret-key",
            "root.sec",
        ],
        &["--json", "keyset", "verify", "keyset-1"],
    ] {
        let output = run(args, d);
        assert_eq!(output.status.code(), Some(0), "sluice-keys {args:?}");
        let text = String::from_utf8(output.stdout).unwrap();
        assert_eq!(text.lines().count(), 1, "sluice-keys {args:?}: {text}");
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert!(value.is_object(), "sluice-keys {args:?}: {text}");
    }
    let exported: serde_json::Value =
        serde_json::from_slice(&run(&["--json", "export", "--openssl", "root.pub"], d).stdout)
            .unwrap();
    assert_eq!(
        exported["pem"].as_str().unwrap(),
        std::fs::read_to_string(d.join("root.pem")).unwrap()
    );
}
