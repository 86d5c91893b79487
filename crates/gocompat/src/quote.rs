//! Go's `%q` verb (`strconv.Quote`, `strconv.QuoteRune`), which cc-backend uses in messages that
//! name user input.

/// Go's `%q` of a byte slice or string (`strconv.Quote`): invalid UTF-8 bytes as `\xNN`.
pub fn quote(text: impl AsRef<[u8]>) -> String {
    let bytes = text.as_ref();
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
pub fn quote_byte(b: u8) -> String {
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

    #[test]
    fn quotes_like_go() {
        assert_eq!(quote(b"a\"b\\c\n\x00\x7f"), r#""a\"b\\c\n\x00\x7f""#);
        assert_eq!(
            quote("é\u{a0}\u{200b}😀".as_bytes()),
            r#""é\u00a0\u200b😀""#
        );
        assert_eq!(quote("\u{f0000}".as_bytes()), r#""\U000f0000""#);
        assert_eq!(quote_byte(b'\''), r"'\''");
        assert_eq!(quote_byte(b'"'), "'\"'");
        assert_eq!(quote_byte(0x07), r"'\a'");
        assert_eq!(quote_byte(0xe9), "'é'");
        assert_eq!(quote_byte(0x85), r"'\u0085'");
    }

    #[test]
    fn quotes_text_like_strconv_quote() {
        assert_eq!(quote("plain ü"), r#""plain ü""#);
        assert_eq!(quote(br#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(quote("\n\t\u{1}\u{7f}\u{85}"), r#""\n\t\x01\x7f\u0085""#);
    }
}
