//! Streaming decoder for the InfluxDB line protocol accepted by `POST /api/write`.
//!
//! It follows the structure of the Go decoder cc-backend uses (`cc-line-protocol/v2`, a fork of
//! `influxdata/line-protocol/v2`) so that syntax error texts, their `line:column` positions and the
//! recovery rules (skipping the rest of a malformed line) are the same. Timestamps are the
//! exception: they are read by magnitude (s / ms / µs / ns) and garbage is an error, where the
//! reference silently falls back to the receive time.
//!
//! Tokens without escapes are borrowed from the body, so the common path does not allocate.

use std::borrow::Cow;
use std::num::{IntErrorKind, ParseIntError};
use std::str::FromStr;

/// A syntax error, displayed like the Go decoder's `DecodeError`.
///
/// `column` counts bytes from the start of the entry's measurement (after any leading spaces),
/// or from the last newline inside the entry (multi-line string fields), as the Go decoder does.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("at line {line}:{column}: {reason}")]
pub struct SyntaxError {
    pub line: usize,
    pub column: usize,
    pub reason: String,
}

/// A tag as (key, value).
pub type Tag<'a> = (Cow<'a, str>, Cow<'a, str>);

/// A field as (key, value).
pub type Field<'a> = (Cow<'a, str>, FieldValue<'a>);

/// A decoded field value.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue<'a> {
    Float(f64),
    Int(i64),
    Uint(u64),
    Str(Cow<'a, str>),
    Bool(bool),
}

impl FieldValue<'_> {
    /// The name Go's `lineprotocol.ValueKind` prints for this kind.
    pub fn kind(&self) -> &'static str {
        match self {
            FieldValue::Float(_) => "Float",
            FieldValue::Int(_) => "Int",
            FieldValue::Uint(_) => "Uint",
            FieldValue::Str(_) => "String",
            FieldValue::Bool(_) => "Bool",
        }
    }

    /// What Go's `%#v` prints for the decoder's internal `lineprotocol.Value` (a number plus
    /// either the string bytes or a one-byte kind sentinel); the reference puts it into the
    /// "unknown field" error message.
    pub fn go_display(&self) -> String {
        let (number, bytes): (u64, &[u8]) = match self {
            FieldValue::Float(v) => (v.to_bits(), b"f"),
            // Go stores the integer's two's-complement bits.
            FieldValue::Int(v) => (*v as u64, b"i"),
            FieldValue::Uint(v) => (*v, b"u"),
            FieldValue::Bool(v) => (u64::from(*v), b"b"),
            FieldValue::Str(s) => (0, s.as_bytes()),
        };
        let bytes: Vec<String> = bytes.iter().map(|b| format!("{b:#x}")).collect();
        format!(
            "lineprotocol.Value{{number:{number:#x}, bytes:[]uint8{{{}}}}}",
            bytes.join(", ")
        )
    }
}

/// The parts of an entry, in the order they appear; the decoder only moves forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Section {
    Measurement,
    Tags,
    Fields,
    Time,
    /// Recovery state after a syntax error: the rest of the line is discarded.
    Newline,
    End,
}

/// A set of byte values (bit `b` set when `b` is a member).
#[derive(Clone, Copy)]
struct ByteSet([u64; 4]);

impl ByteSet {
    const fn of(bytes: &[u8]) -> Self {
        let mut words = [0u64; 4];
        let mut i = 0;
        while i < bytes.len() {
            words[(bytes[i] / 64) as usize] |= 1 << (bytes[i] % 64);
            i += 1;
        }
        ByteSet(words)
    }

    const fn range(first: u8, last: u8) -> Self {
        let mut words = [0u64; 4];
        let mut b = first;
        while b <= last {
            words[(b / 64) as usize] |= 1 << (b % 64);
            b += 1;
        }
        ByteSet(words)
    }

    const fn union(self, other: ByteSet) -> Self {
        let (a, b) = (self.0, other.0);
        ByteSet([a[0] | b[0], a[1] | b[1], a[2] | b[2], a[3] | b[3]])
    }

    const fn invert(self) -> Self {
        let a = self.0;
        ByteSet([!a[0], !a[1], !a[2], !a[3]])
    }

    const fn contains(&self, b: u8) -> bool {
        self.0[(b / 64) as usize] & (1 << (b % 64)) != 0
    }
}

const WHITESPACE: ByteSet = ByteSet::of(b" \r\n");
const NON_PRINTABLE: ByteSet = ByteSet::range(0, 31).union(ByteSet::of(b"\x7f"));
const EOL: ByteSet = ByteSet::of(b"\r\n");
const NOT_EOL: ByteSet = EOL.invert();
const NOT_NEWLINE: ByteSet = ByteSet::of(b"\n").invert();
/// Comment text: printable bytes only (the end-of-line bytes are non-printable too).
const COMMENT_CHARS: ByteSet = NON_PRINTABLE.invert();
const FIELD_VALUE_CHARS: ByteSet = ByteSet::of(b",").union(WHITESPACE).invert();
const TIME_CHARS: ByteSet = ByteSet::of(b"-0123456789");

/// Which bytes a token may contain and which backslash escapes it understands. A backslash
/// before any other byte stays literal.
struct TokenSyntax {
    chars: ByteSet,
    /// (byte after the backslash, byte it stands for)
    escapes: &'static [(u8, u8)],
}

impl TokenSyntax {
    fn unescape(&self, escaped: u8) -> Option<u8> {
        self.escapes
            .iter()
            .find(|(after_backslash, _)| *after_backslash == escaped)
            .map(|(_, replacement)| *replacement)
    }
}

const MEASUREMENT: TokenSyntax = TokenSyntax {
    chars: ByteSet::of(b", ").union(NON_PRINTABLE).invert(),
    escapes: &[(b' ', b' '), (b',', b',')],
};
/// Tag keys, tag values and field keys.
const KEY_OR_TAG_VALUE: TokenSyntax = TokenSyntax {
    chars: ByteSet::of(b",=")
        .union(WHITESPACE)
        .union(NON_PRINTABLE)
        .invert(),
    escapes: &[(b',', b','), (b'=', b'='), (b' ', b' ')],
};
/// The inside of a double-quoted string field (which may span lines).
const STRING_FIELD: TokenSyntax = TokenSyntax {
    chars: ByteSet::of(b"\"").invert(),
    escapes: &[
        (b'\\', b'\\'),
        (b'"', b'"'),
        (b'n', b'\n'),
        (b'r', b'\r'),
        (b't', b'\t'),
    ],
};

const OUT_OF_RANGE: &str = "line-protocol value out of range";

/// A field as it appears in the text, before its value is parsed.
struct RawField<'a> {
    key: Cow<'a, str>,
    value_start: usize,
    value: RawValue<'a>,
}

