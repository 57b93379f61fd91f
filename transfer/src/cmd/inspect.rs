//! `inspect FILE`: what a bundle file holds, without keys or a database.

use std::io::Write as _;
use std::path::PathBuf;

use keys::exit::{Outcome, stdout};

use crate::Global;

/// Describe a bundle file: header, signer key number, record counts. The signature is NOT
/// verified (use `verify`). Personal data is shown only with `--show-records`. An encrypted
/// bundle's records are read only with --age-identity.
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
    let identities = global.config()?.age_identities()?;
    let (inspection, records) = transfer::examine::inspect(&bytes, &identities)
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
        let position = format!(
            "{}  epoch {}  sequence {}  part {}/{}",
            i.channel, i.epoch, i.sequence, i.part.0, i.part.1
        );
        let sizes = format!(
            "{} bytes compressed{}, {} bytes of records",
            i.payload_bytes,
            if i.encrypted { " and encrypted" } else { "" },
            i.content_bytes
        );
        field("file:", args.file.display())?;
        field(
            "signature:",
            "NOT verified by inspect (use `sluice-transfer verify`)",
        )?;
        field("bundle id:", &i.bundle_id)?;
        field("comment:", &i.comment)?;
        field("signer key:", &i.signer_key_id)?;
        field("kind:", &i.kind)?;
        field("channel:", position)?;
        field("previous:", &i.previous)?;
        field("created:", &i.created)?;
        field("expires:", &i.expires)?;
        field("payload:", sizes)?;
        if let Some(problem) = &i.payload_problem {
            field("records:", format_args!("do not decode: {problem}"))?;
        } else if i.records.is_empty() {
            field("records:", "none")?;
        } else {
            for (kind, count) in &i.records {
                field("records:", format_args!("{count} {kind}"))?;
            }
        }
        if let Some(keyset) = &i.keyset {
            let signers = if keyset.signed_by.is_empty() {
                "nobody".to_owned()
            } else {
                keyset.signed_by.join(", ")
            };
            field(
                "keyset:",
                format_args!(
                    "version {}, threshold {}, {} key(s), signed by {signers} (NOT verified)",
                    keyset.version,
                    keyset.threshold,
                    keyset.keys.len(),
                ),
            )?;
            for line in keyset.key_lines() {
                field("", line)?;
            }
        }
        if let Some(problem) = &i.keyset_problem {
            field("keyset:", format_args!("does not parse: {problem}"))?;
        }
        if args.show_records {
            for (n, record) in records.iter().enumerate() {
                writeln!(stdout(), "--- record {n}\n{record:#?}")?;
            }
        }
    }
    Ok(Outcome::Done)
}

/// One `label:     value` line, values lined up in the column after the longest label.
fn field(label: &str, value: impl std::fmt::Display) -> std::io::Result<()> {
    writeln!(stdout(), "{label:<13}{value}")
}
