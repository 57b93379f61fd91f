//! Connecting to the inner store's PostgreSQL server: in plain text over a Unix socket or to a
//! server on this host, or over TLS that checks who the server is, for a server on another host.
//!
//! The database URL is libpq's, in either form (`postgresql://user@host/db?sslmode=…` or
//! `host=… dbname=… sslmode=…`), so the string an operator tests with `psql` is the one Sluice
//! takes. Two of libpq's settings decide the transport:
//!
//! - `sslmode=verify-full` with `sslrootcert=FILE`: TLS (rustls). The server's certificate must
//!   chain to a certificate authority in FILE (PEM) and name the host connected to; otherwise
//!   the connection fails, saying which. No system trust store is consulted: the operator names
//!   the CA the database's certificate comes from.
//! - no `sslmode`, or `disable` or `prefer`: no TLS, as before (`prefer` never upgrades: Sluice
//!   offers no unverified TLS).
//!
//! `require` (encryption without knowing who answers) and `verify-ca` (a certificate from the
//! CA but for any host) are refused before connecting: either would let whoever can answer on
//! the network path receive every filing.

use std::path::{Path, PathBuf};
use std::str::FromStr as _;
use std::sync::Arc;

use postgres::config::SslMode;
use postgres::{Client, Config, NoTls};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject as _;

/// Largest CA file read, bytes: a bundle of a few hundred certificates.
pub const MAX_CA_FILE_BYTES: u64 = 1 << 20;

