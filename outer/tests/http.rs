//! The intake API through the real router (`oneshot`) against a real SQLite file.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use bundle_format::records::{self, ImportOutcome, ReceiptAck, ReviewState, StatusChange};
use common::{App, app, app_with};
use outer::config::Limits;
use serde_json::{Value, json};
use testkit::api::{new_filing, new_filing_for, person, subject, website};

impl App {
    async fn call(
        &self,
        method: &str,
        uri: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = match body {
            Some(body) => request
                .header("content-type", "application/json")
                .body(Body::from(body.to_string())),
            None => request.body(Body::empty()),
        }
        .unwrap();
        let (status, bytes, _) = self.raw(request).await;
        let value = serde_json::from_slice(&bytes)
            .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        (status, value)
    }

    async fn submit(&self, token: &str, body: Value) -> (StatusCode, Value) {
        self.submit_with_headers(token, body, &[]).await
    }

    /// Submits `body` as the holder of `token`, with extra request headers.
    async fn submit_with_headers(
        &self,
        token: &str,
        body: Value,
        headers: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        self.call(
            "POST",
            "/api/v1/submissions",
            Some(token),
            Some(body),
            headers,
        )
        .await
    }

    /// Reads a submission's status, as anyone may, without a token.
    async fn status(&self, receipt: &str) -> (StatusCode, Value) {
        let uri = format!("/api/v1/submissions/{receipt}/status");
        self.call("GET", &uri, None, None, &[]).await
    }

    /// Reads a whole submission as the holder of `token`.
    async fn read(&self, token: &str, receipt: &str) -> (StatusCode, Value) {
        let uri = format!("/api/v1/submissions/{receipt}");
        self.call("GET", &uri, Some(token), None, &[]).await
    }

    /// Replaces a submission with `body` as a new version, as the holder of `token`.
    async fn edit(&self, token: &str, receipt: &str, body: Value) -> (StatusCode, Value) {
        let uri = format!("/api/v1/submissions/{receipt}");
        self.call("PUT", &uri, Some(token), Some(body), &[]).await
    }
}

