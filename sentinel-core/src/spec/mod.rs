//! [`GatewaySpec`]: the one configuration every host builds its gateway from — the
//! `sentinel` CLI (`--config FILE`), `sentinel-server` (`SENTINEL_CONFIG=FILE`), Python
//! (`Gateway.from_config`) and Node (`Gateway.fromConfig`).
//!
//! Read from TOML or JSON (or a mapping a binding passes through), checked as it is read:
//! unknown keys are errors, and every error names the file, the line (when the format
//! gives one), the key path and what was expected. Secrets never sit in the file, only the
//! environment variables or files that hold them (`*_env`, `*_file`).
//!
//! ```toml
//! [gateway]
//! unmatched = "deny"             # escalate (default) | deny | score
//! escalation_timeout_s = 180
//!
//! [[packs]]
//! builtin = "VaultKeeper"        # or: path = "packs/mine.json", or dir = "packs/"
//!
//! [store]
//! url = "memory"                 # memory | sqlite://PATH | postgres://... (via url_env)
//!
//! [scorer]
//! kind = "offline"               # offline | groq, with [scorer.groq]
//!
//! [approver]
//! kind = "none"                  # none | telnyx, with [approver.telnyx]
//! ```
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use sentinel_core::spec::GatewaySpec;
//!
//! let spec = GatewaySpec::from_toml_str("[gateway]\nunmatched = \"deny\"\n")?;
//! let gateway = spec.build().await?;
//! assert_eq!(gateway.packs().len(), 3); // no [[packs]]: the three seed packs
//! # Ok::<(), sentinel_core::spec::ConfigError>(())
//! # }).unwrap();
//! ```

mod approver;
mod env;
mod error;
mod mcp;
mod operators;
mod routes;
mod scorer;
mod sections;
mod store;
mod telemetry;
mod units;
mod webhooks;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use approver::{ApproverKind, ApproverSpec, TelnyxSecrets, TelnyxSpec};
pub use env::{Env, SecretValue};
pub use error::ConfigError;
pub use mcp::{DEFAULT_PROGRESS_INTERVAL_S, McpSpec, McpToolSpec};
pub use operators::{OperatorRole, OperatorSpec};
pub use routes::{ChannelsSpec, RouteSpec, RouteWhenSpec, SlackSpec, StepSpec};
pub use scorer::{GroqSpec, ScorerKind, ScorerSpec};
pub use sections::{
    GatewaySection, LogFormatSpec, OnScorerErrorSpec, PackSource, ServerSpec, UnmatchedSpec,
};
pub use store::{StoreKind, StoreSpec, StoreTarget};
pub use telemetry::TelemetrySpec;
pub use units::{Count, Seconds, Whole};
pub use webhooks::{DEFAULT_WEBHOOK_TIMEOUT_S, MAX_WEBHOOK_TIMEOUT_S, WebhookSpec};

use crate::approver::Approver;
use crate::gateway::{Gateway, GatewayBuilder};
use crate::pack::Pack;
use crate::scorer::RiskScorer;
use crate::store::{MemoryStore, Store};

/// A commented starter configuration (`sentinel config example`).
pub const EXAMPLE: &str = include_str!("example.toml");

