//! `replay ID|FILE`: run an archived or quarantined bundle through import or apply again.

use std::io::Write as _;
use transfer::outcome::FileResult;

use keys::exit::{Outcome, stdout};
use transfer::{examine, inner_side, outer_side, spool};

use crate::Global;

/// Re-run an archived or quarantined bundle (by file path or by at least 8 hex digits of its
/// id) through import (submissions, heartbeat, keyset on a submissions channel) or apply
/// (return, keyset on the return channel) after the cause is fixed, e.g. a keyset update. Idempotent: a bundle applied before is reported as a duplicate and changes
/// nothing. Needs what import or apply needs.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A bundle file, or a bundle id (prefix of at least 8 hex digits).
    what: String,
}

/// Runs `replay`.
pub fn run(global: &Global, args: &Args) -> anyhow::Result<Outcome> {
    let config = global.config()?;
    let spool = config.spool()?;
    let found = spool::find_for_replay(&spool, &args.what)?;
    let path = match found.as_slice() {
        [one] => one.clone(),
        [] => anyhow::bail!(
            "no archived or quarantined bundle matches {:?}; give a file path or a longer id",
            args.what
        ),
        many => anyhow::bail!(
            "{} bundles match {:?}: {}; give a longer id or the path",
            many.len(),
            args.what,
            many.iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let bytes = examine::read_file(&path)
        .map_err(|r| anyhow::anyhow!("{}: {}", path.display(), r.reason))?;
    let header = examine::peek(&bytes).ok().map(|(h, _)| h);
    spool.create_all()?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Through the inbox, so the normal path archives or quarantines it afresh.
    let staged = spool::move_durable(&path, &spool.inbox, &spool::free_name(&spool.inbox, &name))?;
    spool::remove_reason(&path)?;
    let (now, mut keysets) = super::keysets_now(&config)?;
    // Return bundles, and keyset bundles that came on the return channel, are applied outside;
    // everything else is imported inside.
    let outward = header.is_some_and(|h| {
        h.kind == bundle_format::Kind::Return
            || (h.kind == bundle_format::Kind::Keyset
                && config.outer_database.is_some()
                && config.return_channel.is_some_and(|c| c == h.channel.0))
    });
    let (result, detail) = if outward {
        let host = outer_side::OuterHost::open(config.outer_database()?)?;
        let settings = outer_side::ApplySettings {
            channel: config.channel()?,
            return_channel: config.return_channel()?,
            now,
            identities: bundle_format::encryption::Identities(config.age_identities()?),
        };
        outer_side::install_recorded_keysets(&host, &mut keysets, now)?;
        let report = outer_side::apply_file(&host, &spool, &mut keysets, &settings, &staged)?;
        (report.result, serde_json::to_value(&report)?)
    } else {
        let mut client = inner_side::connect(config.inner_database_url()?)?;
        let settings = inner_side::ImportSettings {
            channels: config.accept_channels()?,
            now,
            identities: bundle_format::encryption::Identities(config.age_identities()?),
            max_scan_bytes: config.max_scan_bytes()?,
        };
        inner_side::install_recorded_keysets(&mut client, &mut keysets, now)?;
        let report =
            inner_side::import_file(&mut client, &spool, &mut keysets, &settings, &staged)?;
        (report.result, serde_json::to_value(&report)?)
    };
    if global.json() {
        keys::exit::print_json(&detail)?;
    } else {
        writeln!(stdout(), "replayed {name}: {result}")?;
        writeln!(stdout(), "{}", serde_json::to_string_pretty(&detail)?)?;
    }
    Ok(match result {
        FileResult::Quarantined => Outcome::Quarantined,
        FileResult::Duplicate => Outcome::NothingToDo,
        FileResult::Applied => Outcome::Done,
    })
}
