//! Named failure points for crash tests. They exist only in builds with the `failpoints` feature
//! (which the `tests` crate turns on for its own builds); otherwise [`hit`] is an empty function.
//!
//! With the feature, a point whose name is listed in `SLUICE_FAILPOINT` (comma-separated) prints
//! `failpoint NAME reached` on stderr and then waits, so the test can SIGKILL the process at that
//! exact instant.

/// Marks the failure point `name`.
#[cfg(feature = "failpoints")]
pub fn hit(name: &str) {
    let armed = std::env::var("SLUICE_FAILPOINT")
        .is_ok_and(|names| names.split(',').any(|armed| armed == name));
    if armed {
        eprintln!("failpoint {name} reached");
        loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        }
    }
}

/// Marks the failure point `name` (compiled out: built without the `failpoints` feature).
#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub fn hit(_name: &str) {}
