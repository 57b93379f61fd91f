//! The SQLite store on a real file: versions, the status row that outlives payloads, acks,
//! idempotency and group commit.

use bundle_format::records::{
    self, Ack, ImportOutcome, RangeAck, ReceiptAck, ReviewState, StatusChange, Submission,
    SubmissionVersion,
};
use keys::ChannelId;
use outer::store::{
    Account, AccountKind, Inserted, NewSubmission, RangeAckEffect, ReceiptState, Store, StoreError,
};

fn withdrawal(receipt: &str, version: u32, reason: &str, at: i64) -> SubmissionVersion {
    let body = Submission::Withdrawal {
        receipt: "R20261122-00000000".into(),
        reason: reason.into(),
    };
    SubmissionVersion {
        receipt: receipt.into(),
        version,
        content_hash: records::content_hash(&body),
        submitted_at: at,
        submitter: "owner".into(),
        access_provider: None,
        body,
    }
}

fn new_submission(account_id: i64, receipt: &str, key: Option<&str>) -> NewSubmission {
    NewSubmission {
        account_id,
        kind: "withdrawal".into(),
        filing_number: None,
        subject_key: None,
        version: withdrawal(receipt, 1, "first", 1_790_000_000),
        idempotency: key.map(|k| (k.to_owned(), [7u8; 32])),
    }
}

/// Opens (creating) the store at `path` with one website owner account, `owner`.
fn store_with_owner(path: &std::path::Path) -> (Store, Account) {
    let store = Store::open(path).unwrap();
    let account = store
        .add_account("owner", AccountKind::WebsiteOwner)
        .unwrap();
    (store, account)
}

/// Stores the sample first version of `receipt` (a withdrawal) for `account`.
async fn insert(store: &Store, account: &Account, receipt: &str) {
    store
        .insert_submission(new_submission(account.id, receipt, None))
        .await
        .unwrap();
}

/// Adds an edited withdrawal as the next version of `receipt`, filed by `account`.
async fn add_withdrawal_edit(
    store: &Store,
    account: &Account,
    receipt: &str,
    reason: &str,
    at: i64,
) -> Result<u32, StoreError> {
    store
        .add_version(
            account.id,
            "withdrawal".into(),
            None,
            withdrawal(receipt, 0, reason, at),
        )
        .await
}

/// Applies a range ack in one write, as a return bundle's import does.
fn apply_range_ack(store: &Store, ack: RangeAck, at: i64) -> RangeAckEffect {
    store
        .write_blocking(move |conn| outer::store::apply_range_ack_on(conn, &ack, at, None))
        .unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn versions_survive_reopen_and_convert_back_to_wire_records() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outer.db");
    let (store, account) = store_with_owner(&path);
    let rt = runtime();
    rt.block_on(async {
        insert(&store, &account, "R20261122-AAAAAAAA").await;
        let edit = withdrawal("R20261122-AAAAAAAA", 0, "second thoughts", 1_790_000_005);
        assert_eq!(
            store
                .add_version(account.id, "withdrawal".into(), None, edit)
                .await
                .unwrap(),
            2
        );
    });
    store.close();
    drop(store);

    let store = Store::open(&path).unwrap();
    let record = rt
        .block_on(store.receipt("R20261122-AAAAAAAA"))
        .unwrap()
        .unwrap();
    assert_eq!(record.status.latest_version, 2);
    assert_eq!(record.versions.len(), 2);
    let latest = record.latest.unwrap();
    assert!(latest.hash_matches());
    assert_eq!(
        latest,
        withdrawal("R20261122-AAAAAAAA", 2, "second thoughts", 1_790_000_005)
    );
    let exported = rt.block_on(store.versions_to_export(10)).unwrap();
    assert_eq!(exported.len(), 2, "both versions await export");
    assert_eq!(
        exported[0],
        withdrawal("R20261122-AAAAAAAA", 1, "first", 1_790_000_000)
    );
}

