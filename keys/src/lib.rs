//! Ed25519 keys for Sluice, stored in OpenBSD signify's file formats, and keysets: signed
//! documents that say which key may sign for which role, on which channel, and when. Keys made
//! with `signify -G` load here and keys made here work with `signify`. This crate never writes a
//! secret key that others can read and never accepts a signature from a key outside its window.

use std::fmt;

pub mod age_identity;
pub mod exit;
#[cfg(feature = "failpoints")]
pub mod failpoint;
mod fsutil;
pub mod keyset;
pub mod ops;
pub mod report;
pub mod signify;
pub mod time;

pub use keyset::{KeyEntry, Keyset, KeysetDocument, KeysetError, KeysetFile};
pub use signify::{Fingerprint, KeyFileError, PublicKey, SecretKey, SignatureFile};

/// The 8-byte key number signify stores beside every key and signature (`keynum`).
///
/// It names a key; it is not a hash of it, and two keys may in principle share one, which is
/// why lookups always verify against the key they find rather than trusting the number.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(pub [u8; 8]);

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// What a key is allowed to sign. A key signs for exactly one role.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub enum Role {
    /// Signs keysets (rotation and revocation cross the gap this way).
    Root,
    /// Signs submissions and heartbeat bundles on an outer→inner channel.
    OuterBundle,
    /// Signs return bundles (acks, status changes, certificates) on an inner→outer channel.
    InnerReturn,
    /// Signs the electronic filing certificates site owners publish.
    InnerCert,
}

impl Role {
    /// Every role, in a stable order.
    pub const ALL: [Role; 4] = [
        Role::Root,
        Role::OuterBundle,
        Role::InnerReturn,
        Role::InnerCert,
    ];

    /// The role's name in key files, keysets and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Root => "root",
            Role::OuterBundle => "outer-bundle",
            Role::InnerReturn => "inner-return",
            Role::InnerCert => "inner-cert",
        }
    }

    /// Parses a role name as written by [`Role::as_str`].
    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == name)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A one-way path bundles travel on, e.g. one outer host's submissions towards the inner side.
/// Bundles carry it in their header; keysets say which channels a key may sign for.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct ChannelId(pub u32);

impl fmt::Display for ChannelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Something that holds a secret key and signs messages with it.
pub trait Signer {
    /// The key number written into the signature line.
    fn key_id(&self) -> KeyId;
    /// Signs `message` exactly as given.
    fn sign(&self, message: &[u8]) -> ed25519_dalek::Signature;
}

/// Something that knows which public keys are trusted for what: a keyset, or in tests a fixed
/// table. Implementations refuse rather than guess.
pub trait KeyLookup {
    /// The public key with number `key_id`, if the keyset allows it to sign for `role` on
    /// `channel` (`None` for roles that are not bound to a channel, such as `inner-cert`) at
    /// `at`, in seconds since the Unix epoch on the verifier's clock.
    fn verifying_key(
        &self,
        key_id: KeyId,
        role: Role,
        channel: Option<ChannelId>,
        at: i64,
    ) -> Result<ed25519_dalek::VerifyingKey, KeyRejection>;
}

/// A [`KeyLookup`] that trusts exactly one public key, for one role, at any time: what checks a
/// document sealed by a key published on its own (an electronic certificate and the
/// `inner-cert` public key its checker holds).
#[derive(Clone, Copy, Debug)]
pub struct OneKey<'a> {
    key: &'a PublicKey,
    role: Role,
}

impl<'a> OneKey<'a> {
    /// Trusts `key` for `role`.
    pub fn new(key: &'a PublicKey, role: Role) -> OneKey<'a> {
        OneKey { key, role }
    }
}

impl KeyLookup for OneKey<'_> {
    fn verifying_key(
        &self,
        key_id: KeyId,
        role: Role,
        _channel: Option<ChannelId>,
        _at: i64,
    ) -> Result<ed25519_dalek::VerifyingKey, KeyRejection> {
        if key_id != self.key.key_id() {
            return Err(KeyRejection::UnknownKey { key_id });
        }
        if role != self.role {
            return Err(KeyRejection::WrongRole {
                key_id,
                actual: self.role,
                wanted: role,
            });
        }
        Ok(self.key.verifying_key())
    }
}

/// Why a key lookup refused a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyRejection {
    /// No key with that number is in the keyset.
    #[error("key {key_id} is not in the keyset")]
    UnknownKey {
        /// The key number asked for.
        key_id: KeyId,
    },
    /// The key exists but signs for another role.
    #[error("key {key_id} is a {actual} key, not a {wanted} key")]
    WrongRole {
        /// The key number asked for.
        key_id: KeyId,
        /// The role the keyset gives the key.
        actual: Role,
        /// The role the caller needed.
        wanted: Role,
    },
    /// The key may not sign for this channel.
    #[error("key {key_id} may not sign for channel {channel:?}")]
    WrongChannel {
        /// The key number asked for.
        key_id: KeyId,
        /// The channel asked for.
        channel: Option<ChannelId>,
    },
    /// The key's validity window has not started.
    #[error("key {key_id} is not valid before {not_before} (asked at {at})")]
    NotYetValid {
        /// The key number asked for.
        key_id: KeyId,
        /// Start of the key's window, Unix seconds.
        not_before: i64,
        /// When it was asked for, Unix seconds.
        at: i64,
    },
    /// The key's validity window has ended.
    #[error("key {key_id} expired at {not_after} (asked at {at})")]
    Expired {
        /// The key number asked for.
        key_id: KeyId,
        /// End of the key's window, Unix seconds.
        not_after: i64,
        /// When it was asked for, Unix seconds.
        at: i64,
    },
    /// The key was revoked.
    #[error("key {key_id} was revoked at {revoked_at}")]
    Revoked {
        /// The key number asked for.
        key_id: KeyId,
        /// When the revocation took effect, Unix seconds.
        revoked_at: i64,
    },
}
