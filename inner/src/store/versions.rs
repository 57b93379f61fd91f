//! Reading a stored submission version back. The import keeps each bundle's signed message once
//! (`bundles.message`) and, per version, where its record lies in it (`bundle_position`, the
//! record's number in the bundle's content); versions imported before migration 5 carry their
//! own encoding (`submission_versions.encoded`). Reviewers, the review queue and approval read
//! a pending filing through [`read_version`], which decodes just that one record.
//!
//! The message was verified when it was imported and the database holds it to its id (a check
//! constraint compares its SHA-256 with `bundle_id`); reading it back is still bounded the way
//! the bundle reader is (SPEC.md §4.3 and §5.2): header parsed with the content ceiling, zstd
//! window capped, output capped at the declared content length, each record's length checked,
//! and the decoded record must be the version asked for.

use std::io::Read as _;

use bundle_format::header::{Header, Kind, MAX_CONTENT_BYTES};
use bundle_format::payload::{
    MAX_RECORD_BYTES, MAX_RECORDS_PER_BUNDLE, MAX_WINDOW_LOG, RECORD_DECODE_BUDGET,
};
use bundle_format::records::{Record, SubmissionVersion, wire_config};
use postgres::GenericClient;

use super::{StoreError, db};

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
    let row = client
        .query_opt(
            "SELECT v.encoded, v.bundle_position, b.message
             FROM submission_versions v JOIN bundles b ON b.bundle_id = v.bundle_id
             WHERE v.receipt = $1 AND v.version = $2 AND v.content_hash = $3",
            &[&receipt, &version, &content_hash],
        )
        .map_err(db("reading a stored version"))?
        .ok_or_else(|| problem("is not stored".to_owned()))?;
    let encoded: Option<Vec<u8>> = row.get(0);
    let position: i32 = row.get(1);
    let message: Option<Vec<u8>> = row.get(2);
    let decoded = match (message, encoded) {
        (Some(message), _) => {
            let index = usize::try_from(position)
                .map_err(|_| problem(format!("record number {position} is negative")))?;
            match record_at(&message, index).map_err(problem)? {
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

/// Record number `index` of the submissions bundle whose stored message is `message` (the
/// signed message, or the opened message of a bundle encrypted on the medium), decompressing
/// only as far as that record.
fn record_at(message: &[u8], index: usize) -> Result<Record, String> {
    if index >= MAX_RECORDS_PER_BUNDLE {
        return Err(format!(
            "record number {index} is beyond the {MAX_RECORDS_PER_BUNDLE} a bundle holds"
        ));
    }
    let (header, payload) = Header::parse_opened(message, MAX_CONTENT_BYTES)
        .map_err(|e| format!("stored bundle: {e}"))?;
    if header.kind != Kind::Submissions {
        return Err(format!("stored bundle is a {} bundle", header.kind));
    }
    let unreadable = |e: std::io::Error| format!("stored bundle's payload: {e}");
    let mut decoder = zstd::stream::read::Decoder::with_buffer(payload).map_err(unreadable)?;
    decoder.window_log_max(MAX_WINDOW_LOG).map_err(unreadable)?;
    let mut content = decoder.take(header.content_length);
    let mut length = [0u8; 4];
    for _ in 0..index {
        content.read_exact(&mut length).map_err(unreadable)?;
        let length = record_length(length)?;
        let skipped = std::io::copy(
            &mut (&mut content).take(u64::from(length)),
            &mut std::io::sink(),
        )
        .map_err(unreadable)?;
        if skipped != u64::from(length) {
            return Err("stored bundle's content ends inside a record".to_owned());
        }
    }
    content.read_exact(&mut length).map_err(unreadable)?;
    let length = record_length(length)?;
    let mut bytes = vec![0u8; length as usize];
    content.read_exact(&mut bytes).map_err(unreadable)?;
    decode_exact(&bytes)
}

fn record_length(prefix: [u8; 4]) -> Result<u32, String> {
    let length = u32::from_le_bytes(prefix);
    if length == 0 || length > MAX_RECORD_BYTES {
        return Err(format!(
            "stored bundle has a record of {length} bytes (1 to {MAX_RECORD_BYTES} allowed)"
        ));
    }
    Ok(length)
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
