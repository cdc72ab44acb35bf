//! The webhook entry point of the core's voice approver
//! ([`sentinel_core::TelnyxVoiceApprover`]) that a Node web app mounts
//! (`POST /api/telnyx/webhook`). Its settings are the core spec's `[approver.telnyx]`
//! (`Gateway.fromConfig`, or the options of `new Gateway`, see [`crate::options`]); the
//! call flow, signature checks and decisions are the core's.

use std::collections::HashMap;

use napi::bindgen_prelude::Uint8Array;
use napi_derive::napi;
use sentinel_core::ErrorCode;

use crate::errors::{Failure, Reply};
use crate::gateway::NativeGateway;

#[napi]
impl NativeGateway {
    /// Verifies and handles one Telnyx webhook (`POST /api/telnyx/webhook`) with its
    /// headers and raw body; resolves to the HTTP status to answer: 200 when handled or
    /// ignored (and for an event already handled), 401 for a bad signature or timestamp,
    /// 400 for an unreadable body, 502 when a command to Telnyx failed. Rejects with
    /// `SENTINEL_UNSUPPORTED` when the gateway has no Telnyx approver.
    #[napi(ts_return_type = "Promise<number>")]
    pub async fn handle_telnyx_webhook(
        &self,
        headers: HashMap<String, String>,
        body: Uint8Array,
    ) -> Reply<u32> {
        let Some(approver) = &self.components.telnyx else {
            return Reply(Err(Failure::new(
                ErrorCode::Unsupported,
                "this gateway has no Telnyx approver: configure `approver: 'telnyx'` (`[approver] kind = \"telnyx\"` in a configuration file)",
            )));
        };
        Reply(Ok(match approver.handle_webhook(&headers, &body).await {
            Ok(_) => 200,
            Err(e) => u32::from(e.http_status()),
        }))
    }
}
