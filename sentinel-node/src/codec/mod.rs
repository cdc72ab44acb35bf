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

mod serializer;
mod templates;

use serializer::*;
use templates::*;

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
