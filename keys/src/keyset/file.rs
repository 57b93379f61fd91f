//! A keyset file as stored: parsing the `sluice keyset v1` text (see the module documentation
//! of [`crate::keyset`] for the format) into a document, its exact bytes and its signatures,
//! signing it, and reading and writing it on disk. Nothing here decides trust.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::fsutil::{self, Existing};
use crate::signify::{self, PublicKey, SignatureFile};
use crate::{ChannelId, Role, Signer};

use super::{
    FORMAT_LINE, FORMAT_LINE_V2, KeyEntry, KeysetDocument, KeysetError, MAX_CHANNELS_PER_KEY,
    MAX_FILE_LEN, MAX_KEYS, MAX_RECIPIENT_LINES, MAX_SIGNATURES, Result,
};

/// A keyset file as read: the document, its exact bytes, and the signatures. Nothing about it
/// is trusted yet; [`Keyset::anchor`](super::Keyset::anchor) and
/// [`Keyset::accept_next`](super::Keyset::accept_next) decide that.
#[derive(Clone, Debug)]
pub struct KeysetFile {
    pub(super) document: KeysetDocument,
    pub(super) document_bytes: Vec<u8>,
    pub(super) signatures: Vec<SignatureFile>,
}

impl KeysetFile {
    /// An unsigned file for `document`.
    pub fn unsigned(document: KeysetDocument) -> KeysetFile {
        KeysetFile {
            document_bytes: document.encode(),
            document,
            signatures: Vec::new(),
        }
    }

    /// The document.
    pub fn document(&self) -> &KeysetDocument {
        &self.document
    }

    /// The exact document bytes the signatures cover.
    pub fn document_bytes(&self) -> &[u8] {
        &self.document_bytes
    }

    /// The signatures, in file order.
    pub fn signatures(&self) -> &[SignatureFile] {
        &self.signatures
    }

    /// Signs the document and appends the signature. Refuses a second signature by the same
    /// key number.
    pub fn sign(&mut self, signer: &dyn Signer) -> Result<()> {
        let key_id = signer.key_id();
        if self.signatures.iter().any(|s| s.key_id == key_id) {
            return Err(KeysetError::AlreadySigned { key_id });
        }
        if self.signatures.len() >= MAX_SIGNATURES {
            return Err(KeysetError::TooManySignatures {
                limit: MAX_SIGNATURES,
            });
        }
        self.signatures.push(SignatureFile {
            key_id,
            signature: signer.sign(&self.document_bytes),
        });
        Ok(())
    }

