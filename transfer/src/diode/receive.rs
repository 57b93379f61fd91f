//! The receiving end: sessions decoded as their symbols arrive, in any order, and a file written
//! only when it is whole and matches its header.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::UdpSocket;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use raptorq::{EncodingPacket, ObjectTransmissionInformation, SourceBlockDecoder};

use super::{DATAGRAM_BYTES, Datagram, DiodeError, Header, PAYLOAD_ID_BYTES, sha256};
use crate::{examine, spool};

/// How `receive-udp` receives.
#[derive(Debug, Clone)]
pub struct ReceiveSettings {
    /// Where complete files are written (an inbox).
    pub to: PathBuf,
    /// A session with no datagram for this long is given up and reported incomplete.
    pub session_timeout: Duration,
    /// The largest file accepted (a header announcing more is refused).
    pub max_file_bytes: u64,
    /// Sessions decoded at once (each holds up to one file in memory); more are refused.
    pub max_sessions: usize,
    /// Symbols kept per session while its header has not arrived yet.
    pub max_early_symbols: usize,
}

impl ReceiveSettings {
    /// Into `to`: sessions time out after 30 s, files up to the largest bundle the format
    /// allows, four sessions at once, 4,096 symbols kept before a header.
    pub fn defaults(to: PathBuf) -> ReceiveSettings {
        ReceiveSettings {
            to,
            session_timeout: Duration::from_secs(30),
            max_file_bytes: bundle_format::bundle::MAX_FILE_BYTES as u64,
            max_sessions: 4,
            max_early_symbols: 4096,
        }
    }
}

/// Something the receiver did or saw.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ReceiveEvent {
    /// A complete file was written.
    Written {
        /// Its name in the directory.
        name: String,
        /// Its length.
        bytes: u64,
    },
    /// A complete file was already in the directory with the same bytes.
    AlreadyThere {
        /// Its name.
        name: String,
    },
    /// A session ended without a file: timed out, or decoded to something that does not match
    /// its header or is not a complete bundle. Nothing of it was written.
    Incomplete {
        /// The file name its header gave, if one arrived.
        name: Option<String>,
        /// Why.
        reason: String,
    },
    /// A datagram or a session was refused (malformed, over a limit).
    Refused {
        /// Why.
        reason: String,
    },
    /// The sender's heartbeat.
    Heartbeat {
        /// Sender's clock, Unix seconds.
        sent_at: i64,
        /// Files its run has sent so far.
        files_sent: u64,
    },
}

/// What a `receive-udp` run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReceiveReport {
    /// Files written.
    pub written: Vec<String>,
    /// Files that were there already.
    pub already_there: Vec<String>,
    /// Sessions that ended without a file, with the reason.
    pub incomplete: Vec<(Option<String>, String)>,
    /// Datagrams and sessions refused.
    pub refused: u64,
    /// Heartbeats seen.
    pub heartbeats: u64,
    /// Datagrams received.
    pub datagrams: u64,
    /// Datagrams dropped because the decoder fell so far behind that the queue between the
    /// socket and it was full (a sign the line rate is too high for this host).
    pub overflowed: u64,
}

impl ReceiveReport {
    fn record(&mut self, event: &ReceiveEvent) {
        match event {
            ReceiveEvent::Written { name, .. } => self.written.push(name.clone()),
            ReceiveEvent::AlreadyThere { name } => self.already_there.push(name.clone()),
            ReceiveEvent::Incomplete { name, reason } => {
                self.incomplete.push((name.clone(), reason.clone()));
            }
            ReceiveEvent::Refused { .. } => self.refused += 1,
            ReceiveEvent::Heartbeat { .. } => self.heartbeats += 1,
        }
    }
}

/// A session whose header has arrived.
struct Decoding {
    header: Header,
    config: ObjectTransmissionInformation,
    blocks: Vec<Block>,
    /// Blocks not decoded yet.
    remaining: usize,
}

impl Decoding {
    fn new(header: Header) -> Decoding {
        let config =
            ObjectTransmissionInformation::with_defaults(header.length, header.symbol_size);
        let blocks: Vec<Block> = block_lengths(&config)
            .into_iter()
            .enumerate()
            .map(|(i, length)| Block::new(i, &config, length))
            .collect();
        Decoding {
            remaining: blocks.len(),
            header,
            config,
            blocks,
        }
    }

