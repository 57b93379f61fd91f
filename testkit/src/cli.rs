//! Running one of the four Sluice binaries the way the command-line convention tests need:
//! with nothing from the environment but `PATH`, in a scratch directory, with its stdout read or
//! already closed (the reader of `| head -1` gone), and checking what the convention promises.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A Sluice binary under test, by the path cargo gives (`env!("CARGO_BIN_EXE_sluice-outer")`).
#[derive(Clone, Copy, Debug)]
pub struct Tool {
    /// The executable.
    pub bin: &'static str,
}

impl Tool {
    /// The binary at `bin`.
    pub const fn new(bin: &'static str) -> Tool {
        Tool { bin }
    }

    /// Its name, for messages (`sluice-outer`).
    pub fn name(&self) -> &str {
        Path::new(self.bin)
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or(self.bin)
    }

    /// The command `ARGS` in `dir`, with no setting from the environment that could point it
    /// at a real store or host (only `PATH`, for the tools it may call).
    pub fn command(&self, args: &[&str], dir: &Path) -> Command {
        let mut command = Command::new(self.bin);
        command.args(args).current_dir(dir).env_clear();
        if let Some(path) = std::env::var_os("PATH") {
            command.env("PATH", path);
        }
        command
    }

    /// Runs `ARGS` in `dir` and returns what it printed.
    pub fn run(&self, args: &[&str], dir: &Path) -> Output {
        self.command(args, dir)
            .output()
            .unwrap_or_else(|e| panic!("run {}: {e}", self.name()))
    }

    /// Runs `ARGS` in `dir` with its stdout a pipe whose reading end is already closed, so the
    /// first write to it fails with a broken pipe.
    pub fn run_with_stdout_closed(&self, args: &[&str], dir: &Path) -> Output {
        with_stdout_closed(self.command(args, dir))
    }

    /// `--help` succeeds and ends with the exit-code table all four binaries share.
    pub fn assert_help_ends_with_the_exit_code_table(&self) {
        let dir = tempfile::tempdir().expect("a scratch directory");
        let output = self.run(&["--help"], dir.path());
        assert_eq!(output.status.code(), Some(0), "{} --help", self.name());
        let help = String::from_utf8(output.stdout).expect("help is UTF-8");
        assert!(
            help.trim_end().ends_with(keys::exit::HELP),
            "{} --help does not end with keys::exit::HELP:\n{help}",
            self.name()
        );
    }

    /// Each of `runs` (arguments and the exit code expected) ends with that code and prints
    /// nothing on stderr although its stdout is closed.
    pub fn assert_quiet_with_stdout_closed(&self, runs: &[(&[&str], i32)], dir: &Path) {
        for (args, code) in runs {
            let output = self.run_with_stdout_closed(args, dir);
            assert_eq!(
                (
                    output.status.code(),
                    String::from_utf8_lossy(&output.stderr)
                ),
                (Some(*code), "".into()),
                "{} {args:?}",
                self.name()
            );
        }
    }

    /// `ARGS` fails with `code` and says so on stderr in the shared shape, although its stdout
    /// is closed.
    pub fn assert_fails_with_stdout_closed(&self, args: &[&str], dir: &Path, code: i32) {
        let output = self.run_with_stdout_closed(args, dir);
        assert_eq!(output.status.code(), Some(code), "{} {args:?}", self.name());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.starts_with("error: "),
            "{} {args:?}: {stderr}",
            self.name()
        );
    }

    /// `ARGS` succeeds and prints exactly one line holding one JSON object, which it returns.
    pub fn json_object(&self, args: &[&str], dir: &Path) -> serde_json::Value {
        let output = self.run(args, dir);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{} {args:?}: {}",
            self.name(),
            String::from_utf8_lossy(&output.stderr)
        );
        let text = String::from_utf8(output.stdout).expect("JSON is UTF-8");
        assert_eq!(text.lines().count(), 1, "{} {args:?}: {text}", self.name());
        let value: serde_json::Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{} {args:?}: {e}: {text}", self.name()));
        assert!(value.is_object(), "{} {args:?}: {text}", self.name());
        value
    }
}

/// Runs the trycmd snapshot cases matching each of `cases` (globs relative to the crate, such as
/// `tests/cmd/*.toml`) against the binary at `bin`, under its own name. clap wraps help text to
/// the terminal's width, so `COLUMNS` is fixed at 100; each case clears the rest of the
/// environment itself.
pub fn snapshots(bin: &'static str, cases: &[&str]) {
    let tool = Tool::new(bin);
    let snapshots = trycmd::TestCases::new();
    snapshots
        .register_bin(tool.name(), PathBuf::from(bin))
        .default_bin_name(tool.name())
        .env("COLUMNS", "100");
    for case in cases {
        snapshots.case(case);
    }
}

/// Fails the test unless a run of a Sluice binary ended done (exit 0) or with nothing to do
/// (exit 3), showing `what` and its stderr.
pub fn assert_done_or_nothing_to_do(output: &Output, what: &str) {
    assert!(
        matches!(output.status.code(), Some(0 | 3)),
        "{what} ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Runs `command` with its stdout a pipe whose reading end is already closed.
pub fn with_stdout_closed(mut command: Command) -> Output {
    let (reader, writer) = std::io::pipe().expect("make a pipe");
    drop(reader);
    command
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .output()
        .expect("run the command")
}
