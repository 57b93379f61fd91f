//! Goodput of the one-way UDP carrier beside the line rate it is configured for: bundles sent
//! over loopback at that rate, once on a clean link and once through a link that loses 5% of the
//! datagrams and reorders the rest, each until the receiver has written every file.
//!
//! Usage: `cargo bench -p transfer --bench udp -- [--rate BYTES_PER_SECOND] [--filings N]`
//! (defaults: 10,000,000 bytes/s; 40,000 filings in four bundles). Results are printed, written to
//! `target/sluice-bench/udp.json` and put in this crate's BENCHMARKS.md (section `udp`).
//!
//! Goodput is the bundle bytes written by the receiver divided by the time from the first
//! datagram sent to the last file written; the ratio to the line rate says what the header
//! repeats, repair symbols and framing cost (at 25% repair, about 0.78 is the most a run can
//! reach) and whether the sender keeps its rate. Sender, link and receiver share the machine.

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::json;
use testkit::net::LossyLink;
use transfer::diode::{self, ReceiveEvent, ReceiveSettings, SendSettings};

const BUNDLES: usize = 4;

/// `filings` filings in four signed submissions bundles in `dir`; returns their total bytes.
fn bundles(dir: &Path, filings: usize) -> u64 {
    let per_bundle = filings.div_ceil(BUNDLES);
    testkit::records::signed_bundle_files(dir, &[per_bundle; BUNDLES])
        .iter()
        .map(|path| std::fs::metadata(path).unwrap().len())
        .sum()
}

struct Run {
    loss_per_mille: u64,
    seconds: f64,
    sent: diode::SendReport,
    dropped: u64,
    /// Bundle bytes written by the receiver.
    delivered_bytes: u64,
    /// Files reported incomplete, with the reason.
    incomplete: Vec<String>,
}

/// Sends `outbox` at `rate` through a link losing `loss_per_mille` (none: straight to the
/// receiver) until the receiver has written every file.
fn run(outbox: &Path, inbox: &Path, rate: u64, loss_per_mille: u64) -> Run {
    let _ = std::fs::remove_dir_all(inbox);
    std::fs::create_dir_all(inbox).unwrap();
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let receiver_address = socket.local_addr().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let stopping = Arc::clone(&stop);
    let (events, received) = mpsc::channel();
    let settings = ReceiveSettings::defaults(inbox.to_owned());
    let receiver = std::thread::spawn(move || {
        diode::receive(&socket, settings, None, &stopping, |event| {
            let _ = events.send((Instant::now(), event.clone()));
        })
        .unwrap()
    });
    let link = (loss_per_mille > 0).then(|| LossyLink::start(receiver_address, loss_per_mille));
    let to = link.as_ref().map_or(receiver_address, |l| l.address);
    let settings = SendSettings {
        bytes_per_second: rate,
        ..SendSettings::defaults()
    };
    let started = Instant::now();
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    let sent = diode::send_dir(&sender, to, outbox, &settings).unwrap();
    let mut delivered_bytes = 0;
    let mut written = 0;
    let mut incomplete = Vec::new();
    let mut last = started;
    while written + incomplete.len() < sent.sent.len() {
        let (at, event) = received
            .recv_timeout(Duration::from_secs(120))
            .expect("every file ends, written or reported incomplete, within two minutes");
        match event {
            ReceiveEvent::Written { bytes, .. } => {
                delivered_bytes += bytes;
                written += 1;
                last = at;
            }
            ReceiveEvent::Incomplete { name, reason } => {
                incomplete.push(format!("{}: {reason}", name.unwrap_or_default()));
            }
            _ => {}
        }
    }
    let dropped = link.map_or(0, |l| l.stop().1);
    stop.store(true, Ordering::Relaxed);
    receiver.join().unwrap();
    Run {
        loss_per_mille,
        seconds: last.duration_since(started).as_secs_f64(),
        sent,
        dropped,
        delivered_bytes,
        incomplete,
    }
}

fn argument(name: &str) -> Option<u64> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name} takes a number, not {v}"))
        })
}

fn main() {
    let rate = argument("--rate").unwrap_or(10_000_000);
    let filings = usize::try_from(argument("--filings").unwrap_or(40_000)).unwrap();
    let work = tempfile::tempdir().unwrap();
    let outbox = work.path().join("outbox");
    let inbox: PathBuf = work.path().join("inbox");
    let file_bytes = bundles(&outbox, filings);
    let load = testkit::bench::load_average();
    let runs: Vec<Run> = [0, 50]
        .into_iter()
        .map(|loss| run(&outbox, &inbox, rate, loss))
        .collect();

    let mut table = format!(
        "## UDP carrier\n\n`cargo bench -p transfer --bench udp -- --rate {rate} --filings {filings}` on {}: \
         {BUNDLES} bundles, {file_bytes} bytes of bundle files, line rate {rate} bytes/s, 1,400-byte \
         datagrams, 25% repair; load average at the start {}.\n\n\
         | link | seconds | goodput (bundle bytes/s) | goodput / line rate | datagrams sent | dropped by the link | files incomplete |\n\
         |---|---:|---:|---:|---:|---:|---:|\n",
        time::OffsetDateTime::now_utc().date(),
        load.map_or("unknown".into(), |l| format!(
            "{:.2} {:.2} {:.2}",
            l[0], l[1], l[2]
        )),
    );
    let mut results = Vec::new();
    for run in &runs {
        let goodput = run.delivered_bytes as f64 / run.seconds;
        let link = if run.loss_per_mille == 0 {
            "clean".to_owned()
        } else {
            format!("{}% lost, reordered", run.loss_per_mille / 10)
        };
        table.push_str(&format!(
            "| {link} | {:.2} | {:.0} | {:.2} | {} | {} | {} of {BUNDLES} |\n",
            run.seconds,
            goodput,
            goodput / rate as f64,
            run.sent.datagrams,
            run.dropped,
            run.incomplete.len()
        ));
        results.push(json!({
            "loss_per_mille": run.loss_per_mille,
            "seconds": run.seconds,
            "goodput_bytes_per_second": goodput,
            "ratio_to_line_rate": goodput / rate as f64,
            "datagrams": run.sent.datagrams,
            "wire_bytes": run.sent.bytes,
            "dropped_by_link": run.dropped,
            "delivered_bytes": run.delivered_bytes,
            "incomplete": run.incomplete,
        }));
    }
    println!("{table}");
    let path = testkit::bench::write_json(
        "udp",
        &json!({
            "line_rate_bytes_per_second": rate,
            "bundles": BUNDLES,
            "file_bytes": file_bytes,
            "datagram_bytes": diode::DEFAULT_DATAGRAM_BYTES,
            "repair_percent": SendSettings::defaults().repair_percent,
            "load_average_at_start": load,
            "runs": results,
        }),
    );
    println!("written to {}", path.display());
    testkit::bench::write_section(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("BENCHMARKS.md"),
        "udp",
        &table,
    );
}
