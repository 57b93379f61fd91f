//! `sluice-inner review list|queues|show|approve|return|reject|revoke|revocations`.

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
    /// Show one submission whole: subject, principals, websites with domains, IP ranges,
    /// access and pre-approvals, scans, versions with what changed, history and conflicts.
    Show(ShowArgs),
    /// Count the submissions waiting at each stage in each province, with the oldest's age.
    Queues(QueuesArgs),
    /// Pass the current stage; the last stage approves, numbers and certifies.
    Approve(ApproveArgs),
    /// Send a submission back to its access provider or submitter.
    Return(ReturnArgs),
    /// Reject a submission.
    Reject(RejectArgs),
    /// Revoke an approved filing, or one of its websites (撤销), as the authority of its
    /// province or the ministry: its certificate is revoked (or re-issued without the website),
    /// its domains are freed and it leaves the public register outside.
    Revoke(RevokeArgs),
    /// List the revocations of a filing, oldest first: which website (or the whole filing),
    /// why, by which reviewer account, when.
    Revocations(RevocationsArgs),
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

/// Arguments of `review queues`.
#[derive(Debug, clap::Args)]
pub struct QueuesArgs {
    /// Only this province (two-digit GB/T 2260 code).
    #[arg(long)]
    province: Option<i16>,
}

/// Arguments of `review show`.
#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// Receipt id.
    receipt: String,
    /// Also write each scanned certificate as an image file into this directory
    /// (RECEIPT-scan-N.png or .jpg), to open with an image viewer.
    #[arg(long, value_name = "DIR")]
    save_scans: Option<PathBuf>,
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

/// Arguments of `review revoke`.
#[derive(Debug, clap::Args)]
pub struct RevokeArgs {
    /// The filing number, e.g. 京ICP备2026000001号.
    filing_number: String,
    /// Revoke only this website of the filing (the number after the `-` of its website
    /// number, e.g. 2 for 京ICP备2026000001号-2). Revoking its last website revokes the filing.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(i32).range(1..=1_000_000))]
    website: Option<i32>,
    #[command(flatten)]
    credentials: Credentials,
    /// Why (recorded with the revocation; at most 1024 bytes).
    #[arg(long)]
    reason: String,
    /// The `inner-cert` secret key file that re-issues the certificate when one website of
    /// several is revoked. An encrypted key's passphrase is read from
    /// SLUICE_CERT_KEY_PASSPHRASE.
    #[arg(long, env = "SLUICE_CERT_KEY")]
    cert_key: Option<PathBuf>,
}

/// Arguments of `review revocations`.
#[derive(Debug, clap::Args)]
pub struct RevocationsArgs {
    /// The filing number, e.g. 京ICP备2026000001号.
    filing_number: String,
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
        Command::Queues(args) => queues(context, args.province),
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
        Command::Revoke(args) => revoke(args, context),
        Command::Revocations(args) => {
            let rows = inner::review::revocations(context.client()?, &args.filing_number)?;
            super::print_rows(
                context,
                "revocations",
                &rows,
                "no revocations of this filing",
                |r| {
                    format!(
                        "{}\t{}\t{}\tby {}\t{}",
                        super::timestamp(r.at),
                        r.website_number.as_deref().unwrap_or("whole filing"),
                        if r.whole_filing {
                            "filing revoked"
                        } else {
                            "website revoked"
                        },
                        r.reviewer,
                        r.reason
                    )
                },
            )
        }
    }
}

