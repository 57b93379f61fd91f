//! OpenBSD signify's key and detached-signature files.
//!
//! Every signify file is two lines of text:
//!
//! ```text
//! untrusted comment: <at most 1023 bytes of comment>
//! <base64 of a fixed-size binary record>
//! ```
//!
//! The records, as signify defines them (all integers big-endian):
//!
//! | file | record |
//! |---|---|
//! | public key | `"Ed"` · keynum\[8\] · public key\[32\] (42 bytes) |
//! | secret key | `"Ed"` · `"BK"` · kdfrounds u32 · salt\[16\] · checksum\[8\] · keynum\[8\] · secret key\[64\] (104 bytes) |
//! | signature | `"Ed"` · keynum\[8\] · Ed25519 signature\[64\] (74 bytes) |
//!
//! The 64-byte secret key is the Ed25519 seed followed by the public key. The checksum is the
//! first 8 bytes of SHA-512 over the plain secret key. With `kdfrounds` > 0 the stored secret key
//! is the plain one XORed with 64 bytes of `bcrypt_pbkdf(passphrase, salt, kdfrounds)`; with
//! `kdfrounds` = 0 (`signify -G -n`) it is stored as is.
//!
//! The embedded-signature envelope of bundles (comment, signature line, message) is the
//! `bundle-format` crate's business; this module does key files and detached signatures.

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{SigningKey, VerifyingKey};
use sha2::{Digest as _, Sha256, Sha512};
use zeroize::{Zeroize, Zeroizing};

use crate::fsutil::{self, Existing};
use crate::{KeyId, Signer};

/// The text every signify file starts with.
pub const COMMENT_PREFIX: &str = "untrusted comment: ";
/// The longest comment signify accepts (its buffer is 1024 bytes including the terminator).
pub const COMMENT_MAX_LEN: usize = 1023;
/// The passphrase work factor signify uses for new keys, and so do we.
pub const DEFAULT_KDF_ROUNDS: u32 = 42;
/// The most bcrypt_pbkdf rounds a secret key file may ask for. signify writes 42; a file asking
/// for millions would make loading it a denial of service.
pub const MAX_KDF_ROUNDS: u32 = 1024;
/// The largest key or signature file we read: a full-length comment plus the base64 record.
pub const MAX_FILE_LEN: u64 = 4096;

const PKALG: &[u8; 2] = b"Ed";
const KDFALG: &[u8; 2] = b"BK";
const PUBLIC_RECORD_LEN: usize = 2 + 8 + 32;
const SECRET_RECORD_LEN: usize = 2 + 2 + 4 + 16 + 8 + 8 + 64;
const SIGNATURE_RECORD_LEN: usize = 2 + 8 + 64;

