//! Kubernetes objects in `google.protobuf.Struct`'s binary encoding, the
//! form they take on the function protocol's wire and across the WIT
//! contract: the host hands a module the bytes it would send or receive,
//! and never builds a tree of its own for them.
//!
//! The wire primitives (keys, varints, skipping unknown fields) are
//! prost's; what is here is the walk between those bytes and a JSON tree.
//! The mapping is the SDK's `json_to_struct` and `struct_to_json`: every
//! number is a double on the wire, and a whole number comes back as an
//! integer (up to 2^53, where doubles stay exact).

use prost::bytes::Buf;
use prost::encoding::{DecodeContext, WireType, decode_key, decode_varint, skip_field};
use serde_json::{Map, Number, Value};

/// Bytes that are not a `Struct`, or nest deeper than [`MAX_DEPTH`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(String);

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DecodeError {}

impl From<prost::DecodeError> for DecodeError {
    fn from(e: prost::DecodeError) -> Self {
        Self(e.to_string())
    }
}

/// Objects nested deeper than this are refused, as prost refuses them.
pub const MAX_DEPTH: usize = 100;

// Field numbers of struct.proto.
const STRUCT_FIELDS: u32 = 1;
const ENTRY_KEY: u32 = 1;
const ENTRY_VALUE: u32 = 2;
const NULL_VALUE: u32 = 1;
const NUMBER_VALUE: u32 = 2;
const STRING_VALUE: u32 = 3;
const BOOL_VALUE: u32 = 4;
const STRUCT_VALUE: u32 = 5;
const LIST_VALUE: u32 = 6;
const LIST_VALUES: u32 = 1;

/// `object` as the bytes of a `Struct`.
pub fn encode(object: &Map<String, Value>) -> Vec<u8> {
    // A length prefix comes before what it measures. Written from the end
    // backwards, every object's and list's length is known by the time its
    // prefix is written: one pass over the tree, no measuring pass first.
    let mut out = Backwards::default();
    encode_struct(object, &mut out);
    out.into_vec()
}

/// A `Struct`'s entries, the last first: each entry's value is written
/// before the key and the prefixes that precede it on the wire.
fn encode_struct(object: &Map<String, Value>, out: &mut Backwards) {
    for (key, value) in object.iter().rev() {
        let end = out.len();
        encode_value(value, out);
        out.prefix(ENTRY_VALUE, out.len() - end);
        // prost leaves out an empty key (the default).
        if !key.is_empty() {
            out.put(key.as_bytes());
            out.prefix(ENTRY_KEY, key.len());
        }
        out.prefix(STRUCT_FIELDS, out.len() - end);
    }
}

/// A `Value` message's fields.
fn encode_value(value: &Value, out: &mut Backwards) {
    match value {
        Value::Null => out.put_small(NULL_VALUE, 0),
        Value::Bool(b) => out.put_small(BOOL_VALUE, u8::from(*b)),
        Value::Number(n) => {
            out.put(&n.as_f64().unwrap_or(f64::NAN).to_le_bytes());
            out.put(&[key(NUMBER_VALUE, WireType::SixtyFourBit)]);
        }
        Value::String(s) => {
            out.put(s.as_bytes());
            out.prefix(STRING_VALUE, s.len());
        }
        Value::Object(object) => {
            let end = out.len();
            encode_struct(object, out);
            out.prefix(STRUCT_VALUE, out.len() - end);
        }
        Value::Array(items) => {
            let end = out.len();
            for item in items.iter().rev() {
                let item_end = out.len();
                encode_value(item, out);
                out.prefix(LIST_VALUES, out.len() - item_end);
            }
            out.prefix(LIST_VALUE, out.len() - end);
        }
    }
}

/// A field's key; every field number here is below 16, so one byte.
const fn key(field: u32, wire_type: WireType) -> u8 {
    ((field << 3) | wire_type as u32) as u8
}

/// A buffer filled from its end towards its start: `buf[start..]` holds
/// what is written so far, and the space before it is free.
struct Backwards {
    buf: Vec<u8>,
    start: usize,
}

