//! The per-action lifecycle: states, legal transitions and terminal states.
//!
//! ```text
//! RECEIVED → ANALYZING → EXECUTED                      (auto-approved)
//!                      → DECLINED                      (policy refused)
//!                      → BLOCKED_AWAITING_AUTH ⇄ QNA_MODE
//!                            → APPROVED | DECLINED | EXPIRED | ERROR_APPROVER
//! ```
//!
//! `EXECUTED`, `APPROVED`, `DECLINED`, `EXPIRED` and `ERROR_APPROVER` are terminal: once
//! there, an action never changes state again. Only `EXECUTED` and `APPROVED` permit the
//! guarded function to run.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Where an action is in its lifecycle. Serialized in the wire form, e.g.
/// `"BLOCKED_AWAITING_AUTH"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum State {
    /// Accepted by the gateway, not yet looked at.
    Received,
    /// Rules and scorer are deciding.
    Analyzing,
    /// Low risk: approved automatically (the original API's `EXECUTED`).
    Executed,
    /// A human is being asked.
    BlockedAwaitingAuth,
    /// The human is asking questions about the action (voice Q&A).
    QnaMode,
    /// A human approved.
    Approved,
    /// Policy or a human refused.
    Declined,
    /// Nobody decided before the deadline.
    Expired,
    /// The approver could not reach a human (the original API's `ERROR_TELNYX`).
    ErrorApprover,
}

impl State {
    /// Every state, in lifecycle order.
    pub const ALL: [State; 9] = [
        State::Received,
        State::Analyzing,
        State::Executed,
        State::BlockedAwaitingAuth,
        State::QnaMode,
        State::Approved,
        State::Declined,
        State::Expired,
        State::ErrorApprover,
    ];

    /// The wire name, e.g. `BLOCKED_AWAITING_AUTH`.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Received => "RECEIVED",
            State::Analyzing => "ANALYZING",
            State::Executed => "EXECUTED",
            State::BlockedAwaitingAuth => "BLOCKED_AWAITING_AUTH",
            State::QnaMode => "QNA_MODE",
            State::Approved => "APPROVED",
            State::Declined => "DECLINED",
            State::Expired => "EXPIRED",
            State::ErrorApprover => "ERROR_APPROVER",
        }
    }

    /// True when the action can never change state again.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            State::Executed
                | State::Approved
                | State::Declined
                | State::Expired
                | State::ErrorApprover
        )
    }

    /// True when a human decision is still awaited.
    pub fn is_pending(self) -> bool {
        matches!(self, State::BlockedAwaitingAuth | State::QnaMode)
    }

    /// True when the guarded function may run: approved automatically or by a human.
    pub fn permits_execution(self) -> bool {
        matches!(self, State::Executed | State::Approved)
    }

    /// True when the lifecycle has an edge from `self` to `to`.
    pub fn can_become(self, to: State) -> bool {
        use State::*;
        matches!(
            (self, to),
            (Received, Analyzing)
                | (Analyzing, Executed | Declined | BlockedAwaitingAuth)
                | (
                    BlockedAwaitingAuth,
                    QnaMode | Approved | Declined | Expired | ErrorApprover
                )
                | (QnaMode, BlockedAwaitingAuth | Approved | Declined | Expired)
        )
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_states_have_no_way_out() {
        for from in State::ALL.into_iter().filter(|s| s.is_terminal()) {
            for to in State::ALL {
                assert!(!from.can_become(to), "{from} -> {to}");
            }
        }
    }

    #[test]
    fn only_approvals_permit_execution() {
        let permitted: Vec<_> = State::ALL
            .into_iter()
            .filter(|s| s.permits_execution())
            .collect();
        assert_eq!(permitted, [State::Executed, State::Approved]);
    }

    #[test]
    fn qna_mode_is_reached_only_from_a_pending_action() {
        let into_qna: Vec<_> = State::ALL
            .into_iter()
            .filter(|s| s.can_become(State::QnaMode))
            .collect();
        assert_eq!(into_qna, [State::BlockedAwaitingAuth]);
    }

    #[test]
    fn wire_names_match_serde() {
        for s in State::ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
    }
}
