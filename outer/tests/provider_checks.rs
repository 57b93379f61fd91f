//! The access provider's check (待接入商核验) done outside, through the intake's real router and
//! a real SQLite store: an owner's new filing naming `provider_1` as its access provider keeps
//! its payload after the inner side acknowledges it; once the inner side reports it awaiting
//! the provider's check, `provider_1` finds it in `GET /api/v1/provider-checks` and on its page
//! and sends its decision as a `provider_check` submission, which gets its own receipt; nobody
//! else may check it, nor may a version the owner changed since be checked; and the kept
//! payload goes once the receipt moves on.

mod common;
mod web;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use bundle_format::records::{
    ImportOutcome, ProviderDecision, ReceiptAck, ReviewState, StatusChange, Submission,
};
use common::{App, app, submit};
use keys::ChannelId;
use outer::store::{AccountKind, Store, apply_range_ack_on};
use serde_json::{Value, json};
use web::{Browser, account_that_logs_in, site};

const DOMAIN: &str = "qingshan-check.example.cn";

/// Every version waiting for export goes out as bundle `sequence` of channel 1 and is
/// acknowledged as applied inside, as `sluice-transfer` export and apply do.
async fn ship_inward(store: &Store, sequence: u8) {
    ship_inward_with(store, sequence, Vec::new()).await;
}

/// [`ship_inward`], with the ack's `exceptions`.
async fn ship_inward_with(store: &Store, sequence: u8, exceptions: Vec<ReceiptAck>) {
    let pending = store
        .read(|conn| outer::store::pending_versions(conn, 100))
        .await
        .unwrap();
    assert!(!pending.is_empty(), "nothing to ship");
    let range = outer::store::range_of(&pending).unwrap();
    let bundle_id = [sequence; 32];
    let exported = store
        .record_export(
            ChannelId(1),
            u64::from(sequence),
            bundle_id,
            100,
            1_790_000_000,
        )
        .await
        .unwrap();
    assert_eq!(exported, pending.len());
    let ack = range.ack(bundle_id, 1, u64::from(sequence), exceptions);
    let effect = store
        .write(move |conn| apply_range_ack_on(conn, &ack, 1_790_000_100, None))
        .await
        .unwrap();
    assert!(
        matches!(effect, outer::store::RangeAckEffect::Applied { .. }),
        "{effect:?}"
    );
}

/// The inner side's review event `event` on `receipt` version `version`, as a return bundle
/// carries it.
async fn reviewed(store: &Store, receipt: &str, version: u32, state: ReviewState, event: u64) {
    let change = StatusChange {
        event_id: event,
        receipt: receipt.to_owned(),
        version,
        state,
        at: 1_790_000_200 + i64::try_from(event).unwrap(),
        reason: None,
        filing_number: None,
    };
    assert!(store.apply_status_change(change).await.unwrap());
}

