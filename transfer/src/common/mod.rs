//! What the outer and the inner side of transfer do alike, written once: the steps a receiving
//! side takes with an inbox file ([`receive`]) and the steps a sending side takes with a bundle
//! it wrote ([`send`]). Each side keeps its own ledger SQL (SQLite on the outer host,
//! PostgreSQL on the inner one) and passes what differs in as parameters.

pub(crate) mod receive;
pub(crate) mod send;

use bundle_format::BundleId;

/// A count or sequence number as a ledger column: SQL integers are signed, and a value beyond
/// `i64::MAX` (never reached in practice) is stored as the largest one rather than wrapped.
pub(crate) fn i64_of(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A bundle id read from a ledger column; a column of the wrong length reads as the zero id,
/// which matches no real bundle.
pub(crate) fn id_of(bytes: &[u8]) -> BundleId {
    let mut id = [0u8; 32];
    if bytes.len() == 32 {
        id.copy_from_slice(bytes);
    }
    BundleId(id)
}
