//! The inner network's system of record on PostgreSQL: atomic import of submissions bundles, the
//! review workflow of the regional authorities, filing numbers, signed certificates and the
//! public query. It applies a bundle in one transaction together with its ledger row, or not at
//! all; it never changes a record that a newer version has already replaced, and never lets a
//! domain be actively filed twice.

pub mod bench_support;
pub mod certificates;
pub mod failpoint;
pub mod filing_number;
pub mod import;
pub mod names;
pub mod query;
pub mod queue;
pub mod returns;
pub mod review;
pub mod schema;
pub mod testing;
pub mod workflow;

/// A database error as one line: the server's message and detail when it sent one (the
/// client library's own `Display` only says "db error").
pub(crate) fn describe(error: &postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => match db.detail() {
            Some(detail) => format!("{} ({detail})", db.message()),
            None => db.message().to_owned(),
        },
        None => error.to_string(),
    }
}
