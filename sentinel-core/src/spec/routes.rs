//! `[[routes]]` and `[channels]`: the approval ladder, declared in the configuration.
//!
//! ```toml
//! [[routes]]                      # first matching route wins; a route without `when` matches all
//! name = "payments-high"
//! when = { modules = ["VaultKeeper"], min_risk = 90 }
//! quorum = 2                      # distinct approvers needed to approve; one decline declines
//! steps = [
//!   { channel = "voice", to = "+15550100002", timeout_s = 120 },
//!   { channel = "slack", to = "#payments-oncall", timeout_s = 600 },
//! ]                               # after the last step: the action expires (fail closed)
//!
//! [channels.slack]
//! bot_token_env = "SLACK_BOT_TOKEN"
//! signing_secret_env = "SLACK_SIGNING_SECRET"
//! api_base = "https://slack.com/api"
//! ```

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::error::ConfigError;
use super::units::{Count, Seconds};
use std::sync::Arc;

use crate::approver::Approver;
use crate::ladder::{
    ApproverChannel, Channel, ChannelKind, LadderApprover, Route, RouteMatch, Step,
};

/// One route of the approval ladder (`[[routes]]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteSpec {
    /// The route's name, recorded in the audit trail (letters, digits and `_-.`).
    pub name: String,
    /// Which escalated actions take this route. Left out: every action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<RouteWhenSpec>,
    /// Distinct approvers needed to approve (default 1); a single decline declines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quorum: Option<Count>,
    /// The channels asked, one after the other. After the last step ends undecided the
    /// action expires.
    pub steps: Vec<StepSpec>,
}

/// `routes[].when`: every given condition must hold.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteWhenSpec {
    /// Pack names (modules): the route applies when one of them took part in the decision.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub modules: Vec<String>,
    /// Action names (`PAY_INVOICE`...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<String>,
    /// The lowest risk score the route takes (inclusive, 0-100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_risk: Option<u8>,
    /// The highest risk score the route takes (inclusive, 0-100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_risk: Option<u8>,
}

/// `routes[].steps[]`: one rung of the ladder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StepSpec {
    /// `voice` (a phone call), `slack` (a message with buttons), `webhook` (a signed POST
    /// with a console link) or `console` (nobody is contacted; the console's operators
    /// decide).
    pub channel: ChannelKind,
    /// Whom the channel reaches: a phone number (`+15550100002`), a Slack channel
    /// (`#payments-oncall`) or user id, a webhook's name (`[channels.webhooks.NAME]`);
    /// empty for `console`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub to: String,
    /// How long the step waits for a decision before the next step starts.
    pub timeout_s: Seconds,
}

/// `[channels]`: settings of the channels the routes use.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelsSpec {
    /// Slack, for `channel = "slack"` steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack: Option<SlackSpec>,
    /// Webhooks by name, for `channel = "webhook"` steps (a step's `to` names one):
    /// signed HTTPS POSTs carrying a single-use console link (Teams Workflows, Discord,
    /// e-mail relays, pagers).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub webhooks: std::collections::BTreeMap<String, super::webhooks::WebhookSpec>,
    /// The variable holding the key (at least 32 bytes) that signs console links. Default:
    /// `SENTINEL_LINK_KEY`; when that is unset too, a random key of this process (links
    /// then stop working when it restarts, and other instances cannot check them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_key_env: Option<String>,
    /// A file holding the console link key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_key_file: Option<std::path::PathBuf>,
}

/// `[channels.slack]`: a Slack app's bot token and signing secret, by the names of the
/// variables (or files) that hold them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SlackSpec {
    /// The variable holding the bot token (`xoxb-...`). Default: `SLACK_BOT_TOKEN`.
    #[serde(default = "default_bot_token_env")]
    pub bot_token_env: String,
    /// The variable holding the app's signing secret. Default: `SLACK_SIGNING_SECRET`.
    #[serde(default = "default_signing_secret_env")]
    pub signing_secret_env: String,
    /// Slack's Web API. Default: `https://slack.com/api` (overridable for tests).
    #[serde(default = "default_api_base")]
    pub api_base: String,
    /// Who may decide from Slack: Slack user ids (`U0123ABCD`) and the operator each is
    /// (`{ U0123ABCD = "alice" }`). A decision is recorded under the operator's name, so
    /// the same person through Slack and the console counts once towards a quorum. Users
    /// not listed cannot decide.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub users: std::collections::BTreeMap<String, String>,
}

