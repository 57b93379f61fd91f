//! `sluice-inner serve-review`: the review page on a real PostgreSQL, as headless Chromium
//! renders it (its screenshots stay under `target/tmp/`), its decisions over a real socket, and
//! `review show`, which prints the same content.

mod common;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use bundle_format::records::{
    Attachment, AttachmentKind, Change, PreApproval, PreApprovalItem, ScanOf, ServiceType,
    Submission,
};
use common::*;
use inner::reviewers::{self, NewAccount, Role};
use testkit::pg::TestDatabase;

/// The password of the page's accounts (ASCII, so that it can stand in a URL's user part).
const PAGE_PASSWORD: &str = "review-page-2026";

/// The page's server, stopped (by its own process id) when dropped.
struct Serving {
    child: Child,
    address: String,
    _dir: tempfile::TempDir,
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve_review(db: &TestDatabase) -> Serving {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("inner-cert.sec");
    signer()
        .write_file(&key_file, "inner-cert secret key", None)
        .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice-inner"))
        .env_remove("SLUICE_DATABASE_URL")
        .env_remove("SLUICE_CERT_KEY")
        .arg("--database-url")
        .arg(db.connection_string())
        .args(["serve-review", "--listen", "127.0.0.1:0", "--cert-key"])
        .arg(&key_file)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run sluice-inner serve-review");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped stdout"))
        .read_line(&mut line)
        .expect("the first line of serve-review");
    let address = line
        .trim()
        .strip_prefix("serving the review page at http://")
        .and_then(|rest| rest.strip_suffix('/'))
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    Serving {
        child,
        address,
        _dir: dir,
    }
}

/// A 160 × 100 PNG, pure green: a scan the screenshot can find.
fn green_scan() -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, 160, 100);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().unwrap();
    let pixels: Vec<u8> = [0u8, 255, 0].repeat(160 * 100);
    writer.write_image_data(&pixels).unwrap();
    writer.finish().unwrap();
    bytes
}

/// Beijing's R1 (a news site with its pre-approval document and a scanned licence) in two
/// versions, the second adding a domain; R2, another subject's pending filing of that domain;
/// Zhejiang's R-zj. Accounts: the ministry, Beijing's and Zhejiang's authorities.
fn fixture() -> TestDatabase {
    let db = TestDatabase::with_schema().expect("db");
    let body = |domains: &[&str]| {
        let mut site = website("甲新闻", domains, 1);
        site.service_types = vec![ServiceType::News];
        site.pre_approvals = vec![PreApproval {
            item: PreApprovalItem::News,
            document_number: "京新闻审字〔2026〕第12号".to_owned(),
        }];
        let mut body = new_filing("甲公司", "C1", REGION_CODE, vec![site]);
        if let Submission::NewFiling(filing) = &mut body {
            filing.attachments = vec![Attachment {
                kind: AttachmentKind::SubjectCertificate,
                media_type: "image/png".to_owned(),
                bytes: green_scan(),
            }];
        }
        body
    };
    apply_at(&db, 1, &[version("R1", 1, body(&["jia.example.cn"]))]);
    apply_at(
        &db,
        2,
        &[
            version("R1", 2, body(&["jia.example.cn", "news.jia.example.cn"])),
            one_site_filing("R2", "乙公司", "C2", "乙网", &["news.jia.example.cn"], 2),
            first_version(
                "R-zj",
                "浙公司",
                "C9",
                330_106,
                vec![website("浙网", &["zhe.example.cn"], 7)],
            ),
        ],
    );
    page_accounts(&db);
    db
}

/// The page's accounts: Beijing's and Zhejiang's authorities and Beijing's news pre-approval
/// reviewer.
fn page_accounts(db: &TestDatabase) {
    let li = ministry(db);
    let mut client = db.connect().unwrap();
    for (name, province) in [("bj-01", 11), ("zj-01", 33)] {
        let new = NewAccount {
            name,
            role: Role::Authority,
            province: Some(province),
            service_types: Vec::new(),
            password: PAGE_PASSWORD,
        };
        reviewers::create(&mut client, &li, &new, NOW).unwrap();
    }
    let new = NewAccount {
        name: "bj-news",
        role: Role::PreApproval,
        province: Some(11),
        service_types: vec!["news".to_owned()],
        password: PAGE_PASSWORD,
    };
    reviewers::create(&mut client, &li, &new, NOW).unwrap();
}

