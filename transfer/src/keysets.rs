//! The keysets a host trusts, and how a new version is installed when it arrives across the gap
//! (DESIGN.md, Keys: "the next keyset is signed by the current root keys (threshold), which is
//! how rotation and revocation cross the gap").
//!
//! A host's trust is a chain of keyset versions: the **configured** files (`keyset` in the
//! configuration, version 1 first) followed by the versions **installed** in the keyset
//! directory (`keyset_dir`), one file per version named `keyset-N.txt`. Every load checks the
//! whole chain again from the anchor with [`Keyset::accept_next`], so a file planted in the
//! directory gains nothing unless the root keys signed it, and nothing is ever trusted because
//! of where it lies. Installed files are never replaced or removed: the directory is also the
//! history of every version this host has trusted.
//!
//! Each version is checked at the time it was accepted, recorded beside it as
//! `keyset-N.accepted`, not at the time of the load: a root key that expired after it signed
//! version N+1 does not undo version N+1, so keys rotated in time keep the appliance running
//! for as long as the newest version's keys are valid. A recorded time is never earlier than
//! the previous version's nor later than the load's, so rewriting it buys nothing a signature
//! did not grant.
//!
//! The database of each side records every version it installed (`transfer_keysets`, with the
//! keyset file itself) in the same transaction as the ledger row of the bundle that carried it.
//! The file is written after that commit; a run killed in between leaves a recorded version
//! without its file, and the next run writes it from the database before it judges anything
//! ([`KeysetStore::install_recorded`]). The database is the record, the directory follows it.

use std::path::{Path, PathBuf};

use keys::{Keyset, KeysetDocument, KeysetError, KeysetFile};

use crate::outcome::KeysetResult;

/// File name prefix of an installed keyset version (`keyset-7.txt`).
const INSTALLED_PREFIX: &str = "keyset-";
/// File name suffix of an installed keyset version.
const INSTALLED_SUFFIX: &str = ".txt";
/// File name suffix of the file beside an installed version that says when it was accepted
/// (`keyset-7.accepted`: Unix seconds).
const ACCEPTED_SUFFIX: &str = ".accepted";

/// Why the trusted keysets could not be loaded or a version not installed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeysetStoreError {
    /// No keyset file is configured.
    #[error("keyset is not set; set it in the configuration file or with --keyset (SLUICE_KEYSET)")]
    NotConfigured,
    /// A keyset file could not be read or is not trusted on top of the versions before it.
    #[error("keyset {path}: {source}")]
    Keyset {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: Box<KeysetError>,
    },
    /// The keyset directory holds a version without the one before it.
    #[error(
        "keyset directory {dir} holds version {found} but not version {missing}; \
         restore keyset-{missing}.txt (every run of import or apply writes it back from the \
         database if it was installed here)"
    )]
    Gap {
        /// The directory.
        dir: PathBuf,
        /// The version found.
        found: u64,
        /// The version missing before it.
        missing: u64,
    },
    /// A file's name and the version inside it disagree.
    #[error("{path} holds keyset version {inside}, not the version its name says")]
    MisnamedFile {
        /// The file.
        path: PathBuf,
        /// The version inside.
        inside: u64,
    },
    /// A version recorded in the database as installed does not follow the trusted chain.
    #[error(
        "keyset version {version}, recorded in the database as installed, is not accepted on \
         top of version {trusted}: {source}"
    )]
    RecordedVersionRefused {
        /// The recorded version.
        version: u64,
        /// The version trusted from the files.
        trusted: u64,
        /// Why.
        #[source]
        source: Box<KeysetError>,
    },
    /// Installing needs a keyset directory and none is set.
    #[error(
        "keyset_dir is not set; set it in the configuration file or with --keyset-dir \
         (SLUICE_KEYSET_DIR) so received keyset versions can be installed"
    )]
    NoDirectory,
    /// Writing or listing the keyset directory failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },
}

/// Why an offered keyset file is not installed: a stable code for quarantine reasons and the
/// explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeysetRefusal {
    /// Stable code, e.g. `keyset.not-next-version`, `keyset.threshold-not-met`.
    pub code: &'static str,
    /// What is wrong, in full.
    pub reason: String,
}

