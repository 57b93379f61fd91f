//! A service stopped by its supervisor after whoever read its standard output went away (a
//! closed journal pipe, `| head`) still stops cleanly: the last line it writes meets a closed
//! pipe and is dropped, it does not panic (trust boundaries, clean stops).

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Output, Stdio};

/// Starts `sluice-outer serve` on `db` and reads its first line, "listening on …"; returns the
/// process and the rest of its stdout.
fn listening(db: &Path) -> (Child, BufReader<ChildStdout>) {
    let mut child = common::serve(db)
        .env_remove("SLUICE_OUTER_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert!(first.starts_with("listening on "), "{first:?}");
    (child, stdout)
}

/// Sends SIGTERM to `child` and waits for it.
fn terminate(child: Child) -> Output {
    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    child.wait_with_output().unwrap()
}

#[test]
fn sigterm_after_the_stdout_reader_went_away_stops_without_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let (child, stdout) = listening(&dir.path().join("outer.db"));
    // The reader goes away: the service's "stopped" line will meet a closed pipe.
    drop(stdout);
    let output = terminate(child);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("Broken pipe"), "{stderr}");
    assert_eq!(
        output.status.code(),
        Some(0),
        "SIGTERM is a clean stop even with stdout closed: {stderr}"
    );
}

#[test]
fn sigterm_the_moment_listening_is_printed_stops_cleanly() {
    // A supervisor may stop the service as soon as it says it is listening. The signal handlers
    // must be in place by then, or the signal's default action kills the process (no exit
    // code) before it can finish its commits. Repeated, because the gap was a race.
    let dir = tempfile::tempdir().unwrap();
    for round in 0..5 {
        let (child, _stdout) = listening(&dir.path().join("outer.db"));
        let output = terminate(child);
        assert_eq!(
            output.status.code(),
            Some(0),
            "round {round}: stopped by SIGTERM right after listening: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
