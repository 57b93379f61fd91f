//! `sluice-inner serve-ops`: the read-only operations page inside, from a real PostgreSQL, as
//! headless Chromium renders it; its screenshot stays under `target/tmp/`.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use keys::ops::parse_exposition;
use testkit::pg::TestDatabase;

/// The page's server, stopped (by its own process id) when dropped.
struct Serving {
    child: Child,
    address: String,
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve_ops(db: &TestDatabase) -> Serving {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice-inner"))
        .env_remove("SLUICE_DATABASE_URL")
        .arg("--database-url")
        .arg(db.connection_string())
        .args(["serve-ops", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run sluice-inner serve-ops");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped stdout"))
        .read_line(&mut line)
        .expect("the first line of serve-ops");
    let address = line
        .trim()
        .strip_prefix("serving the operations page at http://")
        .and_then(|rest| rest.strip_suffix("/ops"))
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    Serving { child, address }
}

/// One metrics run of the inner host: channel 1's sequence state, the return queue, the
/// quarantine.
fn metrics_run(
    client: &mut postgres::Client,
    taken_at: i64,
    contiguous: u64,
    missing: u64,
    pending: u64,
    quarantined: u64,
) {
    let text = format!(
        "sluice_inner_highest_contiguous_sequence{{channel=\"1\"}} {contiguous}\n\
         sluice_inner_missing_bundles{{channel=\"1\"}} {missing}\n\
         sluice_inner_last_import_timestamp_seconds{{channel=\"1\"}} {}\n\
         sluice_inner_last_heartbeat_timestamp_seconds{{channel=\"1\"}} {}\n\
         sluice_inner_pending_returns {pending}\n\
         sluice_inner_return_bundles_sent_total {contiguous}\n\
         sluice_quarantined_bundles {quarantined}\n",
        taken_at - 120,
        taken_at - 900,
    );
    inner::ops::record_samples(client, &parse_exposition(&text, taken_at)).unwrap();
}

/// `GET path` over a fresh connection: the whole response, head and body.
fn get(address: &str, path: &str) -> String {
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

#[test]
fn the_inner_operations_page_plots_gaps_and_lag_per_channel_in_headless_chromium() {
    let db = TestDatabase::with_schema().expect("db");
    let mut client = db.connect().unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    // A gap opens on channel 1 (bundle 3 lost) and is healed by the resend.
    metrics_run(&mut client, now - 5400, 1, 0, 2, 0);
    metrics_run(&mut client, now - 3600, 2, 1, 4, 1);
    metrics_run(&mut client, now - 60, 4, 0, 0, 1);
    let serving = serve_ops(&db);

    let response = get(&serving.address, "/ops");
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let head = head.to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(
        head.contains("content-security-policy: default-src 'none'"),
        "{head}"
    );
    assert!(head.contains("x-frame-options: deny"), "{head}");
    assert!(!body.contains("<script"), "{body}");

    let profile = tempfile::tempdir().unwrap();
    let url = format!("http://{}/ops", serving.address);
    let dom = testkit::browser::dump_dom(profile.path(), &url);
    assert!(
        dom.contains("内网运行状态") && dom.contains("Inner side operations"),
        "{dom}"
    );
    for chart in ["bundles", "lag", "gaps", "pending", "quarantine"] {
        assert!(
            dom.contains(&format!("id=\"chart-{chart}\"")),
            "chart {chart} missing: {dom}"
        );
    }
    let latest =
        |series: &str, value: &str| testkit::browser::assert_latest_value(&dom, series, value);
    // The gap is closed now; the lag is the last import's age when the run sampled it.
    latest("sluice_inner_missing_bundles{channel=\"1\"}", "0");
    latest(
        "sluice_inner_last_import_timestamp_seconds{channel=\"1\"}",
        "120",
    );
    latest(
        "sluice_inner_highest_contiguous_sequence{channel=\"1\"}",
        "4",
    );
    latest("sluice_inner_pending_returns", "0");
    // Nothing was ever imported or returned in this database: the page says so.
    assert!(dom.contains("data-timer=\"sluice-import\""), "{dom}");
    assert!(dom.contains("从未 never"), "{dom}");

    let shot = testkit::browser::screenshot(
        profile.path(),
        &url,
        Path::new(env!("CARGO_TARGET_TMPDIR")),
        "ops-inner.png",
    );
    testkit::browser::assert_plots_rendered(testkit::browser::screenshot_ink(&shot));
}

#[test]
fn serve_ops_never_migrates_and_says_when_the_database_cannot_be_read() {
    // A database no command has migrated yet: the page must not create its tables.
    let db = TestDatabase::new().expect("db");
    let mut client = db.connect().unwrap();
    let serving = serve_ops(&db);
    let response = get(&serving.address, "/ops?hours=1");
    assert!(response.starts_with("HTTP/1.1 503"), "{response}");
    assert!(
        response.contains("数据库暂不可读") && response.contains("Database unavailable"),
        "{response}"
    );
    assert!(
        response
            .to_ascii_lowercase()
            .contains("content-security-policy: default-src 'none'"),
        "an error page carries the policy too: {response}"
    );
    let tables: i64 = client
        .query_one(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(tables, 0, "the page's read-only sessions created nothing");
}
