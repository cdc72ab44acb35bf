//! The one way a decision crosses to JavaScript: the core's [`Decision`], serialised once
//! with serde into a compact text that `ts/codec.ts` turns into a plain object.
//!
//! Nothing here names a field of a decision: the encoder is a serde [`Serializer`] for any
//! `Serialize` value, so a field added to the core's `Decision` crosses as it is (only the
//! TypeScript type in `ts/types.ts` needs to learn it). The one convention it applies is the
//! JavaScript spelling of names: struct fields are renamed from snake_case to camelCase
//! (`risk_score` → `riskScore`); enum variants and map keys are data and keep their
//! spelling (`{"risk_floor": 80}`, `"BLOCKED_AWAITING_AUTH"`).
//!
//! Why not JSON text and `JSON.parse`: parsing a ~600-byte decision costs V8 more than the
//! core takes to decide, and most of that text repeats from one decision to the next: the
//! keys, and values such as the status, rule ids, pack names, versions and hashes. So the
//! encoder splits a value into its *shape* — structure and keys, as JSON-like text with leaf
//! codes for the values — and its leaf values, and learns *templates*: a shape with the
//! leaves that repeated between two decisions of that shape fixed to their values. A
//! decision then crosses as the number of a template and the leaves it does not fix; the
//! TypeScript side compiles each template once into a builder of the object (with the fixed
//! values as literals) and asks for an unknown number with [`decision_shape`]. Templates
//! never change once numbered, so every JavaScript environment (worker threads included)
//! reads the same numbers.
//!
//! ```text
//! <template id>[!][+] \x1f <leaf> \x1f <leaf> ... [\x1f <cause id> \x1f <scorer error>]
//! ```
//!
//! Leaves in order of the shape: strings as they are, numbers in decimal, booleans as `1` /
//! `0`; `null` has no leaf. `!`: some leaf holds `\x1f` or `\x1b`, escaped as `\x1bf` /
//! `\x1bb` (such a decision uses the template that fixes nothing). `+`: the scorer failed
//! while this process decided (the core's [`Decision::scorer_error`]); two trailing leaves
//! give the cause id of what a JavaScript scorer threw (empty if none) and the error's
//! message. When the table is full, the head is `=` and the shape itself.
//!
//! Template text: JSON-like, keys as JSON strings, leaf codes `0` string, `1` number, `2`
//! boolean, `3` null, and a fixed leaf as `=` + its code + its value as a JSON string
//! (`"status":=0"EXECUTED"`).
//!
//! Finding the template costs no text: while serialising, the encoder folds the structure
//! and the addresses of the (static) field names into a 128-bit fingerprint, looked up in a
//! per-thread cache; the shape's text is written only the first time a fingerprint is seen.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

use napi_derive::napi;
use sentinel_core::Decision;
use serde::Serialize;
use serde::ser::{self, Serializer};

use crate::callback::JsCause;

const SEP: char = '\x1f';
const ESC: char = '\x1b';
/// Templates numbered at most; beyond, shapes cross inline (and the decoder does not cache).
const MAX_TEMPLATES: usize = 4096;
/// Templates learnt per shape at most (beyond, decisions of that shape use those or none).
const TEMPLATES_PER_SHAPE: usize = 8;
/// Shapes each thread remembers by fingerprint, to skip the global lock.
const RECENT: usize = 8;

/// Encodes a decision for the TypeScript layer (`decodeDecision` in `ts/codec.ts`).
pub fn encode_decision(d: &Decision) -> String {
    with_encoded(d, str::to_owned)
}

/// Encodes a decision into a reused buffer and hands the text to `f` (the hot path: no
/// allocation for the text).
pub fn with_encoded<R>(d: &Decision, f: impl FnOnce(&str) -> R) -> R {
    let trailer = d.scorer_error().map(|e| {
        let cause = e
            .cause()
            .and_then(|c| c.downcast_ref::<JsCause>())
            .map(|c| c.id);
        let scorer = match &d.scorer {
            sentinel_core::ScorerUse::Failed { scorer, .. } => scorer.as_str(),
            _ => "",
        };
        (cause, format!("risk scorer `{scorer}` failed: {e}"))
    });
    BUFFERS.with(|buf| {
        let mut buf = buf.borrow_mut();
        encode_with(&mut buf, d, trailer);
        f(&buf.out)
    })
}

