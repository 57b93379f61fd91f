//! `sluice-keys keyset sign`: add one root key's signature.

use std::path::PathBuf;

use anyhow::Context as _;
use keys::exit::Refused;
use keys::{KeysetFile, Role, SecretKey};
use serde_json::json;

use crate::cmd::{Output, now, read_passphrase};

/// Sign a keyset with a root secret key; the signature is appended to the file.
///
/// Version 1 needs signatures from THRESHOLD of its own root keys. A later version needs them
/// from the previous version's roots and from its own (a root of both signs once).
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The keyset file; signed in place.
    #[arg(value_name = "KEYSET")]
    keyset: PathBuf,
    /// The root secret key file (signify format, mode 0600).
    #[arg(long, value_name = "SEC")]
    secret_key: PathBuf,
    /// The secret key's passphrase, in this file (`-` reads stdin).
    #[arg(long, value_name = "FILE")]
    passphrase_file: Option<PathBuf>,
}

/// Runs `keyset sign`.
pub fn run(args: Args, out: &Output) -> anyhow::Result<()> {
    let passphrase = read_passphrase(args.passphrase_file.as_deref())?;
    let key = SecretKey::read_file(&args.secret_key, passphrase.as_ref().map(|p| p.as_slice()))?;
    let mut file = KeysetFile::read_file(&args.keyset)?;
    let key_id = key.key_id();
    let note = match file.document().entry(key_id) {
        Some(entry) if entry.public_key != key.public_key() => {
            anyhow::bail!(Refused(format!(
                "the keyset lists key {key_id} with a different public key than {}",
                args.secret_key.display()
            )))
        }
        Some(entry) if entry.role != Role::Root => anyhow::bail!(Refused(format!(
            "key {key_id} is listed with role {}; only root keys sign keysets",
            entry.role
        ))),
        Some(entry) => {
            if let Err(refusal) = entry.check_time(now()) {
                anyhow::bail!(Refused(format!("key {key_id} may not sign now: {refusal}")));
            }
            "a root key of this version"
        }
        None => "not listed in this version: it counts only as a root key of the previous version",
    };
    file.sign(&key)
        .with_context(|| format!("cannot sign {}", args.keyset.display()))?;
    file.write_file(&args.keyset)?;
    let count = file.signatures().len();
    let version = file.document().version();
    out.print(
        || {
            format!(
                "signed {} (version {version}) with key {key_id} ({note}); \
                 signatures now: {count}, threshold: {}\n",
                args.keyset.display(),
                file.document().threshold()
            )
        },
        || {
            json!({
                "file": args.keyset,
                "version": version,
                "key_id": key_id.to_string(),
                "signatures": count,
                "threshold": file.document().threshold(),
            })
        },
    )
}
