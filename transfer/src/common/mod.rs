//! What the outer and the inner side of transfer do alike, written once: the one receiving
//! pipeline both `import` and `apply` run each inbox file through ([`pipeline`], over the trait
//! each side implements), the steps it is made of ([`receive`]) and the steps a sending side
//! takes with a bundle it wrote ([`send`]). Each side's ledger SQL lives in its own store's
//! crate (`outer::store::ledger`, `inner::ledger`).

pub(crate) mod pipeline;
pub(crate) mod receive;
pub(crate) mod send;

use bundle_format::BundleId;

/// A bundle id read from a ledger column; a column of the wrong length reads as the zero id,
/// which matches no real bundle.
pub(crate) fn id_of(bytes: &[u8]) -> BundleId {
    let mut id = [0u8; 32];
    if bytes.len() == 32 {
        id.copy_from_slice(bytes);
    }
    BundleId(id)
}
