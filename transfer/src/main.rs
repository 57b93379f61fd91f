//! `sluice-transfer`: the operators' tool. Parses arguments, loads the configuration, calls the
//! library and maps the result to a documented exit code (the table shared by every Sluice tool,
//! `keys::exit`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use keys::exit::{self, Outcome};
use transfer::config::Config;

mod cmd;

/// Moves signed bundles between the outer and inner stores of Sluice.
#[derive(Debug, Parser)]
#[command(name = "sluice-transfer", version, after_help = exit::HELP)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

/// Settings every command shares; each overrides the configuration file.
#[derive(Debug, clap::Args)]
pub struct Global {
    /// Configuration file (TOML).
    #[arg(long, env = "SLUICE_TRANSFER_CONFIG", global = true)]
    config: Option<PathBuf>,
    /// Print a JSON summary on stdout instead of text.
    #[arg(long, global = true)]
    json: bool,
    /// Spool directory (outbox, retained, inbox, archive, quarantine).
    #[arg(long, env = "SLUICE_SPOOL_DIR", global = true)]
    spool_dir: Option<PathBuf>,
    /// This host's signing key (signify secret key file).
    #[arg(long, env = "SLUICE_SIGNING_KEY", global = true)]
    signing_key: Option<PathBuf>,
    /// This host's age identity file, to decrypt the bundles it receives when the keyset names
    /// recipients for them (made by `sluice-keys age-keygen` or `age-keygen`).
    #[arg(long, env = "SLUICE_AGE_IDENTITY", global = true, value_name = "FILE")]
    age_identity: Option<PathBuf>,
    /// Keyset file; give the chain from version 1 up by repeating the flag.
    #[arg(
        long = "keyset",
        env = "SLUICE_KEYSET",
        global = true,
        value_delimiter = ','
    )]
    keyset: Vec<PathBuf>,
    /// Where keyset versions received across the gap are installed (default: keysets/ in the
    /// spool directory).
    #[arg(long, env = "SLUICE_KEYSET_DIR", global = true)]
    keyset_dir: Option<PathBuf>,
    /// Outer host: the intake's SQLite database.
    #[arg(long, env = "SLUICE_OUTER_DATABASE", global = true)]
    outer_database: Option<PathBuf>,
    /// Outer host: the channel its submissions travel on.
    #[arg(long, env = "SLUICE_CHANNEL", global = true)]
    channel: Option<u32>,
    /// Inner host: PostgreSQL connection string.
    #[arg(
        long,
        env = "SLUICE_INNER_DATABASE_URL",
        global = true,
        // The URL may carry a password; --help must not print it.
        hide_env_values = true
    )]
    pub inner_database_url: Option<String>,
    /// Inner host: a channel submissions are accepted from (repeatable).
    #[arg(
        long = "accept-channel",
        env = "SLUICE_ACCEPT_CHANNELS",
        global = true,
        value_delimiter = ','
    )]
    accept_channels: Vec<u32>,
    /// The channel return bundles travel on.
    #[arg(long, env = "SLUICE_RETURN_CHANNEL", global = true)]
    return_channel: Option<u32>,
}

impl Global {
    /// The configuration file (if any) with every flag given laid over it.
    pub fn config(&self) -> anyhow::Result<Config> {
        let mut config = match &self.config {
            Some(path) => Config::load(path)?,
            None => Config::default(),
        };
        if let Some(dir) = &self.spool_dir {
            config.spool_dir = Some(dir.clone());
        }
        if let Some(file) = &self.age_identity {
            config.age_identity = Some(file.clone());
        }
        if let Some(key) = &self.signing_key {
            config.signing_key = Some(key.clone());
        }
        if !self.keyset.is_empty() {
            config.keyset = self.keyset.clone();
        }
        if let Some(dir) = &self.keyset_dir {
            config.keyset_dir = Some(dir.clone());
        }
        if let Some(db) = &self.outer_database {
            config.outer_database = Some(db.clone());
        }
        if let Some(channel) = self.channel {
            config.channel = Some(channel);
        }
        if let Some(url) = &self.inner_database_url {
            config.inner_database_url = Some(url.clone());
        }
        if !self.accept_channels.is_empty() {
            config.accept_channels = self.accept_channels.clone();
        }
        if let Some(channel) = self.return_channel {
            config.return_channel = Some(channel);
        }
        Ok(config)
    }

    /// Whether to print JSON.
    pub fn json(&self) -> bool {
        self.json
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    Export(cmd::export::Args),
    Import(cmd::import::Args),
    #[command(name = "return")]
    Return(cmd::returns::Args),
    Apply(cmd::apply::Args),
    PublishKeyset(cmd::publish_keyset::Args),
    Replay(cmd::replay::Args),
    Status(cmd::status::Args),
    Reconcile(cmd::reconcile::Args),
    Carry(cmd::carry::Args),
    SendUdp(cmd::udp::SendArgs),
    ReceiveUdp(cmd::udp::ReceiveArgs),
    Verify(cmd::verify::Args),
    Inspect(cmd::inspect::Args),
    Demo(cmd::demo::Args),
}

fn main() -> ExitCode {
    let cli = match exit::parse::<Cli>() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    // The demo prints its own summary; its audit lines would drown it unless asked for.
    let quiet = matches!(cli.command, Command::Demo(_));
    cmd::init_logging(cli.global.json, quiet);
    let result: anyhow::Result<Outcome> = match &cli.command {
        Command::Export(args) => cmd::export::run(&cli.global, args),
        Command::Import(args) => cmd::import::run(&cli.global, args),
        Command::Return(args) => cmd::returns::run(&cli.global, args),
        Command::Apply(args) => cmd::apply::run(&cli.global, args),
        Command::PublishKeyset(args) => cmd::publish_keyset::run(&cli.global, args),
        Command::Replay(args) => cmd::replay::run(&cli.global, args),
        Command::Status(args) => cmd::status::run(&cli.global, args),
        Command::Reconcile(args) => cmd::reconcile::run(&cli.global, args),
        Command::Carry(args) => cmd::carry::run(&cli.global, args),
        Command::SendUdp(args) => cmd::udp::send(&cli.global, args),
        Command::ReceiveUdp(args) => cmd::udp::receive(&cli.global, args),
        Command::Verify(args) => cmd::verify::run(&cli.global, args),
        Command::Inspect(args) => cmd::inspect::run(&cli.global, args),
        Command::Demo(args) => cmd::demo::run(&cli.global, args),
    };
    exit::finish(result, exit::code_of)
}
