//! Channels import side by side, on a real PostgreSQL: one channel's import does not wait for
//! another's, two imports of one channel take turns, and two channels creating the same receipt
//! at the same moment cannot both own it (DESIGN.md invariant 8).

mod common;

use std::sync::mpsc;
use std::time::Duration;

use bundle_format::records::{ImportOutcome, SubmissionVersion};
use common::*;
use inner::import::{ApplyError, IncomingBundle, apply_bundle, reason};
use testkit::pg::TestDatabase;

/// How long a test waits for an import that must not be blocked before it calls it blocked.
/// Far above what one small bundle takes; reaching it fails the test.
const NOT_BLOCKED: Duration = Duration::from_secs(60);
/// How long an import that must wait is watched for not finishing.
const WAITING: Duration = Duration::from_secs(2);

/// Each version's outcome and reason, in bundle order.
type Outcomes = Vec<(ImportOutcome, Option<String>)>;

/// Bundle `sequence` of `channel` holding `submissions`.
fn bundle_on(channel: u32, sequence: u64, submissions: &[SubmissionVersion]) -> TestBundle {
    TestBundle {
        sequence,
        message: inner::testing::submissions_message(channel, 1, sequence, NOW - 60, submissions)
            .expect("test bundle message"),
        submissions: submissions.to_vec(),
    }
}

/// Applies `bundle` in a thread of its own on a connection of its own and commits; the result
/// arrives on the returned channel: the outcomes in bundle order, or the import's error.
fn apply_in_thread(
    db: &TestDatabase,
    bundle: TestBundle,
) -> mpsc::Receiver<Result<Outcomes, ApplyError>> {
    let (done, result) = mpsc::channel();
    let mut client = db.connect().expect("connect");
    std::thread::spawn(move || {
        let incoming = bundle.incoming();
        let mut tx = client.transaction().expect("begin");
        let applied = apply_bundle(&mut tx, &incoming, NOW).map(|report| {
            report
                .outcomes
                .into_iter()
                .map(|ack| (ack.outcome, ack.reason))
                .collect()
        });
        if applied.is_ok() {
            tx.commit().expect("commit");
        }
        let _ = done.send(applied);
    });
    result
}

/// Applies `incoming` in `tx` without committing: the import holds its locks and its rows stay
/// invisible until the caller commits or drops `tx`.
fn apply_open(tx: &mut postgres::Transaction<'_>, incoming: &IncomingBundle<'_>) {
    let report = apply_bundle(tx, incoming, NOW).expect("apply");
    assert!(
        report
            .outcomes
            .iter()
            .all(|ack| ack.outcome == ImportOutcome::Applied),
        "{:?}",
        report.outcomes
    );
}

fn filing(
    receipt: &str,
    subject: &str,
    certificate: &str,
    domain: &str,
    octet: u8,
) -> SubmissionVersion {
    one_site_filing(receipt, subject, certificate, "网站", &[domain], octet)
}

#[test]
fn another_channels_import_runs_while_one_channel_is_importing() {
    let db = TestDatabase::with_schema().expect("database");
    let first = bundle_on(7, 1, &[filing("R7-1", "甲公司", "C1", "a.example.cn", 1)]);
    let mut client = db.connect().expect("connect");
    let mut tx = client.transaction().expect("begin");
    apply_open(&mut tx, &first.incoming());

    // Channel 8's bundle imports and commits while channel 7's transaction is still open.
    let second = apply_in_thread(
        &db,
        bundle_on(8, 1, &[filing("R8-1", "乙公司", "C2", "b.example.cn", 2)]),
    );
    let outcomes = second
        .recv_timeout(NOT_BLOCKED)
        .expect("channel 8's import finished while channel 7's was open")
        .expect("channel 8's import applied");
    assert_eq!(outcomes, vec![(ImportOutcome::Applied, None)]);
    tx.commit().expect("commit");
    assert_eq!(count(&db, "SELECT count(*) FROM receipts"), 2);
    assert_eq!(count(&db, "SELECT count(*) FROM bundles"), 2);
}

#[test]
fn two_imports_of_one_channel_take_turns() {
    let db = TestDatabase::with_schema().expect("database");
    let mut client = db.connect().expect("connect");
    let mut tx = client.transaction().expect("begin");
    apply_open(
        &mut tx,
        &bundle_on(7, 1, &[filing("R7-1", "甲公司", "C1", "a.example.cn", 1)]).incoming(),
    );
    let next = apply_in_thread(
        &db,
        bundle_on(7, 2, &[filing("R7-2", "乙公司", "C2", "b.example.cn", 2)]),
    );
    assert!(
        matches!(
            next.recv_timeout(WAITING),
            Err(mpsc::RecvTimeoutError::Timeout)
        ),
        "the channel's second import must wait for its first"
    );
    tx.commit().expect("commit");
    let outcomes = next
        .recv_timeout(NOT_BLOCKED)
        .expect("the second import finished after the first committed")
        .expect("applied");
    assert_eq!(outcomes, vec![(ImportOutcome::Applied, None)]);
}

/// A node that learned another node's next receipt number sends it at the moment the owner's
/// bundle is being imported: the receipt's primary key makes the stranger's import wait, and
/// then fail whole; imported again, its version is refused as another channel's, and the
/// owner's filing stands as sent.
#[test]
fn a_receipt_created_by_two_channels_at_once_has_one_owner() {
    let db = TestDatabase::with_schema().expect("database");
    let owners = filing("R-SAME", "甲公司", "C1", "a.example.cn", 1);
    let strangers = filing("R-SAME", "冒名公司", "C9", "evil.example.cn", 9);
    let mut client = db.connect().expect("connect");
    let mut tx = client.transaction().expect("begin");
    apply_open(
        &mut tx,
        &bundle_on(7, 1, std::slice::from_ref(&owners)).incoming(),
    );
    let stranger = apply_in_thread(&db, bundle_on(8, 1, std::slice::from_ref(&strangers)));
    assert!(
        matches!(
            stranger.recv_timeout(WAITING),
            Err(mpsc::RecvTimeoutError::Timeout)
        ),
        "the stranger's import waits on the receipt the owner's import is storing"
    );
    tx.commit().expect("commit");
    let error = stranger
        .recv_timeout(NOT_BLOCKED)
        .expect("the stranger's import ended after the owner's committed")
        .expect_err("the stranger's import applies nothing");
    assert!(
        matches!(error, ApplyError::StoredConcurrently { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("import it again"), "{error}");
    assert_eq!(
        count(&db, "SELECT count(*) FROM bundles WHERE channel = 8"),
        0
    );

    // The stranger's next run imports the same bundle again: refused as another channel's.
    let again = apply_in_thread(&db, bundle_on(8, 1, std::slice::from_ref(&strangers)))
        .recv_timeout(NOT_BLOCKED)
        .expect("finished")
        .expect("applied");
    assert_eq!(
        again,
        vec![(
            ImportOutcome::Rejected,
            Some(reason::RECEIPT_OF_ANOTHER_CHANNEL.to_owned())
        )]
    );
    let (hash, version) = {
        let row = db
            .connect()
            .expect("connect")
            .query_one(
                "SELECT content_hash, version FROM receipts WHERE receipt = 'R-SAME'",
                &[],
            )
            .expect("the receipt");
        (row.get::<_, Vec<u8>>(0), row.get::<_, i64>(1))
    };
    assert_eq!(
        hash,
        owners.content_hash.to_vec(),
        "the owner's version stands"
    );
    assert_eq!(version, 1);
}
