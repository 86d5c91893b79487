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
use std::fmt;
use std::num::{IntErrorKind, ParseIntError};
use std::str::FromStr;

use cc_gocompat::{quote, quote_byte};

/// A syntax error, displayed like the Go decoder's `DecodeError`.
///
/// `column` counts bytes from the start of the entry's measurement (after any leading spaces),
/// or from the last newline inside the entry (multi-line string fields), as the Go decoder does.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxError {
    pub line: usize,
    pub column: usize,
    pub reason: String,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at line {}:{}: {}", self.line, self.column, self.reason)
    }
}

impl std::error::Error for SyntaxError {}

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
                    quote_byte(b)
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
                        quote(key.as_bytes())
                    ),
                    (Some(b), false) => format!(
                        "expected '=' after tag key {}, but got {} instead",
                        quote(key.as_bytes()),
                        quote_byte(b)
                    ),
                    (Some(b'='), true) => "empty tag key".into(),
                    (Some(b), true) => format!(
                        "expected tag key or field but found {} instead",
                        quote_byte(b)
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
                quote(key.as_bytes())
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
                    quote(field.key.as_bytes())
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
                let reason = format!("invalid timestamp ({}): {cause}", quote(digits));
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
                    quote_byte(b)
                ),
            };
            return Err(self.syntax_error(key_start, reason));
        }
        let quoted_key = || quote(key.as_bytes());
        match self.peek() {
            Some(b'=') => self.pos += 1,
            next => {
                let found = next.map_or("end of input".to_owned(), quote_byte);
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
                    quote(text)
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
                    quote_byte(b),
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
                let reason = format!("invalid timestamp ({})", quote(&self.body[start..self.pos]));
                return Err(self.syntax_error(start, reason));
            }
            Some(_) => self.discard_spaces(),
        }
        if self.pos < self.body.len() && !self.take_eol() {
            let extra_start = self.pos;
            let extra = self.take(NOT_EOL);
            let reason = format!("unexpected text after timestamp ({})", quote(extra));
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
                let reason = format!("invalid utf-8 sequence in token {}", quote(&bytes));
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
            _ => Err(format!("invalid bool value {}", quote(text))),
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
                quote(text)
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

#[cfg(test)]
mod tests;
