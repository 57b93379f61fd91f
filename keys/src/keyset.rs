//! Keysets: signed documents that say which key may sign for which role, on which channels,
//! and when. Rotation and revocation cross the air gap as new keyset versions.
//!
//! # File format (`sluice keyset v1`)
//!
//! A keyset file is UTF-8 text with LF line endings. It is a *document* followed by
//! *signatures*:
//!
//! ```text
//! sluice keyset v1
//! version 2
//! threshold 2
//! key role=root channels=- not-before=1767225600 not-after=1830297600 revoked-at=- public=RWQ…
//! key role=root channels=- not-before=1767225600 not-after=1830297600 revoked-at=- public=RWQ…
//! key role=outer-bundle channels=1,2 not-before=1767225600 not-after=1798761600 revoked-at=- public=RWQ…
//! end
//! signature RWQ…
//! signature RWQ…
//! ```
//!
//! - The document is every byte from the start of the file up to and including the newline
//!   after `end`. Signatures are made over exactly those bytes as stored; nothing is ever
//!   re-encoded before verifying.
//! - `version` is a decimal integer ≥ 1; `threshold` is 1 to 255 and at most the number of root
//!   keys listed.
//! - Each `key` line has its fields in exactly this order: `role` (`root`, `outer-bundle`,
//!   `inner-return`, `inner-cert`); `channels`, `-` for roles not bound to a channel (`root`,
//!   `inner-cert`) and otherwise a strictly ascending comma-separated list of channel numbers;
//!   `not-before` and `not-after` in Unix seconds, the key being valid for
//!   `not-before ≤ t < not-after`; `revoked-at`, `-` or Unix seconds from which on the key is
//!   refused; `public`, the base64 of signify's 42-byte public key record
//!   (`"Ed"` · keynum · key), the same text as line 2 of the key's `.pub` file.
//! - A key number and a public key each appear at most once. Numbers are canonical decimal
//!   (no sign, no leading zeros).
//! - Each `signature` line is the base64 of signify's 74-byte signature record, the same text as
//!   line 2 of a `signify -S` `.sig` file over the document, so
//!   `signify -V -p root.pub -m document -x document.sig` checks it too.
//!
//! # Trust rules
//!
//! - Version 1 is the trust anchor an operator installs after comparing fingerprints out of
//!   band. It must carry signatures from `threshold` distinct root keys of its own.
//! - Version N+1 is accepted only on top of an installed version N, and only with signatures
//!   from `threshold(N)` distinct root keys of N *and* `threshold(N+1)` distinct root keys of
//!   N+1. A key number signing twice counts once.
//! - Only root keys valid at the verifier's time (inside their window, not revoked) count.
//! - Every signature in the file must verify and come from a root key of the versions being
//!   checked; anything else is an error, not something to skip.
//! - Versions only go up, one at a time. A key number keeps its public key across versions, and
//!   a revocation is never withdrawn or moved later.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::fsutil::{self, Existing};
use crate::signify::{self, KeyFileError, PublicKey, SignatureFile};
use crate::{ChannelId, KeyId, KeyLookup, KeyRejection, Role, Signer};

/// The first line of every keyset file of this format.
pub const FORMAT_LINE: &str = "sluice keyset v1";
/// The largest keyset file accepted, in bytes.
pub const MAX_FILE_LEN: usize = 1 << 20;
/// The most keys one keyset may list.
pub const MAX_KEYS: usize = 1000;
/// The most channels one key may be bound to.
pub const MAX_CHANNELS_PER_KEY: usize = 1024;
/// The most signatures one keyset file may carry.
pub const MAX_SIGNATURES: usize = 64;

