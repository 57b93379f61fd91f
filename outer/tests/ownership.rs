//! Who may change or cancel a filing, through the real router on a real SQLite file: only the
//! account that filed it (DESIGN.md invariant 8).

mod common;

use axum::http::StatusCode;
use bundle_format::records::{ReviewState, StatusChange};
use common::{App, app, submit};
use serde_json::json;
use testkit::api::{new_filing, subject};

const NUMBER: &str = "浙ICP备2026000123号";

/// The owner's new filing, approved inside under [`NUMBER`] (as its status change says).
async fn owners_approved_filing(app: &App) {
    let (status, created) = submit(app, &app.tokens.owner, &new_filing("example.cn")).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    app.store
        .apply_status_change(StatusChange {
            event_id: 1,
            receipt: created["receipt"].as_str().unwrap().into(),
            version: 1,
            state: ReviewState::Approved,
            at: 1,
            reason: None,
            filing_number: Some(NUMBER.into()),
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn a_change_or_cancellation_of_another_accounts_filing_is_refused_at_intake() {
    let app = app();
    owners_approved_filing(&app).await;
    let change = json!({"submission": {"kind": "change", "filing_number": NUMBER,
        "change": {"what": "subject", "subject": subject()}}});
    let cancel_website = json!({"submission": {"kind": "cancellation",
        "filing_number": format!("{NUMBER}-1"), "scope": "website", "reason": "网站关闭"}});
    for body in [&change, &cancel_website] {
        let (status, answer) = submit(&app, &app.tokens.other_owner, body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
        let problem = &answer["problems"][0];
        assert_eq!(problem["code"], "filing.other_account", "{answer}");
        assert_eq!(problem["field"], "submission.filing_number");
        // Nothing about the filing's owner is given away.
        assert!(
            !answer.to_string().contains("owner"),
            "names no account: {answer}"
        );
        // An access provider that did not file it may not either.
        let (status, answer) = submit(&app, &app.tokens.provider, body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
        assert_eq!(answer["problems"][0]["code"], "filing.other_account");
    }
    for body in [&change, &cancel_website] {
        let (status, answer) = submit(&app, &app.tokens.owner, body).await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
    }
}

#[tokio::test]
async fn an_application_for_cancellation_is_withdrawn_while_pending_even_under_review() {
    let app = app();
    let owner = &app.tokens.owner;
    let cancel = json!({"submission": {"kind": "cancellation", "filing_number": "浙ICP备2026000123号",
        "scope": "subject", "reason": "不再运营"}});
    let (status, first) = submit(&app, owner, &cancel).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let receipt = first["receipt"].as_str().unwrap().to_owned();
    let review = |event_id: u64, state: ReviewState| StatusChange {
        event_id,
        receipt: receipt.clone(),
        version: 1,
        state,
        at: 1,
        reason: None,
        filing_number: None,
    };
    app.store
        .apply_status_change(review(1, ReviewState::AwaitingRegionalReview))
        .await
        .unwrap();
    let withdrawal =
        json!({"submission": {"kind": "withdrawal", "receipt": receipt, "reason": "改变主意"}});
    let (status, body) = submit(&app, owner, &withdrawal).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // Another account still cannot.
    let (status, body) = submit(&app, &app.tokens.other_owner, &withdrawal).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body["problems"][0]["code"], "withdrawal.other_account",
        "{body}"
    );
    // Once decided, there is nothing to withdraw.
    app.store
        .apply_status_change(review(2, ReviewState::Cancelled))
        .await
        .unwrap();
    let (status, body) = submit(&app, owner, &withdrawal).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body["problems"][0]["code"], "withdrawal.under_review",
        "{body}"
    );
}