fn revoke(args: RevokeArgs, context: &mut Context) -> anyhow::Result<()> {
    let key = args
        .cert_key
        .as_deref()
        .map(super::read_cert_key)
        .transpose()?;
    let reviewer = args.credentials.login(context)?;
    let mut tx = context.client()?.transaction()?;
    let revocation = match inner::review::revoke(
        &mut tx,
        &args.filing_number,
        args.website,
        &args.reason,
        &reviewer,
        key.as_ref().map(|k| k as &dyn keys::Signer),
        super::now(),
    ) {
        Ok(revocation) => revocation,
        Err(
            error @ (ReviewError::NotAllowedOnFiling { .. }
            | ReviewError::FilingNotActive { .. }
            | ReviewError::RevocationReason { .. }),
        ) => return Err(Refused(error.to_string()).into()),
        Err(error @ (ReviewError::UnknownFiling { .. } | ReviewError::UnknownWebsite { .. })) => {
            return Err(NotFound(error.to_string()).into());
        }
        Err(error) => return Err(error.into()),
    };
    tx.commit().context("committing the revocation")?;
    if context.json {
        return keys::exit::print_json(&revocation);
    }
    let mut out = match &revocation.website_number {
        Some(website) if !revocation.whole_filing => format!("website {website} revoked\n"),
        Some(website) => format!(
            "website {website} revoked; it was the last, so filing {} is revoked\n",
            revocation.filing_number
        ),
        None => format!("filing {} revoked\n", revocation.filing_number),
    };
    if revocation.certificate_revoked {
        out.push_str("certificate revoked\n");
    }
    if let Some(id) = revocation.certificate_id {
        out.push_str(&format!(
            "certificate {id} issued without the revoked website\n"
        ));
    }
    out.push_str(
        "its domains are free; the public register outside drops it with the next return bundle\n",
    );
    stdout().write_all(out.as_bytes())?;
    Ok(())
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
    let view = match inner::filing_view::filing_view(context.client()?, &args.receipt) {
        Err(inner::queue::QueueError::UnknownReceipt(r)) => {
            return Err(NotFound(format!("no submission with receipt {r} is stored here")).into());
        }
        other => other?,
    };
    let mut saved = Vec::new();
    if let Some(dir) = &args.save_scans {
        for scan in &view.scans {
            saved.push(save_scan(context, dir, &args.receipt, scan.index)?);
        }
    }
    if context.json {
        return keys::exit::print_json(&view);
    }
    let mut out = String::new();
    print_view(&mut out, &view);
    for path in saved {
        out.push_str(&format!("saved {}\n", path.display()));
    }
    stdout().write_all(out.as_bytes())?;
    Ok(())
}

/// Writes scan `index` of `receipt` into `dir` (a temporary file synced and renamed, so a
/// reader never sees half an image) and returns its path.
fn save_scan(
    context: &mut Context,
    dir: &std::path::Path,
    receipt: &str,
    index: usize,
) -> anyhow::Result<PathBuf> {
    let (media_type, bytes) = inner::filing_view::scan(context.client()?, receipt, index)?
        .with_context(|| format!("receipt {receipt} has no scan {index}"))?;
    let extension = match media_type.as_str() {
        "image/png" => "png",
        "image/jpeg" => "jpg",
        _ => "bin",
    };
    // Receipt ids are letters, digits and `-`; anything else is not put in a file name.
    let stem: String = receipt
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let path = dir.join(format!("{stem}-scan-{index}.{extension}"));
    let mut file = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("writing into {}", dir.display()))?;
    file.write_all(&bytes)
        .and_then(|()| file.as_file().sync_all())
        .with_context(|| format!("writing {}", path.display()))?;
    file.persist(&path)
        .with_context(|| format!("writing {}", path.display()))?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("syncing {}", dir.display()))?;
    Ok(path)
}

