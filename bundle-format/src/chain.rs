//! Judging a verified header against the last known state of its channel (SPEC.md §9).
//!
//! Pure: the caller passes the state from its ledger, the id its ledger holds for the header's
//! sequence number (if any) and the time. Nothing here applies or stores anything; the verdict
//! tells the caller what the bundle is.

use std::ops::RangeInclusive;

use crate::header::{BundleId, Header};

/// What a receiver knows about one channel: everything up to `highest_contiguous` in `epoch`
/// has been received, and the bundle at that sequence number had id `last_id`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelState {
    /// The sender's epoch the receiver is in.
    pub epoch: u64,
    /// Every sequence number from 1 up to this one has arrived (0: none yet).
    pub highest_contiguous: u64,
    /// Id of the bundle at `highest_contiguous` ([`BundleId::ZERO`] when it is 0).
    pub last_id: BundleId,
}

impl ChannelState {
    /// The state of a channel nothing has arrived on: epoch 0, nothing received.
    pub const EMPTY: ChannelState = ChannelState {
        epoch: 0,
        highest_contiguous: 0,
        last_id: BundleId::ZERO,
    };
}

impl ChannelState {
    /// The state after applying the bundle with `header` and `id` (after a `Next` or
    /// `NewEpoch` verdict, or a `Gap` the caller chose to close with it).
    pub fn after(header: &Header, id: BundleId) -> ChannelState {
        ChannelState {
            epoch: header.epoch,
            highest_contiguous: header.sequence,
            last_id: id,
        }
    }
}

/// The judgement on one bundle (SPEC.md §9.2).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// The next bundle of the chain: apply it.
    Next,
    /// The first bundle of a newer epoch (sequence 1): the sender restarted its chain. Apply it
    /// if policy allows (an operator may want to confirm).
    NewEpoch {
        /// The epoch the receiver was in.
        previous_epoch: u64,
    },
    /// This exact bundle was received before: a replay or a resend. Apply nothing, say so.
    Duplicate,
    /// Bundles are missing before this one: report them; keep this one until they arrive.
    Gap {
        /// The missing sequence numbers (in the header's epoch).
        missing: RangeInclusive<u64>,
    },
    /// Two different bundles claim one sequence number: quarantine and raise the alarm.
    Fork {
        /// The sequence number in dispute.
        sequence: u64,
        /// The id the receiver holds for it.
        ours: BundleId,
        /// The id this bundle has (or claims, through its `previous` field).
        theirs: BundleId,
    },
    /// Its expiry has passed on the receiver's clock: apply nothing.
    Expired {
        /// The header's expiry, Unix seconds.
        expires: i64,
        /// The receiver's clock, Unix seconds.
        now: i64,
    },
    /// An older sequence number the receiver has no record of (its ledger was pruned): apply
    /// nothing, it cannot be newer than what was applied.
    Stale {
        /// The header's sequence number.
        sequence: u64,
        /// The receiver's highest contiguous sequence number.
        highest_contiguous: u64,
    },
    /// A bundle from an epoch older than the receiver's: a rollback attempt or a very old
    /// medium. Apply nothing.
    Rollback {
        /// The header's epoch.
        epoch: u64,
        /// The receiver's epoch.
        current_epoch: u64,
    },
}

