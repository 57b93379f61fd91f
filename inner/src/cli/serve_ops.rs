//! `sluice-inner serve-ops`: the read-only operations page.

use std::io::Write as _;
use std::net::SocketAddr;

use anyhow::Context as _;

use super::Context;

/// Serve the read-only operations page (plots of the metrics history, the timers' last runs)
/// at http://ADDR/ops until interrupted. It reads through read-only sessions and applies no
/// migration; it has no login, so listen on a loopback or operations-network address only.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address and port to listen on, e.g. 127.0.0.1:9180.
    #[arg(long, value_name = "ADDR")]
    listen: SocketAddr,
}

/// Serves until SIGINT or SIGTERM.
pub fn run(args: Args, context: &mut Context) -> anyhow::Result<()> {
    let url = context
        .database_url
        .clone()
        .context("no database given: pass --database-url or set SLUICE_DATABASE_URL")?;
    serve_page(args.listen, "the operations page", "/ops", |listener| {
        inner::ops_page::serve(listener, url, shutdown())
    })
}

/// Logs to stderr, listens on `listen`, says where `what` is served (at `path`), and runs
/// `serve` on the listener until it ends (on SIGINT or SIGTERM): what `serve-ops` and
/// `serve-review` share.
pub(super) fn serve_page<F>(
    listen: SocketAddr,
    what: &str,
    path: &str,
    serve: impl FnOnce(tokio::net::TcpListener) -> F,
) -> anyhow::Result<()>
where
    F: std::future::Future<Output = std::io::Result<()>>,
{
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
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("listening on {listen}"))?;
        let address = listener
            .local_addr()
            .context("reading the listening address")?;
        writeln!(
            keys::exit::stdout(),
            "serving {what} at http://{address}{path}"
        )?;
        serve(listener)
            .await
            .with_context(|| format!("serving {what}"))
    })
}

/// Resolves on SIGINT or SIGTERM.
pub(super) async fn shutdown() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