impl Default for SlackSpec {
    fn default() -> Self {
        Self {
            bot_token_env: default_bot_token_env(),
            signing_secret_env: default_signing_secret_env(),
            api_base: default_api_base(),
            users: std::collections::BTreeMap::new(),
        }
    }
}

fn default_bot_token_env() -> String {
    "SLACK_BOT_TOKEN".to_owned()
}

fn default_signing_secret_env() -> String {
    "SLACK_SIGNING_SECRET".to_owned()
}

fn default_api_base() -> String {
    "https://slack.com/api".to_owned()
}

/// Checks the routes and compiles them, in order.
pub(crate) fn compile_routes(
    routes: &[RouteSpec],
    channels: &ChannelsSpec,
) -> Result<Vec<Route>, ConfigError> {
    if let Some(slack) = &channels.slack {
        check_slack(slack)?;
    }
    super::webhooks::check_webhooks(&channels.webhooks)?;
    let mut names = std::collections::BTreeSet::new();
    let mut compiled = Vec::with_capacity(routes.len());
    for (i, spec) in routes.iter().enumerate() {
        let at = |key: &str| format!("routes[{i}]{key}");
        let ok_name = !spec.name.is_empty()
            && spec
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
        if !ok_name {
            return Err(ConfigError::at(
                at(".name"),
                format!(
                    "route name `{}` must be letters, digits and `_-.`",
                    spec.name
                ),
            ));
        }
        if !names.insert(spec.name.as_str()) {
            return Err(ConfigError::at(
                at(".name"),
                format!("route `{}` is named twice", spec.name),
            ));
        }
        if spec.steps.is_empty() {
            return Err(ConfigError::at(
                at(".steps"),
                format!("route `{}` needs at least one step", spec.name),
            ));
        }
        let when = spec.when.clone().unwrap_or_default();
        for (key, risk) in [
            (".when.min_risk", when.min_risk),
            (".when.max_risk", when.max_risk),
        ] {
            if let Some(r) = risk
                && r > 100
            {
                return Err(ConfigError::at(
                    at(key),
                    format!("a risk score is 0-100, found `{r}`"),
                ));
            }
        }
        if let (Some(lo), Some(hi)) = (when.min_risk, when.max_risk)
            && lo > hi
        {
            return Err(ConfigError::at(
                at(".when"),
                format!("`min_risk` {lo} is above `max_risk` {hi}: the route matches nothing"),
            ));
        }
        let mut steps = Vec::with_capacity(spec.steps.len());
        for (j, step) in spec.steps.iter().enumerate() {
            let key = at(&format!(".steps[{j}]"));
            match step.channel {
                ChannelKind::Console if !step.to.is_empty() => {
                    return Err(ConfigError::at(
                        format!("{key}.to"),
                        "a `console` step reaches the console's operators: leave `to` out",
                    ));
                }
                ChannelKind::Voice | ChannelKind::Slack | ChannelKind::Webhook
                    if step.to.trim().is_empty() =>
                {
                    return Err(ConfigError::at(
                        format!("{key}.to"),
                        format!("a `{}` step needs `to`", step.channel.as_str()),
                    ));
                }
                ChannelKind::Voice if !is_e164(step.to.trim()) => {
                    return Err(ConfigError::at(
                        format!("{key}.to"),
                        format!(
                            "a `voice` step calls an E.164 number like `+15551234567`, found `{}`",
                            step.to
                        ),
                    ));
                }
                ChannelKind::Slack if channels.slack.is_none() => {
                    return Err(ConfigError::at(
                        format!("{key}.channel"),
                        "a `slack` step needs `[channels.slack]`",
                    ));
                }
                ChannelKind::Webhook if !channels.webhooks.contains_key(&step.to) => {
                    return Err(ConfigError::at(
                        format!("{key}.to"),
                        format!(
                            "no webhook `{}` is declared: add `[channels.webhooks.{}]`",
                            step.to, step.to
                        ),
                    ));
                }
                _ => {}
            }
            steps.push(Step {
                channel: step.channel,
                to: step.to.clone(),
                timeout: step.timeout_s.duration(),
            });
        }
        let quorum = spec.quorum.map_or(1, |q| q.get());
        compiled.push(Route {
            name: spec.name.clone(),
            when: RouteMatch {
                modules: when.modules,
                actions: when.actions,
                min_risk: when.min_risk,
                max_risk: when.max_risk,
            },
            quorum: u32::try_from(quorum).unwrap_or(u32::MAX),
            steps,
        });
    }
    Ok(compiled)
}

