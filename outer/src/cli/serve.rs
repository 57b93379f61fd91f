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

/// Resolves on SIGTERM or SIGINT. The handlers are installed when this is called, not when the
/// future is first polled, so a signal that arrives the moment "listening on" is printed (a
/// supervisor, or a test, acting on that line) stops the service cleanly instead of killing it.
/// Must be called inside the runtime.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("listening for SIGINT")?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
        tracing::info!("shutting down: finishing in-flight requests and commits");
    })
}

/// Sends the notifications due, once a minute, for as long as the service runs. A pass that
/// fails (the store, not a message: those are retried by the pass itself) is logged and the
/// next one runs as usual.
async fn notify_every_minute(store: outer::store::Store, mailer: outer::mail::Mailer) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
    loop {
        tick.tick().await;
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        if let Err(error) = outer::notify::send_due(&store, &mailer, now).await {
            tracing::error!(error = %error, "a notification pass failed");
        }
    }
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
        let shutdown = shutdown_signal()?;
        // Tests and scripts read this line to learn the port when listening on port 0. With
        // --json it is the run's one object: "stopped" below would be a second.
        if json {
            keys::exit::print_json(&serde_json::json!({ "listening": local.to_string() }))?;
        } else {
            writeln!(stdout(), "listening on {local}")?;
        }
        let mailer = config.mail.clone().map(outer::mail::Mailer::new);
        if let Some(mailer) = mailer.clone() {
            tokio::spawn(notify_every_minute(store.clone(), mailer));
        }
        let mut state = outer::http::AppState::with_accounts(
            store,
            config.limits.clone(),
            config.accounts.clone(),
            mailer,
        );
        if let Some(checks) = &config.site_check {
            let key = keys::PublicKey::read_file(&checks.certificate_key).with_context(|| {
                format!(
                    "reading the certificate key {}",
                    checks.certificate_key.display()
                )
            })?;
            state = state.with_site_checks(outer::http::site_checks::SiteChecks::new(
                key,
                checks.connect.clone(),
                std::time::Duration::from_secs(checks.interval_secs.max(1)),
            ));
        }
        outer::http::serve(listener, state, shutdown)
            .await
            .context("serving")
    })?;
    if !json {
        writeln!(stdout(), "stopped")?;
    }
    Ok(())
}
