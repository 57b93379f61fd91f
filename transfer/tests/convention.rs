//! `sluice-transfer` keeps the command-line convention all four Sluice tools share (`keys::exit`):
//! its `--help` ends with the one exit-code table, `--json` prints one JSON object per run, and a
//! stdout closed before anything is written ends the run quietly with its usual code. The other
//! three binaries have the same tests against the same `keys::exit::HELP`, through `testkit::cli`.

use testkit::cli::Tool;

const TRANSFER: Tool = Tool::new(env!("CARGO_BIN_EXE_sluice-transfer"));

/// `send-udp` with an empty outbox: heartbeats only, nothing sent.
const SEND_NOTHING: &[&str] = &["send-udp", "--from", "outbox", "--to", "127.0.0.1:9"];
/// `receive-udp` that hears nothing for a second and exits.
const RECEIVE_NOTHING: &[&str] = &[
    "receive-udp",
    "--listen",
    "127.0.0.1:0",
    "--to",
    "medium",
    "--idle-exit",
    "1",
];

#[test]
fn a_closed_stdout_ends_the_run_quietly_with_its_usual_code() {
    let dir = scratch_with_outbox_and_medium();
    let d = dir.path();
    TRANSFER.assert_quiet_with_stdout_closed(
        &[
            (&["status"], 0),
            (&["--json", "status"], 0),
            // Nothing to carry is exit 3 whether or not anyone reads the report.
            (&["carry", "--from", "outbox", "--to", "medium"], 3),
            (
                &["--json", "carry", "--from", "outbox", "--to", "medium"],
                3,
            ),
            // Nothing to send, nothing received: exit 3 as well.
            (SEND_NOTHING, 3),
            (RECEIVE_NOTHING, 3),
            (&["--help"], 0),
        ],
        d,
    );
    TRANSFER.assert_fails_with_stdout_closed(
        &["carry", "--from", "missing", "--to", "medium"],
        d,
        1,
    );
}

#[test]
fn json_output_is_one_object_per_run() {
    let dir = scratch_with_outbox_and_medium();
    let d = dir.path();
    TRANSFER.json_object(&["--json", "status"], d);
    // Nothing to carry, send or receive: exit 3, and still one object.
    for command in [
        &["carry", "--from", "outbox", "--to", "medium"][..],
        SEND_NOTHING,
        RECEIVE_NOTHING,
    ] {
        let args: Vec<&str> = std::iter::once("--json")
            .chain(command.iter().copied())
            .collect();
        let output = TRANSFER.run(&args, d);
        assert_eq!(output.status.code(), Some(3), "{args:?}");
        let text = String::from_utf8(output.stdout).unwrap();
        assert_eq!(text.lines().count(), 1, "{args:?}: {text}");
        assert!(
            serde_json::from_str::<serde_json::Value>(&text)
                .unwrap()
                .is_object(),
            "{args:?}: {text}"
        );
    }
}

#[test]
fn help_ends_with_the_shared_exit_code_table() {
    TRANSFER.assert_help_ends_with_the_exit_code_table();
}

/// A scratch directory holding an empty `outbox/` and `medium/` to carry between.
fn scratch_with_outbox_and_medium() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("outbox")).unwrap();
    std::fs::create_dir(dir.path().join("medium")).unwrap();
    dir
}
