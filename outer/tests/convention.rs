//! `sluice-outer` keeps the command-line convention all four Sluice tools share (`keys::exit`):
//! its `--help` ends with the one exit-code table, `--json` prints one JSON object per run, and a
//! stdout closed before anything is written ends the run quietly with its usual code. The other
//! three binaries have the same tests against the same `keys::exit::HELP`, through `testkit::cli`.

use testkit::cli::Tool;

const OUTER: Tool = Tool::new(env!("CARGO_BIN_EXE_sluice-outer"));

/// A scratch directory holding `outer.toml` for a store `outer.db` beside it.
fn scratch_with_config() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("outer.toml"),
        "database = \"outer.db\"\nlisten = \"127.0.0.1:0\"\n",
    )
    .unwrap();
    dir
}

#[test]
fn a_closed_stdout_ends_the_run_quietly_with_its_usual_code() {
    let dir = scratch_with_config();
    let d = dir.path();
    let db = ["--database", "outer.db"];
    OUTER.assert_quiet_with_stdout_closed(
        &[
            (&["check-config", "outer.toml"], 0),
            (&["--json", "check-config", "outer.toml"], 0),
            (
                &[
                    "accounts",
                    "add",
                    db[0],
                    db[1],
                    "甲接入商",
                    "--kind",
                    "access-provider",
                ],
                0,
            ),
            (&["accounts", "list", db[0], db[1]], 0),
            (&["accounts", "list", db[0], db[1], "--json"], 0),
            (&["--help"], 0),
        ],
        d,
    );
    // The account was added although nobody read the report.
    let listed = OUTER.run(&["accounts", "list", db[0], db[1]], d);
    assert_eq!(
        String::from_utf8_lossy(&listed.stdout),
        "甲接入商\taccess_provider\tenabled\n"
    );
    OUTER.assert_fails_with_stdout_closed(&["check-config", "missing.toml"], d, 1);
}

#[test]
fn json_output_is_one_object_per_run() {
    let dir = scratch_with_config();
    let d = dir.path();
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
        OUTER.json_object(args, d);
    }
    let listed = OUTER.json_object(&["--json", "accounts", "list", db[0], db[1]], d);
    assert_eq!(listed["accounts"][0]["name"], "乙站长");
    assert_eq!(listed["accounts"][0]["disabled"], false);
}

#[test]
fn help_ends_with_the_shared_exit_code_table() {
    OUTER.assert_help_ends_with_the_exit_code_table();
}
