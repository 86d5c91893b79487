//! `allowed_outbound_hosts`: which outbound HTTP requests a component may make. Entries are
//! `scheme://host[:port]` with `*` for any scheme, host or port, `*.example.com` for subdomains,
//! and `a..b` port ranges; a missing port means the scheme's well-known port (Spin's syntax).

use std::ops::Range;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("allowed_outbound_hosts entry {entry:?}: {message}")]
pub struct AllowedHostError {
    pub entry: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
enum HostPattern {
    Any,
    /// `*.example.com`: any subdomain of the suffix (stored with the leading dot).
    Subdomain(String),
    Exact(String),
}

#[derive(Debug, Clone, PartialEq)]
enum PortPattern {
    Any,
    Range(Range<u16>),
    Exact(u16),
}

#[derive(Debug, Clone, PartialEq)]
struct AllowedHost {
    /// `None` for `*`.
    scheme: Option<String>,
    host: HostPattern,
    port: PortPattern,
}

/// The parsed list; empty allows nothing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AllowedHosts {
    entries: Vec<AllowedHost>,
}

fn well_known_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        "postgres" => Some(5432),
        "mysql" => Some(3306),
        "redis" => Some(6379),
        _ => None,
    }
}

impl AllowedHosts {
    pub fn parse(entries: &[String]) -> Result<Self, AllowedHostError> {
        let entries = entries
            .iter()
            .map(|entry| {
                parse_entry(entry.trim()).map_err(|message| AllowedHostError {
                    entry: entry.clone(),
                    message,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { entries })
    }

    /// Whether a request to `uri` may be sent.
    pub fn allows(&self, uri: &http::Uri) -> bool {
        let (Some(scheme), Some(host)) = (uri.scheme_str(), uri.host()) else {
            return false;
        };
        let host = host.to_ascii_lowercase();
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let Some(port) = uri.port_u16().or_else(|| well_known_port(scheme)) else {
            return false;
        };
        self.entries.iter().any(|entry| {
            entry.scheme.as_deref().is_none_or(|s| s == scheme)
                && match &entry.host {
                    HostPattern::Any => true,
                    HostPattern::Subdomain(suffix) => host.ends_with(suffix.as_str()),
                    HostPattern::Exact(exact) => host == exact,
                }
                && match &entry.port {
                    PortPattern::Any => true,
                    PortPattern::Range(range) => range.contains(&port),
                    PortPattern::Exact(exact) => port == *exact,
                }
        })
    }
}

fn parse_entry(entry: &str) -> Result<AllowedHost, String> {
    let (scheme, rest) = entry
        .split_once("://")
        .ok_or("no scheme (write e.g. `http://` or `*://`)")?;
    let rest = match rest.split_once('/') {
        Some((authority, "")) => authority,
        Some(_) => return Err("must not contain a path".into()),
        None => rest,
    };
    let (host, port) = split_host_port(rest)?;

    let scheme = match scheme {
        "*" => None,
        s if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphabetic()) => Some(s.to_owned()),
        s => return Err(format!("invalid scheme {s:?}")),
    };
    let host = match host {
        "" => return Err("no host".into()),
        "*" => HostPattern::Any,
        h => match h.strip_prefix("*.") {
            Some(suffix) if !suffix.is_empty() => {
                HostPattern::Subdomain(format!(".{}", suffix.to_ascii_lowercase()))
            }
            _ if h.contains('*') => return Err(format!("invalid host wildcard {h:?}")),
            _ => HostPattern::Exact(h.to_ascii_lowercase()),
        },
    };
    let port = match port {
        None => PortPattern::Exact(
            scheme
                .as_deref()
                .and_then(well_known_port)
                .ok_or("no port, and the scheme has no well-known port")?,
        ),
        Some("*") => PortPattern::Any,
        Some(p) => match p.split_once("..") {
            Some((start, end)) => PortPattern::Range(parse_port(start)?..parse_port(end)?),
            None => PortPattern::Exact(parse_port(p)?),
        },
    };
    Ok(AllowedHost { scheme, host, port })
}

/// Splits `host[:port]`, where an IPv6 host is bracketed.
fn split_host_port(authority: &str) -> Result<(&str, Option<&str>), String> {
    if let Some(bracketed) = authority.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']').ok_or("unclosed `[` in host")?;
        return match after {
            "" => Ok((host, None)),
            _ => match after.strip_prefix(':') {
                Some(port) => Ok((host, Some(port))),
                None => Err("unexpected text after `]`".into()),
            },
        };
    }
    Ok(match authority.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    })
}

fn parse_port(port: &str) -> Result<u16, String> {
    port.parse().map_err(|_| format!("invalid port {port:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(entries: &[&str]) -> AllowedHosts {
        AllowedHosts::parse(&entries.iter().map(|e| e.to_string()).collect::<Vec<_>>()).unwrap()
    }

    fn allows(hosts: &AllowedHosts, uri: &str) -> bool {
        hosts.allows(&uri.parse().unwrap())
    }

    #[test]
    fn empty_list_allows_nothing() {
        assert!(!allows(&hosts(&[]), "http://localhost/"));
    }

    #[test]
    fn exact_host_and_default_port() {
        let h = hosts(&["https://example.com"]);
        assert!(allows(&h, "https://example.com/path"));
        assert!(allows(&h, "https://EXAMPLE.com:443/"));
        assert!(!allows(&h, "http://example.com/"));
        assert!(!allows(&h, "https://example.com:8443/"));
        assert!(!allows(&h, "https://other.com/"));
    }

    #[test]
    fn explicit_port_range_and_wildcards() {
        let h = hosts(&["http://localhost:8080", "http://127.0.0.1:9000..9010"]);
        assert!(allows(&h, "http://localhost:8080/x"));
        assert!(!allows(&h, "http://localhost/x"));
        assert!(allows(&h, "http://127.0.0.1:9005/"));
        assert!(!allows(&h, "http://127.0.0.1:9010/"));
        let any = hosts(&["*://*:*"]);
        assert!(allows(&any, "https://anything.example:1234/"));
        let sub = hosts(&["https://*.example.com"]);
        assert!(allows(&sub, "https://api.example.com/"));
        assert!(!allows(&sub, "https://example.com/"));
        assert!(!allows(&sub, "https://badexample.com/"));
        let v6 = hosts(&["http://[::1]:8080"]);
        assert!(allows(&v6, "http://[::1]:8080/"));
    }

    #[test]
    fn invalid_entries_are_named() {
        let parse = |e: &str| {
            AllowedHosts::parse(&[e.to_owned()])
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            parse("example.com"),
            "allowed_outbound_hosts entry \"example.com\": no scheme (write e.g. `http://` or `*://`)"
        );
        assert!(parse("http://example.com/api").contains("must not contain a path"));
        assert!(parse("ftp://example.com").contains("no well-known port"));
        assert!(parse("http://example.com:x").contains("invalid port"));
        assert!(parse("http://ex*ample.com").contains("invalid host wildcard"));
        assert!(hosts(&["http://example.com:80/"]).allows(&"http://example.com/".parse().unwrap()));
    }
}
