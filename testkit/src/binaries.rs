//! The workspace binaries end-to-end tests run, and the crash tests' failpoint builds of them.
//!
//! A plain test finds `sluice-outer`, `sluice-transfer`, … beside its own executable, where
//! `cargo test --workspace` or `cargo build --bins` put them ([`workspace_binary`]).
//!
//! The crash tests need builds with the `failpoints` cargo feature, and the binaries beside the
//! test executable are whatever the last cargo command there built: after a plain
//! `cargo build` they lack the feature, an armed failure point is never reached, and a test
//! would wait for it in vain. So [`failpoint_binary`] looks inside the binaries before anything
//! runs them: the marker is the `SLUICE_FAILPOINT` variable name, which only a build with the
//! feature contains. When the binaries beside the test lack it, the test builds its own, once
//! per test process, with [`FAILPOINT_BUILD`] into a target directory of their own
//! (`target/failpoints`), where no other build overwrites them. Cargo's lock on that directory
//! makes concurrent test processes wait for one build instead of racing.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The binaries built with failure points; all of them come from one build.
pub const FAILPOINT_BINARIES: [&str; 2] = ["sluice-outer", "sluice-transfer"];

/// The cargo arguments that build [`FAILPOINT_BINARIES`] with their failure points, run from
/// the workspace root, with `--target-dir` added.
pub const FAILPOINT_BUILD: &[&str] = &[
    "build",
    "--locked",
    "--bins",
    "-p",
    "outer",
    "-p",
    "transfer",
    "--features",
    "outer/failpoints,transfer/failpoints",
];

/// What only a build with the `failpoints` feature contains (the variable that arms a point).
const FAILPOINT_MARKER: &[u8] = b"SLUICE_FAILPOINT";

/// The directory cargo put this test executable's sibling binaries in (`target/debug`).
fn binaries_dir() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let mut dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    if dir.ends_with("deps") {
        dir.pop();
    }
    Ok(dir)
}

/// The path of the workspace binary `name` built beside this test executable
/// (`cargo test --workspace` builds them; `cargo build -p transfer -p outer --bins` does it by
/// hand).
pub fn workspace_binary(name: &str) -> anyhow::Result<PathBuf> {
    let path = binaries_dir()?.join(name);
    anyhow::ensure!(
        path.is_file(),
        "{} is not built; run `cargo build -p transfer -p outer --bins` (or the whole \
         `cargo test --workspace`) first",
        path.display()
    );
    Ok(path)
}

/// Whether the binary at `path` was built with the `failpoints` feature.
pub fn has_failpoints(path: &Path) -> std::io::Result<bool> {
    let bytes = std::fs::read(path)?;
    Ok(memchr::memmem::find(&bytes, FAILPOINT_MARKER).is_some())
}

/// The failpoint build of `name` (one of [`FAILPOINT_BINARIES`]): the one beside this test
/// executable if it has the feature, otherwise this test run's own build (see the module
/// documentation).
///
/// # Panics
///
/// If no such build can be had; the message names the command that makes one.
pub fn failpoint_binary(name: &str) -> PathBuf {
    assert!(
        FAILPOINT_BINARIES.contains(&name),
        "{name} is not built with failure points; those are {FAILPOINT_BINARIES:?}"
    );
    static DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match DIR.get_or_init(|| failpoint_dir().map_err(|e| format!("{e:#}"))) {
        Ok(dir) => dir.join(name),
        Err(message) => panic!("{message}"),
    }
}

/// The directory holding failpoint builds of all of [`FAILPOINT_BINARIES`], built if need be.
fn failpoint_dir() -> anyhow::Result<PathBuf> {
    let beside = binaries_dir()?;
    if all_have_failpoints(&beside) {
        return Ok(beside);
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    // `target/debug` → `target/failpoints`.
    let target_dir = beside
        .parent()
        .map(|target| target.join("failpoints"))
        .unwrap_or_else(|| workspace.join("target").join("failpoints"));
    let by_hand = format!(
        "cargo {} --target-dir {}",
        FAILPOINT_BUILD.join(" "),
        target_dir.display()
    );
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    // Cargo's progress goes straight to the terminal: the first build takes minutes, and a
    // silent test would look hung.
    let status = Command::new(&cargo)
        .args(FAILPOINT_BUILD)
        .arg("--target-dir")
        .arg(&target_dir)
        .current_dir(&workspace)
        .status()
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot run cargo to build the failpoint binaries ({e}); build them with \
                 `{by_hand}` from the workspace root"
            )
        })?;
    anyhow::ensure!(
        status.success(),
        "building the failpoint binaries failed ({status}); the command was `{by_hand}`, run \
         from the workspace root"
    );
    let built = target_dir.join("debug");
    anyhow::ensure!(
        all_have_failpoints(&built),
        "`{by_hand}` succeeded but {} does not hold failpoint builds of {FAILPOINT_BINARIES:?}",
        built.display()
    );
    Ok(built)
}

fn all_have_failpoints(dir: &Path) -> bool {
    FAILPOINT_BINARIES
        .iter()
        .all(|name| has_failpoints(&dir.join(name)).unwrap_or(false))
}
