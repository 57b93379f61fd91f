//! `sluice-outer serve`

use std::io::Write as _;
use std::net::SocketAddr;

use anyhow::Context as _;
use keys::exit::stdout;

use super::ConfigArgs;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    config: ConfigArgs,
    /// Address to listen on (overrides `listen` in the file).
    #[arg(long, env = "SLUICE_OUTER_LISTEN")]
    listen: Option<SocketAddr>,
}

/// Resolves on SIGTERM or Ctrl-C. The SIGTERM handler is `terminate`, installed before the
/// service says it is listening: a supervisor may stop it the moment it has said so, and a
/// SIGTERM before the handler exists would kill it without its clean stop.
async fn shutdown_signal(terminate: std::io::Result<tokio::signal::unix::Signal>) {
    let terminate = async {
        match terminate {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = terminate => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    tracing::info!("shutting down: finishing in-flight requests and commits");
}

/// Runs `serve`.
pub fn run(args: Args, json: bool) -> anyhow::Result<()> {
    let mut config = args.config.load()?;
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    let store = outer::store::Store::open(&config.database)
        .with_context(|| format!("opening {}", config.database.display()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("listening on {}", config.listen))?;
        let local = listener.local_addr().context("reading the bound address")?;
        let terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate());
        // Tests and scripts read this line to learn the port when listening on port 0. With
        // --json it is the run's one object: "stopped" below would be a second.
        if json {
            keys::exit::print_json(&serde_json::json!({ "listening": local.to_string() }))?;
        } else {
            writeln!(stdout(), "listening on {local}")?;
        }
        let state = outer::http::AppState::new(store, config.limits.clone());
        outer::http::serve(listener, state, shutdown_signal(terminate))
            .await
            .context("serving")
    })?;
    if !json {
        writeln!(stdout(), "stopped")?;
    }
    Ok(())
}
