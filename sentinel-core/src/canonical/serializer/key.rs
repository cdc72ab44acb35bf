//! Object keys: what serde_json's `Value` takes as a key, written the same way.

use std::fmt;
use std::io::Write as _;

use serde::Serialize;
use serde::ser::{self, Impossible};

use super::{Buffers, Unsupported, unsupported};

/// Writes an object's key: raw into [`Buffers::keys`], escaped into [`Buffers::out`]. Takes
/// what serde_json's `Value` takes as a key and writes it the same way: strings, chars,
/// unit variants and integers (as their digits).
pub(super) struct KeySerializer<'a> {
    pub(super) b: &'a mut Buffers,
}

impl KeySerializer<'_> {
    fn integer(self, v: impl fmt::Display) -> Result<(), Unsupported> {
        let start = self.b.keys.len();
        write!(self.b.keys, "{v}").map_err(|e| Unsupported(e.to_string()))?;
        self.b.out.push(b'"');
        self.b.out.extend_from_slice(&self.b.keys[start..]);
        self.b.out.push(b'"');
        Ok(())
    }
}

macro_rules! integer_keys {
    ($($method:ident: $ty:ty),* $(,)?) => {
        $(fn $method(self, v: $ty) -> Result<(), Unsupported> {
            self.integer(v)
        })*
    };
}

macro_rules! refused_keys {
    ($($method:ident: $ty:ty),* $(,)?) => {
        $(fn $method(self, _: $ty) -> Result<(), Unsupported> {
            unsupported("a key that is not a string")
        })*
    };
}

impl ser::Serializer for KeySerializer<'_> {
    type Ok = ();
    type Error = Unsupported;
    type SerializeSeq = Impossible<(), Unsupported>;
    type SerializeTuple = Impossible<(), Unsupported>;
    type SerializeTupleStruct = Impossible<(), Unsupported>;
    type SerializeTupleVariant = Impossible<(), Unsupported>;
    type SerializeMap = Impossible<(), Unsupported>;
    type SerializeStruct = Impossible<(), Unsupported>;
    type SerializeStructVariant = Impossible<(), Unsupported>;

    integer_keys!(
        serialize_i8: i8,
        serialize_i16: i16,
        serialize_i32: i32,
        serialize_i64: i64,
        serialize_u8: u8,
        serialize_u16: u16,
        serialize_u32: u32,
        serialize_u64: u64,
    );

    refused_keys!(
        serialize_bool: bool,
        serialize_i128: i128,
        serialize_u128: u128,
        serialize_f32: f32,
        serialize_f64: f64,
        serialize_bytes: &[u8],
    );

    fn serialize_str(self, v: &str) -> Result<(), Unsupported> {
        self.b.keys.extend_from_slice(v.as_bytes());
        self.b.json(&v)
    }

    fn serialize_char(self, v: char) -> Result<(), Unsupported> {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }

    fn serialize_none(self) -> Result<(), Unsupported> {
        unsupported("a key that is not a string")
    }

    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<(), Unsupported> {
        unsupported("a key that is not a string")
    }

    fn serialize_unit(self) -> Result<(), Unsupported> {
        unsupported("a key that is not a string")
    }

    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Unsupported> {
        unsupported("a key that is not a string")
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
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), Unsupported> {
        unsupported("a key that is not a string")
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Unsupported> {
        unsupported("a key that is not a string")
    }

    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Unsupported> {
        unsupported("a key that is not a string")
    }

    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Unsupported> {
        unsupported("a key that is not a string")
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Unsupported> {
        unsupported("a key that is not a string")
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Unsupported> {
        unsupported("a key that is not a string")
    }

    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, Unsupported> {
        unsupported("a key that is not a string")
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Unsupported> {
        unsupported("a key that is not a string")
    }

    fn collect_str<T: fmt::Display + ?Sized>(self, value: &T) -> Result<(), Unsupported> {
        self.b.display(value, true)
    }
}
