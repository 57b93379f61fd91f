//! Every answer of the intake service carries the browser-hardening headers, whatever the route
//! and whatever the outcome (success, refusal, unknown path): a page or an error body can never
//! be framed by another site (clickjacking), run a script, or be sniffed as another type.

use axum::body::Body;
use axum::http::{Method, Request};
use outer::config::Limits;
use outer::http::{AppState, SECURITY_HEADERS, router, served_routes};
use outer::store::Store;
use tower::ServiceExt as _;

#[tokio::test]
async fn every_route_and_every_refusal_carries_the_security_headers() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("outer.db")).unwrap();
    let app = router(AppState::new(store, Limits::default()));
    let mut requests: Vec<(String, String)> = served_routes()
        .into_iter()
        .map(|(method, path)| {
            let path = path
                .replace("{receipt}", "R20261203-3F9K2Q7M")
                .replace("{filing_number}", "京ICP备2026000123号");
            (method.to_ascii_uppercase(), path)
        })
        .collect();
    requests.push(("GET".to_owned(), "/no-such-page".to_owned()));
    requests.push(("DELETE".to_owned(), "/healthz".to_owned()));
    for (method, path) in requests {
        let uri = path.replace('京', "%E4%BA%AC");
        let response = app
            .clone()
            .oneshot(
                Request::builder()
                    .method(Method::from_bytes(method.as_bytes()).unwrap())
                    .uri(&uri)
                    .header("content-type", "application/json")
                    .body(Body::from("{}"))
                    .unwrap(),
            )
            .await
            .unwrap();
        for (name, value) in SECURITY_HEADERS {
            assert_eq!(
                response.headers().get(name).and_then(|v| v.to_str().ok()),
                Some(value),
                "{method} {path} answered {} without {name}",
                response.status()
            );
        }
        let policy = response.headers()["content-security-policy"]
            .to_str()
            .unwrap();
        assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
        assert!(
            !policy.contains("script-src"),
            "no script is ever allowed: {policy}"
        );
    }
}
