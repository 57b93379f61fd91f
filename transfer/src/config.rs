//! The configuration of `sluice-transfer`: one TOML file, each setting overridable on the
//! command line or from the environment by the binary. Settings a command needs and does not
//! have are reported by name, with the flag that sets them.

use std::path::{Path, PathBuf};

use bundle_format::encryption::Recipient;
use keys::keyset::Direction;
use keys::{ChannelId, Keyset, KeysetFile, SecretKey};

use crate::inner_side::ReturnSettings;
use crate::keysets::KeysetStore;
use crate::outer_side::ExportSettings;
use crate::spool::Spool;

/// Largest configuration file read.
pub const MAX_CONFIG_BYTES: u64 = 1024 * 1024;
/// Default lifetime of a bundle: 30 days from its creation.
pub const DEFAULT_VALIDITY_SECONDS: i64 = 30 * 24 * 3600;
/// Default age after which an unacknowledged bundle is published again: 24 hours.
pub const DEFAULT_RESEND_AFTER_SECONDS: i64 = 24 * 3600;
/// Default most submission versions in one bundle part.
pub const DEFAULT_RECORDS_PER_BUNDLE: usize = 50_000;
/// Default most return entries (acks, status changes, certificates) in one return bundle.
pub const DEFAULT_RETURN_ENTRIES: usize = 50_000;

/// Why the configuration could not be loaded or lacks something.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read the configuration {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: crate::spool::SpoolError,
    },
    /// The file is not valid TOML for this program.
    #[error("configuration {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message, naming the key and line.
        message: String,
    },
    /// A setting the command needs is not set.
    #[error("{setting} is not set; set it in the configuration file or with {flag}")]
    Missing {
        /// The setting's key in the file.
        setting: &'static str,
        /// The flag (and environment variable) that sets it.
        flag: &'static str,
    },
    /// A setting is out of range.
    #[error("{setting} = {value} is invalid: {problem}")]
    Invalid {
        /// The setting.
        setting: &'static str,
        /// Its value.
        value: String,
        /// What is wrong.
        problem: &'static str,
    },
    /// The signing key could not be read.
    #[error("signing key {path}: {source}")]
    SigningKey {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: keys::KeyFileError,
    },
    /// The age identity file could not be read.
    #[error(transparent)]
    AgeIdentity(keys::age_identity::IdentityFileError),
    /// The keyset could not be read or is not trusted.
    #[error("keyset {path}: {source}")]
    Keyset {
        /// The file (the last of the chain when several are given).
        path: PathBuf,
        /// The error.
        #[source]
        source: Box<keys::KeysetError>,
    },
    /// The trusted keysets (configured chain and installed versions) could not be loaded.
    #[error(transparent)]
    Keysets(#[from] crate::keysets::KeysetStoreError),
}

/// Every setting, as read from the file (each optional; commands check what they need).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Directory holding `outbox/`, `retained/`, `inbox/`, `archive/` and `quarantine/`.
    pub spool_dir: Option<PathBuf>,
    /// Secret key this host signs its bundles with (`outer-bundle` outside, `inner-return`
    /// inside), in signify's format.
    pub signing_key: Option<PathBuf>,
    /// The keyset file, or the chain of keyset files from version 1 up, that says which keys
    /// are trusted.
    #[serde(default)]
    pub keyset: Vec<PathBuf>,
    /// Where keyset versions received across the gap (or published here) are installed, one
    /// file per version (`keyset-N.txt`); default `keysets/` in the spool directory.
    pub keyset_dir: Option<PathBuf>,
    /// Outer host: the intake's SQLite database.
    pub outer_database: Option<PathBuf>,
    /// Outer host: the channel its submissions bundles travel on.
    pub channel: Option<u32>,
    /// Inner host: PostgreSQL connection string.
    pub inner_database_url: Option<String>,
    /// Inner host: the channels submissions bundles are accepted from.
    #[serde(default)]
    pub accept_channels: Vec<u32>,
    /// Both hosts: the channel return bundles travel on.
    pub return_channel: Option<u32>,
    /// Inner host: the submissions channel of the one intake node `return_channel` serves. Set
    /// it (and give each intake node a return channel of its own) and a `return` run carries
    /// only that node's acks, refusals, status changes, certificates and sequence report;
    /// unset, one return channel carries every node's.
    pub return_for_channel: Option<u32>,
    /// Lifetime of a bundle from its creation, seconds.
    pub validity_seconds: Option<i64>,
    /// Age after which an unacknowledged bundle is published again, seconds.
    pub resend_after_seconds: Option<i64>,
    /// Most submission versions per bundle part.
    pub records_per_bundle: Option<usize>,
    /// Most entries per return bundle.
    pub return_entries: Option<usize>,
    /// Inner host: the largest scanned document a submission may carry, in bytes (default
    /// 512 KiB, at most the wire format's 512 KiB); a version with a larger one is rejected
    /// with the reason `scan-too-large`, which reaches the submitter's status.
    pub max_scan_bytes: Option<usize>,
    /// The age identity file (`age-keygen` format, mode 0600) this host decrypts the bundles it
    /// receives with, when the keyset names recipients for them: the inner's for submissions
    /// bundles, the outer's for return bundles.
    pub age_identity: Option<PathBuf>,
}

