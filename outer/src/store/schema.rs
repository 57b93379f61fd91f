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
    include_str!("../../migrations/0006_version_sequence_and_ranges.sql"),
    include_str!("../../migrations/0007_ops_samples.sql"),
    include_str!("../../migrations/0008_refused_bundles.sql"),
    include_str!("../../migrations/0009_certificate_revocations.sql"),
    include_str!("../../migrations/0010_web_accounts.sql"),
    include_str!("../../migrations/0011_inner_reports.sql"),
    include_str!("../../migrations/0012_notifications.sql"),
    include_str!("../../migrations/0013_public_register.sql"),
    include_str!("../../migrations/0014_filing_passwords.sql"),
    include_str!("../../migrations/0015_approved_records.sql"),
    include_str!("../../migrations/0016_provider_check_payloads.sql"),
    include_str!("../../migrations/0017_version_entry_state.sql"),
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

    /// The website 青山官网 (qingshan.example.cn) hosted by the account `provider_1`.
    fn qingshan_website() -> bundle_format::records::Website {
        let mut website = testkit::records::website("青山官网", &["qingshan.example.cn"], 9);
        website.access.provider = "provider_1".into();
        website
    }

    /// A runtime for the store's async calls in these synchronous tests.
    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
    }

    /// A store file at `path` migrated to version `version` only, as an older build left it.
    fn store_at_migration(path: &std::path::Path, version: usize) -> Connection {
        let conn = Connection::open(path).unwrap();
        for (index, sql) in MIGRATIONS.iter().take(version).enumerate() {
            conn.execute_batch(sql).unwrap();
            conn.pragma_update(None, "user_version", index + 1).unwrap();
        }
        conn
    }

    /// A store migrated to version `version` only, as an older build left it, holding the rows
    /// `fixture` (SQL) inserts, then opened by this build (which applies the later migrations).
    /// The directory holding it (`outer.sqlite`) goes with the first value.
    fn store_upgraded_from(version: usize, fixture: &str) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outer.sqlite");
        {
            let conn = store_at_migration(&path, version);
            conn.execute_batch(fixture).unwrap();
        }
        let store = Store::open(&path).unwrap();
        (dir, store)
    }

    /// Checks that the store open on `conn` has had every migration.
    fn assert_every_migration_applied(conn: &Connection) {
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(usize::try_from(version).unwrap(), MIGRATIONS.len());
    }

    /// How SQLite plans `sql` with `params` in a store of every migration: one line a step.
    fn plan_of(sql: &str, params: impl rusqlite::Params) -> Vec<String> {
        plan_after("", sql, params)
    }

    /// [`plan_of`] on a connection that ran `setup` first (the temporary tables `sql` reads).
    fn plan_after(setup: &str, sql: &str, params: impl rusqlite::Params) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        let conn = store_at_migration(&dir.path().join("outer.sqlite"), MIGRATIONS.len());
        conn.execute_batch(setup).unwrap();
        conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .unwrap()
            .query_map(params, |row| row.get::<_, String>(3))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    /// The intake's check that an account does not file one subject twice looks the subject up
    /// through its index. Planned through the account's receipts instead, it read every receipt
    /// of the account at each submission: an account filing for many customers made the intake
    /// slower with every filing it held.
    #[test]
    fn an_accounts_subject_check_reads_the_subject_index_not_every_receipt_of_the_account() {
        let plan = plan_of(
            crate::store::receipts::SUBJECT_FILED_BY_ACCOUNT,
            rusqlite::params!["91110108MA00000001", "R1", 1_i64],
        );
        assert_eq!(
            plan,
            ["SEARCH receipts USING INDEX receipts_subject_key (subject_key=?)"]
        );
    }

    /// Releasing the payload kept for one receipt's provider check looks that receipt up. Read
    /// through every kept version instead, applying the status changes of many filings awaiting
    /// the check grew with the square of their number.
    #[test]
    fn releasing_one_receipts_kept_payload_looks_the_receipt_up_not_every_kept_version() {
        let plan = plan_of(
            &format!(
                "SELECT v.rowid FROM submission_versions v WHERE {}",
                crate::store::provider_checks::releasable(true)
            ),
            rusqlite::params!["R1"],
        );
        let outer = plan
            .iter()
            .find(|line| line.contains(" v ") || line.ends_with(" v"))
            .unwrap_or_else(|| panic!("no line for v in {plan:?}"));
        assert!(
            outer.starts_with("SEARCH v USING") && outer.contains("(receipt=?)"),
            "{plan:?}"
        );
    }

    /// Gathering the receipts an arrival ack moves reads the bundle's range of versions through
    /// their sequence numbers, and each one's receipt by its key: never every stored version or
    /// receipt, whatever the store holds (an ack covers a bundle of up to 50,000 versions).
    #[test]
    fn the_receipts_an_arrival_ack_moves_are_found_from_its_range_not_the_whole_store() {
        let plan = plan_after(
            "CREATE TEMP TABLE range_exceptions (
                 receipt TEXT NOT NULL, version INTEGER NOT NULL, outcome TEXT NOT NULL,
                 reason TEXT, PRIMARY KEY (receipt, version)
             ) WITHOUT ROWID;
             CREATE TEMP TABLE receipt_moves (
                 receipt TEXT PRIMARY KEY, version INTEGER NOT NULL, position INTEGER NOT NULL,
                 state TEXT, at INTEGER NOT NULL, reason TEXT, status_reason TEXT
             ) WITHOUT ROWID;",
            &crate::store::acks::range_moves_sql(),
            rusqlite::params![1_i64, 50_000_i64, "received", "in_transit", 9_i64, 8_i64],
        );
        assert!(
            plan.iter().all(|line| !line.starts_with("SCAN")),
            "{plan:?}"
        );
        let versions = plan
            .iter()
            .find(|line| line.contains(" v "))
            .unwrap_or_else(|| panic!("no line for v in {plan:?}"));
        assert!(
            versions.starts_with("SEARCH v USING INDEX submission_versions_seq (seq>? AND seq<?)"),
            "{plan:?}"
        );
    }

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
        let (dir, store) = store_upgraded_from(
            4,
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
        );
        drop(store);
        let conn = Connection::open(dir.path().join("outer.sqlite")).unwrap();
        let payloads: Vec<(u32, Vec<u8>)> = conn
            .prepare("SELECT version, payload FROM submission_payloads ORDER BY version")
            .unwrap()
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(payloads, vec![(2, vec![0xc0, 0xff, 0xee])]);
        // What export reads next (it asked the per-version mark before ranges, which is gone):
        // only version 2. Version 1 is numbered too, below it, and counts as acknowledged.
        let pending: Vec<u32> = crate::store::pending_versions(&conn, 10)
            .unwrap()
            .into_iter()
            .map(|v| v.version)
            .collect();
        assert_eq!(pending, vec![2], "only version 2 still waits for export");
    }

    /// A store written by the schema before ranges (version 5: export marked every version)
    /// opens with its versions numbered and each bundle recorded as a range: what was in
    /// transit still shows "in transit" and keeps its payload until an ack, what was
    /// acknowledged stays delivered, what was never exported is what export reads next, and a
    /// range ack for the old bundle deletes exactly its payloads.
    #[test]
    fn a_store_written_before_ranges_keeps_its_transit_state_and_accepts_range_acks() {
        use bundle_format::records::{ImportOutcome, RangeAck, ReceiptAck, members_digest};

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outer.sqlite");
        {
            let conn = store_at_migration(&path, 5);
            // Bundle 1 (acknowledged) held R1/1; bundle 2 (in transit) held R2/1 and R3/1, and
            // R3 was edited while in transit; R4 was never exported.
            conn.execute_batch(
                "INSERT INTO accounts (id, name, kind, created_at)
                     VALUES (1, 'owner', 'website_owner', 0);
                 INSERT INTO receipts (receipt, account_id, kind, latest_version, state,
                                       state_version, bundle_sequence, in_transit_since,
                                       created_at, updated_at)
                     VALUES ('R1', 1, 'withdrawal', 1, 'delivered', 1, 1, 10, 0, 20),
                            ('R2', 1, 'withdrawal', 1, 'in_transit', 1, 2, 30, 0, 30),
                            ('R3', 1, 'withdrawal', 2, 'received', 2, NULL, NULL, 0, 35),
                            ('R4', 1, 'withdrawal', 1, 'received', 1, NULL, NULL, 0, 40);
                 INSERT INTO status_history (receipt, version, state, at, bundle_sequence)
                     VALUES ('R1', 1, 'received', 1, NULL), ('R2', 1, 'received', 2, NULL),
                            ('R3', 1, 'received', 3, NULL), ('R1', 1, 'in_transit', 10, 1),
                            ('R1', 1, 'delivered', 20, NULL), ('R2', 1, 'in_transit', 30, 2),
                            ('R3', 1, 'in_transit', 30, 2), ('R3', 2, 'received', 35, NULL),
                            ('R4', 1, 'received', 40, NULL);
                 INSERT INTO submission_versions (receipt, version, content_hash, submitted_at,
                                                  submitter, exported_bundle_id,
                                                  exported_sequence, in_transit_since,
                                                  acknowledged_at, ack_outcome,
                                                  payload_removed_at)
                     VALUES ('R1', 1, zeroblob(32), 1, 'owner', x'b1', 1, 10, 20, 'applied', 20),
                            ('R2', 1, randomblob(32), 2, 'owner', x'b2', 2, 30, NULL, NULL, NULL),
                            ('R3', 1, randomblob(32), 3, 'owner', x'b2', 2, 30, NULL, NULL, NULL),
                            ('R3', 2, randomblob(32), 35, 'owner', NULL, NULL, NULL, NULL, NULL,
                             NULL),
                            ('R4', 1, randomblob(32), 40, 'owner', NULL, NULL, NULL, NULL, NULL,
                             NULL);
                 INSERT INTO submission_payloads (receipt, version, payload)
                     VALUES ('R2', 1, x'02'), ('R3', 1, x'03'), ('R3', 2, x'32'),
                            ('R4', 1, x'04');
                 INSERT INTO transfer_send_state (channel, epoch, next_sequence, previous)
                     VALUES (1, 1, 3, x'b2');
                 INSERT INTO transfer_outbox (bundle_id, channel, epoch, sequence, kind,
                                              file_name, records, created, published_at,
                                              last_sent_at, send_count, acknowledged_at)
                     VALUES (x'b1', 1, 1, 1, 'submissions', 'one.bundle', 1, 10, 10, 10, 1, 20),
                            (x'b2', 1, 1, 2, 'submissions', 'two.bundle', 2, 30, 30, 30, 1,
                             NULL);",
            )
            .unwrap();
        }
        let store = Store::open(&path).unwrap();
        let status = |receipt: &str| {
            store
                .read_blocking(|conn| super::super::status::read_status(conn, receipt))
                .unwrap()
                .unwrap()
        };
        assert_eq!(status("R1").state.as_str(), "delivered");
        let r2 = status("R2");
        assert_eq!(r2.state, crate::store::ReceiptState::InTransit);
        assert_eq!(
            (r2.bundle_sequence, r2.in_transit_since),
            (Some(2), Some(30))
        );
        assert_eq!(
            status("R3").state.as_str(),
            "received",
            "the edit waits for export"
        );
        assert_eq!(status("R4").state.as_str(), "received");
        let pending: Vec<(String, u32)> = store
            .read_blocking(|conn| crate::store::pending_versions(conn, 10))
            .unwrap()
            .into_iter()
            .map(|v| (v.receipt, v.version))
            .collect();
        assert_eq!(pending, [("R3".to_owned(), 2), ("R4".to_owned(), 1)]);
        let counts = store
            .read_blocking(crate::store::ledger::version_counts_on)
            .unwrap();
        assert_eq!((counts.pending, counts.in_transit), (2, 2));

        // The old bundle's range, acknowledged as a range: R2/1 and R3/1 go, nothing else.
        let members: Vec<(String, u32, [u8; 32])> = store
            .read_blocking(|conn| {
                let mut stmt = conn
                    .prepare(
                        "SELECT receipt, version, content_hash FROM submission_versions
                         WHERE receipt IN ('R2', 'R3') AND version = 1 ORDER BY receipt",
                    )
                    .unwrap();
                let rows = stmt
                    .query_map([], |row| {
                        Ok((
                            row.get(0)?,
                            row.get(1)?,
                            super::super::hash_col(row.get(2)?),
                        ))
                    })
                    .unwrap()
                    .collect::<Result<Vec<_>, _>>()
                    .unwrap();
                Ok(rows)
            })
            .unwrap();
        let mut bundle_id = [0u8; 32];
        bundle_id[0] = 0xb2;
        let ack = RangeAck {
            bundle_id,
            channel: 1,
            sequence: 2,
            members: 2,
            members_digest: members_digest(members.iter().map(|(r, v, h)| (r.as_str(), *v, h))),
            exceptions: vec![ReceiptAck {
                receipt: "R3".into(),
                version: 1,
                content_hash: members[1].2,
                outcome: ImportOutcome::Superseded,
                reason: Some("newer-version-stored".into()),
            }],
        };
        // The fixture gave the old bundle a one-byte id; give it a full one, as the ack names.
        store
            .write_blocking(move |conn| {
                conn.execute(
                    "UPDATE transfer_outbox SET bundle_id = ?1 WHERE sequence = 2",
                    [&bundle_id[..]],
                )
                .unwrap();
                Ok(())
            })
            .unwrap();
        let effect = store
            .write_blocking(move |conn| crate::store::apply_range_ack_on(conn, &ack, 50, None))
            .unwrap();
        assert_eq!(
            effect,
            crate::store::RangeAckEffect::Applied {
                removed: 2,
                already: 0
            }
        );
        assert_eq!(status("R2").state.as_str(), "delivered");
        assert_eq!(status("R3").state.as_str(), "received");
        let payloads: Vec<String> = store
            .read_blocking(|conn| {
                let mut stmt = conn
                    .prepare(
                        "SELECT receipt || '/' || version FROM submission_payloads
                         ORDER BY receipt, version",
                    )
                    .unwrap();
                let rows = stmt
                    .query_map([], |row| row.get(0))
                    .unwrap()
                    .collect::<Result<Vec<_>, _>>()
                    .unwrap();
                Ok(rows)
            })
            .unwrap();
        assert_eq!(payloads, ["R3/2", "R4/1"]);
        let outcome: String = store
            .read_blocking(|conn| {
                Ok(conn
                    .query_row(
                        "SELECT ack_outcome FROM submission_versions
                         WHERE receipt = 'R3' AND version = 1",
                        [],
                        |row| row.get(0),
                    )
                    .unwrap())
            })
            .unwrap();
        assert_eq!(outcome, "superseded");
    }

    /// Accounts of a store written before migration 10 keep their kind, their tokens and
    /// their receipts; the new kinds and a deleted account's row are accepted afterwards, and
    /// a kind outside the manuals' list is still refused.
    #[test]
    fn accounts_made_before_migration_10_keep_their_kind_tokens_and_receipts() {
        let (_dir, store) = store_upgraded_from(
            9,
            "INSERT INTO accounts (id, name, kind, disabled, created_at)
                 VALUES (1, 'owner', 'website_owner', 0, 5),
                        (2, 'provider_1', 'access_provider', 1, 6),
                        (3, 'ops', 'operator', 0, 7);
             INSERT INTO tokens (account_id, token_hash, label, created_at)
                 VALUES (3, x'00', 'metrics', 8);
             INSERT INTO receipts (receipt, account_id, kind, latest_version, state,
                                   state_version, created_at, updated_at)
                 VALUES ('R1', 1, 'new_filing', 1, 'received', 1, 9, 9);",
        );
        let kinds: Vec<(String, String, bool)> = store
            .accounts()
            .unwrap()
            .into_iter()
            .map(|a| (a.name, a.kind.as_str().to_owned(), a.disabled))
            .collect();
        assert_eq!(
            kinds,
            [
                ("ops".to_owned(), "operator".to_owned(), false),
                ("owner".to_owned(), "website_owner".to_owned(), false),
                ("provider_1".to_owned(), "access_provider".to_owned(), true),
            ]
        );
        store
            .add_account("ministry_1", crate::store::AccountKind::Ministry)
            .unwrap();
        store
            .read_blocking(|conn| {
                let owner: i64 = conn
                    .query_row(
                        "SELECT account_id FROM receipts WHERE receipt = 'R1'",
                        [],
                        |r| r.get(0),
                    )
                    .unwrap();
                assert_eq!(owner, 1);
                let refused = conn.execute(
                    "INSERT INTO accounts (name, kind, created_at) VALUES ('x', 'admin', 0)",
                    [],
                );
                let refused = refused.unwrap_err().to_string();
                assert!(refused.contains("CHECK constraint"), "{refused}");
                let violations: i64 = conn
                    .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                        r.get(0)
                    })
                    .unwrap();
                assert_eq!(violations, 0);
                Ok(())
            })
            .unwrap();
    }

    /// A store written before migration 13 (the public register) opens with empty register
    /// tables beside its certificates, and takes register entries afterwards.
    #[test]
    fn a_store_made_before_migration_13_gets_an_empty_public_register() {
        let (_dir, store) = store_upgraded_from(
            12,
            "INSERT INTO certificates (filing_number, receipt, issued_at, expires_at, document)
                 VALUES ('浙ICP备2026000001号', 'R1', 1, 2, x'00');",
        );
        store
            .read_blocking(|conn| {
                assert_every_migration_applied(conn);
                let (register, certificates): (i64, i64) = conn
                    .query_row(
                        "SELECT (SELECT count(*) FROM public_register),
                                (SELECT count(*) FROM certificates)",
                        [],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .unwrap();
                assert_eq!((register, certificates), (0, 1));
                Ok(())
            })
            .unwrap();
        store
            .write_blocking(|conn| {
                let entry = bundle_format::records::RegisterEntry {
                    event: 1,
                    filing_number: "浙ICP备2026000001号".to_owned(),
                    subject_name: "杭州青山绿水网络科技有限公司".to_owned(),
                    subject_nature: "enterprise".to_owned(),
                    websites: Vec::new(),
                    approved_at: 1,
                };
                assert!(crate::store::apply_register_entry_on(conn, &entry).unwrap());
                Ok(())
            })
            .unwrap();
    }

    /// A store written before migration 15 (approved records) keeps its accounts, receipts and
    /// filing passwords, and takes the approved record of a filing it issued the first
    /// receipt of, afterwards: for that receipt's account and the provider it names only.
    #[test]
    fn a_store_made_before_migration_15_keeps_its_receipts_and_takes_approved_records() {
        use bundle_format::records::{ApprovedRecord, ApprovedState, ApprovedWebsite};

        let (_dir, store) = store_upgraded_from(
            14,
            "INSERT INTO accounts (id, name, kind, disabled, created_at)
                 VALUES (1, 'owner', 'website_owner', 0, 5),
                        (2, 'provider_1', 'access_provider', 0, 6),
                        (3, 'owner_b', 'website_owner', 0, 7);
             INSERT INTO receipts (receipt, account_id, kind, latest_version, state,
                                   state_version, filing_number, created_at, updated_at)
                 VALUES ('R1', 1, 'new_filing', 1, 'approved', 1, '浙ICP备2026000001号', 9, 9);
             INSERT INTO filing_passwords (filing_number, receipt, issued_at, salt, hash,
                                           unseen, shown_at)
                 VALUES ('浙ICP备2026000001号', 'R1', 9, zeroblob(16), zeroblob(32), NULL, 10);",
        );
        let website = qingshan_website();
        let record = ApprovedRecord {
            event: 1,
            filing_number: "浙ICP备2026000001号".into(),
            origin_receipt: "R1".into(),
            filer: "owner".into(),
            at: 10,
            state: ApprovedState::Approved {
                subject: testkit::records::subject("杭州青山网络科技有限公司", "C1", 330106),
                websites: vec![ApprovedWebsite {
                    website_number: "浙ICP备2026000001号-1".into(),
                    website,
                }],
            },
        };
        store
            .write_blocking(move |conn| {
                assert!(crate::store::apply_approved_record_on(conn, &record).unwrap());
                Ok(())
            })
            .unwrap();
        let runtime = runtime();
        for (account, sees) in [(1, true), (2, true), (3, false)] {
            let found = runtime
                .block_on(store.approved_record_for("浙ICP备2026000001号", account))
                .unwrap();
            assert_eq!(found.is_some(), sees, "account {account}");
        }
        store
            .read_blocking(|conn| {
                let (receipts, passwords): (i64, i64) = conn
                    .query_row(
                        "SELECT (SELECT count(*) FROM receipts),
                                (SELECT count(*) FROM filing_passwords)",
                        [],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .unwrap();
                assert_eq!((receipts, passwords), (1, 1));
                Ok(())
            })
            .unwrap();
    }
    /// An owner's account and its receipt R1 with one version stored, in an older store.
    const OWNERS_RECEIPT_R1: &str = "INSERT INTO accounts (id, name, kind, disabled, created_at)
             VALUES (1, 'owner', 'website_owner', 0, 5);
         INSERT INTO receipts (receipt, account_id, kind, latest_version, state,
                               state_version, created_at, updated_at)
             VALUES ('R1', 1, 'new_filing', 1, 'received', 1, 9, 9);
         INSERT INTO submission_versions (receipt, version, content_hash, submitted_at,
                                          submitter, seq)
             VALUES ('R1', 1, zeroblob(32), 9, 'owner', 1);";

    /// A store written before migration 16 (payloads kept for the provider's check) opens with
    /// its versions unflagged, so their payloads go on their acks as before, and flags the
    /// versions stored afterwards that wait for a provider's check, with the providers they
    /// name.
    #[test]
    fn a_store_made_before_migration_16_keeps_its_versions_and_flags_new_ones() {
        use bundle_format::records::Submission;

        let (_dir, store) = store_upgraded_from(
            15,
            &format!(
                "{OWNERS_RECEIPT_R1}
                 INSERT INTO submission_payloads (receipt, version, payload)
                     VALUES ('R1', 1, x'c0ffee');"
            ),
        );
        let website = qingshan_website();
        let body = Submission::NewFiling(testkit::records::filing(
            testkit::records::subject("杭州青山网络科技有限公司", "C1", 330106),
            vec![website],
        ));
        let mut version = testkit::records::version("R2", 1, body);
        version.access_provider = None;
        version.submitter = "owner".into();
        let runtime = runtime();
        runtime
            .block_on(store.insert_submission(crate::store::NewSubmission {
                account_id: 1,
                kind: "new_filing".into(),
                filing_number: None,
                subject_key: None,
                version,
                idempotency: None,
            }))
            .unwrap();
        store
            .read_blocking(|conn| {
                assert_every_migration_applied(conn);
                let flags: Vec<(String, i64)> = conn
                    .prepare(
                        "SELECT receipt, kept_for_provider_check FROM submission_versions
                         ORDER BY receipt",
                    )
                    .unwrap()
                    .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap();
                assert_eq!(flags, [("R1".to_owned(), 0), ("R2".to_owned(), 1)]);
                let named: Vec<(String, String)> = conn
                    .prepare("SELECT receipt, provider FROM provider_check_providers")
                    .unwrap()
                    .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap();
                assert_eq!(named, [("R2".to_owned(), "provider_1".to_owned())]);
                let payloads: i64 = conn
                    .query_row("SELECT count(*) FROM submission_payloads", [], |r| r.get(0))
                    .unwrap();
                assert_eq!(payloads, 2, "the old payload is still there");
                Ok(())
            })
            .unwrap();
    }

    /// A store written before migration 17 (entry states) opens with its versions' entry states
    /// unknown (NULL: their ack decides them from the payload) and stores the entry state of
    /// each version stored afterwards, NULL for a provider's check.
    #[test]
    fn a_store_made_before_migration_17_stores_entry_states_for_new_versions_only() {
        use bundle_format::records::{ProviderDecision, Submission};

        let (_dir, store) = store_upgraded_from(16, OWNERS_RECEIPT_R1);
        let website = qingshan_website();
        let filing = Submission::NewFiling(testkit::records::filing(
            testkit::records::subject("杭州青山网络科技有限公司", "C1", 330106),
            vec![website],
        ));
        let check = Submission::ProviderCheck {
            receipt: "R2".into(),
            version: 1,
            content_hash: [0; 32],
            decision: ProviderDecision::Confirm,
        };
        let runtime = runtime();
        for (receipt, kind, body) in [
            ("R2", "new_filing", filing),
            ("R3", "provider_check", check),
        ] {
            runtime
                .block_on(store.insert_submission(crate::store::NewSubmission {
                    account_id: 1,
                    kind: kind.into(),
                    filing_number: None,
                    subject_key: None,
                    version: testkit::records::version(receipt, 1, body),
                    idempotency: None,
                }))
                .unwrap();
        }
        store
            .read_blocking(|conn| {
                assert_every_migration_applied(conn);
                let states: Vec<(String, Option<String>)> = conn
                    .prepare(
                        "SELECT receipt, entry_state FROM submission_versions ORDER BY receipt",
                    )
                    .unwrap()
                    .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap();
                assert_eq!(
                    states,
                    [
                        ("R1".to_owned(), None),
                        ("R2".to_owned(), Some("awaiting_regional_review".to_owned())),
                        ("R3".to_owned(), None),
                    ]
                );
                Ok(())
            })
            .unwrap();
    }
}
