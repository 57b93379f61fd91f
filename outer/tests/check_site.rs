//! The crawler's check (`sluice-outer check-site`) against real web servers on loopback: a
//! correct site, one publishing an expired certificate, one publishing a forged certificate, one
//! publishing none, one whose home page lacks the filing number, and a superseded certificate
//! caught by the register check.

mod sites;

use std::net::SocketAddr;
use std::process::Command;

use keys::SecretKey;
use outer::site_check::{RegisterStanding, SiteCheck, SiteReport};
use sites::{DOMAIN, NOW, NUMBER, certificate, home_page, serve};

fn check(address: SocketAddr, key: &SecretKey) -> SiteReport {
    SiteCheck {
        domain: DOMAIN,
        connect: Some(address),
        certificate_key: &key.public_key(),
        now: NOW,
        register: None,
    }
    .run()
}

fn failed(report: &SiteReport) -> Vec<&'static str> {
    report
        .findings
        .iter()
        .filter(|f| !f.ok)
        .map(|f| f.check)
        .collect()
}

#[test]
fn a_correct_site_passes_every_check() {
    let key = SecretKey::generate();
    let address = serve(Some(certificate(&key, NOW + 300 * 86_400)), &home_page());
    let report = check(address, &key);
    assert!(report.ok(), "{:#?}", report.findings);
    assert_eq!(report.filing_number.as_deref(), Some(NUMBER));
    let checks: Vec<&str> = report.findings.iter().map(|f| f.check).collect();
    assert_eq!(
        checks,
        [
            "certificate-fetched",
            "signature",
            "domain",
            "expiry",
            "home-page"
        ]
    );
}

#[test]
fn an_expired_certificate_is_reported_stale() {
    let key = SecretKey::generate();
    let address = serve(Some(certificate(&key, NOW - 1)), &home_page());
    let report = check(address, &key);
    assert_eq!(failed(&report), ["expiry"], "{:#?}", report.findings);
}

#[test]
fn a_forged_certificate_fails_its_signature() {
    let key = SecretKey::generate();
    let forger = SecretKey::generate();
    let address = serve(Some(certificate(&forger, NOW + 86_400)), &home_page());
    let report = check(address, &key);
    assert_eq!(
        failed(&report),
        ["signature", "home-page"],
        "{:#?}",
        report.findings
    );
    assert!(
        report.filing_number.is_none(),
        "a forged certificate names nothing"
    );
}

#[test]
fn a_site_without_a_certificate_is_reported() {
    let key = SecretKey::generate();
    let address = serve(None, &home_page());
    let report = check(address, &key);
    assert_eq!(failed(&report), ["certificate-fetched", "home-page"]);
    assert!(
        report.findings[0].detail.contains("404"),
        "{:#?}",
        report.findings
    );
}

#[test]
fn a_home_page_without_the_filing_number_fails() {
    let key = SecretKey::generate();
    let address = serve(
        Some(certificate(&key, NOW + 86_400)),
        "<html><body>no number here</body></html>",
    );
    let report = check(address, &key);
    assert_eq!(failed(&report), ["home-page"]);
}

#[test]
fn a_superseded_certificate_fails_the_register_check() {
    let key = SecretKey::generate();
    let published = certificate(&key, NOW + 86_400);
    let address = serve(Some(published.clone()), &home_page());
    let newer = certificate(&key, NOW + 200 * 86_400);
    let register = |number: &str, document: &[u8]| {
        assert_eq!(number, NUMBER);
        if document == newer.as_slice() {
            RegisterStanding::Current
        } else {
            RegisterStanding::Superseded
        }
    };
    let report = SiteCheck {
        domain: DOMAIN,
        connect: Some(address),
        certificate_key: &key.public_key(),
        now: NOW,
        register: Some(&register),
    }
    .run();
    assert_eq!(failed(&report), ["register"], "{:#?}", report.findings);
}

#[test]
fn the_command_exits_refused_and_names_what_failed() {
    let dir = tempfile::tempdir().unwrap();
    let key = SecretKey::generate();
    let public = dir.path().join("inner-cert.pub");
    key.public_key().write_file(&public, "inner-cert").unwrap();
    let address = serve(Some(certificate(&key, NOW - 1)), &home_page());
    let output = Command::new(env!("CARGO_BIN_EXE_sluice-outer"))
        .args(["check-site", DOMAIN, "--certificate-key"])
        .arg(&public)
        .arg("--connect")
        .arg(address.to_string())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(5), "{stdout}{stderr}");
    assert!(stdout.contains("FAIL expiry"), "{stdout}");
    assert!(stdout.contains("ok   signature"), "{stdout}");
    assert!(stderr.contains("does not pass: expiry"), "{stderr}");
}

#[test]
fn the_register_standing_comes_from_the_outer_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outer.sqlite");
    drop(outer::store::Store::open(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    let key = SecretKey::generate();
    let old = certificate(&key, NOW + 86_400);
    let current = certificate(&key, NOW + 2 * 86_400);
    let standing =
        |document: &[u8]| outer::store::certificate_standing_on(&conn, NUMBER, document).unwrap();
    assert_eq!(standing(&current), RegisterStanding::Unknown);
    conn.execute(
        "INSERT INTO certificates (filing_number, receipt, issued_at, expires_at, document)
         VALUES (?1, 'R-1', ?2, ?3, ?4)",
        rusqlite::params![NUMBER, NOW, NOW + 2 * 86_400, current],
    )
    .unwrap();
    assert_eq!(standing(&current), RegisterStanding::Current);
    assert_eq!(standing(&old), RegisterStanding::Superseded);
    conn.execute(
        "UPDATE certificates SET revoked_at = ?1, revocation_reason = 'filing-cancelled'",
        [NOW],
    )
    .unwrap();
    assert_eq!(
        standing(&current),
        RegisterStanding::Revoked("filing-cancelled".to_owned())
    );
}