/// Judges `header` (with id `id`) against `state` at `now` (SPEC.md §9.2).
///
/// `recorded` is the id the receiver's ledger holds for the header's epoch and sequence number,
/// if it holds one: that is what tells a duplicate from a fork below `highest_contiguous` and
/// for bundles kept while a gap heals.
pub fn judge(
    header: &Header,
    id: BundleId,
    state: &ChannelState,
    recorded: Option<BundleId>,
    now: i64,
) -> Verdict {
    // §9.2 rule 1: what the ledger already holds decides first; a replay is a harmless no-op
    // even after expiry, and a fork is an alarm whenever it is seen.
    match recorded {
        Some(ours) if ours == id => return Verdict::Duplicate,
        Some(ours) => {
            return Verdict::Fork {
                sequence: header.sequence,
                ours,
                theirs: id,
            };
        }
        None => {}
    }
    // Rule 2: the same sequence number as the last one received, with another id.
    if header.epoch == state.epoch && header.sequence == state.highest_contiguous {
        if id == state.last_id {
            return Verdict::Duplicate;
        }
        return Verdict::Fork {
            sequence: header.sequence,
            ours: state.last_id,
            theirs: id,
        };
    }
    // Rule 3: the next bundle claims a predecessor other than the one received.
    if header.epoch == state.epoch
        && Some(header.sequence) == state.highest_contiguous.checked_add(1)
        && header.previous != state.last_id
    {
        return Verdict::Fork {
            sequence: state.highest_contiguous,
            ours: state.last_id,
            theirs: header.previous,
        };
    }
    // Rule 4: nothing expired is applied.
    if now > header.expires {
        return Verdict::Expired {
            expires: header.expires,
            now,
        };
    }
    // Rule 5: epochs.
    if header.epoch < state.epoch {
        return Verdict::Rollback {
            epoch: header.epoch,
            current_epoch: state.epoch,
        };
    }
    if header.epoch > state.epoch {
        if header.sequence == 1 {
            return Verdict::NewEpoch {
                previous_epoch: state.epoch,
            };
        }
        return Verdict::Gap {
            missing: 1..=header.sequence - 1,
        };
    }
    // Rule 6: the same epoch.
    let next = state.highest_contiguous.saturating_add(1);
    if header.sequence == next {
        Verdict::Next
    } else if header.sequence > next {
        Verdict::Gap {
            missing: next..=header.sequence - 1,
        }
    } else {
        Verdict::Stale {
            sequence: header.sequence,
            highest_contiguous: state.highest_contiguous,
        }
    }
}

#[cfg(test)]
mod tests {
    use keys::ChannelId;

    use super::*;
    use crate::header::Kind;

    const NOW: i64 = 1_800_000_000;

    fn id(n: u8) -> BundleId {
        BundleId([n; 32])
    }

    fn header(epoch: u64, sequence: u64, previous: BundleId) -> Header {
        Header {
            format_version: crate::header::FORMAT_VERSION_1,
            kind: Kind::Submissions,
            channel: ChannelId(1),
            epoch,
            sequence,
            previous,
            created: NOW - 60,
            expires: NOW + 3600,
            encrypted: false,
            payload_length: 0,
            content_length: 0,
            content_sha256: [0; 32],
            part_index: 0,
            part_count: 1,
        }
    }

    /// A fork at `sequence` between the bundle recorded (`ours`) and the one offered.
    fn fork(sequence: u64, ours: u8, theirs: u8) -> Verdict {
        Verdict::Fork {
            sequence,
            ours: id(ours),
            theirs: id(theirs),
        }
    }

    fn state(epoch: u64, highest: u64, last: BundleId) -> ChannelState {
        ChannelState {
            epoch,
            highest_contiguous: highest,
            last_id: last,
        }
    }

    #[test]
    fn the_bundle_after_the_last_one_is_next() {
        let verdict = judge(&header(1, 5, id(4)), id(5), &state(1, 4, id(4)), None, NOW);
        assert_eq!(verdict, Verdict::Next);
    }

    #[test]
    fn the_first_bundle_on_an_empty_channel_starts_an_epoch() {
        let verdict = judge(
            &header(1, 1, BundleId::ZERO),
            id(1),
            &ChannelState::EMPTY,
            None,
            NOW,
        );
        assert_eq!(verdict, Verdict::NewEpoch { previous_epoch: 0 });
    }

    #[test]
    fn a_first_bundle_in_epoch_zero_on_an_empty_channel_is_next() {
        let verdict = judge(
            &header(0, 1, BundleId::ZERO),
            id(1),
            &ChannelState::EMPTY,
            None,
            NOW,
        );
        assert_eq!(verdict, Verdict::Next);
    }

