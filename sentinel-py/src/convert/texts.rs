//! Reading Python strings into Rust, each string object converted once.
//!
//! Under the stable ABI for Python 3.9 (`abi3-py39`) a `str` has no borrowed UTF-8 view:
//! every read encodes it into a new `bytes` object first. The strings of an action are
//! mostly the same objects call after call (the literals and constants an agent builds its
//! actions from: field names, agent and action names, payload keys), so the text of short
//! exact `str` objects is kept, keyed by the object, which the cache holds a reference to
//! (its address therefore names that object, and its content never changes, as long as
//! the entry lives). A bounded cache, emptied when full.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, TryLockError};

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::PyString;

/// Strings kept at most before the cache is emptied.
const CAPACITY: usize = 1024;
/// Longer strings (in code points) are read every time.
const MAX_CHARS: usize = 64;

/// Keyed by the string object's address: the cache holds a reference to every key's
/// object, and addresses are not chosen by callers, so a plain multiplicative hash
/// (`FxHash`) serves; SipHash cost more than the rest of a lookup.
type Entries = HashMap<usize, (Py<PyString>, Box<str>), rustc_hash::FxBuildHasher>;

static CACHE: Mutex<Option<Entries>> = Mutex::new(None);

/// The cache, held for one conversion (taken with the GIL held, never waited for: a
/// conversion that re-enters, e.g. through a `__repr__`, reads without it).
pub(crate) struct Texts {
    guard: Option<MutexGuard<'static, Option<Entries>>>,
}

impl Texts {
    pub(crate) fn lock() -> Self {
        let guard = match CACHE.try_lock() {
            Ok(guard) => Some(guard),
            Err(TryLockError::Poisoned(p)) => Some(p.into_inner()),
            Err(TryLockError::WouldBlock) => None,
        };
        Self { guard }
    }

    /// The text of an exact `str`; `None` for a subclass or a string that is not valid
    /// UTF-8 (lone surrogates), which the caller reads (and reports) its own way.
    pub(crate) fn text(&mut self, s: &Bound<'_, PyString>) -> Option<String> {
        if !s.is_exact_instance_of::<PyString>() {
            return None;
        }
        let Some(guard) = self.guard.as_mut() else {
            return s.to_cow().ok().map(|c| c.into_owned());
        };
        let entries = guard.get_or_insert_with(Entries::default);
        let key = s.as_ptr() as usize;
        if let Some((_, text)) = entries.get(&key) {
            return Some(String::from(&**text));
        }
        let text = s.to_cow().ok()?.into_owned();
        if s.len().is_ok_and(|n| n <= MAX_CHARS) {
            if entries.len() >= CAPACITY {
                entries.clear();
            }
            entries.insert(key, (s.clone().unbind(), text.clone().into_boxed_str()));
        }
        Some(text)
    }
}

/// A field of the action's wire form.
#[derive(Clone, Copy)]
pub(crate) enum Field {
    AgentId,
    Action,
    Payload,
    Reasoning,
    IdempotencyKey,
    Context,
}

/// Which field `key` names (compared by identity with the interned names first, as the
/// keys of a dict literal are); `None` for anything else.
pub(crate) fn field(py: Python<'_>, key: &Bound<'_, PyAny>, texts: &mut Texts) -> Option<Field> {
    let names = [
        (intern!(py, "agent_id"), Field::AgentId),
        (intern!(py, "action"), Field::Action),
        (intern!(py, "payload"), Field::Payload),
        (intern!(py, "reasoning"), Field::Reasoning),
        (intern!(py, "idempotency_key"), Field::IdempotencyKey),
        (intern!(py, "context"), Field::Context),
    ];
    if let Some((_, field)) = names.iter().find(|(name, _)| key.is(name)) {
        return Some(*field);
    }
    let text = texts.text(key.cast::<PyString>().ok()?)?;
    Some(match text.as_str() {
        "agent_id" => Field::AgentId,
        "action" => Field::Action,
        "payload" => Field::Payload,
        "reasoning" => Field::Reasoning,
        "idempotency_key" => Field::IdempotencyKey,
        "context" => Field::Context,
        _ => return None,
    })
}