fn codes(body: &Value) -> Vec<String> {
    body["problems"]
        .as_array()
        .map(|problems| {
            problems
                .iter()
                .map(|p| p["code"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn fields_with(body: &Value, code: &str) -> Vec<String> {
    body["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["code"] == code)
        .map(|p| p["field"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn new_filing_gets_a_receipt_and_is_stored_as_a_wire_record() {
    let app = app();
    let (status, body) = app.submit(&app.tokens.owner, new_filing("例子.中国")).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let receipt = body["receipt"].as_str().unwrap().to_owned();
    assert_eq!(body["version"], 1);
    assert_eq!(
        body["status_url"],
        format!("/api/v1/submissions/{receipt}/status")
    );

    let (status, view) = app.status(&receipt).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(view["state"], "received");

    let exported = app.store.versions_to_export(10).await.unwrap();
    assert_eq!(exported.len(), 1);
    let version = &exported[0];
    assert_eq!(version.receipt, receipt);
    assert!(version.hash_matches());
    assert_eq!(version.submitter, "owner");
    let records::Submission::NewFiling(filing) = &version.body else {
        panic!("stored as {:?}", version.body)
    };
    assert_eq!(
        filing.websites[0].domains,
        ["xn--fsqu00a.xn--fiqs8s", "www.xn--fsqu00a.xn--fiqs8s"],
        "domains are stored in punycode"
    );

    let (status, full) = app.read(&app.tokens.owner, &receipt).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        full["versions"][0]["content_hash"],
        hex::encode(version.content_hash)
    );
    // The API form of the stored version converts back to the very same record.
    let shown: outer::api::SubmissionRequest =
        serde_json::from_value(full["latest"].clone()).unwrap();
    let again = outer::convert::submission(
        &shown.submission,
        &outer::convert::Context {
            access_provider: None,
            max_scan_bytes: filing::scan::DEFAULT_MAX_SCAN_BYTES,
        },
    )
    .unwrap();
    assert_eq!(again, version.body);
}

#[tokio::test]
async fn every_problem_is_reported_at_once_with_its_field() {
    let app = app();
    let mut filing = new_filing("example.cn");
    let f = &mut filing["submission"]["filing"];
    f["subject"]["certificate_type"] = json!("resident_id"); // enterprise with a resident ID
    f["subject"]["certificate_number"] = json!("11010519491231002X");
    f["subject"]["region_code"] = json!("810000");
    f["subject"]["principal"]["name"] = json!("王先生");
    f["subject"]["principal"]["certificate_number"] = json!("110105194912310021");
    f["subject"]["principal"]["office_phones"] = json!(["010-00000000"]);
    f["subject"]["principal"]["email"] = json!("not-an-email");
    f["websites"][0]["name"] = json!("示例新闻网");
    f["websites"][0]["domains"] = json!(["example.cn", "EXAMPLE.cn", "com.cn"]);
    f["websites"][0]["home_urls"] = json!(["https://elsewhere.cn/"]);
    f["websites"][0]["service_types"] = json!([]);
    f["websites"][0]["access"]["ip_ranges"] = json!(["192.168.1.10", "202.96.128.0/33"]);
    f["websites"][0]["principal"]["mobile_phones"] = json!(["1234"]);
    let (status, body) = app.submit(&app.tokens.owner, filing).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"], "validation_failed");
    let found = codes(&body);
    for expected in [
        "subject.certificate_type_mismatch",
        "region_code.province",
        "name.placeholder",
        "resident_id.check_digit",
        "phone.fake",
        "email.invalid",
        "domain.duplicate",
        "domain.not_registrable",
        "url.host_not_listed",
        "service_type.required",
        "pre_approval.required",
        "ip.not_public",
        "ip.invalid",
        "phone.mobile_format",
    ] {
        assert!(
            found.iter().any(|c| c == expected),
            "{expected} missing from {found:?}"
        );
    }
    assert_eq!(
        fields_with(&body, "domain.duplicate"),
        ["submission.filing.websites[0].domains[1]"]
    );
    assert_eq!(
        fields_with(&body, "ip.not_public"),
        ["submission.filing.websites[0].access.ip_ranges[0]"]
    );
    assert!(
        app.store.versions_to_export(10).await.unwrap().is_empty(),
        "nothing stored"
    );
}

#[tokio::test]
async fn domains_are_unique_across_the_websites_of_a_filing() {
    let app = app();
    let mut filing = new_filing("example.cn");
    let mut second = website("example.cn");
    second["name"] = json!("示例第二站");
    second["domains"] = json!(["shop.example.cn", "WWW.EXAMPLE.CN"]);
    second["home_urls"] = json!(["http://shop.example.cn/"]);
    filing["submission"]["filing"]["websites"]
        .as_array_mut()
        .unwrap()
        .push(second);
    let (status, body) = app.submit(&app.tokens.owner, filing).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        fields_with(&body, "domain.duplicate"),
        ["submission.filing.websites[1].domains[1]"]
    );
}

#[tokio::test]
async fn each_submission_kind_is_accepted() {
    let app = app();
    let owner = &app.tokens.owner;
    let change_subject = json!({"submission": {"kind": "change", "filing_number": "浙ICP备2026000123号",
        "change": {"what": "subject", "subject": subject()}}});
    let change_website = json!({"submission": {"kind": "change", "filing_number": "浙ICP备2026000123号",
        "change": {"what": "website", "website_number": "浙ICP备2026000123号-1", "website": website("example.cn")}}});
    let change_access = json!({"submission": {"kind": "change", "filing_number": "浙ICP备2026000123号",
        "change": {"what": "access", "website_number": "浙ICP备2026000123号-2",
            "access": {"provider": "provider_1", "method": "colocation", "server_region_code": "330106",
                "ip_ranges": ["2400:3200::1", "202.96.130.0/24"]}}}});
    let added_website = json!({"submission": {"kind": "change", "filing_number": "浙ICP备2026000123号",
        "change": {"what": "added_website", "website": website("example.com.cn")}}});
    let cancel_subject = json!({"submission": {"kind": "cancellation", "filing_number": "浙ICP备2026000123号",
        "scope": "subject", "reason": "公司注销"}});
    let cancel_website = json!({"submission": {"kind": "cancellation", "filing_number": "浙ICP备2026000123号-1",
        "scope": "website", "reason": "网站关闭"}});
    let cancel_access = json!({"submission": {"kind": "cancellation", "filing_number": "浙ICP备2026000123号-1",
        "scope": "access", "reason": "更换接入商"}});
    for body in [
        new_filing("example.cn"),
        change_subject,
        change_website,
        change_access,
        added_website,
        cancel_subject,
        cancel_website,
        cancel_access,
    ] {
        let (status, answer) = app.submit(owner, body.clone()).await;
        assert_eq!(status, StatusCode::CREATED, "{body}\n{answer}");
    }
    let (_, first) = app.submit(owner, new_filing_for("example.net.cn", 2)).await;
    let receipt = first["receipt"].as_str().unwrap();
    let withdrawal =
        json!({"submission": {"kind": "withdrawal", "receipt": receipt, "reason": "填写错误"}});
    let (status, _) = app.submit(owner, withdrawal.clone()).await;
    assert_eq!(status, StatusCode::CREATED);
    // Another account cannot withdraw it.
    let (status, body) = app
        .submit(&app.tokens.other_owner, withdrawal.clone())
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(codes(&body), ["withdrawal.other_account"]);
    // Once under review it can only be cancelled.
    app.store
        .apply_status_change(StatusChange {
            event_id: 1,
            receipt: receipt.into(),
            version: 1,
            state: ReviewState::AwaitingRegionalReview,
            at: 1,
            reason: None,
            filing_number: None,
        })
        .await
        .unwrap();
    let (status, body) = app.submit(owner, withdrawal).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(codes(&body), ["withdrawal.under_review"]);
    // A subject cancellation must name the subject, not a website.
    let wrong = json!({"submission": {"kind": "cancellation", "filing_number": "浙ICP备2026000123号-1",
        "scope": "subject", "reason": "x"}});
    let (status, body) = app.submit(owner, wrong).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(codes(&body), ["filing_number.website_suffix_unexpected"]);
}

#[tokio::test]
async fn idempotency_key_returns_the_first_answer() {
    let app = app();
    let key = [("idempotency-key", "order-7781")];
    let (s1, first) = app
        .submit_with_headers(&app.tokens.owner, new_filing("example.cn"), &key)
        .await;
    let (s2, second) = app
        .submit_with_headers(&app.tokens.owner, new_filing("example.cn"), &key)
        .await;
    assert_eq!((s1, s2), (StatusCode::CREATED, StatusCode::CREATED));
    assert_eq!(first, second);
    assert_eq!(app.store.versions_to_export(10).await.unwrap().len(), 1);
    let (status, body) = app
        .submit_with_headers(&app.tokens.owner, new_filing("example.org.cn"), &key)
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"], "idempotency_key_reused");
    // Keys are per account: another account's identical key is a new submission.
    let (status, other) = app
        .submit_with_headers(
            &app.tokens.other_owner,
            new_filing_for("example.cn", 3),
            &key,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_ne!(other["receipt"], first["receipt"]);
}

#[tokio::test]
async fn an_edit_is_a_new_version_and_never_touches_an_exported_one() {
    let app = app();
    let (_, created) = app
        .submit(&app.tokens.owner, new_filing("example.cn"))
        .await;
    let receipt = created["receipt"].as_str().unwrap().to_owned();
    let v1 = app.store.versions_to_export(1).await.unwrap().remove(0);
    app.store
        .record_export(keys::ChannelId(1), 4, [4; 32], 1, 100)
        .await
        .unwrap();
    let (status, view) = app.status(&receipt).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(view["state"], "in_transit");
    assert_eq!(view["bundle_sequence"], 4);

    let mut edited = new_filing("example.cn");
    edited["submission"]["filing"]["websites"][0]["name"] = json!("示例科技主页");
    let (status, answer) = app.edit(&app.tokens.owner, &receipt, edited).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["version"], 2);

    let (_, full) = app.read(&app.tokens.owner, &receipt).await;
    let versions = full["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0]["content_hash"], hex::encode(v1.content_hash));
    assert_eq!(versions[0]["exported_in_bundle"], 4);
    assert_ne!(versions[0]["content_hash"], versions[1]["content_hash"]);
    assert_eq!(
        full["latest"]["submission"]["filing"]["websites"][0]["name"],
        "示例科技主页"
    );
    let pending = app.store.versions_to_export(10).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].version, 2);

    // Others may neither edit nor read it; an edit cannot change the kind.
    let (status, _) = app
        .edit(&app.tokens.other_owner, &receipt, new_filing("example.cn"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app.read(&app.tokens.other_owner, &receipt).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let cancel = json!({"submission": {"kind": "cancellation", "filing_number": "浙ICP备2026000123号", "scope": "subject", "reason": "x"}});
    let (status, body) = app.edit(&app.tokens.owner, &receipt, cancel).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"], "kind_changed");
}

#[tokio::test]
async fn tokens_are_checked_by_kind() {
    let app = app();
    let (status, body) = app
        .submit("sluice_not_a_token", new_filing("example.cn"))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "unauthorized");
    let (status, _) = app
        .call(
            "POST",
            "/api/v1/submissions",
            None,
            Some(new_filing("example.cn")),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = app
        .submit(&app.tokens.operator, new_filing("example.cn"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body["message"].as_str().unwrap().contains("operator"));
    let (status, _) = app
        .call("GET", "/metrics", Some(&app.tokens.owner), None, &[])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app
        .call(
            "POST",
            "/api/v1/batches",
            Some(&app.tokens.owner),
            None,
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // A website owner may not submit for others; an access provider may, for sites it connects.
    let mut for_customer = new_filing("example.cn");
    for_customer["on_behalf_of"] = json!("customer_9");
    let (status, body) = app.submit(&app.tokens.owner, for_customer.clone()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(codes(&body), ["on_behalf_of.not_allowed"]);
    let (status, body) = app.submit(&app.tokens.provider, for_customer.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let stored = app.store.versions_to_export(10).await.unwrap().remove(0);
    assert_eq!(stored.submitter, "customer_9");
    assert_eq!(stored.access_provider.as_deref(), Some("provider_1"));
    for_customer["submission"]["filing"]["websites"][0]["access"]["provider"] =
        json!("another_isp");
    let (status, body) = app.submit(&app.tokens.provider, for_customer).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(codes(&body), ["access.other_provider"]);

    let (status, metrics) = app
        .call("GET", "/metrics", Some(&app.tokens.operator), None, &[])
        .await;
    assert_eq!(status, StatusCode::OK);
    let metrics = metrics.as_str().unwrap();
    assert!(
        metrics
            .contains(r#"sluice_outer_submissions_total{kind="new_filing",outcome="created"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics
            .contains(r#"sluice_outer_validation_failures_total{code="access.other_provider"} 1"#),
        "{metrics}"
    );
    assert!(metrics.contains("sluice_outer_request_duration_seconds_count"));
    assert!(metrics.contains("sluice_outer_store_bytes"));
}

#[tokio::test]
async fn body_over_the_limit_is_refused_with_413() {
    let app = app_with(Limits {
        max_body_bytes: 4096,
        ..Limits::default()
    });
    let mut filing = new_filing("example.cn");
    filing["submission"]["filing"]["subject"]["investor"] = json!("投".repeat(3000));
    let (status, body) = app.submit(&app.tokens.owner, filing).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["error"], "payload_too_large");
    let (status, body) = app
        .submit(&app.tokens.owner, new_filing("example.cn"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[tokio::test]
async fn a_token_over_its_rate_gets_429_while_others_go_on() {
    let app = app_with(Limits {
        rate_per_minute: 1,
        rate_burst: 3,
        ..Limits::default()
    });
    for _ in 0..3 {
        let (status, _) = app.read(&app.tokens.owner, "R20261122-00000000").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    let (status, body, headers) = app
        .raw(
            Request::get("/api/v1/submissions/R20261122-00000000")
                .header("authorization", format!("Bearer {}", app.tokens.owner))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["error"], "rate_limited");
    // At one request a minute, the next one is allowed about a minute later, not in a second.
    let retry_after: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(
        (55..=60).contains(&retry_after),
        "Retry-After: {retry_after}"
    );
    let (status, _) = app
        .read(&app.tokens.other_owner, "R20261122-00000000")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn unknown_receipt_is_404_and_a_known_one_keeps_its_status_after_the_payload_is_gone() {
    let app = app();
    let (status, body) = app.status("R20261122-ZZZZZZZZ").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "not_found");
    let (status, _) = app.status("not-a-receipt").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (_, created) = app
        .submit(&app.tokens.owner, new_filing("example.cn"))
        .await;
    let receipt = created["receipt"].as_str().unwrap().to_owned();
    let version = app.store.versions_to_export(1).await.unwrap().remove(0);
    app.store
        .record_export(keys::ChannelId(1), 9, [9; 32], 1, 1_790_000_000)
        .await
        .unwrap();
    app.store
        .apply_ack(
            records::Ack {
                bundle_id: [9; 32],
                channel: 1,
                sequence: 9,
                receipts: vec![ReceiptAck {
                    receipt: receipt.clone(),
                    version: 1,
                    content_hash: version.content_hash,
                    outcome: ImportOutcome::Applied,
                    reason: None,
                }],
            },
            1_790_000_100,
        )
        .await
        .unwrap();
    app.store
        .apply_status_change(testkit::records::approval(
            3,
            &receipt,
            1_790_000_200,
            "浙ICP备2026000123号",
        ))
        .await
        .unwrap();
    let (status, view) = app.status(&receipt).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(view["state"], "approved");
    assert_eq!(view["filing_number"], "浙ICP备2026000123号");
    let states: Vec<&str> = view["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["received", "in_transit", "delivered", "approved"]);
    let (_, full) = app.read(&app.tokens.owner, &receipt).await;
    assert!(full["latest"].is_null(), "payload removed after the ack");
    assert_eq!(full["versions"][0]["acknowledged"], true);

    // The certificate can be downloaded once it is stored.
    let path = format!(
        "/api/v1/certificates/{}",
        "%E6%B5%99ICP%E5%A4%872026000123%E5%8F%B7"
    );
    let (status, _) = app
        .call("GET", &path, Some(&app.tokens.owner), None, &[])
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.store
        .store_certificate(testkit::records::certificate(
            "浙ICP备2026000123号",
            &receipt,
            1_790_000_200,
        ))
        .await
        .unwrap();
    let request = Request::get(&path)
        .header("authorization", format!("Bearer {}", app.tokens.owner))
        .body(Body::empty())
        .unwrap();
    let (status, bytes, _) = app.raw(request).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bytes, b"untrusted comment: test certificate\n");
    // By number alone, only the account that filed it downloads it: another account hears
    // there is none, and nobody without an account is served.
    let (status, _) = app
        .call("GET", &path, Some(&app.tokens.other_owner), None, &[])
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.call("GET", &path, None, None, &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (_, view) = app.status(&receipt).await;
    assert_eq!(view["certificate_ready"], true);
}

#[tokio::test]
async fn malformed_json_gets_400_naming_the_problem() {
    let app = app();
    let request = Request::post("/api/v1/submissions")
        .header("authorization", format!("Bearer {}", app.tokens.owner))
        .header("content-type", "application/json")
        .body(Body::from(
            r#"{"submission": {"kind": "new_filing", "filing": {"subject": 5}}}"#,
        ))
        .unwrap();
    let (status, bytes, _) = app.raw(request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let body: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(body["error"], "malformed_json");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("SubjectBody") && message.contains("column"),
        "{body}"
    );
}

#[tokio::test]
async fn individual_filing_rules() {
    let app = app();
    let mut filing = new_filing("zhangsanfeng.cn");
    let f = &mut filing["submission"]["filing"];
    f["subject"] = subject();
    f["subject"]["name"] = json!("张三丰");
    f["subject"]["nature"] = json!("individual");
    f["subject"]["certificate_type"] = json!("resident_id");
    f["subject"]["certificate_number"] = json!("11010519491231002X");
    f["subject"]["investor"] = json!("张三丰");
    f["subject"]["principal"] = person();
    let (status, body) = app.submit(&app.tokens.owner, filing.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let f = &mut filing["submission"]["filing"];
    f["websites"][0]["name"] = json!("张三丰科技有限公司");
    f["websites"][0]["domains"] = json!(["bbs.zhangsanfeng.cn"]);
    f["websites"][0]["home_urls"] = json!([]);
    let (status, body) = app.submit(&app.tokens.owner, filing).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let found = codes(&body);
    assert!(
        found.contains(&"website.company_name_for_individual".to_owned()),
        "{found:?}"
    );
    assert!(
        found.contains(&"service_type.forum_required".to_owned()),
        "{found:?}"
    );
}

#[tokio::test]
async fn scanned_certificates_are_small_images() {
    use base64::Engine as _;
    let app = app();
    let png: Vec<u8> = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    let encode = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut filing = new_filing("example.cn");
    filing["submission"]["filing"]["attachments"] = json!([
        {"kind": "subject_certificate", "media_type": "image/png", "base64": encode(&png)}
    ]);
    let (status, body) = app.submit(&app.tokens.owner, filing.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let stored = app.store.versions_to_export(1).await.unwrap().remove(0);
    let records::Submission::NewFiling(stored) = stored.body else {
        panic!("not a new filing")
    };
    assert_eq!(stored.attachments[0].bytes, png);

    let mut too_large = png.clone();
    too_large.resize(512 * 1024 + 1, 0);
    filing["submission"]["filing"]["attachments"] = json!([
        {"kind": "subject_certificate", "media_type": "image/png", "base64": encode(&too_large)},
        {"kind": "principal_identity", "media_type": "image/jpeg", "base64": encode(b"%PDF-1.7")},
        {"kind": "other", "media_type": "application/pdf", "base64": encode(b"%PDF-1.7")},
        {"kind": "other", "media_type": "image/png", "base64": "not base64!"}
    ]);
    let (status, body) = app.submit(&app.tokens.owner, filing).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        codes(&body),
        [
            "attachment.too_large",
            "attachment.not_image",
            "attachment.media_type",
            "attachment.base64"
        ]
    );
}

#[tokio::test]
async fn status_page_finds_receipts_by_filing_number_and_escapes_the_query() {
    let app = app();
    let cancel = json!({"submission": {"kind": "cancellation", "filing_number": "浙ICP备2026000123号",
        "scope": "subject", "reason": "公司注销"}});
    let (status, created) = app.submit(&app.tokens.owner, cancel).await;
    assert_eq!(status, StatusCode::CREATED);
    let receipt = created["receipt"].as_str().unwrap();
    let query = "%E6%B5%99ICP%E5%A4%872026000123%E5%8F%B7";
    let request = Request::get(format!("/status?q={query}"))
        .body(Body::empty())
        .unwrap();
    let (status, page, headers) = app.raw(request).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let page = String::from_utf8(page).unwrap();
    // The filing number is public; the receipt id would open the whole status to anyone.
    assert!(!page.contains(receipt), "{page}");
    assert!(page.contains("注销备案") && page.contains("Cancellation"));
    assert!(page.contains("已接收") && page.contains("Received"));

    let request = Request::get("/status?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E")
        .body(Body::empty())
        .unwrap();
    let (_, page, _) = app.raw(request).await;
    let page = String::from_utf8(page).unwrap();
    assert!(!page.contains("<script>"), "{page}");
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
}

/// Anyone can read a filing number off a website. Looking it up must not hand out the receipt
/// ids filed under it (each opens that receipt's whole status), nor reasons or history.
#[tokio::test]
async fn filing_number_lookup_reveals_no_receipt_id_reason_or_history() {
    let app = app();
    let change = json!({"submission": {"kind": "cancellation", "filing_number": "浙ICP备2026000124号",
        "scope": "subject", "reason": "公司注销"}});
    let (status, created) = app.submit(&app.tokens.owner, change).await;
    assert_eq!(status, StatusCode::CREATED);
    let receipt = created["receipt"].as_str().unwrap().to_owned();
    let page = |q: String| {
        let request = Request::get(format!("/status?q={q}"))
            .body(Body::empty())
            .unwrap();
        let app = &app;
        async move { String::from_utf8(app.raw(request).await.1).unwrap() }
    };
    let public = page("%E6%B5%99ICP%E5%A4%872026000124%E5%8F%B7".to_owned()).await;
    assert!(public.contains("浙ICP备2026000124号"), "{public}");
    assert!(
        public.contains("已接收") && public.contains("Received"),
        "{public}"
    );
    assert!(!public.contains(&receipt), "receipt id revealed: {public}");
    assert!(!public.contains("<table"), "history revealed: {public}");
    assert!(!public.contains("原因"), "reason revealed: {public}");
    // The submitter, who holds the receipt id, still sees everything.
    let own = page(receipt.clone()).await;
    assert!(own.contains(&receipt) && own.contains("<table"), "{own}");
}

#[tokio::test]
async fn receipt_path_with_multibyte_characters_is_404_not_a_crash() {
    let app = app();
    // "R2026112中-ABCDEF": 18 bytes with a character across byte 9.
    let path = "/api/v1/submissions/R2026112%E4%B8%AD-ABCDEF/status";
    let (status, body) = app.call("GET", path, None, None, &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let request = Request::get("/status?q=R2026112%E4%B8%AD-ABCDEF")
        .body(Body::empty())
        .unwrap();
    let (status, _, _) = app.raw(request).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn one_subject_files_once_until_its_filing_is_rejected() {
    let app = app();
    let (status, first) = app
        .submit(&app.tokens.owner, new_filing("example.cn"))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let first = first["receipt"].as_str().unwrap().to_owned();
    // The same subject again from the same account, with other websites: edit the first.
    let (status, body) = app
        .submit(&app.tokens.owner, new_filing("example.com.cn"))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(codes(&body), ["subject.already_filed"]);
    assert_eq!(
        fields_with(&body, "subject.already_filed"),
        ["submission.filing.subject.certificate_number"]
    );
    assert!(
        body["problems"][0]["message"]
            .as_str()
            .unwrap()
            .contains(&first)
    );
    // Editing the first receipt keeps its subject.
    let (status, _) = app
        .edit(&app.tokens.owner, &first, new_filing("example.com.cn"))
        .await;
    assert_eq!(status, StatusCode::OK);
    // Once the first is rejected the subject may file anew.
    let (status, _) = app
        .submit(&app.tokens.owner, new_filing("example.org.cn"))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "still live");
    app.store
        .apply_status_change(StatusChange {
            event_id: 1,
            receipt: first.clone(),
            version: 2,
            state: ReviewState::Rejected,
            at: 1,
            reason: Some("材料不全".into()),
            filing_number: None,
        })
        .await
        .unwrap();
    let (status, body) = app
        .submit(&app.tokens.owner, new_filing("example.org.cn"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[tokio::test]
async fn a_stranger_filing_someone_elses_subject_first_neither_locks_the_owner_out_nor_learns_of_it()
 {
    let app = app();
    // A stranger files the owner's subject (its credit code) first.
    let (status, squatter) = app
        .submit(&app.tokens.other_owner, new_filing("example.cn"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{squatter}");
    let squatter = squatter["receipt"].as_str().unwrap().to_owned();
    // The real owner still files; both go inside, where the reviewer decides.
    let (status, owner) = app
        .submit(&app.tokens.owner, new_filing("example.com.cn"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{owner}");
    assert!(
        !owner.to_string().contains(&squatter),
        "the answer names no other account's receipt: {owner}"
    );
    // And a third account's filing of the subject learns of neither receipt.
    let (status, third) = app
        .submit(&app.tokens.provider, new_filing("example.org.cn"))
        .await;
    let owner = owner["receipt"].as_str().unwrap();
    for receipt in [squatter.as_str(), owner] {
        assert!(
            !third.to_string().contains(receipt),
            "{status}: the answer names no other account's receipt: {third}"
        );
    }
}
