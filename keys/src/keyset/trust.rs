//! Trust: which keyset files are accepted (the anchor, then each next version on top of the one
//! before, by a threshold of root keys of both) and, for an accepted keyset, which key may sign
//! for which role, channel and time. The rules are listed in the module documentation of
//! [`crate::keyset`].

use std::collections::HashMap;

use crate::{ChannelId, Fingerprint, KeyId, KeyLookup, KeyRejection, Role};

use super::{KeysetDocument, KeysetError, KeysetFile, Result};

/// A keyset whose signatures have been checked: the installed anchor (version 1) or a version
/// accepted on top of the one before. Only this type answers key lookups.
///
/// It remembers when it was accepted (the time its signatures were checked at) and every
/// revocation of its own and of every version accepted before it, by key fingerprint: a key
/// revoked once stays revoked in every later version, even one that dropped it and listed it
/// again, under the same key number or another.
#[derive(Clone, Debug)]
pub struct Keyset {
    file: KeysetFile,
    accepted_at: i64,
    revoked: HashMap<Fingerprint, i64>,
}

impl Keyset {
    /// Installs version 1 as the trust anchor: it must carry signatures from `threshold`
    /// distinct root keys of its own that are valid at `at`.
    pub fn anchor(file: KeysetFile, at: i64) -> Result<Keyset> {
        let version = file.document.version;
        if version != 1 {
            return Err(KeysetError::NotAnAnchor { version });
        }
        check_signatures(&file, None, at)?;
        Ok(Keyset::accepted(file, at, HashMap::new()))
    }

    /// The keyset of `file`, accepted at `at`, with the revocations of the versions before it
    /// (`earlier`) and its own, the earliest time for each key.
    fn accepted(file: KeysetFile, at: i64, earlier: HashMap<Fingerprint, i64>) -> Keyset {
        let mut revoked = earlier;
        for entry in file.document.keys() {
            if let Some(at) = entry.revoked_at {
                let since = revoked.entry(entry.public_key.fingerprint()).or_insert(at);
                *since = (*since).min(at);
            }
        }
        Keyset {
            file,
            accepted_at: at,
            revoked,
        }
    }

    /// Accepts `next` as the version after this one (see [`crate::keyset`] for the
    /// rules). `at` is the verifier's time in Unix seconds: the time of acceptance, at which
    /// the root keys of both versions must be valid.
    pub fn accept_next(&self, next: KeysetFile, at: i64) -> Result<Keyset> {
        let installed = self.version();
        let offered = next.document.version;
        if offered <= installed {
            return Err(KeysetError::VersionNotNewer { installed, offered });
        }
        if offered != installed + 1 {
            return Err(KeysetError::VersionSkipped { installed, offered });
        }
        for old in self.document().keys() {
            let Some(new) = next.document.entry(old.key_id()) else {
                continue;
            };
            if new.public_key != old.public_key {
                return Err(KeysetError::KeyIdReused {
                    key_id: old.key_id(),
                });
            }
            if let Some(revoked_at) = old.revoked_at
                && new.revoked_at.is_none_or(|t| t > revoked_at)
            {
                return Err(KeysetError::Unrevoked {
                    key_id: old.key_id(),
                    revoked_at,
                });
            }
        }
        // Revocation is by key, forever: a key revoked by any earlier version may come back
        // only revoked from the same time or earlier, whatever its key number now.
        for new in next.document.keys() {
            if let Some(&revoked_at) = self.revoked.get(&new.public_key.fingerprint())
                && new.revoked_at.is_none_or(|t| t > revoked_at)
            {
                return Err(KeysetError::Unrevoked {
                    key_id: new.key_id(),
                    revoked_at,
                });
            }
        }
        check_signatures(&next, Some(self.document()), at)?;
        Ok(Keyset::accepted(next, at, self.revoked.clone()))
    }

