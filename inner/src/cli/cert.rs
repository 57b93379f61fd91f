//! `sluice-inner cert show|verify|reissue`.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use bundle_format::records::MAX_CERTIFICATE_BYTES;
use keys::exit::{NotFound, Refused, stdout};

use super::Context;

/// Certificate subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Print a filing's current certificate (the exact bytes to publish as
    /// /cert/bazs.cert), or with --json its whole history ({"certificates": [...]}, newest first).
    Show(ShowArgs),
    /// Verify a certificate file against an inner-cert public key and print its text.
    Verify(VerifyArgs),
    /// Issue a fresh certificate for an approved filing, superseding the current one.
    Reissue(ReissueArgs),
}

/// Arguments of `cert show`.
#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// The subject's filing number.
    filing_number: String,
}

/// Arguments of `cert verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The certificate file (bazs.cert).
    file: PathBuf,
    /// The inner-cert public key file (signify format).
    #[arg(long)]
    public_key: PathBuf,
}

/// Arguments of `cert reissue`.
#[derive(Debug, clap::Args)]
pub struct ReissueArgs {
    /// The subject's filing number.
    filing_number: String,
    /// The `inner-cert` secret key file; an encrypted key's passphrase is read from
    /// SLUICE_CERT_KEY_PASSPHRASE.
    #[arg(long, env = "SLUICE_CERT_KEY")]
    cert_key: PathBuf,
}

/// Runs a certificate subcommand.
pub fn run(command: Command, context: &mut Context) -> anyhow::Result<()> {
    match command {
        Command::Show(args) => {
            let history = inner::certificates::history(context.client()?, &args.filing_number)?;
            if history.is_empty() {
                return Err(NotFound(format!("no certificate for {}", args.filing_number)).into());
            }
            if context.json {
                let list: Vec<_> = history
                    .iter()
                    .map(|c| {
                        serde_json::json!({
                            "certificate_id": c.certificate_id,
                            "filing_number": c.filing_number,
                            "receipt": c.receipt,
                            "issued_at": c.issued_at,
                            "expires_at": c.expires_at,
                            "status": c.status,
                            "supersedes": c.supersedes,
                            "document": String::from_utf8_lossy(&c.document),
                        })
                    })
                    .collect();
                return keys::exit::print_json(&serde_json::json!({
                    "filing_number": args.filing_number,
                    "certificates": list,
                }));
            }
            let newest = &history[0];
            if newest.status != "current" {
                return Err(Refused(format!(
                    "the newest certificate of {} is {}; there is none to publish",
                    args.filing_number, newest.status
                ))
                .into());
            }
            stdout().write_all(&newest.document)?;
            Ok(())
        }
        Command::Verify(args) => {
            let key = keys::PublicKey::read_file(&args.public_key)
                .with_context(|| format!("reading {}", args.public_key.display()))?;
            let metadata = std::fs::metadata(&args.file)
                .with_context(|| format!("reading {}", args.file.display()))?;
            if metadata.len() > MAX_CERTIFICATE_BYTES as u64 {
                anyhow::bail!(
                    "{} has {} bytes; a certificate has at most {MAX_CERTIFICATE_BYTES}",
                    args.file.display(),
                    metadata.len()
                );
            }
            let document = std::fs::read(&args.file)
                .with_context(|| format!("reading {}", args.file.display()))?;
            let text = inner::certificates::verify(&document, &key)
                .map_err(|e| Refused(format!("{}: {e}", args.file.display())))?;
            if context.json {
                return keys::exit::print_json(&serde_json::json!({ "valid": true, "text": text }));
            }
            write!(stdout(), "{text}")?;
            Ok(())
        }
        Command::Reissue(args) => {
            let key = super::read_cert_key(&args.cert_key)?;
            let mut tx = context.client()?.transaction()?;
            let issued =
                inner::certificates::reissue(&mut tx, &args.filing_number, &key, super::now())
                    .map_err(|e| match e {
                        inner::certificates::CertificateError::NotApproved { .. } => {
                            anyhow::Error::from(NotFound(e.to_string()))
                        }
                        other => other.into(),
                    })?;
            tx.commit()?;
            if context.json {
                return keys::exit::print_json(&serde_json::json!({
                    "certificate_id": issued.certificate_id,
                    "filing_number": issued.filing_number,
                    "supersedes": issued.supersedes,
                    "expires_at": issued.expires_at,
                }));
            }
            writeln!(
                stdout(),
                "certificate {} issued for {}, expires {}",
                issued.certificate_id,
                issued.filing_number,
                super::timestamp(issued.expires_at)
            )?;
            Ok(())
        }
    }
}
