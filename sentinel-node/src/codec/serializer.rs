//! The serde `Serializer` that splits a value into its shape and its leaves.

use super::*;

/// Writes a value's leaves, its fingerprint and (when `text` is set) its shape's text.
pub(super) struct Encoder<'b> {
    pub(super) text: Option<&'b mut String>,
    pub(super) values: &'b mut String,
    pub(super) leaves: &'b mut Vec<(u32, u32)>,
    pub(super) escaped: bool,
    pub(super) fp: Fingerprint,
}

impl<'b> Encoder<'b> {
    pub(super) fn token(&mut self, c: char) {
        self.fp.mix(c as u64);
        if let Some(text) = &mut self.text {
            text.push(c);
        }
    }

    /// A `,` or `:`: implied by the other tokens, so left out of the fingerprint.
    pub(super) fn punct(&mut self, c: char) {
        if let Some(text) = &mut self.text {
            text.push(c);
        }
    }

    pub(super) fn leaf_start(&mut self, code: char) -> u32 {
        self.token(code);
        self.values.len() as u32
    }

    pub(super) fn leaf_end(&mut self, start: u32) {
        self.leaves.push((start, self.values.len() as u32));
    }

    /// Text as a leaf's value, escaped when needed.
    pub(super) fn text(&mut self, text: &str) {
        if needs_escape(text.as_bytes()) {
            self.escaped = true;
            for c in text.chars() {
                match c {
                    SEP => self.values.push_str("\x1bf"),
                    ESC => self.values.push_str("\x1bb"),
                    c => self.values.push(c),
                }
            }
        } else {
            self.values.push_str(text);
        }
    }

    pub(super) fn string(&mut self, text: &str) {
        let start = self.leaf_start('0');
        self.text(text);
        self.leaf_end(start);
    }

    pub(super) fn digits(&mut self, n: u64) {
        push_digits(self.values, n);
    }

    pub(super) fn unsigned(&mut self, n: u64) {
        let start = self.leaf_start('1');
        self.digits(n);
        self.leaf_end(start);
    }

    pub(super) fn signed(&mut self, n: i64) {
        let start = self.leaf_start('1');
        if n < 0 {
            self.values.push('-');
        }
        self.digits(n.unsigned_abs());
        self.leaf_end(start);
    }

    pub(super) fn float(&mut self, n: f64) {
        if n.is_finite() {
            let start = self.leaf_start('1');
            let _ = write!(self.values, "{n}");
            self.leaf_end(start);
        } else {
            // As JSON has it.
            self.token('3');
        }
    }

    /// A struct field's name (static: fingerprinted by address), camelCased.
    pub(super) fn field_name(&mut self, key: &'static str) {
        self.fp
            .mix(key.as_ptr() as u64 ^ ((key.len() as u64) << 48));
        if let Some(text) = &mut self.text {
            push_key(text, key, true);
        }
    }

    /// A variant's name (static), as it is.
    pub(super) fn variant_name(&mut self, key: &'static str) {
        self.fp
            .mix(key.as_ptr() as u64 ^ ((key.len() as u64) << 48) ^ 1);
        if let Some(text) = &mut self.text {
            push_key(text, key, false);
        }
    }

    /// A map key (data), as it is.
    pub(super) fn map_key(&mut self, key: &str) {
        self.fp.bytes(key.as_bytes());
        if let Some(text) = &mut self.text {
            push_key(text, key, false);
        }
    }

    pub(super) fn open(&mut self, bracket: char) -> Compound<'_, 'b> {
        self.token(bracket);
        Compound {
            e: self,
            first: true,
            close: if bracket == '[' { "]" } else { "}" },
        }
    }

    /// `{"variant":` before an externally tagged variant's content.
    pub(super) fn variant(&mut self, variant: &'static str) {
        self.token('{');
        self.variant_name(variant);
        self.punct(':');
    }

    pub(super) fn close(&mut self, close: &str) {
        for c in close.chars() {
            self.token(c);
        }
    }
}

/// Writes `n` in decimal, without the formatting machinery.
pub(super) fn push_digits(out: &mut String, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &b in &buf[i..] {
        out.push(char::from(b));
    }
}

