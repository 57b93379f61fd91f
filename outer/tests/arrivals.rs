//! Arrival acks (bundle format version 11, `ArrivalAck`) on the SQLite store: the inner side
//! sends no status change for a version's arrival any more, so its range ack's import time moves
//! each receipt waiting on a version the import accepted to the state that version's record
//! decides (`filing::arrival::entry_state`), from that time on.

use bundle_format::records::{
    ImportOutcome, ProviderDecision, RangeAck, ReceiptAck, ServiceType, Submission,
    SubmissionVersion,
};
use keys::ChannelId;
use outer::store::{
    AccountKind, AckEffect, NewSubmission, RangeAckEffect, ReceiptRecord, ReceiptState, Store,
};

/// When the outer side applies the ack.
const ACKED_AT: i64 = 1_790_000_500;
/// When the inner side imported the bundle, as the arrival ack says.
const IMPORTED_AT: i64 = 1_790_000_300;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A new filing of one showcase website (domain `domain`), sent by the access provider the
/// website names on behalf of its owner: no provider's check, no pre-approval.
fn filing(receipt: &str, domain: &str) -> SubmissionVersion {
    let website = testkit::records::website("青山官网", &[domain], 9);
    testkit::records::version(
        receipt,
        1,
        testkit::records::new_filing(
            "杭州青山网络科技有限公司",
            &testkit::records::credit_code("91330106", 1),
            330_106,
            vec![website],
        ),
    )
}

/// [`filing`] of a website that offers news, a service that needs a pre-approval.
fn news_filing(receipt: &str, domain: &str) -> SubmissionVersion {
    let mut version = filing(receipt, domain);
    let Submission::NewFiling(new) = &mut version.body else {
        unreachable!()
    };
    new.websites[0].service_types = vec![ServiceType::News];
    version.content_hash = bundle_format::records::content_hash(&version.body);
    version
}

/// [`filing`] sent by its owner directly: the provider its access details name checks it.
fn owners_filing(receipt: &str, domain: &str) -> SubmissionVersion {
    let mut version = filing(receipt, domain);
    version.access_provider = None;
    version
}

/// A withdrawal of another receipt.
fn withdrawal(receipt: &str) -> SubmissionVersion {
    testkit::records::version(
        receipt,
        1,
        Submission::Withdrawal {
            receipt: "R-ELSEWHERE".into(),
            reason: "filed twice".into(),
        },
    )
}

/// A provider's confirmation of another receipt's version 1.
fn provider_check(receipt: &str) -> SubmissionVersion {
    testkit::records::version(
        receipt,
        1,
        Submission::ProviderCheck {
            receipt: "R-ELSEWHERE".into(),
            version: 1,
            content_hash: [3; 32],
            decision: ProviderDecision::Confirm,
        },
    )
}

/// The receipt kind the intake stores for `version`.
fn kind_of(version: &SubmissionVersion) -> &'static str {
    match version.body {
        Submission::Withdrawal { .. } => "withdrawal",
        Submission::ProviderCheck { .. } => "provider_check",
        _ => "new_filing",
    }
}

/// A store at `path` holding `versions` (each version 1 of its receipt), all exported as bundle
/// 1 of channel 1; and the range ack the inner side sends for that bundle, without exceptions.
fn shipped(path: &std::path::Path, versions: Vec<SubmissionVersion>) -> (Store, RangeAck) {
    let store = Store::open(path).unwrap();
    let account = store
        .add_account("owner", AccountKind::WebsiteOwner)
        .unwrap();
    let rt = runtime();
    rt.block_on(async {
        for version in versions {
            store
                .insert_submission(NewSubmission {
                    account_id: account.id,
                    kind: kind_of(&version).into(),
                    filing_number: None,
                    subject_key: None,
                    version,
                    idempotency: None,
                })
                .await
                .unwrap();
        }
    });
    let pending = store
        .read_blocking(|conn| outer::store::pending_versions(conn, 100))
        .unwrap();
    let range = outer::store::range_of(&pending).unwrap();
    let exported = rt
        .block_on(store.record_export(ChannelId(1), 1, [1; 32], 100, 1_790_000_000))
        .unwrap();
    assert_eq!(exported, pending.len());
    let ack = range.ack([1; 32], 1, 1, Vec::new());
    (store, ack)
}