    /// Takes one checked packet; the whole file once its last block decodes.
    fn add(&mut self, packet: &[u8]) -> Option<Vec<u8>> {
        // `check_packet` has held the block number to the header's count.
        let block = self.blocks.get_mut(usize::from(packet[0]))?;
        if block.add(EncodingPacket::deserialize(packet)) {
            self.remaining -= 1;
        }
        self.whole_file()
    }

    /// Tries every block holding enough symbols that is waiting for more before its next
    /// attempt (the sender may have nothing more to send); the whole file if that finishes it.
    fn flush(&mut self) -> Option<Vec<u8>> {
        for block in &mut self.blocks {
            if block.flush() {
                self.remaining -= 1;
            }
        }
        self.whole_file()
    }

    fn whole_file(&mut self) -> Option<Vec<u8>> {
        if self.remaining > 0 {
            return None;
        }
        let length = usize::try_from(self.header.length).ok()?;
        let mut file = Vec::with_capacity(length);
        for block in &mut self.blocks {
            file.extend_from_slice(&block.decoded.take().unwrap_or_default());
        }
        file.truncate(length);
        Some(file)
    }
}

/// The byte lengths of an object's source blocks, as RFC 6330's partition gives them (the
/// same split the encoder makes).
fn block_lengths(config: &ObjectTransmissionInformation) -> Vec<u64> {
    let symbol = u64::from(config.symbol_size());
    let total = u32::try_from(config.transfer_length().div_ceil(symbol)).unwrap_or(u32::MAX);
    let (long, short, long_blocks, short_blocks) =
        raptorq::partition(total, u32::from(config.source_blocks()));
    let long = std::iter::repeat_n(u64::from(long) * symbol, long_blocks as usize);
    let short = std::iter::repeat_n(u64::from(short) * symbol, short_blocks as usize);
    long.chain(short).collect()
}

/// One source block being decoded.
///
/// RaptorQ's block decoder runs a whole decode (a matrix solve over every symbol held) each
/// time it is given symbols while it holds at least K of them. So symbols are collected here
/// and handed over in one batch once K distinct ones are in; should that attempt fail (about
/// one time in a hundred at exactly K), the next waits for a few more symbols rather than
/// solving again on every one.
struct Block {
    decoder: SourceBlockDecoder,
    /// K: source symbols in the block.
    source_symbols: usize,
    /// Encoding symbol ids received (a repeat is dropped before it costs anything).
    seen: HashSet<u32>,
    /// Packets received since the last attempt.
    batch: Vec<EncodingPacket>,
    /// Distinct symbols to hold before the next attempt.
    next_attempt: usize,
    decoded: Option<Vec<u8>>,
    done: bool,
}

impl Block {
    fn new(index: usize, config: &ObjectTransmissionInformation, length: u64) -> Block {
        let source_symbols =
            usize::try_from(length.div_ceil(u64::from(config.symbol_size()))).unwrap_or(usize::MAX);
        Block {
            // Fewer than 256 blocks: `check_header` refuses anything else.
            decoder: SourceBlockDecoder::new(
                u8::try_from(index).unwrap_or(u8::MAX),
                config,
                length,
            ),
            source_symbols,
            seen: HashSet::new(),
            batch: Vec::new(),
            next_attempt: source_symbols,
            decoded: None,
            done: false,
        }
    }

    /// Takes one packet; true when this one completes the block.
    fn add(&mut self, packet: EncodingPacket) -> bool {
        if self.done || !self.seen.insert(packet.payload_id().encoding_symbol_id()) {
            return false;
        }
        self.batch.push(packet);
        self.seen.len() >= self.next_attempt && self.attempt()
    }

    /// Decodes with what is held if that is at least K symbols and some came since the last
    /// attempt; true when the block is complete now.
    fn flush(&mut self) -> bool {
        !self.done
            && !self.batch.is_empty()
            && self.seen.len() >= self.source_symbols
            && self.attempt()
    }

