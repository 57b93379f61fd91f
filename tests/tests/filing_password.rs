//! The filing password end to end (issue 15 item 4): approval inside issues it with the
//! certificate and keeps only its hash; the return bundle carries it once, to the intake node
//! whose channel created the receipt; outside the owner sees it once on their filings page, and
//! with it anyone downloads the certificate, byte for byte what the inner side signed. Real
//! stores, a real PostgreSQL, real bundles, the intake over a real socket.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use bundle_format::records::Record;
use common::*;
use keys::ChannelId;
use tests::{Appliance, signify_verifies};

/// Opens a session for the account that filed `receipt` at `app`'s first outer host, as a
/// login would; returns the cookie's secret.
fn session_of_filer(app: &Appliance, receipt: &str) -> String {
    let conn = rusqlite::Connection::open(&app.outer().node.database).unwrap();
    let account: i64 = conn
        .query_row(
            "SELECT account_id FROM receipts WHERE receipt = ?1",
            [receipt],
            |row| row.get(0),
        )
        .unwrap();
    let secret = outer::accounts::new_secret();
    let hash = outer::accounts::session_hash(&secret);
    conn.execute(
        "INSERT INTO sessions (session_hash, account_id, csrf_token, created_at, last_seen_at,
                               expires_at)
         VALUES (?1, ?2, ?3, 0, 0, 4102444800)",
        rusqlite::params![&hash[..], account, outer::accounts::new_secret()],
    )
    .unwrap();
    secret
}

/// `GET path` with the session cookie; the status and the whole response as text.
fn page_with_session(addr: SocketAddr, path: &str, secret: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nCookie: __Host-sluice-session={secret}\r\n\
         Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text.split(' ').nth(1).unwrap().parse().unwrap();
    (status, text)
}

/// The password a filings page shows, if it shows one.
fn shown_password(page: &str) -> Option<String> {
    let marker = "<p class=\"secret password\">";
    let at = page.find(marker)? + marker.len();
    Some(page[at..at + page[at..].find('<')?].to_owned())
}

#[test]
fn a_filing_password_crosses_once_is_shown_once_and_downloads_the_certificate_byte_for_byte() {
    let mut app = Appliance::new(&[1]).unwrap();
    let receipts = imported_and_approved(&mut app, 1..=1);
    let number: String = app
        .inner
        .client
        .query_one(
            "SELECT filing_number FROM filings WHERE origin_receipt = $1",
            &[&receipts[0]],
        )
        .unwrap()
        .get(0);

    // Inside: a hash, and the password queued once.
    let queued = inner::returns::pending_returns(&mut app.inner.client, 1000).unwrap();
    let passwords: Vec<_> = queued
        .entries
        .iter()
        .filter_map(|entry| match &entry.record {
            Record::FilingPassword(password) => Some(password.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(passwords.len(), 1);
    assert_eq!(passwords[0].filing_number, number);
    assert_eq!(passwords[0].receipt, receipts[0]);
    let issued = passwords[0].password.clone();
    assert!(inner::filing_passwords::matches(&mut app.inner.client, &number, &issued).unwrap());
    let hash: Vec<u8> = app
        .inner
        .client
        .query_one("SELECT hash FROM filing_passwords", &[])
        .unwrap()
        .get(0);
    assert_eq!(hash.len(), 32);

    // The return bundle carries it; once sent, the queue no longer holds it.
    let returned = app.inner.write_return().unwrap();
    assert_eq!(returned.filing_passwords, 1, "{returned:?}");
    let held: Vec<u8> = app
        .inner
        .client
        .query_one(
            "SELECT record FROM return_queue WHERE kind = 'filing-password'",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(
        !held.windows(issued.len()).any(|w| w == issued.as_bytes()),
        "the sent password is blanked in the queue"
    );
    app.carry_out().unwrap();
    let applied = app.apply(0).unwrap();
    assert_eq!(applied.files[0].filing_passwords, 1, "{:?}", applied.files);

    // Outside: the owner sees it once.
    let signed = inner::certificates::history(&mut app.inner.client, &number)
        .unwrap()
        .remove(0)
        .document;
    let node = &app.outer().node;
    let secret = session_of_filer(&app, &receipts[0]);
    let (status, page) = page_with_session(node.addr, "/account/filings", &secret);
    assert_eq!(status, 200, "{page}");
    assert_eq!(shown_password(&page).as_deref(), Some(issued.as_str()));
    let (_, page) = page_with_session(node.addr, "/account/filings", &secret);
    assert_eq!(shown_password(&page), None, "shown once only");
    assert!(!page.contains(&issued));

    // With it anyone downloads the certificate: what the inner side signed, byte for byte.
    let (status, body) = node.certificate_by_password(&number, &issued).unwrap();
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(body, signed);
    assert!(signify_verifies(&app.keys.inner_cert_pub, &body, app.dir()).unwrap());
    assert_eq!(node.certificate(&number).unwrap(), signed);

    // A wrong password is refused exactly as an unknown number is.
    let wrong = node
        .certificate_by_password(&number, "0000-0000-0000-0000")
        .unwrap();
    let unknown = node
        .certificate_by_password("京ICP备2099999999号", &issued)
        .unwrap();
    assert_eq!(wrong.0, 404);
    assert_eq!(wrong, unknown);

    // Throttled after the accounts' limit of failures for the number (5 by default, one was
    // spent above): then even the right password waits.
    for _ in 0..4 {
        let (status, _) = node
            .certificate_by_password(&number, "0000-0000-0000-0001")
            .unwrap();
        assert_eq!(status, 404);
    }
    let (status, body) = node.certificate_by_password(&number, &issued).unwrap();
    assert_eq!(status, 429, "{}", String::from_utf8_lossy(&body));
}

#[test]
fn another_channels_password_is_not_sent_to_this_node() {
    let mut app = Appliance::new(&[1, 2]).unwrap();
    let first = submit_and_export(&app.outers[0], [1]).remove(0);
    let second = submit_and_export(&app.outers[1], [2]).remove(0);
    app.carry_in(0).unwrap();
    app.carry_in(1).unwrap();
    app.import().unwrap();
    app.approve_all().unwrap();

    // A return channel serving one node carries only the password of that node's receipt.
    for (channel, own, other) in [(1, &first, &second), (2, &second, &first)] {
        let pending = inner::returns::pending_returns_for(
            &mut app.inner.client,
            1000,
            Some(ChannelId(channel)),
        )
        .unwrap();
        let receipts: Vec<&str> = pending
            .entries
            .iter()
            .filter_map(|entry| match &entry.record {
                Record::FilingPassword(password) => Some(password.receipt.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(receipts, [own.as_str()], "channel {channel}");
        assert!(!receipts.contains(&other.as_str()));
    }

    // On a return channel both nodes share, each stores only its own.
    app.inner.write_return().unwrap();
    app.carry_out().unwrap();
    for i in 0..2 {
        let applied = app.apply(i).unwrap();
        assert_eq!(applied.files[0].filing_passwords, 1, "{:?}", applied.files);
        let conn = rusqlite::Connection::open(&app.outers[i].node.database).unwrap();
        let held: Vec<String> = conn
            .prepare("SELECT receipt FROM filing_passwords")
            .unwrap()
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let own = if i == 0 { &first } else { &second };
        assert_eq!(held, std::slice::from_ref(own), "node {i}");
    }
}