fn ack(receipt: &str, version: u32, content_hash: [u8; 32], sequence: u64) -> Ack {
    Ack {
        bundle_id: [1; 32],
        channel: 1,
        sequence,
        receipts: vec![ReceiptAck {
            receipt: receipt.into(),
            version,
            content_hash,
            outcome: ImportOutcome::Applied,
            reason: None,
        }],
    }
}

#[test]
fn ack_removes_only_the_exact_version_and_an_edit_in_transit_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let (store, account) = store_with_owner(&dir.path().join("outer.db"));
    let receipt = "R20261122-BBBBBBBB";
    runtime().block_on(async {
        insert(&store, &account, receipt).await;
        let v1 = withdrawal(receipt, 1, "first", 1_790_000_000);
        let marked = store
            .record_export(ChannelId(1), 17, [1; 32], 10, 1_790_000_100)
            .await
            .unwrap();
        assert_eq!(marked, 1);
        let status = store.receipt(receipt).await.unwrap().unwrap().status;
        assert_eq!(status.state, ReceiptState::InTransit);
        assert_eq!(status.bundle_sequence, Some(17));

        let v2 = add_withdrawal_edit(&store, &account, receipt, "edited", 1_790_000_150)
            .await
            .unwrap();
        assert_eq!(v2, 2);

        let summary = store
            .apply_ack(ack(receipt, 1, [9; 32], 17), 1_790_000_200)
            .await
            .unwrap();
        assert_eq!(summary.removed, 0, "a wrong hash deletes nothing");
        assert_eq!(summary.mismatched, vec![(receipt.to_owned(), 1)]);
        assert!(store.receipt(receipt).await.unwrap().unwrap().versions[0].payload_stored);

        let right = ack(receipt, 1, v1.content_hash, 17);
        assert_eq!(
            store
                .apply_ack(right.clone(), 1_790_000_300)
                .await
                .unwrap()
                .removed,
            1
        );
        assert_eq!(
            store.apply_ack(right, 1_790_000_301).await.unwrap().already,
            1
        );
        let record = store.receipt(receipt).await.unwrap().unwrap();
        assert!(!record.versions[0].payload_stored);
        assert!(
            record.versions[1].payload_stored,
            "the edit made in transit is kept"
        );
        assert_eq!(record.latest.unwrap().version, 2);
        let to_export = store.versions_to_export(10).await.unwrap();
        assert_eq!(to_export.len(), 1);
        assert_eq!(to_export[0].version, 2);
    });
}

#[test]
fn status_row_answers_after_every_payload_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let (store, account) = store_with_owner(&dir.path().join("outer.db"));
    let receipt = "R20261122-CCCCCCCC";
    runtime().block_on(async {
        insert(&store, &account, receipt).await;
        store
            .record_export(ChannelId(1), 3, [2; 32], 10, 10)
            .await
            .unwrap();
        let hash = withdrawal(receipt, 1, "first", 0).content_hash;
        store.apply_ack(ack(receipt, 1, hash, 3), 20).await.unwrap();
        let approved = StatusChange {
            event_id: 5,
            receipt: receipt.into(),
            version: 1,
            state: ReviewState::Approved,
            at: 30,
            reason: None,
            filing_number: Some("京ICP备2026000123号".into()),
        };
        assert!(store.apply_status_change(approved.clone()).await.unwrap());
        assert!(
            !store.apply_status_change(approved).await.unwrap(),
            "a seen event id is ignored"
        );
        let record = store.receipt(receipt).await.unwrap().unwrap();
        assert!(record.latest.is_none());
        assert_eq!(
            record.status.state,
            ReceiptState::Review(ReviewState::Approved)
        );
        assert_eq!(
            record.status.filing_number.as_deref(),
            Some("京ICP备2026000123号")
        );
        let states: Vec<_> = record.history.iter().map(|h| h.state.as_str()).collect();
        assert_eq!(states, ["received", "in_transit", "delivered", "approved"]);
        let by_number = store
            .receipts_for_filing_number("京ICP备2026000123号")
            .await
            .unwrap();
        assert_eq!(by_number.len(), 1);
        let err = add_withdrawal_edit(&store, &account, receipt, "late", 40)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Final { .. }), "{err}");
    });
}