impl Default for Backwards {
    fn default() -> Self {
        // About what a small composed resource takes; bigger ones double it.
        const INITIAL: usize = 1 << 10;
        Self {
            buf: vec![0; INITIAL],
            start: INITIAL,
        }
    }
}

impl Backwards {
    /// Bytes written so far.
    fn len(&self) -> usize {
        self.buf.len() - self.start
    }

    fn put(&mut self, bytes: &[u8]) {
        if bytes.len() > self.start {
            self.grow(bytes.len());
        }
        self.start -= bytes.len();
        self.buf[self.start..self.start + bytes.len()].copy_from_slice(bytes);
    }

    /// A varint field's key and a one-byte value.
    #[inline]
    fn put_small(&mut self, field: u32, value: u8) {
        self.put_pair(key(field, WireType::Varint), value);
    }

    #[inline]
    fn put_pair(&mut self, first: u8, second: u8) {
        if self.start < 2 {
            self.grow(2);
        }
        self.start -= 2;
        self.buf[self.start..self.start + 2].copy_from_slice(&[first, second]);
    }

    /// A length-delimited field's key and length, before its `len` bytes.
    #[inline]
    fn prefix(&mut self, field: u32, len: usize) {
        let key = key(field, WireType::LengthDelimited);
        if len < 0x80 {
            self.put_pair(key, len as u8);
        } else {
            self.long_prefix(key, len);
        }
    }

    /// Lengths of 128 and up, the rare case: out of line, so that the
    /// common one-byte case inlines small.
    #[inline(never)]
    fn long_prefix(&mut self, key: u8, len: usize) {
        let mut bytes = [key, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        let (mut len, mut n) = (len as u64, 1);
        while len >= 0x80 {
            bytes[n] = len as u8 | 0x80;
            len >>= 7;
            n += 1;
        }
        bytes[n] = len as u8;
        self.put(&bytes[..=n]);
    }

    /// At least doubles the free space, moving what is written to the end.
    fn grow(&mut self, wanted: usize) {
        let written = self.len();
        let size = (self.buf.len() * 2).max(written + wanted);
        let mut buf = vec![0; size];
        buf[size - written..].copy_from_slice(&self.buf[self.start..]);
        (self.buf, self.start) = (buf, size - written);
    }

    fn into_vec(mut self) -> Vec<u8> {
        self.buf.drain(..self.start);
        self.buf
    }
}

/// The bytes of a `Struct` as a JSON object.
pub fn decode(mut bytes: &[u8]) -> Result<Map<String, Value>, DecodeError> {
    decode_struct::<true>(&mut bytes, 0)
}

/// Whether `bytes` are a `Struct` [`decode`] accepts, found without
/// building it: what the host checks of every object a module returns.
pub fn check(mut bytes: &[u8]) -> Result<(), DecodeError> {
    if plainly_valid::object(bytes, 0) {
        return Ok(());
    }
    decode_struct::<false>(&mut bytes, 0).map(drop)
}

/// A walk that accepts only the plainest encoding of a `Struct`: the
/// fields this module writes, one-byte keys, in the wire types it writes
/// them. What it accepts, [`decode`] accepts; anything else (an unknown
/// field, a long varint, an error) goes to the full walk, which decides
/// and names the problem. It is [`check`]'s fast path: every module's
/// object goes through it on the host.
mod plainly_valid {
    use super::{MAX_DEPTH, WireType, key};

    // The one-byte keys the encoder writes.
    const LEN_1: u8 = key(1, WireType::LengthDelimited);
    const LEN_2: u8 = key(2, WireType::LengthDelimited);
    const NULL: u8 = key(super::NULL_VALUE, WireType::Varint);
    const NUMBER: u8 = key(super::NUMBER_VALUE, WireType::SixtyFourBit);
    const STRING: u8 = key(super::STRING_VALUE, WireType::LengthDelimited);
    const BOOL: u8 = key(super::BOOL_VALUE, WireType::Varint);
    const STRUCT: u8 = key(super::STRUCT_VALUE, WireType::LengthDelimited);
    const LIST: u8 = key(super::LIST_VALUE, WireType::LengthDelimited);

