//! The one-way UDP carrier on real sockets: bundles sent through a link that loses and reorders
//! datagrams arrive byte for byte; a loss beyond what the repair symbols cover is reported and
//! nothing of that file is written.

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use testkit::net::LossyLink;
use transfer::diode::{self, ReceiveEvent, ReceiveSettings, SendSettings};

/// Three signed submissions bundles of different sizes (10, 200 and 600 filings) in `dir`.
fn bundles(dir: &Path) -> Vec<PathBuf> {
    testkit::records::signed_bundle_files(dir, &[10, 200, 600])
}

/// A receiver on its own thread, writing into `inbox`; its events arrive on the channel.
fn start_receiver(
    inbox: &Path,
    session_timeout: Duration,
) -> (
    SocketAddr,
    mpsc::Receiver<ReceiveEvent>,
    Arc<AtomicBool>,
    JoinHandle<()>,
) {
    std::fs::create_dir_all(inbox).unwrap();
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let address = socket.local_addr().unwrap();
    let settings = ReceiveSettings {
        session_timeout,
        ..ReceiveSettings::defaults(inbox.to_owned())
    };
    let stop = Arc::new(AtomicBool::new(false));
    let stopping = Arc::clone(&stop);
    let (events, received) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        diode::receive(&socket, settings, None, &stopping, |event| {
            let _ = events.send(event.clone());
        })
        .unwrap();
    });
    (address, received, stop, thread)
}

/// Events until `done` says enough, or until a minute has passed (a hang, not a measurement).
fn events_until(
    received: &mpsc::Receiver<ReceiveEvent>,
    done: impl Fn(&[ReceiveEvent]) -> bool,
) -> Vec<ReceiveEvent> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = Vec::new();
    while !done(&seen) {
        let left = deadline.saturating_duration_since(Instant::now());
        match received.recv_timeout(left) {
            Ok(event) => seen.push(event),
            Err(_) => panic!("no end within a minute; events so far: {seen:?}"),
        }
    }
    seen
}

fn send(from: &Path, to: SocketAddr) -> diode::SendReport {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let settings = SendSettings {
        bytes_per_second: 2_000_000,
        ..SendSettings::defaults()
    };
    diode::send_dir(&socket, to, from, &settings).unwrap()
}

#[test]
fn bundles_cross_a_link_losing_five_percent_and_reordering_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = dir.path().join("outbox");
    let inbox = dir.path().join("inbox");
    let sent = bundles(&outbox);
    let (address, received, stop, receiver) = start_receiver(&inbox, Duration::from_secs(30));
    let link = LossyLink::start(address, 50);

    let report = send(&outbox, link.address);
    assert_eq!(report.sent.len(), 3, "{report:?}");
    assert!(
        report.sent.iter().all(|f| f.repair_symbols > 0),
        "{report:?}"
    );
    let events = events_until(&received, |seen| {
        seen.iter()
            .filter(|e| matches!(e, ReceiveEvent::Written { .. }))
            .count()
            == 3
    });
    let (passed, dropped) = link.stop();
    stop.store(true, Ordering::Relaxed);
    receiver.join().unwrap();

    assert!(
        dropped > 0,
        "the link lost datagrams ({dropped} of {})",
        passed + dropped
    );
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, ReceiveEvent::Incomplete { .. })),
        "{events:?}"
    );
    for path in sent {
        let name = path.file_name().unwrap();
        assert_eq!(
            std::fs::read(inbox.join(name)).unwrap(),
            std::fs::read(&path).unwrap(),
            "{} arrived byte for byte",
            name.to_string_lossy()
        );
    }
    assert_eq!(
        std::fs::read_dir(&inbox).unwrap().count(),
        3,
        "nothing else was written"
    );
}

#[test]
fn a_loss_beyond_the_repair_symbols_is_reported_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = dir.path().join("outbox");
    let inbox = dir.path().join("inbox");
    bundles(&outbox);
    let (address, received, stop, receiver) = start_receiver(&inbox, Duration::from_secs(1));
    // Six datagrams in ten lost: far beyond 25% repair.
    let link = LossyLink::start(address, 600);

    send(&outbox, link.address);
    let events = events_until(&received, |seen| {
        seen.iter()
            .filter(|e| matches!(e, ReceiveEvent::Incomplete { .. }))
            .count()
            == 3
    });
    link.stop();
    stop.store(true, Ordering::Relaxed);
    receiver.join().unwrap();

    for event in &events {
        assert!(
            !matches!(event, ReceiveEvent::Written { .. }),
            "nothing decodes from 40% of the datagrams: {events:?}"
        );
        if let ReceiveEvent::Incomplete { reason, .. } = event {
            assert!(reason.contains("no datagram for 1 s"), "{reason}");
        }
    }
    let written: Vec<_> = std::fs::read_dir(&inbox).unwrap().collect();
    assert!(
        written.is_empty(),
        "an incomplete file is never written: {written:?}"
    );
}

#[test]
fn an_incomplete_or_foreign_file_is_not_sent() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = dir.path().join("outbox");
    let sent = bundles(&outbox);
    // Cut the middle bundle short, as an interrupted copy would.
    let bytes = std::fs::read(&sent[1]).unwrap();
    std::fs::write(&sent[1], &bytes[..bytes.len() / 2]).unwrap();
    let sink = UdpSocket::bind("127.0.0.1:0").unwrap();
    let report = send(&outbox, sink.local_addr().unwrap());
    assert_eq!(report.sent.len(), 2, "{report:?}");
    assert_eq!(report.incomplete.len(), 1, "{report:?}");
    assert_eq!(
        report.incomplete[0].0,
        sent[1].file_name().unwrap().to_string_lossy()
    );
}
