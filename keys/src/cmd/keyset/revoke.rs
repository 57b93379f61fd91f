//! `sluice-keys keyset revoke`: stop a key counting from a given time.

use std::path::PathBuf;

use keys::KeyId;

use crate::cmd::{Output, format_time, now, parse_key_id, parse_time};

/// Revoke a key: from --at on (default now) no signature by it is accepted.
///
/// Set --at to when the key may first have been compromised. A revocation can later be moved
/// earlier but never withdrawn or moved later.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The keyset file.
    #[arg(value_name = "KEYSET")]
    keyset: PathBuf,
    /// The key id to revoke (16 hex digits, as `sluice-keys show` prints it).
    #[arg(long, value_parser = parse_key_id)]
    key_id: KeyId,
    /// When the revocation takes effect (Unix seconds or RFC 3339); default now.
    #[arg(long, value_parser = parse_time, value_name = "TIME")]
    at: Option<i64>,
    #[command(flatten)]
    out: super::OutArg,
}

/// Runs `keyset revoke`.
pub fn run(args: Args, out: &Output) -> anyhow::Result<()> {
    let at = args.at.unwrap_or_else(now);
    let what = format!("revoked key {} from {}", args.key_id, format_time(at));
    super::edit(&args.keyset, &args.out, out, &what, |document| {
        Ok(document.revoke(args.key_id, at)?)
    })
}
