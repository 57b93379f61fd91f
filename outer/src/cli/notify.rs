//! `sluice-outer notify`: one pass over the e-mail notifications due.

use std::io::Write as _;

use anyhow::Context as _;
use keys::exit::stdout;

use super::ConfigArgs;

/// Send the e-mail notifications due now (approvals with their certificate attached, returns
/// for changes, rejections, revoked certificates) through the relay of the `[mail]` section,
/// once each; failures are retried on a later pass. The intake service runs such a pass every
/// minute when `[mail]` is set; this runs one now. Exits 1 if any message failed.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    config: ConfigArgs,
}

/// Runs `notify`.
pub fn run(args: Args, json: bool) -> anyhow::Result<()> {
    let config = args.config.load()?;
    let mail = config
        .mail
        .clone()
        .context("the configuration has no [mail] section: there is no relay to send through")?;
    let store = outer::store::Store::open(&config.database)
        .with_context(|| format!("opening {}", config.database.display()))?;
    let mailer = outer::mail::Mailer::new(mail);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let report = runtime.block_on(outer::notify::send_due(&store, &mailer, now))?;
    if json {
        keys::exit::print_json(&serde_json::to_value(&report)?)?;
    } else {
        writeln!(
            stdout(),
            "sent {} notification(s); {} failed (tried again later); {} approval(s) wait for \
             their certificate",
            report.sent,
            report.failed.len(),
            report.waiting_for_certificate
        )?;
    }
    if let Some(first) = report.failed.first() {
        anyhow::bail!(
            "{} notification(s) could not be sent: {first}",
            report.failed.len()
        );
    }
    Ok(())
}