    fn attempt(&mut self) -> bool {
        match self.decoder.decode(self.batch.drain(..)) {
            Some(bytes) => {
                self.decoded = Some(bytes);
                self.done = true;
                self.seen = HashSet::new();
                true
            }
            None => {
                self.next_attempt = self.seen.len() + 1 + self.source_symbols / 256;
                false
            }
        }
    }
}

/// One file being received.
struct Session {
    decoding: Option<Decoding>,
    /// Symbols that came before the header, kept (up to a limit) to be decoded once it comes.
    early: Vec<Vec<u8>>,
    symbols: u64,
    last_seen: Instant,
}

/// Sessions remembered as finished, so that their late datagrams are ignored.
const DONE_REMEMBERED: usize = 4096;

/// The receiver's state: open sessions and the ones finished lately.
pub struct Receiver {
    settings: ReceiveSettings,
    sessions: HashMap<u64, Session>,
    done: HashSet<u64>,
    done_order: VecDeque<u64>,
}

impl Receiver {
    /// A receiver writing into `settings.to`.
    pub fn new(settings: ReceiveSettings) -> Receiver {
        Receiver {
            settings,
            sessions: HashMap::new(),
            done: HashSet::new(),
            done_order: VecDeque::new(),
        }
    }

    /// Whether any session is still open.
    pub fn busy(&self) -> bool {
        !self.sessions.is_empty()
    }

    fn finish(&mut self, session: u64) {
        self.sessions.remove(&session);
        if self.done.insert(session) {
            self.done_order.push_back(session);
            if self.done_order.len() > DONE_REMEMBERED
                && let Some(old) = self.done_order.pop_front()
            {
                self.done.remove(&old);
            }
        }
    }

    /// Handles one datagram received at `now`.
    pub fn handle(
        &mut self,
        bytes: &[u8],
        now: Instant,
    ) -> Result<Option<ReceiveEvent>, DiodeError> {
        let datagram = match Datagram::parse(bytes) {
            Ok(datagram) => datagram,
            Err(error) => {
                return Ok(Some(ReceiveEvent::Refused {
                    reason: error.to_string(),
                }));
            }
        };
        let (session, symbol) = match datagram {
            Datagram::Heartbeat {
                sent_at,
                files_sent,
                ..
            } => {
                return Ok(Some(ReceiveEvent::Heartbeat {
                    sent_at,
                    files_sent,
                }));
            }
            Datagram::Header { session, header } => {
                if self.done.contains(&session) {
                    return Ok(None);
                }
                return self.header(session, header, now);
            }
            Datagram::Symbol { session, packet } => (session, packet),
        };
        if self.done.contains(&session) {
            return Ok(None);
        }
        if !self.sessions.contains_key(&session)
            && self.sessions.len() >= self.settings.max_sessions
        {
            return Ok(Some(self.too_many_sessions()));
        }
        let limit = self.settings.max_early_symbols;
        let open = self.sessions.entry(session).or_insert_with(|| Session {
            decoding: None,
            early: Vec::new(),
            symbols: 0,
            last_seen: now,
        });
        open.last_seen = now;
        open.symbols += 1;
        let Some(decoding) = &mut open.decoding else {
            if open.early.len() < limit {
                open.early.push(symbol.to_vec());
            }
            return Ok(None);
        };
        if let Err(reason) = check_packet(decoding, symbol) {
            return Ok(Some(ReceiveEvent::Refused { reason }));
        }
        match decoding.add(symbol) {
            Some(file) => self.complete(session, file).map(Some),
            None => Ok(None),
        }
    }

    fn too_many_sessions(&self) -> ReceiveEvent {
        ReceiveEvent::Refused {
            reason: format!(
                "more than {} sessions at once; a new one waits for its header to be repeated",
                self.settings.max_sessions
            ),
        }
    }

