//! Policy packs: loading, checking and compiling the JSON documents policy authors write.

pub mod format;
mod schema;
mod wording;

use std::collections::HashSet;
use std::path::Path as FsPath;
use std::sync::Arc;

use serde_json::Value;

use crate::action::Action;
use crate::condition::CompileError;
use crate::decision::PackRef;
use crate::error::{PackError, PackErrorKind};
use crate::name_map::NameMap;
use crate::rule::Rule;
use crate::template::Template;
use format::{DefaultEffect, PackDocument};

/// The built-in seed packs, by name, as JSON text.
const BUILTINS: [(&str, &str); 3] = [
    ("VaultKeeper", include_str!("../../packs/vaultkeeper.json")),
    (
        "PrivacyShield",
        include_str!("../../packs/privacyshield.json"),
    ),
    ("OpsGuard", include_str!("../../packs/opsguard.json")),
];

/// A compiled policy pack: checked, with paths resolved and regexes built.
///
/// Load one with [`Pack::from_json_str`], [`Pack::from_file`] or [`Pack::builtin`].
#[derive(Debug, Clone)]
pub struct Pack {
    document: PackDocument,
    /// Name, version and content hash, as decisions cite the pack (shared with them).
    reference: PackRef,
    applies_to_all: bool,
    applies_to: HashSet<String>,
    pub(crate) escalate_above: u8,
    pub(crate) deny_at_or_above: Option<u8>,
    default_risk: u8,
    default_reason: Template,
    pub(crate) default_effect: Option<DefaultEffect>,
    action_defaults: NameMap<(u8, Template)>,
    pub(crate) rules: Vec<Rule>,
    /// Rule indices per explicitly named action, in rule order.
    index: NameMap<Vec<usize>>,
    /// Rules without an `actions` list, for actions not named anywhere (`"*"` packs).
    general: Vec<usize>,
    /// The typed payload fields (`payload_schema`).
    pub(crate) schema: schema::PayloadSchema,
    /// `pack/payload_schema`: what decisions cite when a field has the wrong type.
    pub(crate) schema_cite: Arc<str>,
}

impl Pack {
    /// Parses and compiles a pack from JSON text.
    pub fn from_json_str(text: &str) -> Result<Self, PackError> {
        Self::load(text, None)
    }