/// A request over a fresh connection with `extra` header lines: the whole response.
fn request(address: &str, head: &str, extra: &[String], body: &str) -> String {
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    let mut text = format!("{head} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n");
    for line in extra {
        text.push_str(line);
        text.push_str("\r\n");
    }
    if !body.is_empty() {
        text.push_str("Content-Type: application/x-www-form-urlencoded\r\n");
        text.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    text.push_str("\r\n");
    text.push_str(body);
    stream.write_all(text.as_bytes()).unwrap();
    // An image's bytes are not UTF-8: the head is what the tests read.
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    String::from_utf8_lossy(&response).into_owned()
}

fn basic(name: &str, password: &str) -> String {
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{name}:{password}"));
    format!("Authorization: Basic {encoded}")
}

#[test]
fn the_review_page_shows_the_whole_filing_and_its_scans_in_headless_chromium() {
    let db = fixture();
    let serving = serve_review(&db);

    let response = request(&serving.address, "GET /", &[], "");
    assert!(response.starts_with("HTTP/1.1 401"), "{response}");
    assert!(
        response.contains("www-authenticate: Basic realm=\"sluice review\""),
        "{response}"
    );
    assert!(
        response.contains("content-security-policy: default-src 'none'"),
        "{response}"
    );

    let profile = tempfile::tempdir().unwrap();
    let as_beijing = |path: &str| format!("http://bj-01:{PAGE_PASSWORD}@{}{path}", serving.address);
    let queues = testkit::browser::dump_dom(profile.path(), &as_beijing("/"));
    assert!(
        queues.contains("审核队列") && queues.contains("Review queues"),
        "{queues}"
    );
    // Beijing sees its own province's queues only: R1 waits for its pre-approval, R2 for the
    // regional review; Zhejiang's filing is not listed.
    assert!(queues.contains("待前置审批"), "{queues}");
    assert!(queues.contains("<th id=\"queue-total\">2</th>"), "{queues}");
    assert!(
        queues.contains(">R1</a>") && queues.contains(">R2</a>"),
        "{queues}"
    );
    assert!(!queues.contains("R-zj"), "{queues}");

    let filing = testkit::browser::dump_dom(profile.path(), &as_beijing("/filings/R1"));
    for shown in [
        "甲公司",                                       // subject
        "北京市海淀区中关村大街1号",                    // its address
        "王芳",                                         // its principal
        "张伟",                                         // the website's principal
        "news.jia.example.cn",                          // a domain
        "203.0.113.1-203.0.113.1",                      // the IP range
        "北京云接入有限公司",                           // access provider
        "京新闻审字〔2026〕第12号",                     // pre-approval document
        "subject-certificate · submission · image/png", // the scan's caption
        // version 2 added a domain, and the page says so
        "websites[0].domains: jia.example.cn → jia.example.cn news.jia.example.cn",
        "domain-pending-elsewhere",       // the conflict with R2 …
        "account owner1 through bjcloud", // … and who holds it
    ] {
        assert!(filing.contains(shown), "{shown} missing from {filing}");
    }
    assert!(
        filing.contains("<img src=\"/filings/R1/scans/0\""),
        "{filing}"
    );
    let shot = testkit::browser::screenshot(
        profile.path(),
        &as_beijing("/filings/R1"),
        Path::new(env!("CARGO_TARGET_TMPDIR")),
        "review-filing.png",
    );
    assert!(
        green_pixels(&shot) > 5_000,
        "the scan does not show as an image in the screenshot"
    );
    let (dark, _) = testkit::browser::screenshot_ink(&shot);
    assert!(
        dark > 2_000,
        "the screenshot shows almost no text ({dark} dark pixels)"
    );
    testkit::browser::screenshot(
        profile.path(),
        &as_beijing("/"),
        Path::new(env!("CARGO_TARGET_TMPDIR")),
        "review-queues.png",
    );

    // Zhejiang's authority sees neither Beijing's filing nor its scans.
    let as_zhejiang = format!(
        "http://zj-01:{PAGE_PASSWORD}@{}/filings/R1",
        serving.address
    );
    let refused = testkit::browser::dump_dom(profile.path(), &as_zhejiang);
    assert!(
        refused
            .contains("reviewer zj-01 (authority, province 33) may not see filing of province 11"),
        "{refused}"
    );
    assert!(!refused.contains("甲公司"), "{refused}");
    let scan = request(
        &serving.address,
        "GET /filings/R1/scans/0",
        &[basic("zj-01", PAGE_PASSWORD)],
        "",
    );
    assert!(scan.starts_with("HTTP/1.1 403"), "{scan}");
}

/// Pixels of a screenshot that are the scan's pure green.
fn green_pixels(path: &Path) -> usize {
    let file = std::fs::File::open(path).unwrap();
    let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut pixels).unwrap();
    let channels = frame.color_type.samples();
    pixels[..frame.buffer_size()]
        .chunks(channels)
        .filter(|p| channels >= 3 && p[0] < 40 && p[1] > 220 && p[2] < 40)
        .count()
}

