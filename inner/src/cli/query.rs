//! `sluice-inner query`: the public query.

use std::net::IpAddr;

use inner::query::QueryKey;

use super::Context;

/// Look up approved websites by exactly one key.
#[derive(Debug, clap::Args)]
#[group(required = true, multiple = false)]
pub struct Args {
    /// Website name.
    #[arg(long)]
    website_name: Option<String>,
    /// Domain.
    #[arg(long)]
    domain: Option<String>,
    /// Home URL.
    #[arg(long)]
    home_url: Option<String>,
    /// Filing number, or website number with its `-n` suffix.
    #[arg(long)]
    filing_number: Option<String>,
    /// IP address.
    #[arg(long)]
    ip: Option<IpAddr>,
    /// Organiser (subject) name.
    #[arg(long)]
    organiser: Option<String>,
}

/// Runs the query and prints the websites found.
pub fn run(args: Args, context: &mut Context) -> anyhow::Result<()> {
    let key = if let Some(v) = args.website_name {
        QueryKey::WebsiteName(v)
    } else if let Some(v) = args.domain {
        QueryKey::Domain(v)
    } else if let Some(v) = args.home_url {
        QueryKey::HomeUrl(v)
    } else if let Some(v) = args.filing_number {
        QueryKey::FilingNumber(v)
    } else if let Some(v) = args.ip {
        QueryKey::Ip(v)
    } else if let Some(v) = args.organiser {
        QueryKey::OrganiserName(v)
    } else {
        anyhow::bail!(
            "give one of --website-name, --domain, --home-url, --filing-number, --ip, --organiser"
        );
    };
    let records = inner::query::query(context.client()?, &key)?;
    super::print_rows(
        context,
        "websites",
        &records,
        "no approved filing matches",
        |record| {
            format!(
                "{}\t{}\t{}\t{}",
                record.website_number,
                record.website_name,
                record.organiser,
                record.domains.join(",")
            )
        },
    )
}
