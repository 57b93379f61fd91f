//! The operators' tool: export, import, return and apply bundles between the two stores, carry
//! new keyset versions across the gap in keyset bundles (`publish-keyset`, installed on
//! receipt), verify and inspect bundles without a database, replay quarantined bundles, and
//! carry files between spool directories. It never deletes anything from a source until its copy is durable, never
//! applies a bundle it has not verified against the keyset and judged against its channel's
//! chain, and never applies part of a bundle.

#![deny(missing_docs)]

pub mod carry;
mod common;
pub mod config;
pub mod demo;
pub mod diode;
pub mod examine;
pub mod failpoint;
pub mod inner_side;
pub mod keysets;
pub mod metrics;
pub mod outcome;
pub mod outer_side;
pub mod recheck;
pub mod spool;