#[test]
fn idempotency_key_returns_the_first_receipt_and_refuses_a_different_request() {
    let dir = tempfile::tempdir().unwrap();
    let (store, account) = store_with_owner(&dir.path().join("outer.db"));
    runtime().block_on(async {
        let first = store
            .insert_submission(new_submission(account.id, "R20261122-DDDDDDDD", Some("k1")))
            .await
            .unwrap();
        assert!(matches!(first, Inserted::Created { .. }));
        let again = store
            .insert_submission(new_submission(account.id, "R20261122-EEEEEEEE", Some("k1")))
            .await
            .unwrap();
        assert_eq!(
            again,
            Inserted::Replayed {
                receipt: "R20261122-DDDDDDDD".into(),
                version: 1
            }
        );
        assert!(store.receipt("R20261122-EEEEEEEE").await.unwrap().is_none());
        let mut different = new_submission(account.id, "R20261122-FFFFFFFF", Some("k1"));
        different.idempotency = Some(("k1".into(), [8; 32]));
        let err = store.insert_submission(different).await.unwrap_err();
        assert!(matches!(err, StoreError::IdempotencyKeyReused(_)));
    });
}

#[test]
fn concurrent_writes_share_commits_and_all_are_durable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outer.db");
    let (store, account) = store_with_owner(&path);
    let rt = runtime();
    rt.block_on(async {
        let mut tasks = Vec::new();
        for i in 0..400 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let receipt = format!("R20261122-{i:08}");
                store
                    .insert_submission(new_submission(account.id, &receipt, None))
                    .await
            }));
        }
        for task in tasks {
            assert!(matches!(
                task.await.unwrap().unwrap(),
                Inserted::Created { .. }
            ));
        }
    });
    store.close();
    let reopened = Store::open(&path).unwrap();
    let count: i64 = reopened
        .read_blocking(|conn| {
            Ok(conn
                .query_row("SELECT count(*) FROM receipts", [], |r| r.get(0))
                .unwrap())
        })
        .unwrap();
    assert_eq!(count, 400);
}

#[test]
fn accounts_and_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("outer.db")).unwrap();
    store
        .add_account("provider_1", AccountKind::AccessProvider)
        .unwrap();
    assert!(matches!(
        store.add_account("provider_1", AccountKind::Operator),
        Err(StoreError::AccountExists(_))
    ));
    let token = store.issue_token("provider_1", "laptop").unwrap();
    let rt = runtime();
    let principal = rt
        .block_on(store.authenticate(&token.secret))
        .unwrap()
        .unwrap();
    assert_eq!(principal.kind, AccountKind::AccessProvider);
    assert!(
        rt.block_on(store.authenticate("sluice_wrong"))
            .unwrap()
            .is_none()
    );
    store.set_account_disabled("provider_1", true).unwrap();
    assert!(
        rt.block_on(store.authenticate(&token.secret))
            .unwrap()
            .is_none()
    );
    store.set_account_disabled("provider_1", false).unwrap();
    store.revoke_token(token.id).unwrap();
    assert!(
        rt.block_on(store.authenticate(&token.secret))
            .unwrap()
            .is_none()
    );
    let stored: Vec<u8> = store
        .read_blocking(|conn| {
            Ok(conn
                .query_row("SELECT token_hash FROM tokens", [], |r| r.get(0))
                .unwrap())
        })
        .unwrap();
    assert_ne!(stored, token.secret.as_bytes(), "only the hash is stored");
    assert_eq!(stored.len(), 32);
}

