//! The service configuration: a TOML file, with command-line and environment overrides applied
//! by the binary. [`Config::problems`] says everything that is wrong with a file at once.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Most bytes of a configuration file.
pub const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// What went wrong loading a configuration file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is larger than [`MAX_CONFIG_BYTES`].
    #[error("{path} is {size} bytes; a configuration file is at most {MAX_CONFIG_BYTES}")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        size: u64,
    },
    /// The file is not valid TOML for this configuration.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong and where (line and column).
        message: String,
    },
    /// The values are out of range.
    #[error("{path}: {}", problems.join("; "))]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Every problem found.
        problems: Vec<String>,
    },
}

/// The intake service's configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// SQLite database file.
    pub database: PathBuf,
    /// Limits on requests.
    #[serde(default)]
    pub limits: Limits,
    /// Accounts in a browser: sessions, codes and login throttling.
    #[serde(default)]
    pub accounts: AccountsConfig,
    /// The SMTP relay e-mailed codes go through; without it nobody can register or reset a
    /// password (the pages say so), while logins and API tokens still work.
    #[serde(default)]
    pub mail: Option<MailConfig>,
    /// The crawler's check offered beside each domain of the public register page; without it
    /// the page offers none.
    #[serde(default)]
    pub site_check: Option<SiteCheckConfig>,
}

/// The crawler's check on the public register (`/register/check`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteCheckConfig {
    /// The published `inner-cert` public key (signify format) certificates are checked against.
    pub certificate_key: PathBuf,
    /// How soon, in seconds, a domain may be fetched again; a check asked for sooner shows the
    /// last result.
    #[serde(default = "default_check_interval")]
    pub interval_secs: u64,
    /// Domains to reach at a given address instead of resolving them (`"example.cn" =
    /// "192.0.2.10:80"`), for a host whose resolver does not see the sites as the public does.
    #[serde(default)]
    pub connect: std::collections::BTreeMap<String, SocketAddr>,
}

fn default_check_interval() -> u64 {
    60
}

/// The SMTP relay the service hands its e-mail to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailConfig {
    /// Host name or address of the relay.
    pub relay_host: String,
    /// Its port (25 for a relay on the site's network).
    #[serde(default = "default_relay_port")]
    pub relay_port: u16,
    /// The sender, e.g. `备案系统 <noreply@beian.example.cn>`.
    pub from: String,
    /// Seconds the relay may take to accept a message.
    #[serde(default = "default_mail_timeout")]
    pub timeout_secs: u64,
    /// Transport security to the relay. Only `"none"` (plain SMTP) is built: run a relay on
    /// the same host or network (a local Postfix) and let it carry mail on with TLS.
    #[serde(default = "default_mail_tls")]
    pub tls: String,
}

fn default_relay_port() -> u16 {
    25
}

fn default_mail_timeout() -> u64 {
    10
}

fn default_mail_tls() -> String {
    "none".to_owned()
}

/// Accounts used in a browser.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccountsConfig {
    /// Seconds a login lasts (it ends sooner with logout, a password change or deletion).
    pub session_ttl_secs: u64,
    /// Seconds an e-mailed code stays valid.
    pub code_ttl_secs: u64,
    /// Failed logins one account may have within `login_window_secs` before its logins are
    /// refused until the window has passed; also the wrong filing passwords one filing number
    /// may have before its certificate download by password is refused the same way.
    pub max_failed_logins_per_account: u32,
    /// Failed logins one client address may have within `login_window_secs`; also its wrong
    /// filing passwords, counted apart.
    pub max_failed_logins_per_address: u32,
    /// The window the failed logins are counted in, in seconds.
    pub login_window_secs: u64,
    /// Password hashes computed at once (each takes 19 MiB and a core for tens of
    /// milliseconds); more logins wait their turn.
    pub max_concurrent_password_hashes: usize,
    /// Whether the session cookie is sent only over HTTPS (`Secure`). Leave it on: browsers
    /// treat `localhost` as secure, so it works in tests too.
    pub secure_cookies: bool,
    /// A request header the TLS-terminating proxy in front of the service sets to the client's
    /// address (e.g. `x-forwarded-for`; the last address listed is used). Unset, the
    /// connection's peer is the client; set it only when every request comes through that
    /// proxy, since a client can write the header itself.
    pub client_address_header: Option<String>,
}

