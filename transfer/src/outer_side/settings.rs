//! What an `export` run is told and what it reports, shared by its two halves: writing new
//! bundles (`export`) and publishing again what is due (`resend`).

use keys::ChannelId;

use super::BundleSummary;

/// What `export` is told.
#[derive(Debug, Clone)]
pub struct ExportSettings {
    /// The submissions channel.
    pub channel: ChannelId,
    /// Lifetime of each bundle, seconds.
    pub validity_seconds: i64,
    /// Age after which an unacknowledged bundle is published again, seconds.
    pub resend_after_seconds: i64,
    /// Most submission versions per bundle.
    pub records_per_bundle: usize,
    /// Now, Unix seconds.
    pub now: i64,
    /// Who the submissions bundles are encrypted to on the medium (the inner's identities, as
    /// the keyset names them); empty: not encrypted.
    pub recipients: Vec<bundle_format::encryption::Recipient>,
}

impl ExportSettings {
    /// The settings a configuration that names only its channel gets: the configuration's
    /// defaults for validity, resend age and bundle size.
    pub fn defaults(channel: ChannelId, now: i64) -> ExportSettings {
        ExportSettings {
            channel,
            validity_seconds: crate::config::DEFAULT_VALIDITY_SECONDS,
            resend_after_seconds: crate::config::DEFAULT_RESEND_AFTER_SECONDS,
            records_per_bundle: crate::config::DEFAULT_RECORDS_PER_BUNDLE,
            now,
            recipients: Vec::new(),
        }
    }
}

/// What one `export` run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ExportReport {
    /// New bundles written and published.
    pub written: Vec<BundleSummary>,
    /// Submission versions marked in transit.
    pub versions: usize,
    /// Whether the only new bundle is a heartbeat (nothing was pending).
    pub heartbeat: bool,
    /// Bundles published again (unacknowledged past the resend age, or recovered after a
    /// crash), by sequence.
    pub republished: Vec<u64>,
    /// Orphan files removed from the retained outbox (written by a run that did not commit).
    pub orphans_removed: usize,
    /// Bundles the inner side refused for their signer, signed again with the current key
    /// (same message, id and sequence) and published, by sequence.
    pub signed_again: Vec<u64>,
    /// Refused bundles that could not be signed again, by sequence, with why (their versions
    /// keep waiting, the reason on their status).
    pub not_signed_again: Vec<(u64, String)>,
}