/// Why `publish-keyset` publishes nothing, on either host.
#[derive(Debug, thiserror::Error)]
pub enum PublishRefusal {
    /// The file is not the next version.
    #[error("{} ({})", .0.reason, .0.code)]
    Refused(KeysetRefusal),
    /// The version is trusted here already and needs no (second) bundle.
    #[error(
        "keyset version {version} is trusted here already ({detail}); nothing to publish. \
         Bundles not acknowledged are sent again on their own"
    )]
    NothingToPublish {
        /// The version.
        version: u64,
        /// How this host came to trust it.
        detail: String,
    },
}

/// For a version trusted here already, given its `transfer_keysets` row (origin, and whether a
/// bundle carried it): `None` when it is a publication stopped after installing and before its
/// bundle was written (publishing goes on), else why there is nothing to publish.
pub fn already_trusted(version: u64, row: Option<(&str, bool)>) -> Result<(), PublishRefusal> {
    let detail = match row {
        Some(("published", false)) => return Ok(()),
        Some(("published", true)) => "published in an earlier keyset bundle",
        Some(_) => "received across the gap",
        None => "configured or installed by hand",
    };
    Err(PublishRefusal::NothingToPublish {
        version,
        detail: detail.to_owned(),
    })
}

/// What `publish-keyset` did, on either host.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PublishKeysetReport {
    /// The version published, the version trusted before, and what installing it here changed.
    pub keyset: KeysetReceipt,
    /// The keyset bundle, as published in the outbox.
    pub bundle: crate::common::send::BundleSummary,
}

/// The steps `publish-keyset` takes on either host before it writes the keyset bundle: judges
/// `file` against the keysets trusted here and returns the receipt. The next version is
/// recorded as published by `record` (in the host's database, before it is installed, so that
/// a run stopped in between is finished by running the command again), then installed and
/// audited. A version trusted here already goes on only when `origin` (its `transfer_keysets`
/// row: origin, and whether a bundle carried it) shows a publication stopped before its bundle
/// was written ([`already_trusted`]). `ledger` is what both reach the database through.
pub(crate) fn accept_for_publishing<L, E>(
    ledger: L,
    keysets: &mut KeysetStore,
    file: &[u8],
    now: i64,
    record: impl FnOnce(L, u64) -> Result<(), E>,
    origin: impl FnOnce(L, u64) -> Result<Option<(String, bool)>, E>,
) -> Result<KeysetReceipt, E>
where
    E: From<PublishRefusal> + From<KeysetStoreError>,
{
    let offer = keysets.judge(file, now).map_err(PublishRefusal::Refused)?;
    let mut receipt = KeysetReceipt::of(&offer, keysets);
    match offer {
        Offer::Next(next) => {
            record(ledger, next.version())?;
            let written = keysets.install(*next)?;
            receipt.file = written.map(|p| p.display().to_string());
            receipt.audit(None, "published");
        }
        Offer::AlreadyTrusted { version } => {
            // Only a publication stopped after installing and before writing its bundle may go
            // on; anything else is trusted here already and needs no second bundle.
            let row = origin(ledger, version)?;
            already_trusted(
                version,
                row.as_ref()
                    .map(|(origin, carried)| (origin.as_str(), *carried)),
            )?;
        }
    }
    Ok(receipt)
}

/// What an offered keyset file is to this host.
#[derive(Debug, Clone)]
pub enum Offer {
    /// The version after the one trusted now, checked against it: install it.
    Next(Box<Keyset>),
    /// A version this host trusts already, with the same document: nothing to do.
    AlreadyTrusted {
        /// The version offered.
        version: u64,
    },
}

/// What one key looks like in a summary.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KeySummary {
    /// Key number, hex.
    pub key_id: String,
    /// Role.
    pub role: String,
    /// Channels it may sign for (empty for roles not bound to channels).
    pub channels: Vec<u32>,
    /// Start of its window, RFC 3339.
    pub not_before: String,
    /// End of its window, RFC 3339.
    pub not_after: String,
    /// When it was revoked, RFC 3339, if it was.
    pub revoked_at: Option<String>,
}

