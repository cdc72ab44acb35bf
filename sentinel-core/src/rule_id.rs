//! How a decision cites a matched rule: `pack/rule-id`, shared with the pack.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// A matched rule's `pack/rule-id` (e.g. `VaultKeeper/unknown-vendor-large-payment`), as
/// [`Decision::rules`](crate::Decision::rules) lists it. The text is shared with the pack
/// that holds the rule, so citing a rule copies no string. It reads as a `str` and compares
/// with strings; it serializes as one.
///
/// ```
/// use sentinel_core::RuleId;
///
/// let id = RuleId::from("VaultKeeper/unknown-vendor-large-payment");
/// assert_eq!(id, "VaultKeeper/unknown-vendor-large-payment");
/// assert!(id.starts_with("VaultKeeper/"));
/// assert_eq!(serde_json::to_string(&id).unwrap(), r#""VaultKeeper/unknown-vendor-large-payment""#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RuleId(Arc<str>);

impl RuleId {
    /// The text, `pack/rule-id`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Deref for RuleId {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

/// Hashes and orders as its text does, so it may stand for the text in maps and `join`.
impl Borrow<str> for RuleId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for RuleId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<Arc<str>> for RuleId {
    fn from(text: Arc<str>) -> Self {
        Self(text)
    }
}

impl From<&Arc<str>> for RuleId {
    fn from(text: &Arc<str>) -> Self {
        Self(Arc::clone(text))
    }
}

impl From<&str> for RuleId {
    fn from(text: &str) -> Self {
        Self(Arc::from(text))
    }
}

impl From<String> for RuleId {
    fn from(text: String) -> Self {
        Self(Arc::from(text))
    }
}

impl PartialEq<str> for RuleId {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for RuleId {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl PartialEq<String> for RuleId {
    fn eq(&self, other: &String) -> bool {
        *self.0 == **other
    }
}

impl PartialEq<RuleId> for String {
    fn eq(&self, other: &RuleId) -> bool {
        **self == *other.0
    }
}

impl PartialEq<RuleId> for &str {
    fn eq(&self, other: &RuleId) -> bool {
        **self == *other.0
    }
}
