//! `sluice-inner register publish` and `sluice-inner records publish`: what crosses back after
//! an approval, sent again for every approved filing.

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

/// Approved record subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum RecordsCommand {
    /// Queue the approved record of every approved filing for the intake node that created its
    /// first receipt, in transactions of at most 10,000 filings (after upgrading to a version
    /// with approved records, whose filings approved before were never sent). Every approval,
    /// change, cancellation and revocation sends its filing's record by itself.
    Publish(PublishArgs),
}

/// Arguments of `register publish` and `records publish` (none).
#[derive(Debug, clap::Args)]
pub struct PublishArgs {}

/// Runs a register subcommand.
pub fn run(command: Command, context: &mut Context) -> anyhow::Result<()> {
    let Command::Publish(_) = command;
    publish_in_batches(
        context,
        "register entries",
        inner::register::publish_approved,
    )
}

/// Runs an approved record subcommand.
pub fn run_records(command: RecordsCommand, context: &mut Context) -> anyhow::Result<()> {
    let RecordsCommand::Publish(_) = command;
    publish_in_batches(
        context,
        "approved records",
        inner::approved_records::publish_approved,
    )
}

/// One batch of a publication: queues what is sent for up to `limit` approved filings with an
/// id above `after`, returning how many and the last id.
type Batch = fn(
    &mut postgres::Transaction<'_>,
    i64,
    usize,
    i64,
) -> Result<(usize, i64), inner::store::StoreError>;

/// Queues `what` of every approved filing, batch by batch, each in its own transaction.
fn publish_in_batches(context: &mut Context, what: &str, batch: Batch) -> anyhow::Result<()> {
    let json = context.json;
    let client = context.client()?;
    let (mut total, mut after) = (0usize, 0i64);
    loop {
        let mut tx = client.transaction()?;
        let (count, last) = batch(
            &mut tx,
            after,
            inner::register::MAX_PUBLISHED_PER_BATCH,
            super::now(),
        )?;
        tx.commit()
            .with_context(|| format!("committing a batch of {what}"))?;
        total += count;
        after = last;
        if count < inner::register::MAX_PUBLISHED_PER_BATCH {
            break;
        }
        if !json {
            eprintln!("queued {total} {what} so far");
        }
    }
    if json {
        return keys::exit::print_json(&serde_json::json!({ "queued": total }));
    }
    writeln!(
        stdout(),
        "queued the {what} of {total} approved filings; the next return bundle carries them"
    )?;
    Ok(())
}
