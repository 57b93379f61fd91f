//! The recipient lines of a keyset: who the bundles of a channel are encrypted to on the medium
//! (age X25519 recipients), for each direction. See the format in [`crate::keyset`].

use std::fmt;
use std::str::FromStr;

use crate::ChannelId;

use super::{KeysetError, MAX_CHANNELS_PER_KEY, MAX_RECIPIENTS_PER_CHANNEL, Result};

/// Which way the bundles a recipient line is for travel.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash, PartialOrd, Ord)]
pub enum Direction {
    /// Outer to inner: submissions bundles, read by the inner side.
    Inward,
    /// Inner to outer: return bundles, read by the outer side.
    Outward,
}

impl Direction {
    /// The word in the file: `inward` or `outward`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inward => "inward",
            Direction::Outward => "outward",
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Direction {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Self, Self::Err> {
        match text {
            "inward" => Ok(Direction::Inward),
            "outward" => Ok(Direction::Outward),
            other => Err(format!(
                "unknown direction {other:?}; expected inward (outer to inner) or outward (inner to outer)"
            )),
        }
    }
}

/// One `recipient` line: an age X25519 recipient the bundles of `channels` travelling
/// `direction` are encrypted to.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct RecipientEntry {
    /// Which way the bundles travel.
    pub direction: Direction,
    /// The channels, strictly ascending, at least one.
    pub channels: Vec<ChannelId>,
    /// The recipient.
    pub public: age::x25519::Recipient,
}

impl RecipientEntry {
    /// An entry for `public` given as `age-keygen` prints it (`age1…`).
    pub fn new(direction: Direction, channels: Vec<ChannelId>, public: &str) -> Result<Self> {
        let entry = RecipientEntry {
            direction,
            channels,
            public: parse_recipient(public, 0)?,
        };
        check(std::slice::from_ref(&entry), &[])?;
        Ok(entry)
    }

    pub(super) fn encode(&self, out: &mut String) {
        let channels: Vec<String> = self.channels.iter().map(|c| c.0.to_string()).collect();
        out.push_str(&format!(
            "recipient direction={} channels={} public={}\n",
            self.direction,
            channels.join(","),
            self.public
        ));
    }
}

/// Parses an age X25519 recipient, refusing anything but its canonical lower-case form (the
/// signed bytes must be the ones every reader means).
fn parse_recipient(text: &str, line: usize) -> Result<age::x25519::Recipient> {
    let malformed = |problem: String| KeysetError::Malformed {
        line,
        field: "public",
        problem,
    };
    let recipient = age::x25519::Recipient::from_str(text)
        .map_err(|e| malformed(format!("not an age X25519 recipient (`age1…`): {e}")))?;
    if recipient.to_string() != text {
        return Err(malformed(
            "write the recipient in lower case, exactly as age-keygen prints it".to_owned(),
        ));
    }
    Ok(recipient)
}

/// `recipient direction=… channels=… public=…`, fields in this order, single spaces.
pub(super) fn parse_line(line: &str, number: usize) -> Result<RecipientEntry> {
    const FIELDS: [&str; 3] = ["direction", "channels", "public"];
    let mut parts = line.split(' ');
    parts.next();
    let [direction, channels, public] = super::named_fields(&mut parts, FIELDS, number)?;
    let direction = direction
        .parse()
        .map_err(|problem| KeysetError::Malformed {
            line: number,
            field: "direction",
            problem,
        })?;
    Ok(RecipientEntry {
        direction,
        channels: super::file::parse_channels(channels, number)?,
        public: parse_recipient(public, number)?,
    })
}

