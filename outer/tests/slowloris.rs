//! The real `sluice-outer serve` under slow connections, at the open-file limit a systemd
//! service gets by default (1,024): 1,100 connections that send their request head a byte at a
//! time must not keep a normal client from its answer.

mod common;

use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt as _;
use tokio::net::{TcpSocket, TcpStream};

const BIN: &str = env!("CARGO_BIN_EXE_sluice-outer");
/// What systemd gives a service unless its unit says otherwise.
const SERVICE_OPEN_FILE_LIMIT: u64 = 1_024;
const SLOW_CONNECTIONS: usize = 1_100;
/// The slow connections come from 127.0.0.2 to 127.0.0.6, 220 from each: under the default
/// per-client cap (256), so each one is accepted and held, and together more than the file
/// limit allows.
const SLOW_CLIENTS: u8 = 5;
/// What a slow client sends, one byte each round, and never the blank line that ends it.
const SLOW_HEAD: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: intake.example\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

/// Raises this process's own soft open-file limit (it holds every slow connection) with
/// util-linux's `prlimit`.
fn raise_own_open_file_limit() {
    let wanted = 4 * SLOW_CONNECTIONS as u64;
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    let fields: Vec<&str> = line.split_whitespace().collect();
    let (soft, hard): (u64, u64) = (fields[3].parse().unwrap(), fields[4].parse().unwrap());
    if soft >= wanted {
        return;
    }
    assert!(
        hard > SLOW_CONNECTIONS as u64 + 100,
        "this test holds {SLOW_CONNECTIONS} connections and may open only {hard} files; \
         raise the hard limit (ulimit -Hn)"
    );
    let status = Command::new("prlimit")
        .arg(format!("--pid={}", std::process::id()))
        .arg(format!("--nofile={}:", wanted.min(hard)))
        .status();
    assert!(
        status.is_ok_and(|s| s.success()),
        "cannot run prlimit; install the Debian package util-linux"
    );
}

/// Starts `sluice-outer serve` with default limits on a loopback port, its open-file limit
/// set to [`SERVICE_OPEN_FILE_LIMIT`] by `prlimit`, which then runs it in its own place.
fn start_service(dir: &Path) -> (Child, SocketAddr) {
    let limit = format!("--nofile={SERVICE_OPEN_FILE_LIMIT}:{SERVICE_OPEN_FILE_LIMIT}");
    let mut child = Command::new("prlimit")
        .arg(limit)
        .arg("--")
        .arg(BIN)
        .arg("serve")
        .arg("--database")
        .arg(dir.join("outer.sqlite"))
        .arg("--listen")
        .arg("127.0.0.1:0")
        .env("SLUICE_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(dir.join("serve.log")).unwrap())
        .spawn()
        .expect("cannot run prlimit; install the Debian package util-linux");
    let addr = common::listening_address(&mut child);
    (child, addr)
}

/// Opens one connection from `from` to `to` and sends the first byte of [`SLOW_HEAD`].
async fn open_slow(from: Ipv4Addr, to: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from((from, 0)))?;
    let mut stream = socket.connect(to).await?;
    stream.write_all(&SLOW_HEAD[..1]).await?;
    Ok(stream)
}

/// One normal request on a new connection from 127.0.0.1: the status line and body it got
/// (empty when it got nothing), and how long it took.
fn normal_request(to: SocketAddr) -> (String, Duration) {
    let started = Instant::now();
    let answer = (|| -> std::io::Result<String> {
        let mut stream = std::net::TcpStream::connect(to)?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        stream.write_all(
            b"GET /healthz HTTP/1.1\r\nHost: intake.example\r\nConnection: close\r\n\r\n",
        )?;
        let mut response = String::new();
        stream.read_to_string(&mut response)?;
        Ok(response)
    })()
    .unwrap_or_default();
    let elapsed = started.elapsed();
    let status = answer.lines().next().unwrap_or_default().to_owned();
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    (format!("{status} {}", body.trim()), elapsed)
}

/// Open file descriptors of process `pid`.
fn open_files(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|entries| entries.count())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_connections_do_not_starve_a_normal_client() {
    raise_own_open_file_limit();
    let dir = tempfile::tempdir().unwrap();
    let (mut service, addr) = start_service(dir.path());
    assert_eq!(normal_request(addr).0, "HTTP/1.1 200 OK ok");

    // The attack: every slow connection sends one more byte of its head each round, and one
    // the service closed is opened again, as a slowloris client does.
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let (opened, all_opened) = tokio::sync::oneshot::channel();
    let attack = tokio::spawn(async move {
        let sources: Vec<Ipv4Addr> = (0..SLOW_CLIENTS)
            .cycle()
            .take(SLOW_CONNECTIONS)
            .map(|client| Ipv4Addr::new(127, 0, 0, 2 + client))
            .collect();
        let mut slow: Vec<(Option<TcpStream>, usize)> = Vec::new();
        for &from in &sources {
            slow.push((open_slow(from, addr).await.ok(), 1));
        }
        let _ = opened.send(slow.iter().filter(|(s, _)| s.is_some()).count());
        let mut rounds = 0;
        while !*stopped.borrow() {
            for (i, (stream, sent)) in slow.iter_mut().enumerate() {
                let alive = match stream {
                    Some(open) => open.write_all(&SLOW_HEAD[*sent..=*sent]).await.is_ok(),
                    None => false,
                };
                if alive {
                    *sent = (*sent + 1).min(SLOW_HEAD.len() - 1);
                } else {
                    *stream = open_slow(sources[i], addr).await.ok();
                    *sent = 1;
                }
            }
            rounds += 1;
            tokio::select! {
                () = tokio::time::sleep(Duration::from_millis(500)) => {}
                _ = stopped.changed() => {}
            }
        }
        rounds
    });

    // Once every slow connection is open, let the service accept what it will, then ask as a
    // normal client would, five times.
    let opened = all_opened.await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let pid = service.id();
    let mut answers = Vec::new();
    let mut held = Vec::new();
    for _ in 0..5 {
        held.push(open_files(pid));
        answers.push(
            tokio::task::spawn_blocking(move || normal_request(addr))
                .await
                .unwrap(),
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    stop.send(true).unwrap();
    let rounds = attack.await.unwrap();
    let log = std::fs::read_to_string(dir.path().join("serve.log")).unwrap_or_default();
    println!(
        "slow connections: {opened} of {SLOW_CONNECTIONS} opened from {SLOW_CLIENTS} addresses, \
         {rounds} rounds; \
         service's open files before each normal request: {held:?}; normal requests: {answers:?}"
    );

    // The service really was holding slow connections up to its file limit…
    assert!(
        held.iter().all(|&n| n > 900),
        "the service held fewer slow connections than the test means: {held:?}"
    );
    // …and every normal request was answered, and promptly.
    for (answer, took) in &answers {
        assert_eq!(answer, "HTTP/1.1 200 OK ok", "service log:\n{log}");
        assert!(
            *took < Duration::from_secs(1),
            "a normal request took {took:?}: {answers:?}\nservice log:\n{log}"
        );
    }
    let stopped = Command::new("kill").arg(pid.to_string()).status().unwrap();
    assert!(stopped.success());
    assert!(service.wait().unwrap().success(), "service log:\n{log}");
}