impl Config {
    /// Reads and parses a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let bytes = crate::spool::read_bounded(path, MAX_CONFIG_BYTES).map_err(|source| {
            ConfigError::Read {
                path: path.to_owned(),
                source,
            }
        })?;
        let text = String::from_utf8(bytes).map_err(|_| ConfigError::Parse {
            path: path.to_owned(),
            message: "the file is not UTF-8".into(),
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: e.to_string(),
        })
    }

    /// The spool directories.
    pub fn spool(&self) -> Result<Spool, ConfigError> {
        self.spool_dir
            .as_deref()
            .map(Spool::under)
            .ok_or(ConfigError::Missing {
                setting: "spool_dir",
                flag: "--spool-dir (SLUICE_SPOOL_DIR)",
            })
    }

    /// Loads the signing key (unencrypted key files only: these run unattended).
    pub fn signing_key(&self) -> Result<SecretKey, ConfigError> {
        let path = self.signing_key.as_deref().ok_or(ConfigError::Missing {
            setting: "signing_key",
            flag: "--signing-key (SLUICE_SIGNING_KEY)",
        })?;
        SecretKey::read_file(path, None).map_err(|source| ConfigError::SigningKey {
            path: path.to_owned(),
            source,
        })
    }

    /// Loads the age identities this host decrypts with; none when `age_identity` is not set.
    pub fn age_identities(&self) -> Result<Vec<bundle_format::encryption::Identity>, ConfigError> {
        match &self.age_identity {
            None => Ok(Vec::new()),
            Some(path) => {
                keys::age_identity::read_identity_file(path).map_err(ConfigError::AgeIdentity)
            }
        }
    }

    /// Loads and checks the trusted keyset at time `at`: the configured chain and every
    /// version installed above it in the keyset directory. The newest is returned.
    pub fn keyset(&self, at: i64) -> Result<Keyset, ConfigError> {
        Ok(self.keysets(at)?.current().clone())
    }

    /// The keyset directory: `keyset_dir`, or `keysets/` in the spool directory; `None` when
    /// neither is set (only the configured chain is trusted, and nothing can be installed).
    pub fn keyset_dir(&self) -> Option<PathBuf> {
        self.keyset_dir
            .clone()
            .or_else(|| self.spool_dir.as_ref().map(|dir| dir.join("keysets")))
    }

    /// Loads the trusted keysets at time `at`: the configured chain, then every version
    /// installed in the keyset directory, each checked on top of the one before.
    pub fn keysets(&self, at: i64) -> Result<KeysetStore, ConfigError> {
        if self.keyset.is_empty() {
            return Err(ConfigError::Missing {
                setting: "keyset",
                flag: "--keyset (SLUICE_KEYSET)",
            });
        }
        Ok(KeysetStore::load(
            &self.keyset,
            self.keyset_dir().as_deref(),
            at,
        )?)
    }

    /// The outer SQLite database.
    pub fn outer_database(&self) -> Result<&Path, ConfigError> {
        self.outer_database.as_deref().ok_or(ConfigError::Missing {
            setting: "outer_database",
            flag: "--outer-database (SLUICE_OUTER_DATABASE)",
        })
    }

    /// The outer host's submissions channel.
    pub fn channel(&self) -> Result<ChannelId, ConfigError> {
        self.channel.map(ChannelId).ok_or(ConfigError::Missing {
            setting: "channel",
            flag: "--channel (SLUICE_CHANNEL)",
        })
    }

    /// The inner PostgreSQL connection string.
    pub fn inner_database_url(&self) -> Result<&str, ConfigError> {
        self.inner_database_url
            .as_deref()
            .ok_or(ConfigError::Missing {
                setting: "inner_database_url",
                flag: "--inner-database-url (SLUICE_INNER_DATABASE_URL)",
            })
    }

    /// The channels the inner host accepts submissions from.
    pub fn accept_channels(&self) -> Result<Vec<ChannelId>, ConfigError> {
        if self.accept_channels.is_empty() {
            return Err(ConfigError::Missing {
                setting: "accept_channels",
                flag: "--accept-channel (SLUICE_ACCEPT_CHANNELS)",
            });
        }
        Ok(self
            .accept_channels
            .iter()
            .copied()
            .map(ChannelId)
            .collect())
    }

    /// The return channel.
    pub fn return_channel(&self) -> Result<ChannelId, ConfigError> {
        self.return_channel
            .map(ChannelId)
            .ok_or(ConfigError::Missing {
                setting: "return_channel",
                flag: "--return-channel (SLUICE_RETURN_CHANNEL)",
            })
    }

    /// The intake node's channel a return run serves, if only one (`return_for_channel`).
    pub fn return_for_channel(&self) -> Option<ChannelId> {
        self.return_for_channel.map(ChannelId)
    }

    /// Lifetime of a new bundle, seconds.
    pub fn validity_seconds(&self) -> Result<i64, ConfigError> {
        let value = self.validity_seconds.unwrap_or(DEFAULT_VALIDITY_SECONDS);
        if !(60..=366 * 24 * 3600).contains(&value) {
            return Err(ConfigError::Invalid {
                setting: "validity_seconds",
                value: value.to_string(),
                problem: "must be between 60 seconds and 366 days",
            });
        }
        Ok(value)
    }

    /// Age after which an unacknowledged bundle is published again, seconds.
    pub fn resend_after_seconds(&self) -> Result<i64, ConfigError> {
        let value = self
            .resend_after_seconds
            .unwrap_or(DEFAULT_RESEND_AFTER_SECONDS);
        if value < 0 {
            return Err(ConfigError::Invalid {
                setting: "resend_after_seconds",
                value: value.to_string(),
                problem: "must not be negative",
            });
        }
        Ok(value)
    }

    /// Inner host: the largest scan a submission may carry, bytes.
    pub fn max_scan_bytes(&self) -> Result<usize, ConfigError> {
        let value = self
            .max_scan_bytes
            .unwrap_or(filing::scan::DEFAULT_MAX_SCAN_BYTES);
        filing::scan::valid_limit(value).map_err(|_| ConfigError::Invalid {
            setting: "max_scan_bytes",
            value: value.to_string(),
            problem: "must be between 1024 and 524288 (the wire format's limit)",
        })
    }

    /// Most submission versions per bundle part.
    pub fn records_per_bundle(&self) -> Result<usize, ConfigError> {
        let value = self
            .records_per_bundle
            .unwrap_or(DEFAULT_RECORDS_PER_BUNDLE);
        if value == 0 || value > bundle_format::payload::MAX_RECORDS_PER_BUNDLE {
            return Err(ConfigError::Invalid {
                setting: "records_per_bundle",
                value: value.to_string(),
                problem: "must be between 1 and 100000",
            });
        }
        Ok(value)
    }

    /// What an `export` run (and a keyset publication on the outer host) is told, at `now`.
    /// When a keyset is configured, the submissions bundles are encrypted to the inward
    /// recipients its current version names for the channel.
    pub fn export_settings(&self, now: i64) -> Result<ExportSettings, ConfigError> {
        let channel = self.channel()?;
        Ok(ExportSettings {
            channel,
            validity_seconds: self.validity_seconds()?,
            resend_after_seconds: self.resend_after_seconds()?,
            records_per_bundle: self.records_per_bundle()?,
            now,
            recipients: self.recipients(Direction::Inward, channel, now)?,
        })
    }

    /// What a `return` run (and a keyset publication on the inner host) is told, at `now`. When
    /// a keyset is configured, the return bundles are encrypted to the outward recipients its
    /// current version names for the return channel.
    pub fn return_settings(&self, now: i64) -> Result<ReturnSettings, ConfigError> {
        let channel = self.return_channel()?;
        Ok(ReturnSettings {
            channel,
            for_channel: self.return_for_channel(),
            validity_seconds: self.validity_seconds()?,
            max_entries: self.return_entries()?,
            now,
            recipients: self.recipients(Direction::Outward, channel, now)?,
        })
    }

    /// The recipients the current keyset names for `direction` on `channel`; none when no
    /// keyset is configured.
    fn recipients(
        &self,
        direction: Direction,
        channel: ChannelId,
        now: i64,
    ) -> Result<Vec<Recipient>, ConfigError> {
        if self.keyset.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self
            .keysets(now)?
            .current()
            .document()
            .recipients_for(direction, channel))
    }

    /// Most entries per return bundle.
    pub fn return_entries(&self) -> Result<usize, ConfigError> {
        let value = self.return_entries.unwrap_or(DEFAULT_RETURN_ENTRIES);
        if value == 0 || value > bundle_format::payload::MAX_RECORDS_PER_BUNDLE {
            return Err(ConfigError::Invalid {
                setting: "return_entries",
                value: value.to_string(),
                problem: "must be between 1 and 100000",
            });
        }
        Ok(value)
    }
}

