//! IP allow-list of the `/api` main group (docs/auth.md#ip-allow-list-and-trusted-proxies), with the recommendation applied:
//! proxy headers are only believed when the TCP peer is a configured trusted proxy.

use http::HeaderMap;

use crate::error::AuthError;

/// Header in which the runner passes the TCP peer address (`ip:port` or `[v6]:port`).
pub const PEER_ADDRESS_HEADER: &str = "spin-client-addr";
const REAL_IP_HEADER: &str = "x-real-ip";
const FORWARDED_FOR_HEADER: &str = "x-forwarded-for";

#[derive(Debug, thiserror::Error)]
#[error("address list starts with '[' but is not a JSON array of strings: {0}")]
pub struct AddressListError(#[from] serde_json::Error);

/// Parses a list of addresses from a Spin variable: comma-separated (`"1.2.3.4, 10.0.0.1"`) or a
/// JSON array string (`["*"]`). Blank entries are dropped.
pub fn parse_address_list(value: &str) -> Result<Vec<String>, AddressListError> {
    let value = value.trim();
    let entries: Vec<String> = if value.starts_with('[') {
        serde_json::from_str(value)?
    } else {
        value.split(',').map(str::to_owned).collect()
    };
    Ok(entries
        .into_iter()
        .map(|entry| entry.trim().to_owned())
        .filter(|entry| !entry.is_empty())
        .collect())
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpPolicy {
    allowed: Vec<String>,
    trusted_proxies: Vec<String>,
}

impl IpPolicy {
    pub fn new(allowed: Vec<String>, trusted_proxies: Vec<String>) -> Self {
        Self {
            allowed,
            trusted_proxies,
        }
    }

    /// Empty list or a leading `*` admits everyone; otherwise the client address must be listed.
    pub fn check(&self, headers: &HeaderMap) -> Result<(), AuthError> {
        match self.allowed.first() {
            None => Ok(()),
            Some(first) if first == "*" => Ok(()),
            Some(_) => {
                let address = self.client_address(headers);
                if self.allowed.contains(&address) {
                    Ok(())
                } else {
                    Err(AuthError::UnknownIp(address))
                }
            }
        }
    }

    /// The TCP peer's host, or — when the peer is a trusted proxy — the host named by
    /// `X-Real-Ip`, else by the first element of `X-Forwarded-For`.
    pub fn client_address(&self, headers: &HeaderMap) -> String {
        let peer = strip_port(header(headers, PEER_ADDRESS_HEADER));
        if !self.trusted_proxies.iter().any(|proxy| proxy == peer) {
            return peer.to_owned();
        }
        let real_ip = header(headers, REAL_IP_HEADER).trim();
        let forwarded = if real_ip.is_empty() {
            header(headers, FORWARDED_FOR_HEADER)
                .split(',')
                .next()
                .unwrap_or_default()
                .trim()
        } else {
            real_ip
        };
        if forwarded.is_empty() {
            peer.to_owned()
        } else {
            strip_port(forwarded).to_owned()
        }
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
}

/// Removes the port like Go's `net.SplitHostPort`; values that are not `host:port`
/// (a bare IPv4/IPv6 address) are returned unchanged.
fn strip_port(address: &str) -> &str {
    if let Some(bracketed) = address.strip_prefix('[') {
        let host_and_port = bracketed
            .split_once(']')
            .and_then(|(host, rest)| Some((host, rest.strip_prefix(':')?)));
        return match host_and_port {
            Some((host, port)) if !port.contains([':', '[', ']']) => host,
            _ => address,
        };
    }
    match address.split_once(':') {
        Some((host, port)) if !port.contains(':') => host,
        _ => address,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    fn list(entries: &[&str]) -> Vec<String> {
        entries.iter().map(|entry| entry.to_string()).collect()
    }

    #[test]
    fn ports_are_stripped_like_go() {
        assert_eq!(strip_port("192.0.2.1:8080"), "192.0.2.1");
        assert_eq!(strip_port("[2001:db8::1]:443"), "2001:db8::1");
        assert_eq!(strip_port("192.0.2.1"), "192.0.2.1");
        assert_eq!(strip_port("2001:db8::1"), "2001:db8::1");
        assert_eq!(strip_port("[2001:db8::1]"), "[2001:db8::1]");
        assert_eq!(strip_port("[::1]:1:2"), "[::1]:1:2");
        assert_eq!(strip_port(""), "");
    }

    #[test]
    fn address_lists_parse_from_commas_or_json() {
        assert_eq!(
            parse_address_list(" 10.0.0.1, 10.0.0.2 ,,").unwrap(),
            list(&["10.0.0.1", "10.0.0.2"])
        );
        assert_eq!(parse_address_list(r#"["*"]"#).unwrap(), list(&["*"]));
        assert_eq!(
            parse_address_list(r#"[ "::1", " 10.0.0.1 " ]"#).unwrap(),
            list(&["::1", "10.0.0.1"])
        );
        assert!(parse_address_list("").unwrap().is_empty());
        assert!(parse_address_list("[]").unwrap().is_empty());
        assert!(parse_address_list(r#"["*", ]"#).is_err());
    }

    #[test]
    fn empty_list_or_leading_star_admits_everyone() {
        let request = headers(&[(PEER_ADDRESS_HEADER, "203.0.113.9:5000")]);
        assert_eq!(IpPolicy::default().check(&request), Ok(()));
        let star_first = IpPolicy::new(list(&["*", "10.0.0.1"]), vec![]);
        assert_eq!(star_first.check(&request), Ok(()));
        let star_later = IpPolicy::new(list(&["10.0.0.1", "*"]), vec![]);
        assert_eq!(
            star_later.check(&request),
            Err(AuthError::UnknownIp("203.0.113.9".into()))
        );
    }

    #[test]
    fn peer_address_must_be_listed_exactly() {
        let policy = IpPolicy::new(list(&["10.0.0.1", "::1"]), vec![]);
        let ipv4 = headers(&[(PEER_ADDRESS_HEADER, "10.0.0.1:40000")]);
        let ipv6 = headers(&[(PEER_ADDRESS_HEADER, "[::1]:40000")]);
        let other = headers(&[(PEER_ADDRESS_HEADER, "10.0.0.10:40000")]);
        assert_eq!(policy.check(&ipv4), Ok(()));
        assert_eq!(policy.check(&ipv6), Ok(()));
        let error = policy.check(&other).unwrap_err();
        assert_eq!(error.to_string(), "unknown ip: 10.0.0.10");
        assert_eq!(
            policy.check(&HeaderMap::new()),
            Err(AuthError::UnknownIp(String::new()))
        );
    }

    #[test]
    fn proxy_headers_from_untrusted_peers_are_ignored() {
        let policy = IpPolicy::new(list(&["10.0.0.1"]), list(&["192.168.0.1"]));
        let spoofed = headers(&[
            (PEER_ADDRESS_HEADER, "203.0.113.9:5000"),
            ("x-real-ip", "10.0.0.1"),
            ("x-forwarded-for", "10.0.0.1"),
        ]);
        assert_eq!(policy.client_address(&spoofed), "203.0.113.9");
        assert_eq!(
            policy.check(&spoofed),
            Err(AuthError::UnknownIp("203.0.113.9".into()))
        );
    }

    #[test]
    fn trusted_proxies_forward_the_client_address() {
        let policy = IpPolicy::new(list(&["10.0.0.1"]), list(&["192.168.0.1"]));
        let peer = (PEER_ADDRESS_HEADER, "192.168.0.1:5000");
        let real_ip = headers(&[
            peer,
            ("x-real-ip", "10.0.0.1"),
            ("x-forwarded-for", "9.9.9.9"),
        ]);
        assert_eq!(policy.client_address(&real_ip), "10.0.0.1");
        let forwarded = headers(&[peer, ("x-forwarded-for", " 10.0.0.1:1234 , 192.168.0.7")]);
        assert_eq!(policy.client_address(&forwarded), "10.0.0.1");
        assert_eq!(policy.check(&forwarded), Ok(()));
        let direct = headers(&[peer]);
        assert_eq!(policy.client_address(&direct), "192.168.0.1");
        assert_eq!(
            policy.check(&direct),
            Err(AuthError::UnknownIp("192.168.0.1".into()))
        );
    }
}
