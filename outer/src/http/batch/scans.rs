//! Scans beside the sheet: a batch uploaded as a zip archive (`Content-Type: application/zip`)
//! holding the sheet, `batch.csv` or `batch.xlsx`, and the scanned documents its rows name in
//! the optional `scans` column.
//!
//! The archive is untrusted and read defensively, in memory only (nothing is ever written to a
//! path taken from it):
//! - at most [`MAX_ARCHIVE_ENTRIES`] entries, directories included;
//! - every entry name is a plain relative path: no absolute path, drive letter, backslash,
//!   `..` or `.` component, NUL or control character (a name that would climb out of a
//!   directory is refused even though nothing is extracted, so that a row can never name it);
//! - every scan is read through a cap of the configured `limits.max_scan_bytes` + 1 and the
//!   sheet through [`MAX_SHEET_BYTES`] + 1, and the whole archive through
//!   [`MAX_ARCHIVE_EXPANDED_BYTES`]: the sizes the archive declares are not trusted, the bytes
//!   are counted as they come out, so a zip bomb stops at the first cap;
//! - only stored and deflated entries are read (the `zip` crate is built with deflate only).
//!
//! A cell of the `scans` column lists `kind:file` pairs separated by `;`, e.g.
//! `subject_certificate:licence.png;pre_approval/news:news-licence.jpg`. `pre_approval/ITEM`
//! is the document of the row's website's pre-approval entry ITEM. Errors name the row (by
//! the result they are in), the cell and the file.

use std::collections::BTreeMap;
use std::io::{Cursor, Read as _};

use base64::Engine as _;

use super::error::BatchError;
use crate::api::{self, Problem};

/// Most entries of a batch archive: one scan for each of the most rows a batch may have, four
/// times over, the sheet and some directories.
pub const MAX_ARCHIVE_ENTRIES: usize = 4 * 100_000 + 16;
/// Most bytes all entries of a batch archive may expand to together.
pub const MAX_ARCHIVE_EXPANDED_BYTES: u64 = 512 * 1024 * 1024;
/// Most bytes the sheet inside an archive may expand to.
pub const MAX_SHEET_BYTES: u64 = 64 * 1024 * 1024;
/// Most scans one row may name.
pub const MAX_SCANS_PER_ROW: usize = bundle_format::records::MAX_ATTACHMENTS;

/// The names the sheet may have inside an archive.
const SHEET_NAMES: [&str; 2] = ["batch.csv", "batch.xlsx"];

/// A batch archive read into memory.
#[derive(Debug, Default)]
pub struct BatchArchive {
    /// The sheet's bytes (CSV or XLSX).
    pub sheet: Vec<u8>,
    /// Every other file by its name in the archive.
    pub files: BTreeMap<String, Vec<u8>>,
}

/// Why an entry name is not a plain relative path, if it is not.
fn unsafe_name(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        return Some("an empty name");
    }
    if name.starts_with('/') || name.as_bytes().get(1) == Some(&b':') {
        return Some("an absolute path");
    }
    if name.contains('\\') {
        return Some("a backslash");
    }
    if name.chars().any(char::is_control) {
        return Some("a control character");
    }
    let directory = name.strip_suffix('/').unwrap_or(name);
    if directory
        .split('/')
        .any(|part| part.is_empty() || part == "." || part == "..")
    {
        return Some("an empty, `.` or `..` path component");
    }
    None
}

/// Reads a batch archive within the limits of the module documentation; scans larger than
/// `max_scan_bytes` are refused naming the file.
pub fn read_archive(bytes: &[u8], max_scan_bytes: usize) -> Result<BatchArchive, BatchError> {
    let unreadable = |e: &dyn std::fmt::Display| BatchError::Unreadable(format!("zip: {e}"));
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| unreadable(&e))?;
    if archive.len() > MAX_ARCHIVE_ENTRIES {
        return Err(BatchError::TooLarge(format!(
            "the archive has {} entries; at most {MAX_ARCHIVE_ENTRIES}",
            archive.len()
        )));
    }
    let mut read = BatchArchive::default();
    let mut sheet_found = None;
    let mut total: u64 = 0;
    for index in 0..archive.len() {
        let entry = archive.by_index(index).map_err(|e| unreadable(&e))?;
        let name = entry.name().to_owned();
        if let Some(problem) = unsafe_name(&name) {
            return Err(BatchError::Unreadable(format!(
                "archive entry {name:?} has {problem}; entries are plain relative paths"
            )));
        }
        if entry.is_dir() {
            continue;
        }
        let is_sheet = SHEET_NAMES.contains(&name.as_str());
        let cap = if is_sheet {
            MAX_SHEET_BYTES
        } else {
            u64::try_from(max_scan_bytes).unwrap_or(u64::MAX)
        };
        let room = MAX_ARCHIVE_EXPANDED_BYTES - total;
        let limit = cap.min(room);
        let mut content = Vec::new();
        let expanded = entry
            .take(limit + 1)
            .read_to_end(&mut content)
            .map_err(|e| unreadable(&format!("{name}: {e}")))? as u64;
        if expanded > room {
            return Err(BatchError::TooLarge(format!(
                "the archive expands to more than {MAX_ARCHIVE_EXPANDED_BYTES} bytes; split it"
            )));
        }
        if expanded > cap {
            return Err(BatchError::TooLarge(if is_sheet {
                format!("the sheet {name} expands to more than {MAX_SHEET_BYTES} bytes")
            } else {
                format!(
                    "file {name} expands to more than {max_scan_bytes} bytes, the scan size \
                     limit (limits.max_scan_bytes)"
                )
            }));
        }
        total += expanded;
        if is_sheet {
            if let Some(first) = sheet_found.replace(name.clone()) {
                return Err(BatchError::Unreadable(format!(
                    "the archive holds two sheets, {first} and {name}; one batch is one sheet"
                )));
            }
            read.sheet = content;
        } else if read.files.insert(name.clone(), content).is_some() {
            return Err(BatchError::Unreadable(format!(
                "the archive holds {name} twice"
            )));
        }
    }
    if sheet_found.is_none() {
        return Err(BatchError::Unreadable(format!(
            "the archive holds no sheet; name it {} or {}",
            SHEET_NAMES[0], SHEET_NAMES[1]
        )));
    }
    Ok(read)
}

