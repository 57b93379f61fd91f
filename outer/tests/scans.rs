//! Scans on changes and pre-approval documents through the real router against a real SQLite
//! file: what they are stored as, and what the intake refuses (over the configured size, a
//! forged media type, a pre-approval entry the submission does not list), naming the field.

mod common;

use axum::http::StatusCode;
use base64::Engine as _;
use bundle_format::records::{PreApprovalItem, ScanOf, Submission};
use common::{App, app, app_with};
use outer::config::Limits;
use serde_json::{Value, json};
use testkit::api::{new_filing, website};

async fn submit(app: &App, body: &Value) -> (StatusCode, Value) {
    common::submit(app, &app.tokens.owner, body).await
}

fn encode(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A PNG's signature and header chunk, then `len` bytes in all.
fn png(len: usize) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    bytes.resize(len.max(bytes.len()), 7);
    bytes
}

/// A news website serving `domain`, with its news pre-approval.
fn news_website(domain: &str) -> Value {
    let mut site = website(domain);
    site["name"] = json!("示例科技资讯");
    site["service_types"] = json!(["news"]);
    site["pre_approvals"] = json!([{"item": "news", "document_number": "浙新闻审字〔2026〕第7号"}]);
    site
}

fn news_document(website: u32, bytes: &[u8]) -> Value {
    json!({"kind": "pre_approval", "media_type": "image/png", "base64": encode(bytes),
        "pre_approval": {"website": website, "item": "news"}})
}

fn website_change(attachments: Value) -> Value {
    json!({"submission": {"kind": "change", "filing_number": "浙ICP备2026000123号",
        "change": {"what": "website", "website_number": "浙ICP备2026000123号-1",
            "website": news_website("example.cn")},
        "attachments": attachments}})
}

fn problems(body: &Value) -> Vec<(String, String)> {
    body["problems"]
        .as_array()
        .unwrap_or_else(|| panic!("no problems in {body}"))
        .iter()
        .map(|p| {
            (
                p["field"].as_str().unwrap().to_owned(),
                p["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_change_carries_its_scans_with_the_pre_approval_entry_each_documents() {
    let app = app();
    let document = png(2000);
    let licence = png(1000);
    let body = website_change(json!([
        news_document(0, &document),
        {"kind": "subject_certificate", "media_type": "image/png", "base64": encode(&licence)}
    ]));
    let (status, answer) = submit(&app, &body).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let stored = app.store.versions_to_export(1).await.unwrap().remove(0);
    let Submission::ChangeWithScans { scans, .. } = &stored.body else {
        panic!("not a change with scans: {:?}", stored.body)
    };
    assert_eq!(
        scans[0].shows,
        ScanOf::PreApproval {
            website: 0,
            item: PreApprovalItem::News
        }
    );
    assert_eq!(scans[0].attachment.bytes, document);
    assert_eq!(scans[1].shows, ScanOf::Submission);
    assert_eq!(scans[1].attachment.bytes, licence);

    // A change without scans stays the version 1 record.
    let (status, _) = submit(&app, &website_change(json!([]))).await;
    assert_eq!(status, StatusCode::CREATED);
    let plain = app.store.versions_to_export(2).await.unwrap().remove(1);
    assert!(matches!(plain.body, Submission::Change { .. }), "{plain:?}");
}

#[tokio::test]
async fn a_new_filing_says_which_pre_approval_entry_its_document_belongs_to() {
    let app = app();
    let mut filing = new_filing("example.cn");
    filing["submission"]["filing"]["websites"] =
        json!([website("example.com.cn"), news_website("example.cn")]);
    filing["submission"]["filing"]["attachments"] = json!([news_document(1, &png(500))]);
    let (status, answer) = submit(&app, &filing).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let stored = app.store.versions_to_export(1).await.unwrap().remove(0);
    let Submission::NewFilingWithScans { filing, scans } = &stored.body else {
        panic!("not a new filing with scans: {:?}", stored.body)
    };
    assert!(filing.attachments.is_empty());
    assert_eq!(
        scans[0].shows,
        ScanOf::PreApproval {
            website: 1,
            item: PreApprovalItem::News
        }
    );

    // The first website lists no news pre-approval, and there is no third.
    let mut wrong = new_filing("example.net.cn");
    wrong["submission"]["filing"]["websites"] = json!([website("example.net.cn")]);
    wrong["submission"]["filing"]["attachments"] =
        json!([news_document(0, &png(500)), news_document(2, &png(500))]);
    let (status, answer) = submit(&app, &wrong).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(
        problems(&answer),
        [
            (
                "submission.filing.attachments[0].pre_approval.item".to_owned(),
                "attachment.unknown_pre_approval".to_owned()
            ),
            (
                "submission.filing.attachments[1].pre_approval.website".to_owned(),
                "attachment.unknown_website".to_owned()
            ),
        ]
    );
}

#[tokio::test]
async fn scan_over_the_configured_limit_is_refused_naming_the_field() {
    // One manual's 100 KB.
    let app = app_with(Limits {
        max_scan_bytes: 100_000,
        ..Limits::default()
    });
    let (status, answer) = submit(
        &app,
        &website_change(json!([news_document(0, &png(100_001))])),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(
        problems(&answer),
        [(
            "submission.attachments[0].base64".to_owned(),
            "attachment.too_large".to_owned()
        )]
    );
    assert!(
        answer["problems"][0]["message"]
            .as_str()
            .unwrap()
            .contains("limits.max_scan_bytes"),
        "{answer}"
    );
    // Far over: refused before it is decoded.
    let (status, answer) = submit(
        &app,
        &website_change(json!([news_document(0, &png(400_000))])),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    let (status, _) = submit(
        &app,
        &website_change(json!([news_document(0, &png(100_000))])),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn scan_with_forged_media_type_is_refused() {
    let app = app();
    let jpeg = [0xff, 0xd8, 0xff, 0xe0, 0, 0x10, b'J', b'F', b'I', b'F'];
    let svg = b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>";
    let body = website_change(json!([
        {"kind": "other", "media_type": "image/png", "base64": encode(&jpeg)},
        {"kind": "other", "media_type": "image/png", "base64": encode(svg)},
        {"kind": "other", "media_type": "image/svg+xml", "base64": encode(svg)}
    ]));
    let (status, answer) = submit(&app, &body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(
        problems(&answer),
        [
            (
                "submission.attachments[0].base64".to_owned(),
                "attachment.not_image".to_owned()
            ),
            (
                "submission.attachments[1].base64".to_owned(),
                "attachment.not_image".to_owned()
            ),
            (
                "submission.attachments[2].media_type".to_owned(),
                "attachment.media_type".to_owned()
            ),
        ]
    );
}
