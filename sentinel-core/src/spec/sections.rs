//! The `[gateway]`, `[[packs]]` and `[server]` sections (`[store]`: `store.rs`).

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::ConfigError;
use super::env::resolve;
use super::units::Seconds;
use crate::pack::Pack;
use crate::pipeline::{OnScorerError, Unmatched};

/// `[gateway]`: how decisions are made and how long a human may take.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GatewaySection {
    /// Actions no pack covers: `escalate` (ask a human, the default), `deny`, or `score`
    /// (the scorer decides, auto-approving up to 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unmatched: Option<UnmatchedSpec>,
    /// When the risk scorer fails: `escalate` (the default) or `deny`. Never approves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_scorer_error: Option<OnScorerErrorSpec>,
    /// How long an escalated action waits for a human before it expires. Default 180.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalation_timeout_s: Option<Seconds>,
    /// How long an action may stay `ANALYZING` before recovery decides it again (its
    /// process died); the scorer gets three quarters of it. Default 30.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis_timeout_s: Option<Seconds>,
}

/// `gateway.unmatched`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum UnmatchedSpec {
    /// Ask a human.
    Escalate,
    /// Decline.
    Deny,
    /// Let the scorer decide.
    Score,
}

impl From<UnmatchedSpec> for Unmatched {
    fn from(u: UnmatchedSpec) -> Self {
        match u {
            UnmatchedSpec::Escalate => Unmatched::Escalate,
            UnmatchedSpec::Deny => Unmatched::Deny,
            UnmatchedSpec::Score => Unmatched::Score,
        }
    }
}

/// `gateway.on_scorer_error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnScorerErrorSpec {
    /// Ask a human.
    Escalate,
    /// Decline.
    Deny,
}

impl From<OnScorerErrorSpec> for OnScorerError {
    fn from(o: OnScorerErrorSpec) -> Self {
        match o {
            OnScorerErrorSpec::Escalate => OnScorerError::Escalate,
            OnScorerErrorSpec::Deny => OnScorerError::Deny,
        }
    }
}

/// One `[[packs]]` entry: where a pack comes from.
///
/// In a file, a table with exactly one key: `builtin = "VaultKeeper"`, `path =
/// "packs/mine.json"` or `dir = "packs/"` (every `*.json` in it, in name order; relative
/// paths are relative to the configuration file), or `inline = { ...pack document... }`.
/// A plain string is a built-in pack's name when one has that name, else a path.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PackSource {
    /// A built-in pack: `VaultKeeper`, `PrivacyShield` or `OpsGuard`.
    Builtin(String),
    /// A pack file (JSON).
    Path(PathBuf),
    /// Every `*.json` file in a folder, in name order.
    Dir(PathBuf),
    /// A pack document given in place.
    Inline(Value),
}

impl PackSource {
    /// Loads the pack(s); `key` is this entry's key path, for errors.
    pub(crate) fn load(&self, base: Option<&Path>, key: &str) -> Result<Vec<Pack>, ConfigError> {
        let pack_error = |e: crate::error::PackError| {
            ConfigError::at(key, e.to_string()).with_code(crate::code::ErrorCode::InvalidPack)
        };
        match self {
            Self::Builtin(name) => Ok(vec![Pack::builtin(name).map_err(pack_error)?]),
            Self::Path(path) => {
                let file = resolve(base, path);
                // A bare word that is neither a built-in nor a file: most likely a misspelt
                // built-in name.
                let bare = path.components().count() == 1 && path.extension().is_none();
                if bare && !file.exists() {
                    return Err(ConfigError::at(
                        key,
                        format!(
                            "no built-in pack or pack file named `{}`; built-in packs are `VaultKeeper`, `PrivacyShield`, `OpsGuard`",
                            path.display()
                        ),
                    )
                    .with_code(crate::code::ErrorCode::InvalidPack));
                }
                Ok(vec![Pack::from_file(file).map_err(pack_error)?])
            }
            Self::Inline(document) => Ok(vec![
                Pack::from_json_str(&document.to_string()).map_err(pack_error)?,
            ]),
            Self::Dir(dir) => {
                let dir = resolve(base, dir);
                let entries = std::fs::read_dir(&dir).map_err(|e| {
                    ConfigError::at(
                        format!("{key}.dir"),
                        format!("cannot read folder `{}`: {e}", dir.display()),
                    )
                })?;
                let mut files: Vec<PathBuf> = entries
                    .filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "json") && p.is_file())
                    .collect();
                files.sort();
                if files.is_empty() {
                    return Err(ConfigError::at(
                        format!("{key}.dir"),
                        format!("folder `{}` holds no `*.json` pack", dir.display()),
                    ));
                }
                files
                    .iter()
                    .map(|f| Pack::from_file(f).map_err(pack_error))
                    .collect()
            }
        }
    }

    /// A string as a source: a built-in's name, else a path.
    fn from_text(text: &str) -> Self {
        if Pack::builtin_source(text).is_some() {
            Self::Builtin(text.to_owned())
        } else {
            Self::Path(PathBuf::from(text))
        }
    }
}

impl<'de> Deserialize<'de> for PackSource {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Table {
            builtin: Option<String>,
            path: Option<PathBuf>,
            dir: Option<PathBuf>,
            inline: Option<Value>,
        }

        struct SourceVisitor;