async fn send(
    app: &App,
    method: &str,
    path: &str,
    token: &str,
    body: Option<&Value>,
) -> (StatusCode, Value) {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
        .unwrap();
    let (status, bytes, _) = app.raw(request).await;
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// The owner's new filing of [`DOMAIN`] (naming `provider_1`), delivered inside and awaiting
/// the provider's check there. Returns its receipt and content hash (hex).
async fn awaiting_check(app: &App) -> (String, String) {
    let (status, body) = submit(app, &app.tokens.owner, &testkit::api::new_filing(DOMAIN)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let receipt = body["receipt"].as_str().unwrap().to_owned();
    let hash = delivered_to_the_check(&app.store, &receipt).await;
    assert_eq!(
        hash,
        content_hash(app, &receipt, 1).await,
        "as its owner reads it"
    );
    (receipt, hash)
}

/// Ships version 1 of `receipt` (the store's first bundle) inward and applies the status
/// change of its arrival at the provider's check; returns its content hash (hex).
async fn delivered_to_the_check(store: &Store, receipt: &str) -> String {
    ship_inward(store, 1).await;
    reviewed(store, receipt, 1, ReviewState::AwaitingProviderCheck, 1).await;
    hex::encode(store.receipt(receipt).await.unwrap().unwrap().versions[0].content_hash)
}

/// `receipt` as its owner reads it through the API.
async fn owner_reads(app: &App, receipt: &str) -> (StatusCode, Value) {
    let path = format!("/api/v1/submissions/{receipt}");
    send(app, "GET", &path, &app.tokens.owner, None).await
}

/// The owner's edit of `receipt` through the API: `filing` as its next version.
async fn owner_edits(app: &App, receipt: &str, filing: &Value) -> (StatusCode, Value) {
    let path = format!("/api/v1/submissions/{receipt}");
    send(app, "PUT", &path, &app.tokens.owner, Some(filing)).await
}

/// The content hash of `receipt` version `version`, as its owner reads it.
async fn content_hash(app: &App, receipt: &str, version: u32) -> String {
    let (status, view) = owner_reads(app, receipt).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    view["versions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["version"] == version)
        .unwrap()["content_hash"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn check(receipt: &str, version: u32, hash: &str, decision: &str, reason: Option<&str>) -> Value {
    let mut body = json!({"submission": {"kind": "provider_check", "receipt": receipt,
        "version": version, "content_hash": hash, "decision": decision}});
    if let Some(reason) = reason {
        body["submission"]["reason"] = json!(reason);
    }
    body
}

/// Submits `request` as the account of `token` and expects it refused (422) with exactly the
/// problem `code`; returns the answer.
async fn refused(app: &App, token: &str, request: &Value, code: &str) -> Value {
    let (status, answer) = submit(app, token, request).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(codes(&answer), [code]);
    answer
}

/// What awaits the check of the provider account of `token`, as the API lists it.
async fn awaiting_of(app: &App, token: &str) -> Value {
    let (_, list) = send(app, "GET", "/api/v1/provider-checks", token, None).await;
    list
}

/// The codes of a 422 answer's problems.
fn codes(body: &Value) -> Vec<String> {
    body["problems"]
        .as_array()
        .unwrap_or_else(|| panic!("no problems in {body}"))
        .iter()
        .map(|p| p["code"].as_str().unwrap().to_owned())
        .collect()
}

async fn receipt_count(store: &Store) -> i64 {
    store
        .read(|conn| {
            Ok(conn
                .query_row("SELECT count(*) FROM receipts", [], |r| r.get(0))
                .unwrap())
        })
        .await
        .unwrap()
}

/// A second access provider, with a token.
async fn provider_2(store: &Store) -> String {
    let store = store.clone();
    tokio::task::spawn_blocking(move || {
        store
            .add_account("provider_2", AccountKind::AccessProvider)
            .unwrap();
        store.issue_token("provider_2", "test").unwrap().secret
    })
    .await
    .unwrap()
}

/// Whether `receipt` version `version` still has its payload here, as its owner's API says.
async fn payload_stored(app: &App, receipt: &str, version: u32) -> bool {
    let (_, view) = owner_reads(app, receipt).await;
    view["versions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["version"] == version)
        .unwrap()["payload_stored"]
        .as_bool()
        .unwrap()
}

/// What `sluice-transfer reconcile` would report as payloads gone without an ack.
async fn payloads_lost(store: &Store) -> Vec<outer::store::reconcile::LostPayload> {
    store
        .read(outer::store::reconcile::payloads_lost_on)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_named_provider_lists_the_filing_and_confirms_it_with_a_receipt_of_its_own() {
    let app = app();
    let (receipt, hash) = awaiting_check(&app).await;

    let (status, list) = send(
        &app,
        "GET",
        "/api/v1/provider-checks",
        &app.tokens.provider,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let checks = list["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 1, "{list}");
    let listed = &checks[0];
    assert_eq!(listed["receipt"], receipt.as_str());
    assert_eq!(listed["version"], 1);
    assert_eq!(listed["content_hash"], hash.as_str());
    assert_eq!(listed["submitter"], "owner");
    assert!(listed["submitted_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(listed["submission"]["kind"], "new_filing");
    assert_eq!(
        listed["submission"]["filing"]["websites"][0]["domains"][0],
        DOMAIN
    );
    assert!(listed.get("check_sent").is_none(), "{listed}");

    let (status, answer) = submit(
        &app,
        &app.tokens.provider,
        &check(&receipt, 1, &hash, "confirm", None),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let check_receipt = answer["receipt"].as_str().unwrap().to_owned();
    assert_ne!(check_receipt, receipt);

    // The check is the provider's own receipt, naming the exact version it checked.
    let stored = app.store.receipt(&check_receipt).await.unwrap().unwrap();
    assert_eq!(stored.status.kind, "provider_check");
    let version = stored.latest.unwrap();
    assert_eq!(version.submitter, "provider_1");
    assert_eq!(version.access_provider.as_deref(), Some("provider_1"));
    let Submission::ProviderCheck {
        receipt: checked,
        version: checked_version,
        content_hash,
        decision,
    } = version.body
    else {
        panic!("not a provider check: {:?}", version.body)
    };
    assert_eq!(
        (checked.as_str(), checked_version, hex::encode(content_hash)),
        (receipt.as_str(), 1, hash.clone())
    );
    assert_eq!(decision, ProviderDecision::Confirm);
    // It goes inward like any submission.
    let pending = app
        .store
        .read(|conn| outer::store::pending_versions(conn, 10))
        .await
        .unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].receipt, check_receipt);

    // The list says it was sent, and a second check of the same version is refused.
    let list = awaiting_of(&app, &app.tokens.provider).await;
    assert_eq!(list["checks"][0]["check_sent"], check_receipt.as_str());
    let before = receipt_count(&app.store).await;
    let answer = refused(
        &app,
        &app.tokens.provider,
        &check(&receipt, 1, &hash, "return", Some("IP 地址不是本公司的")),
        "provider_check.already_sent",
    )
    .await;
    assert!(answer.to_string().contains(&check_receipt), "{answer}");
    assert_eq!(receipt_count(&app.store).await, before);

    // A check is never withdrawn,
    refused(&app, &app.tokens.provider, &json!({"submission": {"kind": "withdrawal", "receipt": check_receipt, "reason": "按错了"}}), "withdrawal.provider_check").await;
    // nor edited.
    let (status, answer) = send(
        &app,
        "PUT",
        &format!("/api/v1/submissions/{check_receipt}"),
        &app.tokens.provider,
        Some(&check(&receipt, 1, &hash, "return", Some("改主意了"))),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(codes(&answer), ["provider_check.not_editable"]);
}

#[tokio::test]
async fn a_return_needs_a_reason_and_carries_it_inward() {
    let app = app();
    let (receipt, hash) = awaiting_check(&app).await;
    let (status, answer) = submit(
        &app,
        &app.tokens.provider,
        &check(&receipt, 1, &hash, "return", None),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert!(answer.to_string().contains("submission.reason"), "{answer}");
    let (status, answer) = submit(
        &app,
        &app.tokens.provider,
        &check(&receipt, 1, &hash, "return", Some("服务器不在本公司机房")),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let stored = app
        .store
        .receipt(answer["receipt"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    let Some(Submission::ProviderCheck { decision, .. }) = stored.latest.map(|v| v.body) else {
        panic!("not a provider check")
    };
    assert_eq!(
        decision,
        ProviderDecision::Return {
            reason: "服务器不在本公司机房".into()
        }
    );
}

#[tokio::test]
async fn a_provider_not_named_by_the_filing_cannot_check_it() {
    let app = app();
    let (receipt, hash) = awaiting_check(&app).await;
    let other = provider_2(&app.store).await;

    let (status, list) = send(&app, "GET", "/api/v1/provider-checks", &other, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        list["checks"],
        json!([]),
        "another provider is shown nothing"
    );

    let before = receipt_count(&app.store).await;
    for decision in ["confirm", "return"] {
        let reason = (decision == "return").then_some("不是我们的客户");
        let answer = refused(
            &app,
            &other,
            &check(&receipt, 1, &hash, decision, reason),
            "provider_check.not_named",
        )
        .await;
        assert!(answer.to_string().contains(&receipt), "{answer}");
    }
    // Nor as a customer's agent.
    let mut for_customer = check(&receipt, 1, &hash, "confirm", None);
    for_customer["on_behalf_of"] = json!("owner");
    refused(
        &app,
        &app.tokens.provider,
        &for_customer,
        "provider_check.on_behalf_of",
    )
    .await;
    assert_eq!(receipt_count(&app.store).await, before, "nothing stored");
}

#[tokio::test]
async fn an_owner_cannot_check_their_own_filing() {
    let app = app();
    let (receipt, hash) = awaiting_check(&app).await;
    let before = receipt_count(&app.store).await;
    for token in [&app.tokens.owner, &app.tokens.other_owner] {
        refused(
            &app,
            token,
            &check(&receipt, 1, &hash, "confirm", None),
            "provider_check.not_a_provider",
        )
        .await;
        let (status, _) = send(&app, "GET", "/api/v1/provider-checks", token, None).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    assert_eq!(receipt_count(&app.store).await, before, "nothing stored");
    assert_eq!(
        app.store
            .receipt(&receipt)
            .await
            .unwrap()
            .unwrap()
            .status
            .state
            .as_str(),
        "awaiting_provider_check"
    );
}

#[tokio::test]
async fn a_check_of_a_version_the_owner_changed_since_is_refused() {
    let app = app();
    let (receipt, hash) = awaiting_check(&app).await;
    // The owner edits the filing: another IP address, as version 2.
    let mut edited = testkit::api::new_filing(DOMAIN);
    edited["submission"]["filing"]["websites"][0]["access"]["ip_ranges"] = json!(["202.96.128.87"]);
    let (status, answer) = owner_edits(&app, &receipt, &edited).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["version"], 2);
    let new_hash = content_hash(&app, &receipt, 2).await;

    let before = receipt_count(&app.store).await;
    for (version, hash) in [
        (1, hash.as_str()),
        (2, hash.as_str()),
        (1, new_hash.as_str()),
    ] {
        let (status, answer) = submit(
            &app,
            &app.tokens.provider,
            &check(&receipt, version, hash, "confirm", None),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
        assert_eq!(
            codes(&answer),
            ["provider_check.other_version"],
            "{version}"
        );
    }
    // Version 2 is not awaiting a check yet (it has not even gone inward).
    refused(
        &app,
        &app.tokens.provider,
        &check(&receipt, 2, &new_hash, "confirm", None),
        "provider_check.not_awaiting",
    )
    .await;
    assert_eq!(receipt_count(&app.store).await, before, "nothing stored");
    let list = awaiting_of(&app, &app.tokens.provider).await;
    assert_eq!(
        list["checks"],
        json!([]),
        "nothing awaits a check while version 2 is on its way"
    );

    // Once version 2 awaits the check inside, it is the one listed and checked.
    ship_inward(&app.store, 2).await;
    reviewed(
        &app.store,
        &receipt,
        2,
        ReviewState::AwaitingProviderCheck,
        2,
    )
    .await;
    let list = awaiting_of(&app, &app.tokens.provider).await;
    assert_eq!(list["checks"][0]["version"], 2);
    assert_eq!(list["checks"][0]["content_hash"], new_hash.as_str());
    // Its content hash in capitals names the same version.
    let (status, answer) = submit(
        &app,
        &app.tokens.provider,
        &check(&receipt, 2, &new_hash.to_uppercase(), "confirm", None),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
}

#[tokio::test]
async fn a_check_of_a_receipt_not_awaiting_it_or_unknown_is_refused() {
    let app = app();
    let (status, body) = submit(&app, &app.tokens.owner, &testkit::api::new_filing(DOMAIN)).await;
    assert_eq!(status, StatusCode::CREATED);
    let receipt = body["receipt"].as_str().unwrap().to_owned();
    let hash = content_hash(&app, &receipt, 1).await;
    // Received here, not yet inside.
    let answer = refused(
        &app,
        &app.tokens.provider,
        &check(&receipt, 1, &hash, "confirm", None),
        "provider_check.not_awaiting",
    )
    .await;
    assert!(answer.to_string().contains("received"), "{answer}");
    // Delivered, then past the check (the reviewer inside did it).
    ship_inward(&app.store, 1).await;
    reviewed(
        &app.store,
        &receipt,
        1,
        ReviewState::AwaitingRegionalReview,
        1,
    )
    .await;
    refused(
        &app,
        &app.tokens.provider,
        &check(&receipt, 1, &hash, "confirm", None),
        "provider_check.not_awaiting",
    )
    .await;

    refused(
        &app,
        &app.tokens.provider,
        &check("R20261207-ZZZZZZZZ", 1, &hash, "confirm", None),
        "provider_check.unknown_receipt",
    )
    .await;
}

#[tokio::test]
async fn a_kept_payload_survives_the_ack_and_goes_when_the_status_change_moves_the_receipt_on() {
    let app = app();
    let (status, body) = submit(&app, &app.tokens.owner, &testkit::api::new_filing(DOMAIN)).await;
    assert_eq!(status, StatusCode::CREATED);
    let receipt = body["receipt"].as_str().unwrap().to_owned();
    // A filing its access provider sent for a customer needs no check: its payload goes on
    // its ack as before.
    let mut for_customer = testkit::api::new_filing_for("customer-site.example.cn", 2);
    for_customer["on_behalf_of"] = json!("customer_a");
    let (status, body) = submit(&app, &app.tokens.provider, &for_customer).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let by_provider = body["receipt"].as_str().unwrap().to_owned();

    ship_inward(&app.store, 1).await;
    let (_, view) = owner_reads(&app, &receipt).await;
    assert_eq!(view["state"], "delivered");
    assert_eq!(view["versions"][0]["acknowledged"], true);
    assert!(
        payload_stored(&app, &receipt, 1).await,
        "kept after the ack"
    );
    let stored = app.store.receipt(&by_provider).await.unwrap().unwrap();
    assert!(!stored.versions[0].payload_stored, "removed on its ack");
    let lost = payloads_lost(&app.store).await;
    assert!(lost.is_empty(), "a kept payload is no fault: {lost:?}");

    reviewed(
        &app.store,
        &receipt,
        1,
        ReviewState::AwaitingProviderCheck,
        1,
    )
    .await;
    assert!(
        payload_stored(&app, &receipt, 1).await,
        "kept while awaiting the check"
    );

    // The provider confirmed (inside, or from here): the receipt moves on and the payload goes.
    reviewed(
        &app.store,
        &receipt,
        1,
        ReviewState::AwaitingRegionalReview,
        2,
    )
    .await;
    assert!(
        !payload_stored(&app, &receipt, 1).await,
        "gone once past the check"
    );
    let lost = payloads_lost(&app.store).await;
    assert!(lost.is_empty(), "it went after its ack: {lost:?}");
    let list = awaiting_of(&app, &app.tokens.provider).await;
    assert_eq!(list["checks"], json!([]));
    // The owner still sees the status, as before.
    let (status, view) = send(
        &app,
        "GET",
        &format!("/api/v1/submissions/{receipt}/status"),
        &app.tokens.owner,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(view["state"], "awaiting_regional_review");
}

#[tokio::test]
async fn a_kept_payload_goes_when_a_newer_version_is_stored_and_a_refused_one_stays() {
    let app = app();
    let (receipt, _) = awaiting_check(&app).await;
    let mut edited = testkit::api::new_filing(DOMAIN);
    edited["submission"]["filing"]["websites"][0]["name"] = json!("青山科技官网");
    let (status, _) = owner_edits(&app, &receipt, &edited).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        !payload_stored(&app, &receipt, 1).await,
        "version 2 takes its place: the provider is shown only the latest version"
    );
    ship_inward(&app.store, 2).await;
    assert!(
        payload_stored(&app, &receipt, 2).await,
        "version 2 is kept in turn"
    );

    // The inner side refuses version 3 at import: it keeps its payload, as every refused
    // version does; version 2's went when version 3 was stored.
    let (status, _) = owner_edits(&app, &receipt, &testkit::api::new_filing(DOMAIN)).await;
    assert_eq!(status, StatusCode::OK);
    let hash = content_hash(&app, &receipt, 3).await;
    let mut content_hash = [0u8; 32];
    hex::decode_to_slice(&hash, &mut content_hash).unwrap();
    ship_inward_with(
        &app.store,
        3,
        vec![ReceiptAck {
            receipt: receipt.clone(),
            version: 3,
            content_hash,
            outcome: ImportOutcome::Rejected,
            reason: Some("domain-conflict".into()),
        }],
    )
    .await;
    assert!(
        payload_stored(&app, &receipt, 3).await,
        "a refused version keeps its payload"
    );
    assert!(
        !payload_stored(&app, &receipt, 2).await,
        "version 3 took its place"
    );
    let lost = payloads_lost(&app.store).await;
    assert!(lost.is_empty(), "{lost:?}");
}

/// The page, through the real router with a browser's cookies and CSRF tokens: the provider's
/// account page links to it, it shows the filing as the owner sent it, a confirmation sent from
/// it shows the check's receipt, a form without the page's token is refused, and an owner is
/// not shown it.
#[tokio::test]
async fn the_provider_confirms_from_its_page_and_is_shown_the_receipt_of_its_check() {
    const PASSWORD: &str = "provider-2026";
    let site = site();
    account_that_logs_in(&site.store, "owner_a", AccountKind::WebsiteOwner, PASSWORD).await;
    account_that_logs_in(
        &site.store,
        "provider_1",
        AccountKind::AccessProvider,
        PASSWORD,
    )
    .await;
    let store = site.store.clone();
    let token = tokio::task::spawn_blocking(move || store.issue_token("owner_a", "test"))
        .await
        .unwrap()
        .unwrap()
        .secret;
    let app_like = |request: Request<Body>| {
        let router = site.router.clone();
        async move {
            use tower::ServiceExt as _;
            let response = router.oneshot(request).await.unwrap();
            let status = response.status();
            let body = axum::body::to_bytes(response.into_body(), 1 << 20)
                .await
                .unwrap();
            (
                status,
                serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null),
            )
        }
    };
    let (status, body) = app_like(
        Request::post("/api/v1/submissions")
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(Body::from(testkit::api::new_filing(DOMAIN).to_string()))
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let receipt = body["receipt"].as_str().unwrap().to_owned();
    let hash = delivered_to_the_check(&site.store, &receipt).await;

    let mut owner = Browser::new(&site);
    let page = owner.login("owner_a", PASSWORD).await;
    assert_eq!(page.location(), "/account");
    let page = owner.get("/account").await;
    assert!(
        !page.body.contains("id=\"provider-checks\""),
        "no link for an owner"
    );
    let page = owner.get("/account/provider-checks").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);

    let mut provider = Browser::new(&site);
    provider.login("provider_1", PASSWORD).await;
    let page = provider.get("/account").await;
    assert!(
        page.body.contains("href=\"/account/provider-checks\""),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("<span id=\"awaiting-checks\">1</span>"),
        "{}",
        page.body
    );
    let page = provider.get("/account/provider-checks").await;
    assert_eq!(page.status, StatusCode::OK);
    for shown in [
        receipt.as_str(),
        DOMAIN,
        "杭州示例网络科技有限公司",
        "202.96.128.86",
        "由贵单位接入",
    ] {
        assert!(
            page.body.contains(shown),
            "{shown} not on the page: {}",
            page.body
        );
    }
    assert!(page.body.contains(&format!("id=\"confirm-{receipt}\"")));
    assert!(page.body.contains(&format!("id=\"return-{receipt}\"")));

    let action = format!("/account/provider-checks/{receipt}");
    let fields = [
        ("version", "1"),
        ("content_hash", hash.as_str()),
        ("decision", "confirm"),
    ];
    // Without the page's token: refused, nothing stored.
    let before = receipt_count(&site.store).await;
    let page = provider.post_raw(&action, &fields).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert_eq!(receipt_count(&site.store).await, before);
    // A return without a reason: the page says what is missing.
    let page = provider
        .submit(
            "/account/provider-checks",
            &action,
            &[
                ("version", "1"),
                ("content_hash", &hash),
                ("decision", "return"),
                ("reason", ""),
            ],
        )
        .await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.body
    );
    assert!(page.body.contains("id=\"problems\""), "{}", page.body);

    let page = provider
        .submit("/account/provider-checks", &action, &fields)
        .await;
    assert_eq!(page.status, StatusCode::CREATED, "{}", page.body);
    let marker = "id=\"check-receipt\" href=\"/status?q=";
    let at = page
        .body
        .find(marker)
        .unwrap_or_else(|| panic!("{}", page.body))
        + marker.len();
    let check_receipt = &page.body[at..at + 18];
    let stored = site.store.receipt(check_receipt).await.unwrap().unwrap();
    assert_eq!(stored.status.kind, "provider_check");
    assert!(matches!(
        stored.latest.unwrap().body,
        Submission::ProviderCheck {
            decision: ProviderDecision::Confirm,
            ..
        }
    ));
    // The filing stays listed, marked as checked, without forms.
    assert!(page.body.contains("check-sent"), "{}", page.body);
    assert!(!page.body.contains(&format!("id=\"confirm-{receipt}\"")));
    let page = provider.get("/account").await;
    assert!(
        page.body.contains("<span id=\"awaiting-checks\">0</span>"),
        "{}",
        page.body
    );
    // The provider's own list shows the check as a receipt of its own, not to be withdrawn.
    let page = provider.get("/account/filings").await;
    assert!(page.body.contains(check_receipt), "{}", page.body);
    assert!(page.body.contains("接入商核验"), "{}", page.body);
    assert!(
        !page
            .body
            .contains(&format!("/account/filings/{check_receipt}/withdraw"))
    );
    // The owner cannot send one from the page either.
    let page = owner.submit("/account", &action, &fields).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
}

/// The other two ways an ack is applied (a per-version ack as a set, and entry by entry, which
/// apply falls back to when a range does not match) keep the payload alike, and a later
/// status change releases it alike.
#[tokio::test]
async fn a_kept_payload_survives_a_per_version_ack_as_a_set_and_entry_by_entry() {
    use bundle_format::records::Ack;

    let app = app();
    let mut receipts = Vec::new();
    for n in 1..=2 {
        let filing = testkit::api::new_filing_for(&format!("site-{n}.example.cn"), n);
        let (status, body) = submit(&app, &app.tokens.owner, &filing).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        receipts.push(body["receipt"].as_str().unwrap().to_owned());
    }
    let mut entries = Vec::new();
    for receipt in &receipts {
        let mut content_hash = [0u8; 32];
        hex::decode_to_slice(
            self::content_hash(&app, receipt, 1).await,
            &mut content_hash,
        )
        .unwrap();
        entries.push(ReceiptAck {
            receipt: receipt.clone(),
            version: 1,
            content_hash,
            outcome: ImportOutcome::Applied,
            reason: None,
        });
    }
    let as_set = Ack {
        bundle_id: [7; 32],
        channel: 1,
        sequence: 1,
        receipts: vec![entries[0].clone()],
    };
    let summary = app.store.apply_ack(as_set, 1_790_000_100).await.unwrap();
    assert_eq!((summary.removed, summary.kept), (0, 1));
    let one_entry = entries[1].clone();
    let effect = app
        .store
        .write(move |conn| outer::store::apply_ack_entry_on(conn, &one_entry, 1_790_000_100, None))
        .await
        .unwrap();
    assert_eq!(effect, outer::store::AckEffect::Kept);
    for receipt in &receipts {
        let (_, view) = owner_reads(&app, receipt).await;
        assert_eq!(view["state"], "delivered", "{view}");
        assert!(
            payload_stored(&app, receipt, 1).await,
            "{receipt} kept after its ack"
        );
    }
    for (event, receipt) in (1..).zip(&receipts) {
        reviewed(&app.store, receipt, 1, ReviewState::Rejected, event).await;
        assert!(
            !payload_stored(&app, receipt, 1).await,
            "{receipt} released"
        );
    }
    let lost = payloads_lost(&app.store).await;
    assert!(lost.is_empty(), "{lost:?}");
}
