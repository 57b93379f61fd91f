//! Throttling of password guessing and of e-mail sending, in memory: failed logins are counted
//! per account and per client address in a fixed window, and once either count reaches its
//! limit no password is even checked until the window has passed. Wrong filing passwords (the
//! certificate download without an account) are counted the same way, per filing number and
//! per address, with the same limits and in counters of their own. A restart forgets the counts,
//! which costs an attacker a restart they cannot cause.
//!
//! IPv6 clients are counted by their /64 network, which one subscriber usually holds whole, so
//! that walking through one's own addresses does not buy more guesses. Each map holds at most
//! [`MAX_TRACKED`] keys; when full, windows that have passed are dropped first.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most accounts or addresses one counter map tracks.
pub const MAX_TRACKED: usize = 200_000;

/// Counts in fixed windows per key.
struct Counter<K> {
    limit: u32,
    window: Duration,
    counts: Mutex<HashMap<K, (u32, Instant)>>,
}

impl<K: Eq + Hash + Copy> Counter<K> {
    fn new(limit: u32, window: Duration) -> Counter<K> {
        Counter {
            limit,
            window,
            counts: Mutex::new(HashMap::new()),
        }
    }

    /// Seconds until `key` may try again, if it is at its limit.
    fn blocked(&self, key: K) -> Option<u64> {
        let counts = self.counts.lock().ok()?;
        let (count, started) = counts.get(&key)?;
        let elapsed = started.elapsed();
        (elapsed < self.window && *count >= self.limit)
            .then(|| (self.window - elapsed).as_secs().max(1))
    }

    fn add(&self, key: K) {
        let Ok(mut counts) = self.counts.lock() else {
            return;
        };
        if counts.len() >= MAX_TRACKED && !counts.contains_key(&key) {
            let window = self.window;
            counts.retain(|_, (_, started)| started.elapsed() < window);
            if counts.len() >= MAX_TRACKED {
                // Every key is inside its window: forget the oldest half rather than refuse
                // everyone or grow without bound.
                let mut starts: Vec<Instant> = counts.values().map(|(_, s)| *s).collect();
                starts.sort_unstable();
                let cut = starts[starts.len() / 2];
                counts.retain(|_, (_, started)| *started > cut);
            }
        }
        let entry = counts.entry(key).or_insert((0, Instant::now()));
        if entry.1.elapsed() >= self.window {
            *entry = (0, Instant::now());
        }
        entry.0 = entry.0.saturating_add(1);
    }

    fn clear(&self, key: K) {
        if let Ok(mut counts) = self.counts.lock() {
            counts.remove(&key);
        }
    }
}

/// The key an address is counted under: IPv4 whole, IPv6 by its /64.
fn address_key(address: IpAddr) -> u128 {
    match address {
        IpAddr::V4(v4) => u128::from(v4.to_bits()),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => u128::from(v4.to_bits()),
            None => v6.to_bits() & !u128::from(u64::MAX) | 1,
        },
    }
}

/// The key a filing number is counted under: the first 8 bytes of its SHA-256 (a collision
/// only shares a count).
fn filing_key(filing_number: &str) -> u64 {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(filing_number.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(first)
}

/// Failed logins per account and per address, wrong filing passwords per filing number and
/// per address, and e-mails sent per address.
pub struct Throttle {
    per_account: Counter<i64>,
    per_address: Counter<u128>,
    password_per_filing: Counter<u64>,
    password_per_address: Counter<u128>,
    mail_per_address: Counter<u128>,
}

/// E-mails (registrations, codes sent again, resets) one address may cause per window.
pub const MAIL_PER_ADDRESS: u32 = 10;

impl Throttle {
    /// Limits from the configuration.
    pub fn new(per_account: u32, per_address: u32, window: Duration) -> Throttle {
        Throttle {
            per_account: Counter::new(per_account, window),
            per_address: Counter::new(per_address, window),
            password_per_filing: Counter::new(per_account, window),
            password_per_address: Counter::new(per_address, window),
            mail_per_address: Counter::new(MAIL_PER_ADDRESS, window),
        }
    }

    /// Seconds to wait if the address, or the account, has failed too often.
    pub fn login_blocked(&self, account: Option<i64>, address: IpAddr) -> Option<u64> {
        let by_address = self.per_address.blocked(address_key(address));
        let by_account = account.and_then(|id| self.per_account.blocked(id));
        by_address.max(by_account)
    }

    /// Counts a failed login (or a wrong current password) against both.
    pub fn login_failed(&self, account: Option<i64>, address: IpAddr) {
        self.per_address.add(address_key(address));
        if let Some(id) = account {
            self.per_account.add(id);
        }
    }

    /// A successful login clears its account's count (not its address's: logging in to one's
    /// own account must not buy more guesses at others).
    pub fn login_succeeded(&self, account: i64) {
        self.per_account.clear(account);
    }

    /// Seconds to wait if the filing number, or the address, has had too many wrong filing
    /// passwords.
    pub fn filing_password_blocked(&self, filing_number: &str, address: IpAddr) -> Option<u64> {
        let by_address = self.password_per_address.blocked(address_key(address));
        let by_filing = self.password_per_filing.blocked(filing_key(filing_number));
        by_address.max(by_filing)
    }

    /// Counts a wrong filing password (or an unknown filing number: the two are one answer)
    /// against both. A right one clears nothing, so that knowing one filing's password buys no
    /// guesses at others.
    pub fn filing_password_failed(&self, filing_number: &str, address: IpAddr) {
        self.password_per_address.add(address_key(address));
        self.password_per_filing.add(filing_key(filing_number));
    }

    /// Takes one e-mail from the address's allowance; the seconds to wait when it is spent.
    pub fn mail_allowed(&self, address: IpAddr) -> Result<(), u64> {
        let key = address_key(address);
        if let Some(wait) = self.mail_per_address.blocked(key) {
            return Err(wait);
        }
        self.mail_per_address.add(key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_subscriber_is_counted_by_its_64_network() {
        let throttle = Throttle::new(100, 2, Duration::from_secs(60));
        throttle.login_failed(None, "2001:db8::1".parse().unwrap());
        throttle.login_failed(None, "2001:db8::2".parse().unwrap());
        assert!(
            throttle
                .login_blocked(None, "2001:db8::ffff".parse().unwrap())
                .is_some()
        );
        assert!(
            throttle
                .login_blocked(None, "2001:db8:0:1::1".parse().unwrap())
                .is_none()
        );
    }

    #[test]
    fn a_full_map_forgets_old_windows_instead_of_growing() {
        let counter = Counter::new(1, Duration::from_secs(60));
        for key in 0..(MAX_TRACKED as u128 + 10) {
            counter.add(key);
        }
        assert!(counter.counts.lock().unwrap().len() <= MAX_TRACKED);
    }
}