#[test]
fn a_decision_on_the_page_goes_through_the_same_checks_as_the_command_line() {
    let db = fixture();
    let serving = serve_review(&db);
    let same_origin = vec![format!("Origin: http://{}", serving.address)];
    let post = |who: &str, password: &str, extra: &[String], body: &str| {
        let mut lines = vec![basic(who, password)];
        lines.extend_from_slice(extra);
        request(&serving.address, "POST /filings/R2/decision", &lines, body)
    };

    // A form from another site is refused, whoever's credentials the browser adds.
    let forged = post(
        "bj-01",
        PAGE_PASSWORD,
        &["Origin: http://evil.example".to_owned()],
        "action=approve",
    );
    assert!(forged.starts_with("HTTP/1.1 403"), "{forged}");
    let forged = post("bj-01", PAGE_PASSWORD, &[], "action=approve");
    assert!(forged.starts_with("HTTP/1.1 403"), "{forged}");
    // A wrong password is asked again.
    let wrong = post("bj-01", "not-the-password", &same_origin, "action=approve");
    assert!(wrong.starts_with("HTTP/1.1 401"), "{wrong}");
    // Another province's authority, and a pre-approval reviewer at the regional review, are
    // refused as on the command line.
    let zhejiang = post("zj-01", PAGE_PASSWORD, &same_origin, "action=approve");
    assert!(zhejiang.starts_with("HTTP/1.1 403"), "{zhejiang}");
    assert!(
        zhejiang.contains("may not see filing of province 11"),
        "{zhejiang}"
    );
    let news = post("bj-news", PAGE_PASSWORD, &same_origin, "action=approve");
    assert!(news.starts_with("HTTP/1.1 403"), "{news}");
    assert!(
        news.contains("pre-approval reviewers act at the awaiting-pre-approval stage only"),
        "{news}"
    );
    let no_reason = post(
        "bj-01",
        PAGE_PASSWORD,
        &same_origin,
        "action=reject&reason=",
    );
    assert!(no_reason.starts_with("HTTP/1.1 400"), "{no_reason}");
    assert_eq!(state_of(&db, "R2"), "awaiting-regional-review");

    let approved = post(
        "bj-01",
        PAGE_PASSWORD,
        &same_origin,
        "action=approve&reason=%E6%A0%B8%E5%AE%9E%E6%97%A0%E8%AF%AF",
    );
    assert!(approved.starts_with("HTTP/1.1 303"), "{approved}");
    assert!(approved.contains("location: /filings/R2"), "{approved}");
    assert_eq!(state_of(&db, "R2"), "approved");
    let row = db
        .connect()
        .unwrap()
        .query_one(
            "SELECT a.name, e.reason FROM review_events e
             JOIN reviewer_accounts a ON a.account_id = e.reviewer_account
             WHERE e.receipt = 'R2' AND e.to_state = 'approved'",
            &[],
        )
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "bj-01");
    assert_eq!(row.get::<_, Option<String>>(1).as_deref(), Some("核实无误"));
}