/// Loads a keyset chain (version 1 first) and checks it at time `at`.
pub fn load_keyset(paths: &[PathBuf], at: i64) -> Result<Keyset, ConfigError> {
    let Some(last) = paths.last() else {
        return Err(ConfigError::Missing {
            setting: "keyset",
            flag: "--keyset (SLUICE_KEYSET)",
        });
    };
    let mut files = Vec::with_capacity(paths.len());
    for path in paths {
        files.push(
            KeysetFile::read_file(path).map_err(|source| ConfigError::Keyset {
                path: path.clone(),
                source: Box::new(source),
            })?,
        );
    }
    Keyset::verify_chain(files, at).map_err(|source| ConfigError::Keyset {
        path: last.clone(),
        source: Box::new(source),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_refused_with_their_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("transfer.toml");
        std::fs::write(&path, "spool_dir = \"/x\"\nchanel = 1\n").unwrap();
        let error = Config::load(&path).unwrap_err().to_string();
        assert!(error.contains("chanel"), "{error}");
    }

    #[test]
    fn a_scan_limit_above_the_wire_limit_is_refused() {
        assert_eq!(
            Config::default().max_scan_bytes().unwrap(),
            filing::scan::DEFAULT_MAX_SCAN_BYTES
        );
        let lowered = Config {
            max_scan_bytes: Some(100_000),
            ..Config::default()
        };
        assert_eq!(lowered.max_scan_bytes().unwrap(), 100_000);
        let above = Config {
            max_scan_bytes: Some(bundle_format::records::MAX_ATTACHMENT_BYTES + 1),
            ..Config::default()
        };
        let error = above.max_scan_bytes().unwrap_err().to_string();
        assert!(
            error.contains("max_scan_bytes = 524289 is invalid"),
            "{error}"
        );
    }

    #[test]
    fn a_missing_setting_names_its_flag() {
        let error = Config::default().outer_database().unwrap_err().to_string();
        assert!(error.contains("--outer-database"), "{error}");
    }

    #[test]
    fn the_shipped_example_configurations_parse() {
        for name in ["outer.toml", "inner.toml"] {
            let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("config")
                .join(name);
            let config = Config::load(&path).unwrap();
            assert!(config.spool().is_ok(), "{name}");
            assert!(config.return_channel().is_ok(), "{name}");
            assert!(config.validity_seconds().is_ok(), "{name}");
        }
    }

    #[test]
    fn full_file_parses() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("transfer.toml");
        std::fs::write(
            &path,
            "spool_dir = \"/spool\"\nsigning_key = \"/k.sec\"\nkeyset = [\"/ks1\"]\n\
             outer_database = \"/o.sqlite\"\nchannel = 1\nreturn_channel = 100\n\
             accept_channels = [1, 2]\nvalidity_seconds = 3600\n",
        )
        .unwrap();
        let config = Config::load(&path).unwrap();
        assert_eq!(config.channel().unwrap(), ChannelId(1));
        assert_eq!(
            config.accept_channels().unwrap(),
            vec![ChannelId(1), ChannelId(2)]
        );
        assert_eq!(config.validity_seconds().unwrap(), 3600);
        assert_eq!(config.spool().unwrap().inbox, PathBuf::from("/spool/inbox"));
    }
}
