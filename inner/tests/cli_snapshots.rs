//! `sluice-inner` as an operator or reviewer sees it, pinned by trycmd snapshots in
//! `tests/cmd/`: help text, error text and exit codes, one `.toml` case per command line (output
//! in the `.stdout` and `.stderr` beside it). None of the cases reaches a database; the commands
//! that need one are tested against a real PostgreSQL in `cli.rs`.
//!
//! After an intended change of the command line, rewrite the snapshots with
//! `TRYCMD=overwrite cargo test -p inner --test cli_snapshots` and review the diff.

#[test]
fn cli_snapshots() {
    // Each case clears the environment, SLUICE_DATABASE_URL and SLUICE_CERT_KEY included.
    testkit::cli::snapshots(env!("CARGO_BIN_EXE_sluice-inner"), &["tests/cmd/*.toml"]);
}
