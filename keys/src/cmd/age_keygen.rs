//! `sluice-keys age-keygen`: a new age X25519 identity for decrypting bundles.

use std::path::PathBuf;

use anyhow::Context as _;
use serde_json::json;

use super::{Output, format_time, now};

/// Generate an age X25519 identity for decrypting bundles on the receiving host.
///
/// The file (mode 0600, never over an existing file) is in the format `age-keygen` writes, so
/// `age -d -i FILE` reads it too. Put the printed recipient in the keyset with `sluice-keys
/// keyset add-recipient` (inward for the inner's identity, outward for the outer's) and the file
/// in the receiving side's configuration (`age_identity`).
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Where to write the identity.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

/// Runs `age-keygen`.
pub fn run(args: Args, out: &Output) -> anyhow::Result<()> {
    let recipient = keys::age_identity::write_new_identity(&args.out, &format_time(now()))
        .context("cannot make the age identity")?;
    out.print(
        || {
            format!(
                "wrote age identity {} (mode 0600)\n\
                 recipient: {recipient}\n\
                 (takes effect once a signed keyset names it: `sluice-keys keyset add-recipient`)\n",
                args.out.display()
            )
        },
        || json!({ "identity_file": args.out, "recipient": recipient.to_string() }),
    )
}