/// The text `review show` prints: the same content as the review page.
fn print_view(out: &mut String, view: &inner::filing_view::FilingView) {
    use std::fmt::Write as _;
    let e = &view.entry;
    let _ = writeln!(
        out,
        "receipt {} version {} ({}): {}",
        e.receipt, e.version, e.kind, view.asks
    );
    let _ = writeln!(
        out,
        "state {} since {}",
        e.state,
        super::timestamp(e.state_since)
    );
    let _ = writeln!(out, "province {}", e.province);
    let via = e
        .access_provider
        .as_deref()
        .map(|p| format!(" through {p}"))
        .unwrap_or_default();
    let _ = writeln!(out, "submitted by {}{via}", e.submitter);
    if let Some(number) = &e.filing_number {
        let _ = writeln!(out, "filing number {number}");
    }
    let person = |out: &mut String, label: &str, p: &inner::filing_view::PersonView| {
        let _ = writeln!(
            out,
            "  {label} {} ({} {}) mobile {} office {} email {}",
            p.name,
            p.certificate_type,
            p.certificate_number,
            p.mobile_phones.join(","),
            p.office_phones.join(","),
            p.email
        );
    };
    if let Some(s) = &view.subject {
        let _ = writeln!(
            out,
            "subject {} ({}, {} {})",
            s.name, s.nature, s.certificate_type, s.certificate_number
        );
        let _ = writeln!(out, "  region {} address {}", s.region_code, s.address);
        let _ = writeln!(out, "  investor {}", s.investor);
        person(out, "principal", &s.principal);
    }
    for w in &view.websites {
        let number = w
            .website_number
            .as_deref()
            .map(|n| format!(" [{n}]"))
            .unwrap_or_default();
        let _ = writeln!(out, "website {}{number}", w.name);
        for url in &w.home_urls {
            let _ = writeln!(out, "  home {url}");
        }
        for d in &w.domains {
            let _ = writeln!(out, "  domain {d}");
        }
        for ip in &w.access.ip_ranges {
            let _ = writeln!(out, "  ip {ip}");
        }
        if !w.service_types.is_empty() {
            let _ = writeln!(out, "  service types {}", w.service_types.join(","));
        }
        for p in &w.pre_approvals {
            let _ = writeln!(
                out,
                "  pre-approval {} document {}",
                p.item, p.document_number
            );
        }
        let _ = writeln!(
            out,
            "  access {} {} servers in {}",
            w.access.provider, w.access.method, w.access.server_region_code
        );
        if let Some(p) = &w.principal {
            person(out, "principal", p);
        }
    }
    if view.scans.is_empty() {
        let _ = writeln!(out, "scans: none");
    } else {
        let _ = writeln!(
            out,
            "scans (the review page shows them as images; --save-scans DIR writes them):"
        );
        for scan in &view.scans {
            let _ = writeln!(
                out,
                "  {} {} of {} {} {} bytes sha256 {}",
                scan.index, scan.kind, scan.shows, scan.media_type, scan.bytes, scan.sha256
            );
        }
    }
    let _ = writeln!(out, "versions:");
    for v in &view.versions {
        let reason = v
            .reason
            .as_deref()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  v{} received {} {}{reason}",
            v.version,
            super::timestamp(v.received_at),
            v.outcome
        );
        for change in &v.changes {
            let _ = writeln!(out, "    {change}");
        }
    }
    let _ = writeln!(out, "history:");
    for h in &view.history {
        let _ = writeln!(
            out,
            "  {} {} -> {} by {}{}",
            super::timestamp(h.at),
            h.from_state.as_deref().unwrap_or("(new)"),
            h.to_state,
            h.reviewer,
            h.reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        );
    }
    if view.conflicts.is_empty() {
        let _ = writeln!(out, "conflicts: none");
    } else {
        let _ = writeln!(out, "conflicts:");
        for c in &view.conflicts {
            let held = c
                .holder
                .as_deref()
                .map(|h| format!(", held by {h}"))
                .unwrap_or_default();
            let _ = writeln!(out, "  {} {} ({}{held})", c.kind, c.value, c.other);
        }
    }
}

fn queues(context: &mut Context, province: Option<i16>) -> anyhow::Result<()> {
    let counts = inner::queue::counts(context.client()?, province)?;
    super::print_rows(
        context,
        "queues",
        &counts,
        "no submission awaits a reviewer",
        |c| {
            format!(
                "{}\tprovince {}\t{} waiting\toldest since {}",
                c.state,
                c.province,
                c.count,
                super::timestamp(c.oldest_since)
            )
        },
    )
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
            | ReviewError::FilingNotActive { .. }
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
