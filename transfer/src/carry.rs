//! The directory carrier: copies complete bundle files from one directory to another (an outbox
//! to removable media, media to an inbox) and removes each source file only once its copy is
//! durable. A file that is not a complete bundle (still being written by a non-atomic carrier,
//! truncated on the medium) is left where it is and reported.
//!
//! Only regular files are read, at the source and at the destination, and never more than a
//! bundle's size: a symbolic link is not followed, a FIFO or device neither blocks nor feeds the
//! run. A destination name taken by something that is not a regular file is left alone, and
//! the bundle is carried under a free name beside it.

use std::path::{Path, PathBuf};

use crate::examine;
use crate::spool::{self, SpoolError};

/// What one carry run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CarryReport {
    /// Files copied (and removed from the source unless kept), by name.
    pub carried: Vec<String>,
    /// Files already at the destination with the same bytes (removed from the source unless
    /// kept).
    pub already_there: Vec<String>,
    /// Files left in the source because they are not complete bundles, with the reason.
    pub incomplete: Vec<(String, String)>,
    /// Destination entries with a carried file's name that are not regular files (a symbolic
    /// link, a FIFO, a device), left alone and not read: the file's name and what was found.
    /// The file itself is carried under a free name beside them.
    pub destination_refused: Vec<(String, String)>,
}

/// Carries every complete bundle from `from` to `to`. With `keep`, sources stay.
pub fn carry(from: &Path, to: &Path, keep: bool) -> Result<CarryReport, SpoolError> {
    let mut report = CarryReport::default();
    for path in spool::list_bundles(from)? {
        let name = file_name(&path);
        let bytes = match examine::read_file(&path) {
            Ok(bytes) => bytes,
            Err(refusal) => {
                report.incomplete.push((name, refusal.reason));
                continue;
            }
        };
        if let Err(refusal) = examine::check_complete(&bytes) {
            tracing::warn!(target: "sluice::audit", event = "carry.incomplete", file = %name,
                code = %refusal.code, "left an incomplete bundle in the source: {}", refusal.reason);
            report.incomplete.push((name, refusal.reason));
            continue;
        }
        let target: PathBuf = to.join(&name);
        if let Ok(found) = std::fs::symlink_metadata(&target)
            && !found.is_file()
        {
            let found = spool::describe(found.file_type());
            tracing::warn!(target: "sluice::audit", event = "carry.destination-refused", file = %name,
                to = %to.display(), found, "the destination name is not a regular file; left alone");
            report.destination_refused.push((
                name.clone(),
                format!("{found} at the destination, left alone"),
            ));
        }
        let same = spool::holds_bytes(&target, &bytes);
        if same {
            report.already_there.push(name.clone());
        } else {
            let name_at_target = spool::free_name(to, &name);
            spool::publish_bytes(to, &name_at_target, &bytes)?;
            tracing::info!(target: "sluice::audit", event = "carry.copied", file = %name,
                to = %to.display(), "carried bundle");
            report.carried.push(name.clone());
        }
        if !keep {
            spool::remove_durable(&path)?;
        }
    }
    Ok(report)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
