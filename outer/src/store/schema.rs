//! The store's schema: the numbered SQL files in `outer/migrations/`, embedded in the binary and
//! applied in order on open. `PRAGMA user_version` counts the migrations applied, so file
//! `000N_….sql` is applied exactly when the version is below N, each in its own transaction
//! together with the new version number. A published migration never changes (stores in the
//! field have run it); a schema change is a new file with the next number, added to
//! [`MIGRATIONS`].

use std::path::Path;

use rusqlite::Connection;

use super::{StoreError, db};

/// Every migration, in order: entry `i` is file number `i + 1`, and applying it sets
/// `user_version` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/0001_initial.sql"),
    include_str!("../../migrations/0002_subject_key.sql"),
    include_str!("../../migrations/0003_export_order_and_transfer.sql"),
    include_str!("../../migrations/0004_transfer_keysets.sql"),
    include_str!("../../migrations/0005_payload_table.sql"),
];

/// Applies every migration the store at `path` (open on `conn`) has not had yet; refuses a
/// store whose schema is newer than this program's.
pub(super) fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let applied: i64 = conn
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(db("reading the schema version"))?;
    let known = MIGRATIONS.len();
    let applied_count = usize::try_from(applied).unwrap_or(usize::MAX);
    if applied_count > known {
        return Err(StoreError::SchemaTooNew {
            path: path.to_owned(),
            found: applied,
            known,
        });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(applied_count) {
        let tx = conn.transaction().map_err(db("starting a migration"))?;
        tx.execute_batch(sql).map_err(db("applying a migration"))?;
        tx.pragma_update(None, "user_version", index + 1)
            .map_err(db("recording a migration"))?;
        tx.commit().map_err(db("committing a migration"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    /// The list above names every file in `outer/migrations/`, in the order of their numbers: a
    /// file added without its entry (or an entry out of order) would change what a store's
    /// `user_version` means.
    #[test]
    fn every_migration_file_is_applied_in_the_order_of_its_number() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "sql"))
            .collect();
        files.sort();
        assert_eq!(files.len(), MIGRATIONS.len(), "{files:?}");
        for (index, (file, sql)) in files.iter().zip(MIGRATIONS).enumerate() {
            let name = file.file_name().unwrap().to_string_lossy().into_owned();
            assert!(name.starts_with(&format!("{:04}_", index + 1)), "{name}");
            assert_eq!(std::fs::read_to_string(file).unwrap(), *sql, "{name}");
        }
    }

    /// A store written before payloads had a table of their own keeps every payload it held
    /// when it is opened by this version, and one whose ack already removed it stays removed.
    #[test]
    fn payloads_stored_before_their_own_table_move_there_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outer.sqlite");
        {
            let conn = Connection::open(&path).unwrap();
            for (index, sql) in MIGRATIONS.iter().take(4).enumerate() {
                conn.execute_batch(sql).unwrap();
                conn.pragma_update(None, "user_version", index + 1).unwrap();
            }
            conn.execute_batch(
                "INSERT INTO accounts (id, name, kind, created_at)
                     VALUES (1, 'owner', 'website_owner', 0);
                 INSERT INTO receipts (receipt, account_id, kind, latest_version, state,
                                       state_version, created_at, updated_at)
                     VALUES ('R1', 1, 'new_filing', 2, 'received', 2, 0, 0);
                 INSERT INTO submission_versions (receipt, version, content_hash, submitted_at,
                                                  submitter, payload, acknowledged_at,
                                                  payload_removed_at)
                     VALUES ('R1', 1, x'01', 0, 'owner', NULL, 7, 7),
                            ('R1', 2, x'02', 0, 'owner', x'c0ffee', NULL, NULL);",
            )
            .unwrap();
        }
        let store = Store::open(&path).unwrap();
        drop(store);
        let conn = Connection::open(&path).unwrap();
        let payloads: Vec<(u32, Vec<u8>)> = conn
            .prepare("SELECT version, payload FROM submission_payloads ORDER BY version")
            .unwrap()
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(payloads, vec![(2, vec![0xc0, 0xff, 0xee])]);
        let pending: i64 = conn
            .query_row(
                "SELECT count(*) FROM submission_versions
                 WHERE exported_sequence IS NULL AND payload_removed_at IS NULL",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(pending, 1, "only version 2 still waits for export");
    }
}
