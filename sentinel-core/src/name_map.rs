//! Maps keyed by action names, read on every decision.
//!
//! Each `evaluate` looks an action's name up several times (the packs that apply, each
//! pack's rules and payload schema). The keys come from the packs (trusted configuration)
//! and an action's name is only ever looked up, never inserted, so agent-supplied names
//! cannot grow a table: the DoS resistance of the standard SipHash buys nothing here,
//! and its cost was about a tenth of an `evaluate`. `FxHash` hashes a short name in a few
//! instructions.

use std::collections::HashMap;

/// A map from an action's name (or another pack-declared name) to `V`.
pub(crate) type NameMap<V> = HashMap<String, V, rustc_hash::FxBuildHasher>;
