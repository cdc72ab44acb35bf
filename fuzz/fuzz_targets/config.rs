//! The configuration file: `GatewaySpec::from_toml_str` and `GatewaySpec::from_json_str` on
//! arbitrary text, then what the hosts do next with a spec that loads (the store target,
//! the audit key, the packs, the voice approver's settings), in an empty environment and
//! without touching the file system.
//!
//! Invariants: nothing panics; a spec that loads re-serialises (serde, as JSON) and reloads
//! to an equal spec, and so does its TOML form when TOML can hold it; errors render.

#![no_main]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use libfuzzer_sys::fuzz_target;
use sentinel_core::GatewaySpec;
use sentinel_core::spec::{Env, PackSource};

fn check(spec: &GatewaySpec) {
    let json = serde_json::to_string(spec).expect("a spec serializes as JSON");
    let again = GatewaySpec::from_json_str(&json)
        .unwrap_or_else(|e| panic!("a loaded spec does not reload from JSON: {e}\n{json}"));
    assert_eq!(&again, spec, "the spec changed through JSON\n{json}");
    if let Ok(text) = toml::to_string(spec) {
        let again = GatewaySpec::from_toml_str(&text)
            .unwrap_or_else(|e| panic!("a loaded spec does not reload from TOML: {e}\n{text}"));
        assert_eq!(&again, spec, "the spec changed through TOML\n{text}");
    }

    let env = Env::from_map(Default::default());
    if spec.store.url_file.is_none() {
        let _ = spec.store_target(&env).map(|t| t.display());
    }
    if spec.store.audit_key_file.is_none() {
        let _ = spec.store.audit_key(&env, None);
    }
    let in_memory = |s: &PackSource| matches!(s, PackSource::Builtin(_) | PackSource::Inline(_));
    if spec.packs.as_ref().is_some_and(|p| p.iter().all(in_memory)) {
        if let Err(e) = spec.load_packs() {
            let _ = e.to_string();
        }
    }
    if let Some(telnyx) = &spec.approver.telnyx
        && telnyx.api_key_file.is_none()
        && telnyx.pin_file.is_none()
    {
        let _ = telnyx.config(&env, None);
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match GatewaySpec::from_toml_str(text) {
        Ok(spec) => check(&spec),
        Err(e) => {
            let _ = e.to_string();
        }
    }
    match GatewaySpec::from_json_str(text) {
        Ok(spec) => check(&spec),
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