/// The whole configuration of a gateway and its host.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Sentinel configuration")]
#[non_exhaustive]
pub struct GatewaySpec {
    /// Optional link to this schema, for editors (JSON files).
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// How decisions are made and how long a human may take.
    #[serde(default)]
    pub gateway: GatewaySection,
    /// The packs to enforce, in order. Left out: the three seed packs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packs: Option<Vec<PackSource>>,
    /// Shadow packs (`[[shadow_packs]]`, written like `[[packs]]`): evaluated beside the
    /// enforced packs on every submitted action, never enforced; each disagreement is
    /// recorded (an audit note on the action, a metric). A shadow pack stands in for the
    /// enforced pack of the same name, or is added to them. `sentinel replay --shadow`
    /// replays stored actions under them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shadow_packs: Vec<PackSource>,
    /// Where actions and the audit trail are kept. Default: in memory.
    #[serde(default)]
    pub store: StoreSpec,
    /// The risk scorer. Default: offline.
    #[serde(default)]
    pub scorer: ScorerSpec,
    /// Who asks a human. Default: none (decisions through the API).
    #[serde(default)]
    pub approver: ApproverSpec,
    /// `sentinel-server`'s own settings.
    #[serde(default)]
    pub server: ServerSpec,
    /// Traces (OTLP), who may scrape `GET /metrics`, the decision log.
    #[serde(default)]
    pub telemetry: TelemetrySpec,
    /// The people who sign in to `sentinel-server`'s console (`[[operators]]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub operators: Vec<OperatorSpec>,
    /// The approval ladder (`[[routes]]`): for escalated actions, the channels asked one
    /// after the other, the first matching route's. None: the approver alone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<RouteSpec>,
    /// Settings of the channels the routes use (`[channels.slack]`,
    /// `[channels.webhooks.NAME]`, the console link key).
    #[serde(default)]
    pub channels: ChannelsSpec,
    /// `sentinel mcp-proxy`: the agent id of MCP tool calls and the action each tool is.
    #[serde(default)]
    pub mcp: McpSpec,
    /// The file the spec was read from: relative paths are relative to its folder.
    #[serde(skip)]
    #[schemars(skip)]
    file: Option<PathBuf>,
    /// The top-level keys the document named.
    #[serde(skip)]
    #[schemars(skip)]
    named: Named,
}

/// The top-level keys a document named (`gateway`, `scorer`...). Two specs that differ
/// only in which defaults they spelled out are equal.
#[derive(Debug, Clone, Default)]
struct Named(std::collections::BTreeSet<String>);

