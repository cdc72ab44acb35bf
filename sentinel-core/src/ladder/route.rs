//! Routes: which escalated actions take which steps.

use std::time::Duration;

use super::channel::ChannelKind;
use crate::action::Action;
use crate::decision::Decision;

/// One route of the ladder, compiled from `[[routes]]`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Route {
    /// The route's name.
    pub name: String,
    /// Which actions take it.
    pub when: RouteMatch,
    /// Distinct approvers needed to approve (at least 1).
    pub quorum: u32,
    /// The steps, in order (at least one).
    pub steps: Vec<Step>,
}

/// `routes[].when`: every condition given must hold; an empty one matches every action.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct RouteMatch {
    /// Pack names, one of which took part in the decision; empty: any.
    pub modules: Vec<String>,
    /// Action names; empty: any.
    pub actions: Vec<String>,
    /// Lowest risk score, inclusive.
    pub min_risk: Option<u8>,
    /// Highest risk score, inclusive.
    pub max_risk: Option<u8>,
}

/// One rung of the ladder.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Step {
    /// The channel asked.
    pub channel: ChannelKind,
    /// Whom it reaches (a phone number, a Slack channel); empty for the console.
    pub to: String,
    /// How long the step waits.
    pub timeout: Duration,
}

impl Route {
    /// A route named `name` over `steps`, for every action, quorum 1.
    pub fn new(name: impl Into<String>, steps: Vec<Step>) -> Self {
        Self {
            name: name.into(),
            when: RouteMatch::default(),
            quorum: 1,
            steps,
        }
    }

    /// Sets the quorum (at least 1).
    #[must_use]
    pub fn with_quorum(mut self, quorum: u32) -> Self {
        self.quorum = quorum.max(1);
        self
    }

    /// Sets which actions take the route.
    #[must_use]
    pub fn when(mut self, when: RouteMatch) -> Self {
        self.when = when;
        self
    }

    /// True when the route takes this escalated action.
    pub fn matches(&self, action: &Action, decision: &Decision) -> bool {
        let w = &self.when;
        (w.modules.is_empty()
            || decision
                .packs
                .iter()
                .any(|p| w.modules.iter().any(|m| **m == *p.name)))
            && (w.actions.is_empty() || w.actions.contains(&action.action))
            && w.min_risk.is_none_or(|lo| decision.risk_score >= lo)
            && w.max_risk.is_none_or(|hi| decision.risk_score <= hi)
    }
}

impl RouteMatch {
    /// Matches actions decided with one of these packs.
    #[must_use]
    pub fn modules<I: IntoIterator<Item = S>, S: Into<String>>(mut self, names: I) -> Self {
        self.modules = names.into_iter().map(Into::into).collect();
        self
    }

    /// Matches these action names.
    #[must_use]
    pub fn actions<I: IntoIterator<Item = S>, S: Into<String>>(mut self, names: I) -> Self {
        self.actions = names.into_iter().map(Into::into).collect();
        self
    }

    /// Matches risk scores in `min..=max`.
    #[must_use]
    pub fn risk(mut self, min: Option<u8>, max: Option<u8>) -> Self {
        self.min_risk = min;
        self.max_risk = max;
        self
    }
}

impl Step {
    /// A step through `channel` to `to`, waiting up to `timeout`.
    pub fn new(channel: ChannelKind, to: impl Into<String>, timeout: Duration) -> Self {
        Self {
            channel,
            to: to.into(),
            timeout,
        }
    }

    /// How the step reads in the audit trail: `voice to +15550100002`, `console`.
    pub fn describe(&self) -> String {
        if self.to.is_empty() {
            self.channel.as_str().to_owned()
        } else {
            format!("{} to {}", self.channel.as_str(), self.to)
        }
    }
}

/// The first route of `routes` that takes the action.
pub(crate) fn select<'a>(
    routes: &'a [Route],
    action: &Action,
    decision: &Decision,
) -> Option<&'a Route> {
    routes.iter().find(|r| r.matches(action, decision))
}