    /// A session's header: checked against the limits; the first one opens the decoder and
    /// decodes the symbols that came before it.
    fn header(
        &mut self,
        session: u64,
        header: Header,
        now: Instant,
    ) -> Result<Option<ReceiveEvent>, DiodeError> {
        if let Some(open) = self.sessions.get_mut(&session) {
            open.last_seen = now;
            if let Some(decoding) = &open.decoding {
                if decoding.header == header {
                    return Ok(None);
                }
                let name = Some(decoding.header.name.clone());
                self.finish(session);
                return Ok(Some(ReceiveEvent::Incomplete {
                    name,
                    reason: "two different headers for one session".into(),
                }));
            }
        } else if self.sessions.len() >= self.settings.max_sessions {
            return Ok(Some(self.too_many_sessions()));
        }
        if let Err(reason) = check_header(&header, self.settings.max_file_bytes) {
            self.finish(session);
            return Ok(Some(ReceiveEvent::Refused { reason }));
        }
        let mut decoding = Decoding::new(header);
        let open = self.sessions.entry(session).or_insert_with(|| Session {
            decoding: None,
            early: Vec::new(),
            symbols: 0,
            last_seen: now,
        });
        let mut decoded = None;
        for symbol in std::mem::take(&mut open.early) {
            if check_packet(&decoding, &symbol).is_ok()
                && let Some(file) = decoding.add(&symbol)
            {
                decoded = Some(file);
                break;
            }
        }
        open.decoding = Some(decoding);
        match decoded {
            Some(file) => self.complete(session, file).map(Some),
            None => Ok(None),
        }
    }

    /// A session decoded to `file`: written if it matches its header and is a complete bundle.
    fn complete(&mut self, session: u64, file: Vec<u8>) -> Result<ReceiveEvent, DiodeError> {
        // A session decodes only once its header is there.
        let Some(header) = self
            .sessions
            .get(&session)
            .and_then(|s| s.decoding.as_ref())
            .map(|d| d.header.clone())
        else {
            self.finish(session);
            return Ok(ReceiveEvent::Refused {
                reason: "a session decoded without a header".into(),
            });
        };
        self.finish(session);
        let incomplete = |reason: String| ReceiveEvent::Incomplete {
            name: Some(header.name.clone()),
            reason,
        };
        if file.len() as u64 != header.length || sha256(&file) != header.sha256 {
            return Ok(incomplete(
                "decoded bytes do not match the header's length and SHA-256".into(),
            ));
        }
        if let Err(refusal) = examine::check_complete(&file) {
            return Ok(incomplete(format!(
                "not a complete bundle: {}",
                refusal.reason
            )));
        }
        let target = self.settings.to.join(&header.name);
        if std::fs::read(&target).is_ok_and(|existing| existing == file) {
            return Ok(ReceiveEvent::AlreadyThere { name: header.name });
        }
        let name = spool::free_name(&self.settings.to, &header.name);
        spool::publish_bytes(&self.settings.to, &name, &file)?;
        tracing::info!(target: "sluice::audit", event = "receive-udp.written", file = %name,
            bytes = file.len(), "received bundle over UDP");
        Ok(ReceiveEvent::Written {
            name,
            bytes: file.len() as u64,
        })
    }

    /// Decodes the blocks of sessions quiet for at least `quiet` that hold enough symbols but
    /// were waiting for a few more before their next attempt: no more may come.
    pub fn flush(
        &mut self,
        now: Instant,
        quiet: Duration,
    ) -> Result<Vec<ReceiveEvent>, DiodeError> {
        let decoded: Vec<(u64, Vec<u8>)> = self
            .sessions
            .iter_mut()
            .filter(|(_, s)| now.duration_since(s.last_seen) >= quiet)
            .filter_map(|(id, s)| Some((*id, s.decoding.as_mut()?.flush()?)))
            .collect();
        decoded
            .into_iter()
            .map(|(session, file)| self.complete(session, file))
            .collect()
    }

