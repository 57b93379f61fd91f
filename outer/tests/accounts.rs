//! Website owners' accounts in a browser, over the intake's real router and a real SMTP server:
//! registration under the manuals' rules, the e-mailed verification code, login with a session
//! cookie, CSRF on every form, throttled password guessing, password change and reset, and
//! deletion. Each test is named after what a person (or an attacker) would notice.

mod web;

use axum::http::StatusCode;
use outer::config::AccountsConfig;
use web::{Browser, site, site_with};

#[tokio::test(flavor = "multi_thread")]
async fn an_owner_registers_confirms_the_emailed_code_and_logs_in_with_a_hardened_cookie() {
    let site = site();
    let mut browser = Browser::new(&site);
    let code = browser
        .register("张三_web", "zhangsan@example.cn", "secret-1")
        .await;

    // Not before the code came back.
    let page = browser.login("张三_web", "secret-1").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(
        page.location().starts_with("/account/verify"),
        "{}",
        page.location()
    );
    assert!(!browser.cookies.contains_key("__Host-sluice-session"));

    let page = browser.send_code("张三_web", &code).await;
    assert_eq!(
        page.location(),
        "/account/login?verified=1",
        "{}",
        page.body
    );

    let page = browser.login("张三_web", "secret-1").await;
    assert_eq!(page.location(), "/account", "{}", page.body);
    let cookie = page
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with("__Host-sluice-session="))
        .expect("a session cookie");
    for attribute in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
    }
    assert!(!cookie.contains("Domain"), "{cookie}");

    let page = browser.get("/account").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("张三_web"), "{}", page.body);
    assert!(page.body.contains("网站主办者"), "{}", page.body);
    assert_eq!(page.headers["cache-control"], "no-store");
    assert!(
        page.headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );

    // Logging out ends the session in the store: a copy of the cookie is worthless.
    let stolen = browser.cookies.clone();
    let page = browser.account_form("/account/logout", &[]).await;
    assert_eq!(page.location(), "/account/login");
    let mut thief = Browser::at(&site, "203.0.113.9");
    thief.cookies = stolen;
    let page = thief.get("/account").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), "/account/login");
}

