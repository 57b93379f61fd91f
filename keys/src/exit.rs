//! How every Sluice command-line tool ends a run, written once for all four (`sluice-keys`,
//! `sluice-outer`, `sluice-inner`, `sluice-transfer`): the exit-code table and the `--help` text
//! that shows it, the error types a command returns to pick a code, the shape of the error lines
//! on stderr, and a stdout that a closed pipe (`sluice-transfer status | head -1`) cannot turn
//! into a panic.
//!
//! `keys` is the lowest crate all four binaries depend on, which is the only reason this lives
//! here; nothing in it is about keys.

use std::io::{self, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

/// Exit code: the command did its work.
pub const DONE: u8 = 0;
/// Exit code: the command failed (a file, the database, the configuration); the error lines say
/// why, and nothing was half-applied.
pub const FAILED: u8 = 1;
/// Exit code: the command line was wrong (clap's own code for usage errors).
pub const USAGE: u8 = 2;
/// Exit code: there was nothing to do (an empty inbox, nothing pending).
pub const NOTHING_TO_DO: u8 = 3;
/// Exit code: at least one bundle was quarantined; everything else was done.
pub const QUARANTINED: u8 = 4;
/// Exit code: the input was understood and a rule said no (a signature, a key, a keyset rule,
/// the review workflow, a conflict); nothing was changed.
pub const REFUSED: u8 = 5;
/// Exit code: what the command names (a receipt, a filing, a certificate) does not exist.
pub const NOT_FOUND: u8 = 6;

/// The exit-code table and the rest of the convention, as every tool's `--help` ends. Lines stay
/// under 100 columns so that clap, which wraps help at that width off a terminal, prints them
/// unchanged.
pub const HELP: &str = "\
Exit codes (the same for every Sluice tool):
  0  done
  1  failed (the error lines say why; nothing was half-applied)
  2  bad command line
  3  nothing to do (empty inbox, nothing pending)
  4  quarantined at least one bundle (the rest was done; see the quarantine directory)
  5  refused: a signature, key, keyset rule, review rule or conflict said no
  6  not found: no such receipt, filing or certificate

Errors go to stderr as `error: WHAT` and one `  caused by: WHY` line per cause. --json prints one
JSON object on stdout per command run. If stdout is closed early (`| head -1`), the command
finishes its work quietly and exits with its usual code.";

/// How a run ended when it did not fail. Failures are errors; [`code_of`] picks their code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Work was done.
    Done,
    /// There was nothing to do.
    NothingToDo,
    /// At least one bundle was quarantined.
    Quarantined,
}

impl Outcome {
    /// The process exit code for this outcome.
    pub fn code(self) -> u8 {
        match self {
            Outcome::Done => DONE,
            Outcome::NothingToDo => NOTHING_TO_DO,
            Outcome::Quarantined => QUARANTINED,
        }
    }

    /// The outcome of a run that did `done` things and quarantined `quarantined` bundles.
    pub fn of(done: usize, quarantined: usize) -> Outcome {
        if quarantined > 0 {
            Outcome::Quarantined
        } else if done > 0 {
            Outcome::Done
        } else {
            Outcome::NothingToDo
        }
    }
}

/// A refusal a command decides itself (exit code [`REFUSED`]). The message says what was refused
/// and why, in the words the error line prints.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

/// Something a command was asked about does not exist (exit code [`NOT_FOUND`]).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct NotFound(pub String);

/// The exit code for `error`: [`REFUSED`] or [`NOT_FOUND`] if a [`Refused`] or [`NotFound`] is
/// anywhere in its chain (outermost wins), otherwise [`FAILED`]. A tool that knows more about
/// its library's errors (as `sluice-keys` does) checks those first and falls back to this.
pub fn code_of(error: &anyhow::Error) -> u8 {
    for cause in error.chain() {
        if cause.is::<Refused>() {
            return REFUSED;
        }
        if cause.is::<NotFound>() {
            return NOT_FOUND;
        }
    }
    FAILED
}

/// Parses the command line with clap. On `--help` or `--version` the text goes to stdout and the
/// code is [`DONE`]; on a usage error the message goes to stderr and the code is [`USAGE`].
pub fn parse<C: clap::Parser>() -> Result<C, ExitCode> {
    C::try_parse().map_err(|error| {
        // A closed stdout or stderr must not turn help into a panic; the code still says what
        // happened.
        let _ = error.print();
        ExitCode::from(if error.use_stderr() { USAGE } else { DONE })
    })
}

