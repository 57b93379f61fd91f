//! `publish-keyset FILE` (either host): a new keyset version → a keyset bundle across the gap.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context;
use keys::exit::{Outcome, stdout};
use transfer::outcome::KeysetResult;
use transfer::outer_side::OuterHost;
use transfer::{inner_side, outer_side};

use crate::Global;

/// Send a new keyset version across the gap. FILE is a keyset that security staff made and
/// signed with `sluice-keys keyset …`; it must be exactly the next version of the keyset this
/// host trusts, signed by a threshold of the current root keys and of its own. It is installed
/// here (keyset_dir) and published as a keyset bundle in the channel's normal sequence: on the
/// outer host on the submissions channel, signed with the outer-bundle key (kept in the
/// retained outbox until the inner side acknowledges it); on the inner host on the return
/// channel, signed with the inner-return key. The other side installs it when it imports or
/// applies the bundle. Running the command again after an interruption finishes the job; a
/// version trusted here already is refused. Needs: keyset, signing_key, spool_dir, and
/// outer_database and channel (outer host) or inner_database_url and return_channel (inner
/// host).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The signed keyset file (`sluice keyset v1`) of the next version.
    file: PathBuf,
    /// Which host this is, when the configuration names both databases.
    #[arg(long, value_enum)]
    side: Option<Side>,
}

/// The host a command runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Side {
    /// The outer host: publish on the submissions channel.
    Outer,
    /// The inner host: publish on the return channel.
    Inner,
}

/// Runs `publish-keyset`.
pub fn run(global: &Global, args: &Args) -> anyhow::Result<Outcome> {
    let config = global.config()?;
    let side = match (
        args.side,
        config.outer_database.is_some(),
        config.inner_database_url.is_some(),
    ) {
        (Some(side), _, _) => side,
        (None, true, false) => Side::Outer,
        (None, false, true) => Side::Inner,
        (None, true, true) => {
            anyhow::bail!(
                "both outer_database and inner_database_url are set; say --side outer or --side inner"
            )
        }
        (None, false, false) => anyhow::bail!(
            "neither outer_database nor inner_database_url is set; set the one of this host \
             (--outer-database or --inner-database-url)"
        ),
    };
    let file = std::fs::read(&args.file)
        .with_context(|| format!("reading the keyset file {}", args.file.display()))?;
    let (now, mut keysets) = super::keysets_now(&config)?;
    let spool = config.spool()?;
    let signer = config.signing_key()?;
    let (keyset, bundle) = match side {
        Side::Outer => {
            let host = OuterHost::open(config.outer_database()?)?;
            let settings = config.export_settings(now)?;
            let report =
                outer_side::publish_keyset(&host, &spool, &signer, &settings, &mut keysets, &file)
                    .with_context(|| format!("publishing {}", args.file.display()))?;
            (report.keyset, report.bundle)
        }
        Side::Inner => {
            let mut client = inner_side::connect(config.inner_database_url()?)?;
            let settings = config.return_settings(now)?;
            let report = inner_side::publish_keyset(
                &mut client,
                &spool,
                &signer,
                &settings,
                &mut keysets,
                &file,
            )
            .with_context(|| format!("publishing {}", args.file.display()))?;
            (report.keyset, report.bundle)
        }
    };
    if global.json() {
        keys::exit::print_json(&serde_json::json!({ "keyset": keyset, "bundle": bundle }))?;
    } else {
        writeln!(
            stdout(),
            "published keyset version {} in keyset bundle sequence {}: {}",
            keyset.version,
            bundle.sequence,
            bundle.file
        )?;
        if keyset.result == KeysetResult::Installed {
            writeln!(
                stdout(),
                "installed here{} (was version {}); added {:?}, revoked {:?}, removed {:?}",
                keyset
                    .file
                    .as_deref()
                    .map(|f| format!(" as {f}"))
                    .unwrap_or_default(),
                keyset.previous,
                keyset.changes.added,
                keyset.changes.revoked,
                keyset.changes.removed
            )?;
        } else {
            writeln!(
                stdout(),
                "version {} was installed here by the interrupted run",
                keyset.version
            )?;
        }
    }
    Ok(Outcome::Done)
}