/// Why a key or signature file was refused. Messages name the file (or `<text>` for text
/// parsed from memory), the line and the field.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFileError {
    /// The file could not be opened or read.
    #[error("cannot read {file}")]
    Read {
        /// The file.
        file: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The file could not be written.
    #[error("cannot write {file}")]
    Write {
        /// The file.
        file: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// Key files are never replaced, so an old key cannot be lost by accident.
    #[error("{file} already exists; move it away first if you mean to replace that key")]
    AlreadyExists {
        /// The file.
        file: PathBuf,
    },
    /// The file is larger than any signify key or signature file.
    #[error("{file} is larger than {limit} bytes, too large for a signify key or signature file")]
    TooLarge {
        /// The file.
        file: PathBuf,
        /// The size limit in bytes.
        limit: u64,
    },
    /// The file is not UTF-8 text.
    #[error("{file} is not text")]
    NotText {
        /// The file.
        file: PathBuf,
    },
    /// Line 1 does not start with `untrusted comment: `.
    #[error("{file} line 1: expected it to start with `untrusted comment: `")]
    MissingComment {
        /// The file.
        file: PathBuf,
    },
    /// The comment is longer than signify allows.
    #[error("{file} line 1: the comment is {len} bytes, longer than signify's {limit}")]
    CommentTooLong {
        /// The file.
        file: PathBuf,
        /// The comment's length in bytes.
        len: usize,
        /// The longest comment allowed.
        limit: usize,
    },
    /// A line is missing.
    #[error("{file} line {line}: missing the {field} line")]
    MissingLine {
        /// The file.
        file: PathBuf,
        /// The 1-based line number.
        line: usize,
        /// What the line should hold.
        field: &'static str,
    },
    /// A field is not valid base64.
    #[error("{file} line {line}: the {field} is not valid base64")]
    BadBase64 {
        /// The file.
        file: PathBuf,
        /// The 1-based line number.
        line: usize,
        /// The field.
        field: &'static str,
    },
    /// A field decodes to the wrong number of bytes.
    #[error("{file} line {line}: the {field} is {found} bytes, expected {expected}")]
    WrongLength {
        /// The file.
        file: PathBuf,
        /// The 1-based line number.
        line: usize,
        /// The field.
        field: &'static str,
        /// The length signify's format has.
        expected: usize,
        /// The length found.
        found: usize,
    },
    /// An algorithm tag is not the one signify writes.
    #[error("{file} line {line}: {field} is {found:?}, expected {expected:?}")]
    WrongAlgorithm {
        /// The file.
        file: PathBuf,
        /// The 1-based line number.
        line: usize,
        /// `pkalg` or `kdfalg`.
        field: &'static str,
        /// The tag found, lossily decoded.
        found: String,
        /// The tag expected.
        expected: &'static str,
    },
    /// Something follows the record line.
    #[error("{file} line {line}: unexpected text after the key or signature")]
    TrailingData {
        /// The file.
        file: PathBuf,
        /// The 1-based line number.
        line: usize,
    },
    /// The public key is not a valid Ed25519 point.
    #[error("{file}: public key {key_id} is not a valid Ed25519 point")]
    InvalidPoint {
        /// The file.
        file: PathBuf,
        /// The key number.
        key_id: KeyId,
    },
    /// The public key has small order, so signatures under it prove nothing.
    #[error("{file}: public key {key_id} is a weak (small-order) key; refusing it")]
    WeakKey {
        /// The file.
        file: PathBuf,
        /// The key number.
        key_id: KeyId,
    },
    /// A secret key file can be read or written by group or others.
    #[error(
        "{file} has mode {mode:04o}, so group or others can access the secret key; \
         run `chmod 600 {file}` (and consider the key compromised if others could read it)"
    )]
    SecretKeyExposed {
        /// The file.
        file: PathBuf,
        /// The file's permission bits.
        mode: u32,
    },
    /// The secret key is encrypted and no passphrase was given.
    #[error("{file} is encrypted with a passphrase; provide the passphrase")]
    PassphraseRequired {
        /// The file.
        file: PathBuf,
    },
    /// An empty passphrase was given; signify refuses those too.
    #[error("the passphrase for {file} is empty")]
    EmptyPassphrase {
        /// The file.
        file: PathBuf,
    },
    /// The file asks for more key-derivation rounds than we accept.
    #[error("{file}: kdfrounds is {found}, more than the {limit} accepted")]
    TooManyRounds {
        /// The file.
        file: PathBuf,
        /// The rounds the file asks for.
        found: u32,
        /// The most accepted.
        limit: u32,
    },
    /// The checksum does not match after decryption: the passphrase is wrong.
    #[error("{file}: incorrect passphrase")]
    WrongPassphrase {
        /// The file.
        file: PathBuf,
    },
    /// The checksum of an unencrypted secret key does not match: the file is damaged.
    #[error("{file}: the secret key's checksum does not match; the file is damaged")]
    Corrupt {
        /// The file.
        file: PathBuf,
    },
    /// The public half stored in the secret key is not the one its seed gives.
    #[error("{file}: the public key stored inside the secret key does not match its seed")]
    Inconsistent {
        /// The file.
        file: PathBuf,
    },
    /// A signature names a different key than the one it is checked against.
    #[error("the signature was made by key {found}, not by key {expected}")]
    KeyIdMismatch {
        /// The key the caller checks against.
        expected: KeyId,
        /// The key the signature names.
        found: KeyId,
    },
    /// The signature does not verify under the key.
    #[error("the signature does not verify under key {key_id}")]
    BadSignature {
        /// The key checked against.
        key_id: KeyId,
    },
}

type Result<T, E = KeyFileError> = std::result::Result<T, E>;

fn text_origin() -> PathBuf {
    PathBuf::from("<text>")
}

