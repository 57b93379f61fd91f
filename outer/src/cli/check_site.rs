//! `sluice-outer check-site DOMAIN`: the crawler's check of a published certificate.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use keys::exit::stdout;
use outer::site_check::{RegisterStanding, SiteCheck};

/// Check a filed website the way the authority's crawler does.
///
/// Fetches http://DOMAIN/cert/bazs.cert and the home page; checks that the certificate is signed
/// by the published certificate key, names DOMAIN and has not expired, that the home page shows
/// its filing number, and with --database that it is the current, unrevoked certificate of its
/// filing. Prints one line per finding; exits 0 when all hold and 5 (refused) when any does not.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The website's domain.
    domain: String,
    /// The published `inner-cert` public key (signify format).
    #[arg(long, value_name = "PUB")]
    certificate_key: PathBuf,
    /// Connect to this address instead of resolving DOMAIN (the Host header stays DOMAIN).
    #[arg(long, value_name = "ADDR:PORT")]
    connect: Option<SocketAddr>,
    /// The outer store, to check the certificate against the filing's current one.
    #[arg(long, value_name = "SQLITE", env = "SLUICE_OUTER_DATABASE")]
    database: Option<PathBuf>,
}

/// Runs `check-site`.
pub fn run(args: Args, json: bool) -> anyhow::Result<()> {
    let key = keys::PublicKey::read_file(&args.certificate_key)
        .with_context(|| format!("reading {}", args.certificate_key.display()))?;
    let store = match &args.database {
        Some(path) => Some(
            outer::store::Store::open(path)
                .with_context(|| format!("opening {}", path.display()))?,
        ),
        None => None,
    };
    let lookup = |filing_number: &str, document: &[u8]| -> RegisterStanding {
        let Some(store) = &store else {
            return RegisterStanding::Unknown;
        };
        let filing_number = filing_number.to_owned();
        let document = document.to_vec();
        store
            .read_blocking(move |conn| {
                outer::store::certificate_standing_on(conn, &filing_number, &document)
            })
            .unwrap_or(RegisterStanding::Unknown)
    };
    let check = SiteCheck {
        domain: &args.domain,
        connect: args.connect,
        certificate_key: &key,
        now: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
        register: store
            .as_ref()
            .map(|_| &lookup as &dyn Fn(&str, &[u8]) -> RegisterStanding),
    };
    let report = check.run();
    if json {
        keys::exit::print_json(&serde_json::json!({
            "domain": report.domain,
            "ok": report.ok(),
            "filing_number": report.filing_number,
            "findings": report.findings,
        }))?;
    } else {
        for finding in &report.findings {
            writeln!(
                stdout(),
                "{} {:<19} {}",
                if finding.ok { "ok  " } else { "FAIL" },
                finding.check,
                finding.detail
            )?;
        }
    }
    if !report.ok() {
        let failed: Vec<&str> = report
            .findings
            .iter()
            .filter(|f| !f.ok)
            .map(|f| f.check)
            .collect();
        anyhow::bail!(keys::exit::Refused(format!(
            "{} does not pass: {}",
            args.domain,
            failed.join(", ")
        )));
    }
    Ok(())
}
