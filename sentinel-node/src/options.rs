//! `new Gateway(options)`: the binding's own option names (camelCase, milliseconds), written
//! as the core's [`GatewaySpec`] mapping — the one place that knows them.
//!
//! The core's spec then checks every name, value and range, reads the environment
//! fallbacks and defaults, classifies store URLs and pack sources, exactly as for a file
//! given to `Gateway.fromConfig`. This module only renames, converts milliseconds to
//! seconds, hands secrets over in code ([`GroqSpec::with_api_key`],
//! [`TelnyxSpec::secrets`]) and, for an error, names the option the user wrote again:
//!
//! | option | spec key | |
//! | --- | --- | --- |
//! | `packs` | `packs` | `{ json }` becomes `{ inline }` |
//! | `escalationTimeoutMs` | `gateway.escalation_timeout_s` | ms → s |
//! | `unmatched` | `gateway.unmatched` | |
//! | `onScorerError` | `gateway.on_scorer_error` | |
//! | `store` | `store.url` | |
//! | `storeSchema` | `store.schema` | |
//! | `scorer: 'groq'` | `scorer.kind = "groq"` | any name the spec knows |
//! | `scorer: { groq: {...} }` | `scorer.kind = "groq"`, `[scorer.groq]` | [`GROQ`] |
//! | `approver: 'telnyx'` | `approver.kind = "telnyx"` | any name the spec knows |
//! | `approver: { telnyx: {...} }` | `approver.kind = "telnyx"`, `[approver.telnyx]` | [`TELNYX`] |
//!
//! An error names, as `setting`, the option the user gave; for a value read from the
//! environment (given neither as an option nor, for a required one, inside a `{ groq }` /
//! `{ telnyx }` object), the environment variable.

use std::collections::BTreeSet;

use sentinel_core::ConfigError;
use sentinel_core::spec::{GatewaySpec, SecretValue};
use serde_json::{Map, Number, Value};

use crate::convert::json_type as kind;
use crate::errors::Failure;

/// How an option's value becomes the spec's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conv {
    /// As it is.
    Same,
    /// Milliseconds to seconds (a non-number passes as it is, for the spec to refuse).
    Millis,
    /// A secret handed over in code, never part of the mapping.
    Secret,
}

/// One option of a section: its name, the spec key, and the conversion. For a secret, the
/// key is the secret's name in the spec (`api_key`), whose errors are reported at that
/// key (a secret handed over in code) or at its `*_env` / `*_file` key.
pub type Setting = (&'static str, &'static str, Conv);

/// `scorer: { groq: {...} }`.
pub const GROQ: [Setting; 11] = [
    ("apiKey", "api_key", Conv::Secret),
    ("baseUrl", "base_url", Conv::Same),
    ("model", "model", Conv::Same),
    ("timeoutMs", "timeout_s", Conv::Millis),
    ("connectTimeoutMs", "connect_timeout_s", Conv::Millis),
    ("deadlineMs", "deadline_s", Conv::Millis),
    ("maxRetries", "max_retries", Conv::Same),
    ("retryBackoffMs", "retry_backoff_s", Conv::Millis),
    ("concurrency", "concurrency", Conv::Same),
    ("cacheTtlMs", "cache_ttl_s", Conv::Millis),
    ("redactPaths", "redact_paths", Conv::Same),
];

/// `approver: { telnyx: {...} }`.
pub const TELNYX: [Setting; 15] = [
    ("apiKey", "api_key", Conv::Secret),
    ("pin", "pin", Conv::Secret),
    ("connectionId", "connection_id", Conv::Same),
    ("fromNumber", "from_number", Conv::Same),
    ("adminNumber", "admin_number", Conv::Same),
    ("publicKey", "public_key", Conv::Same),
    ("publicUrl", "public_url", Conv::Same),
    ("apiBase", "api_base", Conv::Same),
    ("gatherTimeoutSecs", "gather_timeout_s", Conv::Same),
    ("maxReplays", "max_replays", Conv::Same),
    ("ringTimeoutSecs", "ring_timeout_s", Conv::Same),
    ("callTimeLimitSecs", "call_time_limit_s", Conv::Same),
    ("voice", "voice", Conv::Same),
    ("language", "language", Conv::Same),
    ("redactPaths", "redact_paths", Conv::Same),
];

/// The top-level options that are plain values.
const TOP: [(&str, &str, Conv); 6] = [
    (
        "escalationTimeoutMs",
        "gateway.escalation_timeout_s",
        Conv::Millis,
    ),
    ("unmatched", "gateway.unmatched", Conv::Same),
    ("onScorerError", "gateway.on_scorer_error", Conv::Same),
    ("store", "store.url", Conv::Same),
    ("storeSchema", "store.schema", Conv::Same),
    ("packs", "packs", Conv::Same),
];

/// The two sections given as an object of settings: option, spec section, settings.
const SECTIONS: [(&str, &str, &str, &[Setting]); 2] = [
    ("scorer", "groq", "scorer.groq", &GROQ),
    ("approver", "telnyx", "approver.telnyx", &TELNYX),
];

