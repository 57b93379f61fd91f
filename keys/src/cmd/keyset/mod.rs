//! `sluice-keys keyset …`: make, edit, sign and verify keysets (see KEYSET.md).

mod add;
mod init;
mod recipient;
mod remove;
mod revoke;
mod sign;
mod verify;

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use keys::exit::Refused;
use keys::{KeysetDocument, KeysetFile};
use serde_json::json;

use super::Output;

/// Make, edit, sign and verify keysets.
///
/// Editing an unsigned keyset (a draft) changes it in place. Editing a signed keyset makes a
/// draft of the next version, without signatures, which must go to a new file (--out): the
/// signed version stays as it was.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    Init(init::Args),
    Add(add::Args),
    Remove(remove::Args),
    AddRecipient(recipient::AddArgs),
    RemoveRecipient(recipient::RemoveArgs),
    Revoke(revoke::Args),
    Sign(sign::Args),
    Verify(verify::Args),
}

/// Runs a `keyset` subcommand.
pub fn run(command: Command, out: &Output) -> anyhow::Result<()> {
    match command {
        Command::Init(args) => init::run(args, out),
        Command::Add(args) => add::run(args, out),
        Command::Remove(args) => remove::run(args, out),
        Command::AddRecipient(args) => recipient::run_add(args, out),
        Command::RemoveRecipient(args) => recipient::run_remove(args, out),
        Command::Revoke(args) => revoke::run(args, out),
        Command::Sign(args) => sign::run(args, out),
        Command::Verify(args) => verify::run(args, out),
    }
}

/// Applies `change` to the keyset in `input` and writes the draft: in place if `input` is
/// unsigned, to `output.out` (which must differ) if it is signed.
fn edit(
    input: &Path,
    output: &OutArg,
    out: &Output,
    what: &str,
    change: impl FnOnce(&mut KeysetDocument) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let file = KeysetFile::read_file(input)?;
    let signatures = file.signatures().len();
    let mut document = if signatures == 0 {
        file.document().clone()
    } else {
        file.document().next_version()
    };
    let target = output.out.as_deref().unwrap_or(input);
    if signatures > 0 && target == input {
        anyhow::bail!(Refused(format!(
            "{} is signed (version {}, {signatures} signatures); \
             write the draft of version {} to a new file with --out",
            input.display(),
            file.document().version(),
            document.version()
        )));
    }
    change(&mut document)?;
    let version = document.version();
    KeysetFile::unsigned(document)
        .write_file(target)
        .context("cannot write the keyset draft")?;
    print_draft(out, target, version, what)
}

fn print_draft(out: &Output, path: &Path, version: u64, what: &str) -> anyhow::Result<()> {
    out.print(
        || {
            format!(
                "{what}\nwrote {}: keyset version {version}, unsigned draft; \
                 sign it with `sluice-keys keyset sign`\n",
                path.display()
            )
        },
        || json!({ "file": path, "version": version, "signatures": 0, "change": what }),
    )
}

/// The `--out` argument shared by the editing commands.
#[derive(clap::Args, Debug)]
struct OutArg {
    /// Write the result here. Required when the input is signed (the result is then the next
    /// version); defaults to editing an unsigned draft in place.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}