/// Splits a signify file into its comment and the decoded record of `len` bytes.
///
/// signify: line 1 is `untrusted comment: ` and the comment, line 2 the base64 record, each
/// ending in a newline (a missing final newline is tolerated; nothing may follow it).
fn parse_two_lines(
    text: &str,
    file: &Path,
    field: &'static str,
    len: usize,
) -> Result<(String, Vec<u8>)> {
    let Some(rest) = text.strip_prefix(COMMENT_PREFIX) else {
        return Err(KeyFileError::MissingComment { file: file.into() });
    };
    let Some((comment, rest)) = rest.split_once('\n') else {
        return Err(KeyFileError::MissingLine {
            file: file.into(),
            line: 2,
            field,
        });
    };
    if comment.len() > COMMENT_MAX_LEN {
        return Err(KeyFileError::CommentTooLong {
            file: file.into(),
            len: comment.len(),
            limit: COMMENT_MAX_LEN,
        });
    }
    let (record_line, after) = rest.split_once('\n').unwrap_or((rest, ""));
    if record_line.is_empty() {
        return Err(KeyFileError::MissingLine {
            file: file.into(),
            line: 2,
            field,
        });
    }
    if !after.is_empty() {
        return Err(KeyFileError::TrailingData {
            file: file.into(),
            line: 3,
        });
    }
    let record = decode_record(record_line, file, 2, field, len)?;
    Ok((comment.to_owned(), record))
}

/// Decodes one base64 record of exactly `len` bytes.
pub(crate) fn decode_record(
    encoded: &str,
    file: &Path,
    line: usize,
    field: &'static str,
    len: usize,
) -> Result<Vec<u8>> {
    // Base64 of `len` bytes is at most this long; refuse longer text before decoding it.
    if encoded.len() > len.div_ceil(3) * 4 {
        return Err(KeyFileError::WrongLength {
            file: file.into(),
            line,
            field,
            expected: len,
            found: (encoded.len() / 4 * 3)
                .saturating_sub(encoded.bytes().rev().take_while(|&b| b == b'=').count()),
        });
    }
    let record = BASE64
        .decode(encoded)
        .map_err(|_| KeyFileError::BadBase64 {
            file: file.into(),
            line,
            field,
        })?;
    if record.len() != len {
        return Err(KeyFileError::WrongLength {
            file: file.into(),
            line,
            field,
            expected: len,
            found: record.len(),
        });
    }
    Ok(record)
}

fn check_pkalg(tag: &[u8], file: &Path, line: usize) -> Result<()> {
    if tag != PKALG {
        return Err(KeyFileError::WrongAlgorithm {
            file: file.into(),
            line,
            field: "pkalg",
            found: String::from_utf8_lossy(tag).into_owned(),
            expected: "Ed",
        });
    }
    Ok(())
}

fn key_id_from(bytes: &[u8]) -> KeyId {
    let mut id = [0u8; 8];
    id.copy_from_slice(&bytes[..8]);
    KeyId(id)
}

/// Makes a comment safe for line 1: control characters become spaces and it is cut to
/// [`COMMENT_MAX_LEN`] bytes on a character boundary.
fn clean_comment(comment: &str) -> String {
    let mut cleaned = String::with_capacity(comment.len().min(COMMENT_MAX_LEN));
    for ch in comment.chars() {
        let ch = if ch.is_control() { ' ' } else { ch };
        if cleaned.len() + ch.len_utf8() > COMMENT_MAX_LEN {
            break;
        }
        cleaned.push(ch);
    }
    cleaned
}

fn two_line_file(comment: &str, record: &[u8]) -> String {
    format!(
        "{COMMENT_PREFIX}{}\n{}\n",
        clean_comment(comment),
        BASE64.encode(record)
    )
}

/// Reads a small file whole, refusing anything larger than [`MAX_FILE_LEN`].
fn read_small(file: &mut File, path: &Path) -> Result<String> {
    let mut bytes = Vec::new();
    file.take(MAX_FILE_LEN + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| KeyFileError::Read {
            file: path.into(),
            source,
        })?;
    if bytes.len() as u64 > MAX_FILE_LEN {
        return Err(KeyFileError::TooLarge {
            file: path.into(),
            limit: MAX_FILE_LEN,
        });
    }
    String::from_utf8(bytes).map_err(|error| {
        // The bytes may be a secret key; wipe them before letting go.
        error.into_bytes().zeroize();
        KeyFileError::NotText { file: path.into() }
    })
}