/// `ack` applied as an arrival ack imported at [`IMPORTED_AT`] (`None`: as a plain range ack).
fn apply(store: &Store, ack: RangeAck, arrived_at: Option<i64>) {
    let effect = store
        .write_blocking(move |conn| {
            outer::store::apply_range_ack_on(conn, &ack, ACKED_AT, arrived_at)
        })
        .unwrap();
    assert!(
        matches!(effect, RangeAckEffect::Applied { .. }),
        "{effect:?}"
    );
}

fn receipt(store: &Store, receipt: &str) -> ReceiptRecord {
    runtime().block_on(store.receipt(receipt)).unwrap().unwrap()
}

/// The receipt's state, reason and update time, and its last history entry (state, time and
/// reason), as its submitter is shown them.
fn shown(store: &Store, id: &str) -> (String, Option<String>, i64, (String, i64, Option<String>)) {
    let record = receipt(store, id);
    let last = record.history.last().unwrap().clone();
    (
        record.status.state.as_str().to_owned(),
        record.status.reason,
        record.status.updated_at,
        (last.state.as_str().to_owned(), last.at, last.reason),
    )
}

/// `id`'s status after the ack: `state` since the import, with no reason.
fn entered_at_import(state: &str) -> (String, Option<String>, i64, (String, i64, Option<String>)) {
    (
        state.to_owned(),
        None,
        IMPORTED_AT,
        (state.to_owned(), IMPORTED_AT, None),
    )
}

fn exception(version: &SubmissionVersion, outcome: ImportOutcome, reason: &str) -> ReceiptAck {
    ReceiptAck {
        receipt: version.receipt.clone(),
        version: version.version,
        content_hash: version.content_hash,
        outcome,
        reason: Some(reason.into()),
    }
}

#[test]
fn a_new_filing_that_arrived_inside_awaits_the_regional_review_from_its_import_time() {
    let dir = tempfile::tempdir().unwrap();
    let (store, ack) = shipped(
        &dir.path().join("outer.db"),
        vec![filing("R-PLAIN", "qingshan.example.cn")],
    );
    apply(&store, ack, Some(IMPORTED_AT));
    assert_eq!(
        shown(&store, "R-PLAIN"),
        entered_at_import("awaiting_regional_review")
    );
    let record = receipt(&store, "R-PLAIN");
    let states: Vec<_> = record.history.iter().map(|h| h.state.as_str()).collect();
    assert_eq!(
        states,
        ["received", "in_transit", "awaiting_regional_review"],
        "no delivered step: the import put it in review at once"
    );
    assert!(!record.versions[0].payload_stored);
    assert_eq!(record.versions[0].acknowledged_at, Some(ACKED_AT));
}

#[test]
fn a_filing_offering_news_awaits_its_pre_approval_once_it_arrived() {
    let dir = tempfile::tempdir().unwrap();
    let (store, ack) = shipped(
        &dir.path().join("outer.db"),
        vec![news_filing("R-NEWS", "news.example.cn")],
    );
    apply(&store, ack, Some(IMPORTED_AT));
    assert_eq!(
        shown(&store, "R-NEWS"),
        entered_at_import("awaiting_pre_approval")
    );
    assert!(!receipt(&store, "R-NEWS").versions[0].payload_stored);
}