    /// Gives up the sessions with no datagram for the session timeout; nothing of them is
    /// written.
    pub fn expire(&mut self, now: Instant) -> Vec<ReceiveEvent> {
        let timeout = self.settings.session_timeout;
        let stale: Vec<u64> = self
            .sessions
            .iter()
            .filter(|(_, s)| now.duration_since(s.last_seen) >= timeout)
            .map(|(id, _)| *id)
            .collect();
        let mut events = Vec::new();
        for id in stale {
            let session = &self.sessions[&id];
            let (name, needed) = match &session.decoding {
                Some(d) => (
                    Some(d.header.name.clone()),
                    d.header
                        .length
                        .div_ceil(u64::from(d.header.symbol_size))
                        .to_string(),
                ),
                None => (None, "an unknown number of".into()),
            };
            let reason = format!(
                "no datagram for {} s: {} symbol(s) received of at least {needed} needed{}",
                timeout.as_secs(),
                session.symbols,
                if session.decoding.is_none() {
                    "; its header never arrived"
                } else {
                    ""
                }
            );
            tracing::warn!(target: "sluice::audit", event = "receive-udp.incomplete",
                file = name.as_deref().unwrap_or("-"), "gave up a UDP session: {reason}");
            self.finish(id);
            events.push(ReceiveEvent::Incomplete { name, reason });
        }
        events
    }
}

/// A header's limits: a bundle file name, a length within the limit, a symbol size a datagram
/// can carry.
fn check_header(header: &Header, max_file_bytes: u64) -> Result<(), String> {
    if !spool::is_bundle_name(&header.name) {
        return Err(format!("{:?} is not a bundle file name", header.name));
    }
    if header.length == 0 || header.length > max_file_bytes {
        return Err(format!(
            "{}: length {} is outside 1 to {max_file_bytes} bytes",
            header.name, header.length
        ));
    }
    let size = usize::from(header.symbol_size);
    let largest = DATAGRAM_BYTES.end() - super::PREFIX_BYTES - PAYLOAD_ID_BYTES;
    if size < 64 || size > largest || size % 8 != 0 {
        return Err(format!(
            "{}: symbol size {size} is not a multiple of 8 from 64 to {largest}",
            header.name
        ));
    }
    let config = ObjectTransmissionInformation::with_defaults(header.length, header.symbol_size);
    if config.symbol_size() != header.symbol_size || config.source_blocks() == 0 {
        return Err(format!(
            "{}: no transmission parameters for length {} and symbol size {size}",
            header.name, header.length
        ));
    }
    Ok(())
}

/// A symbol datagram fits its session: a known source block and a whole symbol.
fn check_packet(decoding: &Decoding, packet: &[u8]) -> Result<(), String> {
    let expected = PAYLOAD_ID_BYTES + usize::from(decoding.config.symbol_size());
    if packet.len() != expected {
        return Err(format!(
            "{}: a symbol of {} bytes, not {expected}",
            decoding.header.name,
            packet.len()
        ));
    }
    if packet[0] >= decoding.config.source_blocks() {
        return Err(format!(
            "{}: source block {} of {}",
            decoding.header.name,
            packet[0],
            decoding.config.source_blocks()
        ));
    }
    Ok(())
}

/// Datagrams held between the socket reader and the decoder (about 23 MB at 1,400 bytes): the
/// reader never waits for a decode or a file write, so a burst is queued here rather than lost
/// in the kernel's socket buffer. When even this is full a datagram is dropped and counted.
const QUEUED_DATAGRAMS: usize = 16_384;

/// The receive buffer asked of the kernel for the socket, bytes.
const SOCKET_BUFFER: usize = 16 << 20;