#[test]
fn a_failing_write_does_not_undo_the_others_in_its_group_commit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outer.db");
    let (store, account) = store_with_owner(&path);
    let rt = runtime();
    rt.block_on(async {
        insert(&store, &account, "R20261122-TAKEN000").await;
        // Interleave writes that fail (the receipt id exists) with writes that succeed, all
        // queued at once so that they share commits.
        let mut tasks = Vec::new();
        for i in 0..200 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let receipt = if i % 2 == 0 {
                    format!("R20261122-{i:08}")
                } else {
                    "R20261122-TAKEN000".to_owned()
                };
                (
                    i,
                    store
                        .insert_submission(new_submission(account.id, &receipt, None))
                        .await,
                )
            }));
        }
        for task in tasks {
            let (i, result) = task.await.unwrap();
            assert_eq!(result.is_ok(), i % 2 == 0, "write {i}: {result:?}");
        }
    });
    store.close();
    let reopened = Store::open(&path).unwrap();
    let count: i64 = reopened
        .read_blocking(|conn| {
            Ok(conn
                .query_row("SELECT count(*) FROM submission_versions", [], |r| r.get(0))
                .unwrap())
        })
        .unwrap();
    assert_eq!(
        count, 101,
        "100 good writes and the first one, nothing from the failures"
    );
}

/// Everything an ack can change, read back from the file: versions, payloads, status rows and
/// history.
fn ack_visible_state(path: &std::path::Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut rows = Vec::new();
    for sql in [
        "SELECT receipt || '/' || version || ' acked ' || ifnull(acknowledged_at, '-') || ' '
                || ifnull(ack_outcome, '-') || ' removed ' || ifnull(payload_removed_at, '-')
         FROM submission_versions ORDER BY receipt, version",
        "SELECT 'payload ' || receipt || '/' || version FROM submission_payloads
         ORDER BY receipt, version",
        "SELECT receipt || ' ' || state || ' v' || state_version || ' at ' || updated_at
         FROM receipts ORDER BY receipt",
        "SELECT id || ' ' || receipt || '/' || version || ' ' || state || ' ' || at || ' '
                || ifnull(reason, '-')
         FROM status_history ORDER BY id",
    ] {
        let mut stmt = conn.prepare(sql).unwrap();
        let found = stmt.query_map([], |row| row.get::<_, String>(0)).unwrap();
        rows.extend(found.map(Result::unwrap));
    }
    rows
}