#[tokio::test(flavor = "multi_thread")]
async fn registration_breaking_the_manuals_rules_names_each_field_and_stores_nothing() {
    let site = site();
    let mut browser = Browser::new(&site);
    let page = browser
        .submit(
            "/account/register",
            "/account/register",
            &[
                ("name", "has space"),
                ("email", "not-an-address"),
                ("password", "12345678"),
                ("password2", "12345679"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.problem("name").unwrap().contains("underscores"),
        "{}",
        page.body
    );
    assert!(page.problem("email").unwrap().contains("valid e-mail"));
    assert!(page.problem("password").unwrap().contains("all digits"));
    assert!(page.problem("password2").unwrap().contains("differ"));
    // What was typed is kept, except passwords.
    assert!(page.body.contains("value=\"has space\""));
    assert!(!page.body.contains("12345678"));

    let page = browser
        .send_registration("zhang_san", "z@example.cn", "zhang_san")
        .await;
    assert!(
        page.problem("password")
            .unwrap()
            .contains("not be the user name")
    );
    let page = browser
        .send_registration("名".repeat(40).as_str(), "z@example.cn", "abc")
        .await;
    assert!(
        page.problem("name").unwrap().contains("32"),
        "{}",
        page.body
    );
    assert!(page.problem("password").unwrap().contains("at least 6"));
    assert!(
        site.store
            .login_record("zhang_san")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        site.smtp.messages().len(),
        0,
        "no e-mail for a refused form"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_taken_user_name_cannot_be_registered_again() {
    let site = site();
    let mut browser = Browser::new(&site);
    browser
        .register("owner_a", "a@example.cn", "secret-1")
        .await;
    let page = browser
        .send_registration("owner_a", "b@example.cn", "secret-2")
        .await;
    assert_eq!(page.status, StatusCode::CONFLICT);
    assert!(page.problem("name").unwrap().contains("taken"));
    assert_eq!(site.smtp.count_to("b@example.cn"), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_name_squatted_by_a_registration_never_verified_is_freed_after_a_day() {
    let site = site();
    let mut squatter = Browser::at(&site, "203.0.113.7");
    squatter
        .register("good_name", "nobody@example.cn", "secret-1")
        .await;
    let mut owner = Browser::new(&site);
    let fields = [
        ("name", "good_name"),
        ("email", "owner@example.cn"),
        ("password", "secret-2"),
        ("password2", "secret-2"),
    ];
    let page = owner
        .submit("/account/register", "/account/register", &fields)
        .await;
    assert_eq!(
        page.status,
        StatusCode::CONFLICT,
        "taken while the code may still come"
    );
    // A day later (the row aged in the store's own file), the name is free again.
    rusqlite::Connection::open(site.store.path())
        .unwrap()
        .execute(
            "UPDATE accounts SET created_at = created_at - ?1 WHERE name = 'good_name'",
            [outer::store::UNVERIFIED_REGISTRATION_SECS + 1],
        )
        .unwrap();
    owner
        .owner("good_name", "owner@example.cn", "secret-2")
        .await;
    let record = site.store.login_record("good_name").await.unwrap().unwrap();
    assert_eq!(record.account.email.as_deref(), Some("owner@example.cn"));
    // A verified account's name is never freed, however old.
    rusqlite::Connection::open(site.store.path())
        .unwrap()
        .execute(
            "UPDATE accounts SET created_at = 0 WHERE name = 'good_name'",
            [],
        )
        .unwrap();
    let mut late = Browser::at(&site, "203.0.113.9");
    let page = late
        .send_registration("good_name", "late@example.cn", "secret-3")
        .await;
    assert_eq!(page.status, StatusCode::CONFLICT);
}

#[tokio::test(flavor = "multi_thread")]
async fn login_form_without_csrf_token_is_refused() {
    let site = site();
    let mut browser = Browser::new(&site);
    browser.owner("owner_a", "a@example.cn", "secret-1").await;
    let mut stranger = Browser::new(&site);
    stranger.get("/account/login").await;
    for fields in [
        vec![("name", "owner_a"), ("password", "secret-1")],
        vec![("name", "owner_a"), ("password", "secret-1"), ("csrf", "0")],
    ] {
        let page = stranger.post_raw("/account/login", &fields).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
        assert!(page.body.contains("did not come from this site"));
        assert!(!stranger.cookies.contains_key("__Host-sluice-session"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_form_posted_from_another_site_is_refused_even_with_the_victims_cookies() {
    let site = site();
    let mut victim = Browser::new(&site);
    victim.owner("owner_a", "a@example.cn", "secret-1").await;
    let csrf = victim.get("/account").await.csrf();
    // A forged request carries the victim's cookies (had SameSite not stopped them) but not
    // the session's token.
    let page = victim
        .post_raw("/account/tokens", &[("label", "attacker's")])
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let page = victim
        .post_raw(
            "/account/tokens",
            &[("label", "x"), ("csrf", &"0".repeat(64))],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    // The token of an anonymous page is not the session's either.
    let anonymous = victim.cookies["__Host-sluice-csrf"].clone();
    let page = victim
        .post_raw("/account/tokens", &[("label", "x"), ("csrf", &anonymous)])
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(site.store.tokens_of(1).await.unwrap().is_empty());
    // With the right token the form works.
    let page = victim
        .post_raw("/account/tokens", &[("label", "mine"), ("csrf", &csrf)])
        .await;
    assert_eq!(page.status, StatusCode::CREATED, "{}", page.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_form_sent_with_another_sites_origin_is_refused() {
    let site = site();
    let mut browser = Browser::new(&site);
    let page = browser.get("/account/login").await;
    let csrf = page.csrf();
    let body = format!("name=x&password=y&csrf={csrf}");
    let cookie = format!("__Host-sluice-csrf={csrf}");
    let request = axum::http::Request::post("/account/login")
        .header("host", "beian.test")
        .header("origin", "https://evil.example")
        .header("cookie", cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(axum::body::Body::from(body))
        .unwrap();
    let response = tower::ServiceExt::oneshot(site.router.clone(), request)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread")]
async fn password_guessing_is_throttled_per_account() {
    let site = site();
    let mut owner = Browser::new(&site);
    owner.owner("owner_a", "a@example.cn", "secret-1").await;
    // Guesses from many addresses, five wrong ones in all.
    for i in 0..5 {
        let mut attacker = Browser::at(&site, &format!("203.0.113.{}", 10 + i));
        let page = attacker.login("owner_a", &format!("guess-{i}")).await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED, "{}", page.body);
        assert!(page.problem("login").unwrap().contains("wrong"));
    }
    // Now even the right password is not checked, from anywhere, until the window passes.
    let mut attacker = Browser::at(&site, "203.0.113.99");
    let page = attacker.login("owner_a", "secret-1").await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS, "{}", page.body);
    assert!(page.headers.contains_key("retry-after"));
    assert!(page.body.contains("Too many failed logins"));
    assert!(!attacker.cookies.contains_key("__Host-sluice-session"));
    // Another account is not affected.
    let mut other = Browser::at(&site, "198.51.100.20");
    other.owner("owner_b", "b@example.cn", "secret-2").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn password_guessing_is_throttled_per_address() {
    let site = site_with(AccountsConfig {
        max_failed_logins_per_address: 4,
        ..AccountsConfig::default()
    });
    let mut owner = Browser::at(&site, "198.51.100.1");
    owner.owner("owner_a", "a@example.cn", "secret-1").await;
    // One address spraying guesses across names (two per name, under the account limit).
    let mut attacker = Browser::at(&site, "203.0.113.5");
    for name in ["owner_a", "owner_a", "nobody_1", "nobody_2"] {
        let page = attacker.login(name, "secret-x").await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    }
    let page = attacker.login("owner_a", "secret-1").await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
    // The owner, from their own address, still logs in.
    let page = owner.login("owner_a", "secret-1").await;
    assert_eq!(page.location(), "/account", "{}", page.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_guessed_verification_code_dies_after_five_wrong_tries() {
    let site = site();
    let mut browser = Browser::new(&site);
    let code = browser
        .register("owner_a", "a@example.cn", "secret-1")
        .await;
    let wrong = if code.as_str() == "000000" {
        "111111"
    } else {
        "000000"
    };
    for left in (0..5).rev() {
        let page = browser.send_code("owner_a", wrong).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            page.problem("code")
                .unwrap()
                .contains(&format!("{left} more")),
            "{}",
            page.body
        );
    }
    let page = browser.send_code("owner_a", &code).await;
    assert!(page.problem("code").unwrap().contains("No code is waiting"));
    // A new code, sent again (at once, since the dead one is gone), works.
    let page = browser
        .submit(
            "/account/verify?name=owner_a",
            "/account/verify/resend",
            &[("name", "owner_a")],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let mail = site.smtp.wait_for_message_to("a@example.cn", 1);
    let fresh = testkit::smtp::code_in(&mail, 6).unwrap();
    let page = browser.send_code("owner_a", &fresh).await;
    assert_eq!(
        page.location(),
        "/account/login?verified=1",
        "{}",
        page.body
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn asking_again_and_again_for_a_code_does_not_flood_the_inbox() {
    let site = site();
    let mut owner = Browser::new(&site);
    owner.owner("owner_a", "a@example.cn", "secret-1").await;
    let mut stranger = Browser::at(&site, "203.0.113.4");
    for _ in 0..3 {
        let page = stranger.ask_reset("owner_a", "a@example.cn").await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
    }
    site.smtp.wait_for_message_to("a@example.cn", 1);
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(
        site.smtp.count_to("a@example.cn"),
        2,
        "the verification and one reset code: a second code waits a minute"
    );
    // And one address cannot make the site send mail without end to many accounts.
    let mut sprayer = Browser::at(&site, "203.0.113.8");
    let mut refused = false;
    for i in 0..12 {
        let page = sprayer
            .send_registration(
                &format!("spray_{i}"),
                &format!("victim{i}@example.cn"),
                "secret-1",
            )
            .await;
        if page.status == StatusCode::TOO_MANY_REQUESTS {
            assert!(page.body.contains("Too many e-mails from this address"));
            refused = true;
            break;
        }
    }
    assert!(refused, "an address's e-mails are limited");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_password_change_ends_the_other_sessions_and_the_old_password_stops_working() {
    let site = site();
    let mut laptop = Browser::new(&site);
    laptop.owner("owner_a", "a@example.cn", "secret-1").await;
    let mut phone = Browser::at(&site, "198.51.100.8");
    assert_eq!(
        phone.login("owner_a", "secret-1").await.location(),
        "/account"
    );

    let page = laptop
        .account_form(
            "/account/password",
            &[
                ("current", "wrong-one"),
                ("password", "secret-2"),
                ("password2", "secret-2"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.problem("current").unwrap().contains("wrong"));
    let page = laptop
        .account_form(
            "/account/password",
            &[
                ("current", "secret-1"),
                ("password", "123456"),
                ("password2", "123456"),
            ],
        )
        .await;
    assert!(page.problem("password").unwrap().contains("all digits"));

    let page = laptop
        .account_form(
            "/account/password",
            &[
                ("current", "secret-1"),
                ("password", "secret-2"),
                ("password2", "secret-2"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("The password is changed"));
    assert_eq!(laptop.get("/account").await.status, StatusCode::OK);
    assert_eq!(phone.get("/account").await.location(), "/account/login");
    let mut fresh = Browser::at(&site, "198.51.100.9");
    assert_eq!(
        fresh.login("owner_a", "secret-1").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        fresh.login("owner_a", "secret-2").await.location(),
        "/account"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_forgotten_password_is_reset_by_the_emailed_code_and_strangers_learn_nothing() {
    let site = site();
    let mut owner = Browser::new(&site);
    owner.owner("owner_a", "a@example.cn", "secret-1").await;
    let mut other_session = Browser::at(&site, "198.51.100.8");
    assert_eq!(
        other_session.login("owner_a", "secret-1").await.location(),
        "/account"
    );

    // A wrong address and an unknown name get the same answer as the right pair, and no mail.
    let mut stranger = Browser::at(&site, "203.0.113.4");
    for (name, email) in [("owner_a", "x@example.cn"), ("nobody_1", "a@example.cn")] {
        let page = stranger.ask_reset(name, email).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
        assert!(page.location().starts_with("/account/reset/confirm?name="));
    }
    assert_eq!(site.smtp.count_to("x@example.cn"), 0);
    assert_eq!(
        site.smtp.count_to("a@example.cn"),
        1,
        "only the verification"
    );

    let page = owner.ask_reset("owner_a", "A@example.cn").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let mail = site.smtp.wait_for_message_to("a@example.cn", 1);
    assert!(mail.contains("/account/reset/confirm"), "{mail}");
    let code = testkit::smtp::code_in(&mail, 6).unwrap();
    let page = owner.confirm_reset("owner_a", &code, "short").await;
    assert!(page.problem("password").unwrap().contains("at least 6"));
    let page = owner.confirm_reset("owner_a", &code, "new-secret").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert!(page.location().starts_with("/account/login?reset=1"));
    // Every session ended; only the new password works; the code is used up.
    assert_eq!(
        other_session.get("/account").await.location(),
        "/account/login"
    );
    let mut fresh = Browser::at(&site, "198.51.100.9");
    assert_eq!(
        fresh.login("owner_a", "secret-1").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        fresh.login("owner_a", "new-secret").await.location(),
        "/account"
    );
    let page = owner.confirm_reset("owner_a", &code, "third-secret").await;
    assert!(page.problem("code").unwrap().contains("No code is waiting"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deleted_account_cannot_log_in_use_its_tokens_or_have_its_name_taken() {
    let site = site();
    let mut owner = Browser::new(&site);
    owner.owner("owner_a", "a@example.cn", "secret-1").await;
    let page = owner
        .account_form("/account/tokens", &[("label", "ci")])
        .await;
    let token = page.body.split("id=\"secret\">").nth(1).unwrap();
    let token = token[..token.find('<').unwrap()].to_owned();
    assert!(site.store.authenticate(&token).await.unwrap().is_some());

    let page = owner
        .account_form("/account/delete", &[("password", "not-it")])
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.problem("delete").unwrap().contains("not deleted"));
    let page = owner
        .account_form("/account/delete", &[("password", "secret-1")])
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("The account is deleted"));
    assert!(!owner.cookies.contains_key("__Host-sluice-session"));

    assert!(site.store.authenticate(&token).await.unwrap().is_none());
    let mut again = Browser::at(&site, "198.51.100.9");
    assert_eq!(
        again.login("owner_a", "secret-1").await.status,
        StatusCode::UNAUTHORIZED
    );
    let page = again
        .send_registration("owner_a", "mallory@example.cn", "secret-9")
        .await;
    assert_eq!(page.status, StatusCode::CONFLICT, "the name stays reserved");
}

#[tokio::test(flavor = "multi_thread")]
async fn oversized_forms_and_fields_are_refused_naming_the_limit() {
    let site = site();
    let mut browser = Browser::new(&site);
    let huge = "a".repeat(20 * 1024);
    let page = browser
        .submit("/account/login", "/account/login", &[("name", &huge)])
        .await;
    assert_eq!(page.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(page.body.contains("16384"), "{}", page.body);
    let long_password = "p".repeat(200);
    let page = browser
        .send_registration("owner_a", "a@example.cn", &long_password)
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.problem("password").unwrap().contains("128"),
        "{}",
        page.body
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_session_or_a_disabled_account_is_logged_out() {
    let site = site();
    let mut owner = Browser::new(&site);
    owner.owner("owner_a", "a@example.cn", "secret-1").await;
    assert_eq!(owner.get("/account").await.status, StatusCode::OK);
    // The session's end, as the store keeps it, has passed.
    rusqlite::Connection::open(site.store.path())
        .unwrap()
        .execute("UPDATE sessions SET expires_at = 0", [])
        .unwrap();
    assert_eq!(owner.get("/account").await.location(), "/account/login");
    let page = owner.post_raw("/account/tokens", &[("label", "x")]).await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);

    // An operator disables the account on the command line: its sessions stop at once.
    assert_eq!(
        owner.login("owner_a", "secret-1").await.location(),
        "/account"
    );
    let store = site.store.clone();
    std::thread::spawn(move || store.set_account_disabled("owner_a", true).unwrap())
        .join()
        .unwrap();
    assert_eq!(owner.get("/account").await.location(), "/account/login");
    let page = owner.login("owner_a", "secret-1").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.problem("login").unwrap().contains("disabled"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stolen_database_holds_no_password_session_or_code_in_the_clear() {
    let site = site();
    let mut owner = Browser::new(&site);
    owner.owner("owner_a", "a@example.cn", "secret-1").await;
    let page = owner.ask_reset("owner_a", "a@example.cn").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let mail = site.smtp.wait_for_message_to("a@example.cn", 1);
    let code = testkit::smtp::code_in(&mail, 6).unwrap();
    let cookie = owner.cookies["__Host-sluice-session"].clone();

    let conn = rusqlite::Connection::open(site.store.path()).unwrap();
    let hash: String = conn
        .query_row(
            "SELECT password_hash FROM accounts WHERE name = 'owner_a'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    assert!(!hash.contains("secret-1"));
    // The sessions and codes as the store holds them: the cookie's secret is in none of it,
    // and the code is kept as a 32-byte hash.
    let dump: Vec<String> = conn
        .prepare(
            "SELECT hex(session_hash) || csrf_token FROM sessions
             UNION ALL SELECT hex(code_hash) FROM email_codes",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(dump.len(), 2, "one session, one reset code");
    for row in &dump {
        assert!(!row.to_lowercase().contains(&cookie), "{row}");
    }
    let code_hash: Vec<u8> = conn
        .query_row("SELECT code_hash FROM email_codes", [], |r| r.get(0))
        .unwrap();
    assert_eq!(code_hash.len(), 32);
    assert_ne!(&code_hash[..6], code.as_bytes());
}
