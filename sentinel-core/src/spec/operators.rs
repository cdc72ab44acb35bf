//! `[[operators]]`: the people who sign in to `sentinel-server`'s console (other hosts
//! ignore them). Each names the environment variable or the file holding the operator's
//! token, never the token itself.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One operator of the console.
///
/// ```toml
/// [[operators]]
/// name = "alice"
/// token_env = "SENTINEL_TOKEN_ALICE"
/// role = "approver"                 # approver (default) | viewer
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OperatorSpec {
    /// The name recorded with every decision the operator makes (letters, digits and
    /// `_-.@`).
    pub name: String,
    /// The environment variable holding the operator's sign-in token (at least 16
    /// characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_env: Option<String>,
    /// A file holding the operator's sign-in token (relative to this file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_file: Option<PathBuf>,
    /// What the operator may do. Default: `approver`.
    #[serde(default)]
    pub role: OperatorRole,
}

/// `operators[].role`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OperatorRole {
    /// Sees everything and approves or declines pending actions.
    #[default]
    Approver,
    /// Sees everything, decides nothing.
    Viewer,
}

impl OperatorRole {
    /// `approver` or `viewer`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approver => "approver",
            Self::Viewer => "viewer",
        }
    }

    /// True when the role may approve and decline.
    pub fn may_decide(self) -> bool {
        self == Self::Approver
    }
}
