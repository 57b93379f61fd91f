//! The manuals' outer account hierarchy on the account pages: the ministry account (made on
//! the command line) creates provincial authority accounts, an authority creates the access
//! providers of its own province, and each new person sets a password from an e-mailed code.
//! Also the API tokens an account issues and revokes from its own page, and an owner's list of
//! their own filings.

mod web;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use outer::store::AccountKind;
use tower::ServiceExt as _;
use web::{Browser, Site, site};

/// Sets a first (or new) password from the code e-mailed to `email` (message number `nth`)
/// and logs in.
async fn set_password_from_mail(
    browser: &mut Browser<'_>,
    site: &Site,
    name: &str,
    email: &str,
    nth: usize,
    password: &str,
) {
    let mail = site.smtp.wait_for_message_to(email, nth);
    assert!(mail.contains(name), "{mail}");
    let code = testkit::smtp::code_in(&mail, 6).unwrap();
    let page = browser.confirm_reset(name, &code, password).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(browser.login(name, password).await.location(), "/account");
}

/// The ministry account as an operator makes it: `sluice-outer accounts add ministry_1
/// --kind ministry --email …` (the same store calls), then its first password from a code.
async fn ministry<'a>(site: &'a Site) -> Browser<'a> {
    let store = site.store.clone();
    std::thread::spawn(move || {
        store
            .add_account("ministry_1", AccountKind::Ministry)
            .unwrap();
        store
            .set_account_contact("ministry_1", Some("mii@example.cn"), None)
            .unwrap();
    })
    .join()
    .unwrap();
    let mut browser = Browser::at(site, "198.51.100.50");
    let page = browser.ask_reset("ministry_1", "mii@example.cn").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    set_password_from_mail(
        &mut browser,
        site,
        "ministry_1",
        "mii@example.cn",
        0,
        "ministry-pw",
    )
    .await;
    browser
}

/// Sends the account page's form that creates an account below the logged-in one.
async fn create_account(
    browser: &mut Browser<'_>,
    name: &str,
    email: &str,
    province: &str,
) -> web::Page {
    browser
        .account_form(
            "/account/accounts",
            &[("name", name), ("email", email), ("province", province)],
        )
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_ministry_creates_an_authority_which_creates_a_provider_of_its_own_province() {
    let site = site();
    let mut ministry = ministry(&site).await;
    let page = ministry.get("/account").await;
    assert!(page.body.contains("部级管理员"), "{}", page.body);
    assert!(page.body.contains("id=\"create-account\""));

    let page = create_account(&mut ministry, "gd_authority", "gd@example.cn", "99").await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.problem("province").unwrap().contains("two-digit"),
        "{}",
        page.body
    );

    let page = create_account(&mut ministry, "gd_authority", "gd@example.cn", "44").await;
    assert_eq!(page.status, StatusCode::CREATED, "{}", page.body);
    assert!(
        page.body
            .contains("Created the provincial authority account gd_authority")
    );
    assert!(
        page.body.contains("waiting for a password"),
        "{}",
        page.body
    );

    // The authority sets its password from the e-mailed code, and creates a provider: the
    // province is its own, whatever the form says.
    let mut authority = Browser::at(&site, "198.51.100.51");
    set_password_from_mail(
        &mut authority,
        &site,
        "gd_authority",
        "gd@example.cn",
        0,
        "gd-auth-pw",
    )
    .await;
    let page = authority.get("/account").await;
    assert!(page.body.contains("省通信管理局"));
    assert!(page.body.contains("<td>44</td>"), "{}", page.body);
    let page = create_account(&mut authority, "gd_isp_1", "isp@example.cn", "11").await;
    assert_eq!(page.status, StatusCode::CREATED, "{}", page.body);
    assert!(page.body.contains("access provider account gd_isp_1"));

    let mut provider = Browser::at(&site, "198.51.100.52");
    set_password_from_mail(
        &mut provider,
        &site,
        "gd_isp_1",
        "isp@example.cn",
        0,
        "isp-pw-1",
    )
    .await;
    let record = site.store.login_record("gd_isp_1").await.unwrap().unwrap();
    assert_eq!(record.account.kind, AccountKind::AccessProvider);
    assert_eq!(record.account.province.as_deref(), Some("44"));
    let page = provider.get("/account").await;
    assert!(page.body.contains("接入服务商"));
    assert!(!page.body.contains("id=\"create-account\""));

    // Nobody below an authority creates accounts, whatever they send.
    let page = create_account(&mut provider, "sneaky_1", "s@example.cn", "44").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.body.contains("may not create accounts"));
    let mut owner = Browser::at(&site, "198.51.100.53");
    owner.owner("owner_a", "a@example.cn", "secret-1").await;
    let page = create_account(&mut owner, "sneaky_2", "s@example.cn", "44").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(site.store.login_record("sneaky_1").await.unwrap().is_none());
    assert!(site.store.login_record("sneaky_2").await.unwrap().is_none());
    assert_eq!(site.smtp.count_to("s@example.cn"), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_account_created_for_someone_cannot_log_in_before_they_set_a_password() {
    let site = site();
    let mut ministry = ministry(&site).await;
    let page = create_account(&mut ministry, "sh_authority", "sh@example.cn", "31").await;
    assert_eq!(page.status, StatusCode::CREATED);
    let mut guesser = Browser::at(&site, "203.0.113.60");
    for guess in ["", "sh_authority", "123456a"] {
        let page = guesser.login("sh_authority", guess).await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED, "{guess:?}");
    }
}

/// Submits the sample new filing for `domain` through the API with `token`; returns the status.
async fn submit_filing(site: &Site, token: &str, domain: &str) -> StatusCode {
    let filing = testkit::api::new_filing(domain).to_string();
    let request = Request::builder()
        .method("POST")
        .uri("/api/v1/submissions")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Body::from(filing))
        .unwrap();
    site.router.clone().oneshot(request).await.unwrap().status()
}

