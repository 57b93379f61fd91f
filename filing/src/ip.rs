//! IP ranges a website is served from: one family, ordered, not too large, and entirely in public
//! address space.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bundle_format::records::IpRange;

use crate::{Rule, rule};

/// The reserved IPv4 blocks (RFC 6890 and successors) a public website cannot be served from.
const RESERVED_V4: [(Ipv4Addr, u8); 15] = [
    (Ipv4Addr::new(0, 0, 0, 0), 8),
    (Ipv4Addr::new(10, 0, 0, 0), 8),
    (Ipv4Addr::new(100, 64, 0, 0), 10),
    (Ipv4Addr::new(127, 0, 0, 0), 8),
    (Ipv4Addr::new(169, 254, 0, 0), 16),
    (Ipv4Addr::new(172, 16, 0, 0), 12),
    (Ipv4Addr::new(192, 0, 0, 0), 24),
    (Ipv4Addr::new(192, 0, 2, 0), 24),
    (Ipv4Addr::new(192, 88, 99, 0), 24),
    (Ipv4Addr::new(192, 168, 0, 0), 16),
    (Ipv4Addr::new(198, 18, 0, 0), 15),
    (Ipv4Addr::new(198, 51, 100, 0), 24),
    (Ipv4Addr::new(203, 0, 113, 0), 24),
    (Ipv4Addr::new(224, 0, 0, 0), 4),
    (Ipv4Addr::new(240, 0, 0, 0), 4),
];

/// Reserved blocks inside IPv6 global unicast (2000::/3); everything outside it is refused too.
const RESERVED_V6: [(Ipv6Addr, u8); 4] = [
    (Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0), 23),
    (Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0), 32),
    (Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0), 16),
    (Ipv6Addr::new(0x3fff, 0, 0, 0, 0, 0, 0, 0), 20),
];

/// Most addresses one IPv4 range may span (a /16).
pub const MAX_V4_RANGE: u128 = 1 << 16;
/// Most addresses one IPv6 range may span (a /32).
pub const MAX_V6_RANGE: u128 = 1 << 96;

fn v4_block(base: Ipv4Addr, len: u8) -> (u128, u128) {
    let first = u128::from(u32::from(base));
    let size = 1u128 << (32 - u32::from(len));
    (first, first + size - 1)
}

fn v6_block(base: Ipv6Addr, len: u8) -> (u128, u128) {
    let first = u128::from(base);
    let size_minus_one = if len == 0 {
        u128::MAX
    } else {
        (1u128 << (128 - u32::from(len))) - 1
    };
    (first, first | size_minus_one)
}

fn overlaps(a: (u128, u128), b: (u128, u128)) -> bool {
    a.0 <= b.1 && b.0 <= a.1
}

/// An address, a CIDR block or `first-last`, IPv4 or IPv6, entirely in public address space.
pub fn ip_range(input: &str) -> Result<IpRange, Rule> {
    let input = input.trim();
    let bad = || {
        rule(
            "ip.invalid",
            format!("{input:?} is not an IP address, CIDR block or first-last range"),
        )
    };
    let (first, last) = if let Some((a, b)) = input.split_once('-') {
        let first: IpAddr = a.trim().parse().map_err(|_| bad())?;
        let last: IpAddr = b.trim().parse().map_err(|_| bad())?;
        (first, last)
    } else if input.contains('/') {
        let net: ipnet::IpNet = input.parse().map_err(|_| bad())?;
        if net.network() != net.addr() {
            return Err(rule(
                "ip.invalid",
                format!(
                    "{input:?} has host bits set; the block starts at {}",
                    net.network()
                ),
            ));
        }
        (net.network(), net.broadcast())
    } else {
        let addr: IpAddr = input.parse().map_err(|_| bad())?;
        (addr, addr)
    };
    judge_ip_range(first, last, &Quoted(input))
}

/// An IP range already parsed (as records carry it): one family, ordered, not too large and
/// entirely in public address space, by the same rules as [`ip_range`].
pub fn parsed_ip_range(range: &IpRange) -> Result<(), Rule> {
    judge_ip_range(range.first, range.last, &ShownRange(range)).map(|_| ())
}

/// Text shown quoted in a rule's message, as typed.
struct Quoted<'a>(&'a str);

impl std::fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

/// A parsed range shown as `first-last` in a rule's message.
struct ShownRange<'a>(&'a IpRange);

impl std::fmt::Display for ShownRange<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "\"{}-{}\"", self.0.first, self.0.last)
    }
}

