//! `sluice-keys keyset verify`: check a keyset chain from the anchor.

use std::path::PathBuf;

use anyhow::Context as _;
use keys::{Keyset, KeysetFile};
use serde_json::json;

use crate::cmd::{Output, channel_list, format_time, now, parse_time, status_word};

/// Verify a keyset chain from version 1 and print the keys of the last version.
///
/// The first file must be version 1 (the trust anchor), each next one the version after it,
/// signed as KEYSET.md requires. Exit code 0 means every file was accepted; 5 means one was
/// refused, and the message says which file and why.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Keyset files in version order, starting with version 1.
    #[arg(value_name = "KEYSET", required = true)]
    files: Vec<PathBuf>,
    /// Judge key validity at this time (Unix seconds or RFC 3339); default now.
    #[arg(long, value_parser = parse_time, value_name = "TIME")]
    at: Option<i64>,
}

/// Runs `keyset verify`.
pub fn run(args: Args, out: &Output) -> anyhow::Result<()> {
    let at = args.at.unwrap_or_else(now);
    let mut keyset: Option<Keyset> = None;
    for path in &args.files {
        let file = KeysetFile::read_file(path)?;
        let accepted = match &keyset {
            None => Keyset::anchor(file, at),
            Some(installed) => installed.accept_next(file, at),
        };
        keyset = Some(accepted.with_context(|| format!("keyset {} refused", path.display()))?);
    }
    let keyset = keyset.context("no keyset file given")?;
    let document = keyset.document();
    out.print(
        || {
            let mut text = format!(
                "accepted keyset version {} ({} file{}), threshold {}, judged at {}\n",
                document.version(),
                args.files.len(),
                if args.files.len() == 1 { "" } else { "s" },
                document.threshold(),
                format_time(at)
            );
            for entry in document.keys() {
                text.push_str(&format!(
                    "  {}  {:<12}  channels {:<8}  {} .. {}  {}\n",
                    entry.key_id(),
                    entry.role.as_str(),
                    channel_list(&entry.channels),
                    format_time(entry.not_before),
                    format_time(entry.not_after),
                    match entry.revoked_at {
                        Some(t) =>
                            format!("{} (revoked at {})", status_word(entry, at), format_time(t)),
                        None => status_word(entry, at).to_owned(),
                    }
                ));
            }
            text
        },
        || {
            let keys: Vec<_> = document
                .keys()
                .iter()
                .map(|entry| {
                    json!({
                        "key_id": entry.key_id().to_string(),
                        "fingerprint": entry.public_key.fingerprint().to_string(),
                        "role": entry.role.as_str(),
                        "channels": entry.channels.iter().map(|c| c.0).collect::<Vec<_>>(),
                        "not_before": entry.not_before,
                        "not_after": entry.not_after,
                        "revoked_at": entry.revoked_at,
                        "status": status_word(entry, at),
                    })
                })
                .collect();
            json!({
                "accepted": true,
                "version": document.version(),
                "threshold": document.threshold(),
                "at": at,
                "keys": keys,
            })
        },
    )
}
