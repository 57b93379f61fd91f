//! The Prometheus alert rules in `monitoring/`: promtool accepts them and their unit tests pass,
//! and every Sluice metric they watch is one the code writes, so a renamed metric cannot leave an
//! alert silently watching nothing.

use std::path::{Path, PathBuf};
use std::process::Command;

fn monitoring() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../monitoring")
}

fn promtool(args: &[&str]) -> String {
    let output = Command::new("promtool")
        .args(args)
        .current_dir(monitoring())
        .output()
        .unwrap_or_else(|e| {
            panic!("running promtool: {e}; install Debian's prometheus package (scripts/setup.sh)")
        });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "promtool {args:?} failed:\n{text}");
    text
}

#[test]
fn the_alert_rules_are_valid_and_their_unit_tests_pass() {
    let checked = promtool(&["check", "rules", "sluice-alerts.yml"]);
    assert!(checked.contains("SUCCESS: 7 rules found"), "{checked}");
    let tested = promtool(&["test", "rules", "sluice-alerts.test.yml"]);
    assert!(tested.contains("SUCCESS"), "{tested}");
}

#[test]
fn every_sluice_metric_an_alert_watches_is_written_by_the_code() {
    let rules = std::fs::read_to_string(monitoring().join("sluice-alerts.yml")).unwrap();
    let sources = [
        include_str!("../src/metrics.rs"),
        include_str!("../../outer/src/http/metrics.rs"),
    ];
    let watched: Vec<&str> = rules
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|word| word.starts_with("sluice_"))
        .collect();
    assert!(
        watched.len() >= 5,
        "the rules watch Sluice metrics: {watched:?}"
    );
    for metric in watched {
        let quoted = format!("\"{metric}\"");
        assert!(
            sources.iter().any(|source| source.contains(&quoted)),
            "an alert watches {metric}, which no metrics code writes"
        );
    }
}
