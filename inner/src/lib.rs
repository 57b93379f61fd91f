//! The inner network's system of record on PostgreSQL: atomic import of submissions bundles, the
//! review workflow of the regional authorities, filing numbers, signed certificates and the
//! public query. It applies a bundle in one transaction together with its ledger row, or not at
//! all; it never changes a record that a newer version has already replaced, and never lets a
//! domain be actively filed twice.
//!
//! The modules form two layers. The core — [`store`] (database errors, the stored names of
//! submission kinds, review events), [`returns`] (the return queue), [`ledger`] (the transfer
//! ledgers: bundles imported, return bundles sent, keysets), [`ops`] (the operations page's
//! history), [`reviewers`] (reviewer accounts, their logins and what each role may decide),
//! [`register`] (the public register's records for the return queue), [`filing_passwords`]
//! (the filing password's hash and its one trip out), [`workflow`],
//! [`schema`], [`filing_number`], [`names`] and [`failpoint`] — uses no feature.
//! The features — [`import`], [`review`], [`certificates`], [`query`], [`queue`],
//! [`ops_page`] and the command line — use the core and not each other, with these exceptions:
//! an approval in [`review`] issues or revokes the filing's certificate in [`certificates`],
//! as the filing system does; [`filing_view`] completes [`queue`]'s view of one submission;
//! and the review page ([`review_page`]) is a front end of [`queue`], [`filing_view`] and
//! [`review`], as the command line is.

pub mod approved_records;
pub mod bench_support;
pub mod certificates;
pub mod db;
pub mod failpoint;
pub mod filing_number;
pub mod filing_passwords;
pub mod filing_view;
pub mod import;
pub mod ledger;
pub mod names;
pub mod ops;
pub mod ops_page;
pub mod query;
pub mod queue;
pub mod register;
pub mod returns;
pub mod review;
pub mod review_page;
pub mod reviewers;
pub mod schema;
pub mod store;
pub mod testing;
pub mod workflow;
