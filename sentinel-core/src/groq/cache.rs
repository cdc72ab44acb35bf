//! A small TTL cache: the same assessment for an identical (redacted, canonical) prompt.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Entries kept at most; when full, expired entries go first, then the oldest.
const MAX_ENTRIES: usize = 4096;

/// A bounded map whose entries expire after a fixed time.
#[derive(Debug)]
pub(crate) struct TtlMap<K, V> {
    ttl: Duration,
    entries: Mutex<HashMap<K, (Instant, V)>>,
}

impl<K: Eq + Hash + Clone, V: Clone> TtlMap<K, V> {
    pub(crate) fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The value stored for `key` less than `ttl` ago.
    pub(crate) fn get(&self, key: &K) -> Option<V> {
        let mut map = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match map.get(key) {
            Some((at, v)) if at.elapsed() < self.ttl => Some(v.clone()),
            Some(_) => {
                map.remove(key);
                None
            }
            None => None,
        }
    }

    pub(crate) fn insert(&self, key: K, value: V) {
        if self.ttl.is_zero() {
            return;
        }
        let mut map = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() >= MAX_ENTRIES && !map.contains_key(&key) {
            let ttl = self.ttl;
            map.retain(|_, (at, _)| at.elapsed() < ttl);
            if map.len() >= MAX_ENTRIES
                && let Some(oldest) = map
                    .iter()
                    .min_by_key(|(_, (at, _))| *at)
                    .map(|(k, _)| k.clone())
            {
                map.remove(&oldest);
            }
        }
        map.insert(key, (Instant::now(), value));
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.lock().map(|m| m.len()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_fresh_entries_and_drops_stale_ones() {
        let m = TtlMap::new(Duration::from_millis(30));
        m.insert("a", 1);
        assert_eq!(m.get(&"a"), Some(1));
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(m.get(&"a"), None);
        assert_eq!(m.len(), 0);
    }

    #[test]
    fn a_zero_ttl_stores_nothing() {
        let m = TtlMap::new(Duration::ZERO);
        m.insert("a", 1);
        assert_eq!(m.get(&"a"), None);
    }

    #[test]
    fn stays_bounded() {
        let m = TtlMap::new(Duration::from_secs(60));
        for i in 0..MAX_ENTRIES + 10 {
            m.insert(i, i);
        }
        assert_eq!(m.len(), MAX_ENTRIES);
    }
}
