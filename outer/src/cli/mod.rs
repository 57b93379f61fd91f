//! Command-line parsing; one module per subcommand. Output goes through `keys::exit::stdout`
//! and `--json` through `keys::exit::print_json`, the convention all Sluice tools share.

mod accounts;
mod check_config;
mod check_site;
mod notify;
mod serve;
mod tokens;

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use outer::config::Config;

/// The outer intake service of Sluice.
#[derive(Debug, Parser)]
#[command(name = "sluice-outer", version, about, after_help = keys::exit::HELP)]
pub struct Cli {
    /// Print machine-readable JSON on stdout instead of text (one object per command).
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the intake HTTP service until SIGTERM or SIGINT (Ctrl-C).
    Serve(serve::Args),
    /// Check a configuration file and say everything that is wrong with it.
    CheckConfig(check_config::Args),
    /// Manage accounts.
    #[command(subcommand)]
    Accounts(accounts::Command),
    /// Issue and revoke API tokens.
    #[command(subcommand)]
    Tokens(tokens::Command),
    /// Check a filed website's published certificate the way the authority's crawler does.
    CheckSite(check_site::Args),
    /// Send the e-mail notifications of outcomes that crossed back (one pass).
    Notify(notify::Args),
}

/// Where the configuration comes from: a TOML file, with flag or environment overrides.
#[derive(Debug, Args, Clone)]
pub struct ConfigArgs {
    /// Configuration file (TOML).
    #[arg(long, env = "SLUICE_OUTER_CONFIG")]
    config: Option<PathBuf>,
    /// SQLite database file (overrides `database` in the file).
    #[arg(long, env = "SLUICE_OUTER_DATABASE")]
    database: Option<PathBuf>,
}

impl ConfigArgs {
    fn load(&self) -> anyhow::Result<Config> {
        let mut config = match (&self.config, &self.database) {
            (Some(path), _) => Config::load(path)?,
            (None, Some(database)) => Config::with_database(database.clone()),
            (None, None) => anyhow::bail!("give --config FILE or --database FILE"),
        };
        if let Some(database) = &self.database {
            config.database = database.clone();
        }
        Ok(config)
    }

    fn open_store(&self) -> anyhow::Result<outer::store::Store> {
        let config = self.load()?;
        outer::store::Store::open(&config.database)
            .with_context(|| format!("opening {}", config.database.display()))
    }
}

/// Runs the parsed command.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let json = cli.json;
    match cli.command {
        Command::Serve(args) => serve::run(args, json),
        Command::CheckConfig(args) => check_config::run(args, json),
        Command::Accounts(command) => accounts::run(command, json),
        Command::Tokens(command) => tokens::run(command, json),
        Command::CheckSite(args) => check_site::run(args, json),
        Command::Notify(args) => notify::run(args, json),
    }
}