fn open(path: &Path) -> Result<File> {
    File::open(path).map_err(|source| KeyFileError::Read {
        file: path.into(),
        source,
    })
}

fn write_error(path: &Path, source: std::io::Error) -> KeyFileError {
    if source.kind() == std::io::ErrorKind::AlreadyExists {
        KeyFileError::AlreadyExists { file: path.into() }
    } else {
        KeyFileError::Write {
            file: path.into(),
            source,
        }
    }
}

/// A key fingerprint for people to compare over the phone: SHA-256 of the raw 32-byte Ed25519
/// public key, shown as `SHA256:` and 64 lower-case hex digits.
///
/// Independent check: `openssl pkey -pubin -in KEY.pem -outform DER | tail -c 32 | sha256sum`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(pub [u8; 32]);

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SHA256:{}", hex::encode(self.0))
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

/// An Ed25519 public key with its signify key number. Weak (small-order) keys cannot be
/// represented: every constructor refuses them.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey {
    key_id: KeyId,
    verifying_key: VerifyingKey,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({}, {})", self.key_id, self.fingerprint())
    }
}

impl PublicKey {
    /// Builds a public key from its parts, refusing invalid and weak points.
    pub fn from_parts(key_id: KeyId, public_key: [u8; 32]) -> Result<PublicKey> {
        Self::from_parts_in(key_id, public_key, &text_origin())
    }

    fn from_parts_in(key_id: KeyId, public_key: [u8; 32], file: &Path) -> Result<PublicKey> {
        let verifying_key =
            VerifyingKey::from_bytes(&public_key).map_err(|_| KeyFileError::InvalidPoint {
                file: file.into(),
                key_id,
            })?;
        if verifying_key.is_weak() {
            return Err(KeyFileError::WeakKey {
                file: file.into(),
                key_id,
            });
        }
        Ok(PublicKey {
            key_id,
            verifying_key,
        })
    }

    /// Parses signify's 42-byte public key record (`"Ed"` · keynum · key), as found base64
    /// encoded on line 2 of a public key file and in keysets.
    pub fn from_record(record: &[u8]) -> Result<PublicKey> {
        Self::from_record_in(record, &text_origin(), 2)
    }

    pub(crate) fn from_record_in(record: &[u8], file: &Path, line: usize) -> Result<PublicKey> {
        if record.len() != PUBLIC_RECORD_LEN {
            return Err(KeyFileError::WrongLength {
                file: file.into(),
                line,
                field: "public key",
                expected: PUBLIC_RECORD_LEN,
                found: record.len(),
            });
        }
        check_pkalg(&record[..2], file, line)?;
        let key_id = key_id_from(&record[2..10]);
        let mut public_key = [0u8; 32];
        public_key.copy_from_slice(&record[10..]);
        Self::from_parts_in(key_id, public_key, file)
    }

    /// The 42-byte signify record: `"Ed"` · keynum · key.
    pub fn to_record(&self) -> [u8; PUBLIC_RECORD_LEN] {
        let mut record = [0u8; PUBLIC_RECORD_LEN];
        record[..2].copy_from_slice(PKALG);
        record[2..10].copy_from_slice(&self.key_id.0);
        record[10..].copy_from_slice(self.verifying_key.as_bytes());
        record
    }

    /// Parses the text of a signify public key file. Returns the key; the comment is untrusted
    /// and dropped.
    pub fn from_signify_str(text: &str) -> Result<PublicKey> {
        Self::parse_in(text, &text_origin())
    }

    fn parse_in(text: &str, file: &Path) -> Result<PublicKey> {
        let (_comment, record) = parse_two_lines(text, file, "public key", PUBLIC_RECORD_LEN)?;
        Self::from_record_in(&record, file, 2)
    }

    /// Reads a signify public key file.
    pub fn read_file(path: &Path) -> Result<PublicKey> {
        let text = read_small(&mut open(path)?, path)?;
        Self::parse_in(&text, path)
    }

    /// The text of a signify public key file with `comment` on line 1. Control characters in
    /// the comment become spaces and it is cut to [`COMMENT_MAX_LEN`] bytes.
    pub fn to_signify_file(&self, comment: &str) -> String {
        two_line_file(comment, &self.to_record())
    }