/// True when `bytes` hold `\x1f` or `\x1b`; eight bytes at a time (a byte below `0x20`
/// in a word, then the exact test on that word only).
pub(super) fn needs_escape(bytes: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let exact = |chunk: &[u8]| chunk.iter().any(|&b| b == 0x1f || b == 0x1b);
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word);
        if (x.wrapping_sub(ONES * 0x20) & !x & HIGH) != 0 && exact(chunk) {
            return true;
        }
    }
    exact(chunks.remainder())
}

/// Writes `key` as a JSON string, camelCased when `camel` (`risk_score` → `riskScore`; a
/// leading `_` stays).
pub(super) fn push_key(out: &mut String, key: &str, camel: bool) {
    let bytes = key.as_bytes();
    if bytes
        .iter()
        .any(|&b| b < 0x20 || b == b'"' || b == b'\\' || b >= 0x7f)
    {
        let _ = serde_json::to_writer(ShapeWriter(out), key);
        return;
    }
    out.push('"');
    let mut upper = false;
    for (i, &b) in bytes.iter().enumerate() {
        if camel && b == b'_' && i > 0 {
            upper = true;
        } else {
            out.push(char::from(if upper { b.to_ascii_uppercase() } else { b }));
            upper = false;
        }
    }
    out.push('"');
}

/// Adapts the shape buffer for `serde_json::to_writer`.
pub(super) struct ShapeWriter<'a>(pub(super) &'a mut String);

impl std::io::Write for ShapeWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.push_str(&String::from_utf8_lossy(buf));
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Why a value cannot be encoded (a map key that is not a string or a number).
#[derive(Debug)]
pub struct CodecError(String);

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CodecError {}

impl ser::Error for CodecError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self(msg.to_string())
    }
}

impl<'a, 'b> Serializer for &'a mut Encoder<'b> {
    type Ok = ();
    type Error = CodecError;
    type SerializeSeq = Compound<'a, 'b>;
    type SerializeTuple = Compound<'a, 'b>;
    type SerializeTupleStruct = Compound<'a, 'b>;
    type SerializeTupleVariant = Compound<'a, 'b>;
    type SerializeMap = Compound<'a, 'b>;
    type SerializeStruct = Compound<'a, 'b>;
    type SerializeStructVariant = Compound<'a, 'b>;

    fn serialize_bool(self, v: bool) -> Result<(), CodecError> {
        let start = self.leaf_start('2');
        self.values.push(if v { '1' } else { '0' });
        self.leaf_end(start);
        Ok(())
    }

    fn serialize_i8(self, v: i8) -> Result<(), CodecError> {
        self.signed(i64::from(v));
        Ok(())
    }

    fn serialize_i16(self, v: i16) -> Result<(), CodecError> {
        self.signed(i64::from(v));
        Ok(())
    }

    fn serialize_i32(self, v: i32) -> Result<(), CodecError> {
        self.signed(i64::from(v));
        Ok(())
    }

    fn serialize_i64(self, v: i64) -> Result<(), CodecError> {
        self.signed(v);
        Ok(())
    }

    fn serialize_u8(self, v: u8) -> Result<(), CodecError> {
        self.unsigned(u64::from(v));
        Ok(())
    }

    fn serialize_u16(self, v: u16) -> Result<(), CodecError> {
        self.unsigned(u64::from(v));
        Ok(())
    }

    fn serialize_u32(self, v: u32) -> Result<(), CodecError> {
        self.unsigned(u64::from(v));
        Ok(())
    }

    fn serialize_u64(self, v: u64) -> Result<(), CodecError> {
        self.unsigned(v);
        Ok(())
    }

    fn serialize_f32(self, v: f32) -> Result<(), CodecError> {
        self.float(f64::from(v));
        Ok(())
    }

    fn serialize_f64(self, v: f64) -> Result<(), CodecError> {
        self.float(v);
        Ok(())
    }

    fn serialize_char(self, v: char) -> Result<(), CodecError> {
        self.string(v.encode_utf8(&mut [0u8; 4]));
        Ok(())
    }

    fn serialize_str(self, v: &str) -> Result<(), CodecError> {
        self.string(v);
        Ok(())
    }

    fn serialize_bytes(self, v: &[u8]) -> Result<(), CodecError> {
        use ser::SerializeSeq;
        let mut seq = self.serialize_seq(Some(v.len()))?;
        for b in v {
            seq.serialize_element(b)?;
        }
        seq.end()
    }