/// The token shown once on the page a token form answers with.
fn shown_token(body: &str) -> String {
    let token = body
        .split("id=\"secret\">")
        .nth(1)
        .expect("the token is shown");
    token[..token.find('<').unwrap()].to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_issued_from_the_account_page_works_on_the_api_until_revoked_there() {
    let site = site();
    let mut owner = Browser::new(&site);
    owner.owner("owner_a", "a@example.cn", "secret-1").await;
    let page = owner
        .account_form("/account/tokens", &[("label", "")])
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.problem("label")
            .unwrap()
            .contains("what the token is for")
    );

    let page = owner
        .account_form("/account/tokens", &[("label", "build server")])
        .await;
    assert_eq!(page.status, StatusCode::CREATED, "{}", page.body);
    assert!(page.body.contains("shown only now"));
    let token = shown_token(&page.body);
    assert!(token.starts_with("sluice_"), "{token}");
    // Listed by label afterwards, never shown again.
    let page = owner.get("/account").await;
    assert!(page.body.contains("build server"));
    assert!(!page.body.contains(&token));

    let status = submit_filing(&site, &token, "owner-a.example.cn").await;
    assert_eq!(status, StatusCode::CREATED);

    // Another account cannot revoke it.
    let mut other = Browser::at(&site, "198.51.100.9");
    other.owner("owner_b", "b@example.cn", "secret-2").await;
    let id = site.store.tokens_of(1).await.unwrap()[0].id;
    let page = other
        .account_form(&format!("/account/tokens/{id}/revoke"), &[])
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(site.store.authenticate(&token).await.unwrap().is_some());

    let page = owner
        .account_form(&format!("/account/tokens/{id}/revoke"), &[])
        .await;
    assert_eq!(page.location(), "/account");
    assert!(owner.get("/account").await.body.contains("revoked"));
    // The API forgets a checked token within its cache time.
    tokio::time::sleep(outer::http::TOKEN_CACHE_TTL + std::time::Duration::from_millis(200)).await;
    let status = submit_filing(&site, &token, "owner-a2.example.cn").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_account_holds_at_most_twenty_live_tokens() {
    let site = site();
    let mut owner = Browser::new(&site);
    owner.owner("owner_a", "a@example.cn", "secret-1").await;
    for i in 0..outer::store::MAX_LIVE_TOKENS_PER_ACCOUNT {
        let page = owner
            .account_form("/account/tokens", &[("label", &format!("machine {i}"))])
            .await;
        assert_eq!(page.status, StatusCode::CREATED);
    }
    let page = owner
        .account_form("/account/tokens", &[("label", "one too many")])
        .await;
    assert_eq!(page.status, StatusCode::CONFLICT);
    assert!(page.problem("label").unwrap().contains("holds 20 tokens"));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_owner_sees_their_filings_numbers_review_dates_and_certificates_and_nobody_elses() {
    let site = site();
    let mut owner = Browser::new(&site);
    owner.owner("owner_a", "a@example.cn", "secret-1").await;
    let page = owner.get("/account/filings").await;
    assert!(page.body.contains("No submissions yet"), "{}", page.body);
    let token = shown_token(
        &owner
            .account_form("/account/tokens", &[("label", "filing")])
            .await
            .body,
    );
    let filing = testkit::api::new_filing("owner-a.example.cn").to_string();
    let request = Request::post("/api/v1/submissions")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Body::from(filing))
        .unwrap();
    let (status, body) = site.call(request).await;
    assert_eq!(status, StatusCode::CREATED);
    let receipt: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let receipt = receipt["receipt"].as_str().unwrap();

    let page = owner.get("/account/filings").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(receipt), "{}", page.body);
    assert!(page.body.contains("新增备案"));
    assert!(
        page.body
            .contains("已接收 <span class=\"en\">Received</span>"),
        "{}",
        page.body
    );

    // Approved inside, its certificate carried back: the list shows the filing number, the
    // annual review date (when the certificate expires, a year after the approval) and the
    // certificate to download.
    site.store
        .apply_status_change(testkit::records::approval(
            1,
            receipt,
            1_790_000_200,
            "浙ICP备2026000123号",
        ))
        .await
        .unwrap();
    site.store
        .store_certificate(testkit::records::certificate(
            "浙ICP备2026000123号",
            receipt,
            1_790_000_200,
        ))
        .await
        .unwrap();
    let page = owner.get("/account/filings").await;
    assert!(
        page.body
            .contains("已通过 <span class=\"en\">Approved</span>"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("<td class=\"filing-number\">浙ICP备2026000123号</td>")
    );
    assert!(
        page.body
            .contains("<td class=\"review-date\">2027-09-21</td>"),
        "{}",
        page.body
    );
    let link = page
        .body
        .split("class=\"certificate\" href=\"")
        .nth(1)
        .unwrap();
    let link = &link[..link.find('"').unwrap()];
    // The owner downloads it by their session; nobody without one does.
    let download = owner.get(link).await;
    assert_eq!(download.status, StatusCode::OK, "{link}");
    assert_eq!(download.body, "untrusted comment: test certificate\n");
    let response = site
        .router
        .clone()
        .oneshot(Request::get(link).body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "{link}");

    let mut other = Browser::at(&site, "198.51.100.9");
    other.owner("owner_b", "b@example.cn", "secret-2").await;
    let page = other.get("/account/filings").await;
    assert!(!page.body.contains(receipt));
    // Without a login the page is the login page.
    let mut anonymous = Browser::at(&site, "198.51.100.10");
    assert_eq!(
        anonymous.get("/account/filings").await.location(),
        "/account/login"
    );
}
