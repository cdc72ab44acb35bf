//! `TelnyxApprover`: configuration of the core's voice approver
//! ([`sentinel_core::TelnyxVoiceApprover`]), and the webhook entry point a Python web app
//! mounts.
//!
//! The keyword arguments are written as the spec's `[approver.telnyx]` section and read by
//! the core ([`TelnyxSpec`]); the API key and PIN go in as its in-code secrets. Each
//! setting left `None` comes from its environment variable, then the core's default; the
//! names, checks and messages are the core's. The call flow, signature checks and decisions
//! are the core's too.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};
use sentinel_core::spec::{Env, GatewaySpec, SecretValue};
use sentinel_core::{ConfigError, TelnyxVoiceApprover};
use serde_json::{Map, Value, json};

use crate::{errors, runtime};

/// The Telnyx voice approver, configured: phones the admin about each escalated action.
/// Pass it as `Gateway(approver=TelnyxApprover(...))`; `Gateway(approver="telnyx")` is
/// `Gateway(approver=TelnyxApprover())`: everything from the environment. Webhooks go to
/// `Gateway.handle_telnyx_webhook` (or this object's `handle_webhook`).
#[pyclass(module = "sentinel_guard", name = "TelnyxApprover", frozen)]
pub struct TelnyxApprover {
    pub(crate) inner: TelnyxVoiceApprover,
}

#[pymethods]
impl TelnyxApprover {
    #[new]
    #[pyo3(signature = (
        *, api_key = None, connection_id = None, from_number = None, admin_number = None,
        public_key = None, public_url = None, api_base = None, pin = None, gather_timeout = None,
        max_replays = None, ring_timeout = None, call_time_limit = None, voice = None,
        language = None, redact_paths = None,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        api_key: Option<String>,
        connection_id: Option<String>,
        from_number: Option<String>,
        admin_number: Option<String>,
        public_key: Option<String>,
        public_url: Option<String>,
        api_base: Option<String>,
        pin: Option<String>,
        gather_timeout: Option<i64>,
        max_replays: Option<i64>,
        ring_timeout: Option<i64>,
        call_time_limit: Option<i64>,
        voice: Option<String>,
        language: Option<String>,
        redact_paths: Option<Vec<String>>,
    ) -> PyResult<Self> {
        let built = (|| {
            let mut section = Map::new();
            for (key, value) in [
                ("connection_id", connection_id),
                ("from_number", from_number),
                ("admin_number", admin_number),
                ("public_key", public_key),
                ("public_url", public_url),
                ("api_base", api_base),
                ("voice", voice),
                ("language", language),
            ] {
                if let Some(value) = value {
                    section.insert(key.into(), json!(value));
                }
            }
            for (key, value) in [
                ("gather_timeout_s", gather_timeout),
                ("max_replays", max_replays),
                ("ring_timeout_s", ring_timeout),
                ("call_time_limit_s", call_time_limit),
            ] {
                if let Some(value) = value {
                    section.insert(key.into(), json!(value));
                }
            }
            if let Some(paths) = redact_paths {
                section.insert("redact_paths".into(), json!(paths));
            }
            let spec = GatewaySpec::from_value(
                json!({"approver": {"kind": "telnyx", "telnyx": Value::Object(section)}}),
            )?;
            let mut telnyx = spec.approver.telnyx.unwrap_or_default();
            telnyx.secrets.api_key = api_key.map(SecretValue::new);
            telnyx.secrets.pin = pin.map(SecretValue::new);
            telnyx.build(&Env::process(), None)
        })();
        let inner = built.map_err(|e: ConfigError| errors::config(py, &e))?;
        Ok(Self { inner })
    }

    /// The admin's number (who is called).
    #[getter]
    fn admin_number(&self) -> String {
        self.inner.config().admin_number.clone()
    }

    /// The Telnyx API base URL.
    #[getter]
    fn api_base(&self) -> String {
        self.inner.config().api_base.clone()
    }

    /// Where each call's webhooks go (`{public_url}/api/telnyx/webhook`), or `None`.
    #[getter]
    fn webhook_url(&self) -> Option<String> {
        self.inner.config().webhook_url.clone()
    }

    /// Verifies and handles one webhook; returns the HTTP status to answer with (see
    /// `Gateway.handle_telnyx_webhook`).
    fn handle_webhook(
        &self,
        py: Python<'_>,
        headers: &Bound<'_, PyAny>,
        body: &Bound<'_, PyAny>,
    ) -> PyResult<u16> {
        handle(py, &self.inner, headers, body)
    }

    fn __repr__(&self) -> String {
        let c = self.inner.config();
        format!(
            "TelnyxApprover(admin_number={:?}, api_base={:?})",
            c.admin_number, c.api_base
        )
    }
}

/// Runs one webhook through `approver` and maps the result to an HTTP status: 200 when
/// handled or ignored, else the core's status for the error (401 bad signature, 400 bad
/// body, 502 Telnyx failed).
pub(crate) fn handle(
    py: Python<'_>,
    approver: &TelnyxVoiceApprover,
    headers: &Bound<'_, PyAny>,
    body: &Bound<'_, PyAny>,
) -> PyResult<u16> {
    let (headers, body) = request(headers, body)?;
    let approver = approver.clone();
    let result = runtime::block_on(
        py,
        async move { approver.handle_webhook(&headers, &body).await },
    )?;
    Ok(status(result))
}

/// The status for a webhook's result (logged by the core).
pub(crate) fn status<T>(result: Result<T, sentinel_core::WebhookError>) -> u16 {
    result.map_or_else(|e| e.http_status(), |_| 200)
}

/// A webhook's headers, as the core's `HeaderLookup` reads them.
pub(crate) type Headers = Vec<(String, String)>;

/// Headers (any mapping with `items()`, e.g. Starlette's or Flask's) and the raw body
/// (`bytes`, or `str` as UTF-8).
pub(crate) fn request(
    headers: &Bound<'_, PyAny>,
    body: &Bound<'_, PyAny>,
) -> PyResult<(Headers, Vec<u8>)> {
    let mut pairs = Vec::new();
    for item in headers.call_method0("items")?.try_iter()? {
        let (name, value): (String, String) = item?.extract()?;
        pairs.push((name, value));
    }
    let body = if let Ok(bytes) = body.cast::<PyBytes>() {
        bytes.as_bytes().to_vec()
    } else if body.is_instance_of::<PyString>() {
        body.extract::<String>()?.into_bytes()
    } else {
        return Err(pyo3::exceptions::PyTypeError::new_err(
            "webhook body must be the raw request body as bytes",
        ));
    };
    Ok((pairs, body))
}
