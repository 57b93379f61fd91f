//! The signify embedded-signature envelope (SPEC.md §2): an `untrusted comment:` line, a line
//! of base64 `"Ed" || keynum[8] || ed25519(M)[64]`, then the message `M` itself.
//!
//! This module knows nothing about bundle headers: it seals and opens any message, so inner's
//! certificates use it as well as bundles. It signs and verifies the exact bytes it is given and
//! never a re-encoding.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, VerifyingKey};
use keys::{ChannelId, KeyId, KeyLookup, KeyRejection, Role, Signer};

use crate::bytes::Reader;

/// The fixed start of line 1 (SPEC.md §2.1).
pub const COMMENT_PREFIX: &[u8] = b"untrusted comment: ";
/// Most bytes of comment text after [`COMMENT_PREFIX`]; signify keeps comments in a 1024-byte
/// buffer with its terminating NUL.
pub const MAX_COMMENT_BYTES: usize = 1023;
/// The two algorithm bytes signify writes before the key number.
pub const ALGORITHM: [u8; 2] = *b"Ed";
/// Bytes of the decoded signature line: algorithm, key number, signature.
pub const SIGNATURE_BLOB_BYTES: usize = 2 + 8 + 64;
/// Characters of the base64 signature line without its newline (padded standard base64 of
/// [`SIGNATURE_BLOB_BYTES`] bytes).
pub const SIGNATURE_LINE_CHARS: usize = 100;
/// The largest file signify itself will read (`readmsg`: 1 GiB). Nothing this crate writes comes
/// near it.
pub const SIGNIFY_MAX_FILE_BYTES: usize = 1 << 30;

/// Why an envelope could not be made, opened or verified. Each variant says where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// The file is larger than the caller allows (checked before anything is parsed).
    #[error("file is {len} bytes, at most {max} allowed")]
    FileTooLarge {
        /// Size of the file.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Line 1 does not start with `untrusted comment: `.
    #[error(
        "line 1 (offset 0) must start with \"untrusted comment: \"; this is not a signify file"
    )]
    MissingCommentPrefix,
    /// No newline ends the comment within the allowed length.
    #[error(
        "comment line has no newline within {max} bytes of comment text (offset {offset}); \
         comments are at most {max} bytes"
    )]
    CommentTooLong {
        /// Offset where the comment text starts.
        offset: usize,
        /// The limit.
        max: usize,
    },
    /// The comment text is empty (signify refuses such files).
    #[error("comment text at offset {offset} is empty; signify refuses empty comments")]
    EmptyComment {
        /// Offset where the comment text starts.
        offset: usize,
    },
    /// The comment text holds a NUL byte (signify would stop reading there).
    #[error("comment text holds a NUL byte at offset {offset}")]
    NulInComment {
        /// Offset of the NUL byte.
        offset: usize,
    },
    /// A comment to be written is not a single line of 1 to 1023 bytes without NUL.
    #[error("comment to write is invalid: {problem}")]
    InvalidComment {
        /// What is wrong with it.
        problem: &'static str,
    },
    /// Line 2 is not exactly 100 base64 characters followed by a newline.
    #[error(
        "signature line at offset {offset} must be {expected} base64 characters and a newline; \
         the newline is not where it belongs"
    )]
    SignatureLineLength {
        /// Offset where line 2 starts.
        offset: usize,
        /// Characters expected before the newline.
        expected: usize,
    },
    /// Line 2 is not canonical padded standard base64.
    #[error("signature line at offset {offset} is not canonical base64: {detail}")]
    SignatureBase64 {
        /// Offset where line 2 starts.
        offset: usize,
        /// What the base64 decoder said.
        detail: String,
    },
    /// The signature is not an `Ed` (Ed25519) signature.
    #[error("signature algorithm is {found:?}, only \"Ed\" is supported")]
    UnsupportedAlgorithm {
        /// The two algorithm bytes found.
        found: [u8; 2],
    },
    /// The message would make a file larger than signify reads.
    #[error("message of {len} bytes makes a file larger than signify's {max}-byte limit")]
    MessageTooLarge {
        /// Size of the message.
        len: usize,
        /// Largest file signify reads.
        max: usize,
    },
    /// The keyset does not allow this key for the role, channel and time.
    #[error("signing key refused for role {role} on {}: {reason}", channel_name(*.channel))]
    KeyRefused {
        /// The role the verifier needed.
        role: Role,
        /// The channel the verifier needed.
        channel: Option<ChannelId>,
        /// Why the keyset refused the key.
        reason: KeyRejection,
    },
    /// The signature does not verify over the message with the key the keyset gives.
    #[error("signature by key {key_id} does not verify over the {message_len}-byte message")]
    BadSignature {
        /// The key number in the signature line.
        key_id: KeyId,
        /// Size of the message it was checked over.
        message_len: usize,
    },
}

