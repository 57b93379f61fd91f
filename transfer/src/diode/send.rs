//! The sending end: every complete bundle of a directory, encoded and sent at a fixed rate.

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use raptorq::Encoder;

use super::{Datagram, DiodeError, Header, sha256, symbol_size};
use crate::{examine, spool};

/// How `send-udp` sends.
#[derive(Debug, Clone)]
pub struct SendSettings {
    /// Bytes of every datagram (UDP payload), the same on both ends' links.
    pub datagram_bytes: usize,
    /// The line rate not to exceed, bytes of UDP payload per second.
    pub bytes_per_second: u64,
    /// Repair symbols sent per source block, as a percentage of its source symbols (at least
    /// two per block): the loss the receiver can repair, with a margin.
    pub repair_percent: u32,
    /// A file's header is sent again after this many symbols, so that a receiver that lost the
    /// first copies (or started late) still learns what the session is.
    pub header_every: usize,
    /// Where a file goes once sent; `None` leaves it in place (the next run sends it again).
    pub sent_dir: Option<PathBuf>,
}

impl SendSettings {
    /// 1,400-byte datagrams at 10 MB/s with 25% repair, the header every 32 symbols, files left
    /// in place.
    pub fn defaults() -> SendSettings {
        SendSettings {
            datagram_bytes: super::DEFAULT_DATAGRAM_BYTES,
            bytes_per_second: 10_000_000,
            repair_percent: 25,
            header_every: 32,
            sent_dir: None,
        }
    }
}

/// One file sent.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SentFile {
    /// File name.
    pub name: String,
    /// File length.
    pub bytes: u64,
    /// Source symbols (the file itself, cut into symbols).
    pub source_symbols: u64,
    /// Repair symbols sent beside them.
    pub repair_symbols: u64,
}

/// What one `send-udp` run did.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct SendReport {
    /// Files sent, in order.
    pub sent: Vec<SentFile>,
    /// Files left alone because they are not complete bundles, with the reason.
    pub incomplete: Vec<(String, String)>,
    /// Datagrams sent, headers and heartbeats included.
    pub datagrams: u64,
    /// Bytes of UDP payload sent.
    pub bytes: u64,
    /// Seconds the run took.
    pub seconds: f64,
    /// The configured line rate, bytes per second, to read `bytes / seconds` against.
    pub line_rate: u64,
}

/// Keeps the send rate at or under the line rate: after each datagram, waits until the bytes
/// sent so far are due.
struct Pacer {
    started: Instant,
    bytes: u64,
    rate: u64,
}

impl Pacer {
    fn sent(&mut self, bytes: usize) {
        self.bytes += bytes as u64;
        let due = Duration::from_secs_f64(self.bytes as f64 / self.rate as f64);
        let elapsed = self.started.elapsed();
        if due > elapsed + Duration::from_millis(1) {
            std::thread::sleep(due - elapsed);
        }
    }
}

/// One run's socket, destination, pace and counts.
struct Link<'a> {
    socket: &'a UdpSocket,
    to: SocketAddr,
    pacer: Pacer,
    datagrams: u64,
    last_heartbeat: Instant,
    run_session: u64,
    files_sent: u64,
}

impl Link<'_> {
    fn send(&mut self, datagram: &Datagram<'_>) -> Result<(), DiodeError> {
        let bytes = datagram.encode();
        self.socket
            .send_to(&bytes, self.to)
            .map_err(|source| DiodeError::Socket {
                action: "sending to",
                address: self.to.to_string(),
                source,
            })?;
        self.datagrams += 1;
        self.pacer.sent(bytes.len());
        if self.last_heartbeat.elapsed() >= Duration::from_secs(1) {
            self.heartbeat()?;
        }
        Ok(())
    }

    fn heartbeat(&mut self) -> Result<(), DiodeError> {
        self.last_heartbeat = Instant::now();
        let sent_at = time::OffsetDateTime::now_utc().unix_timestamp();
        let files_sent = self.files_sent;
        self.send(&Datagram::Heartbeat {
            session: self.run_session,
            sent_at,
            files_sent,
        })
    }
}

