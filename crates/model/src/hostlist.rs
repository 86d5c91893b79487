//! Host-list expressions of a sub-cluster's `nodes` value, e.g. `f[0101-0188,0201-0288]` or
//! `a[0531-0537],a0831` (docs/nodes-users.md#host-lists).
//!
//! Parsing and matching follow the reference implementation: terms are separated by commas
//! outside brackets; a literal starts with an ASCII letter or digit and continues with letters,
//! digits and `-`; a bracket holds comma-separated zero-padded ranges whose bounds have the same
//! number of digits. Matching is greedy without backtracking: literals must be a prefix of the
//! rest of the host name, a bracket consumes exactly as many digits as the first of its ranges
//! that accepts them, and the whole name must be consumed.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a host-list expression was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostListError {
    #[error("unclosed '['")]
    UnclosedBracket,
    #[error("no '-' found in range {0:?}")]
    MissingDash(String),
    #[error("{first:?} and {last:?} are not of equal length or of length zero")]
    UnequalDigits { first: String, last: String },
    #[error("range bound {0:?} is not a number")]
    NotNumeric(String),
    #[error("invalid character {0:?}")]
    InvalidCharacter(char),
}

/// A parsed host-list expression; keeps its source text for output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostList {
    source: String,
    terms: Vec<Vec<Part>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Ranges(Vec<DigitRange>),
}

/// `first-last` inside brackets; consumes exactly `digits` characters.
#[derive(Debug, Clone, PartialEq, Eq)]
struct DigitRange {
    first: u32,
    last: u32,
    digits: usize,
}

impl HostList {
    pub fn parse(source: &str) -> Result<Self, HostListError> {
        let mut terms = Vec::new();
        let mut parts = Vec::new();
        let mut term_start = 0;
        let mut index = 0;
        while let Some(character) = source[index..].chars().next() {
            match character {
                ',' => {
                    terms.push(std::mem::take(&mut parts));
                    index += 1;
                    term_start = index;
                }
                '[' => {
                    let close = source[index..]
                        .find(']')
                        .ok_or(HostListError::UnclosedBracket)?
                        + index;
                    parts.push(Part::Ranges(parse_ranges(&source[index + 1..close])?));
                    index = close + 1;
                }
                c if c.is_ascii_alphanumeric() => {
                    let end = source[index..]
                        .find(|next: char| !(next.is_ascii_alphanumeric() || next == '-'))
                        .map_or(source.len(), |offset| index + offset);
                    parts.push(Part::Literal(source[index..end].to_owned()));
                    index = end;
                }
                other => return Err(HostListError::InvalidCharacter(other)),
            }
        }
        // Like the reference, a trailing comma does not open an empty term.
        if term_start != source.len() {
            terms.push(parts);
        }
        Ok(Self {
            source: source.to_owned(),
            terms,
        })
    }

    /// Whether `host` is one of the hosts this expression names.
    pub fn matches(&self, host: &str) -> bool {
        self.terms.iter().any(|term| {
            term.iter()
                .try_fold(host, |rest, part| part.consume(rest))
                .is_some_and(str::is_empty)
        })
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }
}

fn parse_ranges(inner: &str) -> Result<Vec<DigitRange>, HostListError> {
    inner
        .split(',')
        .map(|range| {
            let (first, last) = range
                .split_once('-')
                .ok_or_else(|| HostListError::MissingDash(range.to_owned()))?;
            if first.len() != last.len() || first.is_empty() {
                return Err(HostListError::UnequalDigits {
                    first: first.to_owned(),
                    last: last.to_owned(),
                });
            }
            Ok(DigitRange {
                first: parse_bound(first)?,
                last: parse_bound(last)?,
                digits: first.len(),
            })
        })
        .collect()
}

/// Range bounds are limited to 32-bit signed integers, as in the reference.
fn parse_bound(bound: &str) -> Result<u32, HostListError> {
    let not_numeric = || HostListError::NotNumeric(bound.to_owned());
    // `u32::from_str` would also accept a leading `+`.
    if !bound.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(not_numeric());
    }
    bound
        .parse::<u32>()
        .ok()
        .filter(|value| i32::try_from(*value).is_ok())
        .ok_or_else(not_numeric)
}