impl EnvelopeError {
    /// A stable, short name of the variant (used by the test vectors and in quarantine reasons).
    pub fn code(&self) -> &'static str {
        match self {
            EnvelopeError::FileTooLarge { .. } => "envelope.file-too-large",
            EnvelopeError::MissingCommentPrefix => "envelope.missing-comment-prefix",
            EnvelopeError::CommentTooLong { .. } => "envelope.comment-too-long",
            EnvelopeError::EmptyComment { .. } => "envelope.empty-comment",
            EnvelopeError::NulInComment { .. } => "envelope.nul-in-comment",
            EnvelopeError::InvalidComment { .. } => "envelope.invalid-comment",
            EnvelopeError::SignatureLineLength { .. } => "envelope.signature-line-length",
            EnvelopeError::SignatureBase64 { .. } => "envelope.signature-base64",
            EnvelopeError::UnsupportedAlgorithm { .. } => "envelope.unsupported-algorithm",
            EnvelopeError::MessageTooLarge { .. } => "envelope.message-too-large",
            EnvelopeError::KeyRefused { reason, .. } => match reason {
                KeyRejection::UnknownKey { .. } => "envelope.key-unknown",
                KeyRejection::WrongRole { .. } => "envelope.key-wrong-role",
                KeyRejection::WrongChannel { .. } => "envelope.key-wrong-channel",
                KeyRejection::NotYetValid { .. } => "envelope.key-not-yet-valid",
                KeyRejection::Expired { .. } => "envelope.key-expired",
                KeyRejection::Revoked { .. } => "envelope.key-revoked",
                _ => "envelope.key-refused",
            },
            EnvelopeError::BadSignature { .. } => "envelope.bad-signature",
        }
    }
}

/// An opened, not yet verified envelope: views into the file it was opened from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope<'a> {
    /// The comment text after `untrusted comment: ` (unsigned: anyone may edit it).
    pub comment: &'a [u8],
    /// The key number from the signature line.
    pub key_id: KeyId,
    /// The Ed25519 signature from the signature line.
    pub signature: Signature,
    /// The signed message `M`: every byte after line 2, exactly as received.
    pub message: &'a [u8],
    /// Offset of `message` in the file.
    pub message_offset: usize,
}

impl<'a> Envelope<'a> {
    /// The comment as text, with invalid UTF-8 replaced (for display only).
    pub fn comment_text(&self) -> std::borrow::Cow<'a, str> {
        String::from_utf8_lossy(self.comment)
    }

    /// Verifies the signature with `verify_strict`, using the key `keys` allows for `role` on
    /// `channel` at `at` (Unix seconds on the verifier's clock). Returns the key that verified.
    pub fn verify(
        &self,
        keys: &dyn KeyLookup,
        role: Role,
        channel: Option<ChannelId>,
        at: i64,
    ) -> Result<VerifyingKey, EnvelopeError> {
        let key = keys
            .verifying_key(self.key_id, role, channel, at)
            .map_err(|reason| EnvelopeError::KeyRefused {
                role,
                channel,
                reason,
            })?;
        key.verify_strict(self.message, &self.signature)
            .map_err(|_| EnvelopeError::BadSignature {
                key_id: self.key_id,
                message_len: self.message.len(),
            })?;
        Ok(key)
    }
}

fn channel_name(channel: Option<ChannelId>) -> String {
    match channel {
        Some(channel) => format!("channel {channel}"),
        None => "no channel".to_owned(),
    }
}

fn check_comment(comment: &str) -> Result<(), EnvelopeError> {
    let problem = if comment.is_empty() {
        "it is empty"
    } else if comment.len() > MAX_COMMENT_BYTES {
        "it is longer than 1023 bytes"
    } else if comment.contains('\n') {
        "it holds a newline"
    } else if comment.contains('\0') {
        "it holds a NUL byte"
    } else {
        return Ok(());
    };
    Err(EnvelopeError::InvalidComment { problem })
}

