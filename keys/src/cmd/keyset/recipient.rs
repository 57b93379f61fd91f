//! `sluice-keys keyset add-recipient` and `remove-recipient`: name who a channel's bundles are
//! encrypted to on the medium.

use std::path::PathBuf;
use std::str::FromStr as _;

use keys::ChannelId;
use keys::keyset::{Direction, RecipientEntry};

use crate::cmd::Output;

/// Name an age X25519 recipient the bundles of a direction and channels are encrypted to.
///
/// Once a signed keyset lists recipients for a channel, the sender encrypts that channel's
/// bundles to them (inward: the outer's submissions bundles, for the inner's identity; outward:
/// the inner's return bundles, for the outer's identity), and the receiver refuses bundles of
/// that channel that arrive unencrypted. Make the identity with `sluice-keys age-keygen` (or the
/// stock `age-keygen`) on the receiving host; only its public recipient goes in the keyset.
#[derive(clap::Args, Debug)]
pub struct AddArgs {
    /// The keyset file.
    #[arg(value_name = "KEYSET")]
    keyset: PathBuf,
    /// Which bundles: inward (outer to inner) or outward (inner to outer).
    #[arg(long, value_parser = parse_direction)]
    direction: Direction,
    /// A channel whose bundles are encrypted to it; repeat for several.
    #[arg(long = "channel", value_name = "N", required = true)]
    channels: Vec<u32>,
    /// The recipient, as `age-keygen` prints it (`age1…`).
    #[arg(long, value_name = "AGE1…")]
    recipient: String,
    #[command(flatten)]
    out: super::OutArg,
}

/// Stop encrypting a direction's bundles to a recipient (on every channel it was named for).
#[derive(clap::Args, Debug)]
pub struct RemoveArgs {
    /// The keyset file.
    #[arg(value_name = "KEYSET")]
    keyset: PathBuf,
    /// Which bundles: inward (outer to inner) or outward (inner to outer).
    #[arg(long, value_parser = parse_direction)]
    direction: Direction,
    /// The recipient, as `age-keygen` prints it (`age1…`).
    #[arg(long, value_name = "AGE1…")]
    recipient: String,
    #[command(flatten)]
    out: super::OutArg,
}

fn parse_direction(text: &str) -> Result<Direction, String> {
    text.parse()
}

/// Runs `keyset add-recipient`.
pub fn run_add(args: AddArgs, out: &Output) -> anyhow::Result<()> {
    let mut channels: Vec<ChannelId> = args.channels.iter().copied().map(ChannelId).collect();
    channels.sort();
    channels.dedup();
    let entry = RecipientEntry::new(args.direction, channels, &args.recipient)?;
    let what = format!("added {} recipient {}", args.direction, args.recipient);
    super::edit(&args.keyset, &args.out, out, &what, |document| {
        document.add_recipient(entry)?;
        Ok(())
    })
}

/// Runs `keyset remove-recipient`.
pub fn run_remove(args: RemoveArgs, out: &Output) -> anyhow::Result<()> {
    let recipient = age::x25519::Recipient::from_str(&args.recipient)
        .map_err(|e| anyhow::anyhow!("--recipient is not an age X25519 recipient: {e}"))?;
    let what = format!("removed {} recipient {}", args.direction, args.recipient);
    super::edit(&args.keyset, &args.out, out, &what, |document| {
        if document.remove_recipient(args.direction, &recipient) == 0 {
            anyhow::bail!(keys::exit::Refused(format!(
                "the keyset names no {} recipient {}",
                args.direction, args.recipient
            )));
        }
        Ok(())
    })
}
