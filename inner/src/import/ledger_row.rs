//! The bundle's ledger row, with its message, written by binary `COPY` in pieces.
//!
//! A statement parameter is encoded whole into the client's send buffer: for the largest
//! message the format allows (about 258 MiB) that was a second copy of it beside the one the
//! caller holds. `COPY ... FROM STDIN (FORMAT binary)` lets the row be written field by field,
//! and the message a slice at a time; the server checks the row (its id, the message's SHA-256
//! for a message as signed) exactly as it checked the `INSERT`.

use std::io::Write;

use postgres::Transaction;

use super::{ApplyError, IncomingBundle};

/// Bytes of the message handed to the connection at a time.
const PIECE_BYTES: usize = 256 * 1024;

/// The binary `COPY` signature, flags and header extension length (PostgreSQL's `COPY`
/// documentation, "Binary Format").
const COPY_HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";

/// What the ledger row holds beyond the bundle itself.
pub(super) struct LedgerRow<'a, 'b> {
    pub(super) bundle: &'a IncomingBundle<'b>,
    pub(super) channel: i64,
    pub(super) epoch: i64,
    pub(super) sequence: i64,
    pub(super) now: i64,
    pub(super) submission_count: i32,
}

/// Writes the `bundles` row of `row.bundle`. A message whose SHA-256 is not the bundle id is
/// [`ApplyError::MessageNotBundle`], as before.
pub(super) fn write(tx: &mut Transaction<'_>, row: &LedgerRow<'_, '_>) -> Result<(), ApplyError> {
    let bundle = row.bundle;
    let refused = |source: postgres::Error| match source.as_db_error() {
        // The schema holds a stored message to its id (SHA-256).
        Some(e) if e.constraint() == Some("bundles_message_check") => {
            ApplyError::MessageNotBundle {
                bundle: hex::encode(bundle.bundle_id),
            }
        }
        _ => ApplyError::Database {
            step: "writing the ledger row",
            source,
        },
    };
    let mut writer = tx
        .copy_in(
            "COPY bundles (bundle_id, channel, epoch, sequence, signer_key_id, created, \
             imported_at, submission_count, message, encrypted) FROM STDIN (FORMAT binary)",
        )
        .map_err(refused)?;
    let mut head = Vec::with_capacity(256);
    head.extend_from_slice(COPY_HEADER);
    head.extend_from_slice(&10i16.to_be_bytes());
    field(&mut head, &bundle.bundle_id);
    field(&mut head, &row.channel.to_be_bytes());
    field(&mut head, &row.epoch.to_be_bytes());
    field(&mut head, &row.sequence.to_be_bytes());
    field(&mut head, &bundle.signer.0);
    field(&mut head, &bundle.created.to_be_bytes());
    field(&mut head, &row.now.to_be_bytes());
    field(&mut head, &row.submission_count.to_be_bytes());
    let message_length = i32::try_from(bundle.message.len()).map_err(|_| ApplyError::Encode {
        what: "the bundle's message",
        message: format!(
            "{} bytes is more than one PostgreSQL value holds",
            bundle.message.len()
        ),
    })?;
    head.extend_from_slice(&message_length.to_be_bytes());
    let sent = (|| -> std::io::Result<()> {
        writer.write_all(&head)?;
        // The connection's writer copies what it is given into its send buffer before it
        // sends: pieces keep that buffer small.
        for piece in bundle.message.chunks(PIECE_BYTES) {
            writer.write_all(piece)?;
        }
        let mut tail = Vec::with_capacity(16);
        field(&mut tail, &[u8::from(bundle.encrypted)]);
        tail.extend_from_slice(&(-1i16).to_be_bytes());
        writer.write_all(&tail)
    })();
    if let Err(error) = sent {
        // The copy is abandoned (dropping the writer aborts it); the error that made the
        // connection refuse it is the one `finish` would report, and it is unknown here.
        return Err(ApplyError::Encode {
            what: "the ledger row",
            message: error.to_string(),
        });
    }
    writer.finish().map_err(refused)?;
    Ok(())
}

/// Appends one binary `COPY` field: its length, then its bytes.
fn field(out: &mut Vec<u8>, bytes: &[u8]) {
    // Every field written here is at most 32 bytes long.
    let length = i32::try_from(bytes.len()).unwrap_or(i32::MAX);
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(bytes);
}