    /// The whole file: document bytes, then one `signature` line per signature.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.document_bytes.clone();
        for signature in &self.signatures {
            out.extend_from_slice(b"signature ");
            out.extend_from_slice(BASE64.encode(signature.to_record()).as_bytes());
            out.push(b'\n');
        }
        out
    }

    /// Parses a keyset file (see [`crate::keyset`] for the format).
    pub fn parse(bytes: &[u8]) -> Result<KeysetFile> {
        if bytes.len() > MAX_FILE_LEN {
            return Err(KeysetError::TooLarge {
                limit: MAX_FILE_LEN,
            });
        }
        let text = std::str::from_utf8(bytes).map_err(|_| KeysetError::NotText)?;
        // Each item: (1-based line number, line without its newline, byte offset after it).
        let mut lines = text
            .split_inclusive('\n')
            .scan(0usize, |offset, raw| {
                *offset += raw.len();
                Some((*offset, raw))
            })
            .enumerate()
            .map(|(i, (end, raw))| {
                let number = i + 1;
                match raw.strip_suffix('\n') {
                    Some(line) => Ok((number, line, end)),
                    None => Err(KeysetError::Malformed {
                        line: number,
                        field: "line",
                        problem: "the file must end with a newline".to_owned(),
                    }),
                }
            });
        let mut next_line = |expected_line: usize| {
            lines
                .next()
                .unwrap_or(Err(KeysetError::MissingEnd {
                    line: expected_line,
                }))
                .and_then(|(number, line, end)| {
                    if line.contains('\r') {
                        Err(KeysetError::Malformed {
                            line: number,
                            field: "line",
                            problem: "carriage returns are not allowed; use LF line endings"
                                .to_owned(),
                        })
                    } else {
                        Ok((number, line, end))
                    }
                })
        };

        // Dispatch on the format line first; an unknown format is an error, never a guess.
        let (_, format_line, _) = next_line(1)?;
        let with_recipients = match format_line {
            FORMAT_LINE => false,
            FORMAT_LINE_V2 => true,
            _ => {
                return Err(KeysetError::UnknownFormat {
                    found: format_line.chars().take(80).collect(),
                });
            }
        };
        let (_, line, _) = next_line(2)?;
        let version = parse_keyword_number(line, 2, "version")?;
        let (_, line, _) = next_line(3)?;
        let threshold =
            u8::try_from(parse_keyword_number(line, 3, "threshold")?).map_err(|_| {
                KeysetError::Malformed {
                    line: 3,
                    field: "threshold",
                    problem: "the threshold is at most 255".to_owned(),
                }
            })?;

        let mut keys = Vec::new();
        let mut key_lines = Vec::new();
        let mut recipients = Vec::new();
        let mut recipient_lines = Vec::new();
        let mut number = 3;
        let end_offset = loop {
            let (line_number, line, end) = next_line(number + 1)?;
            number = line_number;
            if line == "end" {
                break end;
            }
            if line.starts_with("recipient ") {
                if !with_recipients {
                    return Err(KeysetError::Malformed {
                        line: number,
                        field: "line",
                        problem: format!("recipient lines need the format line `{FORMAT_LINE_V2}`"),
                    });
                }
                if recipients.len() == MAX_RECIPIENT_LINES {
                    return Err(KeysetError::Malformed {
                        line: number,
                        field: "line",
                        problem: format!("more than {MAX_RECIPIENT_LINES} recipient lines"),
                    });
                }
                recipients.push(super::recipients::parse_line(line, number)?);
                recipient_lines.push(number);
                continue;
            }
            if !recipients.is_empty() {
                return Err(KeysetError::Malformed {
                    line: number,
                    field: "line",
                    problem: "key lines come before the recipient lines".to_owned(),
                });
            }
            if keys.len() == MAX_KEYS {
                return Err(KeysetError::TooManyKeys { limit: MAX_KEYS });
            }
            keys.push(parse_key_line(line, number)?);
            key_lines.push(number);
        };
        if with_recipients && recipients.is_empty() {
            return Err(KeysetError::Malformed {
                line: 1,
                field: "format",
                problem: format!("a keyset without recipient lines is written `{FORMAT_LINE}`"),
            });
        }
        let document = KeysetDocument {
            version,
            threshold,
            keys,
            recipients,
        };
        document.check(&key_lines)?;
        super::recipients::check(&document.recipients, &recipient_lines)?;

        let mut signatures = Vec::new();
        for item in lines {
            let (number, line, _) = item?;
            let Some(encoded) = line.strip_prefix("signature ") else {
                return Err(KeysetError::Malformed {
                    line: number,
                    field: "signature",
                    problem: "expected `signature <base64>` after `end`".to_owned(),
                });
            };
            if signatures.len() == MAX_SIGNATURES {
                return Err(KeysetError::TooManySignatures {
                    limit: MAX_SIGNATURES,
                });
            }
            let record = decode(encoded, number, "signature", 74)?;
            let signature =
                SignatureFile::from_record(&record).map_err(|source| KeysetError::BadRecord {
                    line: number,
                    field: "signature",
                    source,
                })?;
            signatures.push(signature);
        }
        Ok(KeysetFile {
            document,
            document_bytes: bytes[..end_offset].to_vec(),
            signatures,
        })
    }

    /// Reads and parses a keyset file.
    pub fn read_file(path: &Path) -> Result<KeysetFile> {
        let in_file = |source| KeysetError::InFile {
            file: path.into(),
            source: Box::new(source),
        };
        let file = std::fs::File::open(path).map_err(|e| in_file(KeysetError::Read(e)))?;
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(
            &mut std::io::Read::take(file, MAX_FILE_LEN as u64 + 1),
            &mut bytes,
        )
        .map_err(|e| in_file(KeysetError::Read(e)))?;
        KeysetFile::parse(&bytes).map_err(in_file)
    }

    /// Writes the file atomically, replacing any file at `path`.
    pub fn write_file(&self, path: &Path) -> Result<()> {
        fsutil::write_atomic(path, &self.to_bytes(), 0o644, Existing::Replace).map_err(|e| {
            KeysetError::InFile {
                file: path.into(),
                source: Box::new(KeysetError::Write(e)),
            }
        })
    }
}

