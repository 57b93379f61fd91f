//! The outer network's front door: the intake HTTP service where website owners and access
//! providers submit filings, its SQLite store of submission versions, the conversion of requests
//! into records under the filing manuals' rules (the `filing` crate), and the status every
//! receipt keeps for good. It never deletes a submission version without a signed
//! acknowledgement from the inner side naming that exact version, and it never answers 201
//! before the submission is durable on disk.

#![deny(missing_docs)]

pub mod accounts;
pub mod api;
pub mod config;
pub mod convert;
pub mod failpoint;
pub mod http;
pub mod mail;
pub mod notify;
pub mod site_check;
pub mod store;