/// The two lines that precede `message` in its envelope: the comment line and the signature
/// line, each ending in `\n`. Writing these followed by `message` gives the sealed file; the
/// writer uses this to avoid copying large messages.
pub fn signature_lines(
    signer: &dyn Signer,
    comment: &str,
    message: &[u8],
) -> Result<Vec<u8>, EnvelopeError> {
    check_comment(comment)?;
    let lines_len = COMMENT_PREFIX.len() + comment.len() + 1 + SIGNATURE_LINE_CHARS + 1;
    if message.len() > SIGNIFY_MAX_FILE_BYTES.saturating_sub(lines_len) {
        return Err(EnvelopeError::MessageTooLarge {
            len: message.len(),
            max: SIGNIFY_MAX_FILE_BYTES,
        });
    }
    let signature = signer.sign(message);
    let mut blob = Vec::with_capacity(SIGNATURE_BLOB_BYTES);
    blob.extend_from_slice(&ALGORITHM);
    blob.extend_from_slice(&signer.key_id().0);
    blob.extend_from_slice(&signature.to_bytes());
    let mut lines = Vec::with_capacity(lines_len);
    lines.extend_from_slice(COMMENT_PREFIX);
    lines.extend_from_slice(comment.as_bytes());
    lines.push(b'\n');
    lines.extend_from_slice(STANDARD.encode(&blob).as_bytes());
    lines.push(b'\n');
    Ok(lines)
}

/// Signs `message` and returns the whole envelope file: comment line, signature line, message.
pub fn seal(signer: &dyn Signer, comment: &str, message: &[u8]) -> Result<Vec<u8>, EnvelopeError> {
    let mut file = signature_lines(signer, comment, message)?;
    file.extend_from_slice(message);
    Ok(file)
}

/// Opens an envelope file without verifying it (SPEC.md §2.2). Refuses files larger than
/// `max_file_bytes` before reading anything.
pub fn open(file: &[u8], max_file_bytes: usize) -> Result<Envelope<'_>, EnvelopeError> {
    if file.len() > max_file_bytes {
        return Err(EnvelopeError::FileTooLarge {
            len: file.len(),
            max: max_file_bytes,
        });
    }
    let mut reader = Reader::new(file, 0);
    // §2.2 step 1: the comment line.
    match reader.take(COMMENT_PREFIX.len(), "comment prefix") {
        Ok(prefix) if prefix == COMMENT_PREFIX => {}
        _ => return Err(EnvelopeError::MissingCommentPrefix),
    }
    let comment_start = reader.position();
    let window_len = reader.remaining().min(MAX_COMMENT_BYTES + 1);
    let window = reader
        .take(window_len, "comment")
        .map_err(|_| EnvelopeError::MissingCommentPrefix)?;
    let comment_len =
        window
            .iter()
            .position(|&b| b == b'\n')
            .ok_or(EnvelopeError::CommentTooLong {
                offset: comment_start,
                max: MAX_COMMENT_BYTES,
            })?;
    let comment = &window[..comment_len];
    if comment.is_empty() {
        return Err(EnvelopeError::EmptyComment {
            offset: comment_start,
        });
    }
    if let Some(nul) = comment.iter().position(|&b| b == 0) {
        return Err(EnvelopeError::NulInComment {
            offset: comment_start + nul,
        });
    }
    // §2.2 step 2: the signature line, exactly 100 characters and a newline.
    let line_start = comment_start + comment_len + 1;
    let mut reader = Reader::new(file.get(line_start..).unwrap_or_default(), line_start);
    let line_error = EnvelopeError::SignatureLineLength {
        offset: line_start,
        expected: SIGNATURE_LINE_CHARS,
    };
    let line = reader
        .take(SIGNATURE_LINE_CHARS + 1, "signature line")
        .map_err(|_| line_error.clone())?;
    let (b64, newline) = line.split_at(SIGNATURE_LINE_CHARS);
    if newline != b"\n" || b64.contains(&b'\n') {
        return Err(line_error);
    }
    let blob = STANDARD
        .decode(b64)
        .map_err(|e| EnvelopeError::SignatureBase64 {
            offset: line_start,
            detail: e.to_string(),
        })?;
    let mut blob_reader = Reader::new(&blob, 0);
    let fields = (|| {
        let algorithm = blob_reader.array::<2>("algorithm")?;
        let key_id = blob_reader.array::<8>("keynum")?;
        let signature = blob_reader.array::<64>("signature")?;
        Ok::<_, crate::bytes::ShortRead>((algorithm, key_id, signature))
    })();
    let (algorithm, key_id, signature) = match (fields, blob_reader.all()) {
        (Ok(fields), Ok(())) => fields,
        _ => {
            return Err(EnvelopeError::SignatureBase64 {
                offset: line_start,
                detail: format!(
                    "decodes to {} bytes, expected {SIGNATURE_BLOB_BYTES}",
                    blob.len()
                ),
            });
        }
    };
    if algorithm != ALGORITHM {
        return Err(EnvelopeError::UnsupportedAlgorithm { found: algorithm });
    }
    // §2.2 step 3: everything after line 2 is the message.
    let message_offset = reader.position();
    Ok(Envelope {
        comment,
        key_id: KeyId(key_id),
        signature: Signature::from_bytes(&signature),
        message: reader.rest(),
        message_offset,
    })
}
