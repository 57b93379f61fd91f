//! The crawler's check on the public register (`/register/check`), through the intake's real
//! router and a real SQLite store, against web servers on loopback: a registered website whose
//! certificate holds, one publishing a forged certificate, a domain the register does not list
//! (nothing fetched: the page is no way to make the server fetch what it is told), and a second
//! check within the interval answered from the first.

mod sites;
mod web;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use bundle_format::records::{RegisterEntry, RegisterWebsite};
use keys::SecretKey;
use outer::config::Limits;
use outer::http::site_checks::SiteChecks;
use outer::http::{AppState, router};
use outer::store::{AccountKind, Store};
use sites::{DOMAIN, NUMBER, certificate, home_page, serve_counting};
use tower::ServiceExt as _;
use web::{Approval, account_that_logs_in, file_approved};

/// An intake whose public register lists [`DOMAIN`] under [`NUMBER`], with the certificate
/// `published` on record for it, and that checks sites against `key`, reaching [`DOMAIN`] and
/// `unlisted.example.cn` at `address`.
struct Intake {
    router: Router,
    store: Store,
    _dir: tempfile::TempDir,
}

async fn intake(key: &SecretKey, recorded: &[u8], address: SocketAddr) -> Intake {
    let (state, store, dir) = intake_state(key, recorded, address).await;
    Intake {
        router: router(state),
        store,
        _dir: dir,
    }
}

/// The state of [`intake`]'s service, its store and the directory that holds it.
async fn intake_state(
    key: &SecretKey,
    recorded: &[u8],
    address: SocketAddr,
) -> (AppState, Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outer.db");
    let store = tokio::task::spawn_blocking(move || Store::open(&path).unwrap())
        .await
        .unwrap();
    let connect: BTreeMap<String, SocketAddr> = [
        (DOMAIN.to_owned(), address),
        ("unlisted.example.cn".to_owned(), address),
    ]
    .into();
    let state = AppState::new(store.clone(), Limits::default()).with_site_checks(SiteChecks::new(
        key.public_key(),
        connect,
        Duration::from_secs(600),
    ));
    let router = router(state.clone());
    account_that_logs_in(&store, "owner_a", AccountKind::WebsiteOwner, "secret-2026").await;
    let approval = Approval {
        number: NUMBER,
        document: recorded,
        password: "7K3Q-M9XD-2FHR-WT4B",
    };
    file_approved(&store, &router, "owner_a", DOMAIN, &approval).await;
    let entry = RegisterEntry {
        event: 1,
        filing_number: NUMBER.into(),
        subject_name: "北京青山科技有限公司".into(),
        subject_nature: "enterprise".into(),
        websites: vec![RegisterWebsite {
            website_number: format!("{NUMBER}-1"),
            name: "青山官网".into(),
            domains: vec![DOMAIN.into()],
        }],
        approved_at: sites::NOW - 86_400,
    };
    let kept = store.clone();
    assert!(
        kept.write(move |conn| outer::store::apply_register_entry_on(conn, &entry))
            .await
            .unwrap()
    );
    (state, store, dir)
}