/// Why a keyset was refused. Parse errors name the 1-based line and the field.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeysetError {
    /// An error in a keyset file, with the file it came from.
    #[error("keyset {file}")]
    InFile {
        /// The file.
        file: PathBuf,
        /// What was wrong.
        #[source]
        source: Box<KeysetError>,
    },
    /// The file could not be read.
    #[error("cannot read it")]
    Read(#[source] std::io::Error),
    /// The file could not be written.
    #[error("cannot write it")]
    Write(#[source] std::io::Error),
    /// The file is larger than [`MAX_FILE_LEN`].
    #[error("it is larger than {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The file is not UTF-8 text.
    #[error("it is not UTF-8 text")]
    NotText,
    /// Line 1 is not [`FORMAT_LINE`].
    #[error("line 1: expected `{FORMAT_LINE}`, found {found:?}")]
    UnknownFormat {
        /// Line 1, cut to 80 bytes.
        found: String,
    },
    /// A line or field does not follow the format.
    #[error("{}{field}: {problem}", line_prefix(*line))]
    Malformed {
        /// The 1-based line number.
        line: usize,
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        problem: String,
    },
    /// The file ends before the `end` line.
    #[error("line {line}: the document has no `end` line")]
    MissingEnd {
        /// The line after the last one.
        line: usize,
    },
    /// A public key or signature record is bad.
    #[error("line {line}: {field}")]
    BadRecord {
        /// The 1-based line number.
        line: usize,
        /// `public` or `signature`.
        field: &'static str,
        /// What was wrong with the record.
        #[source]
        source: KeyFileError,
    },
    /// More keys than [`MAX_KEYS`].
    #[error("more than {limit} keys")]
    TooManyKeys {
        /// The limit.
        limit: usize,
    },
    /// More signatures than [`MAX_SIGNATURES`].
    #[error("more than {limit} signatures")]
    TooManySignatures {
        /// The limit.
        limit: usize,
    },
    /// A key number appears twice.
    #[error("{}key {key_id} is listed twice", line_prefix(*line))]
    DuplicateKeyId {
        /// The 1-based line of the second entry (0 for documents built in memory).
        line: usize,
        /// The key number.
        key_id: KeyId,
    },
    /// A public key appears twice (under two key numbers).
    #[error("{}the public key of {key_id} is already listed as key {first}", line_prefix(*line))]
    DuplicatePublicKey {
        /// The 1-based line of the second entry (0 for documents built in memory).
        line: usize,
        /// The second key number.
        key_id: KeyId,
        /// The first key number.
        first: KeyId,
    },
    /// A root or inner-cert key lists channels, or a channel-bound key lists none.
    #[error("{}{role} keys {}", line_prefix(*line), if *.bound { "must list at least one channel" } else { "are not bound to channels" })]
    ChannelsDoNotFitRole {
        /// The 1-based line (0 for documents built in memory).
        line: usize,
        /// The key's role.
        role: Role,
        /// Whether the role is bound to channels.
        bound: bool,
    },
    /// `not-before` is not before `not-after`.
    #[error("{}not-before {not_before} is not before not-after {not_after}", line_prefix(*line))]
    EmptyWindow {
        /// The 1-based line (0 for documents built in memory).
        line: usize,
        /// Start of the window.
        not_before: i64,
        /// End of the window.
        not_after: i64,
    },
    /// The threshold is more than the number of root keys.
    #[error("threshold {threshold} is more than the {roots} root keys listed")]
    ThresholdTooHigh {
        /// The threshold.
        threshold: u8,
        /// The number of root keys.
        roots: usize,
    },
    /// No keyset file was given to verify.
    #[error("no keyset files given; start with version 1, the trust anchor")]
    NoFiles,
    /// A keyset installed as trust anchor is not version 1.
    #[error("only version 1 can be installed as the trust anchor; this is version {version}")]
    NotAnAnchor {
        /// The version offered.
        version: u64,
    },
    /// The offered version is not newer than the installed one.
    #[error("version {offered} is not newer than the installed version {installed}")]
    VersionNotNewer {
        /// The installed version.
        installed: u64,
        /// The version offered.
        offered: u64,
    },
    /// The offered version skips one or more versions.
    #[error(
        "version {offered} does not follow the installed version {installed}; \
         install version {} first", installed + 1
    )]
    VersionSkipped {
        /// The installed version.
        installed: u64,
        /// The version offered.
        offered: u64,
    },
    /// Not enough distinct, currently valid root keys signed.
    #[error(
        "version {offered} is signed by {found} distinct valid root keys of version {roots_of}; \
         {needed} are needed"
    )]
    ThresholdNotMet {
        /// The version being checked.
        offered: u64,
        /// The version whose root keys were counted.
        roots_of: u64,
        /// The threshold.
        needed: u8,
        /// Distinct valid root signatures found.
        found: usize,
    },
    /// A signature from a root key does not verify over the document.
    #[error("the signature by key {key_id} does not verify over the document")]
    BadSignature {
        /// The key the signature names.
        key_id: KeyId,
    },
    /// A signature comes from a key that is not a root key.
    #[error("the signature by key {key_id} does not count: its role is {role}, not root")]
    SignerNotRoot {
        /// The key the signature names.
        key_id: KeyId,
        /// The key's role.
        role: Role,
    },
    /// A signature comes from a key in neither version.
    #[error("the signature by key {key_id} is from a key in neither keyset version")]
    UnknownSigner {
        /// The key the signature names.
        key_id: KeyId,
    },
    /// A key number was given another public key in the new version.
    #[error("key {key_id} has a different public key than in the installed version")]
    KeyIdReused {
        /// The key number.
        key_id: KeyId,
    },
    /// A revocation was withdrawn or moved later.
    #[error("key {key_id} was revoked at {revoked_at}; a later version may not undo or delay that")]
    Unrevoked {
        /// The key number.
        key_id: KeyId,
        /// When the installed version says it was revoked.
        revoked_at: i64,
    },
    /// The key has already signed this document.
    #[error("key {key_id} has already signed this keyset")]
    AlreadySigned {
        /// The key number.
        key_id: KeyId,
    },
    /// The key is not in the keyset.
    #[error("key {key_id} is not in the keyset")]
    UnknownKey {
        /// The key number.
        key_id: KeyId,
    },
}

