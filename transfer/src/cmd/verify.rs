//! `verify FILE… --keyset K`: full verification of bundle files, no database.

use std::io::Write as _;
use std::path::PathBuf;

use keys::exit::{Outcome, stdout};

use crate::Global;

/// Verify bundle files against a keyset: signature, signer key and role, channel, header and
/// every record. For a keyset bundle, also show the keyset it carries (version, keys) and what
/// receiving it would do here. An encrypted bundle's records are read with --age-identity; without
/// it, its signature and header are verified and its content is reported as not read. Fails
/// (exit 1) if any file does not verify.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Bundle files.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

/// Runs `verify`.
pub fn run(global: &Global, args: &Args) -> anyhow::Result<Outcome> {
    let config = global.config()?;
    let (now, keysets) = super::keysets_now(&config)?;
    let identities = config.age_identities()?;
    let results: Vec<_> = args
        .files
        .iter()
        .map(|path| transfer::examine::verify_path(path, &keysets, now, &identities))
        .collect();
    let failed = results.iter().filter(|r| !r.ok).count();
    if global.json() {
        keys::exit::print_json(&serde_json::json!({ "files": results, "failed": failed }))?;
    } else {
        for r in &results {
            if r.ok {
                let records: Vec<String> =
                    r.records.iter().map(|(k, n)| format!("{n} {k}")).collect();
                writeln!(
                    stdout(),
                    "OK   {}\n     bundle {} signed by {} ({}), {} on channel {} epoch {} sequence {}\n     created {} expires {}; records: {}",
                    r.file,
                    r.bundle_id.as_deref().unwrap_or("-"),
                    r.signer_key_id.as_deref().unwrap_or("-"),
                    r.signer_role.as_deref().unwrap_or("-"),
                    r.kind.as_deref().unwrap_or("-"),
                    r.channel.unwrap_or_default(),
                    r.epoch.unwrap_or_default(),
                    r.sequence.unwrap_or_default(),
                    r.created.as_deref().unwrap_or("-"),
                    r.expires.as_deref().unwrap_or("-"),
                    if records.is_empty() {
                        "none".to_owned()
                    } else {
                        records.join(", ")
                    },
                )?;
                if let Some(keyset) = &r.keyset {
                    writeln!(
                        stdout(),
                        "     keyset version {}, threshold {}, {} key(s), signed by {}",
                        keyset.version,
                        keyset.threshold,
                        keyset.keys.len(),
                        keyset.signed_by.join(", ")
                    )?;
                    for line in keyset.key_lines() {
                        writeln!(stdout(), "       {line}")?;
                    }
                }
                if let Some(judgement) = &r.keyset_judgement {
                    writeln!(stdout(), "     here: {judgement}")?;
                }
                if r.encrypted == Some(true) {
                    let note = r
                        .content_not_read
                        .as_deref()
                        .unwrap_or("decrypted and read");
                    writeln!(stdout(), "     encrypted on the medium: {note}")?;
                }
            } else {
                writeln!(
                    stdout(),
                    "FAIL {}: {} ({})",
                    r.file,
                    r.reason.as_deref().unwrap_or("-"),
                    r.code.as_deref().unwrap_or("-")
                )?;
            }
        }
    }
    if failed > 0 {
        anyhow::bail!("{failed} of {} file(s) did not verify", results.len());
    }
    Ok(Outcome::Done)
}