    /// Reads, parses and compiles a pack file. Errors name the file when the pack's name
    /// cannot be read.
    pub fn from_file(path: impl AsRef<FsPath>) -> Result<Self, PackError> {
        let path = path.as_ref();
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| PackError {
            pack: origin.clone(),
            rule: None,
            pointer: String::new(),
            kind: PackErrorKind::Io(e.to_string()),
        })?;
        Self::load(&text, Some(&origin))
    }

    /// One of the built-in seed packs: `VaultKeeper`, `PrivacyShield` or `OpsGuard`
    /// (any case).
    pub fn builtin(name: &str) -> Result<Self, PackError> {
        let (_, text) = BUILTINS
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .ok_or_else(|| PackError {
                pack: name.to_owned(),
                rule: None,
                pointer: String::new(),
                kind: PackErrorKind::UnknownBuiltin(name.to_owned()),
            })?;
        Self::from_json_str(text)
    }

    /// The three seed packs: VaultKeeper, PrivacyShield, OpsGuard.
    pub fn seed_packs() -> Result<Vec<Self>, PackError> {
        BUILTINS
            .iter()
            .map(|(_, text)| Self::from_json_str(text))
            .collect()
    }

    /// The JSON text of a built-in pack, for users who want to copy and edit it.
    pub fn builtin_source(name: &str) -> Option<&'static str> {
        BUILTINS
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, text)| *text)
    }

    /// The pack's name.
    pub fn name(&self) -> &str {
        &self.document.name
    }

    /// The pack's semantic version.
    pub fn version(&self) -> &str {
        &self.reference.version
    }

    /// SHA-256 (hex) of the pack's canonical JSON (keys sorted): changes with any edit.
    pub fn content_hash(&self) -> &str {
        &self.reference.hash
    }

    /// The document the pack was compiled from.
    pub fn document(&self) -> &PackDocument {
        &self.document
    }

    /// Paths whose values the pack declares must never leave the process.
    pub fn redact_paths(&self) -> &[String] {
        &self.document.redact
    }

    /// True when the pack applies to the action name.
    pub fn applies_to(&self, action: &str) -> bool {
        self.applies_to_all || self.applies_to.contains(action)
    }

    /// Indices of the rules that may apply to an action name, in rule order.
    pub(crate) fn rules_for(&self, action: &str) -> &[usize] {
        self.index.get(action).map_or(&self.general, Vec::as_slice)
    }

    pub(crate) fn version_arc(&self) -> &Arc<str> {
        &self.reference.version
    }

    /// The pack as a decision cites it; cloning it copies no string.
    pub(crate) fn reference(&self) -> &PackRef {
        &self.reference
    }

    /// The base risk and reason for an action when neither a rule nor a scorer sets one.
    pub(crate) fn default_for(&self, action: &Action) -> (u8, String) {
        let (risk, reason) = self.default_template(action);
        (risk, reason.render(action))
    }

    /// The default reason for a prompt, agent values fenced (see `Template::render_fenced`).
    pub(crate) fn fenced_default(&self, action: &Action) -> String {
        self.default_template(action).1.render_fenced(action)
    }

    fn default_template(&self, action: &Action) -> (u8, &Template) {
        match self.action_defaults.get(&action.action) {
            Some((risk, reason)) => (*risk, reason),
            None => (self.default_risk, &self.default_reason),
        }
    }

    fn load(text: &str, origin: Option<&str>) -> Result<Self, PackError> {
        let raw: Value = serde_json::from_str(text).map_err(|e| PackError {
            pack: origin.unwrap_or("<unnamed>").to_owned(),
            rule: None,
            pointer: String::new(),
            kind: PackErrorKind::Format(format!("not valid JSON: {e}")),
        })?;
        let pack_name = raw
            .get("name")
            .and_then(Value::as_str)
            .or(origin)
            .unwrap_or("<unnamed>")
            .to_owned();
        let fail = |(pointer, kind): CompileError| PackError {
            pack: pack_name.clone(),
            rule: rule_id_at(&raw, &pointer),
            pointer,
            kind,
        };
        let document: PackDocument = serde_path_to_error::deserialize(&raw).map_err(|e| {
            let pointer = to_pointer(e.path());
            let message = wording::format_message(&pointer, &e.into_inner().to_string());
            fail((pointer, PackErrorKind::Format(message)))
        })?;
        Self::compile(document, &raw).map_err(fail)
    }

    fn compile(document: PackDocument, raw: &Value) -> Result<Self, CompileError> {
        let version = semver::Version::parse(&document.version).map_err(|_| {
            (
                "/version".to_owned(),
                PackErrorKind::Version(document.version.clone()),
            )
        })?;
        if document.name.trim().is_empty() {
            return Err((
                "/name".to_owned(),
                PackErrorKind::Range("pack name must not be empty".to_owned()),
            ));
        }
        if document.applies_to.is_empty() {
            return Err((
                "/applies_to".to_owned(),
                PackErrorKind::Range(
                    "`applies_to` must name at least one action or `*`".to_owned(),
                ),
            ));
        }
        let t = &document.thresholds;
        check_risk(t.escalate_above, "/thresholds/escalate_above")?;
        if let Some(deny) = t.deny_at_or_above {
            check_risk(deny, "/thresholds/deny_at_or_above")?;
            if deny <= t.escalate_above {
                return Err((
                    "/thresholds/deny_at_or_above".to_owned(),
                    PackErrorKind::Range(format!(
                        "`deny_at_or_above` ({deny}) must be above `escalate_above` ({})",
                        t.escalate_above
                    )),
                ));
            }
        }
        check_risk(document.default.risk, "/default/risk")?;
        for (i, path) in document.redact.iter().enumerate() {
            let here = format!("/redact/{i}");
            if !(path.starts_with("payload.") || path.starts_with("context.")) {
                return Err((here, PackErrorKind::Path(path.clone())));
            }
            crate::condition::compile_path(path, &here)?;
        }
        let applies_to_all = document.applies_to.iter().any(|a| a == "*");
        let applies_to: HashSet<String> = document
            .applies_to
            .iter()
            .filter(|a| *a != "*")
            .cloned()
            .collect();
        let covered = |name: &str| applies_to_all || applies_to.contains(name);

        let mut action_defaults = NameMap::default();
        for (name, spec) in &document.action_defaults {
            let here = format!("/action_defaults/{}", escape(name));
            if !covered(name) {
                return Err((here, PackErrorKind::ActionNotCovered(name.clone())));
            }
            check_risk(spec.risk, &format!("{here}/risk"))?;
            action_defaults.insert(
                name.clone(),
                (
                    spec.risk,
                    Template::compile(&spec.reason, &format!("{here}/reason"))?,
                ),
            );
        }

        let mut rules = Vec::with_capacity(document.rules.len());
        let mut ids = HashSet::new();
        for (i, spec) in document.rules.iter().enumerate() {
            if !ids.insert(spec.id.as_str()) {
                return Err((
                    format!("/rules/{i}/id"),
                    PackErrorKind::DuplicateRule(spec.id.clone()),
                ));
            }
            for (j, name) in spec.actions.iter().flatten().enumerate() {
                if !covered(name) {
                    return Err((
                        format!("/rules/{i}/actions/{j}"),
                        PackErrorKind::ActionNotCovered(name.clone()),
                    ));
                }
            }
            rules.push(Rule::compile(&document.name, i, spec)?);
        }

        let schema = schema::PayloadSchema::compile(
            &document.payload_schema,
            document.on_schema_error,
            covered,
        )?;

        let named: HashSet<&String> = applies_to
            .iter()
            .chain(rules.iter().filter_map(|r| r.actions.as_ref()).flatten())
            .collect();
        let index = named
            .into_iter()
            .map(|name| {
                let ids = rules
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| r.actions.as_ref().is_none_or(|a| a.contains(name)))
                    .map(|(i, _)| i)
                    .collect();
                (name.clone(), ids)
            })
            .collect();
        let general = rules
            .iter()
            .enumerate()
            .filter(|(_, r)| r.actions.is_none())
            .map(|(i, _)| i)
            .collect();

        Ok(Self {
            reference: PackRef {
                name: Arc::from(document.name.as_str()),
                version: Arc::from(version.to_string()),
                hash: Arc::from(crate::canonical::hash(raw)),
            },
            applies_to_all,
            applies_to,
            escalate_above: t.escalate_above,
            deny_at_or_above: t.deny_at_or_above,
            default_risk: document.default.risk,
            default_reason: Template::compile(&document.default.reason, "/default/reason")?,
            default_effect: document.default.effect,
            action_defaults,
            rules,
            index,
            general,
            schema,
            schema_cite: Arc::from(format!("{}/payload_schema", document.name)),
            document,
        })
    }
}