impl KeysetError {
    /// The error without the file wrapper, for matching.
    pub fn innermost(&self) -> &KeysetError {
        match self {
            KeysetError::InFile { source, .. } => source.innermost(),
            other => other,
        }
    }
}

type Result<T, E = KeysetError> = std::result::Result<T, E>;

/// `line N: ` for errors in a file; nothing for documents built in memory (line 0).
fn line_prefix(line: usize) -> String {
    if line == 0 {
        String::new()
    } else {
        format!("line {line}: ")
    }
}

/// Whether a role's keys are bound to channels.
pub fn role_is_channel_bound(role: Role) -> bool {
    matches!(role, Role::OuterBundle | Role::InnerReturn)
}

/// One key of a keyset and what it may do.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct KeyEntry {
    /// The key.
    pub public_key: PublicKey,
    /// What it may sign.
    pub role: Role,
    /// The channels it may sign for, ascending; empty for roles not bound to a channel.
    pub channels: Vec<ChannelId>,
    /// Start of the validity window, Unix seconds (inclusive).
    pub not_before: i64,
    /// End of the validity window, Unix seconds (exclusive).
    pub not_after: i64,
    /// When the key was revoked, Unix seconds; refused from then on.
    pub revoked_at: Option<i64>,
}

impl KeyEntry {
    /// The key number.
    pub fn key_id(&self) -> KeyId {
        self.public_key.key_id()
    }

    /// Whether the key may sign at `at` (inside its window and not revoked), regardless of
    /// role and channel.
    pub fn check_time(&self, at: i64) -> Result<(), KeyRejection> {
        let key_id = self.key_id();
        if let Some(revoked_at) = self.revoked_at
            && at >= revoked_at
        {
            return Err(KeyRejection::Revoked { key_id, revoked_at });
        }
        if at < self.not_before {
            return Err(KeyRejection::NotYetValid {
                key_id,
                not_before: self.not_before,
                at,
            });
        }
        if at >= self.not_after {
            return Err(KeyRejection::Expired {
                key_id,
                not_after: self.not_after,
                at,
            });
        }
        Ok(())
    }

    fn check_shape(&self, line: usize) -> Result<()> {
        let bound = role_is_channel_bound(self.role);
        if bound == self.channels.is_empty() {
            return Err(KeysetError::ChannelsDoNotFitRole {
                line,
                role: self.role,
                bound,
            });
        }
        if self.channels.len() > MAX_CHANNELS_PER_KEY {
            return Err(KeysetError::Malformed {
                line,
                field: "channels",
                problem: format!("more than {MAX_CHANNELS_PER_KEY} channels"),
            });
        }
        if self.channels.windows(2).any(|pair| pair[0] >= pair[1]) {
            return Err(KeysetError::Malformed {
                line,
                field: "channels",
                problem: "channels must be strictly ascending".to_owned(),
            });
        }
        if self.not_before < 0 || self.not_after < 0 || self.revoked_at.is_some_and(|t| t < 0) {
            return Err(KeysetError::Malformed {
                line,
                field: "not-before",
                problem: "times are Unix seconds and cannot be negative".to_owned(),
            });
        }
        if self.not_before >= self.not_after {
            return Err(KeysetError::EmptyWindow {
                line,
                not_before: self.not_before,
                not_after: self.not_after,
            });
        }
        Ok(())
    }