/// Receives on `socket` until `stop` is set, or, with `idle_exit`, until that long has passed
/// without a datagram and no session is open; calls `on_event` for everything that happens.
///
/// One thread only reads the socket into a bounded queue; this one decodes and writes. Decoding
/// a block or syncing a written file takes milliseconds, during which a link at line rate
/// delivers hundreds of datagrams: read inline, they would overflow the socket buffer.
pub fn receive(
    socket: &UdpSocket,
    settings: ReceiveSettings,
    idle_exit: Option<Duration>,
    stop: &AtomicBool,
    mut on_event: impl FnMut(&ReceiveEvent),
) -> Result<ReceiveReport, DiodeError> {
    let address = socket
        .local_addr()
        .map_or_else(|_| "the socket".to_owned(), |a| a.to_string());
    socket
        .set_read_timeout(Some(Duration::from_millis(100)))
        .map_err(|source| DiodeError::Socket {
            action: "setting a read timeout on",
            address: address.clone(),
            source,
        })?;
    // A larger kernel buffer absorbs the moments the reader thread is not scheduled; the
    // kernel caps it at net.core.rmem_max (raise that on a receiving host for high rates).
    if let Err(error) = rustix::net::sockopt::set_socket_recv_buffer_size(socket, SOCKET_BUFFER) {
        tracing::warn!(%error, "could not enlarge the socket's receive buffer");
    }
    let (queue, queued) = std::sync::mpsc::sync_channel::<Vec<u8>>(QUEUED_DATAGRAMS);
    let finished = AtomicBool::new(false);
    let overflowed = std::sync::atomic::AtomicU64::new(0);
    std::thread::scope(|scope| {
        let reader = std::thread::Builder::new()
            .name("udp-reader".into())
            .spawn_scoped(scope, || -> Result<(), DiodeError> {
                // One byte more than the largest datagram, so that an oversized one is seen as such.
                let mut buffer = vec![0u8; DATAGRAM_BYTES.end() + 1];
                while !stop.load(Ordering::Relaxed) && !finished.load(Ordering::Relaxed) {
                    match socket.recv_from(&mut buffer) {
                        Ok((n, _from)) => {
                            if queue.try_send(buffer[..n].to_vec()).is_err() {
                                overflowed.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        Err(error)
                            if matches!(
                                error.kind(),
                                std::io::ErrorKind::WouldBlock
                                    | std::io::ErrorKind::TimedOut
                                    | std::io::ErrorKind::Interrupted
                            ) => {}
                        Err(source) => {
                            return Err(DiodeError::Socket {
                                action: "receiving on",
                                address: address.clone(),
                                source,
                            });
                        }
                    }
                }
                Ok(())
            })
            .map_err(|source| DiodeError::Socket {
                action: "starting the reading thread for",
                address: address.clone(),
                source,
            })?;
        let decoded = decode_queue(
            &queued,
            settings,
            idle_exit,
            stop,
            &overflowed,
            &mut on_event,
        );
        finished.store(true, Ordering::Relaxed);
        let read = reader.join().expect("the socket reader does not panic");
        let report = decoded?;
        read.map(|()| report)
    })
}

/// The decoding side of [`receive`]: handles queued datagrams until stopped, idle, or the
/// reader has gone.
fn decode_queue(
    queued: &std::sync::mpsc::Receiver<Vec<u8>>,
    settings: ReceiveSettings,
    idle_exit: Option<Duration>,
    stop: &AtomicBool,
    overflowed: &std::sync::atomic::AtomicU64,
    on_event: &mut impl FnMut(&ReceiveEvent),
) -> Result<ReceiveReport, DiodeError> {
    let mut receiver = Receiver::new(settings);
    let mut report = ReceiveReport::default();
    let mut last_datagram = Instant::now();
    let mut last_expiry = Instant::now();
    let mut emit = |event: ReceiveEvent, report: &mut ReceiveReport| {
        report.record(&event);
        on_event(&event);
    };
    while !stop.load(Ordering::Relaxed) {
        match queued.recv_timeout(Duration::from_millis(100)) {
            Ok(datagram) => {
                last_datagram = Instant::now();
                report.datagrams += 1;
                let event = if datagram.len() > *DATAGRAM_BYTES.end() {
                    Some(ReceiveEvent::Refused {
                        reason: format!("a datagram over {} bytes", DATAGRAM_BYTES.end()),
                    })
                } else {
                    receiver.handle(&datagram, last_datagram)?
                };
                if let Some(event) = event {
                    emit(event, &mut report);
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                for event in receiver.flush(Instant::now(), Duration::ZERO)? {
                    emit(event, &mut report);
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
        }
        let now = Instant::now();
        if now.duration_since(last_expiry) >= Duration::from_millis(200) {
            last_expiry = now;
            for event in receiver.flush(now, Duration::from_millis(100))? {
                emit(event, &mut report);
            }
            for event in receiver.expire(now) {
                emit(event, &mut report);
            }
        }
        if let Some(idle) = idle_exit
            && !receiver.busy()
            && now.duration_since(last_datagram) >= idle
        {
            break;
        }
    }
    report.overflowed = overflowed.load(Ordering::Relaxed);
    Ok(report)
}