/// A keyset file described for people: version, threshold, keys and who signed it. Built from
/// an unverified file for `inspect`; `verify` says separately whether it would be accepted.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KeysetSummary {
    /// Version.
    pub version: u64,
    /// Root signatures needed.
    pub threshold: u8,
    /// Every key listed.
    pub keys: Vec<KeySummary>,
    /// Key numbers of the signatures, hex, in file order.
    pub signed_by: Vec<String>,
}

impl KeysetSummary {
    /// Describes a parsed keyset file.
    pub fn of(file: &KeysetFile) -> KeysetSummary {
        let document = file.document();
        KeysetSummary {
            version: document.version(),
            threshold: document.threshold(),
            keys: document
                .keys()
                .iter()
                .map(|entry| KeySummary {
                    key_id: entry.key_id().to_string(),
                    role: entry.role.to_string(),
                    channels: entry.channels.iter().map(|c| c.0).collect(),
                    not_before: keys::time::rfc3339(entry.not_before),
                    not_after: keys::time::rfc3339(entry.not_after),
                    revoked_at: entry.revoked_at.map(keys::time::rfc3339),
                })
                .collect(),
            signed_by: file
                .signatures()
                .iter()
                .map(|s| s.key_id.to_string())
                .collect(),
        }
    }

    /// One line per key, for text output: `role key-id channels 1,2 revoked …`.
    pub fn key_lines(&self) -> Vec<String> {
        self.keys
            .iter()
            .map(|key| {
                let mut line = format!("{} {}", key.role, key.key_id);
                if !key.channels.is_empty() {
                    let channels: Vec<String> =
                        key.channels.iter().map(ToString::to_string).collect();
                    line.push_str(&format!(" channels {}", channels.join(",")));
                }
                line.push_str(&format!(" valid {} to {}", key.not_before, key.not_after));
                if let Some(revoked) = &key.revoked_at {
                    line.push_str(&format!(" REVOKED at {revoked}"));
                }
                line
            })
            .collect()
    }
}

/// What a new version changes against the one before it, for the audit line.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct KeysetChanges {
    /// Keys listed now and not before: `role:key-id`.
    pub added: Vec<String>,
    /// Keys listed before and not now: `role:key-id`.
    pub removed: Vec<String>,
    /// Keys revoked now that were not before (or revoked earlier than before): `role:key-id`.
    pub revoked: Vec<String>,
}

impl KeysetChanges {
    /// The changes from `old` to `new`.
    pub fn between(old: &KeysetDocument, new: &KeysetDocument) -> KeysetChanges {
        let name = |entry: &keys::KeyEntry| format!("{}:{}", entry.role, entry.key_id());
        let mut changes = KeysetChanges::default();
        for entry in new.keys() {
            match old.entry(entry.key_id()) {
                None => changes.added.push(name(entry)),
                Some(before) if entry.revoked_at.is_some() && before.revoked_at.is_none() => {
                    changes.revoked.push(name(entry));
                }
                Some(_) => {}
            }
        }
        for entry in old.keys() {
            if new.entry(entry.key_id()).is_none() {
                changes.removed.push(name(entry));
            }
        }
        changes
    }
}

/// What receiving (or publishing) a keyset did, for reports and the audit line.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KeysetReceipt {
    /// The version carried.
    pub version: u64,
    /// The version trusted before.
    pub previous: u64,
    /// Installed, or already trusted (a version this host had: nothing changed).
    pub result: KeysetResult,
    /// What the installed version changed (empty when nothing was installed).
    pub changes: KeysetChanges,
    /// The file written in the keyset directory, if any.
    pub file: Option<String>,
}

