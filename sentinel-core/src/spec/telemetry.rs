//! `[telemetry]`: traces (OTLP), who may scrape `GET /metrics`, and the decision log.

use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::env::{Env, SecretKeys, SecretValue};
use super::error::ConfigError;

/// The variable holding the scrape token unless `telemetry.metrics_token_env` names another.
pub const DEFAULT_METRICS_TOKEN_ENV: &str = "SENTINEL_METRICS_TOKEN";
/// The standard OpenTelemetry variable for the OTLP endpoint; it wins over the file.
pub const OTLP_ENDPOINT_ENV: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
/// The standard OpenTelemetry variable for the service name; it wins over the file.
pub const SERVICE_NAME_ENV: &str = "OTEL_SERVICE_NAME";
/// Shortest scrape token accepted.
pub const MIN_TOKEN_LEN: usize = 16;
/// The service name when neither the file nor the environment gives one.
pub const DEFAULT_SERVICE_NAME: &str = "sentinel";

/// `[telemetry]`: where traces go, who may read the metrics, and the decision log.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct TelemetrySpec {
    /// The OTLP/HTTP (protobuf) collector, e.g. `http://127.0.0.1:4318` (spans go to
    /// `{otlp_endpoint}/v1/traces`). `OTEL_EXPORTER_OTLP_ENDPOINT` wins over it. Unset:
    /// no traces are exported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otlp_endpoint: Option<String>,
    /// The `service.name` of exported spans. `OTEL_SERVICE_NAME` wins over it. Default
    /// `sentinel`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
    /// `sentinel-server`: serve `GET /metrics` without credentials (a scraper on a
    /// private network). Default false: the scrape token or the admin token is required
    /// as `Authorization: Bearer`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics_public: Option<bool>,
    /// The environment variable holding the scrape token (default `SENTINEL_METRICS_TOKEN`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics_token_env: Option<String>,
    /// A file holding the scrape token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics_token_file: Option<PathBuf>,
    /// The decision log: `stdout`, `stderr` or a file path (relative to this file),
    /// appended to. One JSON line per decision on a recorded action and per outcome of
    /// an escalation. Unset: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_log: Option<String>,
    /// Payload paths the decision log masks besides the packs' `redact` paths, e.g.
    /// `["payload.iban", "payload.customer.name"]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_log_mask: Option<Vec<String>>,
}

impl TelemetrySpec {
    /// The scrape token for `GET /metrics`, from `metrics_token_file` or the variable
    /// `metrics_token_env` names (default `SENTINEL_METRICS_TOKEN`); `None` when unset.
    /// `base`: the configuration file's folder, for a relative file.
    pub fn metrics_token(
        &self,
        env: &Env,
        base: Option<&Path>,
    ) -> Result<Option<SecretValue>, ConfigError> {
        let token = SecretKeys {
            section: "telemetry",
            name: "metrics_token",
            env: self.metrics_token_env.as_deref(),
            file: self.metrics_token_file.as_deref(),
            default_env: DEFAULT_METRICS_TOKEN_ENV,
        }
        .read(env, base)?;
        match token {
            Some(t) if t.expose().len() < MIN_TOKEN_LEN => Err(ConfigError::at(
                "telemetry.metrics_token_env",
                format!(
                    "the scrape token must be at least {} characters",
                    MIN_TOKEN_LEN
                ),
            )),
            other => Ok(other),
        }
    }

    /// The decision log `decision_log` names, opened (a file relative to `base`), with the
    /// `decision_log_mask` paths.
    pub fn decision_log(
        &self,
        base: Option<&Path>,
    ) -> Result<Option<crate::telemetry::DecisionLog>, ConfigError> {
        let mask = self.decision_log_mask.clone().unwrap_or_default();
        for path in &mask {
            let ok = ["payload.", "context."]
                .iter()
                .any(|p| path.strip_prefix(p).is_some_and(|rest| !rest.is_empty()));
            if !ok {
                return Err(ConfigError::at(
                    "telemetry.decision_log_mask",
                    format!("`{path}` is not a path under `payload.` or `context.`"),
                ));
            }
        }
        let log = match self.decision_log.as_deref().map(str::trim) {
            None => return Ok(None),
            Some("stdout") => crate::telemetry::DecisionLog::stdout(),
            Some("stderr") => crate::telemetry::DecisionLog::stderr(),
            Some("") => {
                return Err(ConfigError::at(
                    "telemetry.decision_log",
                    "name `stdout`, `stderr` or a file",
                ));
            }
            Some(file) => {
                let path = super::env::resolve(base, Path::new(file));
                crate::telemetry::DecisionLog::file(&path).map_err(|e| {
                    ConfigError::at(
                        "telemetry.decision_log",
                        format!("cannot open `{}`: {e}", path.display()),
                    )
                })?
            }
        };
        Ok(Some(log.with_mask(mask)))
    }