#[test]
fn an_owners_own_filing_awaits_the_providers_check_once_it_arrived_and_keeps_its_payload() {
    let dir = tempfile::tempdir().unwrap();
    let (store, ack) = shipped(
        &dir.path().join("outer.db"),
        vec![owners_filing("R-OWN", "own.example.cn")],
    );
    apply(&store, ack, Some(IMPORTED_AT));
    assert_eq!(
        shown(&store, "R-OWN"),
        entered_at_import("awaiting_provider_check")
    );
    let record = receipt(&store, "R-OWN");
    assert!(
        record.versions[0].payload_stored,
        "the provider is shown it outside"
    );
    assert_eq!(record.versions[0].acknowledged_at, Some(ACKED_AT));
    let awaiting = runtime()
        .block_on(store.provider_checks_awaiting(testkit::records::ACCESS_PROVIDER))
        .unwrap();
    let listed: Vec<_> = awaiting
        .iter()
        .map(|a| a.version.receipt.as_str())
        .collect();
    assert_eq!(listed, ["R-OWN"]);
}

#[test]
fn a_conflicting_filing_enters_review_with_the_conflict_reason_from_its_import_time() {
    let dir = tempfile::tempdir().unwrap();
    let version = filing("R-CONFLICT", "taken.example.cn");
    let (store, mut ack) = shipped(&dir.path().join("outer.db"), vec![version.clone()]);
    ack.exceptions.push(exception(
        &version,
        ImportOutcome::Conflict,
        "domain-conflict",
    ));
    apply(&store, ack, Some(IMPORTED_AT));
    let reason = Some("domain-conflict".to_owned());
    assert_eq!(
        shown(&store, "R-CONFLICT"),
        (
            "awaiting_regional_review".to_owned(),
            reason.clone(),
            IMPORTED_AT,
            ("awaiting_regional_review".to_owned(), IMPORTED_AT, reason)
        )
    );
    assert!(!receipt(&store, "R-CONFLICT").versions[0].payload_stored);
}

#[test]
fn a_filing_refused_inside_shows_rejected_and_keeps_its_payload_under_an_arrival_ack() {
    let dir = tempfile::tempdir().unwrap();
    let version = filing("R-REFUSED", "refused.example.cn");
    let (store, mut ack) = shipped(&dir.path().join("outer.db"), vec![version.clone()]);
    ack.exceptions.push(exception(
        &version,
        ImportOutcome::Rejected,
        "receipt-of-another-channel",
    ));
    apply(&store, ack, Some(IMPORTED_AT));
    let reason = Some("receipt-of-another-channel".to_owned());
    assert_eq!(
        shown(&store, "R-REFUSED"),
        (
            "rejected".to_owned(),
            reason.clone(),
            ACKED_AT,
            ("rejected".to_owned(), ACKED_AT, reason)
        ),
        "not an arrival: the import did not accept it"
    );
    assert!(receipt(&store, "R-REFUSED").versions[0].payload_stored);
}

#[test]
fn a_withdrawal_that_arrived_inside_shows_withdrawn_and_a_providers_check_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let (store, ack) = shipped(
        &dir.path().join("outer.db"),
        vec![withdrawal("R-WITHDRAWAL"), provider_check("R-CHECK")],
    );
    apply(&store, ack, Some(IMPORTED_AT));
    assert_eq!(
        shown(&store, "R-WITHDRAWAL"),
        entered_at_import("withdrawn")
    );
    // A provider's check has no review of its own.
    assert_eq!(shown(&store, "R-CHECK"), entered_at_import("delivered"));
}

#[test]
fn a_plain_range_ack_still_shows_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let (store, ack) = shipped(
        &dir.path().join("outer.db"),
        vec![
            filing("R-PLAIN", "qingshan.example.cn"),
            owners_filing("R-OWN", "own.example.cn"),
        ],
    );
    apply(&store, ack, None);
    for id in ["R-PLAIN", "R-OWN"] {
        assert_eq!(
            shown(&store, id),
            (
                "delivered".to_owned(),
                None,
                ACKED_AT,
                ("delivered".to_owned(), ACKED_AT, None)
            ),
            "{id}"
        );
    }
    assert!(receipt(&store, "R-OWN").versions[0].payload_stored);
}

