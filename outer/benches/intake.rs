//! Durable submissions per second and latency at 64 concurrent keep-alive connections, beside
//! the same load against `/healthz` on the same server in the same run.
//!
//! Run with `cargo bench -p outer --bench intake`; the figures are printed, written to
//! `target/sluice-bench/intake.json` (`submissions_per_second`, `p50_ms`, `p99_ms`, and the
//! `/healthz` baseline of the same run) and kept by hand in `outer/BENCHMARKS.md`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use outer::config::Limits;
use outer::http::{AppState, serve};
use outer::store::{AccountKind, Store};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

const CONNECTIONS: usize = 64;
const REQUESTS_PER_CONNECTION: usize = 250;

/// A valid new filing for subject number `subject`: one subject files once, so every
/// submission of the benchmark is for a subject of its own. Its website also serves the
/// internationalised domain 例子.中国, as it always has in this benchmark (the recorded
/// results are for that body).
fn filing(subject: usize) -> serde_json::Value {
    let subject = u32::try_from(subject).expect("fewer than 2^32 subjects");
    let mut filing = testkit::api::new_filing_for("example.cn", subject);
    filing["submission"]["filing"]["websites"][0]["domains"]
        .as_array_mut()
        .expect("a website lists its domains")
        .push(json!("例子.中国"));
    filing
}

/// One keep-alive connection sending its requests in order; returns each request's latency.
async fn connection(
    addr: SocketAddr,
    requests: Vec<Vec<u8>>,
    expect: &'static str,
) -> Vec<Duration> {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    let mut latencies = Vec::with_capacity(requests.len());
    let mut line = String::new();
    for request in requests {
        let started = Instant::now();
        write.write_all(&request).await.unwrap();
        line.clear();
        read.read_line(&mut line).await.unwrap();
        assert!(line.starts_with(expect), "unexpected answer {line:?}");
        let mut length = 0usize;
        loop {
            line.clear();
            read.read_line(&mut line).await.unwrap();
            if line == "\r\n" {
                break;
            }
            if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = value.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        read.read_exact(&mut body).await.unwrap();
        latencies.push(started.elapsed());
    }
    latencies
}

struct Report {
    per_second: f64,
    p50: Duration,
    p99: Duration,
}

/// Runs one list of requests per connection, all connections at once.
async fn load(addr: SocketAddr, requests: Vec<Vec<Vec<u8>>>, expect: &'static str) -> Report {
    let started = Instant::now();
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|list| tokio::spawn(connection(addr, list, expect)))
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    let elapsed = started.elapsed();
    latencies.sort();
    // Percentile by rank: per-mille arithmetic on integers avoids float-to-index casts.
    let at =
        |per_mille: usize| latencies[(latencies.len() * per_mille / 1000).min(latencies.len() - 1)];
    Report {
        per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: at(500),
        p99: at(990),
    }
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("outer.db")).unwrap();
    store
        .add_account("owner", AccountKind::WebsiteOwner)
        .unwrap();
    let token = store.issue_token("owner", "bench").unwrap().secret;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let limits = Limits { rate_per_minute: 10_000_000, rate_burst: 10_000_000, ..Limits::default() };
        let state = AppState::new(store.clone(), limits);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(listener, state, async move {
            let _ = stopped.await;
        }));

        let health = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\n\r\n").into_bytes();
        let health = vec![vec![health; REQUESTS_PER_CONNECTION]; CONNECTIONS];
        // Every request is built before the clock starts.
        let submit = |n: usize| {
            let body = filing(n).to_string();
            format!(
                "POST /api/v1/submissions HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .into_bytes()
        };
        let submissions: Vec<Vec<Vec<u8>>> = (0..CONNECTIONS)
            .map(|c| (0..REQUESTS_PER_CONNECTION).map(|i| submit(c * REQUESTS_PER_CONNECTION + i)).collect())
            .collect();

        // Warm up, then measure the baseline and the submissions in the same run.
        let load_before = testkit::bench::load_average();
        load(addr, health.clone(), "HTTP/1.1 200").await;
        let baseline = load(addr, health, "HTTP/1.1 200").await;
        let submissions = load(addr, submissions, "HTTP/1.1 201").await;
        let stored = store.versions_to_export(usize::MAX).await.unwrap().len();
        assert_eq!(stored, CONNECTIONS * REQUESTS_PER_CONNECTION);

        println!("{CONNECTIONS} connections x {REQUESTS_PER_CONNECTION} requests each");
        println!(
            "GET /healthz (baseline)      {:>9.0} req/s   p50 {:>7.2} ms   p99 {:>7.2} ms",
            baseline.per_second,
            baseline.p50.as_secs_f64() * 1e3,
            baseline.p99.as_secs_f64() * 1e3
        );
        println!(
            "POST /api/v1/submissions     {:>9.0} req/s   p50 {:>7.2} ms   p99 {:>7.2} ms   (durable: WAL, synchronous=FULL)",
            submissions.per_second,
            submissions.p50.as_secs_f64() * 1e3,
            submissions.p99.as_secs_f64() * 1e3
        );
        println!(
            "submissions reach {:.1}% of the baseline's rate",
            100.0 * submissions.per_second / baseline.per_second
        );
        let millis = |d: Duration| d.as_secs_f64() * 1e3;
        let written = testkit::bench::write_json(
            "intake",
            &json!({
                "connections": CONNECTIONS,
                "requests_per_connection": REQUESTS_PER_CONNECTION,
                "durability": "SQLite WAL, synchronous=FULL; each answer after its group commit",
                "submissions_per_second": submissions.per_second,
                "p50_ms": millis(submissions.p50),
                "p99_ms": millis(submissions.p99),
                "baseline": {
                    "request": "GET /healthz",
                    "requests_per_second": baseline.per_second,
                    "p50_ms": millis(baseline.p50),
                    "p99_ms": millis(baseline.p99),
                },
                "goal": {"submissions_per_second": 10_000, "p99_ms": 50},
                "load_average_at_start": load_before,
            }),
        );
        println!("results written to {}", written.display());
        stop.send(()).unwrap();
        server.await.unwrap().unwrap();
    });
}