    /// Writes a signify public key file atomically with mode 0644. Refuses to replace an
    /// existing file.
    pub fn write_file(&self, path: &Path, comment: &str) -> Result<()> {
        fsutil::write_atomic(
            path,
            self.to_signify_file(comment).as_bytes(),
            0o644,
            Existing::Refuse,
        )
        .map_err(|source| write_error(path, source))
    }

    /// The key number.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The Ed25519 key, for `verify_strict`.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.verifying_key
    }

    /// See [`Fingerprint`].
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint(Sha256::digest(self.verifying_key.as_bytes()).into())
    }

    /// The key as an SPKI PEM (`-----BEGIN PUBLIC KEY-----`), so that
    /// `openssl pkeyutl -verify -pubin -inkey KEY.pem -rawin -in MESSAGE -sigfile SIG` can
    /// check Sluice signatures independently.
    pub fn to_openssl_pem(&self) -> String {
        use ed25519_dalek::pkcs8::EncodePublicKey as _;
        use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
        // Encoding a 32-byte key into a fixed SPKI structure cannot fail; if the library ever
        // says otherwise that is a bug in it, not bad input.
        self.verifying_key
            .to_public_key_pem(LineEnding::LF)
            .expect("an Ed25519 public key always encodes as SPKI PEM")
    }

    /// Checks a detached signature over `message` with `verify_strict`, after checking that it
    /// names this key.
    pub fn verify(&self, message: &[u8], signature: &SignatureFile) -> Result<()> {
        if signature.key_id != self.key_id {
            return Err(KeyFileError::KeyIdMismatch {
                expected: self.key_id,
                found: signature.key_id,
            });
        }
        self.verifying_key
            .verify_strict(message, &signature.signature)
            .map_err(|_| KeyFileError::BadSignature {
                key_id: self.key_id,
            })
    }
}

/// An Ed25519 secret key with its signify key number. The seed is wiped from memory when the
/// key is dropped and never appears in `Debug` output or errors.
pub struct SecretKey {
    key_id: KeyId,
    signing_key: SigningKey,
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey({}, secret withheld)", self.key_id)
    }
}

impl SecretKey {
    /// A new key and key number from the operating system's random source.
    pub fn generate() -> SecretKey {
        let mut rng = rand_core::OsRng;
        let signing_key = SigningKey::generate(&mut rng);
        let mut key_id = [0u8; 8];
        rand_core::RngCore::fill_bytes(&mut rng, &mut key_id);
        SecretKey {
            key_id: KeyId(key_id),
            signing_key,
        }
    }

    /// A key from a known seed, for test vectors and deterministic tests.
    pub fn from_seed(key_id: KeyId, seed: &[u8; 32]) -> SecretKey {
        SecretKey {
            key_id,
            signing_key: SigningKey::from_bytes(seed),
        }
    }

    /// The matching public key. (A clamped scalar times the base point is never a small-order
    /// point, so this key always passes the weak-key check.)
    pub fn public_key(&self) -> PublicKey {
        PublicKey {
            key_id: self.key_id,
            verifying_key: self.signing_key.verifying_key(),
        }
    }

    /// The key number.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// Signs `message` and wraps the result as a signify detached signature.
    pub fn sign_detached(&self, message: &[u8]) -> SignatureFile {
        SignatureFile {
            key_id: self.key_id,
            signature: Signer::sign(self, message),
        }
    }

    /// Parses the text of a signify secret key file, decrypting it with `passphrase` if it is
    /// encrypted. Does not check file permissions; [`SecretKey::read_file`] does.
    pub fn from_signify_str(text: &str, passphrase: Option<&[u8]>) -> Result<SecretKey> {
        Self::parse_in(text, passphrase, &text_origin())
    }

