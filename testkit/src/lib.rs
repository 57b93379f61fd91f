//! Test support shared by every Sluice crate's tests and benches: sample filings (as wire
//! records and as intake API bodies), the throwaway PostgreSQL, key fixtures, and the workspace
//! binaries the end-to-end tests run.
//!
//! This crate is only ever a `[dev-dependencies]` entry. It is never linked into a shipped
//! binary, so it may panic on setup errors and favour short test code over generality.
//!
//! Sample values are fixed, not random: committed test vectors and corpora are made from them
//! and must come out byte for byte the same on every run.

#![deny(missing_docs)]

pub mod api;
pub mod bench;
pub mod binaries;
pub mod browser;
pub mod cdp;
pub mod cli;
pub mod inner_host;
pub mod keys;
pub mod net;
pub mod pg;
pub mod records;
pub mod smtp;
pub mod tools;
