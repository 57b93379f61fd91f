//! One module per subcommand, each with its `Args` and a `run`.

pub mod apply;
pub mod carry;
pub mod demo;
pub mod export;
pub mod import;
pub mod inspect;
pub mod progress;
pub mod publish_keyset;
pub mod reconcile;
pub mod replay;
pub mod returns;
pub mod status;
pub mod udp;
pub mod verify;

/// Sends log lines (including the `sluice::audit` target) to stderr; `RUST_LOG` filters them.
pub fn init_logging(json: bool, quiet: bool) {
    let default = if quiet { "warn" } else { "info" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Runs `work` with a progress display over `what` (a bar on a terminal, log lines otherwise),
/// and removes the display once it has succeeded.
pub fn with_progress<T, E>(
    what: &'static str,
    work: impl FnOnce(&mut dyn FnMut(usize, usize)) -> Result<T, E>,
) -> anyhow::Result<T>
where
    E: std::error::Error + Send + Sync + 'static,
{
    let mut progress = progress::Progress::new(what);
    let done = work(&mut |d, t| progress.update(d, t))?;
    progress.finish();
    Ok(done)
}

/// Prints `report` as one JSON object under `--json`, else as `text` writes it.
pub fn print_report<R: serde::Serialize>(
    global: &crate::Global,
    report: &R,
    text: impl FnOnce(&R) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    if global.json() {
        keys::exit::print_json(&serde_json::to_value(report)?)
    } else {
        text(report)
    }
}

/// The line for an inbox file that was quarantined: `QUARANTINED file: reason`.
pub fn print_quarantined(file: &str, reason: Option<&str>) -> std::io::Result<()> {
    use std::io::Write as _;
    writeln!(
        keys::exit::stdout(),
        "QUARANTINED {file}: {}",
        reason.unwrap_or("-")
    )
}

/// Now, and the keysets trusted now: where every command that verifies bundles starts.
pub fn keysets_now(
    config: &transfer::config::Config,
) -> anyhow::Result<(i64, transfer::keysets::KeysetStore)> {
    let now = now();
    Ok((now, config.keysets(now)?))
}

/// Now, Unix seconds.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// `: keyset version 3 installed (was 2; added …; revoked …)` for a keyset bundle's report.
pub fn keyset_line(keyset: &transfer::keysets::KeysetReceipt) -> String {
    if keyset.result == transfer::outcome::KeysetResult::Installed {
        format!(
            ": keyset version {} installed (was {}; added {:?}; revoked {:?}; removed {:?})",
            keyset.version,
            keyset.previous,
            keyset.changes.added,
            keyset.changes.revoked,
            keyset.changes.removed
        )
    } else {
        format!(
            ": keyset version {} trusted already (trusting {}); nothing changed",
            keyset.version, keyset.previous
        )
    }
}
