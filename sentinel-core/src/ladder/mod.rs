//! The approval ladder: risk-tiered routes of steps over channels, with fallbacks and a
//! quorum.
//!
//! A [`LadderApprover`] is an [`Approver`](crate::Approver) made of [`Route`]s (the
//! configuration's `[[routes]]`) and [`Channel`]s (`voice`, `slack`, `webhook`, `console`). For an
//! escalated action the first route whose `when` matches is taken, and its steps are
//! asked one after the other:
//!
//! - a step ends when its channel decides (a person answered through it), when its
//!   timeout passes, or when the channel fails (it could not post, the call was not
//!   answered); then the next step starts;
//! - after the last step the action expires (fail closed), or, when the last step failed,
//!   is `ERROR_APPROVER`: no channel could be reached;
//! - a decision through any channel (the console included) counts at any step.
//!
//! Every step's start and outcome is an audit note (actor `sentinel`, channel `ladder`).
//! Steps are approval attempts in the store (channel `ladder`): a restarted process, or
//! another instance on the same database, carries on at the step the action stands at, and
//! a step is started by one process only.
//!
//! **Quorum**: a route's `quorum` is how many distinct people must approve. Each approval
//! is a vote recorded as an audit note (actor: the person, channel `quorum`); the same
//! person through two channels counts once; a single decline declines. When the quorum is
//! met the approval is recorded with every approver in `by` (`alice, bob`) and the
//! reason.

mod approver;
mod channel;
pub mod link;
mod progress;
mod quorum;
mod route;

pub use approver::LadderApprover;
pub use channel::{
    ApproverChannel, Channel, ChannelError, ChannelKind, ConsoleChannel, StepReporter, StepRequest,
};
pub use link::{ConsoleLinks, LinkClaim, LinkError};
pub use progress::{LadderStep, QuorumVote, ladder_steps, quorum_votes};
pub use route::{Route, RouteMatch, Step};

/// The channel name of the ladder's audit notes and approval attempts.
pub const LADDER: &str = "ladder";
/// The channel name of the audit notes that record quorum votes.
pub const QUORUM: &str = "quorum";