#[test]
fn an_arrival_ack_leaves_a_receipt_edited_since_waiting_on_its_edit() {
    let dir = tempfile::tempdir().unwrap();
    let (store, ack) = shipped(
        &dir.path().join("outer.db"),
        vec![filing("R-EDITED", "edited.example.cn")],
    );
    let mut edit = news_filing("R-EDITED", "edited.example.cn");
    edit.submitted_at += 10;
    let owner = store.accounts().unwrap()[0].id;
    runtime()
        .block_on(store.add_version(owner, "new_filing".into(), None, edit))
        .unwrap();
    apply(&store, ack, Some(IMPORTED_AT));
    let record = receipt(&store, "R-EDITED");
    assert_eq!(record.status.state, ReceiptState::Received);
    assert_eq!(record.status.state_version, 2);
    assert!(
        record
            .history
            .iter()
            .all(|h| h.state.as_str() != "awaiting_regional_review"),
        "{:?}",
        record.history
    );
}

/// Clears the stored entry states, as a store written before migration 0017 holds its versions.
fn forget_entry_states(store: &Store) {
    store
        .write_blocking(|conn| {
            conn.execute("UPDATE submission_versions SET entry_state = NULL", [])
                .unwrap();
            Ok(())
        })
        .unwrap();
}

#[test]
fn a_filing_stored_before_entry_states_were_kept_enters_the_state_its_payload_decides() {
    let dir = tempfile::tempdir().unwrap();
    let (store, ack) = shipped(
        &dir.path().join("outer.db"),
        vec![
            news_filing("R-NEWS", "news.example.cn"),
            owners_filing("R-OWN", "own.example.cn"),
            filing("R-PLAIN", "qingshan.example.cn"),
            provider_check("R-CHECK"),
        ],
    );
    forget_entry_states(&store);
    apply(&store, ack, Some(IMPORTED_AT));
    assert_eq!(
        shown(&store, "R-NEWS"),
        entered_at_import("awaiting_pre_approval")
    );
    assert_eq!(
        shown(&store, "R-OWN"),
        entered_at_import("awaiting_provider_check")
    );
    assert_eq!(
        shown(&store, "R-PLAIN"),
        entered_at_import("awaiting_regional_review")
    );
    assert_eq!(shown(&store, "R-CHECK"), entered_at_import("delivered"));
    assert!(receipt(&store, "R-OWN").versions[0].payload_stored);
    assert!(!receipt(&store, "R-NEWS").versions[0].payload_stored);
}

/// Everything an ack can change, read back from the store: versions, payloads, status rows
/// and history.
fn ack_visible_state(store: &Store) -> Vec<String> {
    store
        .read_blocking(|conn| {
            let mut rows = Vec::new();
            for sql in [
                "SELECT receipt || '/' || version || ' acked ' || ifnull(acknowledged_at, '-')
                        || ' ' || ifnull(ack_outcome, '-') || ' removed '
                        || ifnull(payload_removed_at, '-')
                 FROM submission_versions ORDER BY receipt, version",
                "SELECT 'payload ' || receipt || '/' || version FROM submission_payloads
                 ORDER BY receipt, version",
                "SELECT receipt || ' ' || state || ' v' || state_version || ' at ' || updated_at
                        || ' ' || ifnull(reason, '-')
                 FROM receipts ORDER BY receipt",
                "SELECT id || ' ' || receipt || '/' || version || ' ' || state || ' ' || at
                        || ' ' || ifnull(reason, '-')
                 FROM status_history ORDER BY id",
            ] {
                let mut stmt = conn.prepare(sql).unwrap();
                let found = stmt.query_map([], |row| row.get::<_, String>(0)).unwrap();
                rows.extend(found.map(Result::unwrap));
            }
            Ok(rows)
        })
        .unwrap()
}