    fn encode(&self, out: &mut String) {
        let channels = if self.channels.is_empty() {
            "-".to_owned()
        } else {
            let list: Vec<String> = self.channels.iter().map(|c| c.0.to_string()).collect();
            list.join(",")
        };
        let revoked_at = self
            .revoked_at
            .map_or_else(|| "-".to_owned(), |t| t.to_string());
        out.push_str(&format!(
            "key role={} channels={channels} not-before={} not-after={} revoked-at={revoked_at} public={}\n",
            self.role,
            self.not_before,
            self.not_after,
            BASE64.encode(self.public_key.to_record()),
        ));
    }
}

/// The content of a keyset: version, threshold and keys. Build one to make a new keyset;
/// [`KeysetDocument::encode`] gives the bytes that root keys sign.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct KeysetDocument {
    version: u64,
    threshold: u8,
    keys: Vec<KeyEntry>,
}

impl KeysetDocument {
    /// A version-1 document with the given root keys (and any others), checked like a parsed
    /// one.
    pub fn new(threshold: u8, keys: Vec<KeyEntry>) -> Result<KeysetDocument> {
        let document = KeysetDocument {
            version: 1,
            threshold,
            keys,
        };
        document.check(&[])?;
        Ok(document)
    }

    /// The version number.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// How many distinct root keys must sign.
    pub fn threshold(&self) -> u8 {
        self.threshold
    }

    /// The keys, in file order.
    pub fn keys(&self) -> &[KeyEntry] {
        &self.keys
    }

    /// The entry for `key_id`.
    pub fn entry(&self, key_id: KeyId) -> Option<&KeyEntry> {
        self.keys.iter().find(|entry| entry.key_id() == key_id)
    }

    /// A copy with the version number one higher, to edit into the next version.
    pub fn next_version(&self) -> KeysetDocument {
        KeysetDocument {
            version: self.version.saturating_add(1),
            ..self.clone()
        }
    }

    /// Adds a key.
    pub fn add_key(&mut self, entry: KeyEntry) -> Result<()> {
        self.keys.push(entry);
        if let Err(error) = self.check(&[]) {
            self.keys.pop();
            return Err(error);
        }
        Ok(())
    }

    /// Removes a key. A removed key is simply unknown to the new version; revoking it instead
    /// keeps a record of why its old signatures stop counting.
    pub fn remove_key(&mut self, key_id: KeyId) -> Result<KeyEntry> {
        let index = self
            .keys
            .iter()
            .position(|entry| entry.key_id() == key_id)
            .ok_or(KeysetError::UnknownKey { key_id })?;
        let removed = self.keys.remove(index);
        if let Err(error) = self.check(&[]) {
            self.keys.insert(index, removed);
            return Err(error);
        }
        Ok(removed)
    }

    /// Revokes a key from `at` on. A key already revoked earlier stays revoked from the earlier
    /// time: revocations only move earlier.
    pub fn revoke(&mut self, key_id: KeyId, at: i64) -> Result<()> {
        if at < 0 {
            return Err(KeysetError::Malformed {
                line: 0,
                field: "revoked-at",
                problem: "times are Unix seconds and cannot be negative".to_owned(),
            });
        }
        let entry = self
            .keys
            .iter_mut()
            .find(|entry| entry.key_id() == key_id)
            .ok_or(KeysetError::UnknownKey { key_id })?;
        entry.revoked_at = Some(entry.revoked_at.map_or(at, |earlier| earlier.min(at)));
        Ok(())
    }

    /// Sets the threshold.
    pub fn set_threshold(&mut self, threshold: u8) -> Result<()> {
        let previous = self.threshold;
        self.threshold = threshold;
        if let Err(error) = self.check(&[]) {
            self.threshold = previous;
            return Err(error);
        }
        Ok(())
    }

