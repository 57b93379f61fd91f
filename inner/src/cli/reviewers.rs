//! `sluice-inner reviewers bootstrap|create|disable|password|list`: reviewer accounts.

use std::io::Write as _;
use std::path::PathBuf;

use inner::reviewers::{AccountError, NewAccount, Role};
use keys::exit::{NotFound, Refused, stdout};

use super::Context;
use super::credentials::{Credentials, read_password_file};

/// Reviewer account subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Create the first ministry account (the operator does this once, on a new installation).
    Bootstrap(BootstrapArgs),
    /// Create an account: the ministry creates authority (and ministry) accounts, an authority
    /// creates pre-approval reviewers for its province.
    Create(CreateArgs),
    /// Disable an account: it logs in no more; its past decisions keep its name.
    Disable(DisableArgs),
    /// Set a password: one's own, or (ministry, authority) that of an account one may disable.
    /// This also lifts a lock after too many wrong passwords.
    Password(PasswordArgs),
    /// List the accounts, oldest first (no password hashes).
    List,
}

/// A role on the command line.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum RoleArg {
    /// Every province and stage; creates authority accounts.
    Ministry,
    /// One province's provider check and regional review; creates its pre-approval reviewers.
    Authority,
    /// One province's pre-approval stage, for the service types given.
    PreApproval,
}

/// Arguments of `reviewers bootstrap`.
#[derive(Debug, clap::Args)]
pub struct BootstrapArgs {
    /// Name of the ministry account.
    #[arg(long)]
    name: String,
    /// A file holding its password on its first line (owner-only; at least 8 characters, not
    /// digits only, not the name).
    #[arg(long, value_name = "FILE")]
    password_file: PathBuf,
}

/// Arguments of `reviewers create`.
#[derive(Debug, clap::Args)]
pub struct CreateArgs {
    #[command(flatten)]
    credentials: Credentials,
    /// Name of the new account (2 to 32 letters, Chinese characters, digits, `_`, `-`, `.`).
    #[arg(long)]
    name: String,
    /// Its role.
    #[arg(long, value_enum)]
    role: RoleArg,
    /// Its province (two-digit GB/T 2260 code, e.g. 33 for Zhejiang); not for the ministry.
    #[arg(long)]
    province: Option<i16>,
    /// The pre-approvals a pre-approval reviewer confirms, comma-separated: news, publishing,
    /// education, medical, drugs, culture, broadcasting.
    #[arg(long, value_delimiter = ',')]
    service_types: Vec<String>,
    /// A file holding the new account's first password (owner-only).
    #[arg(long, value_name = "FILE")]
    new_password_file: PathBuf,
}

/// Arguments of `reviewers disable`.
#[derive(Debug, clap::Args)]
pub struct DisableArgs {
    #[command(flatten)]
    credentials: Credentials,
    /// The account to disable.
    account: String,
}

/// Arguments of `reviewers password`.
#[derive(Debug, clap::Args)]
pub struct PasswordArgs {
    #[command(flatten)]
    credentials: Credentials,
    /// Whose password to set; by default the reviewer's own.
    #[arg(long)]
    account: Option<String>,
    /// A file holding the new password (owner-only).
    #[arg(long, value_name = "FILE")]
    new_password_file: PathBuf,
}

/// Runs a reviewers subcommand.
pub fn run(command: Command, context: &mut Context) -> anyhow::Result<()> {
    let now = super::now();
    match command {
        Command::Bootstrap(args) => {
            let password = read_password_file(&args.password_file)?;
            let made =
                inner::reviewers::bootstrap_ministry(context.client()?, &args.name, &password, now)
                    .map_err(refusal)?;
            if context.json {
                return keys::exit::print_json(&serde_json::json!({
                    "created": made.name(), "role": made.role(),
                }));
            }
            writeln!(stdout(), "created ministry account {}", made.name())?;
            Ok(())
        }
        Command::Create(args) => {
            let by = args.credentials.login(context)?;
            let password = read_password_file(&args.new_password_file)?;
            let new = NewAccount {
                name: &args.name,
                role: match args.role {
                    RoleArg::Ministry => Role::Ministry,
                    RoleArg::Authority => Role::Authority,
                    RoleArg::PreApproval => Role::PreApproval,
                },
                province: args.province,
                service_types: args.service_types,
                password: &password,
            };
            let made =
                inner::reviewers::create(context.client()?, &by, &new, now).map_err(refusal)?;
            if context.json {
                return keys::exit::print_json(&made);
            }
            writeln!(stdout(), "created {}", line(&made))?;
            Ok(())
        }
        Command::Disable(args) => {
            let by = args.credentials.login(context)?;
            inner::reviewers::disable(context.client()?, &by, &args.account, now)
                .map_err(refusal)?;
            if context.json {
                return keys::exit::print_json(&serde_json::json!({ "disabled": args.account }));
            }
            writeln!(stdout(), "disabled {}", args.account)?;
            Ok(())
        }
        Command::Password(args) => {
            let by = args.credentials.login(context)?;
            let password = read_password_file(&args.new_password_file)?;
            let account = args.account.unwrap_or_else(|| by.name().to_owned());
            inner::reviewers::set_password(context.client()?, &by, &account, &password)
                .map_err(refusal)?;
            if context.json {
                return keys::exit::print_json(&serde_json::json!({ "password_set": account }));
            }
            writeln!(stdout(), "password of {account} set")?;
            Ok(())
        }
        Command::List => {
            let accounts = inner::reviewers::list(context.client()?)?;
            super::print_rows(
                context,
                "accounts",
                &accounts,
                "no reviewer accounts",
                |a| {
                    let mut text = line(a);
                    if let Some(by) = &a.created_by {
                        text.push_str(&format!("\tcreated by {by}"));
                    }
                    if let Some(at) = a.disabled_at {
                        text.push_str(&format!("\tdisabled {}", super::timestamp(at)));
                    }
                    text
                },
            )
        }
    }
}

fn line(account: &inner::reviewers::Account) -> String {
    let mut text = format!("{}\t{}", account.name, account.role.name());
    if let Some(province) = account.province {
        text.push_str(&format!("\tprovince {province}"));
    }
    if !account.service_types.is_empty() {
        text.push_str(&format!("\t{}", account.service_types.join(",")));
    }
    text
}

/// Refusals by the rules exit 5, an unknown account 6; the rest fail.
fn refusal(error: AccountError) -> anyhow::Error {
    match error {
        AccountError::UnknownAccount(_) => NotFound(error.to_string()).into(),
        AccountError::Database { .. } | AccountError::Hash(_) | AccountError::Invalid { .. } => {
            error.into()
        }
        _ => Refused(error.to_string()).into(),
    }
}
