//! The operations page `/ops`: for operators only (a bearer token, or the token as the password
//! a browser asks for), the history the metrics runs kept plotted over time in Chinese and
//! English, as headless Chromium renders it; its screenshot stays under `target/tmp/`.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine as _;
use common::{app, dom_in_chromium, screenshot_ink_in_chromium, start_with, store_with_accounts};
use keys::ops::{Sample, parse_exposition};
use outer::config::Limits;
use outer::store::Store;

/// One metrics run's samples as `sluice-transfer status --prometheus` renders them.
fn metrics_run(
    taken_at: i64,
    pending: u64,
    in_transit: u64,
    returns: u64,
    quarantined: u64,
) -> Vec<Sample> {
    let text = format!(
        "# TYPE sluice_outer_pending_versions gauge\n\
         sluice_outer_pending_versions {pending}\n\
         sluice_outer_in_transit_versions {in_transit}\n\
         sluice_outer_unacknowledged_bundles {}\n\
         sluice_outer_oldest_unacknowledged_age_seconds {}\n\
         sluice_outer_next_sequence {}\n\
         sluice_outer_last_return_sequence {returns}\n\
         sluice_outer_last_return_age_seconds 60\n\
         sluice_quarantined_bundles{{code=\"envelope.bad-signature\"}} {quarantined}\n",
        u64::from(in_transit > 0),
        if in_transit > 0 { 900 } else { 0 },
        returns + 1,
    );
    parse_exposition(&text, taken_at)
}

async fn record(store: &Store, samples: Vec<Sample>) {
    store
        .write(move |conn| outer::store::ops::record_samples_on(conn, &samples))
        .await
        .unwrap();
}

fn basic(token: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("operator:{token}"))
    )
}

#[tokio::test]
async fn the_operations_page_is_for_operators_and_a_browser_is_asked_for_the_token() {
    let app = app();
    let get = |authorization: Option<String>| {
        let mut request = Request::get("/ops");
        if let Some(value) = authorization {
            request = request.header(header::AUTHORIZATION, value);
        }
        request.body(Body::empty()).unwrap()
    };

    let (status, _, headers) = app.raw(get(None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        headers[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .starts_with("Basic realm=\"Sluice operations\""),
        "a browser is asked for credentials: {headers:?}"
    );
    let (status, body, _) = app
        .raw(get(Some(format!("Bearer {}", app.tokens.owner))))
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "{}",
        String::from_utf8_lossy(&body)
    );
    let (status, _, _) = app.raw(get(Some(basic("sluice_not_a_token")))).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a wrong password is refused"
    );

    let (status, body, headers) = app.raw(get(Some(basic(&app.tokens.operator)))).await;
    let body = String::from_utf8(body).unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    let policy = headers["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("default-src 'none'"), "{policy}");
    assert!(
        !policy.contains("script-src"),
        "no script may run: {policy}"
    );
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    assert!(!body.contains("<script"), "{body}");
    // Nothing recorded yet: the page says how to start the history, in both languages.
    assert!(body.contains("尚无历史样本"), "{body}");
    assert!(body.contains("--record-history"), "{body}");
    let (status, _, _) = app
        .raw(get(Some(format!("Bearer {}", app.tokens.operator))))
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a bearer token works as for /metrics"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operations_page_plots_the_recorded_history_in_headless_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let (store, tokens) = store_with_accounts(&dir.path().join("outer.db"));
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    // Three metrics runs: the queue drains, a bundle goes out, one is quarantined.
    record(&store, metrics_run(now - 7200, 5, 0, 1, 0)).await;
    record(&store, metrics_run(now - 3600, 2, 3, 2, 0)).await;
    record(&store, metrics_run(now - 60, 0, 1, 3, 1)).await;
    // A run from before the retention is gone once a newer one is kept.
    record(&store, metrics_run(now - 40 * 86_400, 9, 9, 0, 0)).await;
    record(&store, metrics_run(now - 30, 0, 1, 3, 1)).await;
    let kept = store
        .read(move |conn| outer::store::ops::samples_since_on(conn, 0))
        .await
        .unwrap();
    assert!(
        kept.iter().all(|s| s.taken_at > now - 31 * 86_400),
        "samples older than 30 days are deleted"
    );

    let running = start_with(store, Limits::default()).await;
    let addr = running.addr;

    // The operator's token as the password of the URL's credentials, as a person would type it
    // into the browser's prompt.
    let url = format!("http://operator:{}@{addr}/ops", tokens.operator);
    let profile = tempfile::tempdir().unwrap();
    let dom = dom_in_chromium(profile.path(), &url).await;
    assert!(
        dom.contains("外网运行状态") && dom.contains("Outer side operations"),
        "{dom}"
    );
    for chart in ["bundles", "lag", "pending", "quarantine"] {
        assert!(
            dom.contains(&format!("id=\"chart-{chart}\"")),
            "chart {chart} missing: {dom}"
        );
    }
    assert!(dom.matches("<polyline").count() >= 6, "{dom}");
    // The latest values, as the last metrics run gave them.
    let latest =
        |series: &str, value: &str| testkit::browser::assert_latest_value(&dom, series, value);
    latest("sluice_outer_pending_versions", "0");
    latest("sluice_outer_in_transit_versions", "1");
    latest("sluice_outer_last_return_sequence", "3");
    latest(
        "sluice_quarantined_bundles{code=\"envelope.bad-signature\"}",
        "1",
    );
    // Export and apply never ran on this store: the page says so rather than showing nothing.
    assert!(dom.contains("data-timer=\"sluice-export\""), "{dom}");
    assert!(dom.contains("从未 never"), "{dom}");

    testkit::browser::assert_plots_rendered(
        screenshot_ink_in_chromium(profile.path(), &url, "ops-outer.png").await,
    );

    running.stop().await;
}
