//! The stock tools the tests hold Sluice's keys, signatures and bundles against
//! (`signify-openbsd`, `openssl`, `zstd`), run in a scratch directory. A missing tool fails the
//! test with the Debian package to install; no test skips itself.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Runs `program` (from the Debian package `package`) with `args` in `dir`, feeding it `stdin`,
/// and returns what it printed.
pub fn run(program: &str, package: &str, args: &[&str], stdin: &[u8], dir: &Path) -> Output {
    let mut child = Command::new(program)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| {
            panic!(
                "cannot run `{program}` ({error}); install the Debian package `{package}` \
                 (apt-get install {package})"
            )
        });
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(stdin)
        .expect("write the tool's stdin");
    child.wait_with_output().expect("wait for the tool")
}

/// Runs the real `age` (the stock decrypter of age files).
pub fn age(args: &[&str], dir: &Path) -> Output {
    run("age", "age", args, &[], dir)
}

/// Runs the real `signify-openbsd`, feeding it `stdin` (a passphrase, say).
pub fn signify(args: &[&str], stdin: &[u8], dir: &Path) -> Output {
    run("signify-openbsd", "signify-openbsd", args, stdin, dir)
}

/// Runs the real `openssl`.
pub fn openssl(args: &[&str], dir: &Path) -> Output {
    run("openssl", "openssl", args, b"", dir)
}

/// Runs the real `zstd`.
pub fn zstd(args: &[&str], dir: &Path) -> Output {
    run("zstd", "zstd", args, b"", dir)
}

/// The words of `line` as a tool's arguments, for command lines whose arguments hold no spaces:
/// `words("-V -e -p outer.pub")`.
pub fn words(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

/// Fails the test unless the tool succeeded, showing `what` and its output.
pub fn assert_success(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} failed ({}):\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
