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
