//! `sluice-inner` keeps the command-line convention all four Sluice tools share (`keys::exit`):
//! its `--help` ends with the one exit-code table, and a stdout closed early does not turn help
//! or an error into a panic. The cases that need a database (a closed stdout during a real
//! command, `--json` objects) are in `cli.rs`. The other three binaries have the same tests
//! against the same `keys::exit::HELP`, through `testkit::cli`.

use testkit::cli::Tool;

const INNER: Tool = Tool::new(env!("CARGO_BIN_EXE_sluice-inner"));

#[test]
fn a_closed_stdout_gives_a_clean_exit() {
    let dir = tempfile::tempdir().unwrap();
    INNER.assert_quiet_with_stdout_closed(&[(&["--help"], 0)], dir.path());
    let failed = INNER.run_with_stdout_closed(&["review", "list"], dir.path());
    assert_eq!(failed.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&failed.stderr),
        "error: no database given: pass --database-url or set SLUICE_DATABASE_URL\n"
    );
}

#[test]
fn help_ends_with_the_shared_exit_code_table() {
    INNER.assert_help_ends_with_the_exit_code_table();
}
