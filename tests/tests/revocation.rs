//! Revocation reaches the outside: when a filing is cancelled inside, its certificate's
//! revocation crosses back on the return channel, the intake service stops serving the
//! certificate (410 Gone, saying why) and the status of the receipt it was issued for says it
//! was revoked, in the API and on the status page.

mod common;

use serde_json::json;
use transfer::outcome::FileResult;

use common::*;
use tests::Appliance;
use transfer::demo::{http, percent_encode};

#[test]
fn a_cancelled_filings_certificate_stops_being_served_outside_and_its_status_says_revoked() {
    let mut app = Appliance::new(&[1]).unwrap();
    let filed = submit_and_export(app.outer(), [1]).remove(0);
    assert_eq!(app.carry_in(0).unwrap(), 1);
    assert_eq!(app.import().unwrap().count(FileResult::Applied), 1);
    let number = app.approve_all().unwrap().remove(0);
    return_to_first_outer(&mut app);
    let certificate = app.outer().node.certificate(&number).unwrap();
    assert!(!certificate.is_empty(), "served once approved");

    // The owner cancels the filing; the authority approves the cancellation inside.
    let cancel = json!({"submission": {"kind": "cancellation", "filing_number": number,
        "scope": "subject", "reason": "公司注销"}});
    let cancellation = app.outer().node.submit(&cancel).unwrap();
    app.outer().export().unwrap();
    assert_eq!(app.carry_in(0).unwrap(), 1);
    assert_eq!(app.import().unwrap().count(FileResult::Applied), 1);
    assert_eq!(app.approve_all().unwrap(), vec![number.clone()]);
    let returned = app.inner.write_return().unwrap();
    assert_eq!(returned.certificate_revocations, 1);
    apply_revoking_one_certificate(&mut app);

    // The certificate is gone, and says why.
    let (code, body) = app.outer().node.certificate_answer(&number).unwrap();
    let body = String::from_utf8_lossy(&body);
    assert_eq!(code, 410, "{body}");
    assert!(
        body.contains("revoked") && body.contains("filing-cancelled"),
        "{body}"
    );

    // The receipt it was issued for says so; the cancellation itself is cancelled.
    let status = app.outer().node.status(&filed).unwrap();
    assert_eq!(status["certificate_revoked"], true, "{status}");
    assert_eq!(status["certificate_ready"], false, "{status}");
    let status = app.outer().node.status(&cancellation).unwrap();
    assert_eq!(status["state"], "cancelled", "{status}");
    let page = format!("/status?q={}", percent_encode(&filed));
    let (code, html) = http(app.outer().node.addr, "GET", &page, None, "", &[]).unwrap();
    assert_eq!(code, 200);
    assert!(
        String::from_utf8_lossy(&html).contains("电子证书已撤销"),
        "the status page says the certificate was revoked"
    );
}
