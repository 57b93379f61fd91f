//! `sluice-keys show`: what a public key is, and what a keyset lets it do.

use std::path::PathBuf;

use keys::{KeysetFile, PublicKey};
use serde_json::json;

use super::{Output, channel_list, format_time, now, status_word};

/// Show a public key's key id and fingerprint, and with --keyset its role and validity.
///
/// Compare the fingerprint over a trusted channel before installing a keyset that lists the
/// key. `show` reads the keyset without checking its signatures; `keyset verify` does that.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The signify public key file.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Also show what this keyset file says about the key.
    #[arg(long, value_name = "KEYSET")]
    keyset: Option<PathBuf>,
}

/// Runs `show`.
pub fn run(args: Args, out: &Output) -> anyhow::Result<()> {
    let public = PublicKey::read_file(&args.file)?;
    let keyset = args
        .keyset
        .as_deref()
        .map(KeysetFile::read_file)
        .transpose()?;
    let now = now();
    let entry = keyset
        .as_ref()
        .and_then(|k| k.document().entry(public.key_id()).cloned())
        .filter(|entry| entry.public_key == public);
    let status = entry.as_ref().map(|entry| match entry.check_time(now) {
        Ok(()) => "valid now".to_owned(),
        Err(keys::KeyRejection::Revoked { revoked_at, .. }) => {
            format!("revoked since {}", format_time(revoked_at))
        }
        Err(keys::KeyRejection::Expired { not_after, .. }) => {
            format!("expired since {}", format_time(not_after))
        }
        Err(keys::KeyRejection::NotYetValid { not_before, .. }) => {
            format!("not valid before {}", format_time(not_before))
        }
        Err(refusal) => refusal.to_string(),
    });
    let status_word = entry.as_ref().map(|entry| status_word(entry, now));

    out.print(
        || {
            let mut text = format!(
                "file:        {}\nkey id:      {}\nfingerprint: {}\n",
                args.file.display(),
                public.key_id(),
                public.fingerprint()
            );
            if let Some(keyset) = &keyset {
                let version = keyset.document().version();
                match &entry {
                    None => text.push_str(&format!(
                        "keyset:      not listed in keyset version {version}\n"
                    )),
                    Some(entry) => {
                        text.push_str(&format!(
                            "keyset:      version {version} (signatures not checked here)\n\
                             role:        {}\n\
                             channels:    {}\n\
                             not before:  {}\n\
                             not after:   {}\n\
                             revoked at:  {}\n\
                             status:      {}\n",
                            entry.role,
                            channel_list(&entry.channels),
                            format_time(entry.not_before),
                            format_time(entry.not_after),
                            entry.revoked_at.map_or_else(|| "-".to_owned(), format_time),
                            status.as_deref().unwrap_or(""),
                        ));
                    }
                }
            }
            text
        },
        || {
            let mut value = json!({
                "file": args.file,
                "key_id": public.key_id().to_string(),
                "fingerprint": public.fingerprint().to_string(),
            });
            if let Some(keyset) = &keyset {
                value["keyset_version"] = json!(keyset.document().version());
                value["in_keyset"] = json!(entry.is_some());
                if let Some(entry) = &entry {
                    value["role"] = json!(entry.role.as_str());
                    value["channels"] =
                        json!(entry.channels.iter().map(|c| c.0).collect::<Vec<_>>());
                    value["not_before"] = json!(entry.not_before);
                    value["not_after"] = json!(entry.not_after);
                    value["revoked_at"] = json!(entry.revoked_at);
                    value["status"] = json!(status_word);
                }
            }
            value
        },
    )
}
