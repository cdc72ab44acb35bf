//! A serde serializer that writes canonical JSON straight from a value, without building the
//! `serde_json::Value` that [`super::write`] would write: the same bytes, for a fraction of
//! the allocations (the audit chain digests every record it writes this way).
//!
//! Entries of an object are written as they come; when the object closes, they are put in
//! key order in place (a nested object is in order before its parent sorts it as one value).
//! The raw keys are kept aside for the comparison: keys compare by their bytes, as
//! [`super::write_object`] compares them, not by their escaped forms.
//!
//! What `serde_json::to_value` would treat specially, or refuse, is refused here with
//! [`Unsupported`] (byte strings, 128-bit integers, keys that are not strings or integers,
//! serde_json's private structs); [`super::hash_of`] then takes the `Value` path, so the
//! bytes are the same whatever the value holds.

use std::fmt::{self, Write as _};

use serde::Serialize;
use serde::ser;

use key::KeySerializer;

mod key;

/// Why a value was not written here (the caller falls back to `serde_json::Value`).
#[derive(Debug)]
pub(super) struct Unsupported(String);

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unsupported {}

impl ser::Error for Unsupported {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self(msg.to_string())
    }
}

fn unsupported<T>(what: &str) -> Result<T, Unsupported> {
    Err(Unsupported(format!("{what} is left to serde_json")))
}

/// The buffers a value is written with, kept between values so that writing one allocates
/// nothing once they have grown.
#[derive(Default)]
pub(super) struct Buffers {
    /// The canonical JSON written so far.
    pub(super) out: Vec<u8>,
    /// The raw keys of the entries of the objects still open, innermost last.
    keys: Vec<u8>,
    /// The entries of the objects still open, innermost last.
    entries: Vec<Entry>,
    /// Where an object's entries are copied while it is put in order.
    scratch: Vec<u8>,
    /// Where `collect_str` formats a value before it is escaped.
    text: String,
}

/// One entry of an open object: its raw key in [`Buffers::keys`], and its `"key":value`
/// bytes in [`Buffers::out`].
#[derive(Debug, Clone, Copy)]
struct Entry {
    key_start: usize,
    key_end: usize,
    start: usize,
    end: usize,
}

impl Buffers {
    /// Writes `value`'s canonical JSON into [`Buffers::out`] (cleared first).
    pub(super) fn write<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
        self.out.clear();
        self.keys.clear();
        self.entries.clear();
        value.serialize(Serializer { b: self })
    }

    /// The memory held, to let go of buffers a huge value grew.
    pub(super) fn capacity(&self) -> usize {
        self.out.capacity() + self.keys.capacity() + self.scratch.capacity() + self.text.capacity()
    }

    fn json(&mut self, scalar: &impl Serialize) -> Result<(), Unsupported> {
        serde_json::to_writer(&mut self.out, scalar).map_err(|e| Unsupported(e.to_string()))
    }

    /// Writes what `value` displays as a string (and, for a key, keeps it raw in `keys`).
    fn display<T: fmt::Display + ?Sized>(
        &mut self,
        value: &T,
        key: bool,
    ) -> Result<(), Unsupported> {
        self.text.clear();
        write!(self.text, "{value}").map_err(|e| Unsupported(e.to_string()))?;
        if key {
            self.keys.extend_from_slice(self.text.as_bytes());
        }
        serde_json::to_writer(&mut self.out, self.text.as_str())
            .map_err(|e| Unsupported(e.to_string()))
    }
}

/// Writes one value.
struct Serializer<'a> {
    b: &'a mut Buffers,
}

impl<'a> Serializer<'a> {
    /// `{"variant":` before a variant's content.
    fn open_variant(&mut self, variant: &str) -> Result<(), Unsupported> {
        self.b.out.push(b'{');
        self.b.json(&variant)?;
        self.b.out.push(b':');
        Ok(())
    }
}

macro_rules! scalars {
    ($($method:ident: $ty:ty),* $(,)?) => {
        $(fn $method(self, v: $ty) -> Result<(), Unsupported> {
            self.b.json(&v)
        })*
    };
}

