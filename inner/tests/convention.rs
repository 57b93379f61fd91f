//! `sluice-inner` keeps the command-line convention all four Sluice tools share (`keys::exit`):
//! its `--help` ends with the one exit-code table, and a stdout closed early does not turn help
//! or an error into a panic. The cases that need a database (a closed stdout during a real
//! command, `--json` objects) are in `cli.rs`. The other three binaries have the same tests
//! against the same `keys::exit::HELP`.

use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_sluice-inner");

fn run(args: &[&str], stdout: Stdio) -> Output {
    Command::new(BIN)
        .args(args)
        .env_clear()
        .stdout(stdout)
        .stderr(Stdio::piped())
        .output()
        .expect("run sluice-inner")
}

#[test]
fn help_ends_with_the_shared_exit_code_table() {
    let output = run(&["--help"], Stdio::piped());
    assert_eq!(output.status.code(), Some(0));
    let help = String::from_utf8(output.stdout).unwrap();
    assert!(
        help.trim_end().ends_with(keys::exit::HELP),
        "sluice-inner --help does not end with keys::exit::HELP:\n{help}"
    );
}

#[test]
fn a_closed_stdout_gives_a_clean_exit() {
    let closed = || {
        let (reader, writer) = std::io::pipe().expect("make a pipe");
        drop(reader);
        Stdio::from(writer)
    };
    let help = run(&["--help"], closed());
    assert_eq!(
        (help.status.code(), String::from_utf8_lossy(&help.stderr)),
        (Some(0), "".into())
    );
    let failed = run(&["review", "list"], closed());
    assert_eq!(failed.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&failed.stderr),
        "error: no database given: pass --database-url or set SLUICE_DATABASE_URL\n"
    );
}
