//! `inspect FILE`: what a bundle file holds, without keys or a database.

use std::path::PathBuf;

use transfer::exit::Outcome;

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
        super::print_json(&value);
    } else {
        let i = &inspection;
        println!("file:        {}", args.file.display());
        println!("signature:   NOT verified by inspect (use `sluice-transfer verify`)");
        println!("bundle id:   {}", i.bundle_id);
        println!("comment:     {}", i.comment);
        println!("signer key:  {}", i.signer_key_id);
        println!("kind:        {}", i.kind);
        println!(
            "channel:     {}  epoch {}  sequence {}  part {}/{}",
            i.channel, i.epoch, i.sequence, i.part.0, i.part.1
        );
        println!("previous:    {}", i.previous);
        println!("created:     {}", i.created);
        println!("expires:     {}", i.expires);
        println!(
            "payload:     {} bytes compressed, {} bytes of records",
            i.payload_bytes, i.content_bytes
        );
        if let Some(problem) = &i.payload_problem {
            println!("records:     do not decode: {problem}");
        } else if i.records.is_empty() {
            println!("records:     none");
        } else {
            for (kind, count) in &i.records {
                println!("records:     {count} {kind}");
            }
        }
        if let Some(keyset) = &i.keyset {
            println!(
                "keyset:      version {}, threshold {}, {} key(s), signed by {} (NOT verified)",
                keyset.version,
                keyset.threshold,
                keyset.keys.len(),
                if keyset.signed_by.is_empty() {
                    "nobody".to_owned()
                } else {
                    keyset.signed_by.join(", ")
                }
            );
            for line in keyset.key_lines() {
                println!("             {line}");
            }
        }
        if let Some(problem) = &i.keyset_problem {
            println!("keyset:      does not parse: {problem}");
        }
        if args.show_records {
            for (n, record) in records.iter().enumerate() {
                println!("--- record {n}\n{record:#?}");
            }
        }
    }
    Ok(Outcome::Done)
}