#[test]
fn review_show_prints_what_the_page_shows() {
    let db = fixture();
    let scans = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sluice-inner"))
        .env_remove("SLUICE_DATABASE_URL")
        .arg("--database-url")
        .arg(db.connection_string())
        .args(["review", "show", "R1", "--save-scans"])
        .arg(scans.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for shown in [
        "receipt R1 version 2 (new-filing): new filing\n",
        "state awaiting-pre-approval since ",
        "subject 甲公司 (enterprise, unified-social-credit-code C1)\n",
        "  principal 王芳 (resident-id 110105199001011234) mobile 13800138000 office 010-62345678 email admin@example.cn\n",
        "website 甲新闻\n",
        "  domain news.jia.example.cn\n",
        "  ip 203.0.113.1-203.0.113.1\n",
        "  pre-approval news document 京新闻审字〔2026〕第12号\n",
        "  access 北京云接入有限公司 cloud servers in 110108\n",
        "  0 subject-certificate of submission image/png ",
        "  v2 received ",
        "    websites[0].domains: jia.example.cn → jia.example.cn news.jia.example.cn\n",
        "  domain-pending-elsewhere news.jia.example.cn (R2, held by account owner1 through bjcloud)\n",
    ] {
        assert!(text.contains(shown), "{shown:?} missing from:\n{text}");
    }
    // The scan, written as the image it is.
    let saved = scans.path().join("R1-scan-0.png");
    assert!(
        text.contains(&format!("saved {}\n", saved.display())),
        "{text}"
    );
    assert_eq!(std::fs::read(&saved).unwrap(), green_scan());

    let out = Command::new(env!("CARGO_BIN_EXE_sluice-inner"))
        .env_remove("SLUICE_DATABASE_URL")
        .arg("--database-url")
        .arg(db.connection_string())
        .args(["review", "queues"])
        .output()
        .unwrap();
    let queues = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = queues.lines().collect();
    assert_eq!(lines.len(), 3, "{queues}");
    assert!(
        lines[0].starts_with("awaiting-pre-approval\tprovince 11\t1 waiting\toldest since "),
        "{queues}"
    );
    assert!(
        lines[1].starts_with("awaiting-regional-review\tprovince 11\t1 waiting"),
        "{queues}"
    );
    assert!(
        lines[2].starts_with("awaiting-regional-review\tprovince 33\t1 waiting"),
        "{queues}"
    );
}

/// The `name=value` of the cookie a response sets, and the whole header line.
fn set_cookie(response: &str) -> Option<(String, String)> {
    let line = response
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))?;
    let value = line.split_once(':')?.1.trim();
    let pair = value.split(';').next()?.to_owned();
    Some((pair, line.to_owned()))
}

