//! The on-medium format of Sluice bundles: the signify embedded-signature envelope, the fixed
//! little-endian header, the single zstd frame of length-prefixed bincode records, and the
//! record types that cross the gap. See `SPEC.md` beside this crate; the spec and the code change
//! together. This crate is pure: it does no I/O beyond `Read`/`Write` and reads no clock —
//! callers pass the time in. It must never accept a bundle it has not verified byte for byte,
//! and never allocate more than a limit it can name.

#![deny(missing_docs)]

pub mod bundle;
mod bytes;
pub mod chain;
pub mod encryption;
pub mod envelope;
pub mod header;
pub mod payload;
pub mod records;

pub use bundle::{
    BundleError, BundleSink, BundleWriter, Expectation, ReadLimits, SealedBundle, SignedFile,
    VerifiedBundle, WriteError, WriterConfig, WrittenBundle, check_signed, peek_unverified,
    read_bundle, read_bundle_keeping, read_bundle_with, read_file_limited,
};
pub use header::{BundleId, Header, Kind};