    fn parse_in(text: &str, passphrase: Option<&[u8]>, file: &Path) -> Result<SecretKey> {
        let (_comment, record) = parse_two_lines(text, file, "secret key", SECRET_RECORD_LEN)?;
        let record = Zeroizing::new(record);
        check_pkalg(&record[..2], file, 2)?;
        if &record[2..4] != KDFALG {
            return Err(KeyFileError::WrongAlgorithm {
                file: file.into(),
                line: 2,
                field: "kdfalg",
                found: String::from_utf8_lossy(&record[2..4]).into_owned(),
                expected: "BK",
            });
        }
        let rounds = u32::from_be_bytes([record[4], record[5], record[6], record[7]]);
        let salt = &record[8..24];
        let checksum = &record[24..32];
        let key_id = key_id_from(&record[32..40]);
        let mut secret = Zeroizing::new([0u8; 64]);
        secret.copy_from_slice(&record[40..104]);

        if rounds > 0 {
            if rounds > MAX_KDF_ROUNDS {
                return Err(KeyFileError::TooManyRounds {
                    file: file.into(),
                    found: rounds,
                    limit: MAX_KDF_ROUNDS,
                });
            }
            let passphrase =
                passphrase.ok_or_else(|| KeyFileError::PassphraseRequired { file: file.into() })?;
            let xor_key = derive_xor_key(passphrase, salt, rounds, file)?;
            for (byte, mask) in secret.iter_mut().zip(xor_key.iter()) {
                *byte ^= mask;
            }
        }
        if secret_checksum(&secret) != checksum {
            return Err(if rounds > 0 {
                KeyFileError::WrongPassphrase { file: file.into() }
            } else {
                KeyFileError::Corrupt { file: file.into() }
            });
        }

        let mut seed = Zeroizing::new([0u8; 32]);
        seed.copy_from_slice(&secret[..32]);
        let signing_key = SigningKey::from_bytes(&seed);
        if signing_key.verifying_key().as_bytes() != &secret[32..] {
            return Err(KeyFileError::Inconsistent { file: file.into() });
        }
        Ok(SecretKey {
            key_id,
            signing_key,
        })
    }

    /// Reads a signify secret key file. Refuses the file if group or others can access it, and
    /// checks this on the opened file so a swap between check and read cannot slip past.
    pub fn read_file(path: &Path, passphrase: Option<&[u8]>) -> Result<SecretKey> {
        let mut file = open(path)?;
        let metadata = file.metadata().map_err(|source| KeyFileError::Read {
            file: path.into(),
            source,
        })?;
        let mode = metadata.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(KeyFileError::SecretKeyExposed {
                file: path.into(),
                mode,
            });
        }
        let text = Zeroizing::new(read_small(&mut file, path)?);
        Self::parse_in(&text, passphrase, path)
    }

    /// The text of a signify secret key file, encrypted under `passphrase` with
    /// [`DEFAULT_KDF_ROUNDS`] rounds of bcrypt_pbkdf, or unencrypted (kdfrounds 0, as
    /// `signify -G -n`) if `passphrase` is `None`. The text holds the secret: keep it in memory
    /// that is wiped (the return type does that).
    pub fn to_signify_file(
        &self,
        comment: &str,
        passphrase: Option<&[u8]>,
    ) -> Result<Zeroizing<String>> {
        let mut salt = [0u8; 16];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut salt);
        let mut secret = Zeroizing::new([0u8; 64]);
        secret[..32].copy_from_slice(self.signing_key.as_bytes());
        secret[32..].copy_from_slice(self.signing_key.verifying_key().as_bytes());
        let checksum = secret_checksum(&secret);
        let rounds = match passphrase {
            None => 0,
            Some(passphrase) => {
                let xor_key =
                    derive_xor_key(passphrase, &salt, DEFAULT_KDF_ROUNDS, &text_origin())?;
                for (byte, mask) in secret.iter_mut().zip(xor_key.iter()) {
                    *byte ^= mask;
                }
                DEFAULT_KDF_ROUNDS
            }
        };
        let mut record = Zeroizing::new(Vec::with_capacity(SECRET_RECORD_LEN));
        record.extend_from_slice(PKALG);
        record.extend_from_slice(KDFALG);
        record.extend_from_slice(&rounds.to_be_bytes());
        record.extend_from_slice(&salt);
        record.extend_from_slice(&checksum);
        record.extend_from_slice(&self.key_id.0);
        record.extend_from_slice(&secret[..]);
        // Built in place so that no unwiped copy of the encoded secret is left behind.
        let mut text = Zeroizing::new(String::with_capacity(COMMENT_MAX_LEN + 200));
        text.push_str(COMMENT_PREFIX);
        text.push_str(&clean_comment(comment));
        text.push('\n');
        BASE64.encode_string(&record[..], &mut text);
        text.push('\n');
        Ok(text)
    }

    /// Writes a signify secret key file atomically with mode 0600 (see
    /// [`SecretKey::to_signify_file`] for `passphrase`). Refuses to replace an existing file.
    pub fn write_file(&self, path: &Path, comment: &str, passphrase: Option<&[u8]>) -> Result<()> {
        let text = self
            .to_signify_file(comment, passphrase)
            .map_err(|error| match error {
                KeyFileError::EmptyPassphrase { .. } => {
                    KeyFileError::EmptyPassphrase { file: path.into() }
                }
                other => other,
            })?;
        fsutil::write_atomic(path, text.as_bytes(), 0o600, Existing::Refuse)
            .map_err(|source| write_error(path, source))
    }
}

