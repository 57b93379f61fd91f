//! The approved record end to end (issue 15 item 3): approval inside sends the filing as
//! approved back on the return channel; outside, after the submission's payload was deleted,
//! its owner and the access provider recorded for it read it, and another owner and an
//! unrelated provider cannot; a change the owner's client makes from it is imported inside as
//! a change of that filing number and, approved, comes back as the newer record; the approved
//! cancellation withdraws it. Real stores, a real PostgreSQL, real bundles, the intake over a
//! real socket.

mod common;

use bundle_format::records::Record;
use common::*;
use serde_json::{Value, json};
use tests::{Appliance, outer_versions};
use transfer::demo::http_json;

fn record_path(number: &str) -> String {
    let encoded: String = number
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'-' {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("/api/v1/filings/{encoded}/record")
}

/// A token of a new account `name` of `kind` at the first outer host.
fn token_of(app: &Appliance, name: &str, kind: outer::store::AccountKind) -> String {
    let store = outer::store::Store::open(&app.outer().node.database).unwrap();
    store.add_account(name, kind).unwrap();
    store.issue_token(name, "test").unwrap().secret
}

fn get_record(app: &Appliance, token: &str, number: &str) -> (u16, Value) {
    http_json(
        app.outer().node.addr,
        "GET",
        &record_path(number),
        Some(token),
        None,
    )
    .unwrap()
}

/// The receipt of `request` sent to the first outer host with `token`.
fn submitted_by(app: &Appliance, token: &str, request: &Value) -> String {
    let (status, body) = http_json(
        app.outer().node.addr,
        "POST",
        "/api/v1/submissions",
        Some(token),
        Some(request),
    )
    .unwrap();
    assert_eq!(status, 201, "{body}");
    body["receipt"].as_str().unwrap().to_owned()
}

/// The change of the first website of the approved `record` of filing `number` that adds the
/// `m.` domain of its first domain: the website as changed, and the submission.
fn website_change_adding_m(record: &Value, number: &str) -> (Value, Value) {
    let mut website = record["websites"][0]["website"].clone();
    let added = format!("m.{}", website["domains"][0].as_str().unwrap());
    website["domains"]
        .as_array_mut()
        .unwrap()
        .push(json!(added));
    let submission = json!({"kind": "change", "filing_number": number,
        "change": {"what": "website", "website_number": format!("{number}-1"),
                   "website": website}});
    (website, submission)
}

#[test]
fn an_approved_record_crosses_back_is_read_by_its_owner_after_the_payload_is_gone_and_a_change_starts_from_it()
 {
    let mut app = Appliance::new(&[1]).unwrap();
    let receipt = imported_and_approved(&mut app, 1..=1).remove(0);
    let number: String = app
        .inner
        .client
        .query_one(
            "SELECT filing_number FROM filings WHERE origin_receipt = $1",
            &[&receipt],
        )
        .unwrap()
        .get(0);
    let returned = app.inner.write_return().unwrap();
    assert_eq!(returned.approved_records, 1, "{returned:?}");
    app.carry_out().unwrap();
    let applied = app.apply(0).unwrap();
    assert_eq!(applied.files[0].approved_records, 1, "{:?}", applied.files);

    // The submission's payload is gone outside; the record stays readable.
    let versions = outer_versions(&app.outer().node.database).unwrap();
    let filed = versions.iter().find(|v| v.receipt == receipt).unwrap();
    assert!(filed.acknowledged && !filed.payload_stored, "{versions:?}");
    let owner = app.outer().node.owner_token.clone();
    let (status, record) = get_record(&app, &owner, &number);
    assert_eq!(status, 200, "{record}");
    assert_eq!(record["filing_number"], number);
    assert_eq!(record["may_change"], true);
    let filed = transfer::demo::new_filing(1, "企业展示网站");
    let filed = &filed["submission"]["filing"];
    assert_eq!(record["subject"], filed["subject"], "the subject as filed");
    assert_eq!(
        record["websites"][0]["website_number"],
        format!("{number}-1")
    );
    assert_eq!(
        record["websites"][0]["website"]["domains"],
        filed["websites"][0]["domains"]
    );

    // The access provider the filing names reads it; nobody else does.
    let (status, seen) = get_record(&app, &app.outer().node.provider_token.clone(), &number);
    assert_eq!(status, 200, "{seen}");
    assert_eq!(seen["may_change"], false);
    for (name, kind) in [
        ("owner_b", outer::store::AccountKind::WebsiteOwner),
        ("provider_2", outer::store::AccountKind::AccessProvider),
    ] {
        let token = token_of(&app, name, kind);
        let (status, body) = get_record(&app, &token, &number);
        assert_eq!(status, 404, "{name}: {body}");
        assert!(!body.to_string().contains("website"), "{name}: {body}");
    }

    // The owner's client changes the website from the record: one domain added.
    let (website, submission) = website_change_adding_m(&record, &number);
    let change = json!({ "submission": submission });
    let change_receipt = app.outer().node.submit(&change).unwrap();
    app.outer().export().unwrap();
    assert_eq!(app.carry_in(0).unwrap(), 1);
    app.import().unwrap();
    let row = app
        .inner
        .client
        .query_one(
            "SELECT r.kind, f.filing_number FROM receipts r JOIN filings f USING (filing_id)
             WHERE r.receipt = $1",
            &[&change_receipt],
        )
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "change-website");
    assert_eq!(
        row.get::<_, String>(1),
        number,
        "a change of that filing number"
    );
    assert_eq!(app.approve_all().unwrap(), vec![number.clone()]);
    let queued = inner::returns::pending_returns(&mut app.inner.client, 1000).unwrap();
    assert!(queued.entries.iter().any(|e| matches!(
        &e.record,
        Record::ApprovedRecord(r) if r.origin_receipt == receipt
    )));
    return_to_first_outer(&mut app);
    let (status, changed) = get_record(&app, &owner, &number);
    assert_eq!(status, 200, "{changed}");
    assert_eq!(
        changed["websites"][0]["website"], website,
        "the record as changed"
    );

    // The owner cancels the filing; its approval withdraws the record outside.
    let cancel = json!({"submission": {"kind": "cancellation", "filing_number": number,
        "scope": "subject", "reason": "公司注销"}});
    app.outer().node.submit(&cancel).unwrap();
    app.outer().export().unwrap();
    app.carry_in(0).unwrap();
    app.import().unwrap();
    app.approve_all().unwrap();
    let applied = return_to_first_outer(&mut app);
    assert_eq!(applied.files[0].approved_records, 1, "{:?}", applied.files);
    let (status, body) = get_record(&app, &owner, &number);
    assert_eq!(status, 404, "withdrawn: {body}");
}

