//! The subcommands of `sluice-keys` and what they share: time and passphrase arguments, output,
//! and which library errors count as refusals (the exit codes themselves are `keys::exit`).

mod age_keygen;
mod export;
mod generate;
mod keyset;
mod show;

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use keys::exit::{self, Refused};
use keys::{KeyFileError, KeysetError};

/// Manage Sluice's Ed25519 keys (in OpenBSD signify's file formats) and keysets.
///
/// Keys made here work with `signify-openbsd` and keys made by `signify-openbsd -G` work here.
/// A keyset says which key may sign for which role, channel and time; new keyset versions are
/// signed by a threshold of root keys. See KEYSET.md for the format and the rules.
#[derive(clap::Parser, Debug)]
#[command(name = "sluice-keys", version, after_help = keys::exit::HELP)]
pub struct Cli {
    /// Print machine-readable JSON on stdout instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand, Debug)]
enum Command {
    Generate(generate::Args),
    AgeKeygen(age_keygen::Args),
    Show(show::Args),
    Export(export::Args),
    #[command(subcommand)]
    Keyset(keyset::Command),
}

/// Runs the parsed command.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let out = Output { json: cli.json };
    match cli.command {
        Command::Generate(args) => generate::run(args, &out),
        Command::AgeKeygen(args) => age_keygen::run(args, &out),
        Command::Show(args) => show::run(args, &out),
        Command::Export(args) => export::run(args, &out),
        Command::Keyset(command) => keyset::run(command, &out),
    }
}

/// The exit code for an error (the table is `keys::exit`): a key, keyset or signature the
/// library rejected, or a refusal the command decided itself, is "refused"; a file that could not
/// be read or written is "failed".
pub fn exit_code(error: &anyhow::Error) -> u8 {
    for cause in error.chain() {
        if let Some(error) = cause.downcast_ref::<KeyFileError>() {
            return match error {
                KeyFileError::Read { .. } | KeyFileError::Write { .. } => exit::FAILED,
                _ => exit::REFUSED,
            };
        }
        if let Some(error) = cause.downcast_ref::<KeysetError>() {
            return match error.innermost() {
                KeysetError::Read(_) | KeysetError::Write(_) => exit::FAILED,
                _ => exit::REFUSED,
            };
        }
        if cause.is::<Refused>() {
            return exit::REFUSED;
        }
    }
    exit::code_of(error)
}

/// Where results go: text for people or JSON for scripts, both through `keys::exit::stdout`, so
/// a closed pipe ends the output quietly.
pub struct Output {
    json: bool,
}

impl Output {
    /// Prints `text` for people, or `json` (one line) for scripts.
    pub fn print(
        &self,
        text: impl FnOnce() -> String,
        json: impl FnOnce() -> serde_json::Value,
    ) -> anyhow::Result<()> {
        if self.json {
            exit::print_json(&json())
        } else {
            exit::stdout().write_all(text().as_bytes())?;
            Ok(())
        }
    }
}

/// Parses a time argument: Unix seconds, or RFC 3339 such as `2027-01-01T00:00:00Z`.
pub fn parse_time(text: &str) -> Result<i64, String> {
    if let Ok(seconds) = text.parse::<i64>() {
        return Ok(seconds);
    }
    keys::time::parse_rfc3339(text).ok_or_else(|| {
        format!("expected Unix seconds or an RFC 3339 time like 2027-01-01T00:00:00Z, not {text:?}")
    })
}

/// Formats Unix seconds as RFC 3339 UTC (or the number if it is out of range).
pub fn format_time(seconds: i64) -> String {
    keys::time::rfc3339(seconds)
}

/// The current time in Unix seconds.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A passphrase, wiped from memory when dropped.
pub type Passphrase = zeroize::Zeroizing<Vec<u8>>;

/// Reads the passphrase from `path` if one is given (`-` for stdin), without its final newline.
pub fn read_passphrase(path: Option<&Path>) -> anyhow::Result<Option<Passphrase>> {
    path.map(read_passphrase_file).transpose()
}

fn read_passphrase_file(path: &Path) -> anyhow::Result<Passphrase> {
    let mut passphrase = zeroize::Zeroizing::new(Vec::new());
    if path == Path::new("-") {
        std::io::stdin()
            .take(4096)
            .read_to_end(&mut passphrase)
            .context("cannot read the passphrase from stdin")?;
    } else {
        std::fs::File::open(path)
            .and_then(|file| file.take(4096).read_to_end(&mut passphrase))
            .with_context(|| format!("cannot read the passphrase file {}", path.display()))?;
    }
    if passphrase.last() == Some(&b'\n') {
        passphrase.pop();
        if passphrase.last() == Some(&b'\r') {
            passphrase.pop();
        }
    }
    if passphrase.is_empty() {
        bail!(Refused(format!(
            "the passphrase in {} is empty",
            path.display()
        )));
    }
    Ok(passphrase)
}

/// `PREFIX` + `extension`, keeping any dots already in the prefix.
pub fn with_extension(prefix: &Path, extension: &str) -> PathBuf {
    let mut path = prefix.as_os_str().to_owned();
    path.push(extension);
    PathBuf::from(path)
}

/// Parses a role argument.
pub fn parse_role(text: &str) -> Result<keys::Role, String> {
    keys::Role::parse(text).ok_or_else(|| {
        format!("unknown role {text:?}; expected root, outer-bundle, inner-return or inner-cert")
    })
}

/// Parses a key number argument (16 hex digits, as `show` prints it).
pub fn parse_key_id(text: &str) -> Result<keys::KeyId, String> {
    let bytes = hex::decode(text).ok().filter(|b| b.len() == 8);
    bytes
        .map(|b| {
            let mut id = [0u8; 8];
            id.copy_from_slice(&b);
            keys::KeyId(id)
        })
        .ok_or_else(|| format!("expected a key id of 16 hex digits, not {text:?}"))
}

/// A key's channels for text output: `1,2`, or `-` for none.
pub fn channel_list(channels: &[keys::ChannelId]) -> String {
    if channels.is_empty() {
        "-".to_owned()
    } else {
        let channels: Vec<String> = channels.iter().map(|c| c.to_string()).collect();
        channels.join(",")
    }
}

/// One word for a key's standing at `at`, for JSON output: `valid`, `revoked`, `expired` or
/// `not-yet-valid`.
pub fn status_word(entry: &keys::KeyEntry, at: i64) -> &'static str {
    match entry.check_time(at) {
        Ok(()) => "valid",
        Err(keys::KeyRejection::Revoked { .. }) => "revoked",
        Err(keys::KeyRejection::Expired { .. }) => "expired",
        Err(keys::KeyRejection::NotYetValid { .. }) => "not-yet-valid",
        Err(_) => "refused",
    }
}