    /// Installs the anchor and accepts each following file in turn.
    pub fn verify_chain(files: impl IntoIterator<Item = KeysetFile>, at: i64) -> Result<Keyset> {
        let mut files = files.into_iter();
        let first = files
            .next()
            .ok_or(KeysetError::NotAnAnchor { version: 0 })?;
        let mut keyset = Keyset::anchor(first, at)?;
        for file in files {
            keyset = keyset.accept_next(file, at)?;
        }
        Ok(keyset)
    }

    /// When this version was accepted (Unix seconds): the time its signatures, and the root
    /// keys of the version before it, were checked at.
    pub fn accepted_at(&self) -> i64 {
        self.accepted_at
    }

    /// The version number.
    pub fn version(&self) -> u64 {
        self.file.document.version
    }

    /// The document.
    pub fn document(&self) -> &KeysetDocument {
        &self.file.document
    }

    /// The file as verified (document bytes and signatures).
    pub fn file(&self) -> &KeysetFile {
        &self.file
    }
}

/// Counts distinct valid root signatures for the document's own roots, and for `previous`'s
/// roots if given, and checks both thresholds. Every signature must verify and name a root of
/// one of the two versions.
fn check_signatures(file: &KeysetFile, previous: Option<&KeysetDocument>, at: i64) -> Result<()> {
    let current = &file.document;
    let mut counted_current: Vec<KeyId> = Vec::new();
    let mut counted_previous: Vec<KeyId> = Vec::new();
    for signature in &file.signatures {
        let key_id = signature.key_id;
        let in_current = current.entry(key_id);
        let in_previous = previous.and_then(|doc| doc.entry(key_id));
        let root_current = in_current.filter(|e| e.role == Role::Root);
        let root_previous = in_previous.filter(|e| e.role == Role::Root);
        let Some(signer) = root_current.or(root_previous) else {
            return Err(match in_current.or(in_previous) {
                Some(entry) => KeysetError::SignerNotRoot {
                    key_id,
                    role: entry.role,
                },
                None => KeysetError::UnknownSigner { key_id },
            });
        };
        signer
            .public_key
            .verify(&file.document_bytes, signature)
            .map_err(|_| KeysetError::BadSignature { key_id })?;
        if let Some(entry) = root_current
            && entry.check_time(at).is_ok()
            && !counted_current.contains(&key_id)
        {
            counted_current.push(key_id);
        }
        if let Some(entry) = root_previous
            && entry.check_time(at).is_ok()
            && !counted_previous.contains(&key_id)
        {
            counted_previous.push(key_id);
        }
    }
    if let Some(previous) = previous
        && counted_previous.len() < usize::from(previous.threshold)
    {
        return Err(KeysetError::ThresholdNotMet {
            offered: current.version,
            roots_of: previous.version,
            needed: previous.threshold,
            found: counted_previous.len(),
        });
    }
    if counted_current.len() < usize::from(current.threshold) {
        return Err(KeysetError::ThresholdNotMet {
            offered: current.version,
            roots_of: current.version,
            needed: current.threshold,
            found: counted_current.len(),
        });
    }
    Ok(())
}

impl KeyLookup for Keyset {
    fn verifying_key(
        &self,
        key_id: KeyId,
        role: Role,
        channel: Option<ChannelId>,
        at: i64,
    ) -> Result<ed25519_dalek::VerifyingKey, KeyRejection> {
        let entry = self
            .document()
            .entry(key_id)
            .ok_or(KeyRejection::UnknownKey { key_id })?;
        if entry.role != role {
            return Err(KeyRejection::WrongRole {
                key_id,
                actual: entry.role,
                wanted: role,
            });
        }
        let channel_allowed = match channel {
            None => entry.channels.is_empty(),
            Some(channel) => entry.channels.contains(&channel),
        };
        if !channel_allowed {
            return Err(KeyRejection::WrongChannel { key_id, channel });
        }
        entry.check_time(at)?;
        Ok(entry.public_key.verifying_key())
    }
}
