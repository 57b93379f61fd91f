//! The submission versions of a bundle as the import reads them: decoded already (tests, the
//! benchmarks), or read again from the bundle's verified message.
//!
//! Decoded, the versions of a bundle packed to the format's limits (100,000 records, 256 MiB of
//! content) take several times their encoded size: every text is an allocation of its own.
//! The importer holds the verified message anyway, to store it, and reads the records from it
//! one at a time: once to stage them, keeping only what the later passes read of each
//! (`staging::StagedVersion`, up to `IncomingBundle::max_held_bytes`), and again at each later
//! pass for a bundle past that, so that the importer's memory stays near the message's size
//! whatever the records hold.

use std::borrow::Cow;

use bundle_format::header::HEADER_V1_BYTES;
use bundle_format::payload::{FrameSpan, RecordReader};
use bundle_format::records::{Record, SubmissionVersion};

use super::ApplyError;

/// The submission versions of one bundle, in bundle order.
#[derive(Debug, Clone, Copy)]
pub enum Submissions<'a> {
    /// Decoded already.
    Decoded(&'a [SubmissionVersion]),
    /// Read again from a message, a submissions bundle's verified (or opened) message whose
    /// records were all checked when it was verified.
    InMessage {
        /// The message: the header, then the zstd frame.
        message: &'a [u8],
        /// Its header.
        header: bundle_format::Header,
        /// How many submission versions it holds (return receipts may follow them).
        count: usize,
    },
}

impl<'a> Submissions<'a> {
    /// How many versions there are.
    pub fn len(&self) -> usize {
        match self {
            Submissions::Decoded(versions) => versions.len(),
            Submissions::InMessage { count, .. } => *count,
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The versions in bundle order, the return receipts after them skipped. Reading them from
    /// a message may fail (a message that does not read back as it was verified, or holds
    /// another record): that error ends the iteration.
    pub fn iter(&self) -> SubmissionIter<'a> {
        match *self {
            Submissions::Decoded(versions) => SubmissionIter::Decoded(versions.iter()),
            Submissions::InMessage {
                message, header, ..
            } => {
                // The message was verified whole (its content digest too) before it was
                // handed over; each pass checks everything else again.
                let frame = message.get(HEADER_V1_BYTES..).unwrap_or_default();
                match RecordReader::verified_before(
                    frame,
                    header.content_length,
                    header.kind,
                    header.format_version,
                ) {
                    Ok(reader) => SubmissionIter::InMessage(Box::new(reader)),
                    Err(error) => SubmissionIter::Failed(Some(unreadable(&error.to_string()))),
                }
            }
        }
    }
}

/// The iterator of [`Submissions::iter`].
pub enum SubmissionIter<'a> {
    /// Over decoded versions.
    Decoded(std::slice::Iter<'a, SubmissionVersion>),
    /// Over a message's records.
    InMessage(Box<RecordReader<'a>>),
    /// A message that could not be read at all.
    Failed(Option<ApplyError>),
}

impl<'a> Iterator for SubmissionIter<'a> {
    type Item = Result<Cow<'a, SubmissionVersion>, ApplyError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            SubmissionIter::Decoded(versions) => versions.next().map(|v| Ok(Cow::Borrowed(v))),
            SubmissionIter::InMessage(reader) => loop {
                match reader.next()? {
                    Ok((_, Record::Submission(version))) => return Some(Ok(Cow::Owned(version))),
                    // The receipts for the return channel that follow the last submission
                    // (format version 6) are the transfer ledger's, not versions.
                    Ok((_, Record::ReturnReceipt(_))) => {}
                    Ok((index, other)) => {
                        *self = SubmissionIter::Failed(None);
                        return Some(Err(unreadable(&format!(
                            "record {index} is a {} record, not a submission version",
                            other.kind_name()
                        ))));
                    }
                    Err(error) => {
                        *self = SubmissionIter::Failed(None);
                        return Some(Err(unreadable(&error.to_string())));
                    }
                }
            },
            SubmissionIter::Failed(error) => error.take().map(Err),
        }
    }
}

impl SubmissionIter<'_> {
    /// Where each zstd frame of the message lies (SPEC.md §4.1), once the iteration has read
    /// the whole message without a refusal; `None` for versions given decoded, or before then.
    pub fn frames(&self) -> Option<Vec<FrameSpan>> {
        match self {
            SubmissionIter::InMessage(reader) => Some(reader.frames().to_vec()),
            SubmissionIter::Decoded(_) | SubmissionIter::Failed(_) => None,
        }
    }
}

fn unreadable(detail: &str) -> ApplyError {
    ApplyError::Encode {
        what: "the submission versions read again from the bundle's message",
        message: detail.to_owned(),
    }
}
