//! The filing password (备案密码): what approval issues beside the certificate, given to the
//! filing's owner once; with the filing number it lets anyone download the certificate without
//! an account, as the filing manuals describe.
//!
//! A password is 80 random bits written as sixteen characters of Crockford's base32 (no `I`,
//! `L`, `O` or `U`, so nothing reads as another character) in four groups of four, e.g.
//! `7K3Q-M9XD-2FHR-WT4B`. When typed back, case, spaces and hyphens do not matter, and `O`, `I`
//! and `L` are read as `0`, `1` and `1`, as Crockford's alphabet does.
//!
//! Both sides keep only a salted hash: SHA-256 over a domain label, a 16-byte salt of the
//! filing's own and the password's sixteen characters. A fast hash is enough here (unlike an
//! account password, which a person chooses and argon2id protects): the password is random,
//! so a stolen hash leaves 2^80 guesses per filing, and the salt keeps one table from serving
//! two filings. A slow hash would only let anyone who sends download requests spend the
//! service's CPU. Comparison takes the same time whatever the bytes are.
//!
//! This module is pure: the caller brings the random bytes (from the operating system's
//! generator) and the salt.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::number::RECEIPT_ALPHABET;

/// Random bytes a password is made from (80 bits).
pub const RANDOM_BYTES: usize = 10;
/// Bytes of the salt stored with each hash.
pub const SALT_BYTES: usize = 16;
/// Characters of a password without its hyphens.
pub const CHARACTERS: usize = 16;
/// Characters in a group.
const GROUP: usize = 4;
/// Most characters a typed password may have before it is not even read (room for spaces and
/// hyphens around the sixteen).
pub const MAX_TYPED_CHARS: usize = 64;
/// What the hash is over before the salt, so that it can never equal a hash made for another
/// purpose.
const LABEL: &[u8] = b"sluice filing password v1\0";

/// A filing password in its canonical form: sixteen characters of [`RECEIPT_ALPHABET`].
#[derive(Clone, PartialEq, Eq)]
pub struct FilingPassword([u8; CHARACTERS]);

impl FilingPassword {
    /// The password the 80 bits of `random` spell, five bits a character.
    pub fn from_random(random: [u8; RANDOM_BYTES]) -> FilingPassword {
        let bits = random
            .iter()
            .fold(0u128, |acc, byte| (acc << 8) | u128::from(*byte));
        let mut characters = [0u8; CHARACTERS];
        for (i, character) in characters.iter_mut().enumerate() {
            let shift = 5 * (CHARACTERS - 1 - i);
            *character = RECEIPT_ALPHABET[((bits >> shift) & 31) as usize];
        }
        FilingPassword(characters)
    }

    /// Reads a password as a person typed it: case, spaces and hyphens do not matter, `O` is
    /// `0`, `I` and `L` are `1`. `None` if it is not sixteen characters of the alphabet then
    /// (which the caller answers exactly as a wrong password).
    pub fn parse(typed: &str) -> Option<FilingPassword> {
        if typed.chars().count() > MAX_TYPED_CHARS {
            return None;
        }
        let mut characters = [0u8; CHARACTERS];
        let mut len = 0;
        for c in typed.chars() {
            let c = match c.to_ascii_uppercase() {
                ' ' | '-' => continue,
                'O' => '0',
                'I' | 'L' => '1',
                c => c,
            };
            let byte = u8::try_from(c)
                .ok()
                .filter(|b| RECEIPT_ALPHABET.contains(b))?;
            *characters.get_mut(len)? = byte;
            len += 1;
        }
        (len == CHARACTERS).then_some(FilingPassword(characters))
    }

    /// The password as shown to its owner: four groups of four joined by `-`.
    pub fn display(&self) -> String {
        let mut shown = String::with_capacity(CHARACTERS + CHARACTERS / GROUP);
        for (i, group) in self.0.chunks(GROUP).enumerate() {
            if i > 0 {
                shown.push('-');
            }
            shown.extend(group.iter().map(|b| char::from(*b)));
        }
        shown
    }

    /// The salted hash both sides store.
    pub fn hash(&self, salt: &[u8; SALT_BYTES]) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(LABEL);
        hasher.update(salt);
        hasher.update(self.0);
        hasher.finalize().into()
    }

    /// Whether this password hashes with `salt` to `stored`, in constant time.
    pub fn matches(&self, salt: &[u8; SALT_BYTES], stored: &[u8]) -> bool {
        bool::from(self.hash(salt).as_slice().ct_eq(stored))
    }
}

impl std::fmt::Debug for FilingPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FilingPassword(<hidden>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_is_four_groups_of_four_and_reads_back_however_it_is_typed() {
        let password = FilingPassword::from_random([0xA5; RANDOM_BYTES]);
        let shown = password.display();
        assert_eq!(shown.len(), 19);
        assert_eq!(shown.split('-').count(), 4);
        assert_eq!(FilingPassword::parse(&shown), Some(password.clone()));
        let sloppy = shown.to_lowercase().replace('-', " ");
        assert_eq!(FilingPassword::parse(&sloppy), Some(password));
    }

    #[test]
    fn every_bit_of_the_random_bytes_shows() {
        let zero = FilingPassword::from_random([0; RANDOM_BYTES]);
        assert_eq!(zero.display(), "0000-0000-0000-0000");
        for byte in 0..RANDOM_BYTES {
            for bit in 0..8 {
                let mut random = [0; RANDOM_BYTES];
                random[byte] = 1 << bit;
                assert_ne!(
                    FilingPassword::from_random(random),
                    zero,
                    "byte {byte} bit {bit}"
                );
            }
        }
    }

    #[test]
    fn look_alike_letters_read_as_digits_and_anything_else_is_no_password() {
        let typed = FilingPassword::parse("OIL0-0000-0000-0000").unwrap();
        assert_eq!(typed.display(), "0110-0000-0000-0000");
        for bad in [
            "",
            "0000-0000-0000-000",
            "0000-0000-0000-00000",
            "0000-0000-0000-000U",
        ] {
            assert_eq!(FilingPassword::parse(bad), None, "{bad:?}");
        }
        assert_eq!(
            FilingPassword::parse(&"0".repeat(MAX_TYPED_CHARS + 1)),
            None
        );
    }

    #[test]
    fn the_hash_depends_on_the_salt_and_matches_only_the_password() {
        let password = FilingPassword::from_random([7; RANDOM_BYTES]);
        let other = FilingPassword::from_random([8; RANDOM_BYTES]);
        let salt = [1; SALT_BYTES];
        let stored = password.hash(&salt);
        assert!(password.matches(&salt, &stored));
        assert!(!other.matches(&salt, &stored));
        assert!(!password.matches(&[2; SALT_BYTES], &stored));
        assert!(!password.matches(&salt, &stored[..31]));
        assert!(!format!("{password:?}").contains(&password.display()[..4]));
    }
}
