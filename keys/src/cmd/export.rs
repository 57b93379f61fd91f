//! `sluice-keys export`: a public key in another format.

use std::path::PathBuf;

use anyhow::Context as _;
use keys::PublicKey;

use super::Output;

/// Export a public key for independent checks with other tools.
///
/// `--openssl` prints the key as an SPKI PEM, so a signature can be checked with
/// `openssl pkeyutl -verify -pubin -inkey KEY.pem -rawin -in MESSAGE -sigfile SIG`, where SIG
/// holds the raw 64 signature bytes.
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
pub fn run(args: Args, _out: &Output) -> anyhow::Result<()> {
    let public = PublicKey::read_file(&args.file)?;
    let pem = public.to_openssl_pem();
    match &args.out {
        Some(path) => std::fs::write(path, &pem)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => print!("{pem}"),
    }
    Ok(())
}
