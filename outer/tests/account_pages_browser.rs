//! The account pages in a real browser: headless Chromium, driven over its DevTools pipe,
//! registers a website owner, reads the code from a real SMTP server, verifies, logs in,
//! issues an API token, enters a new filing in the form and finds it in the list, and logs
//! out, as a person would with the keyboard. The session cookie must work in the browser
//! (Secure, `__Host-` and SameSite included) and stay out of the page's reach (HttpOnly).
//! Screenshots of each page stay under `target/tmp/` as the test's artefacts.

mod web;

use std::path::Path;

use outer::config::{AccountsConfig, Limits};
use outer::http::AppState;
use outer::mail::Mailer;
use outer::store::Store;
use testkit::browser::screenshot_ink;
use testkit::cdp::Tab;
use testkit::smtp::{SmtpServer, code_in};
use web::Served;

#[test]
fn an_owner_registers_verifies_logs_in_and_issues_a_token_in_headless_chromium() {
    let smtp = SmtpServer::start();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("outer.db")).unwrap();
    let mail = web::mail_through(&smtp);
    let state = AppState::with_accounts(
        store,
        Limits::default(),
        AccountsConfig::default(),
        Some(Mailer::new(mail)),
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let served = Served::start(&runtime, state);
    let base = served.base.clone();
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let mut tab = Tab::open();

    tab.goto(&format!("{base}/account/register"));
    let shot = tab.screenshot(shots, "account-register.png");
    let (dark, _) = screenshot_ink(&shot);
    assert!(
        dark > 2000,
        "the registration page shows its text: {dark} dark pixels"
    );

    // A password of digits only: the page comes back naming the field, the name kept.
    tab.submit(
        "register",
        &[
            ("name", "李四_site"),
            ("email", "lisi@example.cn"),
            ("password", "12345678"),
            ("password2", "12345678"),
        ],
        "/account/register",
    );
    let problem = tab.text_of("password-problem").unwrap_or_else(|| {
        panic!(
            "no problem beside the password: {}",
            tab.eval("document.body.innerText")
        )
    });
    assert!(problem.contains("all digits"), "{problem}");
    assert_eq!(
        tab.eval("document.getElementById('name').value"),
        "李四_site"
    );
    tab.screenshot(shots, "account-register-refused.png");

    tab.submit(
        "register",
        &[
            ("name", "李四_site"),
            ("email", "lisi@example.cn"),
            ("password", "li-si-2026"),
            ("password2", "li-si-2026"),
        ],
        "/account/verify",
    );
    let mail = smtp.wait_for_message_to("lisi@example.cn", 0);
    let code = code_in(&mail, 6).expect("a code in the e-mail");
    tab.screenshot(shots, "account-verify.png");
    tab.submit("verify", &[("code", &code)], "/account/login?verified=1");
    tab.submit(
        "login",
        &[("name", "李四_site"), ("password", "li-si-2026")],
        "/account",
    );
    assert_eq!(
        tab.text_of("account-name").as_deref(),
        Some("李四_site"),
        "the browser kept the session cookie: {}",
        tab.url()
    );
    // The session cookie (and the CSRF cookie) are HttpOnly: no script on the page sees them.
    assert_eq!(tab.eval("document.cookie"), "");
    let shot = tab.screenshot(shots, "account-home.png");
    assert!(screenshot_ink(&shot).0 > 2000);

    tab.submit("issue-token", &[("label", "构建服务器")], "/account/tokens");
    let token = tab.text_of("secret").expect("the token is shown once");
    assert!(token.starts_with("sluice_"), "{token}");
    tab.screenshot(shots, "account-token.png");

    // A new filing typed into the form, then seen in the owner's list.
    tab.goto(&format!("{base}/account/filings"));
    assert!(tab.text_of("empty").unwrap().contains("No submissions yet"));
    tab.goto(&format!("{base}/account/filings/new"));
    let fields = web::typed_filing("李四", "lisi@example.cn", "lisi-site.cn");
    let typed: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    tab.screenshot(shots, "account-new-filing.png");
    tab.submit("new-filing", &typed, "/account/filings");
    let listed = tab.text_of("filings").unwrap_or_else(|| {
        panic!(
            "no list of filings: {}",
            tab.eval("document.body.innerText")
        )
    });
    assert!(
        listed.contains("新增备案") && listed.contains("已接收"),
        "{listed}"
    );
    tab.screenshot(shots, "account-filings.png");

    tab.goto(&format!("{base}/account"));
    tab.submit("logout", &[], "/account/login");
    tab.goto(&format!("{base}/account"));
    assert!(tab.url().ends_with("/account/login"), "{}", tab.url());

    drop(tab);
    served.stop(&runtime);
}