#[test]
fn another_channels_approved_record_is_not_stored_at_this_node() {
    let mut app = Appliance::new(&[1, 2]).unwrap();
    let receipt = submit_and_export(&app.outers[1], [7]).remove(0);
    app.carry_in(1).unwrap();
    app.import().unwrap();
    let number = app.approve_all().unwrap().remove(0);
    app.inner.write_return().unwrap();
    app.carry_out().unwrap();
    let applied = app.apply(0).unwrap();
    assert!(
        applied.files.iter().all(|f| f.approved_records == 0),
        "{:?}",
        applied.files
    );
    let (status, _) = get_record(&app, &app.outer().node.owner_token.clone(), &number);
    assert_eq!(status, 404, "{receipt}");
    let applied = app.apply(1).unwrap();
    assert!(
        applied.files.iter().any(|f| f.approved_records == 1),
        "{:?}",
        applied.files
    );
}

#[test]
fn a_filing_an_access_provider_sent_for_a_customer_comes_back_to_that_provider_who_may_change_it() {
    let mut app = Appliance::new(&[1]).unwrap();
    let provider = app.outer().node.provider_token.clone();
    let mut filing = transfer::demo::new_filing(1, "企业展示网站");
    filing["on_behalf_of"] = json!("customer_9");
    let receipt = submitted_by(&app, &provider, &filing);
    app.outer().export().unwrap();
    assert_eq!(app.carry_in(0).unwrap(), 1);
    app.import().unwrap();
    let numbers = app.approve_all().unwrap();
    assert_eq!(numbers.len(), 1, "{numbers:?}");
    let number = numbers[0].clone();
    let applied = return_to_first_outer(&mut app);
    assert_eq!(
        applied.files[0].approved_records, 1,
        "the record of the provider's filing is stored at its node: {:?}",
        applied.files
    );

    // The provider filed it, so the provider reads it and may change it; the owner account of
    // this node, which did not file it, does not read it.
    let (status, record) = get_record(&app, &provider, &number);
    assert_eq!(status, 200, "{record}");
    assert_eq!(record["may_change"], true, "{record}");
    let owner = app.outer().node.owner_token.clone();
    let (status, body) = get_record(&app, &owner, &number);
    assert_eq!(status, 404, "{body}");

    // A change the provider sends from it is imported as a change of that filing number.
    let (_, submission) = website_change_adding_m(&record, &number);
    let change = json!({"on_behalf_of": "customer_9", "submission": submission});
    let change_receipt = submitted_by(&app, &provider, &change);
    app.outer().export().unwrap();
    assert_eq!(app.carry_in(0).unwrap(), 1);
    let imported = app.import().unwrap();
    let row = app
        .inner
        .client
        .query_one(
            "SELECT r.kind, r.state FROM receipts r WHERE r.receipt = $1",
            &[&change_receipt],
        )
        .unwrap_or_else(|e| panic!("{e}: {imported:?}"));
    assert_eq!(row.get::<_, String>(0), "change-website");
    assert_ne!(row.get::<_, String>(1), "rejected", "{imported:?}");
    assert_ne!(receipt, change_receipt);
}
