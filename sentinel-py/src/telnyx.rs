//! `TelnyxApprover`: configuration of the core's voice approver
//! ([`sentinel_core::TelnyxVoiceApprover`]), and the webhook entry point a Python web app
//! mounts.
//!
//! Each setting left `None` comes from its environment variable (the core's
//! [`TelnyxConfig::from_lookup`] reads and checks them all), then the core's default. The
//! call flow, signature checks and decisions are the core's.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};
use sentinel_core::telnyx::ConfigError as TelnyxConfigError;
use sentinel_core::{Pack, TelnyxConfig, TelnyxVoiceApprover};

use crate::callback::CallContext;
use crate::errors::{self, Kind};
use crate::runtime;

/// Keyword argument ↔ environment variable, as the core names them.
const SETTINGS: [(&str, &str); 14] = [
    ("api_key", "TELNYX_API_KEY"),
    ("connection_id", "TELNYX_CONNECTION_ID"),
    ("from_number", "TELNYX_PHONE_NUMBER"),
    ("admin_number", "ADMIN_PHONE_NUMBER"),
    ("public_key", "TELNYX_PUBLIC_KEY"),
    ("public_url", "SENTINEL_PUBLIC_URL"),
    ("api_base", "TELNYX_API_BASE"),
    ("pin", "TELNYX_APPROVAL_PIN"),
    ("gather_timeout", "TELNYX_GATHER_TIMEOUT_SECS"),
    ("max_replays", "TELNYX_MAX_REPLAYS"),
    ("ring_timeout", "TELNYX_RING_TIMEOUT_SECS"),
    ("call_time_limit", "TELNYX_CALL_TIME_LIMIT_SECS"),
    ("voice", "TELNYX_VOICE"),
    ("language", "TELNYX_LANGUAGE"),
];

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
        max_replays = None, ring_timeout = None, call_time_limit = None, voice = None, language = None,
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
        gather_timeout: Option<u64>,
        max_replays: Option<u64>,
        ring_timeout: Option<u64>,
        call_time_limit: Option<u64>,
        voice: Option<String>,
        language: Option<String>,
    ) -> PyResult<Self> {
        let given: [Option<String>; 14] = [
            api_key,
            connection_id,
            from_number,
            admin_number,
            public_key,
            public_url,
            api_base,
            pin,
            gather_timeout.map(|s| s.to_string()),
            max_replays.map(|n| n.to_string()),
            ring_timeout.map(|s| s.to_string()),
            call_time_limit.map(|s| s.to_string()),
            voice,
            language,
        ];
        let lookup = |var: &str| {
            let index = SETTINGS.iter().position(|(_, v)| *v == var);
            index
                .and_then(|i| given[i].clone())
                .or_else(|| std::env::var(var).ok())
        };
        let config = TelnyxConfig::from_lookup(lookup).map_err(|e| config_error(py, &e))?;
        Self::build(py, config)
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

impl TelnyxApprover {
    /// `Gateway(approver="telnyx")`: everything from the environment.
    pub(crate) fn from_env(py: Python<'_>) -> PyResult<TelnyxVoiceApprover> {
        let config = TelnyxConfig::from_env().map_err(|e| config_error(py, &e))?;
        Ok(Self::build(py, config)?.inner)
    }

    fn build(py: Python<'_>, config: TelnyxConfig) -> PyResult<Self> {
        let inner = TelnyxVoiceApprover::new(config)
            .map_err(|e| errors::new_err(py, Kind::Config, format!("telnyx approver: {e}")))?;
        Ok(Self { inner })
    }
}

/// The approver the gateway uses: shares calls with `approver` and masks what `packs`
/// declare in what is read aloud.
pub(crate) fn for_gateway(
    approver: &TelnyxVoiceApprover,
    packs: &[Pack],
) -> Arc<TelnyxVoiceApprover> {
    let _ = packs; // each request carries the paths its packs declare
    Arc::new(approver.clone())
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
    let context = CallContext::blocking();
    let result = runtime::block_on(
        py,
        Arc::clone(&context).scope(async move { approver.handle_webhook(&headers, &body).await }),
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

/// Names the keyword argument and the variable; never shows a secret's value (the core's
/// messages do not either).
fn config_error(py: Python<'_>, e: &TelnyxConfigError) -> PyErr {
    let (var, problem) = match e {
        TelnyxConfigError::Missing { var } => (*var, "is not set".to_owned()),
        TelnyxConfigError::Invalid { var, message } => (*var, format!("is invalid: {message}")),
        other => return errors::new_err(py, Kind::Config, format!("telnyx approver: {other}")),
    };
    let setting = SETTINGS
        .iter()
        .find(|(_, v)| *v == var)
        .map_or(var, |(s, _)| s);
    errors::new_err(
        py,
        Kind::Config,
        format!("telnyx approver: setting `{setting}` (environment variable `{var}`) {problem}"),
    )
}