impl Part {
    /// The rest of `host` after this part, or `None` if the part does not match its start.
    fn consume<'h>(&self, host: &'h str) -> Option<&'h str> {
        match self {
            Part::Literal(literal) => host.strip_prefix(literal.as_str()),
            Part::Ranges(ranges) => ranges.iter().find_map(|range| range.consume(host)),
        }
    }
}

impl DigitRange {
    fn consume<'h>(&self, host: &'h str) -> Option<&'h str> {
        let numerals = host.as_bytes().get(..self.digits)?;
        if !numerals.iter().all(u8::is_ascii_digit) {
            return None;
        }
        // All digits are ASCII, so `digits` is a character boundary.
        let (numerals, rest) = host.split_at(self.digits);
        let value: u64 = numerals.parse().ok()?;
        (u64::from(self.first)..=u64::from(self.last))
            .contains(&value)
            .then_some(rest)
    }
}

impl fmt::Display for HostList {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.source)
    }
}

/// A sub-cluster's `nodes` value: either a host list or a wildcard.
///
/// The reference treats `*` as wildcard when jobs start and `""` when node states arrive; this
/// implementation follows docs/compatibility.md#wildcard-sub-clusters and accepts both everywhere. The original
/// spelling is kept so that the API echoes the configuration unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Nodes {
    Wildcard(String),
    Hosts(HostList),
}

impl Nodes {
    pub fn parse(source: &str) -> Result<Self, HostListError> {
        match source {
            "*" | "" => Ok(Nodes::Wildcard(source.to_owned())),
            _ => HostList::parse(source).map(Nodes::Hosts),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Nodes::Wildcard(spelling) => spelling,
            Nodes::Hosts(list) => list.as_str(),
        }
    }

    pub fn is_wildcard(&self) -> bool {
        matches!(self, Nodes::Wildcard(_))
    }

    /// Whether `host` is named by the host list; a wildcard names no host explicitly (it only
    /// serves as fallback in the host → sub-cluster lookup).
    pub fn lists(&self, host: &str) -> bool {
        match self {
            Nodes::Wildcard(_) => false,
            Nodes::Hosts(list) => list.matches(host),
        }
    }
}

