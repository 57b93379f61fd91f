//! `sluice-outer accounts add|list|disable|enable`

use anyhow::Context as _;
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
        /// What the account may do.
        #[arg(long, value_parser = ["website-owner", "access-provider", "operator"])]
        kind: String,
    },
    /// List accounts.
    List {
        #[command(flatten)]
        config: ConfigArgs,
        /// Print JSON lines instead of a table.
        #[arg(long)]
        json: bool,
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

pub fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Add { config, name, kind } => {
            check_name(&name)?;
            let kind = AccountKind::parse(&kind).with_context(|| {
                format!("unknown kind {kind:?}: use website-owner, access-provider or operator")
            })?;
            let store = config.open_store()?;
            let account = store.add_account(&name, kind)?;
            println!(
                "added account {} ({}), id {}",
                account.name, account.kind, account.id
            );
        }
        Command::List { config, json } => {
            let store = config.open_store()?;
            for account in store.accounts()? {
                if json {
                    println!(
                        "{}",
                        serde_json::json!({"id": account.id, "name": account.name,
                            "kind": account.kind.as_str(), "disabled": account.disabled,
                            "created_at": account.created_at})
                    );
                } else {
                    println!(
                        "{}\t{}\t{}",
                        account.name,
                        account.kind,
                        if account.disabled {
                            "disabled"
                        } else {
                            "enabled"
                        }
                    );
                }
            }
        }
        Command::Disable { config, name } => {
            config.open_store()?.set_account_disabled(&name, true)?;
            println!("disabled account {name}");
        }
        Command::Enable { config, name } => {
            config.open_store()?.set_account_disabled(&name, false)?;
            println!("enabled account {name}");
        }
    }
    Ok(())
}