/// The encoder's reused buffers.
#[derive(Default)]
struct Buffers {
    shape: String,
    values: String,
    leaves: Vec<(u32, u32)>,
    out: String,
}

/// Encodes `value` into `buf.out`; `trailer` is the cause id and message of a scorer error.
fn encode_with<T: Serialize + ?Sized>(
    buf: &mut Buffers,
    value: &T,
    trailer: Option<(Option<u32>, String)>,
) {
    let Buffers {
        shape: shape_text,
        values,
        leaves,
        out,
    } = buf;
    values.clear();
    leaves.clear();
    out.clear();
    let mut e = Encoder {
        text: None,
        values,
        leaves,
        escaped: false,
        fp: Fingerprint::new(),
    };
    let ok = value.serialize(&mut e).is_ok();
    let (escaped, fp) = (e.escaped, e.fp.get());
    let (values, leaves) = (values.as_str(), leaves.as_slice());
    let written = ok
        && with_shape(
            fp,
            || {
                // First time this fingerprint is seen here: the shape's text.
                shape_text.clear();
                let mut scratch = (String::new(), Vec::new());
                let mut e = Encoder {
                    text: Some(&mut *shape_text),
                    values: &mut scratch.0,
                    leaves: &mut scratch.1,
                    escaped: false,
                    fp: Fingerprint::new(),
                };
                value.serialize(&mut e).ok().map(|()| shape_text.clone())
            },
            |recent| {
                if escaped {
                    recent.pick = None;
                } else {
                    recent.choose(values, leaves);
                }
                let recent = &*recent;
                let template = recent.chosen();
                match template {
                    Some(t) => push_digits(out, u64::from(t.id)),
                    None => {
                        out.push('=');
                        out.push_str(&recent.shape.text);
                    }
                }
                flags(out, escaped, trailer.is_some());
                let fixed = template.map_or(&[][..], |t| t.fixed.as_slice());
                for (i, &(start, end)) in leaves.iter().enumerate() {
                    if fixed.get(i).is_some_and(Option::is_some) {
                        continue;
                    }
                    out.push(SEP);
                    out.push_str(&values[start as usize..end as usize]);
                }
            },
        )
        .is_some();
    if !written {
        // Not representable (a map with a non-string key): an empty object.
        out.push_str("={}");
        flags(out, escaped, trailer.is_some());
    }
    if let Some((cause, message)) = trailer {
        out.push(SEP);
        if let Some(id) = cause {
            push_digits(out, u64::from(id));
        }
        out.push(SEP);
        let mut scratch = (String::new(), Vec::new());
        let mut e = Encoder {
            text: None,
            values: &mut scratch.0,
            leaves: &mut scratch.1,
            escaped: false,
            fp: Fingerprint::new(),
        };
        e.text(&message);
        out.push_str(&scratch.0);
    }
}

/// The head's flags: `!` escaped leaves, `+` a scorer error trailer.
fn flags(out: &mut String, escaped: bool, trailer: bool) {
    if escaped {
        out.push('!');
    }
    if trailer {
        out.push('+');
    }
}

/// The text of template `id`, for the TypeScript decoder when it meets a number it does not
/// know yet.
#[napi]
pub fn decision_shape(id: u32) -> Option<String> {
    let registry = REGISTRY.lock().ok()?;
    registry.templates.get(id as usize).map(|t| t.text.clone())
}

thread_local! {
    static BUFFERS: RefCell<Buffers> = RefCell::new(Buffers::default());
    /// The last shapes this thread met, by fingerprint, newest last.
    static RECENT_SHAPES: RefCell<Vec<Recent>> = const { RefCell::new(Vec::new()) };
}

/// Every shape and template numbered so far.
#[derive(Default)]
struct Registry {
    by_fingerprint: HashMap<u128, Arc<Shape>>,
    by_text: HashMap<Arc<str>, Arc<Shape>>,
    templates: Vec<Arc<Template>>,
}

static REGISTRY: LazyLock<Mutex<Registry>> = LazyLock::new(Mutex::default);

