//! Keysets: signed documents that say which key may sign for which role, on which channels,
//! and when. Rotation and revocation cross the air gap as new keyset versions.
//!
//! # File format (`sluice keyset v1`)
//!
//! A keyset file is UTF-8 text with LF line endings. It is a *document* followed by
//! *signatures*:
//!
//! ```text
//! sluice keyset v1
//! version 2
//! threshold 2
//! key role=root channels=- not-before=1767225600 not-after=1830297600 revoked-at=- public=RWQ…
//! key role=root channels=- not-before=1767225600 not-after=1830297600 revoked-at=- public=RWQ…
//! key role=outer-bundle channels=1,2 not-before=1767225600 not-after=1798761600 revoked-at=- public=RWQ…
//! end
//! signature RWQ…
//! signature RWQ…
//! ```
//!
//! - The document is every byte from the start of the file up to and including the newline
//!   after `end`. Signatures are made over exactly those bytes as stored; nothing is ever
//!   re-encoded before verifying.
//! - `version` is a decimal integer ≥ 1; `threshold` is 1 to 255 and at most the number of root
//!   keys listed.
//! - Each `key` line has its fields in exactly this order: `role` (`root`, `outer-bundle`,
//!   `inner-return`, `inner-cert`); `channels`, `-` for roles not bound to a channel (`root`,
//!   `inner-cert`) and otherwise a strictly ascending comma-separated list of channel numbers;
//!   `not-before` and `not-after` in Unix seconds, the key being valid for
//!   `not-before ≤ t < not-after`; `revoked-at`, `-` or Unix seconds from which on the key is
//!   refused; `public`, the base64 of signify's 42-byte public key record
//!   (`"Ed"` · keynum · key), the same text as line 2 of the key's `.pub` file.
//! - A key number and a public key each appear at most once. Numbers are canonical decimal
//!   (no sign, no leading zeros).
//! - A keyset may also name, per channel and direction, the age X25519 recipients bundles are
//!   encrypted to on the medium. Such a keyset opens with `sluice keyset v2` and lists, after
//!   the key lines, lines `recipient direction=inward channels=1,2 public=age1…`: `inward` for
//!   the bundles the outer sends the inner (submissions), `outward` for those the inner sends
//!   back (returns); channels as for keys; `public` the recipient as `age-keygen` prints it.
//!   At most 16 recipients per direction and channel; a recipient appears at most once per
//!   direction. A keyset without recipients keeps the format line `sluice keyset v1`, so files
//!   made before stay byte for byte what their signatures cover.
//! - Each `signature` line is the base64 of signify's 74-byte signature record, the same text as
//!   line 2 of a `signify -S` `.sig` file over the document, so
//!   `signify -V -p root.pub -m document -x document.sig` checks it too.
//!
//! # Trust rules
//!
//! - Version 1 is the trust anchor an operator installs after comparing fingerprints out of
//!   band. It must carry signatures from `threshold` distinct root keys of its own.
//! - Version N+1 is accepted only on top of an installed version N, and only with signatures
//!   from `threshold(N)` distinct root keys of N *and* `threshold(N+1)` distinct root keys of
//!   N+1. A key number signing twice counts once.
//! - Only root keys valid at the time of acceptance (inside their window, not revoked) count.
//!   A version once accepted stays trusted when those roots later expire: a verifier that
//!   loads the chain again checks each version at the time it was accepted.
//! - Every signature in the file must verify and come from a root key of the versions being
//!   checked; anything else is an error, not something to skip.
//! - Versions only go up, one at a time. A key number keeps its public key across versions, and
//!   a revocation is never withdrawn or moved later. Revocation is by key (its fingerprint),
//!   forever: a key revoked in any earlier version, then dropped and listed again, under its
//!   old key number or a new one, must carry that revocation again.

mod document;
mod error;
mod file;
mod recipients;
mod trust;

use crate::Role;

pub use document::{KeyEntry, KeysetDocument};
pub use error::KeysetError;
pub use file::KeysetFile;
pub use recipients::{Direction, RecipientEntry};
pub use trust::Keyset;

/// The first line of every keyset file of this format.
pub const FORMAT_LINE: &str = "sluice keyset v1";
/// The first line of a keyset that names recipients (see the format above).
pub const FORMAT_LINE_V2: &str = "sluice keyset v2";
/// The most recipients a bundle of one direction and channel is encrypted to.
pub const MAX_RECIPIENTS_PER_CHANNEL: usize = 16;
/// The most recipient lines one keyset may hold.
pub const MAX_RECIPIENT_LINES: usize = 256;
/// The largest keyset file accepted, in bytes.
pub const MAX_FILE_LEN: usize = 1 << 20;
/// The most keys one keyset may list.
pub const MAX_KEYS: usize = 1000;
/// The most channels one key may be bound to.
pub const MAX_CHANNELS_PER_KEY: usize = 1024;
/// The most signatures one keyset file may carry.
pub const MAX_SIGNATURES: usize = 64;

type Result<T, E = KeysetError> = std::result::Result<T, E>;

/// The values of the `field=value` parts that follow a line's keyword in `parts`: exactly the
/// `fields` named, in that order, single spaces between, nothing after the last. `number` is
/// the line's number, for the error.
fn named_fields<'a, const N: usize>(
    parts: &mut impl Iterator<Item = &'a str>,
    fields: [&'static str; N],
    number: usize,
) -> Result<[&'a str; N]> {
    let mut values = [""; N];
    for (slot, field) in values.iter_mut().zip(fields) {
        let part = parts.next().unwrap_or("");
        *slot = part
            .strip_prefix(field)
            .and_then(|rest| rest.strip_prefix('='))
            .ok_or_else(|| KeysetError::Malformed {
                line: number,
                field,
                problem: format!("expected `{field}=…` here, found {part:?}"),
            })?;
    }
    if parts.next().is_some() {
        let last = fields.last().copied().unwrap_or("");
        return Err(KeysetError::Malformed {
            line: number,
            field: "line",
            problem: format!("unexpected text after `{last}=…`"),
        });
    }
    Ok(values)
}

/// Whether a role's keys are bound to channels.
pub fn role_is_channel_bound(role: Role) -> bool {
    matches!(role, Role::OuterBundle | Role::InnerReturn)
}
