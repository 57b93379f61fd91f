//! `sluice-keys export`: a public key in another format.

use std::path::PathBuf;

use anyhow::Context as _;
use keys::PublicKey;
use serde_json::json;

use super::Output;

/// Export a public key for independent checks with other tools.
///
/// `--openssl` prints the key as an SPKI PEM, so a signature can be checked with
/// `openssl pkeyutl -verify -pubin -inkey KEY.pem -rawin -in MESSAGE -sigfile SIG`, where SIG
/// holds the raw 64 signature bytes. With --json the PEM is printed inside a JSON object with the
/// key id and fingerprint (or, with --out, the object names the file written).
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Write the key as an OpenSSL SPKI PEM (the only export format so far).
    #[arg(long, required = true)]
    openssl: bool,
    /// The signify public key file.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Write the PEM to this file instead of stdout.
    #[arg(long, value_name = "PEM")]
    out: Option<PathBuf>,
}

/// Runs `export`.
pub fn run(args: Args, out: &Output) -> anyhow::Result<()> {
    let public = PublicKey::read_file(&args.file)?;
    let pem = public.to_openssl_pem();
    if let Some(path) = &args.out {
        std::fs::write(path, &pem).with_context(|| format!("cannot write {}", path.display()))?;
    }
    // Text output stays exactly the PEM (or nothing when it went to a file), so that it can be
    // piped into openssl.
    out.print(
        || match &args.out {
            Some(_) => String::new(),
            None => pem.clone(),
        },
        || {
            let mut value = json!({
                "file": args.file,
                "key_id": public.key_id().to_string(),
                "fingerprint": public.fingerprint().to_string(),
                "format": "openssl-spki-pem",
            });
            match &args.out {
                Some(path) => value["out"] = json!(path),
                None => value["pem"] = json!(pem),
            }
            value
        },
    )
}
