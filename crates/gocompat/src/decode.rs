//! Request bodies decoded the way Go's `encoding/json` decodes them with `DisallowUnknownFields`,
//! which is how cc-backend reads every JSON body (docs/api.md#request-body-decoding):
//!
//! - only the first JSON value is read; an empty body is `EOF`, a truncated one `unexpected EOF`;
//! - an object key matches its field exactly, else case-insensitively; a key matching no field is
//!   `json: unknown field "<key>"`; a repeated key takes the last value;
//! - `null` leaves a field at its default (as if the key were absent); elsewhere it is Go's zero
//!   value (an empty list or map, `""`, `0`, `false`);
//! - a value of the wrong JSON type is `json: cannot unmarshal <kind> into Go value of type <T>`
//!   (the body itself) or `... into Go struct field <Struct>.<path> of type <T>` (a field), where
//!   `<path>` is the dotted key path from the body's root, as Go reports it.
//!
//! serde's derived structs alone would accept an array as a struct (positionally), match keys
//! case-sensitively and refuse `null` for plain fields; decoding goes through [`GoValue`], whose
//! deserializer applies Go's rules to any `Deserialize` type.

use std::fmt;
use std::rc::Rc;

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess,
    Visitor,
};

/// Decodes the first JSON value of `body` into `T` with Go's rules; the error is Go's text.
pub fn decode_like_go<T: DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    let mut values = serde_json::Deserializer::from_slice(body).into_iter::<GoValue>();
    let value = match values.next() {
        Some(Ok(value)) => value,
        Some(Err(error)) if error.is_eof() => return Err("unexpected EOF".to_owned()),
        Some(Err(error)) => return Err(format!("json: {error}")),
        None => return Err("EOF".to_owned()),
    };
    T::deserialize(ValueDeserializer {
        value,
        place: Place::root(),
    })
    .map_err(|error| error.0)
}

/// A JSON value that keeps object keys in body order, repeats included.
#[derive(Debug, Clone, PartialEq)]
pub enum GoValue {
    Null,
    Bool(bool),
    Integer(i64),
    Unsigned(u64),
    Float(f64),
    String(String),
    Array(Vec<GoValue>),
    Object(Vec<(String, GoValue)>),
}

impl GoValue {
    /// The kind Go names in a type error.
    fn kind(&self) -> String {
        match self {
            GoValue::Null => "null".to_owned(),
            GoValue::Bool(_) => "bool".to_owned(),
            GoValue::Integer(_) | GoValue::Unsigned(_) | GoValue::Float(_) => "number".to_owned(),
            GoValue::String(_) => "string".to_owned(),
            GoValue::Array(_) => "array".to_owned(),
            GoValue::Object(_) => "object".to_owned(),
        }
    }

    /// A number as Go quotes it when it does not fit the target (`number 1.5`).
    fn number_text(&self) -> String {
        match self {
            GoValue::Integer(value) => format!("number {value}"),
            GoValue::Unsigned(value) => format!("number {value}"),
            GoValue::Float(value) => {
                let mut text = Vec::new();
                crate::float::write_json_float(&mut text, *value).expect("writing to a Vec");
                format!("number {}", String::from_utf8_lossy(&text))
            }
            other => other.kind(),
        }
    }
}

impl<'de> de::Deserialize<'de> for GoValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(GoValueVisitor)
    }
}

struct GoValueVisitor;

