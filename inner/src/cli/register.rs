//! `sluice-inner register publish`.

use std::io::Write as _;

use anyhow::Context as _;
use keys::exit::stdout;

use super::Context;

/// Public register subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Queue the public register entry of every approved filing for the return channel, in
    /// transactions of at most 10,000 filings (after upgrading to a version with the register,
    /// whose filings approved before were never sent, or to refresh the register outside).
    /// Every approval, cancellation and revocation sends its filing's entry by itself.
    Publish(PublishArgs),
}

/// Arguments of `register publish` (none).
#[derive(Debug, clap::Args)]
pub struct PublishArgs {}

/// Runs a register subcommand.
pub fn run(command: Command, context: &mut Context) -> anyhow::Result<()> {
    let Command::Publish(_) = command;
    let json = context.json;
    let client = context.client()?;
    let (mut total, mut after) = (0usize, 0i64);
    loop {
        let mut tx = client.transaction()?;
        let (count, last) = inner::register::publish_approved(
            &mut tx,
            after,
            inner::register::MAX_PUBLISHED_PER_BATCH,
            super::now(),
        )?;
        tx.commit()
            .context("committing a batch of register entries")?;
        total += count;
        after = last;
        if count < inner::register::MAX_PUBLISHED_PER_BATCH {
            break;
        }
        if !json {
            eprintln!("queued {total} register entries so far");
        }
    }
    if json {
        return keys::exit::print_json(&serde_json::json!({ "queued": total }));
    }
    writeln!(
        stdout(),
        "queued the register entries of {total} approved filings; the next return bundle carries them"
    )?;
    Ok(())
}
