//! Encryption of a bundle's payload on the medium (SPEC.md §4.5).
//!
//! A channel whose keyset names recipients carries its submissions and return bundles
//! encrypted: the zstd frame of §4 is wrapped in an age v1 file (X25519 recipients, the `age`
//! crate) and the header's [`FLAG_ENCRYPTED`](crate::header::FLAG_ENCRYPTED) is set. The
//! signature still covers the message as it lies on the medium, so `signify -V -e` verifies it
//! without any secret, and stock `age -d` with the receiver's identity file recovers the frame.
//!
//! Nothing here reads a file: the caller hands over recipients and identities it loaded.

use std::cell::RefCell;
use std::io::{self, Read, Write};

pub use age::x25519::{Identity, Recipient};

/// The most recipients a payload may be encrypted to (the keyset allows as many per direction
/// and channel).
pub const MAX_RECIPIENTS: usize = keys::keyset::MAX_RECIPIENTS_PER_CHANNEL;
/// The longest age header a reader accepts, from `age-encryption.org/v1` through the MAC line.
/// Sixteen X25519 stanzas take about 1.8 KB.
pub const MAX_AGE_HEADER_BYTES: usize = 4096;
/// The first line of every age v1 file.
pub const AGE_MAGIC: &[u8] = b"age-encryption.org/v1\n";

/// The identities a receiving host decrypts with (none: it reads unencrypted bundles only).
/// Shown by count, never by value.
#[derive(Clone, Default)]
pub struct Identities(pub Vec<Identity>);

impl std::fmt::Debug for Identities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Identities({} held)", self.0.len())
    }
}

impl std::ops::Deref for Identities {
    type Target = [Identity];

    fn deref(&self) -> &[Identity] {
        &self.0
    }
}

/// Why a payload could not be encrypted or decrypted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncryptionError {
    /// The payload is not an age v1 file, or its header is longer than a reader accepts.
    #[error("the encrypted payload is not an age v1 file: {problem}")]
    NotAge {
        /// What is wrong.
        problem: String,
    },
    /// The bundle is encrypted and this reader was given no identity.
    #[error(
        "the payload is encrypted and no age identity was given to decrypt it; \
         configure the receiving side's identity file"
    )]
    NoIdentity,
    /// None of the identities given opens the payload.
    #[error(
        "the payload is encrypted to other recipients: none of the {identities} age \
         identities given here opens it (a wrong identity file, or a keyset naming other keys)"
    )]
    NoMatchingIdentity {
        /// How many identities were tried.
        identities: usize,
    },
    /// The age file is damaged (a header MAC or a payload chunk does not authenticate, or
    /// it is truncated).
    #[error("the encrypted payload does not decrypt: {detail}")]
    Corrupt {
        /// age's message.
        detail: String,
    },
    /// The plaintext is longer than the largest frame a bundle may hold.
    #[error("the decrypted payload is longer than {max} bytes")]
    PlaintextTooLarge {
        /// The limit.
        max: u64,
    },
    /// No recipient, or more than [`MAX_RECIPIENTS`].
    #[error("a payload is encrypted to 1 to {MAX_RECIPIENTS} recipients, {found} given")]
    RecipientCount {
        /// How many were given.
        found: usize,
    },
    /// age refused to encrypt.
    #[error("encrypting the payload failed: {detail}")]
    Encrypt {
        /// What went wrong.
        detail: String,
    },
}

impl EncryptionError {
    /// A stable, short name of the variant.
    pub fn code(&self) -> &'static str {
        match self {
            EncryptionError::NotAge { .. } => "encryption.not-age",
            EncryptionError::NoIdentity => "encryption.no-identity",
            EncryptionError::NoMatchingIdentity { .. } => "encryption.no-matching-identity",
            EncryptionError::Corrupt { .. } => "encryption.corrupt",
            EncryptionError::PlaintextTooLarge { .. } => "encryption.plaintext-too-large",
            EncryptionError::RecipientCount { .. } => "encryption.recipient-count",
            EncryptionError::Encrypt { .. } => "encryption.failed",
        }
    }
}