fn check_risk(value: u8, pointer: &str) -> Result<(), CompileError> {
    if value > 100 {
        return Err((
            pointer.to_owned(),
            PackErrorKind::Range(format!("risk `{value}` is outside 0..=100")),
        ));
    }
    Ok(())
}

/// RFC 6901 escaping of one pointer token.
fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

fn to_pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    path.iter()
        .filter_map(|seg| match seg {
            Segment::Seq { index } => Some(format!("/{index}")),
            Segment::Map { key } => Some(format!("/{}", escape(key))),
            Segment::Enum { variant } => Some(format!("/{}", escape(variant))),
            Segment::Unknown => None,
        })
        .collect()
}

/// The id of the rule that `pointer` lies in, when it lies in one.
fn rule_id_at(raw: &Value, pointer: &str) -> Option<String> {
    let index = pointer.strip_prefix("/rules/")?.split('/').next()?;
    raw.pointer(&format!("/rules/{index}/id"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pack_json(rules: Value) -> String {
        json!({"name": "Test", "version": "1.0.0", "applies_to": ["PAY_INVOICE"], "rules": rules})
            .to_string()
    }

    fn err(text: &str) -> PackError {
        Pack::from_json_str(text).unwrap_err()
    }

    #[test]
    fn the_seed_packs_load() {
        let packs = Pack::seed_packs().unwrap();
        let names: Vec<_> = packs.iter().map(Pack::name).collect();
        assert_eq!(names, ["VaultKeeper", "PrivacyShield", "OpsGuard"]);
        assert!(Pack::builtin("opsguard").is_ok());
        assert_eq!(
            Pack::builtin("nope").unwrap_err().to_string(),
            "in pack `nope`: no built-in pack named `nope`; built-in packs are `VaultKeeper`, `PrivacyShield`, `OpsGuard`"
        );
    }

    #[test]
    fn unknown_operator_names_pack_rule_and_pointer() {
        let e = err(&pack_json(
            json!([{"id": "r1", "effect": "deny", "reason": "x",
            "when": {"all": [{"greater": {"path": "payload.amount", "value": 1}}]}}]),
        ));
        assert_eq!(e.pack, "Test");
        assert_eq!(e.rule.as_deref(), Some("r1"));
        assert_eq!(e.pointer, "/rules/0/when/all/0");
        assert!(
            e.to_string().starts_with(
                "in pack `Test`, rule `r1`, at `/rules/0/when/all/0`: unknown operator `greater`; operators are `all`, `any`, `not`, `eq`,"
            ),
            "{e}"
        );
    }

    #[test]
    fn wrong_operand_type_and_bad_regex() {
        let e = err(&pack_json(
            json!([{"id": "a", "effect": "allow", "reason": "x"},
            {"id": "b", "effect": "deny", "reason": "x", "when": {"lt": {"path": "payload.amount", "value": "many"}}}]),
        ));
        assert_eq!(
            (e.rule.as_deref(), e.pointer.as_str()),
            (Some("b"), "/rules/1/when/lt/value")
        );
        let e = err(&pack_json(
            json!([{"id": "re", "effect": "deny", "reason": "x",
            "when": {"matches": {"path": "reasoning", "value": "a{2"}}}]),
        ));
        assert!(matches!(e.kind, PackErrorKind::Regex { .. }), "{e}");
        assert_eq!(e.pointer, "/rules/0/when/matches/value");
    }

    #[test]
    fn duplicate_ids_unknown_fields_and_bad_versions() {
        let e = err(&pack_json(
            json!([{"id": "x", "effect": "deny", "reason": "a"},
                                      {"id": "x", "effect": "allow", "reason": "b"}]),
        ));
        assert_eq!(
            e.to_string(),
            "in pack `Test`, rule `x`, at `/rules/1/id`: duplicate rule id `x`"
        );
        let e = err(&pack_json(
            json!([{"id": "u", "effect": "deny", "reason": "a", "whenn": {}}]),
        ));
        assert_eq!(
            (e.rule.as_deref(), e.pointer.as_str()),
            (Some("u"), "/rules/0/whenn")
        );
        assert!(e.to_string().contains("unknown field `whenn`"), "{e}");
        let e = err(&json!({"name": "V", "version": "one", "applies_to": ["X"]}).to_string());
        assert_eq!(
            e.to_string(),
            "in pack `V`, at `/version`: `one` is not a semantic version"
        );
        let e = err("{not json");
        assert_eq!(e.pack, "<unnamed>");
        assert!(e.to_string().contains("not valid JSON"), "{e}");
    }

    #[test]
    fn out_of_range_and_uncovered_actions() {
        let e = err(&pack_json(
            json!([{"id": "f", "effect": {"risk_floor": 101}, "reason": "a"}]),
        ));
        assert_eq!(e.pointer, "/rules/0/effect");
        let e = err(&pack_json(
            json!([{"id": "o", "actions": ["DROP_TABLE"], "effect": "deny", "reason": "a"}]),
        ));
        assert_eq!(
            e.to_string(),
            "in pack `Test`, rule `o`, at `/rules/0/actions/0`: action `DROP_TABLE` is not in the pack's `applies_to`"
        );
        let e = err(
            &json!({"name": "T", "version": "1.0.0", "applies_to": ["X"],
                            "thresholds": {"escalate_above": 60, "deny_at_or_above": 50}})
            .to_string(),
        );
        assert_eq!(e.pointer, "/thresholds/deny_at_or_above");
    }

    #[test]
    fn file_errors_name_the_file() {
        let e = Pack::from_file("/no/such/pack.json").unwrap_err();
        assert_eq!(e.pack, "/no/such/pack.json");
        assert!(matches!(e.kind, PackErrorKind::Io(_)));
    }

    #[test]
    fn content_hash_ignores_formatting_but_not_edits() {
        let a = Pack::from_json_str(&pack_json(json!([]))).unwrap();
        let pretty = serde_json::to_string_pretty(
            &serde_json::from_str::<Value>(&pack_json(json!([]))).unwrap(),
        )
        .unwrap();
        let b = Pack::from_json_str(&pretty).unwrap();
        assert_eq!(a.content_hash(), b.content_hash());
        let c = Pack::from_json_str(&pack_json(
            json!([{"id": "x", "effect": "deny", "reason": "a"}]),
        ))
        .unwrap();
        assert_ne!(a.content_hash(), c.content_hash());
    }
}
