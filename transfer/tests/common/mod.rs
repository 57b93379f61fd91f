//! Helpers shared by the transfer crate's integration tests.

use std::path::Path;

use keys::ChannelId;
use transfer::outer_side::ExportSettings;
use transfer::spool;

/// Export settings for channel 1 at `now`: a week's validity, re-sending after a day, at most
/// 1,000 versions a bundle.
pub fn export_settings(now: i64) -> ExportSettings {
    ExportSettings {
        channel: ChannelId(1),
        validity_seconds: 7 * 24 * 3600,
        resend_after_seconds: 24 * 3600,
        records_per_bundle: 1000,
        now,
        recipients: Vec::new(),
    }
}

/// The bundle files in `dir`, by name.
pub fn names(dir: &Path) -> Vec<String> {
    spool::list_bundles(dir)
        .unwrap()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}