/// Encrypts `frame` to `recipients` as one age v1 file.
pub fn encrypt(frame: &[u8], recipients: &[Recipient]) -> Result<Vec<u8>, EncryptionError> {
    if recipients.is_empty() || recipients.len() > MAX_RECIPIENTS {
        return Err(EncryptionError::RecipientCount {
            found: recipients.len(),
        });
    }
    let failed = |detail: String| EncryptionError::Encrypt { detail };
    let encryptor = age::Encryptor::with_recipients(
        recipients
            .iter()
            .map(|recipient| recipient as &dyn age::Recipient),
    )
    .map_err(|e| failed(e.to_string()))?;
    let chunks = frame.len().div_ceil(64 * 1024).max(1);
    let mut out = Vec::with_capacity(frame.len() + 16 * chunks + MAX_AGE_HEADER_BYTES / 2);
    let mut writer = encryptor
        .wrap_output(&mut out)
        .map_err(|e| failed(e.to_string()))?;
    writer.write_all(frame).map_err(|e| failed(e.to_string()))?;
    writer.finish().map_err(|e| failed(e.to_string()))?;
    Ok(out)
}

/// Checks the shape of an age header without any key: the magic line, and the MAC line
/// (`--- `) within [`MAX_AGE_HEADER_BYTES`]. What a carrier can know of an encrypted payload;
/// the payload's length was checked against the header already.
pub fn check_shape(payload: &[u8]) -> Result<(), EncryptionError> {
    if !payload.starts_with(AGE_MAGIC) {
        return Err(EncryptionError::NotAge {
            problem: "it does not start with `age-encryption.org/v1`".to_owned(),
        });
    }
    let window = &payload[..payload.len().min(MAX_AGE_HEADER_BYTES)];
    let mac_line = window
        .windows(5)
        .position(|w| w == b"\n--- ")
        .and_then(|start| window[start + 1..].iter().position(|&b| b == b'\n'));
    if mac_line.is_none() {
        return Err(EncryptionError::NotAge {
            problem: format!("its header does not end within {MAX_AGE_HEADER_BYTES} bytes"),
        });
    }
    Ok(())
}

/// Decrypts an age payload with the first of `identities` that opens it and returns the
/// plaintext (the zstd frame), at most `max_plaintext` bytes.
pub fn decrypt(
    payload: &[u8],
    identities: &[Identity],
    max_plaintext: u64,
) -> Result<Vec<u8>, EncryptionError> {
    check_shape(payload)?;
    let reader = plaintext_reader(payload, identities)?;
    let mut plaintext = Vec::with_capacity(payload.len());
    reader
        .take(max_plaintext.saturating_add(1))
        .read_to_end(&mut plaintext)
        .map_err(|e: io::Error| EncryptionError::Corrupt {
            detail: e.to_string(),
        })?;
    if plaintext.len() as u64 > max_plaintext {
        return Err(EncryptionError::PlaintextTooLarge { max: max_plaintext });
    }
    Ok(plaintext)
}