/// The rules recipient lines keep: channels listed, strictly ascending; a recipient at most once
/// per direction; at most [`MAX_RECIPIENTS_PER_CHANNEL`] per direction and channel. `lines[i]`
/// is the file line of entry `i` (0 for entries built in memory).
pub(super) fn check(entries: &[RecipientEntry], lines: &[usize]) -> Result<()> {
    let line_of = |index: usize| lines.get(index).copied().unwrap_or(0);
    for (index, entry) in entries.iter().enumerate() {
        let line = line_of(index);
        let malformed = |field: &'static str, problem: String| KeysetError::Malformed {
            line,
            field,
            problem,
        };
        if entry.channels.is_empty() {
            return Err(malformed(
                "channels",
                "a recipient is for one channel or more; `-` is not allowed".to_owned(),
            ));
        }
        if entry.channels.len() > MAX_CHANNELS_PER_KEY {
            return Err(malformed(
                "channels",
                format!("more than {MAX_CHANNELS_PER_KEY} channels"),
            ));
        }
        if entry.channels.windows(2).any(|pair| pair[0] >= pair[1]) {
            return Err(malformed(
                "channels",
                "channels must be strictly ascending".to_owned(),
            ));
        }
        if entries[..index]
            .iter()
            .any(|earlier| earlier.direction == entry.direction && earlier.public == entry.public)
        {
            return Err(malformed(
                "public",
                format!(
                    "recipient {} is listed twice for direction {}; give it one line with all its channels",
                    entry.public, entry.direction
                ),
            ));
        }
        for channel in &entry.channels {
            let count = entries[..=index]
                .iter()
                .filter(|e| e.direction == entry.direction && e.channels.contains(channel))
                .count();
            if count > MAX_RECIPIENTS_PER_CHANNEL {
                return Err(malformed(
                    "channels",
                    format!(
                        "more than {MAX_RECIPIENTS_PER_CHANNEL} {} recipients for channel {channel}",
                        entry.direction
                    ),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyset::{KeysetDocument, KeysetFile};
    use crate::{KeyEntry, Role, SecretKey};

    fn document() -> KeysetDocument {
        let root = SecretKey::generate();
        let entry = KeyEntry {
            public_key: root.public_key(),
            role: Role::Root,
            channels: Vec::new(),
            not_before: 0,
            not_after: 10,
            revoked_at: None,
        };
        KeysetDocument::new(1, vec![entry]).unwrap()
    }

    fn recipient() -> String {
        age::x25519::Identity::generate().to_public().to_string()
    }

    #[test]
    fn recipients_round_trip_and_switch_the_format_line() {
        let mut document = document();
        assert!(document.encode().starts_with(b"sluice keyset v1\n"));
        let inward = recipient();
        let entry =
            RecipientEntry::new(Direction::Inward, vec![ChannelId(1), ChannelId(2)], &inward)
                .unwrap();
        document.add_recipient(entry).unwrap();
        let bytes = document.encode();
        assert!(bytes.starts_with(b"sluice keyset v2\n"));
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.contains(&format!(
            "recipient direction=inward channels=1,2 public={inward}\n"
        )));
        let parsed = KeysetFile::parse(&bytes).unwrap();
        assert_eq!(parsed.document(), &document);
        assert_eq!(
            parsed
                .document()
                .recipients_for(Direction::Inward, ChannelId(2))
                .len(),
            1
        );
        assert!(
            parsed
                .document()
                .recipients_for(Direction::Outward, ChannelId(2))
                .is_empty()
        );
    }

    #[test]
    fn a_recipient_line_under_the_v1_format_line_is_refused() {
        let mut document = document();
        let entry = RecipientEntry::new(Direction::Outward, vec![ChannelId(9)], &recipient());
        document.add_recipient(entry.unwrap()).unwrap();
        let text = String::from_utf8(document.encode()).unwrap();
        let downgraded = text.replace("sluice keyset v2", "sluice keyset v1");
        let err = KeysetFile::parse(downgraded.as_bytes()).unwrap_err();
        assert!(err.to_string().contains("need the format line"), "{err}");
    }

    #[test]
    fn a_recipient_in_upper_case_or_twice_is_refused() {
        let upper = recipient().to_uppercase();
        let err = RecipientEntry::new(Direction::Inward, vec![ChannelId(1)], &upper).unwrap_err();
        assert!(err.to_string().contains("lower case"), "{err}");
        let mut document = document();
        let once = recipient();
        let entry = RecipientEntry::new(Direction::Inward, vec![ChannelId(1)], &once).unwrap();
        document.add_recipient(entry).unwrap();
        let again = RecipientEntry::new(Direction::Inward, vec![ChannelId(2)], &once).unwrap();
        let err = document.add_recipient(again).unwrap_err();
        assert!(err.to_string().contains("listed twice"), "{err}");
        assert_eq!(
            document.recipients().len(),
            1,
            "a refused edit changes nothing"
        );
    }

    #[test]
    fn more_than_sixteen_recipients_for_one_channel_are_refused() {
        let mut document = document();
        for _ in 0..MAX_RECIPIENTS_PER_CHANNEL {
            let entry = RecipientEntry::new(Direction::Inward, vec![ChannelId(1)], &recipient());
            document.add_recipient(entry.unwrap()).unwrap();
        }
        let entry = RecipientEntry::new(Direction::Inward, vec![ChannelId(1)], &recipient());
        let err = document.add_recipient(entry.unwrap()).unwrap_err();
        assert!(err.to_string().contains("more than 16"), "{err}");
    }
}
