//! Reading a stored submission version back. The import keeps each bundle's signed message once
//! (`bundles.message`), where each of its zstd frames lies (`bundle_frames`, from migration 18)
//! and, per version, where its record lies (`bundle_position`, the record's number in the
//! bundle's content); versions imported before migration 5 carry their own encoding
//! (`submission_versions.encoded`). Reviewers, the review queue and approval read a pending
//! filing through [`read_version`], which decodes just that one record: from migration 18 the
//! database hands over the header and the record's own frame alone (a slice of the message,
//! stored uncompressed), so reading a record of a 50,000-filing bundle of format version 10
//! decompresses about 1 MiB, not the content up to it; a bundle imported before has its whole
//! message read and its frames found in it.
//!
//! The message was verified when it was imported and the database holds it to its id (a check
//! constraint compares its SHA-256 with `bundle_id`); reading it back is still bounded the way
//! the bundle reader is (SPEC.md §4.2 and §5.2): header parsed with the content ceiling, frame
//! header checked, zstd window capped, output capped at the frame's declared content, each
//! record's length checked, and the decoded record must be the version asked for.

use bundle_format::header::{HEADER_V1_BYTES, Header, Kind, MAX_CONTENT_BYTES};
use bundle_format::payload::{
    MAX_RECORDS_PER_BUNDLE, RECORD_DECODE_BUDGET, frame_spans, record_in_frame,
};
use bundle_format::records::{Record, SubmissionVersion, wire_config};
use postgres::GenericClient;

use super::{StoreError, db};

/// The message header length as PostgreSQL's `substring` takes it (160 fits).
#[allow(clippy::cast_possible_truncation)]
const HEADER_BYTES: i32 = HEADER_V1_BYTES as i32;

/// The stored version `version` of `receipt` with `content_hash`, decoded.
pub(crate) fn read_version(
    client: &mut impl GenericClient,
    receipt: &str,
    version: i64,
    content_hash: &[u8],
) -> Result<SubmissionVersion, StoreError> {
    let problem = |problem: String| StoreError::StoredVersion {
        receipt: receipt.to_owned(),
        version,
        problem,
    };
    // The frame holding the record, if the import recorded the bundle's frames: its first
    // record, the header and the frame, each a slice of the message; else the whole message.
    let row = client
        .query_opt(
            "SELECT v.encoded, v.bundle_position, f.first_record,
                    CASE WHEN f.first_record IS NULL THEN b.message
                         ELSE substring(b.message FROM 1 FOR $4) END,
                    substring(b.message FROM f.message_offset + 1 FOR f.frame_length)
             FROM submission_versions v
             JOIN bundles b ON b.bundle_id = v.bundle_id
             LEFT JOIN LATERAL (
                 SELECT first_record, message_offset, frame_length FROM bundle_frames
                 WHERE bundle_id = v.bundle_id AND first_record <= v.bundle_position
                 ORDER BY first_record DESC LIMIT 1) f ON true
             WHERE v.receipt = $1 AND v.version = $2 AND v.content_hash = $3",
            &[&receipt, &version, &content_hash, &HEADER_BYTES],
        )
        .map_err(db("reading a stored version"))?
        .ok_or_else(|| problem("is not stored".to_owned()))?;
    let encoded: Option<Vec<u8>> = row.get(0);
    let position: i32 = row.get(1);
    let first_record: Option<i32> = row.get(2);
    let message: Option<Vec<u8>> = row.get(3);
    let frame: Option<Vec<u8>> = row.get(4);
    let decoded = match (message, encoded) {
        (Some(message), _) => {
            let index = usize::try_from(position)
                .map_err(|_| problem(format!("record number {position} is negative")))?;
            let record = match (first_record, frame) {
                (Some(first), Some(frame)) => record_of_frame(&message, &frame, first, index),
                _ => record_of_message(&message, index),
            };
            match record.map_err(problem)? {
                Record::Submission(version) => version,
                other => {
                    return Err(problem(format!(
                        "record {index} of its bundle is a {} record",
                        other.kind_name()
                    )));
                }
            }
        }
        (None, Some(encoded)) => decode_exact(&encoded).map_err(problem)?,
        (None, None) => {
            return Err(problem(
                "has neither its bundle's message nor its own encoding".to_owned(),
            ));
        }
    };
    if decoded.receipt != receipt
        || i64::from(decoded.version) != version
        || decoded.content_hash.as_slice() != content_hash
    {
        return Err(problem(format!(
            "its stored record is version {} of receipt {}",
            decoded.version, decoded.receipt
        )));
    }
    Ok(decoded)
}

/// Record number `index` of a submissions bundle whose header is `head` (the first bytes of its
/// stored message), read from `frame`, the frame of the message that starts with record
/// `first`.
fn record_of_frame(head: &[u8], frame: &[u8], first: i32, index: usize) -> Result<Record, String> {
    let header =
        Header::parse_alone(head, MAX_CONTENT_BYTES).map_err(|e| format!("stored bundle: {e}"))?;
    let skip = usize::try_from(first)
        .ok()
        .and_then(|first| index.checked_sub(first))
        .ok_or_else(|| format!("record number {index} is not in the frame starting at {first}"))?;
    record_in(&header, frame, skip, index)
}

/// Record number `index` of the submissions bundle whose stored message is `message` (the
/// signed message, or the opened message of a bundle encrypted on the medium), read from the
/// frame that holds it, found in the message.
fn record_of_message(message: &[u8], index: usize) -> Result<Record, String> {
    let (header, payload) = Header::parse_opened(message, MAX_CONTENT_BYTES)
        .map_err(|e| format!("stored bundle: {e}"))?;
    let spans = frame_spans(payload, header.content_length, header.format_version)
        .map_err(|e| format!("stored bundle's payload: {e}"))?;
    let span = spans
        .iter()
        .rev()
        .find(|span| span.first_record <= index)
        .ok_or_else(|| "stored bundle's payload has no frame".to_owned())?;
    let frame = &payload[span.payload_offset..span.payload_offset + span.payload_length];
    record_in(&header, frame, index - span.first_record, index)
}

/// Record `skip` of `frame`, a frame of the submissions bundle with `header`; `index` is its
/// number in the bundle, for the bound and the messages.
fn record_in(header: &Header, frame: &[u8], skip: usize, index: usize) -> Result<Record, String> {
    if index >= MAX_RECORDS_PER_BUNDLE {
        return Err(format!(
            "record number {index} is beyond the {MAX_RECORDS_PER_BUNDLE} a bundle holds"
        ));
    }
    if header.kind != Kind::Submissions {
        return Err(format!("stored bundle is a {} bundle", header.kind));
    }
    record_in_frame(
        frame,
        skip,
        header.content_length,
        header.kind,
        header.format_version,
    )
    .map_err(|e| format!("stored bundle's record {index}: {e}"))
}

/// Decodes `bytes` as one `T`, all of them, under the record decoding budget.
fn decode_exact<T: bincode::Decode<()>>(bytes: &[u8]) -> Result<T, String> {
    let config = wire_config().with_limit::<RECORD_DECODE_BUDGET>();
    let (value, used) = bincode::decode_from_slice(bytes, config)
        .map_err(|e| format!("stored record does not decode: {e}"))?;
    if used != bytes.len() {
        return Err(format!(
            "stored record has {} bytes after its end",
            bytes.len() - used
        ));
    }
    Ok(value)
}
