//! The filing password inside, on a real PostgreSQL: the first approval issues it with the
//! certificate and keeps only a salted hash; an approved change and a re-issued certificate
//! keep it (one password per filing, as the manuals' system keeps it); a filing approved before
//! passwords existed gets one with its next certificate; once a return bundle carries it the
//! queue no longer holds it.

mod common;

use bundle_format::records::{FilingPassword, Record};
use common::*;
use inner::review;
use testkit::pg::TestDatabase;

/// The filing passwords waiting in the return queue.
fn queued_passwords(client: &mut postgres::Client) -> Vec<(i64, FilingPassword)> {
    inner::returns::pending_returns(client, 10_000)
        .unwrap()
        .entries
        .into_iter()
        .filter_map(|e| match e.record {
            Record::FilingPassword(password) => Some((e.entry_id, password)),
            _ => None,
        })
        .collect()
}

fn stored_hash(client: &mut postgres::Client) -> Vec<(Vec<u8>, Vec<u8>)> {
    client
        .query("SELECT salt, hash FROM filing_passwords", &[])
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect()
}

/// A filing imported as receipt `R1` and approved: a client and its filing number.
fn approved_filing(db: &TestDatabase, key: &keys::SecretKey) -> (postgres::Client, String) {
    apply_at(db, 1, &[beijing_jia_filing(&["jia.example.cn"])]);
    let mut client = db.connect().unwrap();
    let mut tx = client.transaction().unwrap();
    let approved = review::approve(&mut tx, "R1", &ministry(db), None, key, NOW).unwrap();
    tx.commit().unwrap();
    (client, approved.filing_number.unwrap())
}

#[test]
fn a_filing_keeps_one_password_through_changes_and_reissues() {
    let db = TestDatabase::with_schema().expect("db");
    let key = signer();
    let (mut client, number) = approved_filing(&db, &key);

    let queued = queued_passwords(&mut client);
    assert_eq!(queued.len(), 1);
    let (entry_id, issued) = &queued[0];
    assert_eq!(issued.filing_number, number);
    assert_eq!(issued.receipt, "R1");
    let typed = filing::password::FilingPassword::parse(&issued.password).unwrap();
    assert_eq!(
        typed.display(),
        issued.password,
        "issued in its display form"
    );
    // Only the salted hash is stored, and it is the hash of what went out.
    let hash = stored_hash(&mut client);
    assert_eq!(hash.len(), 1);
    assert!(inner::filing_passwords::matches(&mut client, &number, &issued.password).unwrap());
    assert!(
        !inner::filing_passwords::matches(&mut client, &number, "0000-0000-0000-0000").unwrap()
    );
    assert!(
        !inner::filing_passwords::matches(&mut client, "京ICP备2099000001号", &issued.password)
            .unwrap()
    );

    // Sent: the queue keeps the entry without the password.
    let mut tx = client.transaction().unwrap();
    inner::returns::mark_sent(&mut tx, &[*entry_id], [9; 32], NOW).unwrap();
    tx.commit().unwrap();
    let held: Vec<u8> = client
        .query_one(
            "SELECT record FROM return_queue WHERE entry_id = $1",
            &[entry_id],
        )
        .unwrap()
        .get(0);
    let (record, _): (Record, usize) =
        bincode::decode_from_slice(&held, bundle_format::records::wire_config()).unwrap();
    let Record::FilingPassword(blanked) = record else {
        panic!("{record:?}")
    };
    assert_eq!(blanked.password, "");
    assert_eq!(blanked.filing_number, number);

    // An approved change re-issues the certificate and keeps the password.
    apply_at(&db, 2, &[shop_added(&number)]);
    let mut tx = client.transaction().unwrap();
    review::approve(&mut tx, "R2", &ministry(&db), None, &key, NOW + 86_400).unwrap();
    tx.commit().unwrap();
    let mut tx = client.transaction().unwrap();
    inner::certificates::reissue(&mut tx, &number, &key, NOW + 2 * 86_400).unwrap();
    tx.commit().unwrap();
    assert_eq!(
        inner::certificates::history(&mut client, &number)
            .unwrap()
            .len(),
        3
    );
    assert!(
        queued_passwords(&mut client).is_empty(),
        "no second password"
    );
    assert_eq!(stored_hash(&mut client), hash);
    assert!(inner::filing_passwords::matches(&mut client, &number, &issued.password).unwrap());
}

#[test]
fn a_filing_approved_before_passwords_existed_gets_one_with_its_next_certificate() {
    let db = TestDatabase::with_schema().expect("db");
    let key = signer();
    let (mut client, number) = approved_filing(&db, &key);
    // As a store from before migration 15 would be: no password.
    client
        .batch_execute(
            "DELETE FROM filing_passwords;
             DELETE FROM return_queue WHERE kind = 'filing-password';",
        )
        .unwrap();
    let mut tx = client.transaction().unwrap();
    inner::certificates::reissue(&mut tx, &number, &key, NOW + 60).unwrap();
    tx.commit().unwrap();
    let queued = queued_passwords(&mut client);
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].1.receipt, "R1");
    assert!(inner::filing_passwords::matches(&mut client, &number, &queued[0].1.password).unwrap());
}