/// A session id for one file: the first eight bytes of a hash over its name, its content hash
/// and the clock, so that two runs sending the same file never share a session.
fn session_id(name: &str, content: &[u8; 32]) -> u64 {
    let nanos = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
    let mut seed = Vec::with_capacity(name.len() + 48);
    seed.extend_from_slice(name.as_bytes());
    seed.extend_from_slice(content);
    seed.extend_from_slice(&nanos.to_be_bytes());
    u64::from_be_bytes(sha256(&seed)[..8].try_into().expect("8 bytes"))
}

/// Sends every complete bundle in `from` to `to` through `socket`, with heartbeats before,
/// during (every second) and after; moves each sent file to `settings.sent_dir` if set.
pub fn send_dir(
    socket: &UdpSocket,
    to: SocketAddr,
    from: &Path,
    settings: &SendSettings,
) -> Result<SendReport, DiodeError> {
    let symbol = symbol_size(settings.datagram_bytes)?;
    let started = Instant::now();
    let mut link = Link {
        socket,
        to,
        pacer: Pacer {
            started,
            bytes: 0,
            rate: settings.bytes_per_second.max(1),
        },
        datagrams: 0,
        last_heartbeat: started,
        run_session: session_id("heartbeat", &[0; 32]),
        files_sent: 0,
    };
    let mut report = SendReport {
        line_rate: settings.bytes_per_second,
        ..SendReport::default()
    };
    link.heartbeat()?;
    for path in spool::list_bundles(from)? {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let bytes = match examine::read_file(&path)
            .and_then(|bytes| examine::check_complete(&bytes).map(|_| bytes))
        {
            Ok(bytes) => bytes,
            Err(refusal) => {
                tracing::warn!(target: "sluice::audit", event = "send-udp.incomplete",
                    file = %name, "left a file that is not a complete bundle: {}", refusal.reason);
                report.incomplete.push((name, refusal.reason));
                continue;
            }
        };
        let sent = send_file(&mut link, &name, &bytes, symbol, settings)?;
        tracing::info!(target: "sluice::audit", event = "send-udp.sent", file = %name,
            bytes = sent.bytes, repair = sent.repair_symbols, "sent bundle over UDP");
        report.sent.push(sent);
        link.files_sent += 1;
        if let Some(dir) = &settings.sent_dir {
            spool::move_durable(&path, dir, &spool::free_name(dir, &name))?;
        }
    }
    link.heartbeat()?;
    report.datagrams = link.datagrams;
    report.bytes = link.pacer.bytes;
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// Sends one file: its header three times, then its source and repair symbols with the header
/// again every `header_every` symbols, then the header once more.
fn send_file(
    link: &mut Link<'_>,
    name: &str,
    bytes: &[u8],
    symbol: u16,
    settings: &SendSettings,
) -> Result<SentFile, DiodeError> {
    let header = Header {
        length: bytes.len() as u64,
        symbol_size: symbol,
        sha256: sha256(bytes),
        name: name.to_owned(),
    };
    let session = session_id(name, &header.sha256);
    let header = Datagram::Header { session, header };
    let encoder = Encoder::with_defaults(bytes, symbol);
    let blocks = u64::from(encoder.get_config().source_blocks().max(1));
    let source_symbols = (bytes.len() as u64).div_ceil(u64::from(symbol));
    let per_block = source_symbols.div_ceil(blocks);
    let repair_per_block = (per_block * u64::from(settings.repair_percent))
        .div_ceil(100)
        .max(2);
    let repair = u32::try_from(repair_per_block).unwrap_or(u32::MAX);
    for _ in 0..3 {
        link.send(&header)?;
    }
    let packets = encoder.get_encoded_packets(repair);
    for (i, packet) in packets.iter().enumerate() {
        if i > 0 && i % settings.header_every.max(1) == 0 {
            link.send(&header)?;
        }
        let packet = packet.serialize();
        link.send(&Datagram::Symbol {
            session,
            packet: &packet,
        })?;
    }
    link.send(&header)?;
    Ok(SentFile {
        name: name.to_owned(),
        bytes: bytes.len() as u64,
        source_symbols,
        repair_symbols: u64::from(repair) * blocks,
    })
}
