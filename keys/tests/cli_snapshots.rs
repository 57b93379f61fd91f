//! `sluice-keys` as a user sees it, pinned by trycmd snapshots in `tests/cmd/`: help text, error
//! text and exit codes, one `.toml` case per command line (output in the `.stdout` and
//! `.stderr` beside it), and `new-keys-and-keyset.md`, a whole run from an empty directory.
//!
//! After an intended change of the command line, rewrite the snapshots with
//! `TRYCMD=overwrite cargo test -p keys --test cli_snapshots` and review the diff; keep the
//! `[..]` that stand for key ids, fingerprints and key material.

#[test]
fn cli_snapshots() {
    // The `.toml` cases clear the environment.
    testkit::cli::snapshots(
        env!("CARGO_BIN_EXE_sluice-keys"),
        &["tests/cmd/*.toml", "tests/cmd/*.md"],
    );
}
