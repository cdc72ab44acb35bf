//! [`DecisionLog`]: one JSON line per decision on a recorded action, and one per human
//! (or timeout, or approver failure) outcome of an escalation, for shipping to a SIEM
//! (`[telemetry] decision_log = "stdout" | "stderr" | "PATH"`).
//!
//! ```json
//! {"ts":"2026-12-01T22:40:00.123Z","event":"decision","action_id":"0193...","agent_id":"billing-bot",
//!  "action":"PAY_INVOICE","status":"EXECUTED","risk_score":10,"rules":["VaultKeeper/trusted-vendor-small-payment"],
//!  "packs":[{"name":"VaultKeeper","version":"1.1.0"}],"scorer":{"outcome":"skipped","reason":"set_risk"},
//!  "approver":null,"deadline":null,"timings":{"rules_ns":900,"scorer_ns":0,"total_ns":2100},
//!  "payload":{"amount":120,"vendor":"AWS"}}
//! {"ts":"...","event":"resolution","action_id":"0193...","agent_id":"session_1","action":"PAY_INVOICE",
//!  "status":"APPROVED","decided_by":"alice","channel":"web","waited_ms":5120}
//! ```
//!
//! The payload is masked as everything leaving the process is ([`crate::redact`]: card
//! numbers, SSNs, e-mails, phone numbers, secrets under sensitive keys), plus the packs'
//! `redact` paths and the `decision_log_mask` paths, replaced by `[REDACTED]`. The
//! reasoning, the analysis and humans' free-text reasons are never written.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::action::Action;
use crate::decision::Decision;
use crate::store::{ActionRecord, AuditEvent};

/// Where decision lines go.
#[derive(Debug)]
enum Sink {
    Stdout,
    Stderr,
    File(Mutex<File>),
}

/// A JSON-lines decision log. Writing never fails a decision: a failed write is logged
/// (once) and dropped.
#[derive(Debug)]
pub struct DecisionLog {
    sink: Sink,
    /// Payload paths masked besides the packs' (`payload.iban`).
    mask: Vec<String>,
    warned: AtomicBool,
}

impl DecisionLog {
    /// Lines to standard output.
    pub fn stdout() -> Self {
        Self::with(Sink::Stdout)
    }

    /// Lines to standard error.
    pub fn stderr() -> Self {
        Self::with(Sink::Stderr)
    }

    /// Lines appended to the file at `path` (created when missing).
    pub fn file(path: impl AsRef<Path>) -> std::io::Result<Self> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(Self::with(Sink::File(Mutex::new(file))))
    }

    /// Also masks these payload paths (`payload.account.iban`), whatever the packs say.
    #[must_use]
    pub fn with_mask(mut self, paths: impl IntoIterator<Item = String>) -> Self {
        self.mask.extend(paths);
        self
    }

    fn with(sink: Sink) -> Self {
        Self {
            sink,
            mask: Vec::new(),
            warned: AtomicBool::new(false),
        }
    }

    /// The line of a decision on a recorded action; `redact_paths`: the packs' paths in
    /// force for it; `approver`: who is asked, when it escalated.
    pub(crate) fn decision(
        &self,
        action: &Action,
        decision: &Decision,
        redact_paths: &[String],
        approver: Option<&str>,
        deadline: Option<chrono::DateTime<Utc>>,
    ) {
        let mut paths = redact_paths.to_vec();
        paths.extend(self.mask.iter().cloned());
        let masked = crate::redact::redact_action(action, &paths);
        let packs: Vec<Value> = decision
            .packs
            .iter()
            .map(|p| json!({"name": p.name, "version": p.version}))
            .collect();
        self.write(&json!({
            "ts": now(),
            "event": "decision",
            "action_id": decision.action_id.to_string(),
            "agent_id": action.agent_id,
            "action": action.action,
            "status": decision.status,
            "risk_score": decision.risk_score,
            "rules": decision.rules,
            "packs": packs,
            "scorer": decision.scorer,
            "approver": approver.filter(|_| deadline.is_some()),
            "deadline": deadline.map(|d| d.to_rfc3339_opts(SecondsFormat::Millis, true)),
            "timings": decision.timings,
            "payload": masked.payload,
        }));
    }

    /// The line of an escalation's outcome (approved, declined, expired, no approver).
    pub(crate) fn resolution(&self, record: &ActionRecord, event: &AuditEvent) {
        let waited = (event.at - record.created_at).num_milliseconds().max(0);
        self.write(&json!({
            "ts": now(),
            "event": "resolution",
            "action_id": record.id.to_string(),
            "agent_id": record.action.agent_id,
            "action": record.action.action,
            "status": event.to,
            "decided_by": event.actor,
            "channel": event.channel,
            "waited_ms": waited,
        }));
    }

    fn write(&self, line: &Value) {
        let mut text = line.to_string();
        text.push('\n');
        let written = match &self.sink {
            Sink::Stdout => std::io::stdout().lock().write_all(text.as_bytes()),
            Sink::Stderr => std::io::stderr().lock().write_all(text.as_bytes()),
            Sink::File(file) => file
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .write_all(text.as_bytes()),
        };
        if let Err(e) = written
            && !self.warned.swap(true, Ordering::Relaxed)
        {
            tracing::warn!(error = %e, "cannot write the decision log; lines are dropped");
        }
    }
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}