    /// The document bytes: the text from the format line through `end` and its newline.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = format!(
            "{FORMAT_LINE}\nversion {}\nthreshold {}\n",
            self.version, self.threshold
        );
        for entry in &self.keys {
            entry.encode(&mut out);
        }
        out.push_str("end\n");
        out.into_bytes()
    }

    /// Checks the rules that do not need signatures. `lines[i]` is the file line of key `i`
    /// (empty for documents built in memory, reported as line 0).
    fn check(&self, lines: &[usize]) -> Result<()> {
        let line_of = |index: usize| lines.get(index).copied().unwrap_or(0);
        if self.version == 0 {
            return Err(KeysetError::Malformed {
                line: 2,
                field: "version",
                problem: "versions start at 1".to_owned(),
            });
        }
        if self.threshold == 0 {
            return Err(KeysetError::Malformed {
                line: 3,
                field: "threshold",
                problem: "the threshold must be at least 1".to_owned(),
            });
        }
        if self.keys.len() > MAX_KEYS {
            return Err(KeysetError::TooManyKeys { limit: MAX_KEYS });
        }
        for (index, entry) in self.keys.iter().enumerate() {
            entry.check_shape(line_of(index))?;
            for earlier in &self.keys[..index] {
                if earlier.key_id() == entry.key_id() {
                    return Err(KeysetError::DuplicateKeyId {
                        line: line_of(index),
                        key_id: entry.key_id(),
                    });
                }
                if earlier.public_key.verifying_key() == entry.public_key.verifying_key() {
                    return Err(KeysetError::DuplicatePublicKey {
                        line: line_of(index),
                        key_id: entry.key_id(),
                        first: earlier.key_id(),
                    });
                }
            }
        }
        let roots = self.keys.iter().filter(|e| e.role == Role::Root).count();
        if usize::from(self.threshold) > roots {
            return Err(KeysetError::ThresholdTooHigh {
                threshold: self.threshold,
                roots,
            });
        }
        Ok(())
    }
}

/// A keyset file as read: the document, its exact bytes, and the signatures. Nothing about it
/// is trusted yet; [`Keyset::anchor`] and [`Keyset::accept_next`] decide that.
#[derive(Clone, Debug)]
pub struct KeysetFile {
    document: KeysetDocument,
    document_bytes: Vec<u8>,
    signatures: Vec<SignatureFile>,
}

impl KeysetFile {
    /// An unsigned file for `document`.
    pub fn unsigned(document: KeysetDocument) -> KeysetFile {
        KeysetFile {
            document_bytes: document.encode(),
            document,
            signatures: Vec::new(),
        }
    }

    /// The document.
    pub fn document(&self) -> &KeysetDocument {
        &self.document
    }

    /// The exact document bytes the signatures cover.
    pub fn document_bytes(&self) -> &[u8] {
        &self.document_bytes
    }

    /// The signatures, in file order.
    pub fn signatures(&self) -> &[SignatureFile] {
        &self.signatures
    }

    /// Signs the document and appends the signature. Refuses a second signature by the same
    /// key number.
    pub fn sign(&mut self, signer: &dyn Signer) -> Result<()> {
        let key_id = signer.key_id();
        if self.signatures.iter().any(|s| s.key_id == key_id) {
            return Err(KeysetError::AlreadySigned { key_id });
        }
        if self.signatures.len() >= MAX_SIGNATURES {
            return Err(KeysetError::TooManySignatures {
                limit: MAX_SIGNATURES,
            });
        }
        self.signatures.push(SignatureFile {
            key_id,
            signature: signer.sign(&self.document_bytes),
        });
        Ok(())
    }