enum RawValue<'a> {
    Float(&'a [u8]),
    Int(&'a [u8]),
    Uint(&'a [u8]),
    Bool(&'a [u8]),
    Str(Cow<'a, str>),
}

/// Decodes a line-protocol body entry by entry.
///
/// Call [`next_line`](Self::next_line), then [`measurement`](Self::measurement),
/// [`next_tag`](Self::next_tag) until `None`, [`next_field`](Self::next_field) until `None` and
/// [`timestamp`](Self::timestamp). Calling a later step skips the unread earlier parts (their
/// syntax errors are still reported); calling an earlier step after a later one returns nothing.
/// After a syntax error, `next_line` skips the rest of the line.
pub struct Decoder<'a> {
    body: &'a [u8],
    /// Read position.
    pos: usize,
    /// Start of the current entry: error columns count from here.
    entry_start: usize,
    /// 1-based line number at `pos`.
    line: usize,
    section: Section,
    /// Set while passing over parts the caller did not ask for: tokens are then not unescaped.
    skipping: bool,
}

impl<'a> Decoder<'a> {
    pub fn new(body: &'a [u8]) -> Self {
        Decoder {
            body,
            pos: 0,
            entry_start: 0,
            line: 1,
            section: Section::End,
            skipping: false,
        }
    }

    /// Advances to the next line that is neither empty nor a `#` comment, skipping whatever is
    /// left of the current line; false at the end of the body.
    pub fn next_line(&mut self) -> bool {
        // A syntax error while skipping switches to the newline section (or leaves the decoder at
        // the end of the entry), so the second attempt at the latest finishes the line.
        while self.advance_to_section(Section::End).is_err() {}
        self.skip_empty_lines();
        self.section = Section::Measurement;
        self.pos < self.body.len()
    }

    /// The measurement (metric name) of the current entry; empty when called out of order.
    pub fn measurement(&mut self) -> Result<Cow<'a, str>, SyntaxError> {
        if !self.advance_to_section(Section::Measurement)? {
            return Ok(Cow::Borrowed(""));
        }
        self.entry_start = self.pos;
        let (start, name) = self.take_token(&MEASUREMENT)?;
        if name.is_empty() {
            let reason = match self.peek() {
                None => "no measurement name found".to_owned(),
                Some(b) => format!(
                    "invalid character {} found at start of measurement name",
                    go_quote_byte(b)
                ),
            };
            return Err(self.syntax_error(start, reason));
        }
        if name.starts_with('#') {
            // A comment line with a non-printable byte is left for the measurement to reject.
            return Err(self.syntax_error(start, "invalid character found in comment line".into()));
        }
        self.advance_tag_comma()?;
        self.section = Section::Tags;
        Ok(name)
    }

    /// The next tag as (key, value), or `None` after the last one.
    pub fn next_tag(&mut self) -> Result<Option<Tag<'a>>, SyntaxError> {
        if !self.advance_to_section(Section::Tags)? {
            return Ok(None);
        }
        if self.peek() == Some(b' ') {
            self.discard_spaces();
            self.section = Section::Fields;
            return Ok(None);
        }
        let (key_start, key) = self.take_token(&KEY_OR_TAG_VALUE)?;
        match self.peek() {
            Some(b'=') if !key.is_empty() => {}
            next => {
                let reason = match (next, key.is_empty()) {
                    (None, true) => {
                        "expected tag key or field but found end of input instead".into()
                    }
                    (None, false) => format!(
                        "expected '=' after tag key {}, but got end of input instead",
                        go_quote(key.as_bytes())
                    ),
                    (Some(b), false) => format!(
                        "expected '=' after tag key {}, but got {} instead",
                        go_quote(key.as_bytes()),
                        go_quote_byte(b)
                    ),
                    (Some(b'='), true) => "empty tag key".into(),
                    (Some(b), true) => format!(
                        "expected tag key or field but found {} instead",
                        go_quote_byte(b)
                    ),
                };
                return Err(self.syntax_error(key_start, reason));
            }
        }
        self.pos += 1;
        let (value_start, value) = self.take_token(&KEY_OR_TAG_VALUE)?;
        if value.is_empty() {
            let reason = format!(
                "expected tag value after tag key {}, but none found",
                go_quote(key.as_bytes())
            );
            return Err(self.syntax_error(value_start, reason));
        }
        if self.pos == self.body.len() {
            // The missing fields are reported by the next step, so all tags can still be read.
            self.section = Section::Fields;
            return Ok(Some((key, value)));
        }
        self.advance_tag_comma()?;
        Ok(Some((key, value)))
    }

    /// The next field as (key, value), or `None` after the last one.
    pub fn next_field(&mut self) -> Result<Option<Field<'a>>, SyntaxError> {
        if !self.advance_to_section(Section::Fields)? {
            return Ok(None);
        }
        let Some(field) = self.next_raw_field()? else {
            return Ok(None);
        };
        match parse_value(field.value) {
            Ok(value) => Ok(Some((field.key, value))),
            Err(cause) => {
                let reason = format!(
                    "cannot parse value for field key {}: {cause}",
                    go_quote(field.key.as_bytes())
                );
                Err(self.syntax_error(field.value_start, reason))
            }
        }
    }

    /// The entry's timestamp in Unix seconds, or `None` when it has none (the caller then uses
    /// "now"). The unit is told by magnitude: |v| < 1e11 seconds, < 1e14 milliseconds,
    /// < 1e17 microseconds, otherwise nanoseconds; finer units are rounded down to the second.
    pub fn timestamp(&mut self) -> Result<Option<i64>, SyntaxError> {
        if !self.advance_to_section(Section::Time)? {
            return Ok(None);
        }
        let start = self.pos;
        let Some(digits) = self.take_time()? else {
            return Ok(None);
        };
        match parse_integer::<i64>(digits, "invalid syntax") {
            Ok(raw) => Ok(Some(unix_seconds(raw))),
            Err(cause) => {
                let reason = format!("invalid timestamp ({}): {cause}", go_quote(digits));
                Err(self.syntax_error(start, reason))
            }
        }
    }

    /// The next field with its value still as text (what skipping needs).
    fn next_raw_field(&mut self) -> Result<Option<RawField<'a>>, SyntaxError> {
        if !self.advance_to_section(Section::Fields)? {
            return Ok(None);
        }
        let (key_start, key) = self.take_token(&KEY_OR_TAG_VALUE)?;
        if key.is_empty() {
            let reason = match self.peek() {
                None => "expected field key but none found".to_owned(),
                Some(b) => format!(
                    "invalid character {} found at start of field key",
                    go_quote_byte(b)
                ),
            };
            return Err(self.syntax_error(key_start, reason));
        }
        let quoted_key = || go_quote(key.as_bytes());
        match self.peek() {
            Some(b'=') => self.pos += 1,
            next => {
                let found = next.map_or("end of input".to_owned(), go_quote_byte);
                let reason = format!("want '=' after field key {}, found {found}", quoted_key());
                return Err(self.syntax_error(self.pos, reason));
            }
        }
        let value_start = self.pos;
        let value = match self.peek() {
            None => {
                let reason = format!(
                    "expected value for field {}, found end of input",
                    quoted_key()
                );
                return Err(self.syntax_error(self.pos, reason));
            }
            Some(b'"') => {
                self.pos += 1;
                let (text_start, text) = self.take_token(&STRING_FIELD)?;
                // The string stops only at a quote or at the end of the body.
                if self.pos == self.body.len() {
                    let reason = format!(
                        "expected closing quote for string field {}, found end of input",
                        quoted_key()
                    );
                    return Err(self.syntax_error(text_start - 1, reason));
                }
                self.pos += 1;
                RawValue::Str(text)
            }
            Some(b't' | b'T' | b'f' | b'F') => RawValue::Bool(self.take(FIELD_VALUE_CHARS)),
            Some(b'-' | b'0'..=b'9' | b'.') => {
                let text = self.take(FIELD_VALUE_CHARS);
                match text.split_last() {
                    Some((b'i', digits)) => RawValue::Int(digits),
                    Some((b'u', digits)) => RawValue::Uint(digits),
                    _ => RawValue::Float(text),
                }
            }
            Some(b' ' | b',') => {
                let reason = format!("missing field value for field {}", quoted_key());
                return Err(self.syntax_error(self.pos, reason));
            }
            Some(_) => {
                let text = self.take(FIELD_VALUE_CHARS);
                let reason = format!(
                    "value for field {} ({}) has unrecognized type",
                    quoted_key(),
                    go_quote(text)
                );
                return Err(self.syntax_error(value_start, reason));
            }
        };
        match self.peek() {
            None => self.section = Section::End,
            Some(b',') => self.pos += 1,
            Some(b) if WHITESPACE.contains(b) => {
                self.discard_spaces();
                self.section = if self.take_eol() {
                    Section::End
                } else {
                    Section::Time
                };
            }
            Some(b) => {
                let reason = format!(
                    "unexpected character {} after field {}",
                    go_quote_byte(b),
                    quoted_key()
                );
                return Err(self.syntax_error(self.pos, reason));
            }
        }
        Ok(Some(RawField {
            key,
            value_start,
            value,
        }))
    }

    /// The timestamp digits (`None` when the entry has no timestamp) and the end of the line.
    fn take_time(&mut self) -> Result<Option<&'a [u8]>, SyntaxError> {
        if !self.advance_to_section(Section::Time)? {
            return Ok(None);
        }
        let start = self.pos;
        let digits = Some(self.take(TIME_CHARS)).filter(|digits| !digits.is_empty());
        if digits.is_none() {
            self.section = Section::End;
        }
        match self.peek() {
            None => {
                self.section = Section::End;
                return Ok(digits);
            }
            Some(b) if !WHITESPACE.contains(b) => {
                // Take the rest of the line so the message shows the whole bad timestamp.
                self.take(NOT_EOL);
                let reason = format!(
                    "invalid timestamp ({})",
                    go_quote(&self.body[start..self.pos])
                );
                return Err(self.syntax_error(start, reason));
            }
            Some(_) => self.discard_spaces(),
        }
        if self.pos < self.body.len() && !self.take_eol() {
            let extra_start = self.pos;
            let extra = self.take(NOT_EOL);
            let reason = format!("unexpected text after timestamp ({})", go_quote(extra));
            return Err(self.syntax_error(extra_start, reason));
        }
        self.section = Section::End;
        Ok(digits)
    }

    /// Consumes a comma after the measurement or a tag value, which must start another tag.
    fn advance_tag_comma(&mut self) -> Result<(), SyntaxError> {
        if self.peek() != Some(b',') {
            return Ok(());
        }
        self.pos += 1;
        let reason = match self.peek() {
            None => "expected tag key after comma; got end of input",
            Some(b) if WHITESPACE.contains(b) => {
                "expected tag key after comma; got white space instead"
            }
            Some(_) => return Ok(()),
        };
        Err(self.syntax_error(self.pos, reason.into()))
    }

    /// Moves on to `target`, passing over the sections in between. False when the decoder is
    /// already past `target`.
    fn advance_to_section(&mut self, target: Section) -> Result<bool, SyntaxError> {
        if self.section == target {
            return Ok(true);
        }
        if self.section > target {
            return Ok(false);
        }
        self.skipping = true;
        let passed = self.pass_sections_before(target);
        self.skipping = false;
        passed?;
        Ok(self.section == target)
    }

    fn pass_sections_before(&mut self, target: Section) -> Result<(), SyntaxError> {
        while self.section < target {
            match self.section {
                Section::Measurement => {
                    self.measurement()?;
                }
                Section::Tags => while self.next_tag()?.is_some() {},
                Section::Fields => while self.next_raw_field()?.is_some() {},
                Section::Time => {
                    self.take_time()?;
                }
                Section::Newline => self.consume_line(),
                Section::End => {}
            }
        }
        Ok(())
    }

    /// Discards everything up to and including the next newline.
    fn consume_line(&mut self) {
        self.take(NOT_NEWLINE);
        if self.peek() == Some(b'\n') {
            self.pos += 1;
            self.line += 1;
        }
        self.entry_start = self.pos;
        self.section = Section::End;
    }

    /// Skips blank lines and comment lines. A comment with a non-printable byte is left in place
    /// so that `measurement` reports it.
    fn skip_empty_lines(&mut self) {
        loop {
            let line_start = self.pos;
            self.discard_spaces();
            match self.peek() {
                Some(b'#') => {
                    self.take(COMMENT_CHARS);
                    if !self.take_eol() {
                        self.pos = line_start;
                        return;
                    }
                }
                Some(b'\n') => {
                    self.pos += 1;
                    self.line += 1;
                }
                // A carriage return not followed by a newline is left for `measurement` to reject.
                Some(b'\r') if self.take_eol() => {}
                _ => return,
            }
        }
    }

    /// Consumes a line ending (`\n`, `\r\n`, or `\r` at the end of the body); true also at the
    /// end of the body.
    fn take_eol(&mut self) -> bool {
        match (self.peek(), self.body.get(self.pos + 1)) {
            (None, _) => true,
            (Some(b'\r'), None) => {
                self.pos += 1;
                true
            }
            (Some(b'\n'), _) => {
                self.pos += 1;
                self.line += 1;
                true
            }
            (Some(b'\r'), Some(b'\n')) => {
                self.pos += 2;
                self.line += 1;
                true
            }
            _ => false,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.body.get(self.pos).copied()
    }

    fn take(&mut self, set: ByteSet) -> &'a [u8] {
        let start = self.pos;
        while self.peek().is_some_and(|b| set.contains(b)) {
            self.pos += 1;
        }
        &self.body[start..self.pos]
    }

    fn discard_spaces(&mut self) {
        while self.peek() == Some(b' ') {
            self.pos += 1;
        }
    }

    /// Takes a token of the given syntax, unescaped (borrowed when it has no escapes) and checked
    /// to be UTF-8, together with its start position.
    fn take_token(&mut self, syntax: &TokenSyntax) -> Result<(usize, Cow<'a, str>), SyntaxError> {
        let start = self.pos;
        let mut unescaped: Option<Vec<u8>> = None;
        let mut plain_start = start;
        while let Some(b) = self.peek() {
            if b != b'\\' {
                if !syntax.chars.contains(b) {
                    break;
                }
                self.pos += 1;
                continue;
            }
            let Some(&escaped) = self.body.get(self.pos + 1) else {
                // A backslash at the end of the body is kept.
                self.pos += 1;
                break;
            };
            match syntax.unescape(escaped) {
                // The backslash stays; the byte after it is examined on its own.
                None => self.pos += 1,
                Some(replacement) => {
                    if !self.skipping {
                        let out = unescaped.get_or_insert_with(Vec::new);
                        out.extend_from_slice(&self.body[plain_start..self.pos]);
                        out.push(replacement);
                    }
                    self.pos += 2;
                    plain_start = self.pos;
                }
            }
        }
        let raw = &self.body[start..self.pos];
        if syntax.chars.contains(b'\n') {
            self.line += raw.iter().filter(|&&b| b == b'\n').count();
        }
        let token = match unescaped {
            None => std::str::from_utf8(raw)
                .map(Cow::Borrowed)
                .map_err(|_| raw.to_vec()),
            Some(mut out) => {
                out.extend_from_slice(&self.body[plain_start..self.pos]);
                String::from_utf8(out)
                    .map(Cow::Owned)
                    .map_err(|e| e.into_bytes())
            }
        };
        match token {
            Ok(token) => Ok((start, token)),
            Err(bytes) => {
                let reason = format!("invalid utf-8 sequence in token {}", go_quote(&bytes));
                Err(self.syntax_error(start, reason))
            }
        }
    }

    /// Builds the error for position `at` of the current entry and abandons the rest of the line.
    fn syntax_error(&mut self, at: usize, reason: String) -> SyntaxError {
        let before = &self.body[self.entry_start..at];
        let column = match before.iter().rposition(|&b| b == b'\n') {
            Some(newline) => before.len() - newline,
            None => before.len() + 1,
        };
        let newlines_after = self.body[at..self.pos]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        if self.section != Section::End {
            self.section = Section::Newline;
        }
        SyntaxError {
            line: self.line - newlines_after,
            column,
            reason,
        }
    }
}

