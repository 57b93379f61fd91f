//! The operators' tool: export, import, return and apply bundles between the two stores, verify
//! and inspect bundles without a database, replay quarantined bundles, and carry files between
//! spool directories. It never deletes anything from a source until its copy is durable.
