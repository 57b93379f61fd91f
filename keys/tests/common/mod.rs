//! Helpers shared by the integration tests: running the real external tools.

#![allow(dead_code)] // each test binary uses a different subset

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Runs `program` with `args`, feeding `stdin`, and returns its output. Fails the test with the
/// Debian package to install if the program is missing.
pub fn run_tool(program: &str, package: &str, args: &[&str], stdin: &[u8], dir: &Path) -> Output {
    let mut child = Command::new(program)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| {
            panic!("cannot run `{program}` ({error}); install the Debian package `{package}`")
        });
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(stdin)
        .expect("write the tool's stdin");
    child.wait_with_output().expect("wait for the tool")
}

/// Runs the real `signify-openbsd`.
pub fn signify(args: &[&str], stdin: &[u8], dir: &Path) -> Output {
    run_tool("signify-openbsd", "signify-openbsd", args, stdin, dir)
}

/// Runs the real `openssl`.
pub fn openssl(args: &[&str], dir: &Path) -> Output {
    run_tool("openssl", "openssl", args, b"", dir)
}

/// Asserts the tool succeeded, showing its output if not.
pub fn assert_success(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} failed ({}):\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
