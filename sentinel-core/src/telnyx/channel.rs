//! [`VoiceChannel`]: the ladder's `voice` steps, each calling its own `to` number.

use async_trait::async_trait;

use super::approver::TelnyxVoiceApprover;
use crate::approver::ApproverLink;
use crate::ladder::{Channel, ChannelError, ChannelKind, StepRequest};

/// The voice approver as the ladder's `voice` channel: a step calls its `to` number (not
/// the approver's `admin_number`), the number being kept with the call's attempt so that a
/// restart takes the call up, or calls that number again. A call that ends without a
/// decision (not answered, busy, a machine, a hang-up, goodbye, no valid input, a wrong
/// PIN too many times) fails the step at once, and the next step starts.
///
/// Decisions on the call are recorded under the operator the number is bound to
/// ([`TelnyxConfig::phones`](super::TelnyxConfig::phones)), else under the number.
#[derive(Debug, Clone)]
pub struct VoiceChannel {
    approver: TelnyxVoiceApprover,
}

impl VoiceChannel {
    /// `approver` as a channel: share it with the server's webhook endpoint.
    pub fn new(approver: TelnyxVoiceApprover) -> Self {
        Self { approver }
    }

    /// The approver behind the channel.
    pub fn approver(&self) -> &TelnyxVoiceApprover {
        &self.approver
    }
}

#[async_trait]
impl Channel for VoiceChannel {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Voice
    }

    async fn start(&self, step: StepRequest) -> Result<(), ChannelError> {
        self.approver
            .request_call_to(step.request, &step.to, Some(step.reporter))
            .await
            .map_err(|e| ChannelError::new(ChannelKind::Voice.as_str(), e.to_string()))
    }

    async fn resume(&self, step: StepRequest) -> Result<(), ChannelError> {
        self.approver
            .resume_call_to(step.request, Some(&step.to), Some(step.reporter))
            .await
            .map_err(|e| ChannelError::new(ChannelKind::Voice.as_str(), e.to_string()))
    }

    fn attach(&self, link: ApproverLink) {
        crate::Approver::attach(&self.approver, link);
    }
}