    /// A length-delimited field's bytes, taken off `buf`: a varint of at
    /// most four bytes (256 MiB), within `buf`.
    #[inline(always)]
    fn delimited<'a>(buf: &mut &'a [u8]) -> Option<&'a [u8]> {
        let mut len = 0usize;
        for i in 0..4 {
            let byte = *buf.get(i)?;
            len |= usize::from(byte & 0x7f) << (7 * i);
            if byte < 0x80 {
                let rest = buf.get(i + 1..)?;
                if len > rest.len() {
                    return None;
                }
                let (field, rest) = rest.split_at(len);
                *buf = rest;
                return Some(field);
            }
        }
        None
    }

    #[inline(always)]
    fn text(bytes: &[u8]) -> bool {
        bytes.is_ascii() || std::str::from_utf8(bytes).is_ok()
    }

    /// A one-byte varint (null's zero, a bool), taken off `buf`.
    #[inline(always)]
    fn small(buf: &mut &[u8]) -> bool {
        match buf.split_first() {
            Some((&byte, rest)) if byte < 0x80 => {
                *buf = rest;
                true
            }
            _ => false,
        }
    }

    /// A `Struct` at `depth` (the outermost at 0).
    pub(super) fn object(mut buf: &[u8], depth: usize) -> bool {
        if depth >= MAX_DEPTH {
            return false;
        }
        while let Some((&key, rest)) = buf.split_first() {
            buf = rest;
            if key != LEN_1 {
                return false;
            }
            let Some(mut entry) = delimited(&mut buf) else {
                return false;
            };
            while let Some((&key, rest)) = entry.split_first() {
                entry = rest;
                let valid = match key {
                    LEN_1 => delimited(&mut entry).is_some_and(text),
                    LEN_2 => delimited(&mut entry).is_some_and(|v| value(v, depth + 1)),
                    _ => false,
                };
                if !valid {
                    return false;
                }
            }
        }
        true
    }

    fn list(mut buf: &[u8], depth: usize) -> bool {
        if depth >= MAX_DEPTH {
            return false;
        }
        while let Some((&key, rest)) = buf.split_first() {
            buf = rest;
            if key != LEN_1 || !delimited(&mut buf).is_some_and(|v| value(v, depth + 1)) {
                return false;
            }
        }
        true
    }

    /// A `Value` inside an object or a list at `depth - 1`.
    fn value(mut buf: &[u8], depth: usize) -> bool {
        while let Some((&key, rest)) = buf.split_first() {
            buf = rest;
            let valid = match key {
                NULL | BOOL => small(&mut buf),
                NUMBER => match buf.get(8..) {
                    Some(rest) => {
                        buf = rest;
                        true
                    }
                    None => false,
                },
                STRING => delimited(&mut buf).is_some_and(text),
                STRUCT => delimited(&mut buf).is_some_and(|o| object(o, depth)),
                LIST => delimited(&mut buf).is_some_and(|l| list(l, depth)),
                _ => false,
            };
            if !valid {
                return false;
            }
        }
        true
    }
}

// Decoding walks the bytes once; with `BUILD` false it checks them and
// builds nothing (every value comes back null, every object empty).

fn deeper(depth: usize) -> Result<usize, DecodeError> {
    if depth >= MAX_DEPTH {
        return Err(DecodeError(format!(
            "it nests objects and lists deeper than {MAX_DEPTH} levels, the most this reads"
        )));
    }
    Ok(depth + 1)
}

/// The next length-delimited field's bytes, taken off `buf`.
fn delimited<'a>(buf: &mut &'a [u8]) -> Result<&'a [u8], DecodeError> {
    let len = decode_varint(buf)?;
    let len = usize::try_from(len)
        .ok()
        .filter(|&len| len <= buf.len())
        .ok_or_else(|| DecodeError("a length runs past the end of the bytes".into()))?;
    let (field, rest) = buf.split_at(len);
    *buf = rest;
    Ok(field)
}

fn expect_wire_type(found: WireType, wanted: WireType, what: &str) -> Result<(), DecodeError> {
    if found == wanted {
        return Ok(());
    }
    Err(DecodeError(format!(
        "{what} has wire type {found:?}, not {wanted:?}"
    )))
}