impl<'a> ser::Serializer for Serializer<'a> {
    type Ok = ();
    type Error = Unsupported;
    type SerializeSeq = Seq<'a>;
    type SerializeTuple = Seq<'a>;
    type SerializeTupleStruct = Seq<'a>;
    type SerializeTupleVariant = Seq<'a>;
    type SerializeMap = Object<'a>;
    type SerializeStruct = Object<'a>;
    type SerializeStructVariant = Object<'a>;

    scalars!(
        serialize_bool: bool,
        serialize_i8: i8,
        serialize_i16: i16,
        serialize_i32: i32,
        serialize_i64: i64,
        serialize_u8: u8,
        serialize_u16: u16,
        serialize_u32: u32,
        serialize_u64: u64,
        serialize_f64: f64,
        serialize_str: &str,
    );

    fn serialize_f32(self, v: f32) -> Result<(), Unsupported> {
        // A `Value` keeps every float as an f64.
        self.b.json(&f64::from(v))
    }

    fn serialize_i128(self, _: i128) -> Result<(), Unsupported> {
        unsupported("a 128-bit integer")
    }

    fn serialize_u128(self, _: u128) -> Result<(), Unsupported> {
        unsupported("a 128-bit integer")
    }

    fn serialize_char(self, v: char) -> Result<(), Unsupported> {
        self.b.json(&v.encode_utf8(&mut [0; 4]))
    }

    fn serialize_bytes(self, _: &[u8]) -> Result<(), Unsupported> {
        unsupported("a byte string")
    }

    fn serialize_none(self) -> Result<(), Unsupported> {
        self.serialize_unit()
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Unsupported> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), Unsupported> {
        self.b.out.extend_from_slice(b"null");
        Ok(())
    }

    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Unsupported> {
        self.serialize_unit()
    }

    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), Unsupported> {
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Unsupported> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        mut self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Unsupported> {
        self.open_variant(variant)?;
        value.serialize(Serializer { b: &mut *self.b })?;
        self.b.out.push(b'}');
        Ok(())
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Seq<'a>, Unsupported> {
        Ok(Seq::open(self.b, b"]"))
    }

    fn serialize_tuple(self, len: usize) -> Result<Seq<'a>, Unsupported> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<Seq<'a>, Unsupported> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_variant(
        mut self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Seq<'a>, Unsupported> {
        self.open_variant(variant)?;
        Ok(Seq::open(self.b, b"]}"))
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Object<'a>, Unsupported> {
        Ok(Object::open(self.b, b"}"))
    }

    fn serialize_struct(self, name: &'static str, _: usize) -> Result<Object<'a>, Unsupported> {
        // serde_json's raw values and arbitrary-precision numbers are structs with private
        // names, which its `Value` serializer reads specially.
        if name.starts_with("$serde_json") {
            return unsupported("a serde_json private struct");
        }
        Ok(Object::open(self.b, b"}"))
    }

    fn serialize_struct_variant(
        mut self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Object<'a>, Unsupported> {
        self.open_variant(variant)?;
        Ok(Object::open(self.b, b"}}"))
    }

    fn collect_str<T: fmt::Display + ?Sized>(self, value: &T) -> Result<(), Unsupported> {
        self.b.display(value, false)
    }
}

/// An array (or a tuple variant's array) being written.
struct Seq<'a> {
    b: &'a mut Buffers,
    first: bool,
    close: &'static [u8],
}

impl<'a> Seq<'a> {
    fn open(b: &'a mut Buffers, close: &'static [u8]) -> Self {
        b.out.push(b'[');
        Self {
            b,
            first: true,
            close,
        }
    }

    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
        if !self.first {
            self.b.out.push(b',');
        }
        self.first = false;
        value.serialize(Serializer { b: &mut *self.b })
    }

    fn close(self) -> Result<(), Unsupported> {
        self.b.out.extend_from_slice(self.close);
        Ok(())
    }
}