    /// The whole file: document bytes, then one `signature` line per signature.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.document_bytes.clone();
        for signature in &self.signatures {
            out.extend_from_slice(b"signature ");
            out.extend_from_slice(BASE64.encode(signature.to_record()).as_bytes());
            out.push(b'\n');
        }
        out
    }

    /// Parses a keyset file (see the module documentation for the format).
    pub fn parse(bytes: &[u8]) -> Result<KeysetFile> {
        if bytes.len() > MAX_FILE_LEN {
            return Err(KeysetError::TooLarge {
                limit: MAX_FILE_LEN,
            });
        }
        let text = std::str::from_utf8(bytes).map_err(|_| KeysetError::NotText)?;
        // Each item: (1-based line number, line without its newline, byte offset after it).
        let mut lines = text
            .split_inclusive('\n')
            .scan(0usize, |offset, raw| {
                *offset += raw.len();
                Some((*offset, raw))
            })
            .enumerate()
            .map(|(i, (end, raw))| {
                let number = i + 1;
                match raw.strip_suffix('\n') {
                    Some(line) => Ok((number, line, end)),
                    None => Err(KeysetError::Malformed {
                        line: number,
                        field: "line",
                        problem: "the file must end with a newline".to_owned(),
                    }),
                }
            });
        let mut next_line = |expected_line: usize| {
            lines
                .next()
                .unwrap_or(Err(KeysetError::MissingEnd {
                    line: expected_line,
                }))
                .and_then(|(number, line, end)| {
                    if line.contains('\r') {
                        Err(KeysetError::Malformed {
                            line: number,
                            field: "line",
                            problem: "carriage returns are not allowed; use LF line endings"
                                .to_owned(),
                        })
                    } else {
                        Ok((number, line, end))
                    }
                })
        };

        // Dispatch on the format line first; an unknown format is an error, never a guess.
        let (_, format_line, _) = next_line(1)?;
        if format_line != FORMAT_LINE {
            return Err(KeysetError::UnknownFormat {
                found: format_line.chars().take(80).collect(),
            });
        }
        let (_, line, _) = next_line(2)?;
        let version = parse_keyword_number(line, 2, "version")?;
        let (_, line, _) = next_line(3)?;
        let threshold =
            u8::try_from(parse_keyword_number(line, 3, "threshold")?).map_err(|_| {
                KeysetError::Malformed {
                    line: 3,
                    field: "threshold",
                    problem: "the threshold is at most 255".to_owned(),
                }
            })?;

        let mut keys = Vec::new();
        let mut key_lines = Vec::new();
        let mut number = 3;
        let end_offset = loop {
            let (line_number, line, end) = next_line(number + 1)?;
            number = line_number;
            if line == "end" {
                break end;
            }
            if keys.len() == MAX_KEYS {
                return Err(KeysetError::TooManyKeys { limit: MAX_KEYS });
            }
            keys.push(parse_key_line(line, number)?);
            key_lines.push(number);
        };
        let document = KeysetDocument {
            version,
            threshold,
            keys,
        };
        document.check(&key_lines)?;

        let mut signatures = Vec::new();
        for item in lines {
            let (number, line, _) = item?;
            let Some(encoded) = line.strip_prefix("signature ") else {
                return Err(KeysetError::Malformed {
                    line: number,
                    field: "signature",
                    problem: "expected `signature <base64>` after `end`".to_owned(),
                });
            };
            if signatures.len() == MAX_SIGNATURES {
                return Err(KeysetError::TooManySignatures {
                    limit: MAX_SIGNATURES,
                });
            }
            let record = decode(encoded, number, "signature", 74)?;
            let signature =
                SignatureFile::from_record(&record).map_err(|source| KeysetError::BadRecord {
                    line: number,
                    field: "signature",
                    source,
                })?;
            signatures.push(signature);
        }
        Ok(KeysetFile {
            document,
            document_bytes: bytes[..end_offset].to_vec(),
            signatures,
        })
    }

    /// Reads and parses a keyset file.
    pub fn read_file(path: &Path) -> Result<KeysetFile> {
        let in_file = |source| KeysetError::InFile {
            file: path.into(),
            source: Box::new(source),
        };
        let file = std::fs::File::open(path).map_err(|e| in_file(KeysetError::Read(e)))?;
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(
            &mut std::io::Read::take(file, MAX_FILE_LEN as u64 + 1),
            &mut bytes,
        )
        .map_err(|e| in_file(KeysetError::Read(e)))?;
        KeysetFile::parse(&bytes).map_err(in_file)
    }

    /// Writes the file atomically, replacing any file at `path`.
    pub fn write_file(&self, path: &Path) -> Result<()> {
        fsutil::write_atomic(path, &self.to_bytes(), 0o644, Existing::Replace).map_err(|e| {
            KeysetError::InFile {
                file: path.into(),
                source: Box::new(KeysetError::Write(e)),
            }
        })
    }
}

fn decode(encoded: &str, line: usize, field: &'static str, len: usize) -> Result<Vec<u8>> {
    signify::decode_record(encoded, Path::new("<keyset>"), line, field, len).map_err(|source| {
        KeysetError::BadRecord {
            line,
            field,
            source,
        }
    })
}

/// Parses a canonical decimal: digits only, no leading zeros.
fn parse_number(text: &str, line: usize, field: &'static str) -> Result<u64> {
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    let value = if canonical { text.parse().ok() } else { None };
    value.ok_or_else(|| KeysetError::Malformed {
        line,
        field,
        problem: format!("expected a decimal number without sign or leading zeros, found {text:?}"),
    })
}

fn parse_time(text: &str, line: usize, field: &'static str) -> Result<i64> {
    i64::try_from(parse_number(text, line, field)?).map_err(|_| KeysetError::Malformed {
        line,
        field,
        problem: "the time is too large".to_owned(),
    })
}

