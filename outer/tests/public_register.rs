//! The public register outside: entries and removals from the inner side applied in any order
//! keep the newest per filing number, the query by website name, domain or filing number is
//! bounded and answers without an account, and the page, in headless Chromium, shows what the
//! query finds (its screenshot stays under `target/tmp/` as the test's artefact).

mod common;

use bundle_format::records::{RegisterEntry, RegisterRemoval, RegisterWebsite};
use common::{dom_in_chromium, screenshot_ink_in_chromium, start_with};
use outer::config::Limits;
use outer::http::AppState;
use outer::store::{RegisterQuery, Store};

const NUMBER: &str = "浙ICP备2026000001号";

fn entry(event: u64, name: &str, domains: &[&str]) -> RegisterEntry {
    RegisterEntry {
        event,
        filing_number: NUMBER.to_owned(),
        subject_name: "杭州青山绿水网络科技有限公司".to_owned(),
        subject_nature: "enterprise".to_owned(),
        websites: vec![RegisterWebsite {
            website_number: format!("{NUMBER}-1"),
            name: name.to_owned(),
            domains: domains.iter().map(|d| (*d).to_owned()).collect(),
        }],
        approved_at: 1_795_334_400,
    }
}

fn removal(event: u64) -> RegisterRemoval {
    RegisterRemoval {
        event,
        filing_number: NUMBER.to_owned(),
        removed_at: 1_795_420_800,
        reason: "filing-revoked".to_owned(),
    }
}

async fn apply_entry(store: &Store, entry: RegisterEntry) -> bool {
    store
        .write(move |conn| outer::store::apply_register_entry_on(conn, &entry))
        .await
        .unwrap()
}

async fn apply_removal(store: &Store, removal: RegisterRemoval) -> bool {
    store
        .write(move |conn| outer::store::apply_register_removal_on(conn, &removal))
        .await
        .unwrap()
}

async fn by_domain(store: &Store, domain: &str) -> Vec<String> {
    store
        .query_register(RegisterQuery::Domain(domain.to_owned()))
        .await
        .unwrap()
        .into_iter()
        .map(|w| w.website_name)
        .collect()
}

#[tokio::test]
async fn the_newest_register_record_wins_whatever_order_they_are_applied_in() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("outer.db")).unwrap();
    assert!(apply_entry(&store, entry(5, "青山官网", &["qingshan1.cn"])).await);
    assert_eq!(by_domain(&store, "QingShan1.cn.").await, ["青山官网"]);

    // A change replaces the entry: the old domain goes, the new one is found.
    assert!(apply_entry(&store, entry(7, "青山新官网", &["qingshan2.cn"])).await);
    assert!(by_domain(&store, "qingshan1.cn").await.is_empty());
    assert_eq!(by_domain(&store, "qingshan2.cn").await, ["青山新官网"]);
    // An older entry read late changes nothing.
    assert!(!apply_entry(&store, entry(6, "旧", &["qingshan1.cn"])).await);
    assert_eq!(by_domain(&store, "qingshan2.cn").await, ["青山新官网"]);

    // The removal takes it out of every query; an older entry cannot bring it back.
    assert!(apply_removal(&store, removal(9)).await);
    assert!(by_domain(&store, "qingshan2.cn").await.is_empty());
    let by_number = store
        .query_register(RegisterQuery::FilingNumber(NUMBER.to_owned()))
        .await
        .unwrap();
    assert!(by_number.is_empty());
    assert!(!apply_entry(&store, entry(8, "青山新官网", &["qingshan2.cn"])).await);
    assert!(by_domain(&store, "qingshan2.cn").await.is_empty());
    assert_eq!(
        store.register_removal(NUMBER).await.unwrap(),
        Some((1_795_420_800, "filing-revoked".to_owned()))
    );
    // A later approval under the same number (a new entry, newer event) shows it again.
    assert!(apply_entry(&store, entry(10, "青山官网", &["qingshan1.cn"])).await);
    assert_eq!(by_domain(&store, "qingshan1.cn").await, ["青山官网"]);
}

#[tokio::test]
async fn a_public_query_answers_at_most_fifty_websites() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("outer.db")).unwrap();
    for n in 0..60u64 {
        let mut e = entry(n + 1, "同名网站", &[]);
        e.filing_number = format!("浙ICP备2026{:06}号", n + 1);
        e.websites[0].website_number = format!("{}-1", e.filing_number);
        e.websites[0].domains = vec![format!("site{n}.cn")];
        assert!(apply_entry(&store, e).await);
    }
    let found = store
        .query_register(RegisterQuery::WebsiteName("同名网站".to_owned()))
        .await
        .unwrap();
    assert_eq!(found.len(), outer::store::MAX_REGISTER_RESULTS);
    assert_eq!(found[0].filing_number, "浙ICP备2026000001号");
}

#[tokio::test]
async fn the_public_query_page_shows_the_register_in_headless_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("outer.db")).unwrap();
    apply_entry(
        &store,
        entry(1, "青山企业展示网站", &["qingshan1.cn", "www.qingshan1.cn"]),
    )
    .await;
    let running = start_with(store, Limits::default()).await;
    let addr = running.addr;

    // No account, no credentials: the page is public.
    let url = format!("http://{addr}/register?q=www.qingshan1.cn&by=domain");
    let profile = tempfile::tempdir().unwrap();
    let dom = dom_in_chromium(profile.path(), &url).await;
    assert!(
        dom.contains("ICP备案信息查询") && dom.contains("Public register"),
        "{dom}"
    );
    assert!(dom.contains("class=\"register-row\""), "{dom}");
    assert!(dom.contains(&format!("{NUMBER}-1")), "{dom}");
    assert!(dom.contains("杭州青山绿水网络科技有限公司"), "{dom}");
    assert!(dom.contains("青山企业展示网站"), "{dom}");
    assert!(dom.contains("企业"), "{dom}");
    assert!(dom.contains("2026-11-22"), "{dom}");

    let missing = format!("http://{addr}/register?q=nowhere.cn");
    let dom = dom_in_chromium(profile.path(), &missing).await;
    assert!(dom.contains("未查到已备案的网站"), "{dom}");

    let (dark, _) = screenshot_ink_in_chromium(profile.path(), &url, "public-register.png").await;
    assert!(
        dark > 2000,
        "the screenshot shows almost no text ({dark} dark pixels)"
    );

    running.stop().await;
}

#[tokio::test]
async fn a_query_string_that_does_not_parse_is_answered_in_the_apis_error_shape() {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt as _;

    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("outer.db")).unwrap();
    let app = outer::http::router(AppState::new(store, Limits::default()));
    let call = |uri: &'static str| {
        let app = app.clone();
        async move {
            let response = app
                .oneshot(Request::get(uri).body(Body::empty()).unwrap())
                .await
                .unwrap();
            let status = response.status();
            let kind = response.headers()["content-type"]
                .to_str()
                .unwrap()
                .to_owned();
            let body = axum::body::to_bytes(response.into_body(), 1 << 20)
                .await
                .unwrap();
            (status, kind, String::from_utf8_lossy(&body).into_owned())
        }
    };
    let (status, kind, body) = call("/api/v1/register?q=0&by=null&by=null").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(kind.starts_with("application/json"), "{kind}");
    assert!(body.contains("register.bad_query"), "{body}");
    let (status, _, body) = call("/api/v1/register?by=domain").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("register.empty_query"), "{body}");
    let (status, kind, _) = call("/register?q=0&by=a&by=b").await;
    assert_eq!(status, StatusCode::OK);
    assert!(kind.starts_with("text/html"), "{kind}");
}