impl Default for AccountsConfig {
    fn default() -> Self {
        AccountsConfig {
            session_ttl_secs: 8 * 3600,
            code_ttl_secs: 30 * 60,
            max_failed_logins_per_account: 5,
            max_failed_logins_per_address: 20,
            login_window_secs: 15 * 60,
            max_concurrent_password_hashes: 4,
            secure_cookies: true,
            client_address_header: None,
        }
    }
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

/// Request limits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Most bytes of a JSON request body.
    pub max_body_bytes: usize,
    /// Most bytes of a batch file.
    pub max_batch_bytes: usize,
    /// Most data rows of a batch file.
    pub max_batch_rows: usize,
    /// Most bytes of one scanned document (JPEG or PNG), on a submission or a batch row: the
    /// manuals say 100 KB in one place and 512 KB in another; at most the wire format's 512 KiB.
    pub max_scan_bytes: usize,
    /// Seconds a request may take before it is answered 408.
    pub request_timeout_secs: u64,
    /// Requests handled at once; more are refused with 503 at once (load shedding).
    pub max_concurrent_requests: usize,
    /// Sustained requests per minute one token may make.
    pub rate_per_minute: u32,
    /// Requests one token may make in a burst above the sustained rate.
    pub rate_burst: u32,
    /// Connections open at once. At the cap, a new connection takes the place of the one that
    /// has waited longest with no request being handled. Lowered at start to what the
    /// process's open-file limit leaves room for (keep `LimitNOFILE=` above it).
    pub max_connections: usize,
    /// Connections open at once from one IP address; more are closed as soon as accepted.
    pub max_connections_per_client: usize,
    /// Seconds a request's head (request line and headers) may take to arrive, counted from
    /// when the connection starts waiting for it, so it also bounds the wait between two
    /// requests on a kept-alive connection.
    pub header_read_timeout_secs: u64,
    /// Seconds a connection may stay open with no request being handled (waiting for one, or
    /// writing a response the client does not read).
    pub idle_timeout_secs: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 8 * 1024 * 1024,
            max_batch_bytes: 16 * 1024 * 1024,
            max_batch_rows: 5000,
            max_scan_bytes: filing::scan::DEFAULT_MAX_SCAN_BYTES,
            request_timeout_secs: 30,
            max_concurrent_requests: 1024,
            rate_per_minute: 6000,
            rate_burst: 1000,
            max_connections: 2048,
            max_connections_per_client: 256,
            header_read_timeout_secs: 10,
            idle_timeout_secs: 30,
        }
    }
}

impl Limits {
    /// The request timeout.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }
}

impl Config {
    /// A configuration with defaults and the given database.
    pub fn with_database(database: PathBuf) -> Config {
        Config {
            listen: default_listen(),
            database,
            limits: Limits::default(),
            accounts: AccountsConfig::default(),
            mail: None,
            site_check: None,
        }
    }

