//! What the inner benchmarks share: the bundle handed to the importer as verified, and the
//! date their reports carry.

#![allow(dead_code, reason = "each benchmark uses a different subset")]

use bundle_format::records::SubmissionVersion;
use inner::import::IncomingBundle;

/// The bundle `message` carrying `submissions`, as the importer hands a verified one over
/// (signed, as far as the importer knows, by the bench key `benchkey`).
pub fn incoming<'a>(message: &'a [u8], submissions: &'a [SubmissionVersion]) -> IncomingBundle<'a> {
    let header = bundle_format::Header::parse(message, u64::MAX)
        .expect("bench bundle header")
        .0;
    IncomingBundle::verified(
        bundle_format::BundleId::of_message(message),
        &header,
        keys::KeyId(*b"benchkey"),
        submissions,
        message,
    )
}

/// Today's date (UTC), for the reports.
pub fn today() -> String {
    let now = time::OffsetDateTime::now_utc();
    format!(
        "{:04}-{:02}-{:02}",
        now.year(),
        u8::from(now.month()),
        now.day()
    )
}