/// A shape and the templates learnt for it.
struct Shape {
    text: Arc<str>,
    learnt: Mutex<Learnt>,
    /// Bumped whenever a template is learnt (threads then refresh their copy).
    version: AtomicUsize,
}

#[derive(Default)]
struct Learnt {
    /// The template that fixes nothing; `None` when the table was full.
    base: Option<Arc<Template>>,
    /// Templates that fix some leaves, most fixed first.
    templates: Vec<Arc<Template>>,
    /// The leaves of the last decision no template fitted.
    last: Vec<String>,
}

/// A numbered shape with some leaves fixed.
struct Template {
    id: u32,
    /// Per leaf: its fixed value, if any.
    fixed: Vec<Option<Box<str>>>,
    /// The template's text (see the module docs).
    text: String,
}

impl Template {
    /// True when every leaf this template fixes has its value in `leaves`.
    fn fits(&self, values: &str, leaves: &[(u32, u32)]) -> bool {
        self.fixed.len() == leaves.len()
            && self.fixed.iter().zip(leaves).all(|(f, &(start, end))| {
                f.as_deref()
                    .is_none_or(|f| f == &values[start as usize..end as usize])
            })
    }
}

/// What a thread keeps of a shape: the shape, and a copy of its templates as of `version`
/// (so that finding one takes no lock).
struct Recent {
    fp: u128,
    shape: Arc<Shape>,
    version: usize,
    base: Option<Arc<Template>>,
    templates: Vec<Arc<Template>>,
    /// The template picked for the decision being encoded (an index in `templates`).
    pick: Option<usize>,
}

impl Recent {
    fn new(fp: u128, shape: Arc<Shape>) -> Self {
        let mut recent = Self {
            fp,
            shape,
            version: usize::MAX,
            base: None,
            templates: Vec::new(),
            pick: None,
        };
        recent.refresh();
        recent
    }

    /// Copies the shape's templates again when it learnt one since.
    fn refresh(&mut self) {
        let version = self.shape.version.load(Ordering::Acquire);
        if version == self.version {
            return;
        }
        if let Ok(learnt) = self.shape.learnt.lock() {
            self.base = learnt.base.clone();
            self.templates = learnt.templates.clone();
            self.version = version;
        }
    }

    /// Picks the template to send the leaves with (`leaves`: their ranges in `values`),
    /// noted in `self.pick`: one whose fixed leaves match, or one learnt now from the
    /// leaves this decision shares with the last one no template fitted, or the base.
    fn choose(&mut self, values: &str, leaves: &[(u32, u32)]) {
        self.refresh();
        let found = self.templates.iter().position(|t| t.fits(values, leaves));
        let found = match found {
            Some(i) => Some(i),
            None if self.shape.learn(values, leaves) => {
                self.refresh();
                self.templates.iter().position(|t| t.fits(values, leaves))
            }
            None => None,
        };
        self.pick = found;
    }

    /// The template `choose` picked (else the base).
    fn chosen(&self) -> Option<&Template> {
        match self.pick {
            Some(i) => self.templates.get(i).map(|t| &**t),
            None => self.base.as_deref(),
        }
    }
}

impl Shape {
    /// Learns a template from the leaves this decision shares with the last one no
    /// template fitted; true when it did.
    fn learn(&self, values: &str, leaves: &[(u32, u32)]) -> bool {
        let leaf = |&(start, end): &(u32, u32)| &values[start as usize..end as usize];
        let Ok(mut learnt) = self.learnt.lock() else {
            return false;
        };
        if learnt.templates.len() >= TEMPLATES_PER_SHAPE {
            // Nothing more to learn for this shape.
            return false;
        }
        let shared: Vec<Option<Box<str>>> = if learnt.last.len() == leaves.len() {
            learnt
                .last
                .iter()
                .zip(leaves)
                .map(|(a, l)| (a == leaf(l)).then(|| Box::from(leaf(l))))
                .collect()
        } else {
            Vec::new()
        };
        learnt.last = leaves.iter().map(|l| leaf(l).to_owned()).collect();
        if !shared.iter().any(Option::is_some) {
            return false;
        }
        let text = template_text(&self.text, &shared);
        let Some(t) = register(shared, text) else {
            return false;
        };
        let at = learnt
            .templates
            .iter()
            .position(|o| count(&o.fixed) < count(&t.fixed))
            .unwrap_or(learnt.templates.len());
        learnt.templates.insert(at, t);
        self.version.fetch_add(1, Ordering::Release);
        true
    }
}