impl KeysetReceipt {
    /// The receipt of an offer before it is installed; `file` is filled in by the installer.
    pub fn of(offer: &Offer, store: &KeysetStore) -> KeysetReceipt {
        match offer {
            Offer::Next(next) => KeysetReceipt {
                version: next.version(),
                previous: store.version(),
                result: KeysetResult::Installed,
                changes: KeysetChanges::between(store.current().document(), next.document()),
                file: None,
            },
            Offer::AlreadyTrusted { version } => KeysetReceipt {
                version: *version,
                previous: store.version(),
                result: KeysetResult::AlreadyTrusted,
                changes: KeysetChanges::default(),
                file: None,
            },
        }
    }

    /// Writes the audit line: `keyset.installed` with the old and new version and the keys
    /// added, revoked and removed, or `keyset.already-trusted`.
    pub fn audit(&self, bundle: Option<&str>, how: &str) {
        if self.result == KeysetResult::Installed {
            tracing::info!(target: "sluice::audit", event = "keyset.installed",
                old_version = self.previous, new_version = self.version,
                added = ?self.changes.added, revoked = ?self.changes.revoked,
                removed = ?self.changes.removed, bundle = bundle.unwrap_or("-"),
                file = self.file.as_deref().unwrap_or("-"), how,
                "installed keyset version {}", self.version);
        } else {
            tracing::info!(target: "sluice::audit", event = "keyset.already-trusted",
                version = self.version, trusted = self.previous, bundle = bundle.unwrap_or("-"),
                how, "keyset version {} is trusted already; nothing changed", self.version);
        }
    }
}

/// One keyset version a side's database records as installed, for `status`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RecordedKeyset {
    /// Version.
    pub version: u64,
    /// `received` (from a keyset bundle) or `published` (by `publish-keyset` here).
    pub origin: String,
    /// Channel of the keyset bundle that carried it, if one did.
    pub channel: Option<u32>,
    /// Sequence number of that bundle.
    pub sequence: Option<u64>,
    /// When it was recorded, Unix seconds.
    pub recorded_at: i64,
    /// For a version published on the outer host: whether the inner side acknowledged its
    /// bundle.
    pub acknowledged: Option<bool>,
}

/// The chain of keyset versions a host trusts, and where it installs new ones. Bundles are
/// verified with the newest version, [`KeysetStore::current`].
#[derive(Debug, Clone)]
pub struct KeysetStore {
    /// Every trusted version before the current one, version 1 first.
    earlier: Vec<Keyset>,
    /// The version trusted now.
    current: Keyset,
    /// Where received versions are installed; `None` keeps them in memory only.
    dir: Option<PathBuf>,
}

impl KeysetStore {
    /// Loads the configured chain (`configured`, version 1 first), then every version installed
    /// in `dir` above it, each checked on top of the one before at the time it was accepted.
    ///
    /// An installed version's time is the one recorded beside it (`keyset-N.accepted`) when it
    /// was installed, kept between the time of the version before it and `at`; a version with
    /// no recorded time (installed by an older release) is checked at `at`. The configured
    /// chain is checked at the time the first installed version was accepted, or at `at` when
    /// nothing is installed: once a later version has been accepted on top of it, the
    /// configured chain's keys need not stay valid, and a properly rotated keyset keeps
    /// working after version 1's root keys expire.
    pub fn load(
        configured: &[PathBuf],
        dir: Option<&Path>,
        at: i64,
    ) -> Result<KeysetStore, KeysetStoreError> {
        let configured = configured
            .iter()
            .map(|path| Ok((path.clone(), read_keyset(path)?)))
            .collect::<Result<Vec<_>, KeysetStoreError>>()?;
        let Some(last_configured) = configured.last().map(|(_, f)| f.document().version()) else {
            return Err(KeysetStoreError::NotConfigured);
        };
        let installed = match dir {
            Some(dir) => installed_files(dir)?
                .into_iter()
                // Also configured (an operator added it to the chain): checked with that chain.
                .filter(|(found, _)| *found > last_configured)
                .collect(),
            None => Vec::new(),
        };
        let configured_at = installed
            .first()
            .and_then(|(_, path)| recorded_acceptance(path))
            .map_or(at, |first| first.min(at));
        let mut chain: Vec<Keyset> = Vec::new();
        for (path, file) in configured {
            let next = match chain.last() {
                None => Keyset::anchor(file, configured_at),
                Some(last) => last.accept_next(file, configured_at),
            }
            .map_err(|source| KeysetStoreError::Keyset {
                path,
                source: Box::new(source),
            })?;
            chain.push(next);
        }
        let current = chain.pop().expect("at least one configured file was read");
        let mut store = KeysetStore {
            earlier: chain,
            current,
            dir: dir.map(Path::to_owned),
        };
        for (found, path) in installed {
            let version = store.version();
            if found != version + 1 {
                return Err(KeysetStoreError::Gap {
                    dir: dir
                        .expect("installed versions come from a directory")
                        .to_owned(),
                    found,
                    missing: version + 1,
                });
            }
            let file = read_keyset(&path)?;
            if file.document().version() != found {
                return Err(KeysetStoreError::MisnamedFile {
                    path,
                    inside: file.document().version(),
                });
            }
            let accepted_at = recorded_acceptance(&path)
                .map_or(at, |t| t.clamp(store.current().accepted_at().min(at), at));
            let next = store
                .current()
                .accept_next(file, accepted_at)
                .map_err(|source| KeysetStoreError::Keyset {
                    path: path.clone(),
                    source: Box::new(source),
                })?;
            store.trust(next);
        }
        Ok(store)
    }