async fn get(router: &Router, path: &str) -> (StatusCode, String) {
    let response = router
        .clone()
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

/// The checks the page shows as failing.
fn failing(page: &str) -> Vec<&str> {
    page.split("data-check=\"")
        .skip(1)
        .filter(|row| row.contains("data-ok=\"false\""))
        .map(|row| &row[..row.find('"').unwrap()])
        .collect()
}

fn requests(count: &Arc<AtomicUsize>) -> usize {
    count.load(Ordering::SeqCst)
}

fn check_path(domain: &str) -> String {
    format!("/register/check?domain={domain}")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_registered_site_whose_certificate_holds_passes_every_check_on_the_register_page() {
    let key = SecretKey::generate();
    let published = certificate(&key, sites::NOW + 3 * 365 * 86_400);
    let (address, count) = serve_counting(Some(published.clone()), &home_page());
    let intake = intake(&key, &published, address).await;

    let (status, register) = get(&intake.router, &format!("/register?q={DOMAIN}")).await;
    assert_eq!(status, StatusCode::OK, "{register}");
    assert!(
        register.contains(&format!("href=\"{}\"", check_path(DOMAIN))),
        "the register offers the check beside the domain: {register}"
    );

    let (status, page) = get(&intake.router, &check_path(DOMAIN)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(failing(&page).is_empty(), "{:?}: {page}", failing(&page));
    for check in [
        "certificate-fetched",
        "signature",
        "domain",
        "home-page",
        "register",
    ] {
        assert!(
            page.contains(&format!("data-check=\"{check}\" data-ok=\"true\"")),
            "{check}: {page}"
        );
    }
    assert!(page.contains("id=\"verdict\">全部核查通过"), "{page}");
    assert!(page.contains(NUMBER), "{page}");
    assert_eq!(requests(&count), 2, "the certificate and the home page");

    // Asked again within the interval: the last result, nothing fetched.
    let (status, again) = get(&intake.router, &check_path(DOMAIN.to_uppercase().as_str())).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert!(again.contains("this is the last result"), "{again}");
    assert!(failing(&again).is_empty(), "{again}");
    assert_eq!(requests(&count), 2, "no second fetch within the interval");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_forged_certificate_on_a_registered_site_fails_its_signature_on_the_page() {
    let key = SecretKey::generate();
    let recorded = certificate(&key, sites::NOW + 3 * 365 * 86_400);
    let forged = certificate(&SecretKey::generate(), sites::NOW + 3 * 365 * 86_400);
    let (address, _) = serve_counting(Some(forged), &home_page());
    let intake = intake(&key, &recorded, address).await;

    let (status, page) = get(&intake.router, &check_path(DOMAIN)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(failing(&page).contains(&"signature"), "{page}");
    assert!(page.contains("id=\"verdict\">未全部通过"), "{page}");
}

#[tokio::test(flavor = "multi_thread")]
async fn checking_a_domain_not_in_the_register_fetches_nothing() {
    let key = SecretKey::generate();
    let published = certificate(&key, sites::NOW + 3 * 365 * 86_400);
    let (address, count) = serve_counting(Some(published.clone()), &home_page());
    let intake = intake(&key, &published, address).await;

    for domain in [
        "unlisted.example.cn",
        "127.0.0.1",
        "localhost",
        "qingshan.example.cn.attacker.example",
        "",
    ] {
        let (status, page) = get(&intake.router, &check_path(domain)).await;
        assert!(
            status == StatusCode::NOT_FOUND || status == StatusCode::BAD_REQUEST,
            "{domain}: {status} {page}"
        );
        assert!(page.contains("id=\"problem\""), "{domain}: {page}");
        assert!(!page.contains("data-check="), "{domain}: {page}");
    }
    assert_eq!(
        requests(&count),
        0,
        "no request left the host for a domain the register does not list"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_registered_domain_resolving_to_this_host_is_not_fetched() {
    let key = SecretKey::generate();
    let published = certificate(&key, sites::NOW + 3 * 365 * 86_400);
    let (address, count) = serve_counting(Some(published.clone()), &home_page());
    let intake = intake(&key, &published, address).await;
    // A website owner controls the name's DNS: pointed at the intake's own host, a check
    // would fetch from there. `localhost` is registered here and not mapped by the operator.
    let entry = RegisterEntry {
        event: 2,
        filing_number: "京ICP备2026000018号".into(),
        subject_name: "北京本机科技有限公司".into(),
        subject_nature: "enterprise".into(),
        websites: vec![RegisterWebsite {
            website_number: "京ICP备2026000018号-1".into(),
            name: "本机".into(),
            domains: vec!["localhost".into()],
        }],
        approved_at: sites::NOW - 86_400,
    };
    assert!(
        intake
            .store
            .write(move |conn| outer::store::apply_register_entry_on(conn, &entry))
            .await
            .unwrap()
    );
    let (status, page) = get(&intake.router, &check_path("localhost")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(page.contains("public internet address"), "{page}");
    assert!(!page.contains("data-check="), "{page}");
    assert_eq!(requests(&count), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_certificate_key_no_check_is_offered() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outer.db");
    let store = tokio::task::spawn_blocking(move || Store::open(&path).unwrap())
        .await
        .unwrap();
    let router = router(AppState::new(store, Limits::default()));
    let (status, page) = get(&router, &check_path(DOMAIN)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{page}");
    assert!(page.contains("does not check websites"), "{page}");
}

#[test]
fn the_check_is_reached_from_the_register_page_in_headless_chromium() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let key = SecretKey::generate();
    let published = certificate(&key, sites::NOW + 3 * 365 * 86_400);
    let (address, count) = serve_counting(Some(published.clone()), &home_page());
    let (state, _store, _dir) = runtime.block_on(intake_state(&key, &published, address));
    let served = web::Served::start(&runtime, state);
    let shots = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    let mut tab = testkit::cdp::Tab::open();

    tab.goto(&format!("{}/register?q={DOMAIN}", served.base));
    tab.eval("document.querySelector('a.check-site').click(); true");
    tab.wait_for(|tab| tab.url().contains("/register/check"));
    let verdict = tab.text_of("verdict").unwrap_or_default();
    assert!(verdict.contains("Every check holds"), "{verdict}");
    assert_eq!(tab.text_of("filing-number").as_deref(), Some(NUMBER));
    let shot = tab.screenshot(shots, "register-site-check.png");
    assert!(testkit::browser::screenshot_ink(&shot).0 > 2000);
    assert_eq!(requests(&count), 2);
    served.stop(&runtime);
}
