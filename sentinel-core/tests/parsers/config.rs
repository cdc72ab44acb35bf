//! Configuration files.

use super::*;

fn seconds() -> impl Strategy<Value = Value> {
    prop_oneof![
        (1u32..=3600).prop_map(Value::from),
        (0.001f64..31_536_000.0).prop_map(Value::from),
    ]
}

/// Some of `entries`, as a table.
fn table(entries: Vec<(&'static str, BoxedStrategy<Value>)>) -> impl Strategy<Value = Value> {
    let n = entries.len();
    let (names, values): (Vec<_>, Vec<_>) = entries.into_iter().unzip();
    (prop::collection::vec(any::<bool>(), n), values).prop_map(move |(keep, values)| {
        let map: Map<String, Value> = names
            .iter()
            .zip(values)
            .zip(keep)
            .filter(|(_, k)| *k)
            .map(|((name, v), _)| ((*name).to_owned(), v))
            .collect();
        Value::Object(map)
    })
}

fn word() -> BoxedStrategy<Value> {
    "[A-Za-z0-9_./:-]{1,12}".prop_map(Value::from).boxed()
}

fn pick(items: &[&'static str]) -> BoxedStrategy<Value> {
    select(items.to_vec()).prop_map(Value::from).boxed()
}

fn pack_source() -> impl Strategy<Value = Value> {
    prop_oneof![
        pick(&[
            "VaultKeeper",
            "PrivacyShield",
            "OpsGuard",
            "packs/mine.json"
        ]),
        pick(&["VaultKeeper", "OpsGuard"]).prop_map(|n| json!({ "builtin": n })),
        word().prop_map(|p| json!({ "path": p })),
        word().prop_map(|d| json!({ "dir": d })),
        pack(0).prop_map(|doc| json!({ "inline": doc })),
    ]
}

/// A configuration from the spec's keys, with values of the right type.
fn config() -> impl Strategy<Value = Value> {
    let gateway = table(vec![
        ("unmatched", pick(&["escalate", "deny", "score"])),
        ("on_scorer_error", pick(&["escalate", "deny"])),
        ("escalation_timeout_s", seconds().boxed()),
        ("analysis_timeout_s", seconds().boxed()),
    ]);
    let store = table(vec![
        (
            "url",
            pick(&[
                "memory",
                "sqlite://data/s.db",
                "s.db",
                "postgres://db/x",
                "sqlite::memory:",
            ]),
        ),
        ("url_env", pick(&["DATABASE_URL"])),
        ("schema", pick(&["sentinel"])),
        (
            "memory_capacity",
            (1u64..1_000_000).prop_map(Value::from).boxed(),
        ),
        ("audit_key_env", pick(&["SENTINEL_AUDIT_KEY"])),
        ("audit_key_file", word()),
        ("checkpoint_interval_s", seconds().boxed()),
    ]);
    let groq = table(vec![
        ("model", word()),
        (
            "base_url",
            pick(&["https://api.groq.com/openai/v1", "http://127.0.0.1:9/v1"]),
        ),
        ("api_key_env", pick(&["GROQ_API_KEY"])),
        ("api_key_file", word()),
        ("timeout_s", seconds().boxed()),
        ("connect_timeout_s", seconds().boxed()),
        ("deadline_s", seconds().boxed()),
        ("max_retries", (0u32..10).prop_map(Value::from).boxed()),
        ("retry_backoff_s", seconds().boxed()),
        ("concurrency", (1u32..64).prop_map(Value::from).boxed()),
        ("cache_ttl_s", seconds().boxed()),
        (
            "redact_paths",
            prop::collection::vec(pick(&["payload.iban", "context.t"]), 0..3)
                .prop_map(Value::from)
                .boxed(),
        ),
    ]);
    let scorer = (pick(&["offline", "groq"]), prop::option::of(groq)).prop_map(|(kind, groq)| {
        let mut s = json!({ "kind": kind });
        if let Some(g) = groq {
            s["groq"] = g;
        }
        s
    });
    let telnyx = table(vec![
        ("api_key_env", pick(&["TELNYX_API_KEY"])),
        ("connection_id", word()),
        ("from_number", pick(&["+15551234567", "+4930123456"])),
        ("admin_number", pick(&["+15557654321"])),
        (
            "public_key",
            pick(&["WGZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmY="]),
        ),
        ("public_url", pick(&["https://sentinel.example.com"])),
        ("api_base", pick(&["https://api.telnyx.com/v2"])),
        ("pin_env", pick(&["TELNYX_APPROVAL_PIN"])),
        (
            "gather_timeout_s",
            (1u64..=120).prop_map(Value::from).boxed(),
        ),
        ("max_replays", (0u64..=10).prop_map(Value::from).boxed()),
        ("ring_timeout_s", (5u64..=120).prop_map(Value::from).boxed()),
        (
            "call_time_limit_s",
            (30u64..=14_400).prop_map(Value::from).boxed(),
        ),
        ("voice", pick(&["female", "male"])),
        ("language", pick(&["en-US", "de-DE"])),
        (
            "redact_paths",
            prop::collection::vec(pick(&["payload.iban"]), 0..2)
                .prop_map(Value::from)
                .boxed(),
        ),
    ]);
    let approver = (pick(&["none", "telnyx"]), prop::option::of(telnyx)).prop_map(|(kind, t)| {
        let mut a = json!({ "kind": kind });
        if let Some(t) = t {
            a["telnyx"] = t;
        }
        a
    });
    let server = table(vec![
        ("bind", pick(&["127.0.0.1:8000", "0.0.0.0:80"])),
        ("public_url", pick(&["https://sentinel.example.com"])),
        ("request_timeout_s", seconds().boxed()),
        ("max_wait_s", seconds().boxed()),
        (
            "max_body_bytes",
            (1u64..10_000_000).prop_map(Value::from).boxed(),
        ),
        ("log_format", pick(&["text", "json"])),
        ("admin_token_env", word()),
        ("admin_token_file", word()),
        ("agent_keys_env", word()),
        ("agent_keys_file", word()),
    ]);
    table(vec![
        ("gateway", gateway.boxed()),
        (
            "packs",
            prop::collection::vec(pack_source(), 0..3)
                .prop_map(Value::from)
                .boxed(),
        ),
        ("store", store.boxed()),
        ("scorer", scorer.boxed()),
        ("approver", approver.boxed()),
        ("server", server.boxed()),
    ])
}

/// Sets `value` at a random key of a random section (or at the top).
fn mutated() -> impl Strategy<Value = Value> {
    let keys = vec![
        "gateway.unmatched",
        "gateway.escalation_timeout_s",
        "packs",
        "store.url",
        "store.memory_capacity",
        "store.checkpoint_interval_s",
        "scorer.kind",
        "scorer.groq.timeout_s",
        "scorer.groq.concurrency",
        "scorer.groq.max_retries",
        "approver.kind",
        "approver.telnyx.max_replays",
        "approver.telnyx.public_key",
        "server.max_body_bytes",
        "server.log_format",
        "gateway.nope",
        "nope",
        "$schema",
    ];
    (config(), select(keys), json_value()).prop_map(|(mut doc, at, value)| {
        let mut node = &mut doc;
        let parts: Vec<&str> = at.split('.').collect();
        for part in &parts[..parts.len() - 1] {
            if !node.get(*part).is_some_and(Value::is_object) {
                node[*part] = json!({});
            }
            node = &mut node[*part];
        }
        node[parts[parts.len() - 1]] = value;
        doc
    })
}

/// A JSON document as TOML: one `key = value` line per top-level key, tables inline;
/// `None` when TOML cannot hold it (a `null`, an integer above `i64::MAX`) or it is not
/// an object.
fn to_toml(doc: &Value) -> Option<String> {
    fn value(v: &Value, out: &mut String) -> Option<()> {
        match v {
            Value::Null => return None,
            // JSON string escapes are TOML's, but TOML also wants DEL escaped.
            Value::String(s) => out.push_str(
                &Value::from(s.as_str())
                    .to_string()
                    .replace('\u{7f}', "\\u007f"),
            ),
            // TOML integers are 64-bit signed.
            Value::Number(n) if n.is_u64() && n.as_i64().is_none() => return None,
            Value::Bool(_) | Value::Number(_) => out.push_str(&v.to_string()),
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    value(item, out)?;
                }
                out.push(']');
            }
            Value::Object(map) => {
                out.push('{');
                for (i, (k, item)) in map.iter().enumerate() {
                    out.push_str(if i > 0 { ", " } else { " " });
                    value(&Value::from(k.as_str()), out)?;
                    out.push_str(" = ");
                    value(item, out)?;
                }
                out.push_str(if map.is_empty() { "}" } else { " }" });
            }
        }
        Some(())
    }
    let mut out = String::new();
    for (k, v) in doc.as_object()? {
        value(&Value::from(k.as_str()), &mut out)?;
        out.push_str(" = ");
        value(v, &mut out)?;
        out.push('\n');
    }
    Some(out)
}