fn count(fixed: &[Option<Box<str>>]) -> usize {
    fixed.iter().filter(|f| f.is_some()).count()
}

/// Numbers a template; `None` when the table is full.
fn register(fixed: Vec<Option<Box<str>>>, text: String) -> Option<Arc<Template>> {
    REGISTRY.lock().ok()?.number(fixed, text)
}

impl Registry {
    /// Numbers a template; `None` when the table is full.
    fn number(&mut self, fixed: Vec<Option<Box<str>>>, text: String) -> Option<Arc<Template>> {
        if self.templates.len() >= MAX_TEMPLATES {
            return None;
        }
        let id = u32::try_from(self.templates.len()).ok()?;
        let t = Arc::new(Template { id, fixed, text });
        self.templates.push(Arc::clone(&t));
        Some(t)
    }
}

/// Runs `f` with this thread's entry for the shape with fingerprint `fp`; `text` writes
/// the shape's text when the process has not met the fingerprint yet. `None` when the
/// shape cannot be written or the registry is unusable.
fn with_shape<R>(
    fp: u128,
    text: impl FnOnce() -> Option<String>,
    f: impl FnOnce(&mut Recent) -> R,
) -> Option<R> {
    RECENT_SHAPES.with(|recent| {
        let mut recent = recent.borrow_mut();
        if let Some(entry) = recent.iter_mut().rev().find(|r| r.fp == fp) {
            return Some(f(entry));
        }
        let known = REGISTRY
            .lock()
            .ok()?
            .by_fingerprint
            .get(&fp)
            .map(Arc::clone);
        let shape = match known {
            Some(shape) => shape,
            None => {
                let text: Arc<str> = Arc::from(text()?);
                let mut registry = REGISTRY.lock().ok()?;
                let shape = match registry.by_text.get(&text) {
                    Some(shape) => Arc::clone(shape),
                    None => {
                        let base = registry.number(Vec::new(), text.to_string());
                        let shape = Arc::new(Shape {
                            text: Arc::clone(&text),
                            learnt: Mutex::new(Learnt {
                                base,
                                ..Learnt::default()
                            }),
                            version: AtomicUsize::new(0),
                        });
                        registry.by_text.insert(text, Arc::clone(&shape));
                        shape
                    }
                };
                registry.by_fingerprint.insert(fp, Arc::clone(&shape));
                shape
            }
        };
        if recent.len() == RECENT {
            recent.remove(0);
        }
        recent.push(Recent::new(fp, shape));
        recent.last_mut().map(f)
    })
}

/// The shape's text with the fixed leaves written in (`=0"value"`).
fn template_text(shape: &str, fixed: &[Option<Box<str>>]) -> String {
    let mut out = String::with_capacity(shape.len() + 256);
    let mut leaf = 0;
    let mut in_string = false;
    let mut escaped = false;
    for c in shape.chars() {
        if in_string {
            out.push(c);
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '0' | '1' | '2' => {
                match fixed.get(leaf).and_then(Option::as_deref) {
                    Some(value) => {
                        out.push('=');
                        out.push(c);
                        let _ = serde_json::to_writer(ShapeWriter(&mut out), value);
                    }
                    None => out.push(c),
                }
                leaf += 1;
            }
            c => out.push(c),
        }
    }
    out
}

/// A 128-bit fingerprint of a shape: its structure and the addresses of its keys.
struct Fingerprint(u64, u64);

impl Fingerprint {
    fn new() -> Self {
        Self(0x243f_6a88_85a3_08d3, 0x1319_8a2e_0370_7344)
    }

    fn mix(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(5) ^ x).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        self.1 = (self.1.rotate_left(7) ^ x).wrapping_mul(0xc2b2_ae3d_27d4_eb4f);
    }

    fn bytes(&mut self, bytes: &[u8]) {
        self.mix(0xfeed ^ bytes.len() as u64);
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.mix(u64::from_le_bytes(word));
        }
    }

    fn get(&self) -> u128 {
        (u128::from(self.0) << 64) | u128::from(self.1)
    }
}