    /// A store holding `keyset` alone that installs new versions in `dir` (or only in memory
    /// when `dir` is `None`, for tests that need no files).
    pub fn with_keyset(keyset: Keyset, dir: Option<&Path>) -> KeysetStore {
        KeysetStore {
            earlier: Vec::new(),
            current: keyset,
            dir: dir.map(Path::to_owned),
        }
    }

    /// The version trusted now: what bundles are verified with.
    pub fn current(&self) -> &Keyset {
        &self.current
    }

    fn trust(&mut self, next: Keyset) {
        let previous = std::mem::replace(&mut self.current, next);
        self.earlier.push(previous);
    }

    /// The version number trusted now.
    pub fn version(&self) -> u64 {
        self.current().version()
    }

    /// Where new versions are installed, if anywhere.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// Every trusted version, the newest first.
    pub fn newest_first(&self) -> impl Iterator<Item = &Keyset> {
        std::iter::once(&self.current).chain(self.earlier.iter().rev())
    }

    /// The trusted version `version`, if this host holds it.
    pub fn get(&self, version: u64) -> Option<&Keyset> {
        std::iter::once(&self.current)
            .chain(&self.earlier)
            .find(|k| k.version() == version)
    }

    /// Judges an offered keyset file (the bytes a keyset bundle carries) at `at`: the next
    /// version checked against the current one, a version trusted already (same document), or
    /// a refusal with its code.
    pub fn judge(&self, file: &[u8], at: i64) -> Result<Offer, KeysetRefusal> {
        let file = KeysetFile::parse(file).map_err(|error| KeysetRefusal {
            code: "keyset.malformed",
            reason: format!("the keyset file does not parse: {error}"),
        })?;
        let offered = file.document().version();
        let installed = self.version();
        if offered <= installed {
            return match self.get(offered) {
                Some(trusted) if trusted.file().document_bytes() == file.document_bytes() => {
                    Ok(Offer::AlreadyTrusted { version: offered })
                }
                Some(_) => Err(KeysetRefusal {
                    code: "keyset.version-conflict",
                    reason: format!(
                        "keyset version {offered} differs from the version {offered} this host \
                         trusts; two different documents were signed as one version: raise the \
                         alarm"
                    ),
                }),
                // Older than anything configured (the chain was configured from a later
                // version): nothing to compare against, and nothing to install either.
                None => Ok(Offer::AlreadyTrusted { version: offered }),
            };
        }
        self.current()
            .accept_next(file, at)
            .map(|next| Offer::Next(Box::new(next)))
            .map_err(|error| refusal_of(&error, installed, offered))
    }

