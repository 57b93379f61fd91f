//! `status`: both sides' view of the transfer.

use transfer::exit::Outcome;
use transfer::{inner_side, outer_side, spool};

use crate::Global;

/// Show what this host knows: the keyset version it trusts (configured chain and keyset_dir);
/// outer (pending, in transit, unacknowledged bundles with age, last return, keyset versions
/// installed and whether the inner side acknowledged those published here) when outer_database
/// is set; inner (per-channel sequence state and gaps, last import and heartbeat, pending
/// returns, keyset versions installed) when inner_database_url is set; quarantine contents.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `status`.
pub fn run(global: &Global, _args: &Args) -> anyhow::Result<Outcome> {
    let config = global.config()?;
    let now = super::now();
    let mut value = serde_json::json!({});
    if !config.keyset.is_empty() {
        // A keyset that does not load is what the operator most needs to see, not a failure.
        value["keyset"] = match config.keysets(now) {
            Ok(keysets) => serde_json::json!({
                "trusted_version": keysets.version(),
                "keyset_dir": keysets.dir().map(|d| d.display().to_string()),
            }),
            Err(error) => serde_json::json!({ "error": format!("{error:#}") }),
        };
    }
    if config.outer_database.is_some() {
        let host = outer_side::OuterHost::open(config.outer_database()?)?;
        value["outer"] = serde_json::to_value(outer_side::status(&host, config.channel()?, now)?)?;
        value["outer"]["keysets_installed"] =
            serde_json::to_value(outer_side::recorded_keysets(&host)?)?;
    }
    if config.inner_database_url.is_some() {
        let mut client = inner_side::connect(config.inner_database_url()?)?;
        value["inner"] = serde_json::to_value(inner_side::status(&mut client)?)?;
        value["inner"]["keysets_installed"] =
            serde_json::to_value(inner_side::recorded_keysets(&mut client)?)?;
    }
    if let Ok(spool) = config.spool()
        && spool.quarantine.is_dir()
    {
        let quarantined: Vec<serde_json::Value> = spool::list_bundles(&spool.quarantine)?
            .iter()
            .map(|path| {
                let reason = spool::read_reason(path);
                serde_json::json!({
                    "file": path.file_name().map(|n| n.to_string_lossy().into_owned()),
                    "code": reason.as_ref().map(|r| r.code.clone()),
                    "reason": reason.as_ref().map(|r| r.reason.clone()),
                })
            })
            .collect();
        value["quarantine"] = serde_json::Value::Array(quarantined);
    }
    if global.json() {
        super::print_json(&value);
    } else {
        println!("{}", serde_json::to_string_pretty(&value)?);
    }
    Ok(Outcome::Done)
}
