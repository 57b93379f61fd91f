//! `sluice-outer` as an administrator sees it, pinned by trycmd snapshots in `tests/cmd/`: help
//! text, error text and exit codes, one `.toml` case per command line (output in the `.stdout`
//! and `.stderr` beside it; a `.in/` directory is the case's starting directory, copied into a
//! sandbox). None of the cases needs a running service or an existing database.
//!
//! After an intended change of the command line, rewrite the snapshots with
//! `TRYCMD=overwrite cargo test -p outer --test cli_snapshots` and review the diff.

#[test]
fn cli_snapshots() {
    // Each case clears the environment, SLUICE_OUTER_* included.
    testkit::cli::snapshots(env!("CARGO_BIN_EXE_sluice-outer"), &["tests/cmd/*.toml"]);
}
