//! `sluice-keys generate`: a new key pair in signify's file formats.

use std::path::PathBuf;

use anyhow::Context as _;
use keys::{Role, SecretKey};
use serde_json::json;

use super::{Output, parse_role, read_passphrase, with_extension};

/// Generate a new Ed25519 key pair: PREFIX.sec (mode 0600) and PREFIX.pub.
///
/// The files are in signify's formats, so `signify-openbsd -S -s PREFIX.sec` and
/// `signify-openbsd -V -p PREFIX.pub` work with them. The role is written into the files'
/// comment for people to read; what a key may actually sign is decided by the keyset
/// (`sluice-keys keyset add`). Existing files are never overwritten.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// What the key will sign: root, outer-bundle, inner-return or inner-cert.
    #[arg(long, value_parser = parse_role)]
    role: Role,
    /// Path prefix of the key files; `.sec` and `.pub` are appended.
    #[arg(long, value_name = "PREFIX")]
    out: PathBuf,
    /// Encrypt the secret key with the passphrase in this file (first line; `-` reads stdin).
    /// Without it the secret key is stored unencrypted, like `signify -G -n`.
    #[arg(long, value_name = "FILE")]
    passphrase_file: Option<PathBuf>,
}

/// Runs `generate`.
pub fn run(args: Args, out: &Output) -> anyhow::Result<()> {
    let passphrase = read_passphrase(args.passphrase_file.as_deref())?;
    let secret_path = with_extension(&args.out, ".sec");
    let public_path = with_extension(&args.out, ".pub");
    // Refuse before writing either file, so a half-made pair is not left behind.
    for path in [&secret_path, &public_path] {
        if path.exists() {
            anyhow::bail!(keys::KeyFileError::AlreadyExists { file: path.clone() });
        }
    }

    let key = SecretKey::generate();
    let public = key.public_key();
    let comment = format!("sluice {}", args.role);
    key.write_file(
        &secret_path,
        &format!("{comment} secret key"),
        passphrase.as_ref().map(|p| p.as_slice()),
    )
    .context("cannot write the secret key")?;
    public
        .write_file(&public_path, &format!("{comment} public key"))
        .context("cannot write the public key")?;

    out.print(
        || {
            format!(
                "wrote secret key {} (mode 0600, {})\n\
                 wrote public key {}\n\
                 key id:      {}\n\
                 fingerprint: {}\n\
                 role:        {} (takes effect once a signed keyset lists it: `sluice-keys keyset add`)\n",
                secret_path.display(),
                if passphrase.is_some() { "encrypted with the passphrase" } else { "unencrypted" },
                public_path.display(),
                public.key_id(),
                public.fingerprint(),
                args.role,
            )
        },
        || {
            json!({
                "secret_key_file": secret_path,
                "public_key_file": public_path,
                "encrypted": passphrase.is_some(),
                "key_id": public.key_id().to_string(),
                "fingerprint": public.fingerprint().to_string(),
                "role": args.role.as_str(),
            })
        },
    )
}
