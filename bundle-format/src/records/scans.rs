//! Scans on changes and scans tied to a pre-approval entry (wire version 5, SPEC.md §6.3).
//!
//! Version 1 carries scans only in a new filing's [`Filing::attachments`], with nothing saying
//! which website or pre-approval entry a pre-approval document belongs to. Wire version 5
//! appends two [`Submission`] variants rather than changing a published layout:
//! [`Submission::ChangeWithScans`] (a change with its scans) and
//! [`Submission::NewFilingWithScans`] (a new filing whose scans say what they show). The scans
//! are part of the body, so the content hash the acks repeat covers them and the outer side
//! deletes nothing before the scans too are safe inside. A bundle holding one of these variants
//! is format version 7; everything else keeps the lowest version its records allow.

use bincode::{Decode, Encode};

use super::{
    Attachment, AttachmentKind, Change, Filing, MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS, Path,
    PreApprovalItem, Request, ShapeError, Submission, Website, at_most, text_field,
};

/// A scanned document and what it shows.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Scan {
    /// What the scan is of: the submission as a whole, or one pre-approval entry.
    pub shows: ScanOf,
    /// The image, its kind and media type.
    pub attachment: Attachment,
}

/// What a [`Scan`] belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Encode, Decode)]
pub enum ScanOf {
    /// The submission as a whole; the attachment's kind says what it shows (the subject's
    /// certificate, a principal's identity document…).
    Submission,
    /// The document of one pre-approval entry of one website. `website` counts the websites
    /// the submission lists from 0 (a change lists one: its changed or added website), and
    /// that website's `pre_approvals` holds `item`. The attachment's kind is
    /// [`AttachmentKind::PreApproval`].
    PreApproval {
        /// Index of the website among those the submission lists.
        website: u32,
        /// The pre-approval item the document approves.
        item: PreApprovalItem,
    },
}

/// One scan of a submission as a reader sees it, from either carrier: a version 1
/// [`Filing::attachments`] entry (which shows the submission as a whole) or a [`Scan`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScanRef<'a> {
    /// What it belongs to.
    pub shows: ScanOf,
    /// The image.
    pub attachment: &'a Attachment,
}

impl Submission {
    /// Every scan the submission carries, in order: a new filing's attachments, then the scans
    /// of the wire version 5 variants. A cancellation, withdrawal or provider check carries none.
    pub fn scans(&self) -> impl Iterator<Item = ScanRef<'_>> + '_ {
        let (attachments, scans): (&[Attachment], &[Scan]) = match self.request() {
            Request::NewFiling { filing, scans } => (&filing.attachments, scans),
            Request::Change { scans, .. } => (&[], scans),
            Request::Cancellation { .. }
            | Request::Withdrawal { .. }
            | Request::ProviderCheck { .. } => (&[], &[]),
        };
        attachments
            .iter()
            .map(|attachment| ScanRef {
                shows: ScanOf::Submission,
                attachment,
            })
            .chain(scans.iter().map(|scan| ScanRef {
                shows: scan.shows,
                attachment: &scan.attachment,
            }))
    }

    /// The websites the submission lists, in the order [`ScanOf::PreApproval`] counts them.
    pub fn listed_websites(&self) -> Vec<&Website> {
        if let Some(filing) = self.new_filing() {
            return filing.websites.iter().collect();
        }
        match self.change() {
            Some((_, Change::Website { website, .. } | Change::AddedWebsite(website))) => {
                vec![website]
            }
            Some((_, Change::Subject(_) | Change::Access { .. })) | None => Vec::new(),
        }
    }
}

/// One attachment's shape: its media type's length and its bytes' count.
pub(super) fn check_attachment(at: &Path<'_>, attachment: &Attachment) -> Result<(), ShapeError> {
    text_field(&at.field("media_type"), &attachment.media_type)?;
    at_most(
        &at.field("bytes"),
        attachment.bytes.len(),
        MAX_ATTACHMENT_BYTES,
    )
}

/// §6.4: the scans of a wire version 5 variant. At most [`MAX_ATTACHMENTS`] in all (with a
/// new filing's attachments, which this variant leaves empty), each within the attachment
/// limits, and each pre-approval scan naming a listed website and one of its pre-approval
/// entries, with the kind `PreApproval`.
pub(super) fn check_scans(
    at: &Path<'_>,
    scans: &[Scan],
    websites: &[&Website],
) -> Result<(), ShapeError> {
    let field = at.field("scans");
    at_most(&field, scans.len(), MAX_ATTACHMENTS)?;
    for (i, scan) in scans.iter().enumerate() {
        let at = field.index(i);
        check_attachment(&at.field("attachment"), &scan.attachment)?;
        match scan.shows {
            ScanOf::Submission => {}
            ScanOf::PreApproval { website, item } => {
                let shows = at.field("shows");
                let listed = usize::try_from(website)
                    .ok()
                    .and_then(|index| websites.get(index));
                let Some(listed) = listed else {
                    return Err(ShapeError {
                        field: shows.field("website").to_string(),
                        problem: format!(
                            "website {website} is not listed; the submission lists {}",
                            websites.len()
                        ),
                    });
                };
                if !listed.pre_approvals.iter().any(|entry| entry.item == item) {
                    return Err(ShapeError {
                        field: shows.field("item").to_string(),
                        problem: format!("website {website} lists no {item:?} pre-approval"),
                    });
                }
                if scan.attachment.kind != AttachmentKind::PreApproval {
                    return Err(ShapeError {
                        field: at.field("attachment").field("kind").to_string(),
                        problem: "a pre-approval entry's scan is of kind PreApproval".to_owned(),
                    });
                }
            }
        }
    }
    Ok(())
}

/// §6.4: a [`Submission::NewFilingWithScans`] carries its scans in `scans` only.
pub(super) fn check_no_attachments(at: &Path<'_>, filing: &Filing) -> Result<(), ShapeError> {
    if filing.attachments.is_empty() {
        return Ok(());
    }
    Err(ShapeError {
        field: at.field("filing").field("attachments").to_string(),
        problem: "a new filing with scans carries them in `scans`, not here".to_owned(),
    })
}