impl Serialize for Nodes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Nodes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let source = String::deserialize(deserializer)?;
        Nodes::parse(&source).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(source: &str) -> HostList {
        HostList::parse(source).unwrap_or_else(|error| panic!("{source}: {error}"))
    }

    #[test]
    fn fritz_ranges_match_within_bounds_only() {
        let fritz = list("f[0101-0188,0201-0288]");
        for host in ["f0101", "f0150", "f0188", "f0201", "f0288"] {
            assert!(fritz.matches(host), "{host} should match");
        }
        for host in [
            "f0100", "f0189", "f0200", "f0289", "f101", "f01010", "g0101", "f", "", "F0101",
        ] {
            assert!(!fritz.matches(host), "{host} should not match");
        }
    }

    #[test]
    fn literal_prefix_with_digits_before_range() {
        let emmy = list("w11[27-45,49-63,69-72]");
        assert!(emmy.matches("w1127"));
        assert!(emmy.matches("w1163"));
        assert!(emmy.matches("w1172"));
        assert!(!emmy.matches("w1146"));
        assert!(!emmy.matches("w1227"));
    }

    #[test]
    fn range_and_plain_terms_mix() {
        let alex = list("a[0531-0537],a[0631-0633],a0831,a[0931-0934]");
        assert!(alex.matches("a0533"));
        assert!(alex.matches("a0831"));
        assert!(alex.matches("a0934"));
        assert!(!alex.matches("a0832"));
        assert!(!alex.matches("a0538"));
    }

    #[test]
    fn plain_host_names_and_dashes() {
        let hosts = list("host123,host124,login-1,node-[01-02]");
        assert!(hosts.matches("host124"));
        assert!(hosts.matches("login-1"));
        assert!(hosts.matches("node-02"));
        assert!(!hosts.matches("host12"));
        assert!(!hosts.matches("host1234"));
        assert!(!hosts.matches("node-03"));
        assert!(!hosts.matches("node-1"));
    }

    #[test]
    fn several_brackets_in_one_term() {
        let racks = list("r[1-2]n[001-016]");
        assert!(racks.matches("r1n001"));
        assert!(racks.matches("r2n016"));
        assert!(!racks.matches("r3n001"));
        assert!(!racks.matches("r1n017"));
    }

    #[test]
    fn first_accepting_range_wins_without_backtracking() {
        // "0" is accepted by the one-digit range, leaving "01" unconsumed.
        let greedy = list("a[0-1,001-002]");
        assert!(!greedy.matches("a001"));
        assert!(greedy.matches("a1"));
    }

    #[test]
    fn non_digit_input_and_multibyte_names_do_not_match() {
        let nodes = list("n[01-10]");
        assert!(!nodes.matches("n0x"));
        assert!(!nodes.matches("n+1"));
        assert!(!nodes.matches("nä1"));
        assert!(!nodes.matches("n"));
    }

    #[test]
    fn inverted_range_parses_but_matches_nothing() {
        let inverted = list("n[05-01]");
        assert!(!inverted.matches("n03"));
        assert!(!inverted.matches("n05"));
    }

    #[test]
    fn trailing_comma_is_ignored_and_empty_list_matches_nothing() {
        let trailing = list("a01,");
        assert!(trailing.matches("a01"));
        assert!(!trailing.matches(""));
        assert!(!list("").matches(""));
    }

    #[test]
    fn source_text_is_kept() {
        let source = "f[2181-2188,2281-2288]";
        assert_eq!(list(source).as_str(), source);
        assert_eq!(list(source).to_string(), source);
    }

    #[test]
    fn malformed_expressions_are_rejected() {
        let cases = [
            ("f[0101-0188", HostListError::UnclosedBracket),
            ("f[0101]", HostListError::MissingDash("0101".into())),
            ("f[]", HostListError::MissingDash(String::new())),
            (
                "a[01-9]",
                HostListError::UnequalDigits {
                    first: "01".into(),
                    last: "9".into(),
                },
            ),
            (
                "a[-]",
                HostListError::UnequalDigits {
                    first: String::new(),
                    last: String::new(),
                },
            ),
            ("a[0x-10]", HostListError::NotNumeric("0x".into())),
            ("a[01-+1]", HostListError::NotNumeric("+1".into())),
            (
                "a[0000000000-9999999999]",
                HostListError::NotNumeric("9999999999".into()),
            ),
            ("node.example", HostListError::InvalidCharacter('.')),
            ("node_1", HostListError::InvalidCharacter('_')),
            ("-node", HostListError::InvalidCharacter('-')),
            ("a[01-02]-b", HostListError::InvalidCharacter('-')),
            ("a]", HostListError::InvalidCharacter(']')),
            ("a b", HostListError::InvalidCharacter(' ')),
            ("*", HostListError::InvalidCharacter('*')),
            ("knoten-ü", HostListError::InvalidCharacter('ü')),
        ];
        for (source, expected) in cases {
            assert_eq!(HostList::parse(source), Err(expected), "parsing {source:?}");
        }
    }

    #[test]
    fn error_messages_name_the_problem() {
        assert_eq!(
            HostList::parse("a[01-9]").unwrap_err().to_string(),
            "\"01\" and \"9\" are not of equal length or of length zero"
        );
        assert_eq!(
            HostList::parse("x[1").unwrap_err().to_string(),
            "unclosed '['"
        );
    }

    #[test]
    fn nodes_accepts_both_wildcard_spellings() {
        for spelling in ["*", ""] {
            let nodes = Nodes::parse(spelling).expect("wildcard");
            assert!(nodes.is_wildcard());
            assert_eq!(nodes.as_str(), spelling);
            assert!(!nodes.lists("anything"));
        }
        let listed = Nodes::parse("a[01-02]").expect("host list");
        assert!(!listed.is_wildcard());
        assert!(listed.lists("a02"));
        assert!(!listed.lists("a03"));
    }

    #[test]
    fn nodes_round_trip_through_serde() {
        let nodes: Nodes = serde_json::from_str("\"w12[01-08],w13[01-31,33-56]\"").expect("valid");
        assert!(nodes.lists("w1333"));
        assert!(!nodes.lists("w1332"));
        assert_eq!(
            serde_json::to_string(&nodes).expect("serializable"),
            "\"w12[01-08],w13[01-31,33-56]\""
        );
        let error = serde_json::from_str::<Nodes>("\"w12[01\"").expect_err("invalid");
        assert!(error.to_string().contains("unclosed '['"), "{error}");
    }
}
