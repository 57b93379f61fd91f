//! The filing password in a real browser: headless Chromium, driven over its DevTools pipe,
//! logs in as the owner of a newly approved filing, sees the filing password once on the
//! filings page (and not after reloading it), then, as anyone without an account, is refused
//! with a wrong password and downloads `bazs.cert` with the right one. Screenshots stay under
//! `target/tmp/` as the test's artefacts.

mod web;

use std::path::Path;
use std::time::{Duration, Instant};

use outer::http::{AppState, router};
use outer::store::{AccountKind, NewWebAccount, Store};
use testkit::browser::screenshot_ink;
use testkit::cdp::Tab;
use web::{Approval, Served, file_approved, intake, log_in};

const NUMBER: &str = "浙ICP备2026000321号";
const PASSWORD: &str = "Q7M3-K9XD-2FHR-WT4B";
const DOCUMENT: &[u8] = b"untrusted comment: sluice filing certificate\nbazs for the browser\n";

/// An owner account that can log in, with one new filing approved and its password, as a
/// return bundle's apply leaves them.
async fn approved_owner(store: &Store, state: &AppState, dir: &Path) {
    let hash = outer::accounts::hash_password("wang-wu-2026").unwrap();
    let account = store
        .create_web_account(NewWebAccount {
            name: "王五_site".into(),
            kind: AccountKind::WebsiteOwner,
            email: "wangwu@example.cn".into(),
            province: None,
            created_by: None,
            password_hash: Some(hash),
        })
        .await
        .unwrap();
    rusqlite::Connection::open(dir.join("outer.db"))
        .unwrap()
        .execute(
            "UPDATE accounts SET email_verified_at = 1 WHERE id = ?1",
            [account.id],
        )
        .unwrap();
    let approval = Approval {
        number: NUMBER,
        document: DOCUMENT,
        password: PASSWORD,
    };
    file_approved(
        store,
        &router(state.clone()),
        "王五_site",
        "wangwu.example.cn",
        &approval,
    )
    .await;
}

#[test]
fn the_owner_reads_the_password_once_and_anyone_downloads_bazs_cert_in_headless_chromium() {
    let (dir, store, state, runtime) = intake();
    runtime.block_on(approved_owner(&store, &state, dir.path()));
    let served = Served::start(&runtime, state);
    let base = served.base.clone();
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let mut tab = Tab::open();

    log_in(&mut tab, &base, "王五_site", "wang-wu-2026");
    tab.goto(&format!("{base}/account/filings"));
    let shown = tab.eval("(document.querySelector('.password') || {}).innerText ?? null");
    assert_eq!(
        shown.as_str(),
        Some(PASSWORD),
        "{}",
        tab.eval("document.body.innerText")
    );
    let note = tab
        .eval("document.querySelector('.filing-password').innerText")
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        note.contains("只显示这一次") && note.contains("shown only this once"),
        "{note}"
    );
    let shot = tab.screenshot(shots, "filing-password-shown.png");
    assert!(screenshot_ink(&shot).0 > 2000);
    tab.goto(&format!("{base}/account/filings"));
    assert_eq!(
        tab.eval("document.querySelector('.password') === null"),
        true,
        "shown once only"
    );
    tab.screenshot(shots, "filing-password-gone.png");

    // Anyone: a wrong password is refused beside the form, the number kept.
    tab.goto(&format!("{base}/account"));
    tab.submit("logout", &[], "/account/login");
    tab.goto(&format!("{base}/certificate"));
    tab.submit(
        "certificate",
        &[
            ("filing_number", NUMBER),
            ("filing_password", "0000-0000-0000-0000"),
        ],
        "/certificate",
    );
    let problem = tab
        .text_of("certificate-problem")
        .unwrap_or_else(|| panic!("no problem shown: {}", tab.eval("document.body.innerText")));
    assert!(
        problem.contains("不正确") && problem.contains("check both"),
        "{problem}"
    );
    assert_eq!(
        tab.eval("document.getElementById('filing_number').value"),
        NUMBER
    );
    let shot = tab.screenshot(shots, "certificate-download-refused.png");
    assert!(screenshot_ink(&shot).0 > 2000);

    // The right password, typed in lower case: the browser saves bazs.cert.
    let downloads = tempfile::tempdir().unwrap();
    tab.call(
        "Page.setDownloadBehavior",
        serde_json::json!({"behavior": "allow", "downloadPath": downloads.path()}),
    );
    tab.eval(&format!(
        "(() => {{ const form = document.getElementById('certificate'); \
           form.querySelector('[name=filing_password]').value = {}; \
           form.querySelector('button[type=submit]').click(); return true; }})()",
        serde_json::json!(PASSWORD.to_lowercase())
    ));
    let saved = downloads.path().join("bazs.cert");
    let started = Instant::now();
    while !saved.exists() && started.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(std::fs::read(&saved).unwrap(), DOCUMENT);

    drop(tab);
    served.stop(&runtime);
}
