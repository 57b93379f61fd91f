//! The crawler's check of a filed website: fetch `http://DOMAIN/cert/bazs.cert` and the home
//! page, verify the certificate's signature against the published `inner-cert` key, and check
//! that it names the domain and is not expired, that the home page shows its filing number and,
//! when the outer store is at hand, that it is the current certificate of its filing and not
//! revoked. Every finding is reported; none stops the others.
//!
//! Requests are plain HTTP/1.1 GETs (the manuals' crawler fetches `http://`), with a connect and
//! a whole-request timeout, no redirects followed, and every body read to a limit.

use std::net::SocketAddr;
use std::time::Duration;

use bundle_format::envelope;
use bundle_format::records::MAX_CERTIFICATE_BYTES;
use filing::electronic_certificate::ElectronicCertificate;
use http_body_util::BodyExt as _;
use keys::{PublicKey, Role};

/// The path the manuals have site owners publish the certificate at.
pub const CERTIFICATE_PATH: &str = "/cert/bazs.cert";
/// The most bytes of a home page read.
pub const MAX_HOME_PAGE_BYTES: usize = 2 * 1024 * 1024;
/// How long connecting may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one whole request may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// One thing checked, and what was found.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// What was checked: `certificate-fetched`, `signature`, `domain`, `expiry`, `home-page`,
    /// `register`.
    pub check: &'static str,
    /// Whether it holds.
    pub ok: bool,
    /// What was found, for people.
    pub detail: String,
}

/// What checking one site found.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SiteReport {
    /// The domain checked.
    pub domain: String,
    /// The filing number the certificate names, when it could be read.
    pub filing_number: Option<String>,
    /// Every finding, in the order checked.
    pub findings: Vec<Finding>,
}

impl SiteReport {
    /// Whether every check held.
    pub fn ok(&self) -> bool {
        !self.findings.is_empty() && self.findings.iter().all(|f| f.ok)
    }

    fn note(&mut self, check: &'static str, ok: bool, detail: impl Into<String>) {
        self.findings.push(Finding {
            check,
            ok,
            detail: detail.into(),
        });
    }
}

/// What the outer store knows of a filing's certificate, for the register check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegisterStanding {
    /// The store's current certificate for the filing is this very document.
    Current,
    /// The store holds another certificate for the filing (this one was superseded).
    Superseded,
    /// This certificate was revoked, with the reason.
    Revoked(String),
    /// The store holds no certificate for the filing.
    Unknown,
}

/// What the outer store says of a certificate document (second argument) published for a
/// filing number (first).
pub type Register<'a> = &'a dyn Fn(&str, &[u8]) -> RegisterStanding;

/// How to reach the site and what to check it against.
pub struct SiteCheck<'a> {
    /// The domain (sent as the `Host` header, and resolved unless `connect` is given).
    pub domain: &'a str,
    /// Connect here instead of resolving the domain (a test server, or a crawler that resolved
    /// it already).
    pub connect: Option<SocketAddr>,
    /// The published `inner-cert` public key.
    pub certificate_key: &'a PublicKey,
    /// Now, Unix seconds (for the expiry).
    pub now: i64,
    /// What the outer store says of a certificate document for a filing number, if a store is
    /// at hand.
    pub register: Option<Register<'a>>,
}

