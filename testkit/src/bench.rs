//! Where benchmarks leave their results for machines to read: one JSON file per run under
//! `target/sluice-bench/`, beside the human tables each bench keeps in its BENCHMARKS.md.

use std::path::{Path, PathBuf};

/// The folder benchmark results go to: `sluice-bench/` in Cargo's target directory
/// (`CARGO_TARGET_DIR` when set, else the workspace's `target/`).
pub fn results_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("sluice-bench")
}

/// Writes `value` as `<name>.json` in [`results_dir`], pretty-printed with a trailing newline,
/// replacing an earlier run's file; returns the path written.
pub fn write_json(name: &str, value: &serde_json::Value) -> PathBuf {
    let dir = results_dir();
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("creating the results folder {}: {e}", dir.display()));
    let path = dir.join(format!("{name}.json"));
    let mut text = serde_json::to_string_pretty(value).expect("a JSON value always serialises");
    text.push('\n');
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    path
}

/// The one-, five- and fifteen-minute load averages at this moment (from `/proc/loadavg`), so
/// that a result says how busy the machine was; `None` where the file cannot be read.
pub fn load_average() -> Option<[f64; 3]> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let mut fields = text.split_whitespace().map(str::parse::<f64>);
    Some([
        fields.next()?.ok()?,
        fields.next()?.ok()?,
        fields.next()?.ok()?,
    ])
}

/// Puts `text` into the Markdown file at `path` between the lines `<!-- NAME -->` and
/// `<!-- /NAME -->` (markers included in `text`'s place), replacing what a previous run wrote
/// there or appending the section at the end; everything else in the file stays.
pub fn write_section(path: &Path, name: &str, text: &str) {
    let open = format!("<!-- {name} -->");
    let close = format!("<!-- /{name} -->");
    let section = format!("{open}\n{}\n{close}", text.trim_end());
    let existing = std::fs::read_to_string(path).unwrap_or_default();
    let updated = match (existing.find(&open), existing.find(&close)) {
        (Some(start), Some(end)) if end > start => format!(
            "{}{section}{}",
            &existing[..start],
            &existing[end + close.len()..]
        ),
        _ => format!("{}\n\n{section}\n", existing.trim_end()),
    };
    std::fs::write(path, updated).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}
