//! Stored submission encodings carried into a bundle byte for byte ([`EncodedSubmission`]).

use bincode::Decode;
use sha2::{Digest, Sha256};

use super::shape::{ShapeError, opt_text_field, text_field};
use super::{MAX_TEXT_BYTES, Path, Sha256Digest, wire_config};

/// A stored [`SubmissionVersion`](super::SubmissionVersion) encoding that a sender carries into a bundle byte for byte,
/// without decoding its body and encoding it again (what an export of a million submissions
/// would spend most of its time on).
///
/// [`EncodedSubmission::new`] decodes the fields before `body` (wire order puts `body` last),
/// checks their shape limits, and checks that the SHA-256 of the remaining bytes is the
/// `content_hash` they declare. The hash is over the canonical encoding of the body (§6.2), so
/// a match proves the bytes are exactly the encoding of the body that was hashed when the
/// version was accepted — which is where the body's shape was checked. The receiver decodes and
/// checks every record anyway (SPEC.md §5.2).
#[derive(Clone, Copy, Debug)]
pub struct EncodedSubmission<'a> {
    bytes: &'a [u8],
    format_version: u16,
}

/// The fields of [`SubmissionVersion`](super::SubmissionVersion) before `body`, in wire order.
#[derive(Decode)]
struct SubmissionFieldsBeforeBody {
    receipt: String,
    version: u32,
    content_hash: Sha256Digest,
    _submitted_at: i64,
    submitter: String,
    access_provider: Option<String>,
}

/// Why stored bytes are not a carriable [`SubmissionVersion`](super::SubmissionVersion) encoding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodedSubmissionError {
    /// The fields before the body do not decode.
    #[error("the fields before the body do not decode: {0}")]
    Decode(String),
    /// A field before the body is out of its shape limits.
    #[error("{}: {}", .0.field, .0.problem)]
    Shape(ShapeError),
    /// The body's SHA-256 is not the declared content hash.
    #[error("the content hash does not match the body")]
    ContentHashMismatch,
    /// The bytes name another receipt or version than the caller expected.
    #[error("the encoding is of {found_receipt} version {found_version}")]
    OtherVersion {
        /// Receipt named in the bytes.
        found_receipt: String,
        /// Version named in the bytes.
        found_version: u32,
    },
}

impl<'a> EncodedSubmission<'a> {
    /// Checks `bytes`, the encoding of version `version` of receipt `receipt` (see the type's
    /// documentation).
    pub fn new(
        bytes: &'a [u8],
        receipt: &str,
        version: u32,
    ) -> Result<EncodedSubmission<'a>, EncodedSubmissionError> {
        let config = wire_config().with_limit::<{ 4 * MAX_TEXT_BYTES + 128 }>();
        let (fields, used): (SubmissionFieldsBeforeBody, usize) =
            bincode::decode_from_slice(bytes, config)
                .map_err(|e| EncodedSubmissionError::Decode(e.to_string()))?;
        text_field(&Path::Root("submission.receipt"), &fields.receipt)
            .and_then(|()| text_field(&Path::Root("submission.submitter"), &fields.submitter))
            .and_then(|()| {
                opt_text_field(
                    &Path::Root("submission.access_provider"),
                    &fields.access_provider,
                )
            })
            .map_err(EncodedSubmissionError::Shape)?;
        if fields.receipt != receipt || fields.version != version {
            return Err(EncodedSubmissionError::OtherVersion {
                found_receipt: fields.receipt,
                found_version: fields.version,
            });
        }
        let body = bytes.get(used..).unwrap_or_default();
        if <[u8; 32]>::from(Sha256::digest(body)) != fields.content_hash {
            return Err(EncodedSubmissionError::ContentHashMismatch);
        }
        // The body opens with its variant index (§6.2): variants 4 and 5 are wire version 5,
        // variant 6 is wire version 7.
        let variant = body
            .first_chunk::<4>()
            .map_or(0, |index| u32::from_le_bytes(*index));
        let format_version = match variant {
            0..=3 => crate::header::FORMAT_VERSION_1,
            4 | 5 => crate::header::FORMAT_VERSION_7,
            _ => crate::header::FORMAT_VERSION_9,
        };
        Ok(EncodedSubmission {
            bytes,
            format_version,
        })
    }

    /// The lowest format version whose bundles may carry it, as
    /// [`Submission::format_version`](super::Submission::format_version) of the decoded body gives.
    pub fn format_version(&self) -> u16 {
        self.format_version
    }

    /// The checked encoding of the whole [`SubmissionVersion`](super::SubmissionVersion).
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }
}
