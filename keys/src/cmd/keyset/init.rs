//! `sluice-keys keyset init`: the first keyset, listing the root keys.

use std::path::PathBuf;

use anyhow::Context as _;
use keys::exit::Refused;
use keys::{KeyEntry, KeysetDocument, KeysetFile, PublicKey, Role};

use crate::cmd::{Output, now, parse_time};

/// Start a keyset: an unsigned version 1 listing the root keys.
///
/// Add the other keys with `keyset add`, then have at least THRESHOLD root key holders run
/// `keyset sign`. The signed version 1 is the trust anchor operators install after comparing
/// the roots' fingerprints (`sluice-keys show`).
#[derive(clap::Args, Debug)]
pub struct Args {
    /// A root public key file (signify format); repeat for each root key.
    #[arg(long = "root", value_name = "PUB", required = true)]
    roots: Vec<PathBuf>,
    /// How many distinct root keys must sign each keyset version.
    #[arg(long)]
    threshold: u8,
    /// Start of the root keys' validity (Unix seconds or RFC 3339); default now.
    #[arg(long, value_parser = parse_time, value_name = "TIME")]
    not_before: Option<i64>,
    /// End of the root keys' validity (Unix seconds or RFC 3339).
    #[arg(long, value_parser = parse_time, value_name = "TIME")]
    not_after: i64,
    /// The keyset file to create; an existing file is not overwritten.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

/// Runs `keyset init`.
pub fn run(args: Args, out: &Output) -> anyhow::Result<()> {
    if args.out.exists() {
        anyhow::bail!(Refused(format!(
            "{} already exists; choose another file",
            args.out.display()
        )));
    }
    let not_before = args.not_before.unwrap_or_else(now);
    let mut keys = Vec::new();
    for path in &args.roots {
        keys.push(KeyEntry {
            public_key: PublicKey::read_file(path)?,
            role: Role::Root,
            channels: Vec::new(),
            not_before,
            not_after: args.not_after,
            revoked_at: None,
        });
    }
    let document = KeysetDocument::new(args.threshold, keys).context("cannot make the keyset")?;
    KeysetFile::unsigned(document)
        .write_file(&args.out)
        .context("cannot write the keyset")?;
    super::print_draft(
        out,
        &args.out,
        1,
        &format!(
            "new keyset with {} root key{}, threshold {}",
            args.roots.len(),
            if args.roots.len() == 1 { "" } else { "s" },
            args.threshold
        ),
    )
}