impl Signer for SecretKey {
    fn key_id(&self) -> KeyId {
        self.key_id
    }

    fn sign(&self, message: &[u8]) -> ed25519_dalek::Signature {
        ed25519_dalek::Signer::sign(&self.signing_key, message)
    }
}

fn secret_checksum(secret: &[u8; 64]) -> [u8; 8] {
    let digest = Sha512::digest(secret);
    let mut checksum = [0u8; 8];
    checksum.copy_from_slice(&digest[..8]);
    checksum
}

fn derive_xor_key(
    passphrase: &[u8],
    salt: &[u8],
    rounds: u32,
    file: &Path,
) -> Result<Zeroizing<[u8; 64]>> {
    if passphrase.is_empty() {
        return Err(KeyFileError::EmptyPassphrase { file: file.into() });
    }
    let mut xor_key = Zeroizing::new([0u8; 64]);
    // The only failures are empty inputs, zero rounds and bad output sizes, all excluded here.
    bcrypt_pbkdf::bcrypt_pbkdf(passphrase, salt, rounds, &mut xor_key[..])
        .expect("bcrypt_pbkdf inputs are checked before the call");
    Ok(xor_key)
}

/// A signify detached signature (`signify -S` writes these as `MESSAGE.sig`): the key number
/// and the Ed25519 signature.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct SignatureFile {
    /// The key that made the signature.
    pub key_id: KeyId,
    /// The signature itself.
    pub signature: ed25519_dalek::Signature,
}

impl SignatureFile {
    /// Parses signify's 74-byte signature record (`"Ed"` · keynum · signature).
    pub fn from_record(record: &[u8]) -> Result<SignatureFile> {
        Self::from_record_in(record, &text_origin(), 2)
    }

    pub(crate) fn from_record_in(record: &[u8], file: &Path, line: usize) -> Result<SignatureFile> {
        if record.len() != SIGNATURE_RECORD_LEN {
            return Err(KeyFileError::WrongLength {
                file: file.into(),
                line,
                field: "signature",
                expected: SIGNATURE_RECORD_LEN,
                found: record.len(),
            });
        }
        check_pkalg(&record[..2], file, line)?;
        let mut signature = [0u8; 64];
        signature.copy_from_slice(&record[10..]);
        Ok(SignatureFile {
            key_id: key_id_from(&record[2..10]),
            signature: ed25519_dalek::Signature::from_bytes(&signature),
        })
    }

    /// The 74-byte signify record.
    pub fn to_record(&self) -> [u8; SIGNATURE_RECORD_LEN] {
        let mut record = [0u8; SIGNATURE_RECORD_LEN];
        record[..2].copy_from_slice(PKALG);
        record[2..10].copy_from_slice(&self.key_id.0);
        record[10..].copy_from_slice(&self.signature.to_bytes());
        record
    }

    /// Parses the text of a signify `.sig` file.
    pub fn from_signify_str(text: &str) -> Result<SignatureFile> {
        let (_comment, record) =
            parse_two_lines(text, &text_origin(), "signature", SIGNATURE_RECORD_LEN)?;
        Self::from_record(&record)
    }

    /// Reads a signify `.sig` file.
    pub fn read_file(path: &Path) -> Result<SignatureFile> {
        let text = read_small(&mut open(path)?, path)?;
        let (_comment, record) = parse_two_lines(&text, path, "signature", SIGNATURE_RECORD_LEN)?;
        Self::from_record_in(&record, path, 2)
    }

    /// The text of a signify `.sig` file with `comment` on line 1 (signify writes
    /// `verify with KEY.pub`).
    pub fn to_signify_file(&self, comment: &str) -> String {
        two_line_file(comment, &self.to_record())
    }
}
