//! The record that acknowledges the return channel, outer to inner (wire version 4, SPEC.md
//! §6.3): how far the outer side has applied the return bundles of one return channel, so that
//! the inner side re-sends only what is missing and deletes the return bundles it no longer
//! needs to keep.

use bincode::{Decode, Encode};

use super::{Path, ShapeError};

/// Most [`ReturnReceipt`] records one heartbeat bundle may hold (one per return channel the
/// outer side applies; a node normally applies one).
pub const MAX_RETURN_RECEIPTS: usize = 16;

/// The outer side's receipt for one return channel: every return bundle of `epoch` up to and
/// including sequence `through` has been applied there (0: none of that epoch yet). It rides
/// after the last submission of a submissions bundle, or alone in a heartbeat.
///
/// The inner side takes the highest receipt it has seen for each pair of submissions channel
/// and return channel; a receipt never moves it back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub struct ReturnReceipt {
    /// The return channel acknowledged.
    pub channel: u32,
    /// The inner side's epoch on that return channel.
    pub epoch: u64,
    /// The highest sequence number applied with every one below it applied.
    pub through: u64,
}

impl ReturnReceipt {
    /// Epoch and sequence numbers are stored as signed 64-bit integers on both sides: a
    /// receipt beyond them names no bundle that can exist.
    pub(super) fn check(&self) -> Result<(), ShapeError> {
        let max = i64::MAX.unsigned_abs();
        for (field, value) in [("epoch", self.epoch), ("through", self.through)] {
            if value > max {
                return Err(ShapeError {
                    field: Path::Root("return_receipt").field(field).to_string(),
                    problem: format!("{value} is above {max}"),
                });
            }
        }
        Ok(())
    }
}