#[test]
fn signing_in_on_the_form_gives_a_session_that_signing_out_or_disabling_ends() {
    let db = fixture();
    let serving = serve_review(&db);
    let origin = format!("Origin: http://{}", serving.address);
    let login =
        |body: &str, extra: &[String]| request(&serving.address, "POST /login", extra, body);
    let form = request(&serving.address, "GET /login", &[], "");
    assert!(form.starts_with("HTTP/1.1 200"), "{form}");
    assert!(
        form.contains("<form id=\"login\" method=\"post\" action=\"/login\">"),
        "{form}"
    );

    // From another site, or with a wrong password: no session.
    let body = format!("name=bj-01&password={PAGE_PASSWORD}");
    let forged = login(&body, &["Origin: http://evil.example".to_owned()]);
    assert!(forged.starts_with("HTTP/1.1 403"), "{forged}");
    let wrong = login(
        "name=bj-01&password=wrong-password",
        std::slice::from_ref(&origin),
    );
    assert!(wrong.starts_with("HTTP/1.1 401"), "{wrong}");
    assert!(
        wrong.contains("reviewer bj-01: wrong name or password"),
        "{wrong}"
    );
    assert!(set_cookie(&wrong).is_none(), "{wrong}");
    assert!(
        !wrong.to_ascii_lowercase().contains("www-authenticate"),
        "{wrong}"
    );

    let signed_in = login(&body, std::slice::from_ref(&origin));
    assert!(signed_in.starts_with("HTTP/1.1 303"), "{signed_in}");
    let (cookie, line) = set_cookie(&signed_in).expect("a session cookie");
    assert!(
        line.contains("HttpOnly") && line.contains("SameSite=Strict"),
        "{line}"
    );
    let token = cookie.strip_prefix("sluice_review=").unwrap().to_owned();
    assert_eq!(token.len(), 64, "{token}");
    let with_cookie = vec![format!("Cookie: {cookie}")];
    let queues = request(&serving.address, "GET /", &with_cookie, "");
    assert!(queues.starts_with("HTTP/1.1 200"), "{queues}");
    assert!(queues.contains("bj-01 · 管局 authority"), "{queues}");
    // Only the token's digest is stored.
    let mut client = db.connect().unwrap();
    let stored: i64 = client
        .query_one(
            "SELECT count(*) FROM reviewer_sessions WHERE token_sha256 = sha256($1::bytea)",
            &[&token.as_bytes()],
        )
        .unwrap()
        .get(0);
    assert_eq!(stored, 1);
    let verbatim: i64 = client
        .query_one(
            "SELECT count(*) FROM reviewer_sessions WHERE token_sha256 = $1",
            &[&token.as_bytes()],
        )
        .unwrap()
        .get(0);
    assert_eq!(verbatim, 0);

    // A decision with the session, from the page.
    let mut lines = with_cookie.clone();
    lines.push(origin.clone());
    let approved = request(
        &serving.address,
        "POST /filings/R2/decision",
        &lines,
        "action=approve",
    );
    assert!(approved.starts_with("HTTP/1.1 303"), "{approved}");
    assert_eq!(state_of(&db, "R2"), "approved");

    // Signing out ends the session; the cookie no longer works.
    let out = request(&serving.address, "POST /logout", &lines, "");
    assert!(out.starts_with("HTTP/1.1 303"), "{out}");
    assert!(set_cookie(&out).unwrap().1.contains("Max-Age=0"), "{out}");
    let after = request(&serving.address, "GET /", &with_cookie, "");
    assert!(after.starts_with("HTTP/1.1 401"), "{after}");
    assert!(
        after.contains("the session has ended; sign in again"),
        "{after}"
    );

    // Disabling the account ends its sessions at once.
    let again = login(&body, std::slice::from_ref(&origin));
    let (cookie, _) = set_cookie(&again).expect("a session cookie");
    let with_cookie = vec![format!("Cookie: {cookie}")];
    assert!(request(&serving.address, "GET /", &with_cookie, "").starts_with("HTTP/1.1 200"));
    reviewers::disable(&mut client, &ministry(&db), "bj-01", NOW).unwrap();
    let disabled = request(&serving.address, "GET /", &with_cookie, "");
    assert!(disabled.starts_with("HTTP/1.1 401"), "{disabled}");
}

/// `text` percent-encoded for a form body.
fn form_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[test]
fn a_revocation_on_the_page_is_for_the_provinces_authority_only() {
    let db = fixture();
    let number = approve(&db, "R2").filing_number.unwrap();
    let serving = serve_review(&db);
    let same_origin = format!("Origin: http://{}", serving.address);
    let post = |who: &str, origin: &str, body: &str| {
        request(
            &serving.address,
            "POST /revocations",
            &[basic(who, PAGE_PASSWORD), origin.to_owned()],
            body,
        )
    };
    let body = format!(
        "filing_number={}&website=&reason={}",
        form_encode(&number),
        form_encode("网站内容违法")
    );
    let status = || filing_status(&db, &number);

    let forged = post("bj-01", "Origin: http://evil.example", &body);
    assert!(forged.starts_with("HTTP/1.1 403"), "{forged}");
    let zhejiang = post("zj-01", &same_origin, &body);
    assert!(zhejiang.starts_with("HTTP/1.1 403"), "{zhejiang}");
    assert!(
        zhejiang.contains("may not revoke a filing of province 11"),
        "{zhejiang}"
    );
    let no_reason = post(
        "bj-01",
        &same_origin,
        &format!("filing_number={}&reason=", form_encode(&number)),
    );
    assert!(no_reason.starts_with("HTTP/1.1 400"), "{no_reason}");
    assert_eq!(status(), "active");

    let revoked = post("bj-01", &same_origin, &body);
    assert!(revoked.starts_with("HTTP/1.1 200"), "{revoked}");
    assert!(revoked.contains("已撤销"), "{revoked}");
    assert_eq!(status(), "revoked");
    let row = db
        .connect()
        .unwrap()
        .query_one(
            "SELECT r.reviewer, r.reason, a.province FROM revocations r
             JOIN reviewer_accounts a ON a.account_id = r.reviewer_account",
            &[],
        )
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "bj-01");
    assert_eq!(row.get::<_, String>(1), "网站内容违法");
    assert_eq!(row.get::<_, Option<i16>>(2), Some(11));
    let again = post("bj-01", &same_origin, &body);
    assert!(again.starts_with("HTTP/1.1 409"), "{again}");
}