    /// Installs `next` (which [`KeysetStore::judge`] returned) as `keyset-N.txt` in the keyset
    /// directory, atomically (temporary file, fsync, rename, fsync of the directory), and
    /// trusts it from now on. Idempotent: a file with the same document is left as it is.
    /// Returns the file written, if any.
    pub fn install(&mut self, next: Keyset) -> Result<Option<PathBuf>, KeysetStoreError> {
        if next.version() <= self.version() {
            return Ok(None);
        }
        let path = match &self.dir {
            Some(dir) => {
                std::fs::create_dir_all(dir).map_err(|source| KeysetStoreError::Io {
                    action: "creating",
                    path: dir.clone(),
                    source,
                })?;
                let path = dir.join(installed_name(next.version()));
                // The time of acceptance first: a version file never stands without it.
                write_acceptance(dir, next.version(), next.accepted_at())?;
                let same = KeysetFile::read_file(&path)
                    .is_ok_and(|f| f.document_bytes() == next.file().document_bytes());
                if !same {
                    next.file()
                        .write_file(&path)
                        .map_err(|source| KeysetStoreError::Keyset {
                            path: path.clone(),
                            source: Box::new(source),
                        })?;
                }
                Some(path)
            }
            None => None,
        };
        self.trust(next);
        Ok(path)
    }

    /// Installs the versions a database recorded as installed (`recorded`: version and keyset
    /// file, ascending) that the files do not hold yet: what a run killed between its commit
    /// and writing the file left behind. Each is checked on top of the one before. Returns the
    /// versions written.
    pub fn install_recorded(
        &mut self,
        recorded: &[(u64, Vec<u8>)],
        at: i64,
    ) -> Result<Vec<u64>, KeysetStoreError> {
        let mut written = Vec::new();
        for (version, bytes) in recorded {
            if *version <= self.version() {
                continue;
            }
            let trusted = self.version();
            let refused = |source: KeysetError| KeysetStoreError::RecordedVersionRefused {
                version: *version,
                trusted,
                source: Box::new(source),
            };
            let file = KeysetFile::parse(bytes).map_err(refused)?;
            let next = self.current().accept_next(file, at).map_err(refused)?;
            self.install(next)?;
            written.push(*version);
        }
        Ok(written)
    }
}

/// What the keyset a keyset bundle's records carry is to `keysets`, and the keyset file.
pub fn judge_carried(
    keysets: &KeysetStore,
    records: &[bundle_format::records::Record],
    now: i64,
) -> Result<(Offer, Vec<u8>), KeysetRefusal> {
    // The reader has checked that a keyset bundle holds exactly one keyset record.
    let Some(file) = records.iter().find_map(|record| match record {
        bundle_format::records::Record::Keyset(keyset) => Some(&keyset.document),
        _ => None,
    }) else {
        return Err(KeysetRefusal {
            code: "keyset.malformed",
            reason: "the keyset bundle holds no keyset".into(),
        });
    };
    let offer = keysets.judge(file, now)?;
    Ok((offer, file.clone()))
}

/// Installs an accepted offer (after its record was committed) and writes the audit line.
pub fn install_offer(
    keysets: &mut KeysetStore,
    offer: Offer,
    bundle: &bundle_format::BundleId,
) -> Result<KeysetReceipt, KeysetStoreError> {
    let mut receipt = KeysetReceipt::of(&offer, keysets);
    if let Offer::Next(next) = offer {
        crate::failpoint::hit("keyset.before-install");
        let written = keysets.install(*next)?;
        receipt.file = written.map(|p| p.display().to_string());
    }
    receipt.audit(Some(&bundle.to_string()), "received");
    Ok(receipt)
}

/// The file name of installed version `version`.
pub fn installed_name(version: u64) -> String {
    format!("{INSTALLED_PREFIX}{version}{INSTALLED_SUFFIX}")
}

/// The name of the file beside `keyset-N.txt` that records when version N was accepted.
fn acceptance_name(version: u64) -> String {
    format!("{INSTALLED_PREFIX}{version}{ACCEPTED_SUFFIX}")
}