impl SiteCheck<'_> {
    /// Fetches and checks the site; every finding is in the report.
    pub fn run(&self) -> SiteReport {
        let mut report = SiteReport {
            domain: self.domain.to_owned(),
            filing_number: None,
            findings: Vec::new(),
        };
        // One runtime for both requests.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the HTTP client: {e}"));
        let get = |path: &str, limit: usize| -> Result<Vec<u8>, String> {
            let runtime = runtime.as_ref().map_err(Clone::clone)?;
            runtime.block_on(async {
                tokio::time::timeout(REQUEST_TIMEOUT, self.fetch(path, limit))
                    .await
                    .unwrap_or_else(|_| Err(format!("no answer within {REQUEST_TIMEOUT:?}")))
            })
        };
        let certificate = match get(CERTIFICATE_PATH, MAX_CERTIFICATE_BYTES) {
            Ok(body) => {
                report.note(
                    "certificate-fetched",
                    true,
                    format!(
                        "http://{}{CERTIFICATE_PATH}: {} bytes",
                        self.domain,
                        body.len()
                    ),
                );
                Some(body)
            }
            Err(why) => {
                report.note(
                    "certificate-fetched",
                    false,
                    format!("http://{}{CERTIFICATE_PATH}: {why}", self.domain),
                );
                None
            }
        };
        let parsed = certificate
            .as_deref()
            .and_then(|document| self.check_certificate(document, &mut report));
        let home = get("/", MAX_HOME_PAGE_BYTES);
        match (&parsed, home) {
            (_, Err(why)) => report.note(
                "home-page",
                false,
                format!("http://{}/: {why}", self.domain),
            ),
            (Some(certificate), Ok(page)) => {
                let shown = String::from_utf8_lossy(&page).contains(&certificate.filing_number);
                report.note(
                    "home-page",
                    shown,
                    if shown {
                        format!("the home page shows {}", certificate.filing_number)
                    } else {
                        format!(
                            "the home page does not show the filing number {}",
                            certificate.filing_number
                        )
                    },
                );
            }
            (None, Ok(_)) => report.note(
                "home-page",
                false,
                "fetched, but there is no valid certificate whose filing number it should show",
            ),
        }
        report
    }

    /// Checks the signature, domain, expiry and register standing of `document`; returns what it
    /// says when the signature holds.
    fn check_certificate(
        &self,
        document: &[u8],
        report: &mut SiteReport,
    ) -> Option<ElectronicCertificate> {
        let key = self.certificate_key;
        let verified = envelope::open(document, MAX_CERTIFICATE_BYTES)
            .map_err(|e| e.to_string())
            .and_then(|opened| {
                opened
                    .verify(
                        &keys::OneKey::new(key, Role::InnerCert),
                        Role::InnerCert,
                        None,
                        0,
                    )
                    .map_err(|e| e.to_string())?;
                Ok(opened.message)
            });
        let text = match verified {
            Ok(text) => text,
            Err(why) => {
                report.note(
                    "signature",
                    false,
                    format!("not signed by the certificate key {}: {why}", key.key_id()),
                );
                return None;
            }
        };
        let certificate = match std::str::from_utf8(text)
            .map_err(|_| "the signed text is not UTF-8".to_owned())
            .and_then(ElectronicCertificate::parse)
        {
            Ok(certificate) => certificate,
            Err(why) => {
                report.note(
                    "signature",
                    false,
                    format!("signed, but not a certificate: {why}"),
                );
                return None;
            }
        };
        report.note(
            "signature",
            true,
            format!(
                "signed by the certificate key {} for filing {}",
                key.key_id(),
                certificate.filing_number
            ),
        );
        report.filing_number = Some(certificate.filing_number.clone());
        let names = certificate.names_domain(self.domain);
        report.note(
            "domain",
            names,
            if names {
                format!("the certificate names {}", self.domain)
            } else {
                format!("the certificate does not name {}", self.domain)
            },
        );
        let current = self.now < certificate.expires;
        report.note(
            "expiry",
            current,
            format!(
                "{} {}",
                if current { "valid until" } else { "expired at" },
                keys::time::rfc3339(certificate.expires)
            ),
        );
        if let Some(register) = self.register {
            let (ok, detail) = match register(&certificate.filing_number, document) {
                RegisterStanding::Current => {
                    (true, "the current certificate of its filing".to_owned())
                }
                RegisterStanding::Superseded => (
                    false,
                    "superseded: the filing has a newer certificate; publish that one".to_owned(),
                ),
                RegisterStanding::Revoked(reason) => (false, format!("revoked ({reason})")),
                RegisterStanding::Unknown => (
                    false,
                    format!(
                        "no certificate is on record for {}",
                        certificate.filing_number
                    ),
                ),
            };
            report.note("register", ok, detail);
        }
        Some(certificate)
    }

    /// `GET path` from the site, the body read to at most `limit` bytes; a status other than
    /// 200 is an error naming it.
    async fn fetch(&self, path: &str, limit: usize) -> Result<Vec<u8>, String> {
        let address = match self.connect {
            Some(address) => address.to_string(),
            None => format!("{}:80", self.domain),
        };
        let stream =
            tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect(&address))
                .await
                .map_err(|_| {
                    format!("connecting to {address} took longer than {CONNECT_TIMEOUT:?}")
                })?
                .map_err(|e| format!("cannot connect to {address}: {e}"))?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .map_err(|e| format!("HTTP handshake with {address}: {e}"))?;
        let driver = tokio::spawn(connection);
        let request = hyper::Request::get(path)
            .header(hyper::header::HOST, self.domain)
            .header(hyper::header::USER_AGENT, "sluice-check-site")
            .body(http_body_util::Empty::<hyper::body::Bytes>::new())
            .map_err(|e| format!("cannot make the request: {e}"))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| format!("request failed: {e}"))?;
        let status = response.status();
        if status != hyper::StatusCode::OK {
            driver.abort();
            return Err(format!("the server answered {status}"));
        }
        let mut body = response.into_body();
        let mut bytes = Vec::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| format!("reading the body: {e}"))?;
            if let Some(data) = frame.data_ref() {
                if bytes.len() + data.len() > limit {
                    driver.abort();
                    return Err(format!("the body is larger than {limit} bytes"));
                }
                bytes.extend_from_slice(data);
            }
        }
        driver.abort();
        Ok(bytes)
    }
}