/// `+` and 8 to 15 digits.
fn is_e164(value: &str) -> bool {
    let digits = value.strip_prefix('+').unwrap_or("");
    (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Slack user ids are upper-case letters and digits (`U0123ABCD`); operator names are
/// letters, digits and `_-.@`.
fn check_slack(slack: &SlackSpec) -> Result<(), ConfigError> {
    for (user, operator) in &slack.users {
        let id_ok = user.len() >= 2
            && user.len() <= 32
            && user
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        if !id_ok {
            return Err(ConfigError::at(
                format!("channels.slack.users.{user}"),
                format!(
                    "`{user}` is not a Slack user id (upper-case letters and digits, e.g. `U0123ABCD`)"
                ),
            ));
        }
        let name_ok = !operator.is_empty()
            && operator
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-.@".contains(c));
        if !name_ok {
            return Err(ConfigError::at(
                format!("channels.slack.users.{user}"),
                format!("operator name `{operator}` must be letters, digits and `_-.@`"),
            ));
        }
    }
    if !(slack.api_base.starts_with("https://") || slack.api_base.starts_with("http://")) {
        return Err(ConfigError::at(
            "channels.slack.api_base",
            format!("`{}` is not an http(s) URL", slack.api_base),
        ));
    }
    Ok(())
}

impl super::GatewaySpec {
    /// The approval ladder's routes, checked and compiled, in order.
    pub fn routes(&self) -> Result<Vec<Route>, ConfigError> {
        compile_routes(&self.routes, &self.channels).map_err(|e| e.in_file(self.file()))
    }
}

/// The ladder over the spec's routes; `voice` (the Telnyx voice channel, dialing each
/// step's `to`), else `approver` (the configured one, asked as it is), is the `voice`
/// channel.
pub(super) fn ladder(
    spec: &super::GatewaySpec,
    env: &super::Env,
    approver: Option<Arc<dyn Approver>>,
    voice: Option<Arc<dyn Channel>>,
) -> Result<Ladder, ConfigError> {
    let routes = compile_routes(&spec.routes, &spec.channels)?;
    let mut channels: Vec<Arc<dyn Channel>> = Vec::new();
    for (i, route) in routes.iter().enumerate() {
        for (j, step) in route.steps.iter().enumerate() {
            let key = format!("routes[{i}].steps[{j}].channel");
            match step.channel {
                ChannelKind::Voice if approver.is_none() => {
                    return Err(ConfigError::at(
                        key,
                        "a `voice` step needs the phone approver: `[approver] kind = \"telnyx\"`",
                    ));
                }
                #[cfg(not(feature = "slack"))]
                ChannelKind::Slack => {
                    return Err(super::missing_feature(&key, "slack"));
                }
                #[cfg(not(feature = "webhook"))]
                ChannelKind::Webhook => {
                    return Err(super::missing_feature(&key, "webhook"));
                }
                _ => {}
            }
        }
    }
    match (voice, approver) {
        (Some(voice), _) => channels.push(voice),
        (None, Some(approver)) => {
            channels.push(Arc::new(ApproverChannel::new(ChannelKind::Voice, approver)));
        }
        (None, None) => {}
    }
    #[cfg(feature = "slack")]
    let slack = match &spec.channels.slack {
        Some(s)
            if routes
                .iter()
                .any(|r| r.steps.iter().any(|st| st.channel == ChannelKind::Slack)) =>
        {
            let slack = Arc::new(slack_channel(s, env)?);
            channels.push(Arc::clone(&slack) as Arc<dyn Channel>);
            Some(slack)
        }
        _ => None,
    };
    let has_webhook = routes
        .iter()
        .any(|r| r.steps.iter().any(|st| st.channel == ChannelKind::Webhook));
    let links = if has_webhook {
        Some(Arc::new(super::webhooks::console_links(spec, env)?))
    } else {
        None
    };
    #[cfg(feature = "webhook")]
    if let Some(links) = &links {
        let webhook = super::webhooks::webhook_channel(spec, env, Arc::clone(links))?;
        channels.push(Arc::new(webhook));
    }
    let ladder = LadderApprover::new(routes, channels)
        .map_err(|e| ConfigError::at("routes", e.to_string()))?;
    Ok(Ladder {
        approver: Arc::new(ladder),
        #[cfg(feature = "slack")]
        slack,
        links,
    })
}

/// What [`ladder`] builds: the approver, and the Slack channel for the host's
/// interaction endpoint.
pub(super) struct Ladder {
    pub(super) approver: Arc<dyn Approver>,
    #[cfg(feature = "slack")]
    pub(super) slack: Option<Arc<crate::slack::SlackChannel>>,
    /// The console links the `webhook` steps send, when a route has one.
    pub(super) links: Option<Arc<crate::ladder::ConsoleLinks>>,
}

/// The Slack channel of `[channels.slack]`, its secrets read from the variables it names.
#[cfg(feature = "slack")]
fn slack_channel(
    spec: &SlackSpec,
    env: &super::Env,
) -> Result<crate::slack::SlackChannel, ConfigError> {
    let secret = |name: &'static str, var: &str| {
        let keys = super::env::SecretKeys {
            section: "channels.slack",
            name,
            env: Some(var),
            file: None,
            default_env: var,
        };
        keys.read(env, None)?.ok_or_else(|| {
            ConfigError::at(
                format!("channels.slack.{name}_env"),
                format!("the variable `{var}` is not set"),
            )
        })
    };
    let token = secret("bot_token", &spec.bot_token_env)?;
    let signing = secret("signing_secret", &spec.signing_secret_env)?;
    let users = spec.users.clone().into_iter().collect();
    crate::slack::SlackChannel::new(&spec.api_base, token, signing, users)
        .map_err(|e| ConfigError::at("channels.slack", e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::GatewaySpec;

    fn routes(text: &str) -> Result<Vec<Route>, ConfigError> {
        let spec = GatewaySpec::from_toml_str(text)?;
        spec.routes()
    }

    #[test]
    fn the_issue_example_compiles() {
        let r = routes(
            r##"
            [[routes]]
            name = "payments-high"
            when = { modules = ["VaultKeeper"], min_risk = 90 }
            quorum = 2
            steps = [
              { channel = "voice", to = "+15550100002", timeout_s = 120 },
              { channel = "slack", to = "#payments-oncall", timeout_s = 600 },
            ]
            [channels.slack]
            bot_token_env = "SLACK_BOT_TOKEN"
            signing_secret_env = "SLACK_SIGNING_SECRET"
            api_base = "https://slack.com/api"
            "##,
        )
        .unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].quorum, 2);
        assert_eq!(r[0].steps[1].channel, ChannelKind::Slack);
        assert_eq!(r[0].steps[0].timeout.as_secs(), 120);
    }

    #[test]
    fn bad_routes_are_named() {
        let cases = [
            ("[[routes]]\nname = \"a\"\nsteps = []\n", "routes[0].steps"),
            (
                "[[routes]]\nname = \"a\"\nsteps = [{ channel = \"slack\", to = \"#x\", timeout_s = 5 }]\n",
                "routes[0].steps[0].channel",
            ),
            (
                "[[routes]]\nname = \"a\"\nsteps = [{ channel = \"voice\", timeout_s = 5 }]\n",
                "routes[0].steps[0].to",
            ),
            (
                "[[routes]]\nname = \"a\"\nsteps = [{ channel = \"voice\", to = \"555-0100\", timeout_s = 5 }]\n",
                "routes[0].steps[0].to",
            ),
            (
                "[[routes]]\nname = \"a\"\nwhen = { min_risk = 90, max_risk = 10 }\nsteps = [{ channel = \"console\", timeout_s = 5 }]\n",
                "routes[0].when",
            ),
            (
                "[[routes]]\nname = \"a\"\nsteps = [{ channel = \"console\", timeout_s = 5 }]\n[[routes]]\nname = \"a\"\nsteps = [{ channel = \"console\", timeout_s = 5 }]\n",
                "routes[1].name",
            ),
        ];
        for (text, key) in cases {
            let e = routes(text).unwrap_err();
            assert_eq!(e.key, key, "{text}: {e}");
        }
        let e = GatewaySpec::from_toml_str(
            "[[routes]]\nname = \"a\"\nsteps = [{ channel = \"teams\", timeout_s = 5 }]\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("teams"), "{e}");
        let e = GatewaySpec::from_toml_str(
            "[[routes]]\nname = \"a\"\nquorum = 0\nsteps = [{ channel = \"console\", timeout_s = 5 }]\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("quorum"), "{e}");
    }
}
