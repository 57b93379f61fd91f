//! `sluice-keys keyset remove`: drop a key from a keyset.

use std::path::PathBuf;

use keys::KeyId;

use crate::cmd::{Output, parse_key_id};

/// Remove a key from a keyset.
///
/// To stop a compromised key, prefer `keyset revoke`, which keeps a record of when it stopped
/// counting.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The keyset file.
    #[arg(value_name = "KEYSET")]
    keyset: PathBuf,
    /// The key id to remove (16 hex digits, as `sluice-keys show` prints it).
    #[arg(long, value_parser = parse_key_id)]
    key_id: KeyId,
    /// Also set the number of root signatures each version needs.
    #[arg(long)]
    threshold: Option<u8>,
    #[command(flatten)]
    out: super::OutArg,
}

/// Runs `keyset remove`.
pub fn run(args: Args, out: &Output) -> anyhow::Result<()> {
    let what = format!("removed key {}", args.key_id);
    super::edit(&args.keyset, &args.out, out, &what, |document| {
        if let Some(threshold) = args.threshold {
            document.set_threshold(threshold)?;
        }
        document.remove_key(args.key_id)?;
        Ok(())
    })
}
