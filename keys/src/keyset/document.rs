//! What a keyset says: its keys ([`KeyEntry`]) and the document that lists them
//! ([`KeysetDocument`]), with the rules a document must keep whether it was parsed or built in
//! memory, and its encoding into the exact bytes root keys sign.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::signify::PublicKey;
use crate::{ChannelId, KeyId, KeyRejection, Role};

use super::{
    Direction, FORMAT_LINE, FORMAT_LINE_V2, KeysetError, MAX_CHANNELS_PER_KEY, MAX_KEYS,
    RecipientEntry, Result, role_is_channel_bound,
};

/// One key of a keyset and what it may do.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct KeyEntry {
    /// The key.
    pub public_key: PublicKey,
    /// What it may sign.
    pub role: Role,
    /// The channels it may sign for, ascending; empty for roles not bound to a channel.
    pub channels: Vec<ChannelId>,
    /// Start of the validity window, Unix seconds (inclusive).
    pub not_before: i64,
    /// End of the validity window, Unix seconds (exclusive).
    pub not_after: i64,
    /// When the key was revoked, Unix seconds; refused from then on.
    pub revoked_at: Option<i64>,
}

impl KeyEntry {
    /// The key number.
    pub fn key_id(&self) -> KeyId {
        self.public_key.key_id()
    }

    /// Whether the key may sign at `at` (inside its window and not revoked), regardless of
    /// role and channel.
    pub fn check_time(&self, at: i64) -> Result<(), KeyRejection> {
        let key_id = self.key_id();
        if let Some(revoked_at) = self.revoked_at
            && at >= revoked_at
        {
            return Err(KeyRejection::Revoked { key_id, revoked_at });
        }
        if at < self.not_before {
            return Err(KeyRejection::NotYetValid {
                key_id,
                not_before: self.not_before,
                at,
            });
        }
        if at >= self.not_after {
            return Err(KeyRejection::Expired {
                key_id,
                not_after: self.not_after,
                at,
            });
        }
        Ok(())
    }

    fn check_shape(&self, line: usize) -> Result<()> {
        let bound = role_is_channel_bound(self.role);
        if bound == self.channels.is_empty() {
            return Err(KeysetError::ChannelsDoNotFitRole {
                line,
                role: self.role,
                bound,
            });
        }
        if self.channels.len() > MAX_CHANNELS_PER_KEY {
            return Err(KeysetError::Malformed {
                line,
                field: "channels",
                problem: format!("more than {MAX_CHANNELS_PER_KEY} channels"),
            });
        }
        if self.channels.windows(2).any(|pair| pair[0] >= pair[1]) {
            return Err(KeysetError::Malformed {
                line,
                field: "channels",
                problem: "channels must be strictly ascending".to_owned(),
            });
        }
        if self.not_before < 0 || self.not_after < 0 || self.revoked_at.is_some_and(|t| t < 0) {
            return Err(KeysetError::Malformed {
                line,
                field: "not-before",
                problem: "times are Unix seconds and cannot be negative".to_owned(),
            });
        }
        if self.not_before >= self.not_after {
            return Err(KeysetError::EmptyWindow {
                line,
                not_before: self.not_before,
                not_after: self.not_after,
            });
        }
        Ok(())
    }

    fn encode(&self, out: &mut String) {
        let channels = if self.channels.is_empty() {
            "-".to_owned()
        } else {
            let list: Vec<String> = self.channels.iter().map(|c| c.0.to_string()).collect();
            list.join(",")
        };
        let revoked_at = self
            .revoked_at
            .map_or_else(|| "-".to_owned(), |t| t.to_string());
        out.push_str(&format!(
            "key role={} channels={channels} not-before={} not-after={} revoked-at={revoked_at} public={}\n",
            self.role,
            self.not_before,
            self.not_after,
            BASE64.encode(self.public_key.to_record()),
        ));
    }
}

/// The content of a keyset: version, threshold and keys. Build one to make a new keyset;
/// [`KeysetDocument::encode`] gives the bytes that root keys sign.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct KeysetDocument {
    pub(super) version: u64,
    pub(super) threshold: u8,
    pub(super) keys: Vec<KeyEntry>,
    pub(super) recipients: Vec<RecipientEntry>,
}

impl KeysetDocument {
    /// A version-1 document with the given root keys (and any others), checked like a parsed
    /// one.
    pub fn new(threshold: u8, keys: Vec<KeyEntry>) -> Result<KeysetDocument> {
        let document = KeysetDocument {
            version: 1,
            threshold,
            keys,
            recipients: Vec::new(),
        };
        document.check(&[])?;
        Ok(document)
    }

    /// The version number.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// How many distinct root keys must sign.
    pub fn threshold(&self) -> u8 {
        self.threshold
    }

    /// The keys, in file order.
    pub fn keys(&self) -> &[KeyEntry] {
        &self.keys
    }

    /// The recipient lines, in file order.
    pub fn recipients(&self) -> &[RecipientEntry] {
        &self.recipients
    }

    /// The age recipients bundles travelling `direction` on `channel` are encrypted to; empty
    /// when the keyset names none (the channel's bundles are then not encrypted).
    pub fn recipients_for(
        &self,
        direction: Direction,
        channel: ChannelId,
    ) -> Vec<age::x25519::Recipient> {
        self.recipients
            .iter()
            .filter(|entry| entry.direction == direction && entry.channels.contains(&channel))
            .map(|entry| entry.public.clone())
            .collect()
    }