        impl<'de> Visitor<'de> for SourceVisitor {
            type Value = PackSource;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a table with one of `builtin`, `path`, `dir` or `inline`, or a pack name or path")
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<PackSource, E> {
                if text.trim().is_empty() {
                    return Err(E::custom("a pack name or path must not be empty"));
                }
                Ok(PackSource::from_text(text))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<PackSource, A::Error> {
                let t = Table::deserialize(de::value::MapAccessDeserializer::new(map))?;
                let given = [
                    t.builtin.is_some(),
                    t.path.is_some(),
                    t.dir.is_some(),
                    t.inline.is_some(),
                ];
                if given.iter().filter(|g| **g).count() != 1 {
                    return Err(de::Error::custom(
                        "a pack source needs exactly one of `builtin`, `path`, `dir` or `inline`",
                    ));
                }
                Ok(match (t.builtin, t.path, t.dir, t.inline) {
                    (Some(name), ..) => PackSource::Builtin(name),
                    (_, Some(path), ..) => PackSource::Path(path),
                    (_, _, Some(dir), _) => PackSource::Dir(dir),
                    (_, _, _, Some(document)) => PackSource::Inline(document),
                    _ => return Err(de::Error::custom("a pack source needs one key")),
                })
            }
        }

        deserializer.deserialize_any(SourceVisitor)
    }
}

impl JsonSchema for PackSource {
    fn schema_name() -> Cow<'static, str> {
        "PackSource".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Where a pack comes from: exactly one of `builtin`, `path` (relative to the configuration file), `dir` (every `*.json` in it) or `inline` (a pack document); a plain string is a built-in pack's name, else a path.",
            "oneOf": [
                {"type": "string", "minLength": 1},
                {"type": "object", "additionalProperties": false, "required": ["builtin"],
                 "properties": {"builtin": {"type": "string", "description": "`VaultKeeper`, `PrivacyShield` or `OpsGuard`"}}},
                {"type": "object", "additionalProperties": false, "required": ["path"],
                 "properties": {"path": {"type": "string", "description": "a pack file (JSON)"}}},
                {"type": "object", "additionalProperties": false, "required": ["dir"],
                 "properties": {"dir": {"type": "string", "description": "a folder of pack files"}}},
                {"type": "object", "additionalProperties": false, "required": ["inline"],
                 "properties": {"inline": {"type": "object", "description": "a pack document"}}}
            ]
        })
    }
}

/// `[server]`: settings read by `sentinel-server` only (other hosts ignore them).
///
/// Each one can also be set by its `SENTINEL_*` environment variable, which wins over the
/// file (see `sentinel-server`'s README).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServerSpec {
    /// Where to listen, e.g. `127.0.0.1:8000` (the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bind: Option<String>,
    /// The server's public base URL (Telnyx webhooks go to `{public_url}/api/telnyx/webhook`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    /// Longest an ordinary request may take. Default 10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_timeout_s: Option<Seconds>,
    /// Longest long-poll. Default 120.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_wait_s: Option<Seconds>,
    /// Largest request body in bytes. Default 65536.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_body_bytes: Option<u64>,
    /// Longest a client may take to send a request's headers (from the connection's
    /// first byte, or the end of its previous request); the connection is then closed.
    /// Default 5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header_timeout_s: Option<Seconds>,
    /// Longest a client may take to send a request's body; then 408 and the connection
    /// is closed. Default 5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_timeout_s: Option<Seconds>,
    /// Most connections served at once; beyond it a new connection is answered 503 and
    /// closed. Default 1024.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<u32>,
    /// `text` (the default) or `json` log lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_format: Option<LogFormatSpec>,
    /// The environment variable holding the admin token (default `SENTINEL_ADMIN_TOKEN`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_token_env: Option<String>,
    /// A file holding the admin token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_token_file: Option<PathBuf>,
    /// The environment variable holding agent keys as `agent_id=key,...` (default
    /// `SENTINEL_AGENT_KEYS`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_keys_env: Option<String>,
    /// A file of agent keys, one `agent_id=key` per line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_keys_file: Option<PathBuf>,
    /// Origins (`https://dash.example.com`) whose pages may call the API from a browser
    /// with an agent key or the admin token (CORS). Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cors_origins: Option<Vec<String>>,
    /// How long a console sign-in lasts. Default 28800 (8 hours).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_ttl_s: Option<Seconds>,
}

/// `server.log_format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LogFormatSpec {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_sources_read_tables_and_plain_strings() {
        let got: Vec<PackSource> = serde_json::from_value(serde_json::json!([
            "VaultKeeper", "packs/x.json", {"builtin": "OpsGuard"}, {"dir": "p"}, {"inline": {"name": "I"}}
        ]))
        .unwrap_or_default();
        assert_eq!(
            got,
            [
                PackSource::Builtin("VaultKeeper".into()),
                PackSource::Path("packs/x.json".into()),
                PackSource::Builtin("OpsGuard".into()),
                PackSource::Dir("p".into()),
                PackSource::Inline(serde_json::json!({"name": "I"})),
            ]
        );
        for bad in [
            serde_json::json!({"builtin": "A", "path": "b"}),
            serde_json::json!({}),
            serde_json::json!({"file": "x"}),
        ] {
            assert!(
                serde_json::from_value::<PackSource>(bad.clone()).is_err(),
                "{bad}"
            );
        }
    }
}