#[test]
fn one_ack_applied_as_a_set_has_the_same_effects_as_entry_by_entry() {
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("entry-by-entry.db");
    let hash = |receipt: &str, version: u32, reason: &str| {
        withdrawal(receipt, version, reason, 0).content_hash
    };
    {
        let (store, account) = store_with_owner(&first);
        runtime().block_on(async {
            for receipt in ["R-A", "R-B", "R-C", "R-D"] {
                insert(&store, &account, receipt).await;
            }
            // R-A, R-B and R-C (stored first) go out in bundle 4; R-D waits.
            let sent = store
                .record_export(ChannelId(1), 4, [4; 32], 3, 100)
                .await
                .unwrap();
            assert_eq!(sent, 3);
            // An edit of R-B while its first version is in transit.
            add_withdrawal_edit(&store, &account, "R-B", "edited", 150)
                .await
                .unwrap();
            // R-C was acknowledged by an earlier return bundle.
            store
                .apply_ack(ack("R-C", 1, hash("R-C", 1, "first"), 4), 160)
                .await
                .unwrap();
        });
        store.close();
    }
    let second = dir.path().join("as-a-set.db");
    std::fs::copy(&first, &second).unwrap();
    let entry = |receipt: &str, version: u32, content_hash: [u8; 32], outcome| ReceiptAck {
        receipt: receipt.into(),
        version,
        content_hash,
        outcome,
        reason: (outcome != ImportOutcome::Applied).then(|| "domain-conflict".to_owned()),
    };
    let entries = vec![
        entry("R-B", 1, hash("R-B", 1, "first"), ImportOutcome::Applied),
        entry("R-A", 1, hash("R-A", 1, "first"), ImportOutcome::Rejected),
        entry("R-C", 1, hash("R-C", 1, "first"), ImportOutcome::Applied),
        entry("R-D", 1, [9; 32], ImportOutcome::Applied),
        entry("R-NEVER-ISSUED", 1, [8; 32], ImportOutcome::Applied),
        entry("R-B", 2, [7; 32], ImportOutcome::Applied),
    ];

    let by_entry: Vec<outer::store::AckEffect> = {
        let conn = rusqlite::Connection::open(&first).unwrap();
        entries
            .iter()
            .map(|e| outer::store::apply_ack_entry_on(&conn, e, 200, None).unwrap())
            .collect()
    };
    let as_set = {
        let conn = rusqlite::Connection::open(&second).unwrap();
        conn.execute_batch("PRAGMA foreign_keys = ON").unwrap();
        outer::store::apply_ack_entries_on(&conn, &entries, 200, None).unwrap()
    };

    use outer::store::AckEffect::{Already, Mismatch, Refused, Removed};
    assert_eq!(
        by_entry,
        vec![Removed, Refused, Already, Mismatch, Mismatch, Mismatch]
    );
    assert_eq!(as_set, by_entry);
    let state = ack_visible_state(&second);
    assert_eq!(state, ack_visible_state(&first));
    assert!(state.contains(&"payload R-B/2".to_owned()), "{state:#?}");
    assert!(!state.contains(&"payload R-B/1".to_owned()), "{state:#?}");
    // R-A/1 was refused inside: its payload stays and its submitter sees the refusal.
    for expected in [
        "payload R-A/1",
        "R-A/1 acked 200 rejected removed -",
        "R-A rejected v1 at 200",
        "R-B received v2 at 150",
        "7 R-A/1 rejected 200 domain-conflict",
    ] {
        assert!(
            state.contains(&expected.to_owned()),
            "{expected}: {state:#?}"
        );
    }

    // An ack naming one version twice: the repeat is "already", as entry by entry.
    let twice = vec![
        entry("R-D", 1, hash("R-D", 1, "first"), ImportOutcome::Applied),
        entry("R-D", 1, hash("R-D", 1, "first"), ImportOutcome::Applied),
    ];
    let conn = rusqlite::Connection::open(&second).unwrap();
    assert_eq!(
        outer::store::apply_ack_entries_on(&conn, &twice, 300, None).unwrap(),
        vec![Removed, Already]
    );
}

/// Three receipts exported in one bundle, as a range; what the inner side would acknowledge
/// for it: the members digest over the three versions, in order.
fn exported_range(store: &Store, rt: &tokio::runtime::Runtime) -> (Vec<&'static str>, RangeAck) {
    let account = store
        .add_account("owner", AccountKind::WebsiteOwner)
        .unwrap();
    let receipts = vec!["R-RANGE-1", "R-RANGE-2", "R-RANGE-3"];
    rt.block_on(async {
        for receipt in &receipts {
            store
                .insert_submission(new_submission(account.id, receipt, None))
                .await
                .unwrap();
        }
        assert_eq!(
            store
                .record_export(ChannelId(1), 5, [5; 32], 10, 100)
                .await
                .unwrap(),
            3
        );
    });
    let hashes: Vec<[u8; 32]> = receipts
        .iter()
        .map(|r| withdrawal(r, 1, "first", 0).content_hash)
        .collect();
    let ack = RangeAck {
        bundle_id: [5; 32],
        channel: 1,
        sequence: 5,
        members: 3,
        members_digest: records::members_digest(
            receipts.iter().zip(&hashes).map(|(r, h)| (*r, 1, h)),
        ),
        exceptions: Vec::new(),
    };
    (receipts, ack)
}

fn stored_payloads(store: &Store) -> Vec<String> {
    store
        .read_blocking(|conn| {
            let mut stmt = conn
                .prepare("SELECT receipt FROM submission_payloads ORDER BY receipt")
                .unwrap();
            let rows = stmt
                .query_map([], |row| row.get(0))
                .unwrap()
                .collect::<Result<Vec<String>, _>>()
                .unwrap();
            Ok(rows)
        })
        .unwrap()
}