impl<'de> Visitor<'de> for GoValueVisitor {
    type Value = GoValue;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<GoValue, E> {
        Ok(GoValue::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<GoValue, E> {
        Ok(GoValue::Integer(value))
    }

    fn visit_u64<E>(self, value: u64) -> Result<GoValue, E> {
        Ok(i64::try_from(value).map_or(GoValue::Unsigned(value), GoValue::Integer))
    }

    fn visit_f64<E>(self, value: f64) -> Result<GoValue, E> {
        Ok(GoValue::Float(value))
    }

    fn visit_str<E>(self, value: &str) -> Result<GoValue, E> {
        Ok(GoValue::String(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<GoValue, E> {
        Ok(GoValue::String(value))
    }

    fn visit_unit<E>(self) -> Result<GoValue, E> {
        Ok(GoValue::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<GoValue, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(GoValue::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<GoValue, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry()? {
            entries.push(entry);
        }
        Ok(GoValue::Object(entries))
    }
}

/// A decoding failure, already in Go's words.
#[derive(Debug)]
pub struct DecodeError(String);

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DecodeError {}

impl de::Error for DecodeError {
    fn custom<T: fmt::Display>(message: T) -> Self {
        let text = message.to_string();
        // serde's derived code reports unknown keys itself; Go names only the key.
        if let Some(rest) = text.strip_prefix("unknown field `") {
            if let Some((field, _)) = rest.split_once('`') {
                return DecodeError(format!("json: unknown field {field:?}"));
            }
        }
        if text.starts_with("json: ") {
            DecodeError(text)
        } else {
            DecodeError(format!("json: {text}"))
        }
    }
}

/// Where a value sits: the innermost struct and the key path from the root, for Go's messages.
/// The path is a shared list growing at its end, so entering a field costs one small allocation
/// and no copy of the path.
#[derive(Debug, Clone)]
struct Place {
    innermost_struct: Option<&'static str>,
    path: Option<Rc<PathNode>>,
}

#[derive(Debug)]
struct PathNode {
    key: String,
    parent: Option<Rc<PathNode>>,
}

impl Place {
    fn root() -> Place {
        Place {
            innermost_struct: None,
            path: None,
        }
    }

    fn field(&self, structure: &'static str, key: String) -> Place {
        Place {
            innermost_struct: Some(structure),
            path: Some(Rc::new(PathNode {
                key,
                parent: self.path.clone(),
            })),
        }
    }

    /// The keys from the root, dotted, as Go's `UnmarshalTypeError.Field`.
    fn dotted_path(&self) -> String {
        let mut keys = Vec::new();
        let mut node = self.path.as_deref();
        while let Some(current) = node {
            keys.push(current.key.as_str());
            node = current.parent.as_deref();
        }
        keys.reverse();
        keys.join(".")
    }

    fn type_error(&self, found: String, go_type: &str) -> DecodeError {
        match self.innermost_struct {
            Some(structure) if self.path.is_some() => DecodeError(format!(
                "json: cannot unmarshal {found} into Go struct field {structure}.{} of type \
                 {go_type}",
                self.dotted_path()
            )),
            _ => DecodeError(format!(
                "json: cannot unmarshal {found} into Go value of type {go_type}"
            )),
        }
    }
}

/// Go's exact-then-case-insensitive key match (`bytes.EqualFold` folds Unicode simply; Rust's
/// lower-casing agrees for the ASCII and common letters field names use).
fn matching_field(key: &str, fields: &'static [&'static str]) -> Option<&'static str> {
    fields
        .iter()
        .find(|field| **field == key)
        .or_else(|| fields.iter().find(|field| eq_fold(field, key)))
        .copied()
}

fn eq_fold(a: &str, b: &str) -> bool {
    a.chars()
        .flat_map(char::to_lowercase)
        .eq(b.chars().flat_map(char::to_lowercase))
}

struct ValueDeserializer {
    value: GoValue,
    place: Place,
}

impl ValueDeserializer {
    fn mismatch(&self, go_type: &str) -> DecodeError {
        self.place.type_error(self.value.kind(), go_type)
    }

    fn integer<T: TryFrom<i64> + TryFrom<u64>>(&self, go_type: &str) -> Result<T, DecodeError> {
        let fits = match self.value {
            GoValue::Integer(value) => T::try_from(value).ok(),
            GoValue::Unsigned(value) => T::try_from(value).ok(),
            GoValue::Float(_) => None,
            GoValue::Null => T::try_from(0i64).ok(),
            _ => return Err(self.mismatch(go_type)),
        };
        fits.ok_or_else(|| self.place.type_error(self.value.number_text(), go_type))
    }

    fn float(&self, go_type: &str) -> Result<f64, DecodeError> {
        match self.value {
            GoValue::Integer(value) => Ok(value as f64),
            GoValue::Unsigned(value) => Ok(value as f64),
            GoValue::Float(value) => Ok(value),
            GoValue::Null => Ok(0.0),
            _ => Err(self.mismatch(go_type)),
        }
    }

    fn string(self, go_type: &str) -> Result<String, DecodeError> {
        match self.value {
            GoValue::String(text) => Ok(text),
            GoValue::Null => Ok(String::new()),
            _ => Err(self.mismatch(go_type)),
        }
    }

    /// `null` is Go's zero value for a list, a map or a struct: an empty one.
    fn elements(self, go_type: &str) -> Result<(Vec<GoValue>, Place), DecodeError> {
        match self.value {
            GoValue::Array(items) => Ok((items, self.place)),
            GoValue::Null => Ok((Vec::new(), self.place)),
            _ => Err(self.mismatch(go_type)),
        }
    }

    fn entries(self, go_type: &str) -> Result<(Vec<(String, GoValue)>, Place), DecodeError> {
        match self.value {
            GoValue::Object(entries) => Ok((entries, self.place)),
            GoValue::Null => Ok((Vec::new(), self.place)),
            _ => Err(self.mismatch(go_type)),
        }
    }
}

macro_rules! integer_methods {
    ($($method:ident => $visit:ident, $go:literal;)*) => {
        $(fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
            visitor.$visit(self.integer($go)?)
        })*
    };
}

impl<'de> Deserializer<'de> for ValueDeserializer {
    type Error = DecodeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.value {
            GoValue::Null => visitor.visit_unit(),
            GoValue::Bool(value) => visitor.visit_bool(value),
            GoValue::Integer(value) => visitor.visit_i64(value),
            GoValue::Unsigned(value) => visitor.visit_u64(value),
            GoValue::Float(value) => visitor.visit_f64(value),
            GoValue::String(text) => visitor.visit_string(text),
            GoValue::Array(_) => self.deserialize_seq(visitor),
            GoValue::Object(_) => self.deserialize_map(visitor),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.value {
            GoValue::Bool(value) => visitor.visit_bool(value),
            GoValue::Null => visitor.visit_bool(false),
            _ => Err(self.mismatch("bool")),
        }
    }

    integer_methods! {
        deserialize_i8 => visit_i8, "int8";
        deserialize_i16 => visit_i16, "int16";
        deserialize_i32 => visit_i32, "int32";
        deserialize_i64 => visit_i64, "int64";
        deserialize_u8 => visit_u8, "uint8";
        deserialize_u16 => visit_u16, "uint16";
        deserialize_u32 => visit_u32, "uint32";
        deserialize_u64 => visit_u64, "uint64";
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        visitor.visit_f32(self.float("float32")? as f32)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        visitor.visit_f64(self.float("float64")?)
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        visitor.visit_string(self.string("string")?)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        visitor.visit_string(self.string("string")?)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        visitor.visit_string(self.string("string")?)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        visitor.visit_string(self.string("[]uint8")?)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        visitor.visit_string(self.string("[]uint8")?)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.value {
            GoValue::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        let (items, place) = self.elements("slice")?;
        visitor.visit_seq(Elements {
            items: items.into_iter(),
            place,
        })
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        self.deserialize_seq(visitor)
    }

    /// Maps keep their keys as sent (Go folds only struct field names).
    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        let (entries, place) = self.entries("map")?;
        visitor.visit_map(Entries {
            entries: last_of_each_key(entries).into_iter(),
            pending: None,
            place,
            structure: None,
        })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        let (entries, place) = self.entries(name)?;
        let named: Vec<(String, GoValue)> = entries
            .into_iter()
            .filter(|(_, value)| *value != GoValue::Null)
            .map(|(key, value)| match matching_field(&key, fields) {
                Some(field) => (field.to_owned(), value),
                None => (key, value),
            })
            .collect();
        visitor.visit_map(Entries {
            entries: last_of_each_key(named).into_iter(),
            pending: None,
            place,
            structure: Some(name),
        })
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        let text = self.string(name)?;
        visitor.visit_enum(text.into_deserializer())
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.deserialize_string(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        visitor.visit_unit()
    }
}

/// Go assigns a repeated key twice, so the last value wins; the key keeps its first position.
fn last_of_each_key(entries: Vec<(String, GoValue)>) -> Vec<(String, GoValue)> {
    let mut kept: Vec<(String, GoValue)> = Vec::with_capacity(entries.len());
    for (key, value) in entries {
        match kept.iter_mut().find(|(seen, _)| *seen == key) {
            Some(slot) => slot.1 = value,
            None => kept.push((key, value)),
        }
    }
    kept
}

struct Elements {
    items: std::vec::IntoIter<GoValue>,
    place: Place,
}

impl<'de> SeqAccess<'de> for Elements {
    type Error = DecodeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DecodeError> {
        match self.items.next() {
            Some(value) => seed
                .deserialize(ValueDeserializer {
                    value,
                    place: self.place.clone(),
                })
                .map(Some),
            None => Ok(None),
        }
    }
}

struct Entries {
    entries: std::vec::IntoIter<(String, GoValue)>,
    pending: Option<(String, GoValue)>,
    place: Place,
    /// The struct being decoded; `None` for a map.
    structure: Option<&'static str>,
}

impl<'de> MapAccess<'de> for Entries {
    type Error = DecodeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DecodeError> {
        let Some((key, value)) = self.entries.next() else {
            return Ok(None);
        };
        let decoded = seed.deserialize(de::value::StrDeserializer::<DecodeError>::new(&key))?;
        self.pending = Some((key, value));
        Ok(Some(decoded))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, DecodeError> {
        let (key, value) = self
            .pending
            .take()
            .ok_or_else(|| DecodeError("json: value without a key".to_owned()))?;
        let place = match self.structure {
            Some(structure) => self.place.field(structure, key),
            None => self.place.clone(),
        };
        seed.deserialize(ValueDeserializer { value, place })
    }
}

#[cfg(test)]
#[path = "decode_tests.rs"]
mod tests;
