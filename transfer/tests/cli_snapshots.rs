//! `sluice-transfer` as operators and their systemd units see it, pinned by trycmd snapshots in
//! `tests/cmd/`: help text, error text and exit codes, one `.toml` case per command line
//! (output in the `.stdout` and `.stderr` beside it; a `.in/` directory is the case's starting
//! directory, copied into a sandbox). None of the cases needs a database: they cover usage
//! errors, missing files and settings, and `carry` with nothing to carry (exit 3).
//!
//! After an intended change of the command line, rewrite the snapshots with
//! `TRYCMD=overwrite cargo test -p transfer --test cli_snapshots` and review the diff.

#[test]
fn cli_snapshots() {
    // Each case clears the environment: the SLUICE_* settings, and RUST_LOG for the audit lines.
    testkit::cli::snapshots(env!("CARGO_BIN_EXE_sluice-transfer"), &["tests/cmd/*.toml"]);
}