/// Why the database could not be reached.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DbError {
    /// The URL is malformed or asks for a transport Sluice does not offer.
    #[error("database URL: {0}")]
    Url(String),
    /// The CA file named by `sslrootcert` cannot be used.
    #[error("sslrootcert {path}: {problem}")]
    Ca {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// Connecting failed (the server's certificate was refused, the server is down, …).
    #[error("connecting to the database: {0}")]
    Connect(#[source] postgres::Error),
}

/// How to reach the database: its settings, and the TLS configuration if it is over TLS.
pub struct Target {
    config: Config,
    tls: Option<rustls::ClientConfig>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("host", &self.config.get_hosts())
            .field("dbname", &self.config.get_dbname())
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

/// The causes of `error` (its source chain, without itself), each after `: `; empty when it has
/// none. The connection errors of `postgres` say what went wrong only in their sources.
pub fn causes(error: &dyn std::error::Error) -> String {
    let mut text = String::new();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

impl Target {
    /// Reads `url` (see the module documentation), and the CA file it names, if any.
    pub fn parse(url: &str) -> Result<Target, DbError> {
        let (rest, settings) = take_tls_settings(url)?;
        let mut config =
            Config::from_str(&rest).map_err(|e| DbError::Url(format!("{e}{}", causes(&e))))?;
        let tls = match (settings.mode.as_deref(), settings.root_cert) {
            (Some("verify-full"), Some(path)) => {
                config.ssl_mode(SslMode::Require);
                Some(client_config(&path)?)
            }
            (Some("verify-full"), None) => {
                return Err(DbError::Url(
                    "sslmode=verify-full needs sslrootcert=FILE, the CA that issued the \
                     server's certificate (PEM)"
                        .to_owned(),
                ));
            }
            (Some(mode @ ("require" | "verify-ca")), _) => {
                return Err(DbError::Url(format!(
                    "sslmode={mode} does not check that the server is the one named in the URL; \
                     use sslmode=verify-full with sslrootcert=FILE"
                )));
            }
            (Some("disable" | "prefer") | None, Some(_)) => {
                return Err(DbError::Url(
                    "sslrootcert is given but sslmode is not verify-full, so it would not be \
                     used; add sslmode=verify-full"
                        .to_owned(),
                ));
            }
            (Some(mode @ ("disable" | "prefer")), None) => {
                config.ssl_mode(if mode == "disable" {
                    SslMode::Disable
                } else {
                    SslMode::Prefer
                });
                None
            }
            (None, None) => None,
            (Some(other), _) => {
                return Err(DbError::Url(format!(
                    "unknown sslmode {other:?} (disable, prefer or verify-full)"
                )));
            }
        };
        Ok(Target { config, tls })
    }

    /// Whether connections are over TLS.
    pub fn uses_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Opens a connection.
    pub fn connect(&self) -> Result<Client, DbError> {
        match &self.tls {
            Some(tls) => self
                .config
                .connect(tokio_postgres_rustls::MakeRustlsConnect::new(tls.clone())),
            None => self.config.connect(NoTls),
        }
        .map_err(DbError::Connect)
    }
}

/// Opens a connection to the database at `url` (see the module documentation).
pub fn connect(url: &str) -> Result<Client, DbError> {
    Target::parse(url)?.connect()
}

/// The TLS settings taken out of a URL.
#[derive(Debug, Default, PartialEq, Eq)]
struct TlsSettings {
    mode: Option<String>,
    root_cert: Option<PathBuf>,
}

/// `url` without its `sslmode` and `sslrootcert` settings, and their values.
fn take_tls_settings(url: &str) -> Result<(String, TlsSettings), DbError> {
    let mut settings = TlsSettings::default();
    let mut keep = |key: &str, value: String| -> bool {
        match key {
            "sslmode" => settings.mode = Some(value),
            "sslrootcert" => settings.root_cert = Some(PathBuf::from(value)),
            _ => return true,
        }
        false
    };
    let rest = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        match url.split_once('?') {
            None => url.to_owned(),
            Some((base, query)) => {
                let mut kept = Vec::new();
                for pair in query.split('&').filter(|p| !p.is_empty()) {
                    let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                    if keep(key, percent_decoded(value)?) {
                        kept.push(pair);
                    }
                }
                if kept.is_empty() {
                    base.to_owned()
                } else {
                    format!("{base}?{}", kept.join("&"))
                }
            }
        }
    } else {
        let mut kept = Vec::new();
        for (token, key, value) in key_value_tokens(url)? {
            if keep(key, value) {
                kept.push(token);
            }
        }
        kept.join(" ")
    };
    Ok((rest, settings))
}

/// The `key=value` settings of a key/value connection string: each as written, its key and its
/// value (unquoted). Values may be single-quoted, with `\'` and `\\` inside.
fn key_value_tokens(text: &str) -> Result<Vec<(&str, &str, String)>, DbError> {
    let mut out = Vec::new();
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        let equals = rest
            .find('=')
            .ok_or_else(|| DbError::Url(format!("expected key=value at {rest:?}")))?;
        let key = rest[..equals].trim_end();
        let after = rest[equals + 1..].trim_start();
        let mut value = String::new();
        let consumed = if let Some(quoted) = after.strip_prefix('\'') {
            let mut chars = quoted.char_indices();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => match chars.next() {
                        Some((_, escaped)) => value.push(escaped),
                        None => break,
                    },
                    '\'' => {
                        end = Some(i);
                        break;
                    }
                    c => value.push(c),
                }
            }
            let end = end.ok_or_else(|| DbError::Url(format!("unclosed quote in {key}")))?;
            1 + end + 1
        } else {
            let end = after.find(char::is_whitespace).unwrap_or(after.len());
            value.push_str(&after[..end]);
            end
        };
        let token_end = rest.len() - after.len() + consumed;
        out.push((&rest[..token_end], key, value));
        rest = rest[token_end..].trim_start();
    }
    Ok(out)
}

/// `text` with its `%XX` escapes decoded (a URL's query value).
fn percent_decoded(text: &str) -> Result<String, DbError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| DbError::Url(format!("bad %-escape in {text:?}")))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| DbError::Url(format!("{text:?} is not UTF-8")))
}