/// What the user wrote, kept to name it in errors (also those of opening the store later).
#[derive(Debug, Clone, Default)]
pub struct Legacy {
    /// The option paths given, e.g. `escalationTimeoutMs`, `scorer.groq.baseUrl`.
    given: BTreeSet<String>,
    /// The sections given as an object of settings (`scorer.groq`, `approver.telnyx`).
    objects: BTreeSet<&'static str>,
}

/// The options read as a spec, with what is needed to word its errors.
pub struct Translated {
    /// The spec.
    pub spec: GatewaySpec,
    /// What the user wrote.
    pub legacy: Legacy,
}

/// Reads the options (JSON text: what `JSON.stringify` made of the options object, without
/// a custom scorer or approver) as a spec.
pub fn translate(options: &str) -> Result<Translated, Failure> {
    let value: Value = serde_json::from_str(options)
        .map_err(|e| option_error("", format!("gateway options are not JSON data: {e}")))?;
    let options = match value {
        Value::Object(map) => map,
        Value::Null => Map::new(),
        other => {
            return Err(option_error(
                "",
                format!("gateway options must be an object, found {}", kind(&other)),
            ));
        }
    };
    let mut legacy = Legacy::default();
    let mut mapping = Map::new();
    let mut groq_key = None;
    let (mut telnyx_key, mut telnyx_pin) = (None, None);
    for (name, value) in options {
        if value.is_null() {
            continue;
        }
        legacy.given.insert(name.clone());
        if let Some((_, key, conv)) = TOP.iter().find(|(o, ..)| *o == name) {
            let value = match (*conv, name.as_str()) {
                (_, "packs") => packs(value)?,
                (Conv::Millis, _) => millis(value),
                _ => value,
            };
            insert(&mut mapping, key, value);
            continue;
        }
        let Some((option, builtin, section, settings)) = SECTIONS.iter().find(|(o, ..)| *o == name)
        else {
            return Err(option_error(
                &name,
                format!(
                    "unknown option `{name}`, expected one of `packs`, `scorer`, `approver`, `store`, `storeSchema`, `escalationTimeoutMs`, `unmatched`, `onScorerError`"
                ),
            ));
        };
        let kind_key = format!("{option}.kind");
        match value {
            // A name: the spec knows which (`groq`, `offline`; `telnyx`, `none`).
            Value::String(_) => insert(&mut mapping, &kind_key, value),
            Value::Object(object) if object.len() == 1 && object.contains_key(*builtin) => {
                legacy.objects.insert(*section);
                insert(
                    &mut mapping,
                    &kind_key,
                    Value::String((*builtin).to_owned()),
                );
                let Some(Value::Object(given)) = object.get(*builtin) else {
                    return Err(option_error(
                        section,
                        format!("option `{section}` must be an object of settings"),
                    ));
                };
                let mut out = Map::new();
                for (name, value) in given {
                    if value.is_null() {
                        continue;
                    }
                    let path = format!("{section}.{name}");
                    let Some((_, key, conv)) = settings.iter().find(|(o, ..)| *o == name.as_str())
                    else {
                        let known: Vec<String> =
                            settings.iter().map(|(o, ..)| format!("`{o}`")).collect();
                        return Err(option_error(
                            &path,
                            format!(
                                "unknown option `{path}`, expected one of {}",
                                known.join(", ")
                            ),
                        ));
                    };
                    legacy.given.insert(path.clone());
                    match conv {
                        Conv::Secret => {
                            let Value::String(secret) = value else {
                                return Err(option_error(
                                    &path,
                                    format!("option `{path}` must be a string"),
                                ));
                            };
                            let slot = match (*builtin, *name == "pin") {
                                ("groq", _) => &mut groq_key,
                                (_, true) => &mut telnyx_pin,
                                _ => &mut telnyx_key,
                            };
                            *slot = Some(secret.clone());
                        }
                        Conv::Millis => {
                            out.insert((*key).to_owned(), millis(value.clone()));
                        }
                        Conv::Same => {
                            out.insert((*key).to_owned(), value.clone());
                        }
                    }
                }
                insert(&mut mapping, section, Value::Object(out));
            }
            other => {
                let (method, example) = if *option == "scorer" {
                    ("an `assess`", "'groq'")
                } else {
                    ("a `request`", "'telnyx'")
                };
                return Err(option_error(
                    option,
                    format!(
                        "option `{option}` must be a name ({example}), `{{ {builtin}: {{...}} }}` or an object with {method} method, found {}",
                        kind(&other)
                    ),
                ));
            }
        }
    }
    let mut spec = GatewaySpec::from_value(Value::Object(mapping)).map_err(|e| legacy.error(&e))?;
    if let Some(key) = groq_key {
        spec.scorer.groq = Some(
            spec.scorer
                .groq
                .take()
                .unwrap_or_default()
                .with_api_key(key),
        );
    }
    if telnyx_key.is_some() || telnyx_pin.is_some() {
        let telnyx = spec.approver.telnyx.get_or_insert_with(Default::default);
        telnyx.secrets.api_key = telnyx_key.map(SecretValue::new);
        telnyx.secrets.pin = telnyx_pin.map(SecretValue::new);
    }
    Ok(Translated { spec, legacy })
}

