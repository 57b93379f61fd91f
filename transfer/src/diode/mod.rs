//! The one-way UDP carrier: moves complete bundle files across a data diode, where nothing can
//! ever be sent back, so losses are repaired ahead of time with forward error correction
//! (RaptorQ, RFC 6330) rather than by asking again.
//!
//! `sluice-transfer send-udp` reads each complete bundle in a directory, encodes it into
//! fixed-size datagrams (its source symbols and a configured share of repair symbols) and sends
//! them at a configured rate, with the file's session header repeated among them and heartbeats
//! before and after. Encoding runs on a thread of its own, one source block ahead of the socket,
//! and the pacing never bursts to make up for time lost (a burst is what a receiving socket
//! drops). `sluice-transfer receive-udp` reads its socket on a thread that never waits for
//! decoding, decodes each session as its symbols arrive in any order (each source block solved
//! once, when K distinct symbols are in), and writes a bundle into its directory only once it
//! is complete, its length and SHA-256 match the header, and it is a complete bundle file; a
//! session that stops short is reported as incomplete after a timeout and nothing of it is
//! written.
//!
//! # Datagrams
//!
//! Every datagram starts with the magic `SLD1`, a kind byte and the 8-byte session id (one per
//! file sent); integers are big-endian.
//!
//! | kind | body |
//! |---|---|
//! | 1, header | file length (u64), symbol size (u16), SHA-256 of the file (32 bytes), name length (u8), name (a bundle file name) |
//! | 2, symbol | one RaptorQ encoding packet: payload id (4 bytes: source block, symbol id) and one symbol of exactly the header's symbol size |
//! | 3, heartbeat | sender's clock (i64, Unix seconds), files sent by this run so far (u64) |
//!
//! Both ends derive the RaptorQ transmission parameters from the file length and the symbol
//! size alone (`ObjectTransmissionInformation::with_defaults`), so nothing else needs to cross.

mod receive;
mod send;

pub use receive::{ReceiveEvent, ReceiveReport, ReceiveSettings, Receiver, receive};
pub use send::{SendReport, SendSettings, send_dir};

use sha2::{Digest, Sha256};

/// First bytes of every datagram.
pub const MAGIC: &[u8; 4] = b"SLD1";
/// Bytes before a datagram's body: magic, kind, session id.
pub const PREFIX_BYTES: usize = 4 + 1 + 8;
/// Bytes of a RaptorQ packet's payload id, before its symbol.
pub const PAYLOAD_ID_BYTES: usize = 4;
/// The smallest and largest datagram accepted (bytes on the wire, UDP payload).
pub const DATAGRAM_BYTES: std::ops::RangeInclusive<usize> = 256..=9000;
/// The default datagram size: fits a 1,500-byte Ethernet MTU with IPv4 or IPv6 and UDP headers.
pub const DEFAULT_DATAGRAM_BYTES: usize = 1400;

const KIND_HEADER: u8 = 1;
const KIND_SYMBOL: u8 = 2;
const KIND_HEARTBEAT: u8 = 3;

/// The symbol size for a datagram size: what is left after the prefix and the payload id,
/// rounded down to a multiple of 8 (RaptorQ's symbol alignment).
pub fn symbol_size(datagram_bytes: usize) -> Result<u16, DiodeError> {
    if !DATAGRAM_BYTES.contains(&datagram_bytes) {
        return Err(DiodeError::DatagramSize(datagram_bytes));
    }
    let size = (datagram_bytes - PREFIX_BYTES - PAYLOAD_ID_BYTES) / 8 * 8;
    u16::try_from(size).map_err(|_| DiodeError::DatagramSize(datagram_bytes))
}

/// A file's session header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// File length in bytes.
    pub length: u64,
    /// Symbol size in bytes.
    pub symbol_size: u16,
    /// SHA-256 of the whole file.
    pub sha256: [u8; 32],
    /// File name (a bundle file name).
    pub name: String,
}

/// One datagram, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Datagram<'a> {
    /// A session's header.
    Header {
        /// Session id.
        session: u64,
        /// The header.
        header: Header,
    },
    /// One encoding packet of a session (payload id and symbol, as RaptorQ serialises them).
    Symbol {
        /// Session id.
        session: u64,
        /// The packet.
        packet: &'a [u8],
    },
    /// The sender is alive.
    Heartbeat {
        /// Session id of the sending run.
        session: u64,
        /// Sender's clock, Unix seconds.
        sent_at: i64,
        /// Files sent by this run so far.
        files_sent: u64,
    },
}