fn parse_keyword_number(line: &str, number: usize, keyword: &'static str) -> Result<u64> {
    let Some(value) = line
        .strip_prefix(keyword)
        .and_then(|rest| rest.strip_prefix(' '))
    else {
        return Err(KeysetError::Malformed {
            line: number,
            field: keyword,
            problem: format!("expected `{keyword} <number>`"),
        });
    };
    parse_number(value, number, keyword)
}

/// `key role=… channels=… not-before=… not-after=… revoked-at=… public=…`, fields in this
/// order, separated by single spaces.
fn parse_key_line(line: &str, number: usize) -> Result<KeyEntry> {
    const FIELDS: [&str; 6] = [
        "role",
        "channels",
        "not-before",
        "not-after",
        "revoked-at",
        "public",
    ];
    let mut parts = line.split(' ');
    if parts.next() != Some("key") {
        return Err(KeysetError::Malformed {
            line: number,
            field: "line",
            problem: "expected `key …` or `end`".to_owned(),
        });
    }
    let mut values = [""; 6];
    for (slot, field) in values.iter_mut().zip(FIELDS) {
        let part = parts.next().unwrap_or("");
        *slot = part
            .strip_prefix(field)
            .and_then(|rest| rest.strip_prefix('='))
            .ok_or_else(|| KeysetError::Malformed {
                line: number,
                field,
                problem: format!("expected `{field}=…` here, found {part:?}"),
            })?;
    }
    if parts.next().is_some() {
        return Err(KeysetError::Malformed {
            line: number,
            field: "line",
            problem: "unexpected text after `public=…`".to_owned(),
        });
    }
    let [role, channels, not_before, not_after, revoked_at, public] = values;
    let role = Role::parse(role).ok_or_else(|| KeysetError::Malformed {
        line: number,
        field: "role",
        problem: format!(
            "unknown role {role:?}; expected root, outer-bundle, inner-return or inner-cert"
        ),
    })?;
    let channels = if channels == "-" {
        Vec::new()
    } else {
        let mut list = Vec::new();
        for item in channels.split(',') {
            if list.len() == MAX_CHANNELS_PER_KEY {
                return Err(KeysetError::Malformed {
                    line: number,
                    field: "channels",
                    problem: format!("more than {MAX_CHANNELS_PER_KEY} channels"),
                });
            }
            let value = parse_number(item, number, "channels")?;
            let channel = u32::try_from(value).map_err(|_| KeysetError::Malformed {
                line: number,
                field: "channels",
                problem: format!("channel {value} is larger than {}", u32::MAX),
            })?;
            list.push(ChannelId(channel));
        }
        list
    };
    let not_before = parse_time(not_before, number, "not-before")?;
    let not_after = parse_time(not_after, number, "not-after")?;
    let revoked_at = if revoked_at == "-" {
        None
    } else {
        Some(parse_time(revoked_at, number, "revoked-at")?)
    };
    let record = decode(public, number, "public", 42)?;
    let public_key = PublicKey::from_record(&record).map_err(|source| KeysetError::BadRecord {
        line: number,
        field: "public",
        source,
    })?;
    Ok(KeyEntry {
        public_key,
        role,
        channels,
        not_before,
        not_after,
        revoked_at,
    })
}

/// A keyset whose signatures have been checked: the installed anchor (version 1) or a version
/// accepted on top of the one before. Only this type answers key lookups.
#[derive(Clone, Debug)]
pub struct Keyset {
    file: KeysetFile,
}

impl Keyset {
    /// Installs version 1 as the trust anchor: it must carry signatures from `threshold`
    /// distinct root keys of its own that are valid at `at`.
    pub fn anchor(file: KeysetFile, at: i64) -> Result<Keyset> {
        let version = file.document.version;
        if version != 1 {
            return Err(KeysetError::NotAnAnchor { version });
        }
        check_signatures(&file, None, at)?;
        Ok(Keyset { file })
    }