/// A spec that loaded re-serialises (serde) and reloads to an equal spec, through JSON
/// and through TOML.
fn assert_round_trips(spec: &GatewaySpec) -> Result<(), TestCaseError> {
    let json = serde_json::to_string(spec).unwrap();
    let again = GatewaySpec::from_json_str(&json);
    prop_assert_eq!(again.as_ref(), Ok(spec), "{}", json);
    if let Some(toml) = to_toml(&serde_json::to_value(spec).unwrap()) {
        let again = GatewaySpec::from_toml_str(&toml);
        prop_assert_eq!(again.as_ref(), Ok(spec), "{}", toml);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// A configuration of well-typed values loads alike from TOML and from JSON, and
    /// round-trips.
    #[test]
    fn configs_load_from_toml_and_json_alike_and_round_trip(doc in config()) {
        let json = doc.to_string();
        let from_json = GatewaySpec::from_json_str(&json);
        prop_assert!(from_json.is_ok(), "{:?}\n{}", from_json, json);
        // TOML holds no `null` (an inline pack may have one).
        if let Some(toml) = to_toml(&doc) {
            let from_toml = GatewaySpec::from_toml_str(&toml);
            prop_assert_eq!(&from_toml, &from_json, "{}", toml);
        }
        assert_round_trips(&from_json.unwrap())?;
    }

    /// With a random value at a random key, a configuration loads or is refused with a
    /// message; one that loads round-trips.
    #[test]
    fn mutated_configs_never_panic_and_round_trip_when_they_load(doc in mutated()) {
        let json = doc.to_string();
        match GatewaySpec::from_json_str(&json) {
            Ok(spec) => assert_round_trips(&spec)?,
            Err(e) => prop_assert!(!e.message.is_empty()),
        }
        if let Some(toml) = to_toml(&doc) {
            match GatewaySpec::from_toml_str(&toml) {
                Ok(spec) => assert_round_trips(&spec)?,
                Err(e) => prop_assert!(!e.message.is_empty()),
            }
        }
    }
}