fn skip(tag: u32, wire_type: WireType, buf: &mut &[u8]) -> Result<(), DecodeError> {
    Ok(skip_field(wire_type, tag, buf, DecodeContext::default())?)
}

fn decode_struct<const BUILD: bool>(
    buf: &mut &[u8],
    depth: usize,
) -> Result<Map<String, Value>, DecodeError> {
    let depth = deeper(depth)?;
    let mut object = Map::new();
    while buf.has_remaining() {
        let (tag, wire_type) = decode_key(buf)?;
        if tag != STRUCT_FIELDS {
            skip(tag, wire_type, buf)?;
            continue;
        }
        expect_wire_type(wire_type, WireType::LengthDelimited, "a Struct field")?;
        let (key, value) = decode_entry::<BUILD>(&mut delimited(buf)?, depth)?;
        if BUILD {
            // A repeated key is a map entry written twice: the last one wins.
            object.insert(key, value);
        }
    }
    Ok(object)
}

fn decode_entry<const BUILD: bool>(
    buf: &mut &[u8],
    depth: usize,
) -> Result<(String, Value), DecodeError> {
    let (mut key, mut value) = (String::new(), Value::Null);
    while buf.has_remaining() {
        let (tag, wire_type) = decode_key(buf)?;
        match tag {
            ENTRY_KEY => {
                expect_wire_type(wire_type, WireType::LengthDelimited, "a field name")?;
                key = utf8::<BUILD>(delimited(buf)?)?;
            }
            ENTRY_VALUE => {
                expect_wire_type(wire_type, WireType::LengthDelimited, "a field value")?;
                value = decode_value::<BUILD>(&mut delimited(buf)?, depth)?;
            }
            _ => skip(tag, wire_type, buf)?,
        }
    }
    Ok((key, value))
}

fn utf8<const BUILD: bool>(bytes: &[u8]) -> Result<String, DecodeError> {
    let not_utf8 = || DecodeError("a string is not UTF-8".into());
    if BUILD {
        return String::from_utf8(bytes.to_vec()).map_err(|_| not_utf8());
    }
    // Kubernetes objects' strings are nearly all ASCII, which this checks
    // inline and a word at a time, before the full UTF-8 check.
    if !bytes.is_ascii() && std::str::from_utf8(bytes).is_err() {
        return Err(not_utf8());
    }
    Ok(String::new())
}

/// A `Value`: of its `kind` oneof the last field wins; none is null.
fn decode_value<const BUILD: bool>(buf: &mut &[u8], depth: usize) -> Result<Value, DecodeError> {
    let mut value = Value::Null;
    while buf.has_remaining() {
        let (tag, wire_type) = decode_key(buf)?;
        value = match tag {
            NULL_VALUE => {
                expect_wire_type(wire_type, WireType::Varint, "a null value")?;
                decode_varint(buf)?;
                Value::Null
            }
            NUMBER_VALUE => {
                expect_wire_type(wire_type, WireType::SixtyFourBit, "a number value")?;
                if buf.remaining() < 8 {
                    return Err(DecodeError(
                        "a number runs past the end of the bytes".into(),
                    ));
                }
                let n = buf.get_f64_le();
                if BUILD { number(n) } else { Value::Null }
            }
            STRING_VALUE => {
                expect_wire_type(wire_type, WireType::LengthDelimited, "a string value")?;
                let text = utf8::<BUILD>(delimited(buf)?)?;
                if BUILD {
                    Value::String(text)
                } else {
                    Value::Null
                }
            }
            BOOL_VALUE => {
                expect_wire_type(wire_type, WireType::Varint, "a bool value")?;
                Value::Bool(decode_varint(buf)? != 0)
            }
            STRUCT_VALUE => {
                expect_wire_type(wire_type, WireType::LengthDelimited, "a struct value")?;
                Value::Object(decode_struct::<BUILD>(&mut delimited(buf)?, depth)?)
            }
            LIST_VALUE => {
                expect_wire_type(wire_type, WireType::LengthDelimited, "a list value")?;
                Value::Array(decode_list::<BUILD>(&mut delimited(buf)?, depth)?)
            }
            _ => {
                skip(tag, wire_type, buf)?;
                continue;
            }
        };
    }
    Ok(value)
}

