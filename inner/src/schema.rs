//! Schema migrations, embedded in the binary and applied in order on start.
//!
//! Each migration runs in its own transaction together with the row that records it, under an
//! advisory lock, so two processes starting at once apply each migration exactly once. A
//! migration already applied whose text has since changed is an error: published migrations are
//! never edited, only followed by new ones.

use postgres::Client;
use sha2::{Digest as _, Sha256};

/// One embedded migration.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Its number; migrations apply in ascending order.
    pub version: i32,
    /// A short name, from its file name.
    pub name: &'static str,
    /// The SQL.
    pub sql: &'static str,
}

/// Every migration of the inner store, in order.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial",
        sql: include_str!("../migrations/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "transfer",
        sql: include_str!("../migrations/0002_transfer.sql"),
    },
    Migration {
        version: 3,
        name: "transfer keysets",
        sql: include_str!("../migrations/0003_transfer_keysets.sql"),
    },
    Migration {
        version: 4,
        name: "set-based references",
        sql: include_str!("../migrations/0004_set_based_references.sql"),
    },
    Migration {
        version: 5,
        name: "slim pending filings",
        sql: include_str!("../migrations/0005_slim_pending_filings.sql"),
    },
    Migration {
        version: 6,
        name: "pending indexes",
        sql: include_str!("../migrations/0006_pending_indexes.sql"),
    },
    Migration {
        version: 7,
        name: "ops samples",
        sql: include_str!("../migrations/0007_ops_samples.sql"),
    },
    Migration {
        version: 8,
        name: "bundle refusals",
        sql: include_str!("../migrations/0008_bundle_refusals.sql"),
    },
    Migration {
        version: 9,
        name: "certificate revocations",
        sql: include_str!("../migrations/0009_certificate_revocations.sql"),
    },
    Migration {
        version: 10,
        name: "encrypted bundles",
        sql: include_str!("../migrations/0010_encrypted_bundles.sql"),
    },
    Migration {
        version: 11,
        name: "reviewer accounts",
        sql: include_str!("../migrations/0011_reviewer_accounts.sql"),
    },
    Migration {
        version: 12,
        name: "reviewer sessions",
        sql: include_str!("../migrations/0012_reviewer_sessions.sql"),
    },
    Migration {
        version: 13,
        name: "return receipts",
        sql: include_str!("../migrations/0013_return_receipts.sql"),
    },
    Migration {
        version: 14,
        name: "revocations and public register",
        sql: include_str!("../migrations/0014_revocations_and_public_register.sql"),
    },
    Migration {
        version: 15,
        name: "filing passwords",
        sql: include_str!("../migrations/0015_filing_passwords.sql"),
    },
    Migration {
        version: 16,
        name: "approved records",
        sql: include_str!("../migrations/0016_approved_records.sql"),
    },
    Migration {
        version: 17,
        name: "provider checks",
        sql: include_str!("../migrations/0017_provider_checks.sql"),
    },
    Migration {
        version: 18,
        name: "bundle frames",
        sql: include_str!("../migrations/0018_bundle_frames.sql"),
    },
    Migration {
        version: 19,
        name: "arrivals as state",
        sql: include_str!("../migrations/0019_arrivals_as_state.sql"),
    },
    Migration {
        version: 20,
        name: "pending domains list",
        sql: include_str!("../migrations/0020_pending_domains_list.sql"),
    },
];

/// Key of the advisory lock migrations run under (an arbitrary constant: "sluice-i").
const MIGRATION_LOCK: i64 = 0x736c_7569_6365_2d69;

/// Why migrating failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MigrationError {
    /// The database rejected a statement.
    #[error("migration {version} ({name}): {source}")]
    Failed {
        /// The migration's number (0 for the bookkeeping table itself).
        version: i32,
        /// The migration's name.
        name: &'static str,
        /// The database's error.
        #[source]
        source: postgres::Error,
    },
    /// An applied migration's text differs from the one embedded in this binary.
    #[error(
        "migration {version} ({name}) was applied with different text (checksum {applied}, this \
         binary has {embedded}); restore the original migration file"
    )]
    Changed {
        /// The migration's number.
        version: i32,
        /// The migration's name.
        name: &'static str,
        /// Checksum recorded in the database.
        applied: String,
        /// Checksum of the embedded text.
        embedded: String,
    },
    /// The database has migrations this binary does not know: it is older than the schema.
    #[error(
        "database schema is at version {found}, newer than this binary's {known}; upgrade sluice-inner"
    )]
    TooNew {
        /// Highest version applied to the database.
        found: i32,
        /// Highest version this binary knows.
        known: i32,
    },
}

/// What [`migrate`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationReport {
    /// Versions applied by this call, ascending.
    pub applied: Vec<i32>,
    /// The schema version now.
    pub current: i32,
}

fn checksum(sql: &str) -> String {
    hex::encode(Sha256::digest(sql.as_bytes()))
}

/// Applies every embedded migration not yet applied.
pub fn migrate(client: &mut Client) -> Result<MigrationReport, MigrationError> {
    let bookkeeping = |source| MigrationError::Failed {
        version: 0,
        name: "schema_migrations",
        source,
    };
    let mut tx = client.transaction().map_err(bookkeeping)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .map_err(bookkeeping)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version    integer PRIMARY KEY,
             name       text NOT NULL,
             checksum   text NOT NULL,
             applied_at timestamptz NOT NULL DEFAULT now()
         )",
    )
    .map_err(bookkeeping)?;
    let rows = tx
        .query(
            "SELECT version, checksum FROM schema_migrations ORDER BY version",
            &[],
        )
        .map_err(bookkeeping)?;
    let known = MIGRATIONS.last().map_or(0, |m| m.version);
    let mut current = 0;
    for row in &rows {
        let version: i32 = row.get(0);
        let applied: String = row.get(1);
        current = current.max(version);
        match MIGRATIONS.iter().find(|m| m.version == version) {
            Some(migration) => {
                let embedded = checksum(migration.sql);
                if embedded != applied {
                    return Err(MigrationError::Changed {
                        version,
                        name: migration.name,
                        applied,
                        embedded,
                    });
                }
            }
            None => {
                return Err(MigrationError::TooNew {
                    found: version,
                    known,
                });
            }
        }
    }
    let mut applied = Vec::new();
    let start = current;
    for migration in MIGRATIONS.iter().filter(|m| m.version > start) {
        let failed = |source| MigrationError::Failed {
            version: migration.version,
            name: migration.name,
            source,
        };
        tx.batch_execute(migration.sql).map_err(failed)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
            &[
                &migration.version,
                &migration.name,
                &checksum(migration.sql),
            ],
        )
        .map_err(failed)?;
        applied.push(migration.version);
        current = migration.version;
    }
    tx.commit().map_err(bookkeeping)?;
    Ok(MigrationReport { applied, current })
}