    /// Accepts `next` as the version after this one (see the module documentation for the
    /// rules). `at` is the verifier's time in Unix seconds.
    pub fn accept_next(&self, next: KeysetFile, at: i64) -> Result<Keyset> {
        let installed = self.version();
        let offered = next.document.version;
        if offered <= installed {
            return Err(KeysetError::VersionNotNewer { installed, offered });
        }
        if offered != installed + 1 {
            return Err(KeysetError::VersionSkipped { installed, offered });
        }
        for old in self.document().keys() {
            let Some(new) = next.document.entry(old.key_id()) else {
                continue;
            };
            if new.public_key != old.public_key {
                return Err(KeysetError::KeyIdReused {
                    key_id: old.key_id(),
                });
            }
            if let Some(revoked_at) = old.revoked_at
                && new.revoked_at.is_none_or(|t| t > revoked_at)
            {
                return Err(KeysetError::Unrevoked {
                    key_id: old.key_id(),
                    revoked_at,
                });
            }
        }
        check_signatures(&next, Some(self.document()), at)?;
        Ok(Keyset { file: next })
    }

    /// Installs the anchor and accepts each following file in turn.
    pub fn verify_chain(files: impl IntoIterator<Item = KeysetFile>, at: i64) -> Result<Keyset> {
        let mut files = files.into_iter();
        let first = files
            .next()
            .ok_or(KeysetError::NotAnAnchor { version: 0 })?;
        let mut keyset = Keyset::anchor(first, at)?;
        for file in files {
            keyset = keyset.accept_next(file, at)?;
        }
        Ok(keyset)
    }

    /// The version number.
    pub fn version(&self) -> u64 {
        self.file.document.version
    }

    /// The document.
    pub fn document(&self) -> &KeysetDocument {
        &self.file.document
    }

    /// The file as verified (document bytes and signatures).
    pub fn file(&self) -> &KeysetFile {
        &self.file
    }
}

/// Counts distinct valid root signatures for the document's own roots, and for `previous`'s
/// roots if given, and checks both thresholds. Every signature must verify and name a root of
/// one of the two versions.
fn check_signatures(file: &KeysetFile, previous: Option<&KeysetDocument>, at: i64) -> Result<()> {
    let current = &file.document;
    let mut counted_current: Vec<KeyId> = Vec::new();
    let mut counted_previous: Vec<KeyId> = Vec::new();
    for signature in &file.signatures {
        let key_id = signature.key_id;
        let in_current = current.entry(key_id);
        let in_previous = previous.and_then(|doc| doc.entry(key_id));
        let root_current = in_current.filter(|e| e.role == Role::Root);
        let root_previous = in_previous.filter(|e| e.role == Role::Root);
        let Some(signer) = root_current.or(root_previous) else {
            return Err(match in_current.or(in_previous) {
                Some(entry) => KeysetError::SignerNotRoot {
                    key_id,
                    role: entry.role,
                },
                None => KeysetError::UnknownSigner { key_id },
            });
        };
        signer
            .public_key
            .verify(&file.document_bytes, signature)
            .map_err(|_| KeysetError::BadSignature { key_id })?;
        if let Some(entry) = root_current
            && entry.check_time(at).is_ok()
            && !counted_current.contains(&key_id)
        {
            counted_current.push(key_id);
        }
        if let Some(entry) = root_previous
            && entry.check_time(at).is_ok()
            && !counted_previous.contains(&key_id)
        {
            counted_previous.push(key_id);
        }
    }
    if let Some(previous) = previous
        && counted_previous.len() < usize::from(previous.threshold)
    {
        return Err(KeysetError::ThresholdNotMet {
            offered: current.version,
            roots_of: previous.version,
            needed: previous.threshold,
            found: counted_previous.len(),
        });
    }
    if counted_current.len() < usize::from(current.threshold) {
        return Err(KeysetError::ThresholdNotMet {
            offered: current.version,
            roots_of: current.version,
            needed: current.threshold,
            found: counted_current.len(),
        });
    }
    Ok(())
}

impl KeyLookup for Keyset {
    fn verifying_key(
        &self,
        key_id: KeyId,
        role: Role,
        channel: Option<ChannelId>,
        at: i64,
    ) -> Result<ed25519_dalek::VerifyingKey, KeyRejection> {
        let entry = self
            .document()
            .entry(key_id)
            .ok_or(KeyRejection::UnknownKey { key_id })?;
        if entry.role != role {
            return Err(KeyRejection::WrongRole {
                key_id,
                actual: entry.role,
                wanted: role,
            });
        }
        let channel_allowed = match channel {
            None => entry.channels.is_empty(),
            Some(channel) => entry.channels.contains(&channel),
        };
        if !channel_allowed {
            return Err(KeyRejection::WrongChannel { key_id, channel });
        }
        entry.check_time(at)?;
        Ok(entry.public_key.verifying_key())
    }
}
