//! Websites on loopback for the crawler's check: a certificate of the sample filing and a web
//! server publishing it (or not) beside a home page.

#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use filing::electronic_certificate::{CertifiedWebsite, ElectronicCertificate};
use keys::SecretKey;

pub const DOMAIN: &str = "qingshan.example.cn";
pub const NUMBER: &str = "京ICP备2026000017号";
pub const NOW: i64 = 1_796_000_000;

/// The sample filing's certificate, for [`DOMAIN`] under [`NUMBER`], signed by `key`.
pub fn certificate(key: &SecretKey, expires: i64) -> Vec<u8> {
    let text = ElectronicCertificate {
        serial: 17,
        filing_number: NUMBER.to_owned(),
        subject: "北京青山科技有限公司".to_owned(),
        websites: vec![CertifiedWebsite {
            number: format!("{NUMBER}-1"),
            name: "青山官网".to_owned(),
            domains: vec![DOMAIN.to_owned()],
        }],
        issued: NOW - 86_400,
        expires,
    }
    .render();
    bundle_format::envelope::seal(key, "sluice filing certificate", text.as_bytes()).unwrap()
}

/// A web server on loopback serving `certificate` at /cert/bazs.cert (404 when `None`) and
/// `home` at /; runs until the test process ends.
pub fn serve(certificate: Option<Vec<u8>>, home: &str) -> SocketAddr {
    serve_counting(certificate, home).0
}

/// [`serve`], with the count of requests it answered.
pub fn serve_counting(certificate: Option<Vec<u8>>, home: &str) -> (SocketAddr, Arc<AtomicUsize>) {
    let requests = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&requests);
    let home = home.to_owned();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let app = Router::new()
                .route(
                    "/cert/bazs.cert",
                    get(move || {
                        let certificate = certificate.clone();
                        async move {
                            match certificate {
                                Some(bytes) => (StatusCode::OK, bytes),
                                None => (StatusCode::NOT_FOUND, b"not here".to_vec()),
                            }
                        }
                    }),
                )
                .route("/", get(move || async move { axum::response::Html(home) }))
                .layer(axum::middleware::from_fn(
                    move |request: axum::extract::Request, next: axum::middleware::Next| {
                        counted.fetch_add(1, Ordering::SeqCst);
                        next.run(request)
                    },
                ));
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    (address, requests)
}

/// A home page that shows the filing number, as the manuals ask.
pub fn home_page() -> String {
    format!(
        "<html><body>青山科技 <a href=\"https://beian.miit.gov.cn/\">{NUMBER}-1</a></body></html>"
    )
}
