//! The crawler's check from the public register (issue 15 item 4): anyone looking at the
//! register may ask the intake to check a registered website the way the authority's crawler
//! does (`crate::site_check`: the certificate at `http://DOMAIN/cert/bazs.cert`, its signature
//! against the published certificate key, its domain and expiry, the filing number on the home
//! page, and that it is the filing's current, unrevoked certificate in this store).
//!
//! A public page that makes the server fetch a URL is a way to make it fetch anything, so the
//! check is held to what the register vouches for: only a domain the public register lists is
//! fetched (anything else is answered without a request leaving the host), at most
//! [`MAX_RUNNING`] checks run at once, a domain is fetched again only after the configured
//! interval (a check asked for sooner is answered with the last result), the domain is fetched
//! only at an address on the public internet (unless the operator maps it to one), and the
//! fetches are the crawler's own, with its timeouts and body limits and no redirects followed.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use keys::PublicKey;

use super::{AppError, AppState};
use crate::site_check::{Finding, RegisterStanding, SiteCheck, SiteReport};
use crate::store::{MAX_REGISTER_QUERY_CHARS, RegisterQuery};

/// Most checks running at once.
pub const MAX_RUNNING: usize = 2;
/// Most domains whose last result is kept; past it, results older than the interval are
/// dropped, and while it is still full no new domain is checked.
pub const MAX_REMEMBERED: usize = 10_000;

/// What the public check needs: the published certificate key, the addresses to reach some
/// domains at instead of resolving them, and how soon a domain may be fetched again.
pub struct SiteChecks {
    certificate_key: PublicKey,
    connect: BTreeMap<String, SocketAddr>,
    interval: Duration,
    /// Per domain: when it was last checked (monotonic and Unix seconds) and what was found.
    recent: Mutex<HashMap<String, (Instant, i64, SiteReport)>>,
    running: tokio::sync::Semaphore,
}

impl SiteChecks {
    /// Checks against `certificate_key`, fetching a domain at most once per `interval`;
    /// a domain in `connect` is reached at that address (the `Host` header stays the domain).
    pub fn new(
        certificate_key: PublicKey,
        connect: BTreeMap<String, SocketAddr>,
        interval: Duration,
    ) -> SiteChecks {
        SiteChecks {
            certificate_key,
            connect: connect
                .into_iter()
                .map(|(domain, address)| (domain.to_ascii_lowercase(), address))
                .collect(),
            interval,
            recent: Mutex::new(HashMap::new()),
            running: tokio::sync::Semaphore::new(MAX_RUNNING),
        }
    }

    /// The last result for `domain` if it is younger than the interval.
    fn remembered(&self, domain: &str) -> Option<(i64, SiteReport)> {
        let recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        recent
            .get(domain)
            .filter(|(at, _, _)| at.elapsed() < self.interval)
            .map(|(_, checked, report)| (*checked, report.clone()))
    }

    /// Keeps `report` as the last result for `domain`, unless the memory is full of results
    /// younger than the interval (then the next request checks again).
    fn remember(&self, domain: &str, checked: i64, report: &SiteReport) {
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        if self.room_in(&mut recent, domain) {
            recent.insert(domain.to_owned(), (Instant::now(), checked, report.clone()));
        }
    }

    /// Whether there is room to remember one more domain's result.
    fn has_room(&self, domain: &str) -> bool {
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        self.room_in(&mut recent, domain)
    }

    /// Whether `recent` has room for `domain`'s result, dropping results older than the
    /// interval when it is full.
    fn room_in(
        &self,
        recent: &mut HashMap<String, (Instant, i64, SiteReport)>,
        domain: &str,
    ) -> bool {
        if recent.len() < MAX_REMEMBERED || recent.contains_key(domain) {
            return true;
        }
        recent.retain(|_, (at, _, _)| at.elapsed() < self.interval);
        recent.len() < MAX_REMEMBERED
    }
}

/// The query string: the domain to check.
#[derive(Debug, Default, serde::Deserialize)]
pub struct CheckParams {
    /// A domain the public register lists.
    #[serde(default)]
    pub domain: String,
}

#[derive(Template)]
#[template(path = "site_check.html")]
struct CheckPage<'a> {
    domain: &'a str,
    problem: Option<String>,
    filing_number: Option<String>,
    ok: bool,
    /// Each finding with the Chinese name of its check.
    findings: Vec<(&'static str, Finding)>,
    checked: String,
    remembered: bool,
    interval: u64,
    user: Option<&'a str>,
}

/// `GET /register/check?domain=…`: the crawler's check of a website the register lists.
pub(super) async fn site_check_page(
    State(state): State<AppState>,
    params: Result<Query<CheckParams>, QueryRejection>,
) -> Result<Response, AppError> {
    let params = params.map(|Query(params)| params).unwrap_or_default();
    let domain: String = params.domain.trim().to_ascii_lowercase();
    let shown: String = domain.chars().take(MAX_REGISTER_QUERY_CHARS).collect();
    let mut page = CheckPage {
        domain: &shown,
        problem: None,
        filing_number: None,
        ok: false,
        findings: Vec::new(),
        checked: String::new(),
        remembered: false,
        interval: 0,
        user: None,
    };
    let status = match checked(&state, &domain).await? {
        Ok((checked, report, remembered, interval)) => {
            page.ok = report.ok();
            page.filing_number = report.filing_number;
            page.findings = report
                .findings
                .into_iter()
                .map(|finding| (check_zh(finding.check), finding))
                .collect();
            page.checked = keys::time::rfc3339(checked);
            page.remembered = remembered;
            page.interval = interval;
            StatusCode::OK
        }
        Err((status, problem)) => {
            page.problem = Some(problem.to_owned());
            status
        }
    };
    let body = page
        .render()
        .map_err(|e| AppError::Internal(format!("rendering the site check page: {e}")))?;
    Ok((
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response())
}

/// The Chinese name of a check of [`crate::site_check`].
fn check_zh(check: &str) -> &'static str {
    match check {
        "certificate-fetched" => "获取证书",
        "signature" => "证书签名",
        "domain" => "证书域名",
        "expiry" => "有效期",
        "register" => "现行证书",
        "home-page" => "首页备案号",
        _ => "其他",
    }
}