    /// Reads and checks a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let read = |source| ConfigError::Read {
            path: path.to_owned(),
            source,
        };
        let size = std::fs::metadata(path).map_err(read)?.len();
        if size > MAX_CONFIG_BYTES {
            return Err(ConfigError::TooLarge {
                path: path.to_owned(),
                size,
            });
        }
        let text = std::fs::read_to_string(path).map_err(read)?;
        let config: Config = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: e.to_string().trim_end().to_owned(),
        })?;
        config.validated(path)
    }

    /// Returns the configuration if [`Config::problems`] finds nothing.
    pub fn validated(self, path: &Path) -> Result<Config, ConfigError> {
        let problems = self.problems();
        if problems.is_empty() {
            Ok(self)
        } else {
            Err(ConfigError::Invalid {
                path: path.to_owned(),
                problems,
            })
        }
    }

    /// Every value out of range, as sentences naming the key.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let limits = &self.limits;
        let mut range = |key: &str, value: u64, min: u64, max: u64| {
            if value < min || value > max {
                problems.push(format!(
                    "limits.{key} is {value}; it must be between {min} and {max}"
                ));
            }
        };
        let as_u64 = |v: usize| u64::try_from(v).unwrap_or(u64::MAX);
        range(
            "max_body_bytes",
            as_u64(limits.max_body_bytes),
            1024,
            64 * 1024 * 1024,
        );
        range(
            "max_batch_bytes",
            as_u64(limits.max_batch_bytes),
            1024,
            256 * 1024 * 1024,
        );
        range("max_batch_rows", as_u64(limits.max_batch_rows), 1, 100_000);
        range(
            "max_scan_bytes",
            as_u64(limits.max_scan_bytes),
            as_u64(filing::scan::MIN_MAX_SCAN_BYTES),
            as_u64(bundle_format::records::MAX_ATTACHMENT_BYTES),
        );
        range("request_timeout_secs", limits.request_timeout_secs, 1, 3600);
        range(
            "max_concurrent_requests",
            as_u64(limits.max_concurrent_requests),
            1,
            100_000,
        );
        range(
            "rate_per_minute",
            u64::from(limits.rate_per_minute),
            1,
            10_000_000,
        );
        range("rate_burst", u64::from(limits.rate_burst), 1, 10_000_000);
        range(
            "max_connections",
            as_u64(limits.max_connections),
            1,
            1_000_000,
        );
        range(
            "max_connections_per_client",
            as_u64(limits.max_connections_per_client),
            1,
            1_000_000,
        );
        range(
            "header_read_timeout_secs",
            limits.header_read_timeout_secs,
            1,
            3600,
        );
        range("idle_timeout_secs", limits.idle_timeout_secs, 1, 3600);
        let accounts = &self.accounts;
        let mut range = |key: &str, value: u64, min: u64, max: u64| {
            if value < min || value > max {
                problems.push(format!(
                    "accounts.{key} is {value}; it must be between {min} and {max}"
                ));
            }
        };
        range(
            "session_ttl_secs",
            accounts.session_ttl_secs,
            60,
            30 * 86_400,
        );
        range("code_ttl_secs", accounts.code_ttl_secs, 60, 86_400);
        range(
            "max_failed_logins_per_account",
            u64::from(accounts.max_failed_logins_per_account),
            1,
            1000,
        );
        range(
            "max_failed_logins_per_address",
            u64::from(accounts.max_failed_logins_per_address),
            1,
            100_000,
        );
        range("login_window_secs", accounts.login_window_secs, 1, 86_400);
        range(
            "max_concurrent_password_hashes",
            as_u64(accounts.max_concurrent_password_hashes),
            1,
            256,
        );
        if let Some(mail) = &self.mail {
            if mail.relay_host.trim().is_empty() {
                problems.push("mail.relay_host is empty; name the SMTP relay".into());
            }
            if mail.from.parse::<lettre::message::Mailbox>().is_err() {
                problems.push(format!(
                    "mail.from {:?} is not an e-mail address (like `Name <noreply@example.cn>`)",
                    mail.from
                ));
            }
            if !(1..=300).contains(&mail.timeout_secs) {
                problems.push(format!(
                    "mail.timeout_secs is {}; it must be between 1 and 300",
                    mail.timeout_secs
                ));
            }
            if mail.tls != "none" {
                problems.push(format!(
                    "mail.tls is {:?}; only \"none\" (plain SMTP to a relay on this host or \
                     network, which carries the mail on with TLS) is supported",
                    mail.tls
                ));
            }
        }
        if self.database.as_os_str().is_empty() {
            problems.push("database is empty; name the SQLite file".into());
        } else if self.database.is_dir() {
            problems.push(format!(
                "database {} is a directory; name a file",
                self.database.display()
            ));
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minimal_file_gets_defaults_and_bad_values_are_all_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outer.toml");
        std::fs::write(&path, "database = \"outer.db\"\n").unwrap();
        let config = Config::load(&path).unwrap();
        assert_eq!(config.limits, Limits::default());
        assert_eq!(config.listen, default_listen());

        std::fs::write(
            &path,
            "database = \"outer.db\"\n[limits]\nmax_batch_rows = 0\nrequest_timeout_secs = 0\n",
        )
        .unwrap();
        let err = Config::load(&path).unwrap_err().to_string();
        assert!(err.contains("limits.max_batch_rows is 0"), "{err}");
        assert!(err.contains("limits.request_timeout_secs is 0"), "{err}");

        std::fs::write(&path, "database = \"outer.db\"\nlisten = \"nowhere\"\n").unwrap();
        let err = Config::load(&path).unwrap_err().to_string();
        assert!(err.contains("line 2"), "{err}");

        std::fs::write(
            &path,
            "database = \"outer.db\"\n[accounts]\nsession_ttl_secs = 5\n\
             [mail]\nrelay_host = \"\"\nfrom = \"nobody\"\ntls = \"starttls\"\n",
        )
        .unwrap();
        let err = Config::load(&path).unwrap_err().to_string();
        for named in [
            "accounts.session_ttl_secs is 5",
            "mail.relay_host is empty",
            "mail.from \"nobody\"",
            "mail.tls is \"starttls\"",
        ] {
            assert!(err.contains(named), "{err}");
        }

        std::fs::write(&path, "database = \"outer.db\"\ncolour = \"blue\"\n").unwrap();
        let err = Config::load(&path).unwrap_err().to_string();
        assert!(err.contains("colour"), "{err}");
    }
    #[test]
    fn a_scan_limit_above_the_wire_limit_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outer.toml");
        std::fs::write(
            &path,
            "database = \"outer.db\"\n[limits]\nmax_scan_bytes = 100000\n",
        )
        .unwrap();
        assert_eq!(Config::load(&path).unwrap().limits.max_scan_bytes, 100_000);
        std::fs::write(
            &path,
            "database = \"outer.db\"\n[limits]\nmax_scan_bytes = 524289\n",
        )
        .unwrap();
        let err = Config::load(&path).unwrap_err().to_string();
        assert!(
            err.contains("limits.max_scan_bytes is 524289; it must be between 1024 and 524288"),
            "{err}"
        );
    }
}
