//! E-mail notifications (issue 15 item 6): when an approval or a return for changes crosses
//! back, the owner gets an e-mail through the real SMTP client, the approval with its
//! certificate attached; a failed attempt is retried and no event is mailed twice. A local SMTP
//! server stands in for the site's relay; the stores are real.

mod common;

use common::*;
use outer::config::MailConfig;
use outer::mail::Mailer;
use outer::store::Store;
use testkit::smtp::SmtpServer;
use tests::Appliance;
use transfer::demo;

const OWNER_MAIL: &str = "owner@example.cn";

/// Gives the demo's owner account a confirmed e-mail address.
fn confirm_owner_mail(app: &Appliance) {
    let conn = rusqlite::Connection::open(&app.outer().node.database).unwrap();
    conn.execute(
        "UPDATE accounts SET email = ?1, email_verified_at = 1 WHERE name = 'owner'",
        [OWNER_MAIL],
    )
    .unwrap();
}

fn mailer(port: u16) -> Mailer {
    Mailer::new(MailConfig {
        relay_host: "127.0.0.1".into(),
        relay_port: port,
        from: "备案系统 <noreply@beian.example.cn>".into(),
        timeout_secs: 5,
        tls: "none".into(),
    })
}

fn send_due(store: &Store, mailer: &Mailer, now: i64) -> outer::notify::NotifyReport {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(outer::notify::send_due(store, mailer, now))
        .unwrap()
}

#[test]
fn an_approval_is_mailed_to_the_owner_once_with_the_certificate_attached() {
    let mut app = Appliance::new(&[1]).unwrap();
    confirm_owner_mail(&app);
    let receipts = imported_and_approved(&mut app, 1..=1);
    return_to_first_outer(&mut app);
    assert_approved_with_certificates(&app, &receipts);
    let number = app.outer().node.status(&receipts[0]).unwrap()["filing_number"]
        .as_str()
        .unwrap()
        .to_owned();

    let smtp = SmtpServer::start();
    let store = Store::open(&app.outer().node.database).unwrap();
    let report = send_due(&store, &mailer(smtp.port), demo::now());
    assert_eq!(report.sent, 1, "{report:?}");
    let message = smtp.wait_for_message_to(OWNER_MAIL, 0);
    assert!(message.contains(&number), "{message}");
    assert!(message.contains(&receipts[0]), "{message}");
    // The attachment is the certificate the owner can download, byte for byte.
    let certificate = app.outer().node.certificate(&number).unwrap();
    let attached = message
        .split_once("[attachment bazs.cert]\n")
        .map(|(_, rest)| rest)
        .unwrap_or_else(|| panic!("no bazs.cert attached: {message}"));
    assert_eq!(attached.as_bytes(), &certificate[..]);

    // Another pass, another return bundle applied: nothing is mailed again.
    let report = send_due(&store, &mailer(smtp.port), demo::now() + 3600);
    assert_eq!(report.sent, 0, "{report:?}");
    return_to_first_outer(&mut app);
    let report = send_due(&store, &mailer(smtp.port), demo::now() + 7200);
    assert_eq!(report.sent, 0, "{report:?}");
    assert_eq!(smtp.count_to(OWNER_MAIL), 1);
}

#[test]
fn a_return_for_changes_is_mailed_after_the_relay_comes_back() {
    let mut app = Appliance::new(&[1]).unwrap();
    confirm_owner_mail(&app);
    let receipts = submit_and_export(app.outer(), 1..=1);
    app.carry_in(0).unwrap();
    app.import().unwrap();
    app.inner
        .send_back(
            &receipts[0],
            "网站名称与内容不符 the website name does not fit",
        )
        .unwrap();
    return_to_first_outer(&mut app);
    assert_eq!(
        app.outer().node.status(&receipts[0]).unwrap()["state"],
        "returned_to_submitter"
    );

    // The relay is down: the attempt fails and is kept for later.
    let store = Store::open(&app.outer().node.database).unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_port = closed.local_addr().unwrap().port();
    drop(closed);
    let now = demo::now();
    let report = send_due(&store, &mailer(dead_port), now);
    assert_eq!(report.sent, 0, "{report:?}");
    assert_eq!(report.failed.len(), 1, "{report:?}");
    // Not due again at once.
    let smtp = SmtpServer::start();
    let report = send_due(&store, &mailer(smtp.port), now + 1);
    assert_eq!(report.sent + report.failed.len(), 0, "{report:?}");
    // After the pause it goes out, once.
    let report = send_due(&store, &mailer(smtp.port), now + 120);
    assert_eq!(report.sent, 1, "{report:?}");
    let message = smtp.wait_for_message_to(OWNER_MAIL, 0);
    assert!(
        message.contains("returned") || message.contains("Returned"),
        "{message}"
    );
    let report = send_due(&store, &mailer(smtp.port), now + 100_000);
    assert_eq!(report.sent, 0, "{report:?}");
    assert_eq!(smtp.count_to(OWNER_MAIL), 1);
}