impl Legacy {
    /// A configuration error of the core, naming the option the user wrote (or the
    /// environment variable the value came from).
    pub fn error(&self, e: &ConfigError) -> Failure {
        let (option, conv) = option_of(&e.key);
        let setting = match &e.env {
            Some(var) if !self.given.contains(&option) => {
                let section = SECTIONS
                    .iter()
                    .find(|(.., s, _)| option.starts_with(&format!("{s}.")))
                    .map(|(.., s, _)| *s);
                let from_env = std::env::var_os(var).is_some();
                let in_object = section.is_some_and(|s| self.objects.contains(s));
                if from_env || !in_object {
                    var.clone()
                } else {
                    option.clone()
                }
            }
            _ => option.clone(),
        };
        let mut message = if option.is_empty() {
            format!("invalid gateway options: {}", e.message)
        } else {
            format!("invalid option `{option}`: {}", e.message)
        };
        if conv == Conv::Millis && self.given.contains(&option) {
            message.push_str(" (the option is in milliseconds)");
        }
        Failure::config_as(e, message, setting)
    }
}

/// The option path for a spec key (`scorer.groq.base_url` → `scorer.groq.baseUrl`), and its
/// conversion; a key with no option of its own keeps its spelling.
fn option_of(key: &str) -> (String, Conv) {
    for (option, spec_key, conv) in TOP {
        if key == spec_key {
            return (option.to_owned(), conv);
        }
    }
    if let Some(rest) = key.strip_prefix("packs") {
        // `packs[1].inline` is what was written as `packs[1].json`.
        return (
            format!("packs{}", rest.replace(".inline", ".json")),
            Conv::Same,
        );
    }
    match key {
        "store" => return ("store".to_owned(), Conv::Same),
        "scorer.kind" | "scorer" => return ("scorer".to_owned(), Conv::Same),
        "approver.kind" | "approver" => return ("approver".to_owned(), Conv::Same),
        "gateway" | "" => return (String::new(), Conv::Same),
        _ => {}
    }
    for (_, _, section, settings) in SECTIONS {
        if let Some(name) = key.strip_prefix(section).and_then(|k| k.strip_prefix('.')) {
            // A secret's errors: at `api_key`, `api_key_env` or `api_key_file`.
            let head = name.split(['.', '[']).next().unwrap_or(name);
            let secret = head
                .strip_suffix("_env")
                .or_else(|| head.strip_suffix("_file"))
                .unwrap_or(head);
            for (option, spec_key, conv) in settings {
                let matches = *spec_key == head || (*conv == Conv::Secret && *spec_key == secret);
                if matches {
                    return (format!("{section}.{option}"), *conv);
                }
            }
            return (key.to_owned(), Conv::Same);
        }
    }
    (key.to_owned(), Conv::Same)
}

/// `packs`: each `{ json: text | object }` becomes `{ inline: object }`; anything else
/// passes for the spec to read (a name or path, `{ builtin }`, `{ path }`).
fn packs(value: Value) -> Result<Value, Failure> {
    let Value::Array(items) = value else {
        return Ok(value);
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let item = match item {
            Value::Object(mut source) if source.contains_key("json") => {
                let document = match source.remove("json") {
                    Some(Value::String(text)) => serde_json::from_str(&text).map_err(|e| {
                        option_error(
                            &format!("packs[{i}].json"),
                            format!("option `packs[{i}].json` is not JSON: {e}"),
                        )
                    })?,
                    Some(document) => document,
                    None => Value::Null,
                };
                source.insert("inline".to_owned(), document);
                Value::Object(source)
            }
            other => other,
        };
        out.push(item);
    }
    Ok(Value::Array(out))
}

/// Milliseconds as seconds; anything else as it is.
fn millis(value: Value) -> Value {
    match value.as_f64().and_then(|ms| Number::from_f64(ms / 1000.0)) {
        Some(seconds) => Value::Number(seconds),
        None => value,
    }
}

/// Sets `key` (a dotted path) in `mapping`, creating the tables on the way.
fn insert(mapping: &mut Map<String, Value>, key: &str, value: Value) {
    let mut parts = key.split('.').peekable();
    let mut table = mapping;
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            table.insert(part.to_owned(), value);
            return;
        }
        let entry = table
            .entry(part.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        let Value::Object(next) = entry else {
            return;
        };
        table = next;
    }
}

/// A mistake in the options themselves, at `option`.
fn option_error(option: &str, message: String) -> Failure {
    Failure::config_as(
        &ConfigError::at(option, message.clone()),
        message,
        option.to_owned(),
    )
}
