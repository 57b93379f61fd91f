//! Where each zstd frame of the bundle's stored message lies (inner migration 18, bundle format
//! version 10): one `bundle_frames` row per frame with the first record it holds, so that a
//! pending version is read back by decompressing its own frame alone
//! ([`crate::store::versions`]). A bundle of one frame gets one row.

use std::borrow::Cow;

use bundle_format::header::{HEADER_V1_BYTES, Header, MAX_CONTENT_BYTES};
use bundle_format::payload::{FrameSpan, frame_spans};
use postgres::Transaction;

use super::{ApplyError, IncomingBundle, db};

/// Writes the `bundle_frames` rows of `bundle`'s message: `read`, the frames the import's first
/// reading of the message found, or else those read from the message's frames now.
pub(super) fn write(
    tx: &mut Transaction<'_>,
    bundle: &IncomingBundle<'_>,
    read: Option<&[FrameSpan]>,
) -> Result<(), ApplyError> {
    let unreadable = |message: String| ApplyError::Encode {
        what: "the frames of the bundle's message",
        message,
    };
    let spans = match read {
        Some(spans) => Cow::Borrowed(spans),
        None => {
            let (header, payload) = Header::parse_opened(bundle.message, MAX_CONTENT_BYTES)
                .map_err(|e| unreadable(e.to_string()))?;
            Cow::Owned(
                frame_spans(payload, header.content_length, header.format_version)
                    .map_err(|e| unreadable(e.to_string()))?,
            )
        }
    };
    let to_i32 = |value: usize| {
        i32::try_from(value).map_err(|_| unreadable(format!("{value} is beyond a stored offset")))
    };
    let mut first_records = Vec::with_capacity(spans.len());
    let mut offsets = Vec::with_capacity(spans.len());
    let mut lengths = Vec::with_capacity(spans.len());
    for span in spans.iter() {
        first_records.push(to_i32(span.first_record)?);
        offsets.push(to_i32(HEADER_V1_BYTES + span.payload_offset)?);
        lengths.push(to_i32(span.payload_length)?);
    }
    tx.execute(
        "INSERT INTO bundle_frames (bundle_id, first_record, message_offset, frame_length)
         SELECT $1, first_record, message_offset, frame_length
         FROM unnest($2::integer[], $3::integer[], $4::integer[])
              AS f (first_record, message_offset, frame_length)",
        &[
            &bundle.bundle_id.as_slice(),
            &first_records,
            &offsets,
            &lengths,
        ],
    )
    .map_err(db("recording the bundle's frames"))?;
    Ok(())
}