#[test]
fn a_range_ack_deletes_the_whole_bundles_payloads() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("outer.db")).unwrap();
    let rt = runtime();
    let (receipts, ack) = exported_range(&store, &rt);
    let effect = apply_range_ack(&store, ack, 200);
    assert_eq!(
        effect,
        RangeAckEffect::Applied {
            removed: 3,
            already: 0
        }
    );
    assert!(stored_payloads(&store).is_empty());
    rt.block_on(async {
        for receipt in receipts {
            let record = store.receipt(receipt).await.unwrap().unwrap();
            assert_eq!(
                record.status.state,
                ReceiptState::Review(ReviewState::Delivered)
            );
            let states: Vec<_> = record.history.iter().map(|h| h.state.as_str()).collect();
            assert_eq!(states, ["received", "in_transit", "delivered"]);
            assert!(!record.versions[0].payload_stored);
            assert_eq!(record.versions[0].exported_sequence, Some(5));
        }
    });
}

#[test]
fn a_range_ack_whose_digest_differs_deletes_nothing_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("outer.db")).unwrap();
    let rt = runtime();
    let (receipts, mut ack) = exported_range(&store, &rt);
    // The inner side hashed another version than the one stored here.
    ack.members_digest[0] ^= 1;
    let wrong_count = RangeAck {
        members: 2,
        ..ack.clone()
    };
    for ack in [ack, wrong_count] {
        let effect = apply_range_ack(&store, ack, 200);
        let RangeAckEffect::Mismatch { reason } = effect else {
            panic!("a wrong digest applied: {effect:?}");
        };
        assert!(reason.contains("members digest"), "{reason}");
        assert!(reason.contains("holds 3 versions"), "{reason}");
    }
    assert_eq!(stored_payloads(&store), receipts);
    rt.block_on(async {
        for receipt in receipts {
            let status = store.receipt(receipt).await.unwrap().unwrap().status;
            assert_eq!(status.state, ReceiptState::InTransit);
        }
    });
}

/// A version the inner side refused is not safe inside: the range ack keeps its payload, and
/// its submitter sees "rejected" with the reason rather than "delivered".
#[test]
fn a_refused_version_named_as_an_exception_keeps_its_payload_and_the_submitter_sees_the_refusal() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("outer.db")).unwrap();
    let rt = runtime();
    let (receipts, mut ack) = exported_range(&store, &rt);
    ack.exceptions.push(ReceiptAck {
        receipt: receipts[1].into(),
        version: 1,
        content_hash: withdrawal(receipts[1], 1, "first", 0).content_hash,
        outcome: ImportOutcome::Rejected,
        reason: Some("receipt-of-another-channel".into()),
    });
    let mut stranger = ack.clone();
    stranger.exceptions[0].version = 2;
    let effect = apply_range_ack(&store, stranger, 150);
    assert!(
        matches!(&effect, RangeAckEffect::Mismatch { reason } if reason.contains("exception")),
        "an exception outside the bundle must not apply: {effect:?}"
    );
    assert_eq!(stored_payloads(&store).len(), 3);

    let again = ack.clone();
    let effect = apply_range_ack(&store, ack, 200);
    assert_eq!(
        effect,
        RangeAckEffect::Applied {
            removed: 2,
            already: 0
        }
    );
    assert_eq!(stored_payloads(&store), [receipts[1]]);
    let outcomes: Vec<(String, String)> = store
        .read_blocking(|conn| {
            let mut stmt = conn
                .prepare("SELECT receipt, ack_outcome FROM submission_versions ORDER BY receipt")
                .unwrap();
            let rows = stmt
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
                .unwrap()
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            Ok(rows)
        })
        .unwrap();
    assert_eq!(
        outcomes,
        [
            ("R-RANGE-1".to_owned(), "applied".to_owned()),
            ("R-RANGE-2".to_owned(), "rejected".to_owned()),
            ("R-RANGE-3".to_owned(), "applied".to_owned()),
        ]
    );
    rt.block_on(async {
        let record = store.receipt(receipts[1]).await.unwrap().unwrap();
        assert_eq!(
            record.status.state,
            ReceiptState::Review(ReviewState::Rejected)
        );
        assert_eq!(
            record.status.reason.as_deref(),
            Some("receipt-of-another-channel")
        );
        let refused = record.history.last().unwrap();
        assert_eq!(refused.state, ReceiptState::Review(ReviewState::Rejected));
        assert_eq!(
            refused.reason.as_deref(),
            Some("receipt-of-another-channel")
        );
        let delivered = store.receipt(receipts[0]).await.unwrap().unwrap();
        assert_eq!(
            delivered.status.state,
            ReceiptState::Review(ReviewState::Delivered)
        );
        assert_eq!(delivered.history.last().unwrap().reason, None);
    });
    // The same range acknowledged again (a resent return bundle): nothing more to do.
    let effect = apply_range_ack(&store, again, 300);
    assert_eq!(
        effect,
        RangeAckEffect::Applied {
            removed: 0,
            already: 3
        }
    );
    assert_eq!(stored_payloads(&store), [receipts[1]]);
}