/// What a check of `domain` found: when, the report, whether it is a remembered one, and the
/// interval in seconds; or the status and message of why nothing was checked.
type Checked = Result<(i64, SiteReport, bool, u64), (StatusCode, &'static str)>;

async fn checked(state: &AppState, domain: &str) -> Result<Checked, AppError> {
    let Some(checks) = state.site_checks.clone() else {
        return Ok(Err((
            StatusCode::NOT_FOUND,
            "本服务未提供网站核查 · This service does not check websites (no certificate key configured)",
        )));
    };
    if domain.is_empty() || domain.chars().count() > MAX_REGISTER_QUERY_CHARS {
        return Ok(Err((
            StatusCode::BAD_REQUEST,
            "请给出已备案网站的域名 · Give the domain of a filed website",
        )));
    }
    let listed = state
        .store
        .query_register(RegisterQuery::Domain(domain.to_owned()))
        .await?
        .iter()
        .any(|website| {
            website
                .domains
                .iter()
                .any(|d| d.eq_ignore_ascii_case(domain))
        });
    if !listed {
        return Ok(Err((
            StatusCode::NOT_FOUND,
            "该域名不在备案信息中，未作核查 · This domain is not in the public register; nothing was fetched",
        )));
    }
    let interval = checks.interval.as_secs();
    if let Some((checked, report)) = checks.remembered(domain) {
        return Ok(Ok((checked, report, true, interval)));
    }
    let Ok(_permit) = checks.running.try_acquire() else {
        return Ok(Err((
            StatusCode::SERVICE_UNAVAILABLE,
            "核查繁忙，请稍后再试 · Other checks are running; try again in a moment",
        )));
    };
    if !checks.has_room(domain) {
        return Ok(Err((
            StatusCode::SERVICE_UNAVAILABLE,
            "核查繁忙，请稍后再试 · Too many websites were checked lately; try again later",
        )));
    }
    // The address is resolved here and pinned for both requests; a domain the operator did
    // not map is fetched only at an address on the public internet, so that a registered
    // domain pointed at this host or its network cannot make the service fetch from there.
    let address = match checks.connect.get(domain) {
        Some(address) => *address,
        None => match public_address(domain).await {
            Some(address) => address,
            None => {
                return Ok(Err((
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "该域名未解析到公网地址，未作核查 · This domain does not resolve to a public internet address; nothing was fetched",
                )));
            }
        },
    };
    let store = state.store.clone();
    let run = Arc::clone(&checks);
    let target = domain.to_owned();
    let (checked, report) = tokio::task::spawn_blocking(move || {
        let standing = |filing_number: &str, document: &[u8]| -> RegisterStanding {
            let (filing_number, document) = (filing_number.to_owned(), document.to_vec());
            store
                .read_blocking(move |conn| {
                    crate::store::certificate_standing_on(conn, &filing_number, &document)
                })
                .unwrap_or(RegisterStanding::Unknown)
        };
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let report = SiteCheck {
            domain: &target,
            connect: Some(address),
            certificate_key: &run.certificate_key,
            now,
            register: Some(&standing),
        }
        .run();
        (now, report)
    })
    .await
    .map_err(|e| AppError::Internal(format!("the site check stopped: {e}")))?;
    checks.remember(domain, checked, &report);
    Ok(Ok((checked, report, false, interval)))
}

/// The first address `domain` resolves to (port 80) that is on the public internet, if any.
async fn public_address(domain: &str) -> Option<SocketAddr> {
    let lookup = tokio::time::timeout(
        crate::site_check::CONNECT_TIMEOUT,
        tokio::net::lookup_host((domain, 80)),
    )
    .await
    .ok()?
    .ok()?;
    lookup.into_iter().find(|address| is_public(address.ip()))
}

/// Whether `ip` is an address of the public internet: not loopback, private, link-local,
/// shared (carrier-grade NAT), documentation, benchmarking, multicast, broadcast or
/// unspecified, nor an IPv6 unique-local, link-local or IPv4-mapped address of those.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (b == 18 || b == 19))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && v6.segments()[1] == 0x0db8)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_public;

    #[test]
    fn addresses_of_this_host_and_private_networks_are_not_public() {
        for address in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "192.0.2.10",
            "198.18.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "2001:db8::1",
        ] {
            assert!(!is_public(address.parse().unwrap()), "{address}");
        }
        for address in [
            "202.96.128.86",
            "1.1.1.1",
            "240e::1",
            "::ffff:202.96.128.86",
        ] {
            assert!(is_public(address.parse().unwrap()), "{address}");
        }
    }
}