/// Writes a value's leaves, its fingerprint and (when `text` is set) its shape's text.
struct Encoder<'b> {
    text: Option<&'b mut String>,
    values: &'b mut String,
    leaves: &'b mut Vec<(u32, u32)>,
    escaped: bool,
    fp: Fingerprint,
}

impl<'b> Encoder<'b> {
    fn token(&mut self, c: char) {
        self.fp.mix(c as u64);
        if let Some(text) = &mut self.text {
            text.push(c);
        }
    }

    /// A `,` or `:`: implied by the other tokens, so left out of the fingerprint.
    fn punct(&mut self, c: char) {
        if let Some(text) = &mut self.text {
            text.push(c);
        }
    }

    fn leaf_start(&mut self, code: char) -> u32 {
        self.token(code);
        self.values.len() as u32
    }

    fn leaf_end(&mut self, start: u32) {
        self.leaves.push((start, self.values.len() as u32));
    }

    /// Text as a leaf's value, escaped when needed.
    fn text(&mut self, text: &str) {
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

    fn string(&mut self, text: &str) {
        let start = self.leaf_start('0');
        self.text(text);
        self.leaf_end(start);
    }

    fn digits(&mut self, n: u64) {
        push_digits(self.values, n);
    }

    fn unsigned(&mut self, n: u64) {
        let start = self.leaf_start('1');
        self.digits(n);
        self.leaf_end(start);
    }

    fn signed(&mut self, n: i64) {
        let start = self.leaf_start('1');
        if n < 0 {
            self.values.push('-');
        }
        self.digits(n.unsigned_abs());
        self.leaf_end(start);
    }

    fn float(&mut self, n: f64) {
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
    fn field_name(&mut self, key: &'static str) {
        self.fp
            .mix(key.as_ptr() as u64 ^ ((key.len() as u64) << 48));
        if let Some(text) = &mut self.text {
            push_key(text, key, true);
        }
    }

    /// A variant's name (static), as it is.
    fn variant_name(&mut self, key: &'static str) {
        self.fp
            .mix(key.as_ptr() as u64 ^ ((key.len() as u64) << 48) ^ 1);
        if let Some(text) = &mut self.text {
            push_key(text, key, false);
        }
    }

    /// A map key (data), as it is.
    fn map_key(&mut self, key: &str) {
        self.fp.bytes(key.as_bytes());
        if let Some(text) = &mut self.text {
            push_key(text, key, false);
        }
    }

    fn open(&mut self, bracket: char) -> Compound<'_, 'b> {
        self.token(bracket);
        Compound {
            e: self,
            first: true,
            close: if bracket == '[' { "]" } else { "}" },
        }
    }

    /// `{"variant":` before an externally tagged variant's content.
    fn variant(&mut self, variant: &'static str) {
        self.token('{');
        self.variant_name(variant);
        self.punct(':');
    }

    fn close(&mut self, close: &str) {
        for c in close.chars() {
            self.token(c);
        }
    }
}

/// Writes `n` in decimal, without the formatting machinery.
fn push_digits(out: &mut String, mut n: u64) {
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
fn needs_escape(bytes: &[u8]) -> bool {
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
fn push_key(out: &mut String, key: &str, camel: bool) {
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
struct ShapeWriter<'a>(&'a mut String);

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
    e: &'a mut Encoder<'b>,
    first: bool,
    close: &'static str,
}

impl Compound<'_, '_> {
    fn comma(&mut self) {
        if !std::mem::take(&mut self.first) {
            self.e.punct(',');
        }
    }

    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), CodecError> {
        self.comma();
        value.serialize(&mut *self.e)
    }

    fn field<T: Serialize + ?Sized>(
        &mut self,
        name: &'static str,
        value: &T,
    ) -> Result<(), CodecError> {
        self.comma();
        self.e.field_name(name);
        self.e.punct(':');
        value.serialize(&mut *self.e)
    }

    fn finish(self) -> Result<(), CodecError> {
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