/// The rules of [`ip_range`] after parsing; `input` names the range in messages, which are
/// only formatted when a rule is broken.
fn judge_ip_range(
    first: IpAddr,
    last: IpAddr,
    input: &dyn std::fmt::Display,
) -> Result<IpRange, Rule> {
    let span = match (first, last) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (u128::from(u32::from(a)), u128::from(u32::from(b))),
        (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b)),
        _ => {
            return Err(rule(
                "ip.mixed_families",
                format!("{input} mixes IPv4 and IPv6"),
            ));
        }
    };
    if span.0 > span.1 {
        return Err(rule(
            "ip.reversed",
            format!("{input}: the first address is above the last"),
        ));
    }
    // Addresses spanned minus one: the whole IPv6 space spans 2^128, one more than u128 holds.
    let extent = span.1 - span.0;
    let reserved = match first {
        IpAddr::V4(_) => {
            if extent >= MAX_V4_RANGE {
                let count = extent + 1;
                return Err(rule(
                    "ip.range_too_large",
                    format!("{input} spans {count} addresses; at most {MAX_V4_RANGE} per entry"),
                ));
            }
            RESERVED_V4
                .iter()
                .any(|(base, len)| overlaps(span, v4_block(*base, *len)))
        }
        IpAddr::V6(_) => {
            if extent >= MAX_V6_RANGE {
                return Err(rule(
                    "ip.range_too_large",
                    format!("{input} spans more than a /32; list the blocks actually used"),
                ));
            }
            let global = v6_block(Ipv6Addr::new(0x2000, 0, 0, 0, 0, 0, 0, 0), 3);
            !(global.0 <= span.0 && span.1 <= global.1)
                || RESERVED_V6
                    .iter()
                    .any(|(base, len)| overlaps(span, v6_block(*base, *len)))
        }
    };
    if reserved {
        return Err(rule(
            "ip.not_public",
            format!(
                "{input} lies in private or reserved address space; a public site needs public addresses"
            ),
        ));
    }
    Ok(IpRange { first, last })
}

/// Whether both ends of a range are of one family and the first is not above the last (what
/// the import can check of a range without the address tables).
pub fn is_ordered(range: &IpRange) -> bool {
    match (range.first, range.last) {
        (IpAddr::V4(a), IpAddr::V4(b)) => a <= b,
        (IpAddr::V6(a), IpAddr::V6(b)) => a <= b,
        _ => false,
    }
}

/// Whether `ip` lies in `range`.
pub fn contains(range: &IpRange, ip: IpAddr) -> bool {
    match (ip, range.first, range.last) {
        (IpAddr::V4(ip), IpAddr::V4(a), IpAddr::V4(b)) => a <= ip && ip <= b,
        (IpAddr::V6(ip), IpAddr::V6(a), IpAddr::V6(b)) => a <= ip && ip <= b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broken;

    #[test]
    fn public_addresses_pass_and_private_or_reserved_space_is_refused() {
        assert!(ip_range("202.96.128.86").is_ok());
        assert!(ip_range("202.96.128.0/24").is_ok());
        assert!(ip_range("202.96.128.10-202.96.128.20").is_ok());
        assert!(ip_range("240e:1:2::/48").is_ok());
        for private in [
            "10.1.2.3",
            "192.168.0.0/24",
            "172.20.0.1",
            "127.0.0.1",
            "100.64.0.1",
            "203.0.113.5",
            "fd00::1",
            "fe80::1",
            "2001:db8::1",
            "::1",
            "224.0.0.1",
        ] {
            assert_eq!(
                ip_range(private).unwrap_err().code,
                "ip.not_public",
                "{private}"
            );
        }
        // A range that only touches private space at one end is still refused.
        assert_eq!(broken(ip_range("9.255.255.250-10.0.0.1")), "ip.not_public");
        assert_eq!(
            broken(ip_range("202.96.128.20-202.96.128.10")),
            "ip.reversed"
        );
        assert_eq!(
            broken(ip_range("202.96.128.1-240e::1")),
            "ip.mixed_families"
        );
        assert_eq!(broken(ip_range("202.96.0.0/8")), "ip.invalid");
        assert_eq!(broken(ip_range("58.0.0.0/8")), "ip.range_too_large");
        assert_eq!(broken(ip_range("not an address")), "ip.invalid");
    }

    #[test]
    fn parsed_ranges_are_judged_like_typed_ones() {
        for typed in [
            "202.96.128.86",
            "202.96.128.10-202.96.128.20",
            "240e:1:2::/48",
            "10.1.2.3",
            "198.51.100.20-198.51.100.21",
            "::1",
            "fe80::1",
            "9.255.255.250-10.0.0.1",
            "202.96.128.20-202.96.128.10",
            "202.96.128.1-240e::1",
            "58.0.0.0-58.255.255.255",
        ] {
            let (a, b) = typed.split_once('-').unwrap_or((typed, typed));
            let range = match typed.parse::<ipnet::IpNet>() {
                Ok(net) => IpRange {
                    first: net.network(),
                    last: net.broadcast(),
                },
                Err(_) => IpRange {
                    first: a.parse().unwrap(),
                    last: b.parse().unwrap(),
                },
            };
            assert_eq!(
                parsed_ip_range(&range).map_err(|r| r.code),
                ip_range(typed).map(|_| ()).map_err(|r| r.code),
                "{typed}"
            );
        }
    }

    #[test]
    fn the_whole_address_space_is_refused_not_a_panic() {
        assert_eq!(broken(ip_range("::/0")), "ip.range_too_large");
        assert_eq!(
            ip_range("::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")
                .unwrap_err()
                .code,
            "ip.range_too_large"
        );
        assert_eq!(broken(ip_range("0.0.0.0/0")), "ip.range_too_large");
    }
}