/// Implements serde's four array traits for [`Seq`], each method calling the one of `Seq`.
macro_rules! arrays {
    ($($trait:ident::$method:ident),* $(,)?) => {
        $(impl ser::$trait for Seq<'_> {
            type Ok = ();
            type Error = Unsupported;

            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
                self.element(value)
            }

            fn end(self) -> Result<(), Unsupported> {
                self.close()
            }
        })*
    };
}

arrays!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field,
);

/// An object (a map, a struct, or a struct variant's object) being written.
struct Object<'a> {
    b: &'a mut Buffers,
    /// Where its first entry starts in [`Buffers::out`].
    start: usize,
    keys_start: usize,
    entries_start: usize,
    /// The entry whose key is written and whose value is not yet.
    pending: Option<Entry>,
    close: &'static [u8],
}

impl<'a> Object<'a> {
    fn open(b: &'a mut Buffers, close: &'static [u8]) -> Self {
        b.out.push(b'{');
        Self {
            start: b.out.len(),
            keys_start: b.keys.len(),
            entries_start: b.entries.len(),
            pending: None,
            b,
            close,
        }
    }

    fn key<K: Serialize + ?Sized>(&mut self, key: &K) -> Result<(), Unsupported> {
        // Entries of objects nested in earlier values were dropped when those closed: what
        // is above `entries_start` is this object's.
        if self.b.entries.len() > self.entries_start {
            self.b.out.push(b',');
        }
        let start = self.b.out.len();
        let key_start = self.b.keys.len();
        key.serialize(KeySerializer { b: &mut *self.b })?;
        self.b.out.push(b':');
        self.pending = Some(Entry {
            key_start,
            key_end: self.b.keys.len(),
            start,
            end: start,
        });
        Ok(())
    }

    fn value<V: Serialize + ?Sized>(&mut self, value: &V) -> Result<(), Unsupported> {
        let Some(mut entry) = self.pending.take() else {
            return unsupported("a map value without a key");
        };
        value.serialize(Serializer { b: &mut *self.b })?;
        entry.end = self.b.out.len();
        self.b.entries.push(entry);
        Ok(())
    }

    /// Puts the entries in key order (of entries with one key, the last written stays, as
    /// in a map) and closes the object.
    fn close(self) -> Result<(), Unsupported> {
        let Buffers {
            out,
            keys,
            entries,
            scratch,
            ..
        } = self.b;
        let mine = &mut entries[self.entries_start..];
        let key = |e: &Entry| &keys[e.key_start..e.key_end];
        if !mine.windows(2).all(|w| key(&w[0]) < key(&w[1])) {
            mine.sort_unstable_by(|a, b| key(a).cmp(key(b)).then(a.start.cmp(&b.start)));
            scratch.clear();
            scratch.extend_from_slice(&out[self.start..]);
            out.truncate(self.start);
            for (i, e) in mine.iter().enumerate() {
                if mine.get(i + 1).is_some_and(|next| key(next) == key(e)) {
                    continue;
                }
                if out.len() > self.start {
                    out.push(b',');
                }
                out.extend_from_slice(&scratch[e.start - self.start..e.end - self.start]);
            }
        }
        out.extend_from_slice(self.close);
        entries.truncate(self.entries_start);
        keys.truncate(self.keys_start);
        Ok(())
    }
}

impl ser::SerializeMap for Object<'_> {
    type Ok = ();
    type Error = Unsupported;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Unsupported> {
        self.key(key)
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
        self.value(value)
    }

    fn end(self) -> Result<(), Unsupported> {
        self.close()
    }
}

/// Implements serde's two struct traits for [`Object`].
macro_rules! structs {
    ($($trait:ident),*) => {
        $(impl ser::$trait for Object<'_> {
            type Ok = ();
            type Error = Unsupported;

            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                key: &'static str,
                value: &T,
            ) -> Result<(), Unsupported> {
                self.key(key)?;
                self.value(value)
            }

            fn end(self) -> Result<(), Unsupported> {
                self.close()
            }
        })*
    };
}

structs!(SerializeStruct, SerializeStructVariant);