/// The attachments a row's `scans` cell names, taken from `files` (`None`: the upload was a
/// sheet alone). Problems name the cell, the pair and the file.
pub fn row_attachments(
    cell: &str,
    files: Option<&BTreeMap<String, Vec<u8>>>,
) -> Result<Vec<api::AttachmentBody>, Vec<Problem>> {
    let pairs: Vec<&str> = cell
        .split(';')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    if pairs.is_empty() {
        return Ok(Vec::new());
    }
    let problem = |i: usize, code: &str, message: String| Problem {
        field: format!("scans[{i}]"),
        code: code.to_owned(),
        message,
    };
    let Some(files) = files else {
        return Err(vec![problem(
            0,
            "batch.scans_without_archive",
            "the row names scans, but the upload is a sheet alone; upload a zip archive \
             holding the sheet and the scans"
                .to_owned(),
        )]);
    };
    if pairs.len() > MAX_SCANS_PER_ROW {
        return Err(vec![problem(
            MAX_SCANS_PER_ROW,
            "list.too_long",
            format!("{} scans; at most {MAX_SCANS_PER_ROW}", pairs.len()),
        )]);
    }
    let mut problems = Vec::new();
    let mut attachments = Vec::new();
    for (i, pair) in pairs.into_iter().enumerate() {
        let Some((kind, file)) = pair.split_once(':').map(|(k, f)| (k.trim(), f.trim())) else {
            problems.push(problem(
                i,
                "batch.scan_pair",
                format!("{pair:?} is not kind:file"),
            ));
            continue;
        };
        let (kind, pre_approval) = match kind.split_once('/') {
            Some(("pre_approval", item)) => {
                let item: Option<api::PreApprovalItem> =
                    serde_json::from_value(serde_json::Value::String(item.to_owned())).ok();
                let Some(item) = item else {
                    problems.push(problem(
                        i,
                        "batch.scan_kind",
                        format!("{item:?} is no pre-approval item (news, publishing, …)"),
                    ));
                    continue;
                };
                let entry = api::PreApprovalRef { website: 0, item };
                (api::AttachmentKind::PreApproval, Some(entry))
            }
            _ => match serde_json::from_value(serde_json::Value::String(kind.to_owned())) {
                Ok(kind) => (kind, None),
                Err(_) => {
                    problems.push(problem(
                        i,
                        "batch.scan_kind",
                        format!(
                            "{kind:?} is no scan kind (subject_certificate, principal_identity, \
                             principal_photo, other, pre_approval/ITEM)"
                        ),
                    ));
                    continue;
                }
            },
        };
        let Some(bytes) = files.get(file) else {
            problems.push(problem(
                i,
                "batch.scan_missing",
                format!("file {file:?} is not in the archive"),
            ));
            continue;
        };
        let Some(media_type) = filing::scan::media_type_of(bytes) else {
            problems.push(problem(
                i,
                "attachment.not_image",
                format!("file {file:?} is neither a JPEG nor a PNG image"),
            ));
            continue;
        };
        attachments.push(api::AttachmentBody {
            kind,
            media_type: media_type.to_owned(),
            base64: base64::engine::general_purpose::STANDARD.encode(bytes),
            pre_approval,
        });
    }
    if problems.is_empty() {
        Ok(attachments)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names_that_could_climb_out_are_refused() {
        for name in [
            "../etc/passwd",
            "scans/../../x.png",
            "/abs.png",
            "C:/x.png",
            "a\\b.png",
            "./x.png",
            "a//b.png",
            "x\0.png",
        ] {
            assert!(unsafe_name(name).is_some(), "{name:?} passed");
        }
        for name in ["batch.csv", "scans/licence.png", "scans/", "许可证.jpg"] {
            assert_eq!(unsafe_name(name), None, "{name:?}");
        }
    }
}
