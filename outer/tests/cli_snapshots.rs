//! `sluice-outer` as an administrator sees it, pinned by trycmd snapshots in `tests/cmd/`: help
//! text, error text and exit codes, one `.toml` case per command line (output in the `.stdout`
//! and `.stderr` beside it; a `.in/` directory is the case's starting directory, copied into a
//! sandbox). None of the cases needs a running service or an existing database.
//!
//! After an intended change of the command line, rewrite the snapshots with
//! `TRYCMD=overwrite cargo test -p outer --test cli_snapshots` and review the diff.

#[test]
fn cli_snapshots() {
    trycmd::TestCases::new()
        .register_bin(
            "sluice-outer",
            std::path::PathBuf::from(env!("CARGO_BIN_EXE_sluice-outer")),
        )
        .default_bin_name("sluice-outer")
        // clap wraps help text to the terminal's width; this fixes it (each case also clears the
        // rest of the environment, SLUICE_OUTER_* included).
        .env("COLUMNS", "100")
        .case("tests/cmd/*.toml");
}