/// Ends a run: prints the error lines of a failure on stderr ([`crate::report::lines`]) and
/// returns the exit code, [`Outcome::code`] on success and `code_of(error)` on failure.
pub fn finish(
    result: anyhow::Result<Outcome>,
    code_of: impl FnOnce(&anyhow::Error) -> u8,
) -> ExitCode {
    // What is still buffered must reach stdout now: a failure to write it (a full disk behind a
    // redirection) is a failure of the command, which the exit code must show.
    let result = result.and_then(|outcome| {
        stdout()
            .flush()
            .map_err(|error| anyhow::Error::new(error).context("cannot write to stdout"))?;
        Ok(outcome)
    });
    match result {
        Ok(outcome) => ExitCode::from(outcome.code()),
        Err(error) => {
            // Nothing is left to tell anyone if stderr is gone too; the code still says it.
            let _ = io::stderr().write_all(crate::report::lines(error.as_ref()).as_bytes());
            ExitCode::from(code_of(&error))
        }
    }
}

/// Set once stdout turned out to be a closed pipe; later output is dropped unwritten.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// The process's stdout, for everything a command prints. `println!` panics when the reader of a
/// pipe has gone (Rust ignores SIGPIPE, so the write fails with `BrokenPipe` instead of ending
/// the process); through this writer that write and every later one succeed without writing, so
/// the command finishes its work and exits with its usual code. Other write errors (a full disk
/// behind a redirection) are returned as they are.
pub fn stdout() -> Stdout {
    Stdout { _private: () }
}

/// See [`stdout`].
#[derive(Debug)]
pub struct Stdout {
    _private: (),
}

impl Stdout {
    /// Whether a write to stdout has found the pipe closed.
    pub fn closed(&self) -> bool {
        STDOUT_CLOSED.load(Ordering::Relaxed)
    }

    /// Treats a closed pipe as success, remembering it; passes everything else through.
    fn check<T>(result: io::Result<T>, unwritten: T) -> io::Result<T> {
        match result {
            Err(error) if error.kind() == io::ErrorKind::BrokenPipe => {
                STDOUT_CLOSED.store(true, Ordering::Relaxed);
                Ok(unwritten)
            }
            other => other,
        }
    }
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.closed() {
            return Ok(buf.len());
        }
        Self::check(io::stdout().write(buf), buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        if self.closed() {
            return Ok(());
        }
        // One lock for the whole buffer, so lines from one call are never split by another's.
        Self::check(io::stdout().lock().write_all(buf), ())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.closed() {
            return Ok(());
        }
        Self::check(io::stdout().flush(), ())
    }
}

/// Prints `value` as one line of compact JSON: the `--json` output of a command run.
pub fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    let line = serde_json::to_string(value)?;
    writeln!(stdout(), "{line}")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVERY_CODE: [u8; 7] = [
        DONE,
        FAILED,
        USAGE,
        NOTHING_TO_DO,
        QUARANTINED,
        REFUSED,
        NOT_FOUND,
    ];

    #[test]
    fn help_lists_every_code_once_with_its_number() {
        for code in EVERY_CODE {
            let prefix = format!("  {code}  ");
            assert_eq!(
                HELP.lines().filter(|l| l.starts_with(&prefix)).count(),
                1,
                "code {code} in\n{HELP}"
            );
        }
        assert!(HELP.lines().all(|line| line.chars().count() < 100));
    }

    #[test]
    fn the_codes_are_distinct() {
        let mut codes = EVERY_CODE.to_vec();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), 7);
    }

    #[test]
    fn a_refusal_or_a_missing_thing_anywhere_in_the_chain_picks_the_code() {
        let refused = anyhow::Error::new(Refused("key is revoked".into())).context("signing");
        assert_eq!(code_of(&refused), REFUSED);
        let missing = anyhow::Error::new(NotFound("no receipt R9".into())).context("showing R9");
        assert_eq!(code_of(&missing), NOT_FOUND);
        assert_eq!(code_of(&anyhow::anyhow!("disk full")), FAILED);
    }

    #[test]
    fn outcomes_map_to_their_codes() {
        assert_eq!(Outcome::of(2, 0).code(), DONE);
        assert_eq!(Outcome::of(0, 0).code(), NOTHING_TO_DO);
        assert_eq!(Outcome::of(2, 1).code(), QUARANTINED);
    }
}