/// Beijing's R7 approved, then R8, a change of its website into a news site carrying the
/// news pre-approval document (green) and a new licence scan; the page's accounts.
fn change_fixture() -> TestDatabase {
    let db = TestDatabase::with_schema().expect("db");
    apply_at(
        &db,
        1,
        &[one_site_filing(
            "R7",
            "甲公司",
            "C1",
            "甲网",
            &["jia.example.cn"],
            1,
        )],
    );
    let number = approve(&db, "R7").filing_number.expect("number");
    let mut site = website("甲新闻", &["jia.example.cn"], 1);
    site.service_types = vec![ServiceType::News];
    site.pre_approvals = vec![PreApproval {
        item: PreApprovalItem::News,
        document_number: "京新闻审字〔2026〕第12号".to_owned(),
    }];
    let scan = testkit::records::png_scan;
    let change = Submission::ChangeWithScans {
        filing_number: number.clone(),
        change: Change::Website {
            website_number: format!("{number}-1"),
            website: site,
        },
        scans: vec![
            scan(
                AttachmentKind::PreApproval,
                ScanOf::PreApproval {
                    website: 0,
                    item: PreApprovalItem::News,
                },
                green_scan(),
            ),
            scan(
                AttachmentKind::SubjectCertificate,
                ScanOf::Submission,
                green_scan(),
            ),
        ],
    };
    apply_at(&db, 2, &[version("R8", 1, change)]);
    page_accounts(&db);
    db
}

#[test]
fn a_change_with_scans_shows_its_pre_approval_document_as_an_image_on_the_page() {
    let db = change_fixture();
    let serving = serve_review(&db);
    let profile = tempfile::tempdir().unwrap();
    let as_beijing = |path: &str| format!("http://bj-01:{PAGE_PASSWORD}@{}{path}", serving.address);
    let page = testkit::browser::dump_dom(profile.path(), &as_beijing("/filings/R8"));
    for shown in [
        "pre-approval · pre-approval news 京新闻审字〔2026〕第12号 of website 0 (甲新闻) · image/png",
        "subject-certificate · submission · image/png",
        "<img src=\"/filings/R8/scans/0\"",
        "<img src=\"/filings/R8/scans/1\"",
    ] {
        assert!(page.contains(shown), "{shown} missing from {page}");
    }
    let shot = testkit::browser::screenshot(
        profile.path(),
        &as_beijing("/filings/R8"),
        Path::new(env!("CARGO_TARGET_TMPDIR")),
        "review-change-with-scans.png",
    );
    assert!(
        green_pixels(&shot) > 10_000,
        "the change's scans do not show as images in the screenshot"
    );
    let image = request(
        &serving.address,
        "GET /filings/R8/scans/0",
        &[basic("bj-01", PAGE_PASSWORD)],
        "",
    );
    assert!(image.starts_with("HTTP/1.1 200"), "{}", &image[..200]);
    for header in [
        "content-type: image/png\r\n",
        "content-security-policy: default-src 'none'",
        "x-content-type-options: nosniff",
    ] {
        assert!(image.contains(header), "{header} missing");
    }
}

#[test]
fn reviewer_of_another_province_cannot_fetch_scan() {
    let db = change_fixture();
    let serving = serve_review(&db);
    for index in [0, 1] {
        let refused = request(
            &serving.address,
            &format!("GET /filings/R8/scans/{index}"),
            &[basic("zj-01", PAGE_PASSWORD)],
            "",
        );
        assert!(refused.starts_with("HTTP/1.1 403"), "{refused}");
        assert!(!refused.contains("PNG"), "the image leaked: {refused}");
    }
    let unauthenticated = request(&serving.address, "GET /filings/R8/scans/0", &[], "");
    assert!(
        unauthenticated.starts_with("HTTP/1.1 401"),
        "{unauthenticated}"
    );
}
