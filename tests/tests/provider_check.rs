//! The access provider's check done outside, end to end (issue 15 item 3): an owner's filing
//! waits inside for the provider its access names; outside, its payload is kept after the ack
//! and the provider lists it, sees it and confirms or returns it; the decision crosses inward
//! as a submission of its own and moves the receipt on inside; its status comes back out and
//! the kept payload goes. Real stores, a real PostgreSQL, real bundles, the intake over a real
//! socket.

mod common;

use common::*;
use serde_json::{Value, json};
use tests::{Appliance, outer_versions};
use transfer::demo::http_json;

/// What awaits the check of the provider holding `token` at the first outer host.
fn awaiting(app: &Appliance, token: &str) -> Vec<Value> {
    let (status, body) = http_json(
        app.outer().node.addr,
        "GET",
        "/api/v1/provider-checks",
        Some(token),
        None,
    )
    .unwrap();
    assert_eq!(status, 200, "{body}");
    body["checks"].as_array().unwrap().clone()
}

/// Sends `decision` on the version `check` lists, as the provider holding `token`.
fn decide(
    app: &Appliance,
    token: &str,
    check: &Value,
    decision: &str,
    reason: Option<&str>,
) -> (u16, Value) {
    let mut submission = json!({"kind": "provider_check", "receipt": check["receipt"],
        "version": check["version"], "content_hash": check["content_hash"],
        "decision": decision});
    if let Some(reason) = reason {
        submission["reason"] = json!(reason);
    }
    http_json(
        app.outer().node.addr,
        "POST",
        "/api/v1/submissions",
        Some(token),
        Some(&json!({ "submission": submission })),
    )
    .unwrap()
}

fn inner_state(app: &mut Appliance, receipt: &str) -> String {
    app.inner
        .client
        .query_one("SELECT state FROM receipts WHERE receipt = $1", &[&receipt])
        .unwrap()
        .get(0)
}

fn payload_kept(app: &Appliance, receipt: &str) -> bool {
    let versions = outer_versions(&app.outer().node.database).unwrap();
    let version = versions.iter().find(|v| v.receipt == receipt).unwrap();
    assert!(version.acknowledged, "{versions:?}");
    version.payload_stored
}

/// Carries what the first outer host holds inward and imports it.
fn carry_inward(app: &mut Appliance) {
    app.outer().export().unwrap();
    assert_eq!(app.carry_in(0).unwrap(), 1);
    app.import().unwrap();
}

/// The owner's filing 1, imported inside and its arrival returned outside: awaiting the
/// provider's check on both sides, its payload kept outside.
fn awaiting_the_check(app: &mut Appliance) -> String {
    let receipt = submit_filings(app.outer(), [1]).remove(0);
    carry_inward(app);
    assert_eq!(inner_state(app, &receipt), "awaiting-provider-check");
    return_to_first_outer(app);
    let status = app.outer().node.status(&receipt).unwrap();
    assert_eq!(status["state"], "awaiting_provider_check", "{status}");
    assert!(payload_kept(app, &receipt), "kept for the provider's page");
    receipt
}

#[test]
fn a_filing_confirmed_by_its_provider_outside_moves_on_inside_and_its_kept_payload_goes() {
    let mut app = Appliance::new(&[1]).unwrap();
    let receipt = awaiting_the_check(&mut app);
    let provider = app.outer().node.provider_token.clone();
    let listed = awaiting(&app, &provider);
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["receipt"], receipt.as_str());

    let (status, body) = decide(&app, &provider, &listed[0], "confirm", None);
    assert_eq!(status, 201, "{body}");
    let check_receipt = body["receipt"].as_str().unwrap().to_owned();
    assert_ne!(check_receipt, receipt);
    carry_inward(&mut app);
    assert_eq!(inner_state(&mut app, &receipt), "awaiting-regional-review");
    let reviewer: String = app
        .inner
        .client
        .query_one(
            "SELECT reviewer FROM review_events WHERE receipt = $1 ORDER BY event_id DESC LIMIT 1",
            &[&receipt],
        )
        .unwrap()
        .get(0);
    assert_eq!(reviewer, "provider:provider_1");

    return_to_first_outer(&mut app);
    let status = app.outer().node.status(&receipt).unwrap();
    assert_eq!(status["state"], "awaiting_regional_review", "{status}");
    assert!(
        !payload_kept(&app, &receipt),
        "the check is past: the payload goes"
    );
    assert!(awaiting(&app, &provider).is_empty());
    let check = app.outer().node.status(&check_receipt).unwrap();
    assert_eq!(check["state"], "delivered", "{check}");

    // The regional review approves it as ever.
    assert_eq!(app.approve_all().unwrap().len(), 1);
    return_to_first_outer(&mut app);
    let status = app.outer().node.status(&receipt).unwrap();
    assert_eq!(status["state"], "approved", "{status}");
}

#[test]
fn a_provider_return_reaches_the_owner_with_its_reason_and_another_provider_cannot_check() {
    let mut app = Appliance::new(&[1]).unwrap();
    let receipt = awaiting_the_check(&mut app);
    let provider = app.outer().node.provider_token.clone();
    let listed = awaiting(&app, &provider).remove(0);

    // An access provider the filing does not name sees nothing and is refused.
    let store = outer::store::Store::open(&app.outer().node.database).unwrap();
    store
        .add_account("provider_2", outer::store::AccountKind::AccessProvider)
        .unwrap();
    let stranger = store.issue_token("provider_2", "test").unwrap().secret;
    assert!(awaiting(&app, &stranger).is_empty());
    let (status, body) = decide(&app, &stranger, &listed, "confirm", None);
    assert_eq!(status, 422, "{body}");
    assert!(
        body.to_string().contains("provider_check.not_named"),
        "{body}"
    );

    let reason = "203.0.113.7 不是本公司分配的地址";
    let (status, body) = decide(&app, &provider, &listed, "return", Some(reason));
    assert_eq!(status, 201, "{body}");
    carry_inward(&mut app);
    assert_eq!(inner_state(&mut app, &receipt), "returned-to-submitter");
    return_to_first_outer(&mut app);
    let status = app.outer().node.status(&receipt).unwrap();
    assert_eq!(status["state"], "returned_to_submitter", "{status}");
    assert_eq!(status["reason"], reason, "{status}");
    assert!(!payload_kept(&app, &receipt));
}
