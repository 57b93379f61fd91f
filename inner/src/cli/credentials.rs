//! How a reviewer proves who they are on the command line: `--reviewer NAME` and the account's
//! password, read from the file `--password-file` names (readable by its owner only) or else
//! from `SLUICE_REVIEWER_PASSWORD`. Never from the command line itself, where any user of the
//! host could read it in the process list.

use std::io::Read as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use inner::reviewers::{AuthError, MAX_PASSWORD_BYTES, Reviewer};
use keys::exit::Refused;

use super::Context;

/// The environment variable a reviewer's password is read from when no file is named.
pub const PASSWORD_ENV: &str = "SLUICE_REVIEWER_PASSWORD";

/// Who acts, and how they prove it.
#[derive(Debug, clap::Args)]
pub struct Credentials {
    /// The reviewer account that acts (see `sluice-inner reviewers`).
    #[arg(long, value_name = "NAME")]
    reviewer: String,
    /// A file holding the account's password on its first line, readable by its owner only.
    /// Without it the password is read from SLUICE_REVIEWER_PASSWORD.
    #[arg(long, value_name = "FILE")]
    password_file: Option<PathBuf>,
}

impl Credentials {
    /// Checks name and password against the database and returns the reviewer. A wrong
    /// password, a locked or a disabled account is a refusal (exit code 5).
    pub fn login(&self, context: &mut Context) -> anyhow::Result<Reviewer> {
        let password = match &self.password_file {
            Some(path) => read_password_file(path)?,
            None => std::env::var(PASSWORD_ENV).map_err(|_| {
                anyhow::anyhow!(
                    "no password for reviewer {}: pass --password-file FILE or set {PASSWORD_ENV}",
                    self.reviewer
                )
            })?,
        };
        let now = super::now();
        match inner::reviewers::authenticate(context.client()?, &self.reviewer, &password, now) {
            Ok(reviewer) => Ok(reviewer),
            Err(
                error @ (AuthError::WrongCredentials(_)
                | AuthError::Locked { .. }
                | AuthError::Disabled(_)),
            ) => Err(Refused(error.to_string()).into()),
            Err(error) => Err(error.into()),
        }
    }
}

/// The password on the first line of `path`, which only its owner may read. At most
/// [`MAX_PASSWORD_BYTES`] and a line end are read.
pub fn read_password_file(path: &Path) -> anyhow::Result<String> {
    let file = std::fs::File::open(path)
        .with_context(|| format!("opening the password file {}", path.display()))?;
    let mode = file
        .metadata()
        .with_context(|| format!("reading the password file {}", path.display()))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        anyhow::bail!(
            "the password file {} may be read by others (mode {:o}); chmod 600 it",
            path.display(),
            mode & 0o777
        );
    }
    let mut bytes = Vec::new();
    file.take(MAX_PASSWORD_BYTES as u64 + 3)
        .read_to_end(&mut bytes)
        .with_context(|| format!("reading the password file {}", path.display()))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| anyhow::anyhow!("the password file {} is not UTF-8", path.display()))?;
    let line = text.lines().next().unwrap_or_default();
    if line.is_empty() {
        anyhow::bail!("the password file {} holds no password", path.display());
    }
    if line.len() > MAX_PASSWORD_BYTES {
        anyhow::bail!(
            "the password in {} is longer than {MAX_PASSWORD_BYTES} bytes",
            path.display()
        );
    }
    Ok(line.to_owned())
}
