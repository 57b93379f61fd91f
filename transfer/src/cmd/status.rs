//! `status`: both sides' view of the transfer.

use std::io::Write as _;

use keys::exit::{Outcome, stdout};
use transfer::{inner_side, metrics, outer_side, spool};

use crate::Global;

/// Show what this host knows: the keyset version it trusts (configured chain and keyset_dir);
/// outer (pending, in transit, unacknowledged bundles with age, last return, keyset versions
/// installed and whether the inner side acknowledged those published here) when outer_database
/// is set; inner (per-channel sequence state and gaps, last import and heartbeat, pending
/// returns, keyset versions installed) when inner_database_url is set; quarantine contents.
/// With --prometheus, the same as metrics in Prometheus text format (README, "Metrics").
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print the status as Prometheus metrics (text exposition format) instead.
    #[arg(long)]
    prometheus: bool,
    /// With --prometheus: write the metrics to FILE atomically (temporary file, fsync, rename)
    /// instead of printing them, e.g. into node_exporter's textfile collector directory.
    #[arg(long, value_name = "FILE", requires = "prometheus")]
    output: Option<std::path::PathBuf>,
    /// With --prometheus: also keep every sample as one point of the operations page's history,
    /// in the outer store and in the inner database (whichever this host has); samples older
    /// than 30 days are deleted.
    #[arg(long, requires = "prometheus")]
    record_history: bool,
}

/// Runs `status`.
pub fn run(global: &Global, args: &Args) -> anyhow::Result<Outcome> {
    let config = global.config()?;
    let now = super::now();
    let mut value = serde_json::json!({});
    let mut trusted = None;
    if !config.keyset.is_empty() {
        // A keyset that does not load is what the operator most needs to see, not a failure.
        value["keyset"] = match config.keysets(now) {
            Ok(keysets) => {
                let summary = serde_json::json!({
                    "trusted_version": keysets.version(),
                    "keyset_dir": keysets.dir().map(|d| d.display().to_string()),
                });
                trusted = Some(keysets.current().clone());
                summary
            }
            Err(error) => serde_json::json!({ "error": keys::report::one_line(&error) }),
        };
    }
    let mut outer = None;
    let mut outer_host = None;
    if config.outer_database.is_some() {
        let host = outer_side::OuterHost::open(config.outer_database()?)?;
        let status = outer_side::status(&host, config.channel()?, now)?;
        value["outer"] = serde_json::to_value(&status)?;
        value["outer"]["keysets_installed"] =
            serde_json::to_value(outer_side::recorded_keysets(&host)?)?;
        outer = Some(status);
        outer_host = Some(host);
    }
    let mut inner = None;
    let mut inner_client = None;
    if config.inner_database_url.is_some() {
        let mut client = inner_side::connect(config.inner_database_url()?)?;
        let status = inner_side::status(&mut client)?;
        value["inner"] = serde_json::to_value(&status)?;
        value["inner"]["keysets_installed"] =
            serde_json::to_value(inner_side::recorded_keysets(&mut client)?)?;
        inner = Some(status);
        inner_client = Some(client);
    }
    let mut spool_use = None;
    if let Ok(spool) = config.spool() {
        let used = spool.disk_use()?;
        value["spool_disk_use"] = used
            .iter()
            .map(|(dir, used)| Ok(((*dir).to_owned(), serde_json::to_value(used)?)))
            .collect::<Result<serde_json::Map<_, _>, serde_json::Error>>()?
            .into();
        spool_use = Some(used);
    }
    let mut quarantine_codes = None;
    if let Ok(spool) = config.spool()
        && spool.quarantine.is_dir()
    {
        let mut codes = std::collections::BTreeMap::new();
        let quarantined: Vec<serde_json::Value> = spool::list_bundles(&spool.quarantine)?
            .iter()
            .map(|path| {
                let reason = spool::read_reason(path);
                let code = reason.as_ref().map_or("unknown", |r| r.code.as_str());
                *codes.entry(code.to_owned()).or_insert(0u64) += 1;
                serde_json::json!({
                    "file": path.file_name().map(|n| n.to_string_lossy().into_owned()),
                    "code": reason.as_ref().map(|r| r.code.clone()),
                    "reason": reason.as_ref().map(|r| r.reason.clone()),
                })
            })
            .collect();
        value["quarantine"] = serde_json::Value::Array(quarantined);
        quarantine_codes = Some(codes);
    }
    if args.prometheus {
        let text = metrics::render(&metrics::Snapshot {
            now,
            keyset: trusted.as_ref(),
            outer: outer.as_ref(),
            inner: inner.as_ref(),
            spool: spool_use,
            quarantine: quarantine_codes,
        });
        if args.record_history {
            let samples = keys::ops::parse_exposition(&text, now);
            if let Some(host) = &outer_host {
                outer_side::record_ops_samples(host, samples.clone())?;
            }
            if let Some(client) = &mut inner_client {
                inner_side::record_ops_samples(client, &samples)?;
            }
        }
        match &args.output {
            Some(path) => {
                let dir = match path.parent() {
                    Some(dir) if !dir.as_os_str().is_empty() => dir,
                    _ => std::path::Path::new("."),
                };
                let name = path.file_name().and_then(|n| n.to_str()).ok_or_else(|| {
                    anyhow::anyhow!("--output {}: not a file name", path.display())
                })?;
                spool::write_atomic(dir, name, |f| std::io::Write::write_all(f, text.as_bytes()))?;
            }
            None => write!(stdout(), "{text}")?,
        }
        return Ok(Outcome::Done);
    }
    if global.json() {
        keys::exit::print_json(&value)?;
    } else {
        writeln!(stdout(), "{}", serde_json::to_string_pretty(&value)?)?;
    }
    Ok(Outcome::Done)
}
