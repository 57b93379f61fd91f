//! The inner network's system of record on PostgreSQL: atomic import of submissions bundles, the
//! review workflow of the regional authorities, filing numbers, signed certificates and the
//! public query. It applies a bundle in one transaction together with its ledger row, or not at
//! all; it never changes a record that a newer version has already replaced, and never lets a
//! domain be actively filed twice.

pub mod certificates;
pub mod filing_number;
pub mod import;
pub mod names;
pub mod returns;
pub mod review;
pub mod schema;
pub mod testing;
pub mod workflow;