fn parse_value(raw: RawValue<'_>) -> Result<FieldValue<'_>, String> {
    match raw {
        RawValue::Str(text) => Ok(FieldValue::Str(text)),
        RawValue::Int(text) => {
            parse_integer(text, "invalid integer value syntax").map(FieldValue::Int)
        }
        RawValue::Uint(text) => {
            parse_integer(text, "invalid unsigned integer value syntax").map(FieldValue::Uint)
        }
        RawValue::Float(text) => parse_float(text).map(FieldValue::Float),
        RawValue::Bool(text) => match text {
            b"t" | b"T" | b"true" | b"True" | b"TRUE" => Ok(FieldValue::Bool(true)),
            b"f" | b"F" | b"false" | b"False" | b"FALSE" => Ok(FieldValue::Bool(false)),
            _ => Err(format!("invalid bool value {}", go_quote(text))),
        },
    }
}

/// Parses a decimal integer like Go's `strconv.ParseInt`/`ParseUint` with base 10, reporting
/// overflow as out of range and anything else as `syntax_reason`.
fn parse_integer<T: FromStr<Err = ParseIntError>>(
    text: &[u8],
    syntax_reason: &str,
) -> Result<T, String> {
    let text = std::str::from_utf8(text).map_err(|_| syntax_reason.to_owned())?;
    text.parse().map_err(|e: ParseIntError| match e.kind() {
        IntErrorKind::PosOverflow | IntErrorKind::NegOverflow => OUT_OF_RANGE.to_owned(),
        _ => syntax_reason.to_owned(),
    })
}

/// Parses a float like Go's `strconv.ParseFloat` followed by the decoder's finiteness check.
/// The text starts with `-`, a digit or `.`, so the only NaN spelling that gets here is a signed
/// one, which Go rejects as bad syntax.
fn parse_float(text: &[u8]) -> Result<f64, String> {
    const SYNTAX: &str = "invalid float value syntax";
    let text_str = std::str::from_utf8(text).map_err(|_| SYNTAX.to_owned())?;
    let value: f64 = text_str.parse().map_err(|_| SYNTAX.to_owned())?;
    if value.is_nan() {
        return Err(SYNTAX.to_owned());
    }
    if value.is_infinite() {
        return Err(if text_str.contains(['i', 'I']) {
            format!(
                "non-number {} cannot be represented as a line-protocol field value",
                go_quote(text)
            )
        } else {
            OUT_OF_RANGE.to_owned()
        });
    }
    Ok(value)
}

/// Converts a timestamp of unknown unit to whole Unix seconds (rounding toward −∞).
fn unix_seconds(raw: i64) -> i64 {
    let units_per_second = match raw.unsigned_abs() {
        m if m < 100_000_000_000 => 1,
        m if m < 100_000_000_000_000 => 1_000,
        m if m < 100_000_000_000_000_000 => 1_000_000,
        _ => 1_000_000_000,
    };
    raw.div_euclid(units_per_second)
}

/// Go's `%q` of a byte slice (`strconv.Quote`): invalid UTF-8 bytes as `\xNN`.
fn go_quote(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            push_go_escaped(&mut out, c, '"');
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out.push('"');
    out
}

/// Go's `%q` of a byte, which Go formats as the character with that code point.
fn go_quote_byte(b: u8) -> String {
    let mut out = String::from('\'');
    push_go_escaped(&mut out, char::from(b), '\'');
    out.push('\'');
    out
}

fn push_go_escaped(out: &mut String, c: char, quote: char) {
    match c {
        _ if c == quote || c == '\\' => {
            out.push('\\');
            out.push(c);
        }
        _ if is_go_printable(c) => out.push(c),
        '\x07' => out.push_str("\\a"),
        '\x08' => out.push_str("\\b"),
        '\x0c' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\x0b' => out.push_str("\\v"),
        '\0'..='\x1f' | '\x7f' => out.push_str(&format!("\\x{:02x}", u32::from(c))),
        '\u{80}'..='\u{ffff}' => out.push_str(&format!("\\u{:04x}", u32::from(c))),
        _ => out.push_str(&format!("\\U{:08x}", u32::from(c))),
    }
}

/// Approximates Go's `strconv.IsPrint` without Unicode tables: control, format, separator,
/// private-use and noncharacter code points are escaped; unassigned ones are printed as is.
fn is_go_printable(c: char) -> bool {
    let cp = u32::from(c);
    let not_printable = matches!(
        cp,
        0..=0x1f
            | 0x7f..=0xa0
            | 0xad
            | 0x600..=0x605
            | 0x61c
            | 0x6dd
            | 0x70f
            | 0x1680
            | 0x180e
            | 0x2000..=0x200f
            | 0x2028..=0x202f
            | 0x205f..=0x206f
            | 0x3000
            | 0xe000..=0xf8ff
            | 0xfdd0..=0xfdef
            | 0xfeff
            | 0xfff9..=0xfffb
            | 0xe0001
            | 0xe0020..=0xe007f
            | 0xf0000..
    ) || cp & 0xfffe == 0xfffe;
    !not_printable
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One decoded entry: measurement, tags, fields and timestamp, or the first error.
    #[derive(Debug, PartialEq)]
    struct Entry {
        measurement: String,
        tags: Vec<(String, String)>,
        fields: Vec<(String, FieldValue<'static>)>,
        timestamp: Option<i64>,
    }

    fn owned(value: FieldValue<'_>) -> FieldValue<'static> {
        match value {
            FieldValue::Str(s) => FieldValue::Str(Cow::Owned(s.into_owned())),
            FieldValue::Float(v) => FieldValue::Float(v),
            FieldValue::Int(v) => FieldValue::Int(v),
            FieldValue::Uint(v) => FieldValue::Uint(v),
            FieldValue::Bool(v) => FieldValue::Bool(v),
        }
    }

    fn decode_entry(decoder: &mut Decoder<'_>) -> Result<Entry, SyntaxError> {
        let measurement = decoder.measurement()?.into_owned();
        let mut tags = Vec::new();
        while let Some((key, value)) = decoder.next_tag()? {
            tags.push((key.into_owned(), value.into_owned()));
        }
        let mut fields = Vec::new();
        while let Some((key, value)) = decoder.next_field()? {
            fields.push((key.into_owned(), owned(value)));
        }
        let timestamp = decoder.timestamp()?;
        Ok(Entry {
            measurement,
            tags,
            fields,
            timestamp,
        })
    }

    /// Decodes every line of `body`, keeping going after errors like the Go decoder.
    fn decode_all(body: &[u8]) -> Vec<Result<Entry, SyntaxError>> {
        let mut decoder = Decoder::new(body);
        let mut entries = Vec::new();
        while decoder.next_line() {
            entries.push(decode_entry(&mut decoder));
        }
        entries
    }

    fn decode_one(body: &str) -> Result<Entry, SyntaxError> {
        let mut entries = decode_all(body.as_bytes());
        assert_eq!(entries.len(), 1, "entries of {body:?}: {entries:?}");
        entries.remove(0)
    }

    fn error_text(body: &str) -> String {
        decode_one(body).expect_err(body).to_string()
    }

    fn tag(key: &str, value: &str) -> (String, String) {
        (key.to_owned(), value.to_owned())
    }

    fn field(key: &str, value: FieldValue<'static>) -> (String, FieldValue<'static>) {
        (key.to_owned(), value)
    }

    #[test]
    fn decodes_a_typical_line() {
        let entry = decode_one(
            "cpu_user,cluster=alex,hostname=a0603,type=hwthread,type-id=17 value=42.0 1700000000",
        )
        .unwrap();
        assert_eq!(
            entry,
            Entry {
                measurement: "cpu_user".into(),
                tags: vec![
                    tag("cluster", "alex"),
                    tag("hostname", "a0603"),
                    tag("type", "hwthread"),
                    tag("type-id", "17"),
                ],
                fields: vec![field("value", FieldValue::Float(42.0))],
                timestamp: Some(1_700_000_000),
            }
        );
    }

    #[test]
    fn decodes_every_value_kind() {
        let entry = decode_one(
            r#"m a=1.5,b=-2e3,c=.5,d=7,e=-5i,f=5u,g="text",h=t,i=T,j=true,k=True,l=TRUE,m=f,n=F,o=false,p=False,q=FALSE,r="""#,
        )
        .unwrap();
        let expected = vec![
            field("a", FieldValue::Float(1.5)),
            field("b", FieldValue::Float(-2000.0)),
            field("c", FieldValue::Float(0.5)),
            field("d", FieldValue::Float(7.0)),
            field("e", FieldValue::Int(-5)),
            field("f", FieldValue::Uint(5)),
            field("g", FieldValue::Str("text".into())),
            field("h", FieldValue::Bool(true)),
            field("i", FieldValue::Bool(true)),
            field("j", FieldValue::Bool(true)),
            field("k", FieldValue::Bool(true)),
            field("l", FieldValue::Bool(true)),
            field("m", FieldValue::Bool(false)),
            field("n", FieldValue::Bool(false)),
            field("o", FieldValue::Bool(false)),
            field("p", FieldValue::Bool(false)),
            field("q", FieldValue::Bool(false)),
            field("r", FieldValue::Str("".into())),
        ];
        assert_eq!(entry.fields, expected);
        assert_eq!(entry.timestamp, None);
    }

    #[test]
    fn integer_limits_are_accepted() {
        let entry = decode_one("m a=-9223372036854775808i,b=18446744073709551615u").unwrap();
        assert_eq!(
            entry.fields,
            vec![
                field("a", FieldValue::Int(i64::MIN)),
                field("b", FieldValue::Uint(u64::MAX)),
            ]
        );
    }

    #[test]
    fn unescapes_every_position() {
        let body = r#"cpu\,x\ y,a\=b\,c\ d=v\=1\,2\ 3 f\ k\=\,="q\"b\\c\nd\re\tf\v" 5"#;
        let entry = decode_one(body).unwrap();
        assert_eq!(entry.measurement, "cpu,x y");
        assert_eq!(entry.tags, vec![tag("a=b,c d", "v=1,2 3")]);
        assert_eq!(
            entry.fields,
            vec![field(
                "f k=,",
                FieldValue::Str("q\"b\\c\nd\re\tf\\v".into())
            )]
        );
        assert_eq!(entry.timestamp, Some(5));
    }

    #[test]
    fn backslashes_before_other_bytes_stay() {
        // `\=` is no escape in a measurement, `\\` none in tags; a trailing backslash stays too.
        let entry = decode_one(r"m\=x\y,host=two\\\ words va\lue=1").unwrap();
        assert_eq!(entry.measurement, r"m\=x\y");
        assert_eq!(entry.tags, vec![tag("host", r"two\\ words")]);
        assert_eq!(entry.fields, vec![field(r"va\lue", FieldValue::Float(1.0))]);

        let mut decoder = Decoder::new(br#"m s="a\"#);
        assert!(decoder.next_line());
        decoder.measurement().unwrap();
        assert_eq!(
            decoder.next_field().unwrap_err().to_string(),
            r#"at line 1:5: expected closing quote for string field "s", found end of input"#
        );
    }

    #[test]
    fn tokens_without_escapes_are_borrowed() {
        let mut decoder = Decoder::new(br#"cpu,host=a value=1,s="x" 1"#);
        assert!(decoder.next_line());
        assert!(matches!(
            decoder.measurement().unwrap(),
            Cow::Borrowed("cpu")
        ));
        let (key, value) = decoder.next_tag().unwrap().unwrap();
        assert!(matches!(
            (key, value),
            (Cow::Borrowed("host"), Cow::Borrowed("a"))
        ));
        assert!(decoder.next_tag().unwrap().is_none());
        assert!(matches!(
            decoder.next_field().unwrap().unwrap().0,
            Cow::Borrowed("value")
        ));
        assert!(matches!(
            decoder.next_field().unwrap().unwrap().1,
            FieldValue::Str(Cow::Borrowed("x"))
        ));

        let mut decoder = Decoder::new(br"c\ pu value=1");
        assert!(decoder.next_line());
        assert!(matches!(decoder.measurement().unwrap(), Cow::Owned(name) if name == "c pu"));
    }

    #[test]
    fn skips_blank_lines_and_comments_and_accepts_crlf() {
        let body = b"\n   \n# comment\r\n   # indented comment\n\r\ncpu value=1 1700000000\r\n\r\nmem value=2i\r\n# end";
        let entries = decode_all(body);
        assert_eq!(entries.len(), 2);
        let first = entries[0].as_ref().unwrap();
        assert_eq!(first.measurement, "cpu");
        assert_eq!(first.timestamp, Some(1_700_000_000));
        let second = entries[1].as_ref().unwrap();
        assert_eq!(second.measurement, "mem");
        assert_eq!(second.fields, vec![field("value", FieldValue::Int(2))]);
        assert_eq!(second.timestamp, None);
    }

    #[test]
    fn leading_spaces_and_extra_separating_spaces_are_allowed() {
        let entry = decode_one("  m,t=1  x=1   1700000000   ").unwrap();
        assert_eq!(entry.measurement, "m");
        assert_eq!(entry.tags, vec![tag("t", "1")]);
        assert_eq!(entry.timestamp, Some(1_700_000_000));
        // Columns count from the measurement, as in the Go decoder.
        assert_eq!(
            error_text("   cpu_load"),
            "at line 1:9: expected tag key or field but found end of input instead"
        );
    }

    #[test]
    fn error_lines_count_crlf_lines() {
        let entries = decode_all(b"a value=1\r\nb value=2\r\nc value=x\r\n");
        assert_eq!(entries.len(), 3);
        assert_eq!(
            entries[2].as_ref().unwrap_err().to_string(),
            "at line 3:9: value for field \"value\" (\"x\") has unrecognized type"
        );
    }

    #[test]
    fn timestamps_of_every_unit_give_the_same_second() {
        for stamp in [
            "1700000000",
            "1700000000123",
            "1700000000123456",
            "1700000000123456789",
        ] {
            let entry = decode_one(&format!("m value=1 {stamp}")).unwrap();
            assert_eq!(entry.timestamp, Some(1_700_000_000), "{stamp}");
        }
    }

    #[test]
    fn timestamps_round_toward_negative_infinity() {
        let cases = [
            ("-5", -5),
            ("0", 0),
            ("99999999999", 99_999_999_999),
            ("100000000000", 100_000_000),
            ("-1700000000500", -1_700_000_001),
            ("-1700000000000500", -1_700_000_001),
            ("-1700000000000000001", -1_700_000_001),
            ("9223372036854775807", 9_223_372_036),
            ("-9223372036854775808", -9_223_372_037),
        ];
        for (stamp, seconds) in cases {
            let entry = decode_one(&format!("m value=1 {stamp}")).unwrap();
            assert_eq!(entry.timestamp, Some(seconds), "{stamp}");
        }
    }

    #[test]
    fn garbage_timestamps_are_syntax_errors() {
        let cases = [
            (
                "m value=1 1.5",
                r#"at line 1:11: invalid timestamp ("1.5")"#,
            ),
            (
                "m value=1 abc",
                r#"at line 1:11: invalid timestamp ("abc")"#,
            ),
            (
                "m value=1 17e8 next",
                r#"at line 1:11: invalid timestamp ("17e8 next")"#,
            ),
            (
                "m value=1 1700000000 x",
                r#"at line 1:22: unexpected text after timestamp ("x")"#,
            ),
            (
                "m value=1 1-2",
                r#"at line 1:11: invalid timestamp ("1-2"): invalid syntax"#,
            ),
            (
                "m value=1 9223372036854775808",
                r#"at line 1:11: invalid timestamp ("9223372036854775808"): line-protocol value out of range"#,
            ),
            (
                "m value=1 -9223372036854775809",
                r#"at line 1:11: invalid timestamp ("-9223372036854775809"): line-protocol value out of range"#,
            ),
        ];
        for (body, expected) in cases {
            assert_eq!(error_text(body), expected, "{body}");
        }
    }

    #[test]
    fn reports_syntax_errors_like_the_go_decoder() {
        let cases = [
            (
                "cpu_load",
                "at line 1:9: expected tag key or field but found end of input instead",
            ),
            ("cpu ", "at line 1:5: expected field key but none found"),
            (
                "cpu,host=a",
                "at line 1:11: expected field key but none found",
            ),
            (
                "TestBuckét,\u{20}FieldOne=Happy",
                "at line 1:13: expected tag key after comma; got white space instead",
            ),
            (
                "m,",
                "at line 1:3: expected tag key after comma; got end of input",
            ),
            (
                "TestBucket FieldOné=Happy,FieldTwo=sad",
                r#"at line 1:22: value for field "FieldOné" ("Happy") has unrecognized type"#,
            ),
            (
                "m f=1,\x01=1,\x01=2",
                r"at line 1:7: invalid character '\x01' found at start of field key",
            ),
            (
                "m foo\x01=bar",
                r#"at line 1:6: want '=' after field key "foo", found '\x01'"#,
            ),
            (
                "m foo",
                r#"at line 1:6: want '=' after field key "foo", found end of input"#,
            ),
            (
                "m,foo\x03=bar x=1",
                r#"at line 1:3: expected '=' after tag key "foo", but got '\x03' instead"#,
            ),
            (
                "m,foo=bar\x02 x=1",
                r"at line 1:10: expected tag key or field but found '\x02' instead",
            ),
            ("m,=bar", "at line 1:3: empty tag key"),
            (
                "m,x =y",
                r#"at line 1:3: expected '=' after tag key "x", but got ' ' instead"#,
            ),
            (
                "m,x",
                r#"at line 1:3: expected '=' after tag key "x", but got end of input instead"#,
            ),
            (
                "m,x= v=1",
                r#"at line 1:5: expected tag value after tag key "x", but none found"#,
            ),
            (
                "m value=",
                r#"at line 1:9: expected value for field "value", found end of input"#,
            ),
            (
                "m value= 1",
                r#"at line 1:9: missing field value for field "value""#,
            ),
            (
                "m value=,",
                r#"at line 1:9: missing field value for field "value""#,
            ),
            (
                "m value=\"a\"x",
                r#"at line 1:12: unexpected character 'x' after field "value""#,
            ),
            (
                "m value=\"a\"\\",
                r#"at line 1:12: unexpected character '\\' after field "value""#,
            ),
            (
                "m f=\"hello\ngoodbye\nx\",gé=invalid",
                r#"at line 3:8: value for field "gé" ("invalid") has unrecognized type"#,
            ),
            (
                "m f=\"a\nb\",g=\"c\nd",
                r#"at line 2:6: expected closing quote for string field "g", found end of input"#,
            ),
            (
                "# foo\rxxx",
                "at line 1:1: invalid character found in comment line",
            ),
            (
                ",m value=1",
                "at line 1:1: invalid character ',' found at start of measurement name",
            ),
            (
                "\rm value=1",
                r"at line 1:1: invalid character '\r' found at start of measurement name",
            ),
        ];
        for (body, expected) in cases {
            assert_eq!(error_text(body), expected, "{body:?}");
        }
    }

    #[test]
    fn reports_bad_values_at_the_value() {
        let cases = [
            (
                "m value=12a.0",
                r#"at line 1:9: cannot parse value for field key "value": invalid float value syntax"#,
            ),
            (
                "mmmé é=1e9999999999999",
                r#"at line 1:10: cannot parse value for field key "é": line-protocol value out of range"#,
            ),
            (
                r"m a\ b=1.2.3",
                r#"at line 1:8: cannot parse value for field key "a b": invalid float value syntax"#,
            ),
            (
                "m v=-inf",
                r#"at line 1:5: cannot parse value for field key "v": non-number "-inf" cannot be represented as a line-protocol field value"#,
            ),
            (
                "m v=-Infinity",
                r#"at line 1:5: cannot parse value for field key "v": non-number "-Infinity" cannot be represented as a line-protocol field value"#,
            ),
            (
                "m v=-nan",
                r#"at line 1:5: cannot parse value for field key "v": invalid float value syntax"#,
            ),
            (
                "m v=9223372036854775808i",
                r#"at line 1:5: cannot parse value for field key "v": line-protocol value out of range"#,
            ),
            (
                "m v=1.5i",
                r#"at line 1:5: cannot parse value for field key "v": invalid integer value syntax"#,
            ),
            (
                "m v=-1u",
                r#"at line 1:5: cannot parse value for field key "v": invalid unsigned integer value syntax"#,
            ),
            (
                "m v=18446744073709551616u",
                r#"at line 1:5: cannot parse value for field key "v": line-protocol value out of range"#,
            ),
            (
                "m v=tRuE",
                r#"at line 1:5: cannot parse value for field key "v": invalid bool value "tRuE""#,
            ),
            (
                "m v=1\u{e9}",
                r#"at line 1:5: cannot parse value for field key "v": invalid float value syntax"#,
            ),
        ];
        for (body, expected) in cases {
            assert_eq!(error_text(body), expected, "{body:?}");
        }
    }

    #[test]
    fn invalid_utf8_in_tokens_is_a_syntax_error() {
        let cases: [(&[u8], &str); 4] = [
            (
                b"cp\xffu value=1",
                r#"at line 1:1: invalid utf-8 sequence in token "cp\xffu""#,
            ),
            (
                b"m,h=\xc3 value=1",
                r#"at line 1:5: invalid utf-8 sequence in token "\xc3""#,
            ),
            (
                b"m k\\ \xe2\x82=1",
                r#"at line 1:3: invalid utf-8 sequence in token "k \xe2\x82""#,
            ),
            (
                b"m s=\"\xed\xa0\x80\"",
                r#"at line 1:6: invalid utf-8 sequence in token "\xed\xa0\x80""#,
            ),
        ];
        for (body, expected) in cases {
            let entries = decode_all(body);
            assert_eq!(entries.len(), 1);
            assert_eq!(entries[0].as_ref().unwrap_err().to_string(), expected);
        }
    }

    #[test]
    fn quotes_like_go() {
        assert_eq!(go_quote(b"a\"b\\c\n\x00\x7f"), r#""a\"b\\c\n\x00\x7f""#);
        assert_eq!(
            go_quote("é\u{a0}\u{200b}😀".as_bytes()),
            r#""é\u00a0\u200b😀""#
        );
        assert_eq!(go_quote("\u{f0000}".as_bytes()), r#""\U000f0000""#);
        assert_eq!(go_quote_byte(b'\''), r"'\''");
        assert_eq!(go_quote_byte(b'"'), "'\"'");
        assert_eq!(go_quote_byte(0x07), r"'\a'");
        assert_eq!(go_quote_byte(0xe9), "'é'");
        assert_eq!(go_quote_byte(0x85), r"'\u0085'");
    }

    #[test]
    fn continues_after_an_error_on_the_next_line() {
        let entries = decode_all(b"m1 value=12.0\nm2\nm3 value=2a\nm4 value=4\n");
        assert_eq!(entries.len(), 4);
        assert_eq!(entries[0].as_ref().unwrap().measurement, "m1");
        assert_eq!(
            entries[1].as_ref().unwrap_err().to_string(),
            r"at line 2:3: expected tag key or field but found '\n' instead"
        );
        assert_eq!(
            entries[2].as_ref().unwrap_err().to_string(),
            r#"at line 3:10: cannot parse value for field key "value": invalid float value syntax"#
        );
        assert_eq!(entries[3].as_ref().unwrap().measurement, "m4");
    }

    #[test]
    fn next_line_skips_a_malformed_rest_after_the_measurement() {
        let body = b"unknown,,, garbage=\"open\nunknown2 =\nunknown3\ncpu value=1 1700000000";
        let mut decoder = Decoder::new(body);
        let mut names = Vec::new();
        while decoder.next_line() {
            let name = decoder.measurement().unwrap();
            if name == "cpu" {
                assert_eq!(
                    decode_rest(&mut decoder),
                    (
                        vec![],
                        vec![field("value", FieldValue::Float(1.0))],
                        Some(1_700_000_000)
                    )
                );
            }
            names.push(name);
        }
        assert_eq!(names, ["unknown", "unknown2", "unknown3", "cpu"]);
    }

    type Rest = (
        Vec<(String, String)>,
        Vec<(String, FieldValue<'static>)>,
        Option<i64>,
    );

    fn decode_rest(decoder: &mut Decoder<'_>) -> Rest {
        let mut tags = Vec::new();
        while let Some((key, value)) = decoder.next_tag().unwrap() {
            tags.push((key.into_owned(), value.into_owned()));
        }
        let mut fields = Vec::new();
        while let Some((key, value)) = decoder.next_field().unwrap() {
            fields.push((key.into_owned(), owned(value)));
        }
        (tags, fields, decoder.timestamp().unwrap())
    }

    #[test]
    fn next_line_after_a_partly_read_line() {
        let mut decoder = Decoder::new(b"a,t=1,u=2 x=1,y=2 5\nb,t=3 x=3 6\nc x=4 7");
        assert!(decoder.next_line());
        assert_eq!(decoder.measurement().unwrap(), "a");
        assert_eq!(decoder.next_tag().unwrap().unwrap().0, "t");
        assert!(decoder.next_line());
        assert_eq!(decoder.measurement().unwrap(), "b");
        assert_eq!(decoder.next_tag().unwrap().unwrap().1, "3");
        assert_eq!(decoder.next_field().unwrap().unwrap().0, "x");
        assert!(decoder.next_line());
        assert_eq!(decoder.measurement().unwrap(), "c");
        assert_eq!(decoder.timestamp().unwrap(), Some(7));
        assert!(!decoder.next_line());
    }

    #[test]
    fn later_steps_skip_unread_parts() {
        let mut decoder = Decoder::new(b"m,a\\ b=1 x=1,y=\"s\" 1700000000123");
        assert!(decoder.next_line());
        assert_eq!(decoder.timestamp().unwrap(), Some(1_700_000_000));
        assert!(decoder.next_tag().unwrap().is_none());
        assert!(decoder.next_field().unwrap().is_none());
        assert_eq!(decoder.measurement().unwrap(), "");
        assert!(!decoder.next_line());

        let mut decoder = Decoder::new(b"m,t=1 x=1,y=2");
        assert!(decoder.next_line());
        let (key, value) = decoder.next_field().unwrap().unwrap();
        assert_eq!((key.as_ref(), value), ("x", FieldValue::Float(1.0)));
    }

    #[test]
    fn skipped_parts_still_report_syntax_errors() {
        // Skipped tokens are not unescaped, so the message shows the raw key.
        let mut decoder = Decoder::new(b"m,x\\ y value=1");
        assert!(decoder.next_line());
        assert_eq!(
            decoder.next_field().unwrap_err().to_string(),
            r#"at line 1:3: expected '=' after tag key "x\\ y", but got ' ' instead"#
        );
        let mut decoder = Decoder::new(b"m value=1,bad 17");
        assert!(decoder.next_line());
        assert_eq!(
            decoder.timestamp().unwrap_err().to_string(),
            r#"at line 1:14: want '=' after field key "bad", found ' '"#
        );
    }

    #[test]
    fn steps_before_next_line_return_nothing() {
        let mut decoder = Decoder::new(b"m value=1");
        assert_eq!(decoder.measurement().unwrap(), "");
        assert!(decoder.next_tag().unwrap().is_none());
        assert!(decoder.next_field().unwrap().is_none());
        assert_eq!(decoder.timestamp().unwrap(), None);
        assert!(decoder.next_line());
        assert_eq!(decoder.measurement().unwrap(), "m");
        assert!(!Decoder::new(b"").next_line());
        assert!(!Decoder::new(b"\n  \n# only a comment").next_line());
    }

    #[test]
    fn kinds_and_go_display() {
        let cases = [
            (
                FieldValue::Float(42.0),
                "Float",
                "lineprotocol.Value{number:0x4045000000000000, bytes:[]uint8{0x66}}",
            ),
            (
                FieldValue::Int(-1),
                "Int",
                "lineprotocol.Value{number:0xffffffffffffffff, bytes:[]uint8{0x69}}",
            ),
            (
                FieldValue::Uint(5),
                "Uint",
                "lineprotocol.Value{number:0x5, bytes:[]uint8{0x75}}",
            ),
            (
                FieldValue::Bool(true),
                "Bool",
                "lineprotocol.Value{number:0x1, bytes:[]uint8{0x62}}",
            ),
            (
                FieldValue::Str("ab".into()),
                "String",
                "lineprotocol.Value{number:0x0, bytes:[]uint8{0x61, 0x62}}",
            ),
            (
                FieldValue::Str("".into()),
                "String",
                "lineprotocol.Value{number:0x0, bytes:[]uint8{}}",
            ),
        ];
        for (value, kind, display) in cases {
            assert_eq!(value.kind(), kind);
            assert_eq!(value.go_display(), display);
        }
    }

    /// xorshift64: a small deterministic generator for the property tests.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }

        fn pick<T: Copy>(&mut self, items: &[T]) -> T {
            items[self.below(items.len())]
        }
    }

    /// Runs the full decode loop, checking that every line makes progress and every error
    /// position is plausible; returns the number of entries.
    fn drive(body: &[u8]) -> usize {
        let lines = body.iter().filter(|&&b| b == b'\n').count() + 1;
        let mut decoder = Decoder::new(body);
        let mut entries = 0;
        let mut previous_start = None;
        while decoder.next_line() {
            entries += 1;
            assert!(
                previous_start.is_none_or(|start| decoder.pos > start),
                "no progress on {body:?}"
            );
            previous_start = Some(decoder.pos);
            if let Err(e) = decode_entry(&mut decoder) {
                assert!(
                    (1..=lines).contains(&e.line) && e.column >= 1 && e.column <= body.len() + 1,
                    "{e} for {body:?}"
                );
            }
        }
        entries
    }

    #[test]
    fn random_bytes_never_panic() {
        const ALPHABET: &[u8] = b" ,=\"\\\n\r\t#-.0123456789eituTFaxyz\x00\x7f\xc3\xa9\xff";
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..20_000 {
            let len = rng.below(48);
            let body: Vec<u8> = (0..len)
                .map(|_| {
                    if rng.below(8) == 0 {
                        rng.next() as u8
                    } else {
                        rng.pick(ALPHABET)
                    }
                })
                .collect();
            drive(&body);
        }
    }

    #[test]
    fn mutated_valid_lines_never_panic() {
        const SEEDS: &[&[u8]] = &[
            b"cpu_user,cluster=alex,hostname=a0603,type=hwthread,type-id=17 value=42.0 1700000000\n",
            b"m\\ x,t\\=1=v\\,2 s=\"a\\\"b\\nc\",i=-5i,u=5u,b=true 1700000000123\r\n# c\n",
            b"mem value=1e3\nflops value=.5 -17\n\n",
        ];
        const INSERTS: &[u8] = b" ,=\"\\\n\r#-.0159iu\x01\xff";
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        for _ in 0..20_000 {
            let mut body = rng.pick(SEEDS).to_vec();
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(body.len() + 1);
                match rng.below(3) {
                    0 => body.insert(at, rng.pick(INSERTS)),
                    1 if at < body.len() => {
                        body.remove(at);
                    }
                    _ if at < body.len() => body[at] = rng.pick(INSERTS),
                    _ => body.push(rng.pick(INSERTS)),
                }
            }
            drive(&body);
        }
    }

    /// Escapes `text` the way an encoder would for a token whose special bytes are `special`.
    fn escape(text: &str, special: &[char]) -> String {
        text.chars().fold(String::new(), |mut out, c| {
            if special.contains(&c) {
                out.push('\\');
            }
            out.push(c);
            out
        })
    }

    #[test]
    fn encoded_random_entries_decode_to_their_parts() {
        const NAME_CHARS: &[char] = &['a', 'Z', '9', '_', '-', ',', '=', ' ', 'é', '"', '.'];
        fn name(rng: &mut Rng) -> String {
            let len = 1 + rng.below(6);
            (0..len).map(|_| rng.pick(NAME_CHARS)).collect()
        }
        let mut rng = Rng(0x1234_5678_9abc_def1);
        for _ in 0..2_000 {
            let measurement = name(&mut rng);
            let tags: Vec<(String, String)> = (0..rng.below(3))
                .map(|_| (name(&mut rng), name(&mut rng)))
                .collect();
            let value = (rng.next() % 2_000_000) as f64 / 8.0 - 1000.0;
            let text = name(&mut rng) + "\\ \n\t\"";
            let stamp = (rng.next() >> 2) as i64 - (1 << 61);

            let mut line = escape(&measurement, &[',', ' ']);
            for (key, tag_value) in &tags {
                line += &format!(
                    ",{}={}",
                    escape(key, &[',', '=', ' ']),
                    escape(tag_value, &[',', '=', ' '])
                );
            }
            line += &format!(
                " value={value:?},text=\"{}\" {stamp}",
                text.replace('\\', "\\\\")
                    .replace('"', "\\\"")
                    .replace('\n', "\\n")
                    .replace('\t', "\\t")
            );
            let entry = decode_one(&line).unwrap_or_else(|e| panic!("{e} for {line:?}"));
            assert_eq!(entry.measurement, measurement, "{line:?}");
            assert_eq!(entry.tags, tags, "{line:?}");
            assert_eq!(
                entry.fields,
                vec![
                    field("value", FieldValue::Float(value)),
                    field("text", FieldValue::Str(text.into())),
                ],
                "{line:?}"
            );
            assert_eq!(entry.timestamp, Some(unix_seconds(stamp)), "{line:?}");
        }
    }
}
