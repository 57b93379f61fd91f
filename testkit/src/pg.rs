//! The throwaway PostgreSQL for tests.
//!
//! The one implementation is [`inner::testing`], because `sluice-transfer demo` (shipped code)
//! starts a throwaway cluster too; this module re-exports it so that tests find all their
//! fixtures in one place. A machine without the server binaries gets an error naming Debian's
//! `postgresql` package.

pub use inner::testing::{DATABASE_URL_ENV, HarnessError, TestDatabase};