/// Decrypts the age payload that fills `buffer` from `payload_start` to its end into the same
/// buffer: the plaintext (at most `max_plaintext` bytes) is written from `plaintext_start`
/// onward, and the buffer is cut after it. What lies before `plaintext_start` is kept as it
/// is. Memory stays one buffer: a receiver that owns a bundle file turns it into the opened
/// message without holding the file and the frame side by side (SPEC.md §4.5, §8).
///
/// `plaintext_start` must not lie after `payload_start`. Every ciphertext chunk is 16 bytes
/// longer than its plaintext and the age header comes first, so the plaintext written never
/// reaches ciphertext not yet read.
///
/// # Panics
/// If `plaintext_start > payload_start` or `payload_start > buffer.len()`: a caller's mistake.
pub fn decrypt_in_place(
    buffer: Vec<u8>,
    payload_start: usize,
    plaintext_start: usize,
    identities: &[Identity],
    max_plaintext: u64,
) -> Result<Vec<u8>, EncryptionError> {
    assert!(
        plaintext_start <= payload_start && payload_start <= buffer.len(),
        "the plaintext is written before the payload, within the buffer"
    );
    let state = RefCell::new(InPlace {
        buffer,
        read: payload_start,
        write: plaintext_start,
    });
    let corrupt = |detail: String| EncryptionError::Corrupt { detail };
    {
        check_shape(&state.borrow().buffer[payload_start..])?;
        let mut reader = plaintext_reader(io::BufReader::new(Consumed(&state)), identities)?;
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            let n = match reader.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(corrupt(e.to_string())),
            };
            let mut state = state.borrow_mut();
            let InPlace {
                buffer,
                read,
                write,
            } = &mut *state;
            let end = *write + n;
            if (end - plaintext_start) as u64 > max_plaintext {
                return Err(EncryptionError::PlaintextTooLarge { max: max_plaintext });
            }
            // Holds by the argument above; checked so that a reader reading less than it
            // returns could never make the plaintext overwrite unread ciphertext.
            if end > *read {
                return Err(corrupt(
                    "the plaintext outgrew the ciphertext read so far".to_owned(),
                ));
            }
            buffer[*write..end].copy_from_slice(&chunk[..n]);
            *write = end;
        }
    }
    let InPlace {
        mut buffer, write, ..
    } = state.into_inner();
    buffer.truncate(write);
    Ok(buffer)
}

/// The buffer an in-place decryption reads its ciphertext from and writes its plaintext into.
struct InPlace {
    buffer: Vec<u8>,
    /// The first byte not yet handed to age.
    read: usize,
    /// Where the next plaintext byte goes.
    write: usize,
}

/// Hands age the ciphertext of an [`InPlace`] buffer, moving its read position.
struct Consumed<'a>(&'a RefCell<InPlace>);

impl Read for Consumed<'_> {
    fn read(&mut self, into: &mut [u8]) -> io::Result<usize> {
        let mut state = self.0.borrow_mut();
        let unread = &state.buffer[state.read..];
        let n = unread.len().min(into.len());
        into[..n].copy_from_slice(&unread[..n]);
        state.read += n;
        Ok(n)
    }
}

