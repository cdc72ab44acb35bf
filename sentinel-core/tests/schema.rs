//! The checked-in JSON Schemas must match the formats: `schema/policy-pack.schema.json`
//! (packs) and `schema/sentinel-config.schema.json` (the configuration file).
//! Regenerate both with `SENTINEL_UPDATE_SCHEMAS=1 cargo test -p sentinel-core --test schema`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

/// Compares (or, with `SENTINEL_UPDATE_SCHEMAS` set, rewrites) a checked-in schema.
fn check(file: &str, generated: serde_json::Value) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../schema")
        .join(file);
    if std::env::var_os("SENTINEL_UPDATE_SCHEMAS").is_some() {
        let text = serde_json::to_string_pretty(&generated).unwrap() + "\n";
        std::fs::write(&path, text).unwrap();
    }
    let checked_in: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert!(
        generated == checked_in,
        "schema/{file} is stale: run `SENTINEL_UPDATE_SCHEMAS=1 cargo test -p sentinel-core --test schema`"
    );
}

#[test]
fn checked_in_schemas_are_current() {
    check("policy-pack.schema.json", sentinel_core::pack_schema());
    check(
        "sentinel-config.schema.json",
        sentinel_core::GatewaySpec::json_schema(),
    );
}

#[test]
fn schema_limits_risk_to_100_and_lists_every_operator() {
    let schema = sentinel_core::pack_schema().to_string();
    assert!(
        !schema.contains("\"maximum\":255"),
        "a risk field is not limited to 100"
    );
    for op in [
        "all",
        "any",
        "not",
        "eq",
        "ne",
        "lt",
        "lte",
        "gt",
        "gte",
        "in",
        "not_in",
        "contains",
        "starts_with",
        "ends_with",
        "matches",
        "exists",
    ] {
        assert!(
            schema.contains(&format!("\"{op}\"")),
            "operator `{op}` missing"
        );
    }
}
