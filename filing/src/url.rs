//! Home URLs: `http` or `https` with a host that is a listed domain or address.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::{Rule, domain::domain, rule};

/// A home URL: `http` or `https`, a host (returned in punycode form), optional port and path.
/// Returns the URL with its host normalised, and the host.
pub fn home_url(input: &str) -> Result<(String, String), Rule> {
    let input = input.trim();
    let bad = |why: &str| rule("url.invalid", format!("{input:?} is not a home URL: {why}"));
    let (scheme, rest) = input.split_once("://").ok_or_else(|| bad("no scheme"))?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return Err(bad("only http and https are home URLs"));
    }
    if rest.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("it contains spaces or control characters"));
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    if authority.contains('@') {
        return Err(bad("user names and passwords do not belong in a home URL"));
    }
    let parse_port = |port: &str| -> Result<u16, Rule> {
        match port.parse::<u16>() {
            Ok(0) => Err(bad("port 0")),
            Ok(port) => Ok(port),
            Err(_) => Err(bad("the port is not a number")),
        }
    };
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        let (inside, after) = bracketed
            .split_once(']')
            .ok_or_else(|| bad("an IPv6 address opened with [ is not closed"))?;
        let port = match after {
            "" => None,
            after => Some(parse_port(
                after
                    .strip_prefix(':')
                    .ok_or_else(|| bad("text after the IPv6 address"))?,
            )?),
        };
        (&authority[..inside.len() + 2], port)
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(parse_port(port)?)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(bad("no host"));
    }
    let host_ascii = if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        let addr: Ipv6Addr = v6.parse().map_err(|_| bad("bad IPv6 literal"))?;
        addr.to_string()
    } else if let Ok(addr) = host.parse::<Ipv4Addr>() {
        addr.to_string()
    } else {
        domain(host).map_err(|r| bad(&r.message))?
    };
    let shown_host = if host_ascii.contains(':') {
        format!("[{host_ascii}]")
    } else {
        host_ascii.clone()
    };
    let url = match port {
        Some(port) => format!("{scheme}://{shown_host}:{port}{path}"),
        None => format!("{scheme}://{shown_host}{path}"),
    };
    Ok((url, host_ascii))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broken;

    #[test]
    fn home_urls_are_http_with_a_normalised_host() {
        let (url, host) = home_url("https://例子.公司.cn:8443/index.html").unwrap();
        assert_eq!(host, "xn--fsqu00a.xn--55qx5d.cn");
        assert_eq!(url, "https://xn--fsqu00a.xn--55qx5d.cn:8443/index.html");
        assert_eq!(broken(home_url("ftp://example.com")), "url.invalid");
        assert_eq!(broken(home_url("example.com")), "url.invalid");
        assert_eq!(
            broken(home_url("http://user:pw@example.com/")),
            "url.invalid"
        );
        assert_eq!(
            home_url("http://202.96.128.86/").unwrap().1,
            "202.96.128.86"
        );
        assert_eq!(
            home_url("http://[240e:1::1]/").unwrap().0,
            "http://[240e:1::1]/"
        );
        assert_eq!(
            home_url("http://[240e:1::1]:8080/a").unwrap().1,
            "240e:1::1"
        );
        assert_eq!(broken(home_url("http://[240e:1::1/")), "url.invalid");
        assert_eq!(broken(home_url("http://example.cn:0/")), "url.invalid");
    }
}
