//! `sluice-keys keyset add`: list a key in a keyset.

use std::path::PathBuf;

use keys::{ChannelId, KeyEntry, PublicKey, Role};

use crate::cmd::{Output, now, parse_role, parse_time};

/// Add a key to a keyset with its role, channels and validity.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The keyset file.
    #[arg(value_name = "KEYSET")]
    keyset: PathBuf,
    /// The public key file (signify format) to add.
    #[arg(long, value_name = "PUB")]
    key: PathBuf,
    /// What the key may sign: root, outer-bundle, inner-return or inner-cert.
    #[arg(long, value_parser = parse_role)]
    role: Role,
    /// A channel the key may sign for; repeat for several. Required for outer-bundle and
    /// inner-return keys, not allowed for root and inner-cert keys.
    #[arg(long = "channel", value_name = "N")]
    channels: Vec<u32>,
    /// Start of the key's validity (Unix seconds or RFC 3339); default now.
    #[arg(long, value_parser = parse_time, value_name = "TIME")]
    not_before: Option<i64>,
    /// End of the key's validity (Unix seconds or RFC 3339).
    #[arg(long, value_parser = parse_time, value_name = "TIME")]
    not_after: i64,
    /// Also set the number of root signatures each version needs.
    #[arg(long)]
    threshold: Option<u8>,
    #[command(flatten)]
    out: super::OutArg,
}

/// Runs `keyset add`.
pub fn run(args: Args, out: &Output) -> anyhow::Result<()> {
    let public_key = PublicKey::read_file(&args.key)?;
    let mut channels: Vec<ChannelId> = args.channels.iter().copied().map(ChannelId).collect();
    channels.sort();
    channels.dedup();
    let entry = KeyEntry {
        public_key,
        role: args.role,
        channels,
        not_before: args.not_before.unwrap_or_else(now),
        not_after: args.not_after,
        revoked_at: None,
    };
    let what = format!("added {} key {}", args.role, public_key.key_id());
    super::edit(&args.keyset, &args.out, out, &what, |document| {
        document.add_key(entry)?;
        if let Some(threshold) = args.threshold {
            document.set_threshold(threshold)?;
        }
        Ok(())
    })
}
