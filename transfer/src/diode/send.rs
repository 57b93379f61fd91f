//! The sending end: every complete bundle of a directory, encoded and sent at a fixed rate.

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use raptorq::{
    EncodingPacket, ObjectTransmissionInformation, PayloadId, SourceBlockEncoder,
    calculate_block_offsets,
};

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

/// Keeps the send rate at or under the line rate, without bursts.
///
/// Each datagram is due `bytes / rate` after the one before; the sender sleeps while it is more
/// than a millisecond ahead. When it falls behind (it was reading or encoding a file, or was
/// not scheduled), at most [`Pacer::CATCH_UP`] of lost time is made up: anything more would go
/// out as a burst at the speed of the host's network stack, which is exactly what overflows the
/// receiving socket's buffer on the far side of a diode.
struct Pacer {
    /// When the next datagram is due at the line rate.
    due: Instant,
    bytes: u64,
    rate: u64,
}

impl Pacer {
    /// The most lost time made up by sending faster than the line rate.
    const CATCH_UP: Duration = Duration::from_millis(5);

    fn new(rate: u64) -> Pacer {
        Pacer {
            due: Instant::now(),
            bytes: 0,
            rate: rate.max(1),
        }
    }

    fn sent(&mut self, bytes: usize) {
        self.bytes += bytes as u64;
        let now = Instant::now();
        if let Some(floor) = now.checked_sub(Self::CATCH_UP)
            && self.due < floor
        {
            self.due = floor;
        }
        self.due += Duration::from_secs_f64(bytes as f64 / self.rate as f64);
        if self.due > now + Duration::from_millis(1) {
            std::thread::sleep(self.due - now);
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
///
/// Reading, checking and encoding run on a thread of their own one source block ahead of the
/// socket, so the paced sending never stops to encode.
pub fn send_dir(
    socket: &UdpSocket,
    to: SocketAddr,
    from: &Path,
    settings: &SendSettings,
) -> Result<SendReport, DiodeError> {
    let symbol = symbol_size(settings.datagram_bytes)?;
    let paths = spool::list_bundles(from)?;
    let started = Instant::now();
    let mut link = Link {
        socket,
        to,
        pacer: Pacer::new(settings.bytes_per_second),
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
    let (queue, encoded) = std::sync::mpsc::sync_channel::<Encoded>(ENCODED_AHEAD);
    let repair_percent = settings.repair_percent;
    std::thread::scope(|scope| -> Result<(), DiodeError> {
        std::thread::Builder::new()
            .name("udp-encoder".into())
            .spawn_scoped(scope, move || {
                encode_files(&paths, symbol, repair_percent, &queue);
            })
            .map_err(|source| DiodeError::Socket {
                action: "starting the encoding thread for",
                address: to.to_string(),
                source,
            })?;
        let mut file: Option<(PathBuf, SentFile, Datagram<'static>)> = None;
        let mut symbols_sent = 0usize;
        for item in encoded {
            match item {
                Encoded::Incomplete { name, reason } => {
                    tracing::warn!(target: "sluice::audit", event = "send-udp.incomplete",
                        file = %name, "left a file that is not a complete bundle: {reason}");
                    report.incomplete.push((name, reason));
                }
                Encoded::Start { path, sent, header } => {
                    for _ in 0..3 {
                        link.send(&header)?;
                    }
                    symbols_sent = 0;
                    file = Some((path, sent, header));
                }
                Encoded::Block(packets) => {
                    let Some((_, _, header)) = &file else {
                        continue;
                    };
                    let session = match header {
                        Datagram::Header { session, .. } => *session,
                        _ => 0,
                    };
                    for packet in &packets {
                        if symbols_sent > 0
                            && symbols_sent.is_multiple_of(settings.header_every.max(1))
                        {
                            link.send(header)?;
                        }
                        link.send(&Datagram::Symbol { session, packet })?;
                        symbols_sent += 1;
                    }
                }
                Encoded::End => {
                    let Some((path, sent, header)) = file.take() else {
                        continue;
                    };
                    link.send(&header)?;
                    tracing::info!(target: "sluice::audit", event = "send-udp.sent",
                        file = %sent.name, bytes = sent.bytes, repair = sent.repair_symbols,
                        "sent bundle over UDP");
                    link.files_sent += 1;
                    if let Some(dir) = &settings.sent_dir {
                        spool::move_durable(&path, dir, &spool::free_name(dir, &sent.name))?;
                    }
                    report.sent.push(sent);
                }
            }
        }
        Ok(())
    })?;
    link.heartbeat()?;
    report.datagrams = link.datagrams;
    report.bytes = link.pacer.bytes;
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// Packet runs (a block's source symbols, then its repair symbols) encoded and waiting for the
/// socket: the encoding thread keeps about two blocks ahead.
const ENCODED_AHEAD: usize = 4;

/// What the encoding thread hands the sending one, in order.
enum Encoded {
    /// A file that is not a complete bundle, left where it is.
    Incomplete { name: String, reason: String },
    /// A file begins: its report line so far and its session header.
    Start {
        path: PathBuf,
        sent: SentFile,
        header: Datagram<'static>,
    },
    /// Packets of one source block: its source symbols, or its repair symbols (or both, in
    /// that order).
    Block(Vec<Vec<u8>>),
    /// The file's last block has been handed over.
    End,
}

/// Reads, checks and encodes each file, one source block at a time, into `queue`; stops when
/// the sending side has gone.
fn encode_files(
    paths: &[PathBuf],
    symbol: u16,
    repair_percent: u32,
    queue: &std::sync::mpsc::SyncSender<Encoded>,
) {
    for path in paths {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let bytes = match examine::read_file(path)
            .and_then(|bytes| examine::check_complete(&bytes).map(|_| bytes))
        {
            Ok(bytes) => bytes,
            Err(refusal) => {
                let item = Encoded::Incomplete {
                    name,
                    reason: refusal.reason,
                };
                if queue.send(item).is_err() {
                    return;
                }
                continue;
            }
        };
        if encode_file(path.clone(), name, &bytes, symbol, repair_percent, queue).is_err() {
            return;
        }
    }
}

/// The sending side has gone (it failed, or stopped): nothing more to encode.
struct Stopped;

/// One file: its start, each source block's packets, its end.
fn encode_file(
    path: PathBuf,
    name: String,
    bytes: &[u8],
    symbol: u16,
    repair_percent: u32,
    queue: &std::sync::mpsc::SyncSender<Encoded>,
) -> Result<(), Stopped> {
    let hand = |item: Encoded| queue.send(item).map_err(|_| Stopped);
    let header = Header {
        length: bytes.len() as u64,
        symbol_size: symbol,
        sha256: sha256(bytes),
        name: name.clone(),
    };
    let session = session_id(&name, &header.sha256);
    let config = ObjectTransmissionInformation::with_defaults(header.length, symbol);
    let offsets = calculate_block_offsets(bytes, &config);
    let blocks = offsets.len().max(1) as u64;
    let source_symbols = (bytes.len() as u64).div_ceil(u64::from(symbol));
    let per_block = source_symbols.div_ceil(blocks);
    let repair_per_block = (per_block * u64::from(repair_percent)).div_ceil(100).max(2);
    let repair = u32::try_from(repair_per_block).unwrap_or(u32::MAX);
    hand(Encoded::Start {
        path,
        sent: SentFile {
            name,
            bytes: bytes.len() as u64,
            source_symbols,
            repair_symbols: u64::from(repair) * blocks,
        },
        header: Datagram::Header { session, header },
    })?;
    for (index, (start, end)) in offsets.into_iter().enumerate() {
        // The last block is padded with zeros to whole symbols, as the decoder expects.
        let padded;
        let block = if end > bytes.len() {
            let mut tail = bytes[start..].to_vec();
            tail.resize(end - start, 0);
            padded = tail;
            &padded[..]
        } else {
            &bytes[start..end]
        };
        // Fewer than 256 blocks: the transmission parameters never make more.
        let number = u8::try_from(index).unwrap_or(u8::MAX);
        if config.sub_blocks() == 1 {
            // Source symbols are the block itself, cut: they go to the socket at once, and the
            // repair symbols (which need the block's intermediate symbols, a matrix solve) are
            // computed while those are sent.
            let source = block
                .chunks(usize::from(symbol))
                .zip(0u32..)
                .map(|(chunk, id)| {
                    EncodingPacket::new(PayloadId::new(number, id), chunk.to_vec()).serialize()
                })
                .collect();
            hand(Encoded::Block(source))?;
            let encoder = SourceBlockEncoder::new(number, &config, block);
            let repair = encoder.repair_packets(0, repair);
            hand(Encoded::Block(
                repair.iter().map(EncodingPacket::serialize).collect(),
            ))?;
        } else {
            // Sub-blocks interleave each symbol's bytes (files over about 10 MB): the encoder
            // lays the source symbols out.
            let encoder = SourceBlockEncoder::new(number, &config, block);
            let packets = encoder
                .source_packets()
                .into_iter()
                .chain(encoder.repair_packets(0, repair))
                .map(|packet| packet.serialize())
                .collect();
            hand(Encoded::Block(packets))?;
        }
    }
    hand(Encoded::End)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The regression behind the receive-buffer drops at 20 and 40 MB/s: time spent away from
    /// the socket (reading, checking, encoding a file) was paid back afterwards at full speed.
    #[test]
    fn the_sender_never_bursts_to_make_up_for_time_spent_encoding() {
        let mut pacer = Pacer::new(1_000_000);
        std::thread::sleep(Duration::from_millis(200));
        let started = Instant::now();
        for _ in 0..100 {
            pacer.sent(1000);
        }
        // 100 KB at 1 MB/s is 100 ms; at most 5 ms of the 200 ms away may be made up.
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(90),
            "100 datagrams went out in {took:?}: a burst"
        );
    }
}
