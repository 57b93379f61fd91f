//! End-to-end and fault-injection tests that drive both sides of Sluice together on a real
//! PostgreSQL cluster and real SQLite files. This crate holds test support only; it ships nothing.