/// When a range ack's digest does not match, its bundle's members are applied entry by entry
/// from the retained copy; an arrival ack then still shows each receipt the state it entered,
/// from the import time, as the range would have.
#[test]
fn an_arrival_ack_applied_entry_by_entry_shows_the_same_states_as_applied_as_a_range() {
    let dir = tempfile::tempdir().unwrap();
    let versions = vec![
        filing("R-PLAIN", "qingshan.example.cn"),
        news_filing("R-NEWS", "news.example.cn"),
        owners_filing("R-OWN", "own.example.cn"),
        filing("R-CONFLICT", "taken.example.cn"),
        filing("R-REFUSED", "refused.example.cn"),
        filing("R-SEEN", "seen.example.cn"),
        news_filing("R-OLD", "old.example.cn"),
        withdrawal("R-WITHDRAWAL"),
        provider_check("R-CHECK"),
    ];
    let exceptions = vec![
        exception(&versions[3], ImportOutcome::Conflict, "domain-conflict"),
        exception(&versions[4], ImportOutcome::Rejected, "receipt-unknown"),
        exception(&versions[5], ImportOutcome::AlreadyApplied, "seen-before"),
    ];
    let entries: Vec<ReceiptAck> = versions
        .iter()
        .map(|v| {
            exceptions
                .iter()
                .find(|e| e.receipt == v.receipt)
                .cloned()
                .unwrap_or(ReceiptAck {
                    receipt: v.receipt.clone(),
                    version: v.version,
                    content_hash: v.content_hash,
                    outcome: ImportOutcome::Applied,
                    reason: None,
                })
        })
        .collect();
    let stores: Vec<(Store, RangeAck)> = ["range.db", "set.db", "one-by-one.db"]
        .into_iter()
        .map(|name| {
            let (store, mut ack) = shipped(&dir.path().join(name), versions.clone());
            ack.exceptions = exceptions.clone();
            // R-OLD was stored before migration 0017.
            store
                .write_blocking(|conn| {
                    conn.execute(
                        "UPDATE submission_versions SET entry_state = NULL WHERE receipt = 'R-OLD'",
                        [],
                    )
                    .unwrap();
                    Ok(())
                })
                .unwrap();
            (store, ack)
        })
        .collect();
    let [(range, ack), (set, _), (one_by_one, _)] = <[_; 3]>::try_from(stores).ok().unwrap();
    apply(&range, ack, Some(IMPORTED_AT));
    let set_entries = entries.clone();
    let effects = set
        .write_blocking(move |conn| {
            outer::store::apply_ack_entries_on(conn, &set_entries, ACKED_AT, Some(IMPORTED_AT))
        })
        .unwrap();
    let by_entry = one_by_one
        .write_blocking(move |conn| {
            entries
                .iter()
                .map(|e| outer::store::apply_ack_entry_on(conn, e, ACKED_AT, Some(IMPORTED_AT)))
                .collect::<Result<Vec<_>, _>>()
        })
        .unwrap();
    assert_eq!(effects, by_entry);
    assert_eq!(by_entry[2], AckEffect::Kept);
    let expected = ack_visible_state(&range);
    assert_eq!(ack_visible_state(&set), expected);
    assert_eq!(ack_visible_state(&one_by_one), expected);
    for state in [
        "R-PLAIN awaiting_regional_review v1 at 1790000300 -",
        "R-NEWS awaiting_pre_approval v1 at 1790000300 -",
        "R-OWN awaiting_provider_check v1 at 1790000300 -",
        "R-CONFLICT awaiting_regional_review v1 at 1790000300 domain-conflict",
        "R-REFUSED rejected v1 at 1790000500 receipt-unknown",
        "R-SEEN delivered v1 at 1790000500 -",
        "R-OLD awaiting_pre_approval v1 at 1790000300 -",
        "R-WITHDRAWAL withdrawn v1 at 1790000300 -",
        "R-CHECK delivered v1 at 1790000300 -",
    ] {
        assert!(
            expected.contains(&state.to_owned()),
            "{state}: {expected:#?}"
        );
    }
}