/// A TLS client configuration that trusts the CA certificates in `path` and nothing else.
fn client_config(path: &Path) -> Result<rustls::ClientConfig, DbError> {
    let problem = |problem: String| DbError::Ca {
        path: path.to_owned(),
        problem,
    };
    let file = std::fs::File::open(path).map_err(|e| problem(e.to_string()))?;
    let mut pem = Vec::new();
    std::io::Read::read_to_end(
        &mut std::io::Read::take(file, MAX_CA_FILE_BYTES + 1),
        &mut pem,
    )
    .map_err(|e| problem(e.to_string()))?;
    if pem.len() as u64 > MAX_CA_FILE_BYTES {
        return Err(problem(format!(
            "larger than {MAX_CA_FILE_BYTES} bytes; is it a CA certificate file?"
        )));
    }
    let mut roots = rustls::RootCertStore::empty();
    for certificate in CertificateDer::pem_slice_iter(&pem) {
        let certificate = certificate.map_err(|e| problem(format!("not PEM: {e}")))?;
        roots
            .add(certificate)
            .map_err(|e| problem(format!("not a usable CA certificate: {e}")))?;
    }
    if roots.is_empty() {
        return Err(problem("holds no certificate".to_owned()));
    }
    // ring's provider: rustls marks it deprecated because ring has no post-quantum key
    // exchange. The alternative (aws-lc-rs) needs CMake and a C toolchain on every build
    // machine; a database link inside the inner network is not the place that trade pays off.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| problem(format!("TLS set-up: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(mode: Option<&str>, root: Option<&str>) -> TlsSettings {
        TlsSettings {
            mode: mode.map(str::to_owned),
            root_cert: root.map(PathBuf::from),
        }
    }

    #[test]
    fn tls_settings_come_out_of_a_uri_and_the_rest_stays() {
        let (rest, found) = take_tls_settings(
            "postgresql://sluice@db.inner/sluice?sslmode=verify-full&sslrootcert=%2Fetc%2Fsluice%2Fca.pem&connect_timeout=5",
        )
        .unwrap();
        assert_eq!(
            rest,
            "postgresql://sluice@db.inner/sluice?connect_timeout=5"
        );
        assert_eq!(
            found,
            settings(Some("verify-full"), Some("/etc/sluice/ca.pem"))
        );
        let (rest, found) =
            take_tls_settings("postgresql://db.inner/sluice?sslmode=disable").unwrap();
        assert_eq!(rest, "postgresql://db.inner/sluice");
        assert_eq!(found, settings(Some("disable"), None));
    }

    #[test]
    fn tls_settings_come_out_of_a_key_value_string_quoted_or_not() {
        let (rest, found) = take_tls_settings(
            "host=db.inner  sslrootcert='/etc/sluice/my ca.pem' dbname=sluice sslmode=verify-full",
        )
        .unwrap();
        assert_eq!(rest, "host=db.inner dbname=sluice");
        assert_eq!(
            found,
            settings(Some("verify-full"), Some("/etc/sluice/my ca.pem"))
        );
        // Other settings pass through exactly as written, quotes and escapes included.
        let (rest, found) =
            take_tls_settings(r"host='/run/pg dir' user='o\'brien' sslmode=disable port=5432")
                .unwrap();
        assert_eq!(rest, r"host='/run/pg dir' user='o\'brien' port=5432");
        assert_eq!(found, settings(Some("disable"), None));
        assert!(matches!(
            take_tls_settings("host=db sslrootcert='/unclosed"),
            Err(DbError::Url(m)) if m.contains("unclosed quote")
        ));
    }

    #[test]
    fn unverified_tls_is_refused_before_connecting() {
        for mode in ["require", "verify-ca"] {
            let error = Target::parse(&format!("host=db.inner sslmode={mode}")).unwrap_err();
            assert!(error.to_string().contains("verify-full"), "{mode}: {error}");
        }
        let error = Target::parse("host=db.inner sslmode=verify-full").unwrap_err();
        assert!(error.to_string().contains("needs sslrootcert"), "{error}");
        let error = Target::parse("host=db.inner sslrootcert=/ca.pem").unwrap_err();
        assert!(error.to_string().contains("not verify-full"), "{error}");
    }

    #[test]
    fn a_url_without_tls_settings_connects_as_before() {
        let target = Target::parse("host=/run/postgresql dbname=sluice").unwrap();
        assert!(!target.uses_tls());
        let target = Target::parse("postgresql://localhost/sluice?sslmode=prefer").unwrap();
        assert!(!target.uses_tls());
    }

    #[test]
    fn a_ca_file_that_is_not_a_certificate_is_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate\n").unwrap();
        let url = format!(
            "host=db.inner sslmode=verify-full sslrootcert={}",
            path.display()
        );
        let error = Target::parse(&url).unwrap_err();
        assert!(
            matches!(&error, DbError::Ca { path: p, .. } if *p == path),
            "{error}"
        );
        assert!(
            error.to_string().contains("holds no certificate"),
            "{error}"
        );
    }
}