/// The plaintext of the age file `input` yields, opened with the first of `identities` that
/// can; the header is read and its MAC checked here, every chunk as it is read.
fn plaintext_reader<R: io::BufRead>(
    input: R,
    identities: &[Identity],
) -> Result<impl Read, EncryptionError> {
    if identities.is_empty() {
        return Err(EncryptionError::NoIdentity);
    }
    let decryptor = age::Decryptor::new_buffered(input).map_err(|e| match e {
        age::DecryptError::InvalidHeader | age::DecryptError::UnknownFormat => {
            EncryptionError::NotAge {
                problem: e.to_string(),
            }
        }
        other => EncryptionError::Corrupt {
            detail: other.to_string(),
        },
    })?;
    if decryptor.is_scrypt() {
        return Err(EncryptionError::NotAge {
            problem: "it is encrypted to a passphrase, not to X25519 recipients".to_owned(),
        });
    }
    decryptor
        .decrypt(
            identities
                .iter()
                .map(|identity| identity as &dyn age::Identity),
        )
        .map_err(|e| match e {
            age::DecryptError::NoMatchingKeys => EncryptionError::NoMatchingIdentity {
                identities: identities.len(),
            },
            other => EncryptionError::Corrupt {
                detail: other.to_string(),
            },
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_round_trips_through_age() {
        let identity = Identity::generate();
        let frame = vec![7u8; 200_000];
        let sealed = encrypt(&frame, &[identity.to_public()]).unwrap();
        check_shape(&sealed).unwrap();
        assert_eq!(decrypt(&sealed, &[identity], 1 << 20).unwrap(), frame);
    }

    #[test]
    fn another_identity_does_not_open_it() {
        let sealed = encrypt(b"frame", &[Identity::generate().to_public()]).unwrap();
        let err = decrypt(&sealed, &[Identity::generate()], 1024).unwrap_err();
        assert_eq!(err.code(), "encryption.no-matching-identity");
        assert_eq!(
            decrypt(&sealed, &[], 1024).unwrap_err(),
            EncryptionError::NoIdentity
        );
    }

    #[test]
    fn a_flipped_ciphertext_byte_is_refused() {
        let identity = Identity::generate();
        let mut sealed = encrypt(&[1u8; 1000], &[identity.to_public()]).unwrap();
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        let err = decrypt(&sealed, &[identity], 1 << 20).unwrap_err();
        assert_eq!(err.code(), "encryption.corrupt");
    }

    #[test]
    fn plaintext_over_the_limit_is_refused() {
        let identity = Identity::generate();
        let sealed = encrypt(&[1u8; 1000], &[identity.to_public()]).unwrap();
        let err = decrypt(&sealed, &[identity], 999).unwrap_err();
        assert_eq!(err, EncryptionError::PlaintextTooLarge { max: 999 });
    }

    /// The in-place decryption of a payload behind a prefix: the prefix stays, the plaintext
    /// follows it, exactly what `decrypt` returns.
    fn in_place(
        sealed: &[u8],
        prefix: &[u8],
        gap: usize,
        identity: Identity,
        max: u64,
    ) -> Result<Vec<u8>, EncryptionError> {
        let mut buffer = prefix.to_vec();
        buffer.resize(prefix.len() + gap, 0xAA);
        let start = buffer.len();
        buffer.extend_from_slice(sealed);
        decrypt_in_place(buffer, start, prefix.len(), &[identity], max)
    }

    #[test]
    fn a_payload_decrypts_in_place_behind_what_precedes_it() {
        let identity = Identity::generate();
        // Several chunks and a short last one.
        let frame: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let sealed = encrypt(&frame, &[identity.to_public()]).unwrap();
        for gap in [0, 1, 200] {
            let opened = in_place(&sealed, b"HEADER", gap, identity.clone(), 1 << 20).unwrap();
            assert_eq!(&opened[..6], b"HEADER");
            assert_eq!(&opened[6..], frame.as_slice(), "gap {gap}");
        }
        let empty = encrypt(b"", &[identity.to_public()]).unwrap();
        assert_eq!(in_place(&empty, b"H", 0, identity, 10).unwrap(), b"H");
    }

    #[test]
    fn in_place_a_flipped_byte_or_an_oversized_plaintext_is_refused() {
        let identity = Identity::generate();
        let frame = vec![3u8; 200_000];
        let mut sealed = encrypt(&frame, &[identity.to_public()]).unwrap();
        let err = in_place(&sealed, b"H", 0, identity.clone(), 199_999).unwrap_err();
        assert_eq!(err, EncryptionError::PlaintextTooLarge { max: 199_999 });
        let middle = sealed.len() / 2;
        sealed[middle] ^= 1;
        let err = in_place(&sealed, b"H", 0, identity.clone(), 1 << 20).unwrap_err();
        assert_eq!(err.code(), "encryption.corrupt");
        let err = in_place(&sealed, b"H", 0, Identity::generate(), 1 << 20).unwrap_err();
        assert_eq!(err.code(), "encryption.no-matching-identity");
        let err = in_place(&frame, b"H", 0, identity, 1 << 20).unwrap_err();
        assert_eq!(err.code(), "encryption.not-age");
    }

    #[test]
    fn a_zstd_frame_is_not_an_age_file() {
        let err = check_shape(&[0x28, 0xB5, 0x2F, 0xFD, 0, 0]).unwrap_err();
        assert_eq!(err.code(), "encryption.not-age");
        let mut long = AGE_MAGIC.to_vec();
        long.resize(MAX_AGE_HEADER_BYTES + 10, b'a');
        assert_eq!(check_shape(&long).unwrap_err().code(), "encryption.not-age");
    }
}
