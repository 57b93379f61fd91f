//! `sluice-outer tokens issue|revoke`

use std::io::Write as _;

use keys::exit::stdout;

use super::ConfigArgs;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Issue a token for an account; the secret is printed once and stored only hashed.
    Issue {
        #[command(flatten)]
        config: ConfigArgs,
        /// Account name.
        account: String,
        /// What the token is for, e.g. the machine that uses it.
        #[arg(long, default_value = "")]
        label: String,
    },
    /// Revoke a token by id.
    Revoke {
        #[command(flatten)]
        config: ConfigArgs,
        /// Token id, as printed by `tokens issue`.
        id: i64,
    },
}

/// Runs a `tokens` subcommand.
pub fn run(command: Command, json: bool) -> anyhow::Result<()> {
    match command {
        Command::Issue {
            config,
            account,
            label,
        } => {
            let token = config.open_store()?.issue_token(&account, &label)?;
            eprintln!(
                "issued token {} for {account}; it is shown only now",
                token.id
            );
            if json {
                keys::exit::print_json(&serde_json::json!({
                    "id": token.id,
                    "account": account,
                    "label": label,
                    "secret": token.secret,
                }))?;
            } else {
                writeln!(stdout(), "{}", token.secret)?;
            }
        }
        Command::Revoke { config, id } => {
            config.open_store()?.revoke_token(id)?;
            if json {
                keys::exit::print_json(&serde_json::json!({ "revoked_token": id }))?;
            } else {
                writeln!(stdout(), "revoked token {id}")?;
            }
        }
    }
    Ok(())
}
