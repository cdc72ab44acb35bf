//! The HTTP API as an OpenAPI 3.1 document, generated from the handlers (`utoipa`): their
//! paths, parameters and the types they answer with ([`crate::wire`]). Served at
//! `GET /openapi.json`, without authentication.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes;
use crate::wire;

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Sentinel",
        description = "Sentinel's HTTP API: agents submit actions and wait for decisions; the admin resolves them; Telnyx posts signed call events. Errors are `{\"error\": {\"code\", \"message\", \"field\"?}}` with one of Sentinel's error codes.",
        license(name = "Apache-2.0"),
    ),
    paths(
        routes::execute::execute,
        routes::actions::show,
        routes::actions::wait,
        routes::actions::status,
        routes::resolve::resolve,
        routes::events::events,
        routes::telnyx::webhook,
        routes::slack::interactions,
        routes::health::healthz,
        routes::metrics::metrics,
        openapi_json,
    ),
    components(schemas(
        wire::ActionBody,
        wire::Submission,
        wire::ActionView,
        wire::Event,
        wire::PackView,
        wire::ApprovalView,
        wire::CallView,
        wire::VoiceView,
        wire::LegacyStatus,
        wire::ResolveBody,
        wire::Health,
        wire::WebhookAnswer,
        wire::ErrorBody,
        wire::ErrorDetail,
    )),
    modifiers(&Bearer),
    tags(
        (name = "actions", description = "submitting, reading, waiting for and resolving actions"),
        (name = "events", description = "the lifecycle stream (admin)"),
        (name = "telnyx", description = "the voice approver's webhooks"),
        (name = "slack", description = "the approval ladder's Slack buttons"),
        (name = "health", description = "liveness and this document"),
    )
)]
pub struct ApiDoc;

/// `Authorization: Bearer <agent key | admin token>`.
struct Bearer;

impl Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("an agent key, or the admin token"))
                    .build(),
            ),
        );
    }
}

/// The document as JSON.
pub fn document() -> serde_json::Value {
    serde_json::to_value(ApiDoc::openapi()).unwrap_or_default()
}

/// `GET /openapi.json`: this API as an OpenAPI 3.1 document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "health",
    responses((status = 200, description = "the OpenAPI document", body = Object))
)]
pub async fn openapi_json() -> Json<serde_json::Value> {
    Json(document())
}