    fn serialize_none(self) -> Result<(), CodecError> {
        self.token('3');
        Ok(())
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), CodecError> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), CodecError> {
        self.serialize_none()
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), CodecError> {
        self.serialize_none()
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), CodecError> {
        self.string(variant);
        Ok(())
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), CodecError> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), CodecError> {
        self.variant(variant);
        value.serialize(&mut *self)?;
        self.token('}');
        Ok(())
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<Compound<'a, 'b>, CodecError> {
        Ok(self.open('['))
    }

    fn serialize_tuple(self, len: usize) -> Result<Compound<'a, 'b>, CodecError> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<Compound<'a, 'b>, CodecError> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a, 'b>, CodecError> {
        self.variant(variant);
        Ok(Compound {
            close: "]}",
            ..self.open('[')
        })
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<Compound<'a, 'b>, CodecError> {
        Ok(self.open('{'))
    }

    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Compound<'a, 'b>, CodecError> {
        Ok(self.open('{'))
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a, 'b>, CodecError> {
        self.variant(variant);
        Ok(Compound {
            close: "}}",
            ..self.open('{')
        })
    }
}

/// An array or object being written.
pub struct Compound<'a, 'b> {
    pub(super) e: &'a mut Encoder<'b>,
    pub(super) first: bool,
    pub(super) close: &'static str,
}

impl Compound<'_, '_> {
    pub(super) fn comma(&mut self) {
        if !std::mem::take(&mut self.first) {
            self.e.punct(',');
        }
    }

    pub(super) fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), CodecError> {
        self.comma();
        value.serialize(&mut *self.e)
    }

    pub(super) fn field<T: Serialize + ?Sized>(
        &mut self,
        name: &'static str,
        value: &T,
    ) -> Result<(), CodecError> {
        self.comma();
        self.e.field_name(name);
        self.e.punct(':');
        value.serialize(&mut *self.e)
    }

    pub(super) fn finish(self) -> Result<(), CodecError> {
        self.e.close(self.close);
        Ok(())
    }
}

impl ser::SerializeSeq for Compound<'_, '_> {
    type Ok = ();
    type Error = CodecError;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), CodecError> {
        self.element(value)
    }

    fn end(self) -> Result<(), CodecError> {
        self.finish()
    }
}

impl ser::SerializeTuple for Compound<'_, '_> {
    type Ok = ();
    type Error = CodecError;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), CodecError> {
        self.element(value)
    }

    fn end(self) -> Result<(), CodecError> {
        self.finish()
    }
}

impl ser::SerializeTupleStruct for Compound<'_, '_> {
    type Ok = ();
    type Error = CodecError;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), CodecError> {
        self.element(value)
    }

    fn end(self) -> Result<(), CodecError> {
        self.finish()
    }
}

impl ser::SerializeTupleVariant for Compound<'_, '_> {
    type Ok = ();
    type Error = CodecError;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), CodecError> {
        self.element(value)
    }

    fn end(self) -> Result<(), CodecError> {
        self.finish()
    }
}

impl ser::SerializeMap for Compound<'_, '_> {
    type Ok = ();
    type Error = CodecError;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), CodecError> {
        self.comma();
        let key = match serde_json::to_value(key) {
            Ok(serde_json::Value::String(s)) => s,
            Ok(serde_json::Value::Number(n)) => n.to_string(),
            Ok(serde_json::Value::Bool(b)) => b.to_string(),
            _ => return Err(ser::Error::custom("map keys must be strings or numbers")),
        };
        self.e.map_key(&key);
        self.e.punct(':');
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), CodecError> {
        value.serialize(&mut *self.e)
    }

    fn end(self) -> Result<(), CodecError> {
        self.finish()
    }
}

impl ser::SerializeStruct for Compound<'_, '_> {
    type Ok = ();
    type Error = CodecError;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        name: &'static str,
        value: &T,
    ) -> Result<(), CodecError> {
        self.field(name, value)
    }

    fn end(self) -> Result<(), CodecError> {
        self.finish()
    }
}

impl ser::SerializeStructVariant for Compound<'_, '_> {
    type Ok = ();
    type Error = CodecError;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        name: &'static str,
        value: &T,
    ) -> Result<(), CodecError> {
        self.field(name, value)
    }

    fn end(self) -> Result<(), CodecError> {
        self.finish()
    }
}
