//! `sluice-inner serve-review`: the review page.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;

use super::Context;

/// Serve the review page (queues per stage and province, each submission whole with its scans,
/// and the decision forms) at http://ADDR/ until interrupted. Reviewers sign in with their
/// account name and password (a form and a session cookie, or HTTP Basic: put it behind TLS
/// unless it listens on the reviewers' own isolated network); the same rules as `review
/// approve|return|reject` apply.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address and port to listen on, e.g. 10.1.0.5:9190.
    #[arg(long, value_name = "ADDR")]
    listen: SocketAddr,
    /// The `inner-cert` secret key file (signify format) that signs certificates on approval.
    /// An encrypted key's passphrase is read from SLUICE_CERT_KEY_PASSPHRASE.
    #[arg(long, env = "SLUICE_CERT_KEY")]
    cert_key: PathBuf,
}

/// Serves until SIGINT or SIGTERM.
pub fn run(args: Args, context: &mut Context) -> anyhow::Result<()> {
    let certifier = super::read_cert_key(&args.cert_key)?;
    // Migrate once now, as every command that writes does.
    context.client()?;
    let url = context
        .database_url
        .clone()
        .context("no database given: pass --database-url or set SLUICE_DATABASE_URL")?;
    let target = inner::db::Target::parse(&url)?;
    let state = Arc::new(inner::review_page::PageState::new(target, certifier));
    super::serve_ops::serve_page(args.listen, "the review page", "/", |listener| {
        inner::review_page::serve(listener, state, super::serve_ops::shutdown())
    })
}
