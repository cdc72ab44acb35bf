//! Canonical JSON for the hashes that receipts and the audit chain compare: compact, with
//! every object's keys sorted by their bytes.
//!
//! The order is made here, explicitly, not inherited from `serde_json::Map`: with
//! serde_json's `preserve_order` feature (which any dependency may turn on) a map keeps
//! insertion order, and two equal actions would hash differently.

mod serializer;
#[cfg(test)]
mod serializer_tests;

use std::cell::RefCell;
use std::io::{self, Write};

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::action::hex;

/// Writes `value` as canonical JSON.
pub(crate) fn write(out: &mut impl Write, value: &Value) -> io::Result<()> {
    match value {
        Value::Object(map) => write_object(out, map.iter().map(|(k, v)| (k.as_str(), v))),
        Value::Array(items) => {
            out.write_all(b"[")?;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.write_all(b",")?;
                }
                write(out, item)?;
            }
            out.write_all(b"]")
        }
        // Strings, numbers, booleans and null have one compact form.
        scalar => serde_json::to_writer(&mut *out, scalar).map_err(io::Error::other),
    }
}

/// Writes an object from its entries, in any order: they are sorted by key first.
pub(crate) fn write_object<'a>(
    out: &mut impl Write,
    entries: impl IntoIterator<Item = (&'a str, &'a Value)>,
) -> io::Result<()> {
    let mut entries: Vec<(&str, &Value)> = entries.into_iter().collect();
    entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    out.write_all(b"{")?;
    for (i, (key, value)) in entries.into_iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        serde_json::to_writer(&mut *out, key).map_err(io::Error::other)?;
        out.write_all(b":")?;
        write(out, value)?;
    }
    out.write_all(b"}")
}

/// A SHA-256 that canonical JSON is written into, without an intermediate buffer.
#[derive(Default)]
pub(crate) struct Hasher(Sha256);

impl Hasher {
    /// The lowercase hex digest.
    pub(crate) fn finish(self) -> String {
        hex(&self.0.finalize())
    }
}

impl Write for Hasher {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// SHA-256 (hex) of the canonical JSON of `value`.
pub(crate) fn hash(value: &Value) -> String {
    let mut hasher = Hasher::default();
    // Writing into a hasher cannot fail.
    let _ = write(&mut hasher, value);
    hasher.finish()
}

/// SHA-256 (hex) of the canonical JSON of what `value` serializes to: the digest [`hash`]
/// gives for `serde_json::to_value(value)`, without building that value. Fails where
/// `to_value` fails.
pub(crate) fn hash_of<T: Serialize + ?Sized>(value: &T) -> Result<String, serde_json::Error> {
    thread_local! {
        static BUFFERS: RefCell<serializer::Buffers> = RefCell::default();
    }
    /// Buffers a thread keeps between values; one that grew past this is let go.
    const KEEP: usize = 1 << 20;
    let direct = BUFFERS.with(|cell| {
        let digest = |buffers: &mut serializer::Buffers| {
            buffers
                .write(value)
                .ok()
                .map(|()| hex(&Sha256::digest(&buffers.out)))
        };
        // A `Serialize` impl that hashes another value while it is written finds the
        // thread's buffers taken, and uses its own.
        let Ok(mut buffers) = cell.try_borrow_mut() else {
            return digest(&mut serializer::Buffers::default());
        };
        let done = digest(&mut buffers);
        if buffers.capacity() > KEEP {
            *buffers = serializer::Buffers::default();
        }
        done
    });
    match direct {
        Some(digest) => Ok(digest),
        // What the direct writer leaves to serde_json (see `serializer`).
        None => serde_json::to_value(value).map(|value| hash(&value)),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn text(entries: Vec<(&str, Value)>) -> String {
        let mut out = Vec::new();
        write_object(&mut out, entries.iter().map(|(k, v)| (*k, v))).unwrap_or_default();
        String::from_utf8(out).unwrap_or_default()
    }

    #[test]
    fn objects_are_sorted_whatever_order_the_entries_come_in() {
        // Entries given in reverse order, as an insertion-ordered map would keep them.
        let got = text(vec![
            ("zeta", json!(1)),
            ("b", json!({"y": [true, null], "x": "é\"q"})),
            ("a", json!(2.5)),
            ("B", json!(0)),
        ]);
        assert_eq!(
            got,
            r#"{"B":0,"a":2.5,"b":{"x":"é\"q","y":[true,null]},"zeta":1}"#
        );
        let forward = text(vec![
            ("B", json!(0)),
            ("a", json!(2.5)),
            ("b", json!({"x": "é\"q", "y": [true, null]})),
            ("zeta", json!(1)),
        ]);
        assert_eq!(got, forward);
    }

    #[test]
    fn nested_maps_are_sorted_too_and_match_compact_sorted_json() {
        let v = json!({"b": {"d": 1, "c": [{"f": 1, "e": 2}]}, "a": "x"});
        let mut out = Vec::new();
        write(&mut out, &v).unwrap_or_default();
        assert_eq!(
            String::from_utf8(out).unwrap_or_default(),
            r#"{"a":"x","b":{"c":[{"e":2,"f":1}],"d":1}}"#
        );
        let expected = r#"{"a":"x","b":{"c":[{"e":2,"f":1}],"d":1}}"#;
        assert_eq!(hash(&v), hex(&Sha256::digest(expected.as_bytes())));
    }
}