/// Records, durably, that `version` was accepted at `at` (Unix seconds, decimal, one line).
fn write_acceptance(dir: &Path, version: u64, at: i64) -> Result<(), KeysetStoreError> {
    crate::spool::write_atomic(dir, &acceptance_name(version), |f| {
        std::io::Write::write_all(f, format!("{at}\n").as_bytes())
    })
    .map(|_| ())
    .map_err(|source| KeysetStoreError::Io {
        action: "recording the acceptance time in",
        path: dir.join(acceptance_name(version)),
        source: std::io::Error::other(source),
    })
}

/// When the installed keyset file `keyset_path` was accepted, from the file recorded beside
/// it; `None` when there is none or it does not hold one decimal number (it is at most a few
/// bytes; anything longer is not read).
fn recorded_acceptance(keyset_path: &Path) -> Option<i64> {
    use std::io::Read as _;
    let name = keyset_path.file_name()?.to_str()?;
    let version = name
        .strip_prefix(INSTALLED_PREFIX)?
        .strip_suffix(INSTALLED_SUFFIX)?;
    let path = keyset_path.with_file_name(format!("{INSTALLED_PREFIX}{version}{ACCEPTED_SUFFIX}"));
    let mut text = String::new();
    std::fs::File::open(path)
        .ok()?
        .take(32)
        .read_to_string(&mut text)
        .ok()?;
    text.strip_suffix('\n')?.parse().ok()
}

/// Installed versions in `dir`, ascending, by file name; a missing directory holds none.
fn installed_files(dir: &Path) -> Result<Vec<(u64, PathBuf)>, KeysetStoreError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(KeysetStoreError::Io {
                action: "listing",
                path: dir.to_owned(),
                source,
            });
        }
    };
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| KeysetStoreError::Io {
            action: "listing",
            path: dir.to_owned(),
            source,
        })?;
        let name = entry.file_name();
        let Some(version) = name
            .to_str()
            .and_then(|n| n.strip_prefix(INSTALLED_PREFIX))
            .and_then(|n| n.strip_suffix(INSTALLED_SUFFIX))
            .filter(|n| !n.starts_with('0') && n.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        found.push((version, entry.path()));
    }
    found.sort();
    Ok(found)
}

fn read_keyset(path: &Path) -> Result<KeysetFile, KeysetStoreError> {
    KeysetFile::read_file(path).map_err(|source| KeysetStoreError::Keyset {
        path: path.to_owned(),
        source: Box::new(source),
    })
}

/// The refusal (code and reason) for a keyset that `accept_next` refused.
fn refusal_of(error: &KeysetError, installed: u64, offered: u64) -> KeysetRefusal {
    let code = match error.innermost() {
        KeysetError::VersionSkipped { .. } | KeysetError::VersionNotNewer { .. } => {
            "keyset.not-next-version"
        }
        KeysetError::ThresholdNotMet { .. } => "keyset.threshold-not-met",
        KeysetError::BadSignature { .. }
        | KeysetError::SignerNotRoot { .. }
        | KeysetError::UnknownSigner { .. } => "keyset.bad-signature",
        KeysetError::KeyIdReused { .. } => "keyset.key-reused",
        KeysetError::Unrevoked { .. } => "keyset.revocation-withdrawn",
        _ => "keyset.refused",
    };
    KeysetRefusal {
        code,
        reason: format!(
            "keyset version {offered} is not accepted on top of the trusted version {installed}: \
             {error}"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installed_names_round_trip_and_odd_names_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "keyset-2.txt",
            "keyset-10.txt",
            "keyset-02.txt",
            ".keyset-3.txt.tmp-x",
        ] {
            std::fs::write(dir.path().join(name), b"").unwrap();
        }
        let found: Vec<u64> = installed_files(dir.path())
            .unwrap()
            .into_iter()
            .map(|(v, _)| v)
            .collect();
        assert_eq!(found, [2, 10]);
        assert_eq!(installed_name(7), "keyset-7.txt");
    }

    #[test]
    fn a_missing_directory_holds_no_versions() {
        let dir = tempfile::tempdir().unwrap();
        assert!(
            installed_files(&dir.path().join("none"))
                .unwrap()
                .is_empty()
        );
    }
}