    #[test]
    fn the_last_bundle_again_is_a_duplicate() {
        let verdict = judge(&header(1, 4, id(3)), id(4), &state(1, 4, id(4)), None, NOW);
        assert_eq!(verdict, Verdict::Duplicate);
    }

    #[test]
    fn an_older_bundle_the_ledger_holds_is_a_duplicate_even_when_expired() {
        let verdict = judge(
            &header(1, 2, id(1)),
            id(2),
            &state(1, 9, id(9)),
            Some(id(2)),
            NOW + 1_000_000,
        );
        assert_eq!(verdict, Verdict::Duplicate);
    }

    #[test]
    fn a_different_bundle_with_a_known_sequence_is_a_fork() {
        let verdict = judge(
            &header(1, 2, id(1)),
            id(0xEE),
            &state(1, 9, id(9)),
            Some(id(2)),
            NOW,
        );
        assert_eq!(verdict, fork(2, 2, 0xEE));
        let verdict = judge(
            &header(1, 9, id(8)),
            id(0xEE),
            &state(1, 9, id(9)),
            None,
            NOW,
        );
        assert_eq!(verdict, fork(9, 9, 0xEE));
    }

    #[test]
    fn a_next_bundle_with_another_predecessor_is_a_fork() {
        let verdict = judge(
            &header(1, 10, id(0xAB)),
            id(10),
            &state(1, 9, id(9)),
            None,
            NOW,
        );
        assert_eq!(verdict, fork(9, 9, 0xAB));
    }

    #[test]
    fn state_after_a_bundle_makes_its_successor_next() {
        let first = header(1, 1, BundleId::ZERO);
        let state = ChannelState::after(&first, id(1));
        assert_eq!(judge(&first, id(1), &state, None, NOW), Verdict::Duplicate);
        assert_eq!(
            judge(&header(1, 2, id(1)), id(2), &state, None, NOW),
            Verdict::Next
        );
    }

    #[test]
    fn skipped_sequence_numbers_are_a_gap() {
        let verdict = judge(&header(1, 8, id(7)), id(8), &state(1, 4, id(4)), None, NOW);
        assert_eq!(verdict, Verdict::Gap { missing: 5..=7 });
    }

    #[test]
    fn a_newer_epoch_not_starting_at_one_is_a_gap_in_that_epoch() {
        let verdict = judge(
            &header(2, 3, id(2)),
            id(3),
            &state(1, 40, id(40)),
            None,
            NOW,
        );
        assert_eq!(verdict, Verdict::Gap { missing: 1..=2 });
    }

    #[test]
    fn a_newer_epoch_at_sequence_one_is_a_new_epoch() {
        let verdict = judge(
            &header(2, 1, BundleId::ZERO),
            id(1),
            &state(1, 40, id(40)),
            None,
            NOW,
        );
        assert_eq!(verdict, Verdict::NewEpoch { previous_epoch: 1 });
    }

    #[test]
    fn an_expired_bundle_is_expired_even_if_it_would_be_next() {
        let h = header(1, 5, id(4));
        let verdict = judge(&h, id(5), &state(1, 4, id(4)), None, h.expires + 1);
        assert_eq!(
            verdict,
            Verdict::Expired {
                expires: h.expires,
                now: h.expires + 1
            }
        );
        // At the expiry instant itself it is still valid.
        assert_eq!(
            judge(&h, id(5), &state(1, 4, id(4)), None, h.expires),
            Verdict::Next
        );
    }

    #[test]
    fn an_old_unrecorded_sequence_is_stale() {
        let verdict = judge(&header(1, 3, id(2)), id(3), &state(1, 9, id(9)), None, NOW);
        assert_eq!(
            verdict,
            Verdict::Stale {
                sequence: 3,
                highest_contiguous: 9
            }
        );
    }

    #[test]
    fn an_older_epoch_is_a_rollback() {
        let verdict = judge(
            &header(1, 50, id(49)),
            id(50),
            &state(2, 3, id(3)),
            None,
            NOW,
        );
        assert_eq!(
            verdict,
            Verdict::Rollback {
                epoch: 1,
                current_epoch: 2
            }
        );
    }
}
