//! Named failure points for crash tests. They exist only in builds with this crate's `failpoints`
//! feature (which the `tests` crate turns on for its own builds); otherwise [`hit`] is an empty
//! function. The behaviour (armed by `SLUICE_FAILPOINT`) is `keys::failpoint`'s.

/// Marks the failure point `name`.
#[cfg(feature = "failpoints")]
pub use keys::failpoint::hit;

/// Marks the failure point `name` (compiled out: built without the `failpoints` feature).
#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub fn hit(_name: &str) {}
