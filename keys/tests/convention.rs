//! `sluice-keys` keeps the command-line convention all four Sluice tools share (`keys::exit`):
//! its `--help` ends with the one exit-code table, `--json` prints one JSON object per run, and a
//! stdout closed before anything is written ends the run quietly with its usual code. The other
//! three binaries have the same tests against the same `keys::exit::HELP`, through `testkit::cli`.

use testkit::cli::Tool;

const KEYS: Tool = Tool::new(env!("CARGO_BIN_EXE_sluice-keys"));

#[test]
fn a_closed_stdout_ends_every_kind_of_output_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    KEYS.assert_quiet_with_stdout_closed(
        &[(&["generate", "--role", "root", "--out", "root"], 0)],
        d,
    );
    // The work was done although nobody read the report.
    assert!(d.join("root.sec").is_file() && d.join("root.pub").is_file());
    KEYS.assert_quiet_with_stdout_closed(
        &[
            (&["show", "root.pub"], 0),
            (&["--json", "show", "root.pub"], 0),
            (&["export", "--openssl", "root.pub"], 0),
            (&["--help"], 0),
        ],
        d,
    );
    // A failure still says so on stderr, with its own code.
    KEYS.assert_fails_with_stdout_closed(&["show", "root.sec"], d, 5);
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
        KEYS.json_object(args, d);
    }
    let exported = KEYS.json_object(&["--json", "export", "--openssl", "root.pub"], d);
    assert_eq!(
        exported["pem"].as_str().unwrap(),
        std::fs::read_to_string(d.join("root.pem")).unwrap()
    );
}

#[test]
fn help_ends_with_the_shared_exit_code_table() {
    KEYS.assert_help_ends_with_the_exit_code_table();
}