/// A bundle the inner side refused for its signer: its versions wait again, with the reason on
/// their status, until it is signed again. A refusal naming a bundle this store did not write,
/// or one of another channel, changes nothing.
#[test]
fn a_refused_bundle_puts_its_versions_back_to_waiting_until_it_is_signed_again() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("outer.db")).unwrap();
    let rt = runtime();
    let (receipts, _) = exported_range(&store, &rt);
    let epoch = store
        .read_blocking(|conn| outer::store::ledger::send_state_on(conn, ChannelId(1)))
        .unwrap()
        .epoch;
    let refusal = records::BundleRefusal {
        bundle_id: [5; 32],
        channel: 1,
        epoch,
        sequence: 5,
        code: "envelope.key-revoked".into(),
        reason: "outer-bundle key revoked".into(),
    };
    let state = |receipt: &'static str| {
        rt.block_on(async {
            let status = store.receipt(receipt).await.unwrap().unwrap().status;
            (status.state, status.reason)
        })
    };
    for stranger in [
        records::BundleRefusal {
            bundle_id: [6; 32],
            ..refusal.clone()
        },
        records::BundleRefusal {
            channel: 2,
            ..refusal.clone()
        },
    ] {
        let channel = ChannelId(stranger.channel);
        let done = store
            .write_blocking(move |conn| {
                outer::store::refuse_bundle_on(conn, channel, &stranger, 150)
            })
            .unwrap();
        assert_eq!(done, None);
        assert_eq!(state(receipts[0]), (ReceiptState::InTransit, None));
    }

    let refused = refusal.clone();
    let done = store
        .write_blocking(move |conn| {
            outer::store::refuse_bundle_on(conn, ChannelId(1), &refused, 200)
        })
        .unwrap()
        .unwrap();
    assert_eq!((done.sequence, done.receipts), (5, 3));
    for receipt in &receipts {
        let (shown, reason) = state(receipt);
        assert_eq!(shown, ReceiptState::Received, "{receipt}");
        let reason = reason.unwrap_or_default();
        assert!(
            reason.contains("bundle 5 was refused inside")
                && reason.contains("(envelope.key-revoked)"),
            "{reason}"
        );
    }
    // Neither a resend nor a gap report publishes the refused copy; the export signs it again.
    let (due, retained, to_sign) = store
        .read_blocking(|conn| {
            Ok((
                outer::store::ledger::bundles_due_on(conn, ChannelId(1), i64::MAX)?,
                outer::store::ledger::retained_bundle_on(conn, ChannelId(1), 5)?,
                outer::store::refused_bundles_on(conn, ChannelId(1))?,
            ))
        })
        .unwrap();
    assert!(due.is_empty() && retained.is_none(), "{due:?} {retained:?}");
    assert_eq!(to_sign.iter().map(|b| b.sequence).collect::<Vec<_>>(), [5]);
    let id = bundle_format::BundleId([5; 32]);
    store
        .write_blocking(move |conn| outer::store::record_signed_again_on(conn, &id, 300))
        .unwrap();
    assert_eq!(state(receipts[2]), (ReceiptState::InTransit, None));
}