fn decode_list<const BUILD: bool>(
    buf: &mut &[u8],
    depth: usize,
) -> Result<Vec<Value>, DecodeError> {
    let depth = deeper(depth)?;
    let mut items = Vec::new();
    while buf.has_remaining() {
        let (tag, wire_type) = decode_key(buf)?;
        if tag != LIST_VALUES {
            skip(tag, wire_type, buf)?;
            continue;
        }
        expect_wire_type(wire_type, WireType::LengthDelimited, "a list item")?;
        let item = decode_value::<BUILD>(&mut delimited(buf)?, depth)?;
        if BUILD {
            items.push(item);
        }
    }
    Ok(items)
}

/// A double as JSON: whole numbers as integers, NaN and infinities (which
/// JSON cannot hold) as null. The protobuf JSON mapping's reader applies
/// the same rule.
pub(crate) fn number(n: f64) -> Value {
    const SAFE_INT: f64 = (1u64 << 53) as f64;
    if n.fract() == 0.0 && n.abs() <= SAFE_INT {
        return Value::Number(Number::from(n as i64));
    }
    Number::from_f64(n).map_or(Value::Null, Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;
    use prost_types::value::Kind;
    use serde_json::json;

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => unreachable!("tests pass objects"),
        }
    }

    fn sample() -> Map<String, Value> {
        object(json!({
            "apiVersion": "container.gcp.upbound.io/v1beta2",
            "kind": "Cluster",
            "metadata": {"name": "prod", "labels": {"a": "b"}, "annotations": {}},
            "spec": {
                "forProvider": {
                    "initialNodeCount": 1,
                    "ratio": 0.25,
                    "negative": -3,
                    "enabled": true,
                    "disabled": false,
                    "nothing": null,
                    "list": [1, "two", [3, {"four": 4}], {}, [], null],
                    "unicode": "zoné ☁",
                    "long": "x".repeat(300),
                    "": "an empty key, which prost leaves out",
                },
            },
        }))
    }

    /// prost's own `Struct`, built from JSON the way the SDK does.
    fn prost_struct(object: &Map<String, Value>) -> prost_types::Struct {
        fn value(v: &Value) -> prost_types::Value {
            let kind = match v {
                Value::Null => Kind::NullValue(0),
                Value::Bool(b) => Kind::BoolValue(*b),
                Value::Number(n) => Kind::NumberValue(n.as_f64().unwrap()),
                Value::String(s) => Kind::StringValue(s.clone()),
                Value::Array(a) => Kind::ListValue(prost_types::ListValue {
                    values: a.iter().map(value).collect(),
                }),
                Value::Object(m) => Kind::StructValue(prost_struct(m)),
            };
            prost_types::Value { kind: Some(kind) }
        }
        prost_types::Struct {
            fields: object.iter().map(|(k, v)| (k.clone(), value(v))).collect(),
        }
    }

    #[test]
    fn encodes_the_bytes_prost_encodes() {
        let sample = sample();
        assert_eq!(encode(&sample), prost_struct(&sample).encode_to_vec());
        assert_eq!(encode(&Map::new()), Vec::<u8>::new());
        // Far past the encoder's first buffer, with lengths of three-byte
        // varints: the buffer grows, and moves, mid-object.
        let big = object(json!({
            "a": "y".repeat(5000),
            "list": (0..20_000).map(|i| json!(i)).collect::<Vec<_>>(),
            "nested": {"inner": sample, "z": "y".repeat(70_000)},
        }));
        assert_eq!(encode(&big), prost_struct(&big).encode_to_vec());
    }

    #[test]
    fn decodes_what_prost_encodes_whole_numbers_as_integers() {
        let sample = sample();
        let bytes = prost_struct(&sample).encode_to_vec();
        assert_eq!(decode(&bytes).unwrap(), sample);
        let halves = object(json!({"whole": 3.0, "half": 2.5, "big": 1e300}));
        let decoded = decode(&encode(&halves)).unwrap();
        assert_eq!(decoded["whole"], json!(3));
        assert!(decoded["whole"].is_i64());
        assert_eq!(decoded["half"], json!(2.5));
        assert_eq!(decoded["big"], json!(1e300));
    }

    #[test]
    fn a_value_without_a_kind_is_null_and_unknown_fields_are_skipped() {
        let mut with_empty = prost_types::Struct::default();
        with_empty
            .fields
            .insert("empty".into(), prost_types::Value { kind: None });
        let mut bytes = with_empty.encode_to_vec();
        // Field 9, varint 7: unknown to Struct.
        bytes.extend_from_slice(&[9 << 3, 7]);
        assert_eq!(decode(&bytes).unwrap(), object(json!({"empty": null})));
    }

    #[test]
    fn malformed_bytes_are_an_error_not_a_panic() {
        let bytes = encode(&sample());
        for cut in 1..bytes.len() {
            let _ = decode(&bytes[..cut]);
        }
        assert!(decode(&[STRUCT_FIELDS as u8 * 8 + 2, 50, 1]).is_err());
        let wrong_wire_type = [(STRUCT_FIELDS as u8) << 3, 1];
        assert!(
            decode(&wrong_wire_type)
                .unwrap_err()
                .to_string()
                .contains("wire type")
        );
        let not_utf8 = prost_types::Struct {
            fields: [(
                "k".into(),
                prost_types::Value {
                    kind: Some(Kind::StringValue("é".into())),
                },
            )]
            .into(),
        }
        .encode_to_vec();
        let mut bad = not_utf8.clone();
        let at = bad.iter().rposition(|&b| b == 0xa9).unwrap();
        bad[at] = 0xff;
        assert!(decode(&bad).unwrap_err().to_string().contains("UTF-8"));
    }

    #[test]
    fn check_accepts_and_refuses_what_decode_does() {
        let bytes = encode(&sample());
        check(&bytes).unwrap();
        for cut in 1..bytes.len() {
            assert_eq!(
                check(&bytes[..cut]).is_ok(),
                decode(&bytes[..cut]).is_ok(),
                "cut at {cut}"
            );
        }
    }

    /// The fast path is only ever a shortcut: over mutations of real
    /// encodings (flipped bits, cut ends, inserted bytes) whatever it
    /// accepts the full walk accepts, and `check` answers as the full walk.
    #[test]
    fn the_fast_check_accepts_only_what_the_full_walk_accepts() {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let samples = [
            encode(&sample()),
            encode(&object(
                json!({"a": [[1, "x", {"b": null}], {"c": [true, 2.5]}]}),
            )),
        ];
        let mut fast = 0;
        for bytes in &samples {
            assert!(plainly_valid::object(bytes, 0), "the encoder's bytes");
            for _ in 0..20_000 {
                let mut b = bytes.clone();
                let at = next() as usize % b.len();
                match next() % 3 {
                    0 => b[at] ^= 1 << (next() % 8),
                    1 => b.truncate(at),
                    _ => b.insert(at, next() as u8),
                }
                let full = decode_struct::<false>(&mut b.as_slice(), 0).is_ok();
                assert_eq!(check(&b).is_ok(), full, "{b:?}");
                if plainly_valid::object(&b, 0) {
                    assert!(full, "accepted by the fast path only: {b:?}");
                    fast += 1;
                }
            }
        }
        assert!(fast > 0);
    }

    #[test]
    fn nesting_deeper_than_the_limit_is_refused() {
        let nested = |levels: usize| {
            let mut deep = json!("leaf");
            for _ in 0..levels {
                deep = json!({ "a": [deep] });
            }
            encode(&object(deep))
        };
        // Each level is an object and a list.
        check(&nested(MAX_DEPTH / 2)).unwrap();
        assert!(plainly_valid::object(&nested(MAX_DEPTH / 2), 0));
        let bytes = nested(MAX_DEPTH / 2 + 1);
        assert!(!plainly_valid::object(&bytes, 0));
        assert!(check(&bytes).is_err());
        assert!(
            decode(&bytes)
                .unwrap_err()
                .to_string()
                .contains("deeper than")
        );
    }
}
