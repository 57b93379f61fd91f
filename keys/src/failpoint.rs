//! Named failure points for crash tests, shared by the crates that have them (outer, inner,
//! transfer). This module exists only with the `failpoints` feature, which each of those crates
//! turns on from its own `failpoints` feature; each keeps a thin `failpoint::hit` of its own so that
//! its points stay compiled out unless that crate's feature is on.
//!
//! A point whose name is listed in `SLUICE_FAILPOINT` (comma-separated) prints
//! `failpoint NAME reached` on stderr and then waits, so the test can SIGKILL the process at that
//! exact instant.

/// Marks the failure point `name`: if it is armed, announces it and waits forever.
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