    /// Adds a recipient line.
    pub fn add_recipient(&mut self, entry: RecipientEntry) -> Result<()> {
        self.recipients.push(entry);
        if let Err(error) = super::recipients::check(&self.recipients, &[]) {
            self.recipients.pop();
            return Err(error);
        }
        Ok(())
    }

    /// Removes every recipient line of `direction` naming `public`; returns how many.
    pub fn remove_recipient(
        &mut self,
        direction: Direction,
        public: &age::x25519::Recipient,
    ) -> usize {
        let before = self.recipients.len();
        self.recipients
            .retain(|entry| !(entry.direction == direction && &entry.public == public));
        before - self.recipients.len()
    }

    /// The entry for `key_id`.
    pub fn entry(&self, key_id: KeyId) -> Option<&KeyEntry> {
        self.keys.iter().find(|entry| entry.key_id() == key_id)
    }

    /// A copy with the version number one higher, to edit into the next version.
    pub fn next_version(&self) -> KeysetDocument {
        KeysetDocument {
            version: self.version.saturating_add(1),
            ..self.clone()
        }
    }

    /// Adds a key.
    pub fn add_key(&mut self, entry: KeyEntry) -> Result<()> {
        self.keys.push(entry);
        if let Err(error) = self.check(&[]) {
            self.keys.pop();
            return Err(error);
        }
        Ok(())
    }

    /// Removes a key. A removed key is simply unknown to the new version; revoking it instead
    /// keeps a record of why its old signatures stop counting.
    pub fn remove_key(&mut self, key_id: KeyId) -> Result<KeyEntry> {
        let index = self
            .keys
            .iter()
            .position(|entry| entry.key_id() == key_id)
            .ok_or(KeysetError::UnknownKey { key_id })?;
        let removed = self.keys.remove(index);
        if let Err(error) = self.check(&[]) {
            self.keys.insert(index, removed);
            return Err(error);
        }
        Ok(removed)
    }

    /// Revokes a key from `at` on. A key already revoked earlier stays revoked from the earlier
    /// time: revocations only move earlier.
    pub fn revoke(&mut self, key_id: KeyId, at: i64) -> Result<()> {
        if at < 0 {
            return Err(KeysetError::Malformed {
                line: 0,
                field: "revoked-at",
                problem: "times are Unix seconds and cannot be negative".to_owned(),
            });
        }
        let entry = self
            .keys
            .iter_mut()
            .find(|entry| entry.key_id() == key_id)
            .ok_or(KeysetError::UnknownKey { key_id })?;
        entry.revoked_at = Some(entry.revoked_at.map_or(at, |earlier| earlier.min(at)));
        Ok(())
    }

    /// Sets the threshold.
    pub fn set_threshold(&mut self, threshold: u8) -> Result<()> {
        let previous = self.threshold;
        self.threshold = threshold;
        if let Err(error) = self.check(&[]) {
            self.threshold = previous;
            return Err(error);
        }
        Ok(())
    }

    /// The document bytes: the text from the format line through `end` and its newline.
    pub fn encode(&self) -> Vec<u8> {
        let format_line = if self.recipients.is_empty() {
            FORMAT_LINE
        } else {
            FORMAT_LINE_V2
        };
        let mut out = format!(
            "{format_line}\nversion {}\nthreshold {}\n",
            self.version, self.threshold
        );
        for entry in &self.keys {
            entry.encode(&mut out);
        }
        for entry in &self.recipients {
            entry.encode(&mut out);
        }
        out.push_str("end\n");
        out.into_bytes()
    }

    /// Checks the rules that do not need signatures. `lines[i]` is the file line of key `i`
    /// (empty for documents built in memory, reported as line 0).
    pub(super) fn check(&self, lines: &[usize]) -> Result<()> {
        let line_of = |index: usize| lines.get(index).copied().unwrap_or(0);
        if self.version == 0 {
            return Err(KeysetError::Malformed {
                line: 2,
                field: "version",
                problem: "versions start at 1".to_owned(),
            });
        }
        if self.threshold == 0 {
            return Err(KeysetError::Malformed {
                line: 3,
                field: "threshold",
                problem: "the threshold must be at least 1".to_owned(),
            });
        }
        if self.keys.len() > MAX_KEYS {
            return Err(KeysetError::TooManyKeys { limit: MAX_KEYS });
        }
        for (index, entry) in self.keys.iter().enumerate() {
            entry.check_shape(line_of(index))?;
            for earlier in &self.keys[..index] {
                if earlier.key_id() == entry.key_id() {
                    return Err(KeysetError::DuplicateKeyId {
                        line: line_of(index),
                        key_id: entry.key_id(),
                    });
                }
                if earlier.public_key.verifying_key() == entry.public_key.verifying_key() {
                    return Err(KeysetError::DuplicatePublicKey {
                        line: line_of(index),
                        key_id: entry.key_id(),
                        first: earlier.key_id(),
                    });
                }
            }
        }
        let roots = self.keys.iter().filter(|e| e.role == Role::Root).count();
        if usize::from(self.threshold) > roots {
            return Err(KeysetError::ThresholdTooHigh {
                threshold: self.threshold,
                roots,
            });
        }
        Ok(())
    }
}
