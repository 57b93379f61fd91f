//! Why a keyset file or document is refused: one error type for parsing, building, signing and
//! accepting keysets, so a caller matches one enum whatever step refused.

use std::path::PathBuf;

use crate::signify::KeyFileError;
use crate::{KeyId, Role};

use super::{FORMAT_LINE, FORMAT_LINE_V2};

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
    /// The file is larger than [`MAX_FILE_LEN`](super::MAX_FILE_LEN).
    #[error("it is larger than {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The file is not UTF-8 text.
    #[error("it is not UTF-8 text")]
    NotText,
    /// Line 1 is not [`FORMAT_LINE`].
    #[error("line 1: expected `{FORMAT_LINE}` or `{FORMAT_LINE_V2}`, found {found:?}")]
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
    /// More keys than [`MAX_KEYS`](super::MAX_KEYS).
    #[error("more than {limit} keys")]
    TooManyKeys {
        /// The limit.
        limit: usize,
    },
    /// More signatures than [`MAX_SIGNATURES`](super::MAX_SIGNATURES).
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

/// `line N: ` for errors in a file; nothing for documents built in memory (line 0).
fn line_prefix(line: usize) -> String {
    if line == 0 {
        String::new()
    } else {
        format!("line {line}: ")
    }
}