impl Datagram<'_> {
    /// The bytes on the wire.
    pub fn encode(&self) -> Vec<u8> {
        let (kind, session) = match self {
            Datagram::Header { session, .. } => (KIND_HEADER, *session),
            Datagram::Symbol { session, .. } => (KIND_SYMBOL, *session),
            Datagram::Heartbeat { session, .. } => (KIND_HEARTBEAT, *session),
        };
        let mut out = Vec::with_capacity(DEFAULT_DATAGRAM_BYTES);
        out.extend_from_slice(MAGIC);
        out.push(kind);
        out.extend_from_slice(&session.to_be_bytes());
        match self {
            Datagram::Header { header, .. } => {
                out.extend_from_slice(&header.length.to_be_bytes());
                out.extend_from_slice(&header.symbol_size.to_be_bytes());
                out.extend_from_slice(&header.sha256);
                let name = header.name.as_bytes();
                // Bundle names are short ASCII; longer ones are cut by `parse`'s check anyway.
                let len = u8::try_from(name.len()).unwrap_or(u8::MAX);
                out.push(len);
                out.extend_from_slice(&name[..usize::from(len)]);
            }
            Datagram::Symbol { packet, .. } => out.extend_from_slice(packet),
            Datagram::Heartbeat {
                sent_at,
                files_sent,
                ..
            } => {
                out.extend_from_slice(&sent_at.to_be_bytes());
                out.extend_from_slice(&files_sent.to_be_bytes());
            }
        }
        out
    }

    /// Parses one datagram; anything malformed is an error naming what is wrong.
    pub fn parse(bytes: &[u8]) -> Result<Datagram<'_>, DiodeError> {
        let malformed = |what: &'static str| DiodeError::Malformed(what);
        if bytes.len() < PREFIX_BYTES {
            return Err(malformed("shorter than the datagram prefix"));
        }
        if &bytes[..4] != MAGIC {
            return Err(malformed("wrong magic"));
        }
        let session = u64::from_be_bytes(bytes[5..13].try_into().expect("8 bytes"));
        let body = &bytes[PREFIX_BYTES..];
        match bytes[4] {
            KIND_HEADER => {
                let fixed = 8 + 2 + 32 + 1;
                if body.len() < fixed {
                    return Err(malformed("header shorter than its fixed fields"));
                }
                let name_len = usize::from(body[fixed - 1]);
                if body.len() != fixed + name_len {
                    return Err(malformed("header length does not match its name length"));
                }
                let name = std::str::from_utf8(&body[fixed..])
                    .map_err(|_| malformed("header name is not UTF-8"))?;
                Ok(Datagram::Header {
                    session,
                    header: Header {
                        length: u64::from_be_bytes(body[..8].try_into().expect("8 bytes")),
                        symbol_size: u16::from_be_bytes(body[8..10].try_into().expect("2 bytes")),
                        sha256: body[10..42].try_into().expect("32 bytes"),
                        name: name.to_owned(),
                    },
                })
            }
            KIND_SYMBOL => {
                if body.len() <= PAYLOAD_ID_BYTES {
                    return Err(malformed("symbol datagram without a symbol"));
                }
                Ok(Datagram::Symbol {
                    session,
                    packet: body,
                })
            }
            KIND_HEARTBEAT => {
                if body.len() != 16 {
                    return Err(malformed("heartbeat of the wrong length"));
                }
                Ok(Datagram::Heartbeat {
                    session,
                    sent_at: i64::from_be_bytes(body[..8].try_into().expect("8 bytes")),
                    files_sent: u64::from_be_bytes(body[8..].try_into().expect("8 bytes")),
                })
            }
            _ => Err(malformed("unknown datagram kind")),
        }
    }
}

/// SHA-256 of `bytes`.
pub(crate) fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Why the UDP carrier could not do its work.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DiodeError {
    /// The datagram size is out of range.
    #[error(
        "datagram size {0} is out of range: use {min} to {max} bytes",
        min = DATAGRAM_BYTES.start(),
        max = DATAGRAM_BYTES.end()
    )]
    DatagramSize(usize),
    /// A datagram does not parse.
    #[error("malformed datagram: {0}")]
    Malformed(&'static str),
    /// A socket operation failed.
    #[error("{action} {address}: {source}")]
    Socket {
        /// What was being done.
        action: &'static str,
        /// The address.
        address: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A spool operation failed.
    #[error(transparent)]
    Spool(#[from] crate::spool::SpoolError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_datagram_kind_round_trips_and_damage_is_named() {
        let header = Datagram::Header {
            session: 7,
            header: Header {
                length: 123_456,
                symbol_size: 1376,
                sha256: [9; 32],
                name: "c1-s1-a.bundle".into(),
            },
        };
        let symbol = Datagram::Symbol {
            session: 7,
            packet: &[0, 0, 0, 1, 42, 43],
        };
        let heartbeat = Datagram::Heartbeat {
            session: 8,
            sent_at: 1_767_225_600,
            files_sent: 3,
        };
        for datagram in [header, symbol, heartbeat] {
            let bytes = datagram.encode();
            assert_eq!(Datagram::parse(&bytes).unwrap(), datagram);
            // Every shorter prefix is refused, never misread.
            for cut in 0..bytes.len() {
                if let Ok(parsed) = Datagram::parse(&bytes[..cut]) {
                    assert!(
                        matches!(parsed, Datagram::Symbol { .. }),
                        "only a symbol's length is free: {parsed:?}"
                    );
                }
            }
        }
        let mut wrong = Datagram::Heartbeat {
            session: 1,
            sent_at: 0,
            files_sent: 0,
        }
        .encode();
        wrong[0] = b'X';
        assert_eq!(
            Datagram::parse(&wrong).unwrap_err().to_string(),
            "malformed datagram: wrong magic"
        );
        wrong[0] = b'S';
        wrong[4] = 9;
        assert_eq!(
            Datagram::parse(&wrong).unwrap_err().to_string(),
            "malformed datagram: unknown datagram kind"
        );
    }

    #[test]
    fn the_symbol_fills_the_datagram_and_sizes_are_bounded() {
        assert_eq!(symbol_size(1400).unwrap(), 1376);
        assert!(usize::from(symbol_size(1400).unwrap()) + PREFIX_BYTES + PAYLOAD_ID_BYTES <= 1400);
        assert!(symbol_size(100).is_err());
        assert!(symbol_size(65_000).is_err());
    }
}