impl PartialEq for Named {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// A document's top-level keys.
type TopLevel = std::collections::BTreeMap<String, serde::de::IgnoredAny>;

impl GatewaySpec {
    /// Reads a configuration file: JSON when its name ends in `.json`, TOML otherwise.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError::at("", format!("cannot read the file: {e}")).in_file(Some(path))
        })?;
        let json = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        let spec = if json {
            Self::from_json_str(&text)
        } else {
            Self::from_toml_str(&text)
        };
        let mut spec = spec.map_err(|e| e.in_file(Some(path)))?;
        spec.file = Some(path.to_path_buf());
        Ok(spec)
    }

    /// Reads TOML text. Relative paths are relative to the working directory.
    pub fn from_toml_str(text: &str) -> Result<Self, ConfigError> {
        let line = |e: &toml::de::Error| e.span().map(|s| line_of(text, s.start));
        let de = toml::Deserializer::parse(text)
            .map_err(|e| ConfigError::at("", e.message().to_owned()).on_line(line(&e)))?;
        let mut spec: Self = serde_path_to_error::deserialize(de).map_err(|e| {
            let key = key_path(e.path());
            let inner = e.into_inner();
            ConfigError::at(key, inner.message().to_owned()).on_line(line(&inner))
        })?;
        let keys: TopLevel = toml::from_str(text).unwrap_or_default();
        spec.named = Named(keys.into_keys().collect());
        Ok(spec)
    }

    /// Reads JSON text. Relative paths are relative to the working directory.
    pub fn from_json_str(text: &str) -> Result<Self, ConfigError> {
        let mut de = serde_json::Deserializer::from_str(text);
        let spec = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let key = key_path(e.path());
            let inner = e.into_inner();
            let line = (inner.line() > 0).then_some(inner.line());
            ConfigError::at(key, json_message(&inner)).on_line(line)
        })?;
        de.end()
            .map_err(|e| ConfigError::at("", json_message(&e)).on_line(Some(e.line())))?;
        let mut spec: Self = spec;
        let keys: TopLevel = serde_json::from_str(text).unwrap_or_default();
        spec.named = Named(keys.into_keys().collect());
        Ok(spec)
    }

    /// Reads a mapping (what a binding passes through from a Python dict or JS object).
    pub fn from_value(value: serde_json::Value) -> Result<Self, ConfigError> {
        let named = value
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        let mut spec: Self = serde_path_to_error::deserialize(value)
            .map_err(|e| ConfigError::at(key_path(e.path()), e.into_inner().to_string()))?;
        spec.named = Named(named);
        Ok(spec)
    }

    /// True when the document named this top-level key (`scorer`, `approver`...), even to
    /// spell out a default: a host that lets legacy environment variables turn a part on
    /// does so only where the file is silent.
    pub fn names(&self, key: &str) -> bool {
        self.named.0.contains(key)
    }

    /// The JSON Schema of the configuration (`sentinel config schema`).
    pub fn json_schema() -> serde_json::Value {
        serde_json::to_value(schemars::schema_for!(GatewaySpec)).unwrap_or_default()
    }

    /// The file the spec was read from, if any.
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// Sets the folder relative paths are resolved against (the file's folder by default).
    #[must_use]
    pub fn with_base_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.file = Some(dir.into().join("(config)"));
        self
    }

    /// The folder relative paths are resolved against.
    pub fn base_dir(&self) -> Option<&Path> {
        self.file.as_deref().and_then(Path::parent)
    }

    /// Loads the packs: the listed ones in order, or the three seed packs when `packs` is
    /// left out.
    pub fn load_packs(&self) -> Result<Vec<Pack>, ConfigError> {
        let Some(sources) = &self.packs else {
            return Pack::seed_packs().map_err(|e| {
                ConfigError::at("packs", e.to_string())
                    .with_code(crate::code::ErrorCode::InvalidPack)
            });
        };
        let mut packs = Vec::new();
        for (i, source) in sources.iter().enumerate() {
            packs.extend(source.load(self.base_dir(), &format!("packs[{i}]"))?);
        }
        Ok(packs)
    }

    /// Loads the shadow packs, in order (none when `shadow_packs` is left out).
    pub fn load_shadow_packs(&self) -> Result<Vec<Pack>, ConfigError> {
        let mut packs = Vec::new();
        for (i, source) in self.shadow_packs.iter().enumerate() {
            packs.extend(source.load(self.base_dir(), &format!("shadow_packs[{i}]"))?);
        }
        Ok(packs)
    }

    /// Where the store is (reads `store.url_env`/`store.url_file` through `env`).
    pub fn store_target(&self, env: &Env) -> Result<StoreTarget, ConfigError> {
        self.store
            .target(env, self.base_dir(), self.file.is_some())
            .map_err(|e| e.in_file(self.file()))
    }

    /// Everything the gateway is made of, built and checked: packs, scorer, approver,
    /// settings and where the store is (not opened yet). Secrets are read through `env`.
    pub fn components(&self, env: &Env) -> Result<Components, ConfigError> {
        // Traces are process-wide: the first spec that names an endpoint starts them.
        crate::telemetry::init(&self.telemetry, env).map_err(|e| {
            ConfigError::at("telemetry.otlp_endpoint", e.to_string()).in_file(self.file())
        })?;
        self.components_inner(env)
            .map_err(|e| e.in_file(self.file()))
    }

    fn components_inner(&self, env: &Env) -> Result<Components, ConfigError> {
        let base = self.base_dir();
        let packs = self.load_packs()?;
        let shadow_packs = self.load_shadow_packs()?;
        #[allow(unused_mut)] // filled in below when the `groq` or `telnyx` feature is on
        let mut c = Components {
            packs,
            shadow_packs,
            scorer: None,
            #[cfg(feature = "groq")]
            groq: None,
            approver: None,
            #[cfg(feature = "telnyx")]
            telnyx: None,
            #[cfg(feature = "slack")]
            slack: None,
            links: None,
            store: self.store_target(env)?,
            audit_key: self
                .store
                .audit_key(env, base)
                .map_err(|e| e.in_file(self.file()))?,
            checkpoint_interval: self.store.checkpoint_interval_s,
            gateway: self.gateway.clone(),
            decision_log: self.telemetry.decision_log(base)?.map(Arc::new),
        };
        match self.scorer.kind {
            ScorerKind::Offline => {}
            ScorerKind::Groq => {
                let spec = self.scorer.groq.clone().unwrap_or_default();
                #[cfg(feature = "groq")]
                {
                    let groq = Arc::new(spec.build(env, base)?);
                    c.scorer = Some(groq.clone() as Arc<dyn RiskScorer>);
                    c.groq = Some(groq);
                }
                #[cfg(not(feature = "groq"))]
                {
                    let _ = (spec, base);
                    return Err(missing_feature("scorer.kind", "groq"));
                }
            }
        }
        // Checked whatever the approver: a bad phone or PIN is a mistake either way.
        let phones = operators::phone_bindings(&self.operators, env, base)?;
        match self.approver.kind {
            ApproverKind::None => {}
            ApproverKind::Telnyx => {
                let spec = self.approver.telnyx.clone().unwrap_or_default();
                #[cfg(feature = "telnyx")]
                {
                    let telnyx = spec.build_with_phones(env, base, &phones)?;
                    c.approver = Some(Arc::new(telnyx.clone()) as Arc<dyn Approver>);
                    c.telnyx = Some(telnyx);
                }
                #[cfg(not(feature = "telnyx"))]
                {
                    let _ = (spec, base, &phones);
                    return Err(missing_feature("approver.kind", "telnyx"));
                }
            }
        }
        if !self.routes.is_empty() {
            // The voice channel dials each step's own number (the approver only the admin).
            #[cfg(feature = "telnyx")]
            let voice = c.telnyx.clone().map(|t| {
                Arc::new(crate::telnyx::VoiceChannel::new(t)) as Arc<dyn crate::ladder::Channel>
            });
            #[cfg(not(feature = "telnyx"))]
            let voice = None;
            let ladder = routes::ladder(self, env, c.approver.take(), voice)?;
            c.approver = Some(ladder.approver);
            c.links = ladder.links;
            #[cfg(feature = "slack")]
            {
                c.slack = ladder.slack;
            }
        }
        // The settings are checked by building once, here, so a bad one is a config error
        // (two packs with one name: a pack error).
        c.builder().build().map_err(|e| {
            use crate::code::Coded;
            let key = if e.code() == crate::code::ErrorCode::InvalidPack {
                "packs"
            } else {
                "gateway"
            };
            ConfigError::at(key, e.to_string()).with_code(e.code())
        })?;
        Ok(c)
    }

    /// Builds the gateway in the process environment, opening its store and recovering
    /// the approvals an earlier process left pending in it.
    pub async fn build(&self) -> Result<Gateway, ConfigError> {
        self.components(&Env::process())?
            .build()
            .await
            .map_err(|e| e.in_file(self.file()))
    }
}

