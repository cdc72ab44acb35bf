//! The checked-in JSON Schema (`schema/policy-pack.schema.json`) must match the pack format.
//! Regenerate with `cargo run -p sentinel-cli -- schema > schema/policy-pack.schema.json`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

#[test]
fn checked_in_schema_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema/policy-pack.schema.json");
    let generated = sentinel_core::pack_schema();
    let checked_in: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert!(
        generated == checked_in,
        "schema/policy-pack.schema.json is stale: run `cargo run -p sentinel-cli -- schema > schema/policy-pack.schema.json`"
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
