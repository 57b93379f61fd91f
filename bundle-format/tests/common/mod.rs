//! Test keys and a key table shared by the integration tests.
//!
//! Keys are derived from fixed seeds so that the committed test vectors stay byte-stable.
#![allow(dead_code)] // each test binary uses a different part of this module

use std::path::Path;
use std::process::Command;

use ed25519_dalek::{Signature, SigningKey, VerifyingKey};
use keys::{ChannelId, KeyId, KeyLookup, KeyRejection, Role, Signer};
use sha2::{Digest, Sha256};

/// The instant the test vectors are judged at (2026-11-22T00:00:00Z).
pub const NOW: i64 = 1_795_305_600;

/// A signing key from a fixed seed.
pub struct TestSigner {
    pub key: SigningKey,
    pub key_id: KeyId,
}

impl TestSigner {
    /// The key named `name`: seed and key number are hashes of the name.
    pub fn named(name: &str) -> TestSigner {
        let seed: [u8; 32] = Sha256::digest(format!("sluice test key seed: {name}")).into();
        let id_hash = Sha256::digest(format!("sluice test key number: {name}"));
        let mut key_id = [0u8; 8];
        key_id.copy_from_slice(&id_hash[..8]);
        TestSigner {
            key: SigningKey::from_bytes(&seed),
            key_id: KeyId(key_id),
        }
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// The public key in signify's file format.
    pub fn signify_public_file(&self) -> String {
        use base64::Engine as _;
        let mut blob = b"Ed".to_vec();
        blob.extend_from_slice(&self.key_id.0);
        blob.extend_from_slice(self.verifying_key().as_bytes());
        format!(
            "untrusted comment: sluice test public key\n{}\n",
            base64::engine::general_purpose::STANDARD.encode(blob)
        )
    }

    /// The public key as an OpenSSL SubjectPublicKeyInfo PEM.
    pub fn openssl_pem(&self) -> String {
        use ed25519_dalek::pkcs8::EncodePublicKey;
        self.verifying_key()
            .to_public_key_pem(Default::default())
            .expect("PEM encoding of a public key")
    }
}

impl Signer for TestSigner {
    fn key_id(&self) -> KeyId {
        self.key_id
    }

    fn sign(&self, message: &[u8]) -> Signature {
        ed25519_dalek::Signer::sign(&self.key, message)
    }
}

/// One key the table trusts.
pub struct Entry {
    pub key_id: KeyId,
    pub key: VerifyingKey,
    pub role: Role,
    pub channel: Option<ChannelId>,
    pub not_before: i64,
    pub not_after: i64,
}

/// A fixed table of trusted keys with the same refusal rules as a keyset.
#[derive(Default)]
pub struct KeyTable(pub Vec<Entry>);

impl KeyTable {
    pub fn with(mut self, signer: &TestSigner, role: Role, channel: Option<u32>) -> Self {
        self.0.push(Entry {
            key_id: signer.key_id,
            key: signer.verifying_key(),
            role,
            channel: channel.map(ChannelId),
            not_before: 0,
            not_after: i64::MAX,
        });
        self
    }

    pub fn with_window(
        mut self,
        signer: &TestSigner,
        role: Role,
        channel: u32,
        window: (i64, i64),
    ) -> Self {
        self.0.push(Entry {
            key_id: signer.key_id,
            key: signer.verifying_key(),
            role,
            channel: Some(ChannelId(channel)),
            not_before: window.0,
            not_after: window.1,
        });
        self
    }
}

impl KeyLookup for KeyTable {
    fn verifying_key(
        &self,
        key_id: KeyId,
        role: Role,
        channel: Option<ChannelId>,
        at: i64,
    ) -> Result<VerifyingKey, KeyRejection> {
        let entry = self
            .0
            .iter()
            .find(|entry| entry.key_id == key_id)
            .ok_or(KeyRejection::UnknownKey { key_id })?;
        if entry.role != role {
            return Err(KeyRejection::WrongRole {
                key_id,
                actual: entry.role,
                wanted: role,
            });
        }
        if entry.channel != channel {
            return Err(KeyRejection::WrongChannel { key_id, channel });
        }
        if at < entry.not_before {
            return Err(KeyRejection::NotYetValid {
                key_id,
                not_before: entry.not_before,
                at,
            });
        }
        if at > entry.not_after {
            return Err(KeyRejection::Expired {
                key_id,
                not_after: entry.not_after,
                at,
            });
        }
        Ok(entry.key)
    }
}

/// Runs an external tool, failing the test with the Debian package to install if it is missing.
pub fn run_tool(program: &str, package: &str, args: &[&str], dir: &Path) -> std::process::Output {
    match Command::new(program).args(args).current_dir(dir).output() {
        Ok(output) => output,
        Err(e) => panic!(
            "cannot run `{program}` ({e}); install the Debian package `{package}` \
             (apt-get install {package})"
        ),
    }
}
