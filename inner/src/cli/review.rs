//! `sluice-inner review list|show|approve|return|reject`.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use inner::review::ReviewError;
use inner::workflow::{self, ReturnTo};
use keys::exit::{NotFound, Refused, stdout};

use super::Context;
use super::credentials::Credentials;

/// Review subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// List submissions awaiting review, oldest first.
    List(ListArgs),
    /// Show one submission with its websites, history and conflicts.
    Show(ShowArgs),
    /// Pass the current stage; the last stage approves, numbers and certifies.
    Approve(ApproveArgs),
    /// Send a submission back to its access provider or submitter.
    Return(ReturnArgs),
    /// Reject a submission.
    Reject(RejectArgs),
}

/// Arguments of `review list`.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Only this province (two-digit GB/T 2260 code, e.g. 11 for Beijing).
    #[arg(long)]
    province: Option<i16>,
    /// Only this state (e.g. awaiting-regional-review, returned-to-provider).
    #[arg(long)]
    state: Option<String>,
    /// Only submissions in their state for at least this long (e.g. 90m, 36h, 7d).
    #[arg(long, value_parser = parse_age)]
    older_than: Option<i64>,
}

/// Arguments of `review show`.
#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// Receipt id.
    receipt: String,
}

/// Arguments of `review approve`.
#[derive(Debug, clap::Args)]
pub struct ApproveArgs {
    /// Receipt id.
    receipt: String,
    #[command(flatten)]
    credentials: Credentials,
    /// Optional note.
    #[arg(long)]
    reason: Option<String>,
    /// The `inner-cert` secret key file (signify format) that signs certificates. An encrypted
    /// key's passphrase is read from SLUICE_CERT_KEY_PASSPHRASE.
    #[arg(long, env = "SLUICE_CERT_KEY")]
    cert_key: PathBuf,
}

/// Who a submission goes back to.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ReturnTarget {
    Provider,
    Submitter,
}

/// Arguments of `review return`.
#[derive(Debug, clap::Args)]
pub struct ReturnArgs {
    /// Receipt id.
    receipt: String,
    /// Who it goes back to.
    #[arg(long, value_enum, default_value = "provider")]
    to: ReturnTarget,
    #[command(flatten)]
    credentials: Credentials,
    /// What must be corrected.
    #[arg(long)]
    reason: String,
}

/// Arguments of `review reject`.
#[derive(Debug, clap::Args)]
pub struct RejectArgs {
    /// Receipt id.
    receipt: String,
    #[command(flatten)]
    credentials: Credentials,
    /// Why.
    #[arg(long)]
    reason: String,
}

fn parse_age(text: &str) -> Result<i64, String> {
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => {
            return Err(format!(
                "{text:?}: give a number with s, m, h or d, e.g. 7d"
            ));
        }
    };
    number
        .parse::<i64>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .filter(|n| *n >= 0)
        .ok_or_else(|| format!("{text:?}: give a number with s, m, h or d, e.g. 7d"))
}

/// Runs a review subcommand.
pub fn run(command: Command, context: &mut Context) -> anyhow::Result<()> {
    match command {
        Command::List(args) => list(args, context),
        Command::Show(args) => show(args, context),
        Command::Approve(args) => {
            let key = super::read_cert_key(&args.cert_key)?;
            let reviewer = args.credentials.login(context)?;
            decide(context, |tx| {
                inner::review::approve(
                    tx,
                    &args.receipt,
                    &reviewer,
                    args.reason.as_deref(),
                    &key,
                    super::now(),
                )
            })
        }
        Command::Return(args) => {
            let reviewer = args.credentials.login(context)?;
            decide(context, |tx| {
                let to = match args.to {
                    ReturnTarget::Provider => ReturnTo::Provider,
                    ReturnTarget::Submitter => ReturnTo::Submitter,
                };
                inner::review::return_submission(
                    tx,
                    &args.receipt,
                    to,
                    &reviewer,
                    &args.reason,
                    super::now(),
                )
            })
        }
        Command::Reject(args) => {
            let reviewer = args.credentials.login(context)?;
            decide(context, |tx| {
                inner::review::reject(tx, &args.receipt, &reviewer, &args.reason, super::now())
            })
        }
    }
}