/// What a [`GatewaySpec`] builds: the gateway's parts before the gateway, so that a host
/// can wrap or replace one (a Python scorer, a note-taking wrapper) before building.
#[non_exhaustive]
pub struct Components {
    /// The packs, in order.
    pub packs: Vec<Pack>,
    /// The shadow packs, in order (see [`GatewayBuilder::shadow_packs`]).
    pub shadow_packs: Vec<Pack>,
    /// The scorer; `None`: the offline scorer.
    pub scorer: Option<Arc<dyn RiskScorer>>,
    /// The Groq scorer, when it is the scorer (for its counters).
    #[cfg(feature = "groq")]
    pub groq: Option<Arc<crate::groq::GroqScorer>>,
    /// The approver; `None`: decisions come through `resolve` only.
    pub approver: Option<Arc<dyn Approver>>,
    /// The Telnyx approver, when it is the approver (for its webhooks).
    #[cfg(feature = "telnyx")]
    pub telnyx: Option<crate::telnyx::TelnyxVoiceApprover>,
    /// Where the store is.
    pub store: StoreTarget,
    /// The key that signs audit checkpoints, when configured.
    pub audit_key: Option<crate::store::checkpoint::AuditKey>,
    /// `store.checkpoint_interval_s`.
    pub checkpoint_interval: Option<Seconds>,
    /// The `[gateway]` settings.
    pub gateway: GatewaySection,
    /// The decision log (`telemetry.decision_log`), when configured.
    pub decision_log: Option<Arc<crate::telemetry::DecisionLog>>,
    /// The Slack channel of the ladder, when a route has a `slack` step (for the host's
    /// interaction endpoint: [`SlackChannel::interaction`](crate::slack::SlackChannel::interaction)).
    #[cfg(feature = "slack")]
    pub slack: Option<Arc<crate::slack::SlackChannel>>,
    /// The console links the ladder's `webhook` steps send, when a route has one (for the
    /// host's `/console/link/{token}`: [`ConsoleLinks::redeem`](crate::ladder::ConsoleLinks::redeem)).
    pub links: Option<Arc<crate::ladder::ConsoleLinks>>,
}

