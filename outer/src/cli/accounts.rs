//! `sluice-outer accounts add|list|disable|enable`

use std::io::Write as _;

use anyhow::Context as _;
use keys::exit::stdout;
use outer::store::AccountKind;

use super::ConfigArgs;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Create an account.
    Add {
        #[command(flatten)]
        config: ConfigArgs,
        /// Account name: Chinese characters, Latin letters, digits and underscore.
        name: String,
        /// What the account may do. The ministry account creates the authority accounts
        /// from its page, and an authority the access providers of its province.
        #[arg(long, value_parser = ["ministry", "authority", "access-provider", "website-owner", "operator"])]
        kind: String,
        /// E-mail address of the person behind the account: the password is set on the
        /// account pages (/account/reset) with a code sent there.
        #[arg(long)]
        email: Option<String>,
        /// Province code (two digits, GB/T 2260) an authority or access provider serves.
        #[arg(long)]
        province: Option<String>,
    },
    /// List accounts (with --json, one object holding the list).
    List {
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Disable an account: its tokens stop working at once.
    Disable {
        #[command(flatten)]
        config: ConfigArgs,
        /// Account name.
        name: String,
    },
    /// Enable a disabled account again.
    Enable {
        #[command(flatten)]
        config: ConfigArgs,
        /// Account name.
        name: String,
    },
}

fn check_name(name: &str) -> anyhow::Result<()> {
    let valid = !name.is_empty()
        && name.chars().count() <= 64
        && name.chars().all(|c| {
            c.is_ascii_alphanumeric() || c == '_' || ('\u{4e00}'..='\u{9fff}').contains(&c)
        });
    anyhow::ensure!(
        valid,
        "account name {name:?}: use 1 to 64 Chinese characters, Latin letters, digits or underscores"
    );
    Ok(())
}

/// Runs an `accounts` subcommand.
pub fn run(command: Command, json: bool) -> anyhow::Result<()> {
    let mut out = stdout();
    match command {
        Command::Add {
            config,
            name,
            kind,
            email,
            province,
        } => {
            check_name(&name)?;
            let kind = AccountKind::parse(&kind).with_context(|| {
                format!(
                    "unknown kind {kind:?}: use ministry, authority, access-provider, \
                     website-owner or operator"
                )
            })?;
            if let Some(email) = &email {
                outer::accounts::check_email(email)
                    .map_err(|_| anyhow::anyhow!("--email {email:?} is not an e-mail address"))?;
            }
            if let Some(province) = &province {
                let known = province
                    .parse::<u32>()
                    .ok()
                    .and_then(filing::province::prefix_of_province)
                    .is_some();
                anyhow::ensure!(
                    province.len() == 2 && known,
                    "--province {province:?} is not a province code: use two digits such as 11 \
                     (Beijing) or 44 (Guangdong)"
                );
            }
            let store = config.open_store()?;
            let account = store.add_account(&name, kind)?;
            if email.is_some() || province.is_some() {
                store.set_account_contact(&name, email.as_deref(), province.as_deref())?;
            }
            if json {
                keys::exit::print_json(&serde_json::json!({
                    "id": account.id,
                    "name": account.name,
                    "kind": account.kind.as_str(),
                }))?;
            } else {
                writeln!(
                    out,
                    "added account {} ({}), id {}",
                    account.name, account.kind, account.id
                )?;
            }
        }
        Command::List { config } => {
            let store = config.open_store()?;
            let accounts = store.accounts()?;
            if json {
                let list: Vec<_> = accounts
                    .iter()
                    .map(|account| {
                        serde_json::json!({"id": account.id, "name": account.name,
                            "kind": account.kind.as_str(), "disabled": account.disabled,
                            "created_at": account.created_at})
                    })
                    .collect();
                return keys::exit::print_json(&serde_json::json!({ "accounts": list }));
            }
            for account in accounts {
                let state = if account.disabled {
                    "disabled"
                } else {
                    "enabled"
                };
                writeln!(out, "{}\t{}\t{state}", account.name, account.kind)?;
            }
        }
        Command::Disable { config, name } => set_disabled(&config, &name, true, json)?,
        Command::Enable { config, name } => set_disabled(&config, &name, false, json)?,
    }
    Ok(())
}

/// Disables or enables the account `name` and says so.
fn set_disabled(config: &ConfigArgs, name: &str, disabled: bool, json: bool) -> anyhow::Result<()> {
    config.open_store()?.set_account_disabled(name, disabled)?;
    if json {
        keys::exit::print_json(&serde_json::json!({ "name": name, "disabled": disabled }))?;
    } else {
        let done = if disabled { "disabled" } else { "enabled" };
        writeln!(stdout(), "{done} account {name}")?;
    }
    Ok(())
}
