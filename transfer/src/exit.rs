//! Exit codes of `sluice-transfer`, shared by every command (documented in `--help`).

/// The command did its work.
pub const DONE: u8 = 0;
/// The command failed; nothing was half-done (see the error message).
pub const FAILED: u8 = 1;
/// The command line was wrong.
pub const USAGE: u8 = 2;
/// There was nothing to do (empty inbox, nothing pending).
pub const NOTHING_TO_DO: u8 = 3;
/// At least one bundle was quarantined; everything else was done.
pub const QUARANTINED: u8 = 4;

/// How a run ended, when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Work was done.
    Done,
    /// Nothing to do.
    NothingToDo,
    /// Something was quarantined.
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

/// The text `--help` shows about exit codes.
pub const HELP: &str = "Exit codes:
  0  done
  1  failed (the error says why; nothing was half-applied)
  2  bad command line
  3  nothing to do (empty inbox, nothing pending)
  4  quarantined at least one bundle (the rest was done; see the quarantine directory)";