impl std::fmt::Debug for Components {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Components")
            .field(
                "packs",
                &self.packs.iter().map(Pack::name).collect::<Vec<_>>(),
            )
            .field("scorer", &self.scorer.as_ref().map(|s| s.name().to_owned()))
            .field(
                "approver",
                &self.approver.as_ref().map(|a| a.name().to_owned()),
            )
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl Components {
    /// A gateway builder with these parts and settings, on a new in-memory store.
    pub fn builder(&self) -> GatewayBuilder {
        let g = &self.gateway;
        let mut b = Gateway::builder().packs(self.packs.iter().cloned());
        if !self.shadow_packs.is_empty() {
            b = b.shadow_packs(self.shadow_packs.iter().cloned());
        }
        if let Some(u) = g.unmatched {
            b = b.unmatched(u.into());
        }
        if let Some(o) = g.on_scorer_error {
            b = b.on_scorer_error(o.into());
        }
        if let Some(t) = g.escalation_timeout_s {
            b = b.escalation_timeout(t.duration());
        }
        if let Some(t) = g.analysis_timeout_s {
            b = b.analysis_timeout(t.duration());
        }
        if let Some(scorer) = &self.scorer {
            b = b.scorer_arc(Arc::clone(scorer));
        }
        if let Some(approver) = &self.approver {
            b = b.approver_arc(Arc::clone(approver));
        }
        if let Some(key) = &self.audit_key {
            b = b.audit_key(key.clone());
        }
        if let Some(t) = self.checkpoint_interval {
            b = b.checkpoint_interval(t.duration());
        }
        if let Some(log) = &self.decision_log {
            b = b.decision_log_arc(Arc::clone(log));
        }
        b
    }

    /// Opens the store (connecting and migrating a database).
    pub async fn open_store(&self) -> Result<Arc<dyn Store>, ConfigError> {
        open_store(&self.store).await
    }

    /// Opens the store, builds the gateway on it and, on a durable store, recovers what an
    /// earlier process left pending.
    pub async fn build(self) -> Result<Gateway, ConfigError> {
        let store = self.open_store().await?;
        let gateway = self
            .builder()
            .store_arc(store)
            .build()
            .map_err(|e| ConfigError::at("gateway", e.to_string()))?;
        if self.store.kind.is_durable() {
            gateway
                .recover()
                .await
                .map_err(|e| ConfigError::at("store", e.to_string()))?;
        }
        Ok(gateway)
    }
}

/// Opens the store a target names.
pub async fn open_store(target: &StoreTarget) -> Result<Arc<dyn Store>, ConfigError> {
    match target.kind {
        StoreKind::Memory => Ok(Arc::new(MemoryStore::with_capacity(target.memory_capacity))),
        #[cfg(any(feature = "sqlite", feature = "postgres"))]
        StoreKind::Sqlite | StoreKind::Postgres => {
            let url = target.url.expose();
            let connected = match &target.schema {
                Some(schema) => crate::store::SqlStore::connect_in_schema(url, schema).await,
                None => crate::store::SqlStore::connect(url).await,
            };
            connected
                .map(|s| Arc::new(s.with_batch_max(target.batch_max)) as Arc<dyn Store>)
                .map_err(|e| {
                    let key = if target.schema.is_some() && e.to_string().contains("schema") {
                        "store.schema"
                    } else {
                        "store.url"
                    };
                    ConfigError::at(key, e.to_string())
                })
        }
        #[cfg(not(any(feature = "sqlite", feature = "postgres")))]
        other => Err(missing_feature("store.url", other.as_str())),
    }
}

#[cfg(any(
    not(feature = "groq"),
    not(feature = "telnyx"),
    not(feature = "slack"),
    not(feature = "webhook"),
    not(any(feature = "sqlite", feature = "postgres"))
))]
fn missing_feature(key: &str, feature: &str) -> ConfigError {
    ConfigError::at(
        key,
        format!(
            "this build of sentinel has no `{feature}` support (cargo feature `{feature}` of sentinel-core)"
        ),
    )
}

/// The 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// `scorer.groq.timeout_s`, `packs[1].path`; empty for the document itself.
fn key_path(path: &serde_path_to_error::Path) -> String {
    let text = path.to_string();
    if text == "." { String::new() } else { text }
}

/// serde_json's message without its `at line .. column ..` suffix (the line is reported
/// on its own).
fn json_message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

#[cfg(test)]
mod tests;
