//! `sluice-inner` as an operator or reviewer sees it, pinned by trycmd snapshots in
//! `tests/cmd/`: help text, error text and exit codes, one `.toml` case per command line (output
//! in the `.stdout` and `.stderr` beside it). None of the cases reaches a database; the commands
//! that need one are tested against a real PostgreSQL in `cli.rs`.
//!
//! After an intended change of the command line, rewrite the snapshots with
//! `TRYCMD=overwrite cargo test -p inner --test cli_snapshots` and review the diff.

#[test]
fn cli_snapshots() {
    trycmd::TestCases::new()
        .register_bin(
            "sluice-inner",
            std::path::PathBuf::from(env!("CARGO_BIN_EXE_sluice-inner")),
        )
        .default_bin_name("sluice-inner")
        // clap wraps help text to the terminal's width; this fixes it (each case also clears the
        // rest of the environment, SLUICE_DATABASE_URL and SLUICE_CERT_KEY included).
        .env("COLUMNS", "100")
        .case("tests/cmd/*.toml");
}
