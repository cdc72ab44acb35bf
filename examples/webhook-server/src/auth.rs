//! Who is calling: per-agent bearer keys, the admin token and operator tokens, compared
//! in constant time, or a console session cookie ([`crate::console::session`]).
//!
//! - No `Authorization: Bearer ...` header, or a token nobody was given → 401.
//! - A valid token that may not do this (an agent resolving, an agent submitting as another
//!   agent id) → 403.
//! - An agent reading another agent's action gets 404, exactly like an unknown id, so ids
//!   of other agents' actions cannot be probed.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use sha2::{Digest, Sha256};

use sentinel_core::spec::OperatorRole;

use crate::config::{AgentKey, Operator};
use crate::console::session;
use crate::errors::ApiError;
use crate::state::AppState;

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// The admin (the web fallback channel, dashboards).
    Admin,
    /// An agent, by its configured id or `prefix*` pattern.
    Agent(String),
    /// A named operator: signed in to the console, or with their token as a bearer key.
    Operator(Staff),
}

/// An operator as a caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staff {
    /// The operator's name, recorded with their decisions.
    pub name: String,
    /// What the operator may do.
    pub role: OperatorRole,
    /// True when the request came with the console's session cookie (decisions are then
    /// recorded with channel `console`).
    pub console: bool,
}

impl Principal {
    /// True when this caller may act as (and see actions of) `agent_id`.
    pub fn covers(&self, agent_id: &str) -> bool {
        match self {
            Principal::Admin | Principal::Operator(_) => true,
            Principal::Agent(pattern) => agent_matches(pattern, agent_id),
        }
    }

    /// The name recorded for this caller.
    pub fn name(&self) -> &str {
        match self {
            Principal::Admin => "admin",
            Principal::Agent(pattern) => pattern,
            Principal::Operator(staff) => &staff.name,
        }
    }

    /// Only the admin and operators pass (they see every action).
    pub fn require_admin(&self, what: &str) -> Result<(), ApiError> {
        match self {
            Principal::Admin | Principal::Operator(_) => Ok(()),
            Principal::Agent(agent) => Err(ApiError::forbidden(format!(
                "{what} needs the admin token; agent `{agent}` may not"
            ))),
        }
    }

    /// Only the admin and operators whose role may decide pass.
    pub fn require_decider(&self, what: &str) -> Result<(), ApiError> {
        self.require_admin(what)?;
        match self {
            Principal::Operator(staff) if !staff.role.may_decide() => {
                Err(ApiError::forbidden(format!(
                    "{what} needs the `approver` role; operator `{}` is a `{}`",
                    staff.name,
                    staff.role.as_str()
                )))
            }
            _ => Ok(()),
        }
    }

    /// Only agents pass; returns the agent pattern.
    pub fn require_agent(&self, what: &str) -> Result<&str, ApiError> {
        match self {
            Principal::Agent(agent) => Ok(agent),
            Principal::Admin | Principal::Operator(_) => Err(ApiError::forbidden(format!(
                "{what} needs an agent key, not the admin token or an operator's"
            ))),
        }
    }
}

/// `billing-bot` matches only itself; `session_*` matches every id starting with `session_`.
pub fn agent_matches(pattern: &str, agent_id: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => agent_id.starts_with(prefix) && agent_id.len() > prefix.len(),
        None => pattern == agent_id,
    }
}

/// The configured credentials, hashed once at start.
#[derive(Debug, Default)]
pub struct Credentials {
    admin: Option<[u8; 32]>,
    agents: Vec<(String, [u8; 32])>,
    operators: Vec<(String, OperatorRole, [u8; 32])>,
}

impl Credentials {
    /// Hashes the configured admin token and agent keys.
    pub fn new(admin: Option<&str>, agents: &[AgentKey]) -> Self {
        Self {
            admin: admin.map(digest),
            agents: agents
                .iter()
                .map(|k| (k.agent.clone(), digest(k.key.expose())))
                .collect(),
            operators: Vec::new(),
        }
    }

    /// Adds the console's operators (their tokens hashed).
    #[must_use]
    pub fn with_operators(mut self, operators: &[Operator]) -> Self {
        self.operators = operators
            .iter()
            .map(|o| (o.name.clone(), o.role, digest(o.token.expose())))
            .collect();
        self
    }

    /// The operator a sign-in token belongs to (name and role), comparing every
    /// operator's token in constant time.
    pub fn operator(&self, token: &str) -> Option<(String, OperatorRole)> {
        let given = digest(token);
        let mut found = None;
        for (name, role, hash) in &self.operators {
            if constant_time_eq(hash, &given) && found.is_none() {
                found = Some((name.clone(), *role));
            }
        }
        found
    }

    /// True when at least one operator may sign in.
    pub fn has_operators(&self) -> bool {
        !self.operators.is_empty()
    }

    /// The principal a bearer token belongs to. Every configured credential is compared,
    /// each in constant time, whatever matches first.
    pub fn identify(&self, token: &str) -> Option<Principal> {
        let given = digest(token);
        let mut found = None;
        if let Some(admin) = &self.admin
            && constant_time_eq(admin, &given)
        {
            found = Some(Principal::Admin);
        }
        for (agent, key) in &self.agents {
            if constant_time_eq(key, &given) && found.is_none() {
                found = Some(Principal::Agent(agent.clone()));
            }
        }
        if let Some((name, role)) = self.operator(token)
            && found.is_none()
        {
            found = Some(Principal::Operator(Staff {
                name,
                role,
                console: false,
            }));
        }
        found
    }

    /// True when no agent key is configured.
    pub fn no_agents(&self) -> bool {
        self.agents.is_empty()
    }
}

fn digest(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

/// Compares two digests without stopping at the first difference.
fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(AUTHORIZATION) else {
            // No bearer key: the console's session cookie, if any (state-changing requests
            // only from the console's own origin).
            if let Some(staff) = session::principal(parts, state)? {
                return Ok(Principal::Operator(staff));
            }
            return Err(ApiError::unauthorized(
                "missing `Authorization: Bearer <key>` header",
            ));
        };
        let token = value
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ApiError::unauthorized("the `Authorization` header must be `Bearer <key>`")
            })?;
        state
            .credentials
            .identify(token)
            .ok_or_else(|| ApiError::unauthorized("the bearer key is not valid"))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use sentinel_core::telnyx::Secret;

    use super::*;

    #[test]
    fn identifies_admin_and_agents_and_patterns() {
        let keys = [
            AgentKey {
                agent: "billing-bot".into(),
                key: Secret::new("key-billing-0123456789"),
            },
            AgentKey {
                agent: "session_*".into(),
                key: Secret::new("key-session-0123456789"),
            },
        ];
        let c = Credentials::new(Some("admin-token-0123456789"), &keys);
        assert_eq!(c.identify("admin-token-0123456789"), Some(Principal::Admin));
        assert_eq!(
            c.identify("key-billing-0123456789"),
            Some(Principal::Agent("billing-bot".into()))
        );
        assert_eq!(c.identify("key-billing-012345678"), None);
        let session = c.identify("key-session-0123456789").unwrap();
        assert!(session.covers("session_42"));
        assert!(!session.covers("session_"));
        assert!(!session.covers("billing-bot"));
        assert!(!Principal::Agent("billing-bot".into()).covers("billing-bot-2"));
    }
}
