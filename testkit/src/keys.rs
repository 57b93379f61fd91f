//! Key fixtures: deterministic signing keys by name, and version-1 keysets that trust them.
//!
//! A named key's seed is SHA-256 of `sluice test key seed: NAME` and its key number the first
//! eight bytes of SHA-256 of `sluice test key number: NAME`. The committed vectors in
//! `bundle-format/tests/vectors/` and the hostile corpus in `tests/corpus/` are signed with such
//! keys, so this scheme must never change.
//!
//! Tests that run the real binaries need key files on disk and use
//! `transfer::demo::generate_keys` instead, which the demo ships with.

use ::keys::{ChannelId, KeyEntry, KeyId, KeysetDocument, KeysetFile, PublicKey, Role, SecretKey};
use sha2::{Digest, Sha256};

/// The name of the key that signs the keysets of [`signed_keyset`].
pub const ROOT: &str = "root";

/// The test key called `name`, the same on every run (see the module documentation).
pub fn named_key(name: &str) -> SecretKey {
    let seed: [u8; 32] = Sha256::digest(format!("sluice test key seed: {name}")).into();
    let number = Sha256::digest(format!("sluice test key number: {name}"));
    let mut key_id = [0u8; 8];
    key_id.copy_from_slice(&number[..8]);
    SecretKey::from_seed(KeyId(key_id), &seed)
}

/// A keyset entry trusting `key` for `role` (on `channel`, if given) for all time, never
/// revoked. Change `not_before`, `not_after` or `revoked_at` for anything narrower.
pub fn entry(key: PublicKey, role: Role, channel: Option<u32>) -> KeyEntry {
    KeyEntry {
        public_key: key,
        role,
        channels: channel.map(ChannelId).into_iter().collect(),
        not_before: 0,
        not_after: i64::MAX,
        revoked_at: None,
    }
}

/// The entries of a working appliance on `channel`: the named keys `outer-bundle` and
/// `inner-return` for that channel, and `inner-cert`.
pub fn appliance_entries(channel: u32) -> Vec<KeyEntry> {
    vec![
        entry(
            named_key("outer-bundle").public_key(),
            Role::OuterBundle,
            Some(channel),
        ),
        entry(
            named_key("inner-return").public_key(),
            Role::InnerReturn,
            Some(channel),
        ),
        entry(named_key("inner-cert").public_key(), Role::InnerCert, None),
    ]
}

/// Keyset version 1 holding the named [`ROOT`] key followed by `members`, signed by that root
/// key.
///
/// # Panics
///
/// If the entries do not make a well-formed keyset.
pub fn signed_keyset(members: Vec<KeyEntry>) -> KeysetFile {
    let root = named_key(ROOT);
    let mut entries = vec![entry(root.public_key(), Role::Root, None)];
    entries.extend(members);
    let document = KeysetDocument::new(1, entries).expect("a well-formed test keyset");
    let mut file = KeysetFile::unsigned(document);
    file.sign(&root)
        .expect("the test root key signs the keyset");
    file
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_named_key_is_the_same_every_time_and_differs_by_name() {
        assert_eq!(
            named_key("outer-bundle").public_key(),
            named_key("outer-bundle").public_key()
        );
        assert_ne!(
            named_key("outer-bundle").key_id(),
            named_key("inner-return").key_id()
        );
    }

    #[test]
    fn an_appliance_keyset_anchors() {
        let file = signed_keyset(appliance_entries(1));
        ::keys::Keyset::anchor(file, 1_795_305_600).expect("anchors");
    }
}
