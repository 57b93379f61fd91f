//! `sluice-inner serve-review`: the review page.

use std::io::Write as _;
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
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("listening on {}", args.listen))?;
        let address = listener
            .local_addr()
            .context("reading the listening address")?;
        writeln!(
            keys::exit::stdout(),
            "serving the review page at http://{address}/"
        )?;
        inner::review_page::serve(listener, state, super::serve_ops::shutdown())
            .await
            .context("serving the review page")
    })
}