fn list(args: ListArgs, context: &mut Context) -> anyhow::Result<()> {
    if let Some(state) = &args.state
        && workflow::parse_state(state).is_none()
    {
        let names: Vec<&str> = workflow::STATES.iter().map(|(_, n)| *n).collect();
        anyhow::bail!("unknown state {state:?}; one of: {}", names.join(", "));
    }
    let filter = inner::queue::ListFilter {
        province: args.province,
        state: args.state,
        min_age_seconds: args.older_than,
    };
    let entries = inner::queue::list(context.client()?, &filter, super::now())?;
    super::print_rows(
        context,
        "submissions",
        &entries,
        "no submissions match",
        |e| {
            format!(
                "{}\tv{}\t{}\t{}\t{}\tsince {}{}",
                e.receipt,
                e.version,
                e.kind,
                e.province,
                e.state,
                super::timestamp(e.state_since),
                e.conflict
                    .as_deref()
                    .map(|c| format!("\tCONFLICT {c}"))
                    .unwrap_or_default()
            )
        },
    )
}

fn show(args: ShowArgs, context: &mut Context) -> anyhow::Result<()> {
    let view = match inner::queue::show(context.client()?, &args.receipt) {
        Err(inner::queue::QueueError::UnknownReceipt(r)) => {
            return Err(NotFound(format!("no submission with receipt {r} is stored here")).into());
        }
        other => other?,
    };
    if context.json {
        return keys::exit::print_json(&view);
    }
    let e = &view.entry;
    writeln!(
        stdout(),
        "receipt {} version {} ({})",
        e.receipt,
        e.version,
        e.kind
    )?;
    writeln!(
        stdout(),
        "state {} since {}",
        e.state,
        super::timestamp(e.state_since)
    )?;
    writeln!(stdout(), "province {}", e.province)?;
    if let Some(number) = &e.filing_number {
        writeln!(stdout(), "filing number {number}")?;
    }
    if let Some(organiser) = &view.organiser {
        writeln!(stdout(), "organiser {organiser}")?;
    }
    for w in &view.websites {
        let seq = w.website_seq.map(|s| format!("-{s} ")).unwrap_or_default();
        writeln!(stdout(), "website {seq}{} [{}]", w.name, w.status)?;
        for d in &w.domains {
            writeln!(stdout(), "  domain {d}")?;
        }
        for ip in &w.ip_ranges {
            writeln!(stdout(), "  ip {ip}")?;
        }
    }
    writeln!(stdout(), "history:")?;
    for h in &view.history {
        writeln!(
            stdout(),
            "  {} {} -> {} by {}{}",
            super::timestamp(h.at),
            h.from_state.as_deref().unwrap_or("(new)"),
            h.to_state,
            h.reviewer,
            h.reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        )?;
    }
    if view.conflicts.is_empty() {
        writeln!(stdout(), "conflicts: none")?;
    } else {
        writeln!(stdout(), "conflicts:")?;
        for c in &view.conflicts {
            writeln!(stdout(), "  {} {} ({})", c.kind, c.value, c.other)?;
        }
    }
    Ok(())
}

fn decide(
    context: &mut Context,
    action: impl FnOnce(&mut postgres::Transaction<'_>) -> Result<inner::review::Decision, ReviewError>,
) -> anyhow::Result<()> {
    let mut tx = context.client()?.transaction()?;
    let decision = match action(&mut tx) {
        Ok(decision) => decision,
        Err(
            error @ (ReviewError::Refused { .. }
            | ReviewError::NotAllowed { .. }
            | ReviewError::DomainConflict { .. }
            | ReviewError::SubjectAlreadyFiled { .. }
            | ReviewError::NumbersExhausted { .. }),
        ) => return Err(Refused(error.to_string()).into()),
        Err(error @ ReviewError::UnknownReceipt { .. }) => {
            return Err(NotFound(error.to_string()).into());
        }
        Err(error) => return Err(error.into()),
    };
    tx.commit().context("committing the decision")?;
    let from = workflow::state_name(decision.from);
    let to = workflow::state_name(decision.to);
    if context.json {
        return keys::exit::print_json(&serde_json::json!({
            "receipt": decision.receipt,
            "from": from,
            "to": to,
            "event_id": decision.event_id,
            "filing_number": decision.filing_number,
            "certificate_id": decision.certificate_id,
        }));
    }
    writeln!(stdout(), "{}: {from} -> {to}", decision.receipt)?;
    if let Some(number) = &decision.filing_number {
        writeln!(stdout(), "filing number {number}")?;
    }
    if let Some(id) = decision.certificate_id {
        writeln!(stdout(), "certificate {id} issued")?;
    }
    Ok(())
}