    /// The OTLP endpoint in force: `OTEL_EXPORTER_OTLP_ENDPOINT`, else `otlp_endpoint`.
    pub fn otlp_endpoint(&self, env: &Env) -> Option<String> {
        env.var(OTLP_ENDPOINT_ENV)
            .or_else(|| self.otlp_endpoint.clone())
            .map(|e| e.trim().trim_end_matches('/').to_owned())
            .filter(|e| !e.is_empty())
    }

    /// The service name in force: `OTEL_SERVICE_NAME`, else `service_name`, else `sentinel`.
    pub fn service_name(&self, env: &Env) -> String {
        env.var(SERVICE_NAME_ENV)
            .or_else(|| self.service_name.clone())
            .unwrap_or_else(|| DEFAULT_SERVICE_NAME.to_owned())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn env(vars: &[(&str, &str)]) -> Env {
        Env::from_map(
            vars.iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn the_standard_variables_win_over_the_file() {
        let spec = TelemetrySpec {
            otlp_endpoint: Some("http://collector:4318/".into()),
            service_name: Some("gw".into()),
            ..TelemetrySpec::default()
        };
        assert_eq!(
            spec.otlp_endpoint(&env(&[])).as_deref(),
            Some("http://collector:4318")
        );
        assert_eq!(spec.service_name(&env(&[])), "gw");
        let e = env(&[
            (OTLP_ENDPOINT_ENV, "http://127.0.0.1:4318"),
            (SERVICE_NAME_ENV, "edge"),
        ]);
        assert_eq!(
            spec.otlp_endpoint(&e).as_deref(),
            Some("http://127.0.0.1:4318")
        );
        assert_eq!(spec.service_name(&e), "edge");
        assert_eq!(TelemetrySpec::default().otlp_endpoint(&env(&[])), None);
        assert_eq!(TelemetrySpec::default().service_name(&env(&[])), "sentinel");
    }

    #[test]
    fn the_example_keys_read_and_unknown_ones_are_refused() {
        let text: String = crate::spec::EXAMPLE
            .lines()
            .skip_while(|l| *l != "[telemetry]")
            .take_while(|l| !l.is_empty())
            .map(|l| format!("{}\n", l.trim_start_matches("# ")))
            .collect();
        let spec = crate::GatewaySpec::from_toml_str(&text).unwrap();
        assert_eq!(
            spec.telemetry.otlp_endpoint.as_deref(),
            Some("http://127.0.0.1:4318")
        );
        assert_eq!(spec.telemetry.metrics_public, Some(false));
        let err = crate::GatewaySpec::from_toml_str("[telemetry]\nendpoint = \"x\"\n").unwrap_err();
        assert!(err.to_string().contains("endpoint"), "{err}");
    }

    #[test]
    fn the_scrape_token_is_read_from_its_variable_and_must_be_long() {
        let spec = TelemetrySpec::default();
        assert!(spec.metrics_token(&env(&[]), None).unwrap().is_none());
        let token = spec
            .metrics_token(
                &env(&[(DEFAULT_METRICS_TOKEN_ENV, "scrape-token-0123456789")]),
                None,
            )
            .unwrap()
            .unwrap();
        assert_eq!(token.expose(), "scrape-token-0123456789");
        let err = spec
            .metrics_token(&env(&[(DEFAULT_METRICS_TOKEN_ENV, "short")]), None)
            .unwrap_err();
        assert!(
            err.to_string().contains("telemetry.metrics_token_env"),
            "{err}"
        );
        assert!(!err.to_string().contains("short"), "{err}");
    }
}
