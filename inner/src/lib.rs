//! The inner network's system of record on PostgreSQL: atomic import of submissions bundles, the
//! review workflow of the regional authorities, filing numbers, signed certificates and the
//! public query. It applies a bundle in one transaction together with its ledger row, or not at
//! all.
