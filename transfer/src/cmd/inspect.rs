//! `inspect FILE`: what a bundle file holds, without keys or a database.

use std::io::Write as _;
use std::path::PathBuf;

use keys::exit::{Outcome, stdout};

use crate::Global;

/// Describe a bundle file: header, signer key number, record counts. The signature is NOT
/// verified (use `verify`). Personal data is shown only with `--show-records`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The bundle file.
    file: PathBuf,
    /// Also print every record in full (contains personal data).
    #[arg(long)]
    show_records: bool,
}

/// Runs `inspect`.
pub fn run(global: &Global, args: &Args) -> anyhow::Result<Outcome> {
    let bytes = transfer::examine::read_file(&args.file)
        .map_err(|r| anyhow::anyhow!("{}: {} ({})", args.file.display(), r.reason, r.code))?;
    let (inspection, records) = transfer::examine::inspect(&bytes)
        .map_err(|r| anyhow::anyhow!("{}: {} ({})", args.file.display(), r.reason, r.code))?;
    if global.json() {
        let mut value = serde_json::to_value(&inspection)?;
        value["signature_verified"] = serde_json::Value::Bool(false);
        if args.show_records {
            value["records_full"] = serde_json::Value::Array(
                records
                    .iter()
                    .map(|r| serde_json::Value::String(format!("{r:?}")))
                    .collect(),
            );
        }
        keys::exit::print_json(&value)?;
    } else {
        let i = &inspection;
        writeln!(stdout(), "file:        {}", args.file.display())?;
        writeln!(
            stdout(),
            "signature:   NOT verified by inspect (use `sluice-transfer verify`)"
        )?;
        writeln!(stdout(), "bundle id:   {}", i.bundle_id)?;
        writeln!(stdout(), "comment:     {}", i.comment)?;
        writeln!(stdout(), "signer key:  {}", i.signer_key_id)?;
        writeln!(stdout(), "kind:        {}", i.kind)?;
        writeln!(
            stdout(),
            "channel:     {}  epoch {}  sequence {}  part {}/{}",
            i.channel,
            i.epoch,
            i.sequence,
            i.part.0,
            i.part.1
        )?;
        writeln!(stdout(), "previous:    {}", i.previous)?;
        writeln!(stdout(), "created:     {}", i.created)?;
        writeln!(stdout(), "expires:     {}", i.expires)?;
        writeln!(
            stdout(),
            "payload:     {} bytes compressed, {} bytes of records",
            i.payload_bytes,
            i.content_bytes
        )?;
        if let Some(problem) = &i.payload_problem {
            writeln!(stdout(), "records:     do not decode: {problem}")?;
        } else if i.records.is_empty() {
            writeln!(stdout(), "records:     none")?;
        } else {
            for (kind, count) in &i.records {
                writeln!(stdout(), "records:     {count} {kind}")?;
            }
        }
        if let Some(keyset) = &i.keyset {
            writeln!(
                stdout(),
                "keyset:      version {}, threshold {}, {} key(s), signed by {} (NOT verified)",
                keyset.version,
                keyset.threshold,
                keyset.keys.len(),
                if keyset.signed_by.is_empty() {
                    "nobody".to_owned()
                } else {
                    keyset.signed_by.join(", ")
                }
            )?;
            for line in keyset.key_lines() {
                writeln!(stdout(), "             {line}")?;
            }
        }
        if let Some(problem) = &i.keyset_problem {
            writeln!(stdout(), "keyset:      does not parse: {problem}")?;
        }
        if args.show_records {
            for (n, record) in records.iter().enumerate() {
                writeln!(stdout(), "--- record {n}\n{record:#?}")?;
            }
        }
    }
    Ok(Outcome::Done)
}