fn decode(encoded: &str, line: usize, field: &'static str, len: usize) -> Result<Vec<u8>> {
    signify::decode_record(encoded, Path::new("<keyset>"), line, field, len).map_err(|source| {
        KeysetError::BadRecord {
            line,
            field,
            source,
        }
    })
}

/// Parses a canonical decimal: digits only, no leading zeros.
fn parse_number(text: &str, line: usize, field: &'static str) -> Result<u64> {
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    let value = if canonical { text.parse().ok() } else { None };
    value.ok_or_else(|| KeysetError::Malformed {
        line,
        field,
        problem: format!("expected a decimal number without sign or leading zeros, found {text:?}"),
    })
}

fn parse_time(text: &str, line: usize, field: &'static str) -> Result<i64> {
    i64::try_from(parse_number(text, line, field)?).map_err(|_| KeysetError::Malformed {
        line,
        field,
        problem: "the time is too large".to_owned(),
    })
}

fn parse_keyword_number(line: &str, number: usize, keyword: &'static str) -> Result<u64> {
    let Some(value) = line
        .strip_prefix(keyword)
        .and_then(|rest| rest.strip_prefix(' '))
    else {
        return Err(KeysetError::Malformed {
            line: number,
            field: keyword,
            problem: format!("expected `{keyword} <number>`"),
        });
    };
    parse_number(value, number, keyword)
}

/// `key role=… channels=… not-before=… not-after=… revoked-at=… public=…`, fields in this
/// order, separated by single spaces.
fn parse_key_line(line: &str, number: usize) -> Result<KeyEntry> {
    const FIELDS: [&str; 6] = [
        "role",
        "channels",
        "not-before",
        "not-after",
        "revoked-at",
        "public",
    ];
    let mut parts = line.split(' ');
    if parts.next() != Some("key") {
        return Err(KeysetError::Malformed {
            line: number,
            field: "line",
            problem: "expected `key …` or `end`".to_owned(),
        });
    }
    let [role, channels, not_before, not_after, revoked_at, public] =
        super::named_fields(&mut parts, FIELDS, number)?;
    let role = Role::parse(role).ok_or_else(|| KeysetError::Malformed {
        line: number,
        field: "role",
        problem: format!(
            "unknown role {role:?}; expected root, outer-bundle, inner-return or inner-cert"
        ),
    })?;
    let channels = parse_channels(channels, number)?;
    let not_before = parse_time(not_before, number, "not-before")?;
    let not_after = parse_time(not_after, number, "not-after")?;
    let revoked_at = if revoked_at == "-" {
        None
    } else {
        Some(parse_time(revoked_at, number, "revoked-at")?)
    };
    let record = decode(public, number, "public", 42)?;
    let public_key = PublicKey::from_record(&record).map_err(|source| KeysetError::BadRecord {
        line: number,
        field: "public",
        source,
    })?;
    Ok(KeyEntry {
        public_key,
        role,
        channels,
        not_before,
        not_after,
        revoked_at,
    })
}

/// A channel list: `-` for none, or comma-separated canonical decimals (ascending order is the
/// document's check).
pub(super) fn parse_channels(text: &str, number: usize) -> Result<Vec<ChannelId>> {
    if text == "-" {
        return Ok(Vec::new());
    }
    let mut list = Vec::new();
    for item in text.split(',') {
        if list.len() == MAX_CHANNELS_PER_KEY {
            return Err(KeysetError::Malformed {
                line: number,
                field: "channels",
                problem: format!("more than {MAX_CHANNELS_PER_KEY} channels"),
            });
        }
        let value = parse_number(item, number, "channels")?;
        let channel = u32::try_from(value).map_err(|_| KeysetError::Malformed {
            line: number,
            field: "channels",
            problem: format!("channel {value} is larger than {}", u32::MAX),
        })?;
        list.push(ChannelId(channel));
    }
    Ok(list)
}
