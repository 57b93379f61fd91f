//! One module per subcommand, each with its `Args` and a `run`.

pub mod apply;
pub mod carry;
pub mod demo;
pub mod export;
pub mod import;
pub mod inspect;
pub mod progress;
pub mod publish_keyset;
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
