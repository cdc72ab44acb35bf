//! [`Metrics`]: what a gateway counts, recorded once in the core (the pipeline and the
//! gateway's transitions), read by every host: `GET /metrics` on `sentinel-server` (the
//! Prometheus text format), `gateway.metrics()` in Python and Node (a [`MetricsSnapshot`]).
//!
//! | metric | type | labels | what |
//! | --- | --- | --- | --- |
//! | `sentinel_decisions_total` | counter | `status` | decisions made (evaluate, submit, recovery) |
//! | `sentinel_pack_decisions_total` | counter | `pack`, `version`, `status` | decisions per applying pack |
//! | `sentinel_decision_duration_seconds` | histogram | | time to decide (rules and scorer) |
//! | `sentinel_scorer_calls_total` | counter | `scorer`, `result` (`assessed`, `failed`) | risk scorer (LLM) calls made |
//! | `sentinel_scorer_calls_avoided_total` | counter | `reason` (`deny`, `allow`, `set_risk`, `unmatched`) | calls the rules made unnecessary |
//! | `sentinel_scorer_duration_seconds` | histogram | `scorer` | risk scorer latency, failures included |
//! | `sentinel_approvals_pending` | gauge | | actions this process is waiting on a human for |
//! | `sentinel_human_decision_seconds` | histogram | `channel`, `decision` | submission to a human's decision |
//! | `sentinel_approvals_expired_total` | counter | | escalations nobody decided in time |
//! | `sentinel_approver_failures_total` | counter | `approver` | escalations no human could be asked about |
//! | `sentinel_webhook_verifications_refused_total` | counter | `provider`, `reason` | webhooks refused (signature, timestamp...) |
//! | `sentinel_http_requests_total` | counter | `route`, `method`, `code` | a server's requests |
//! | `sentinel_http_request_duration_seconds` | histogram | `route`, `method` | a server's request latency |
//! | `sentinel_shadow_disagreements_total` | counter | `status` (the shadow decision's) | submitted actions the [shadow packs](crate::shadow) decide otherwise |
//!
//! Families with free-text labels (channels, routes, reasons) keep at most
//! [`MAX_LABEL_VALUES`] label sets; a new value past that is counted as `other`. No label
//! ever holds a payload, a reasoning or a secret. The pending gauge counts the actions
//! this process escalated or found pending at recovery and has not seen decided (an
//! action decided by another instance leaves it when its expiry timer fires here).

mod histogram;
mod snapshot;
mod text;

use std::collections::BTreeMap;
use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub use histogram::HistogramValue;
pub use snapshot::{Family, MetricKind, MetricsSnapshot, Sample, SampleValue};
pub use text::PROMETHEUS_CONTENT_TYPE;

use histogram::{DECISION_BUCKETS, HTTP_BUCKETS, HUMAN_BUCKETS, Histogram, SCORER_BUCKETS};

use crate::action::ActionId;
use crate::decision::ScorerUse;
use crate::pack::Pack;
use crate::state::State;

/// Most distinct values a free-text label takes per family; then `other`.
pub const MAX_LABEL_VALUES: usize = 64;

/// The statuses a decision can have, in the order of the counters.
const DECIDED: [State; 3] = [State::Executed, State::Declined, State::BlockedAwaitingAuth];
/// Why the scorer was not called, in the order of the counters.
const AVOIDED: [&str; 4] = ["deny", "allow", "set_risk", "unmatched"];

/// A gateway's metrics. Shared by its clones; [`Gateway::metrics`](crate::Gateway::metrics).
#[derive(Debug)]
pub struct Metrics {
    scorer: String,
    packs: Vec<(String, String)>,
    decisions: [AtomicU64; 3],
    pack_decisions: Box<[[AtomicU64; 3]]>,
    decision_seconds: Histogram,
    scorer_assessed: AtomicU64,
    scorer_failed: AtomicU64,
    scorer_avoided: [AtomicU64; 4],
    scorer_seconds: Histogram,
    pending: Mutex<HashSet<ActionId>>,
    expired: AtomicU64,
    approver_failures: Mutex<BTreeMap<String, u64>>,
    human: Mutex<BTreeMap<(String, &'static str), Histogram>>,
    webhook_refused: Mutex<BTreeMap<(String, String), u64>>,
    http_requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    http_seconds: Mutex<BTreeMap<(String, String), Histogram>>,
    shadow_disagreements: [AtomicU64; 3],
}

impl Metrics {
    /// Metrics for a gateway enforcing `packs` with the scorer named `scorer`.
    pub(crate) fn new(packs: &[Pack], scorer: &str) -> Self {
        Self {
            scorer: scorer.to_owned(),
            packs: packs
                .iter()
                .map(|p| (p.name().to_owned(), p.version().to_string()))
                .collect(),
            decisions: Default::default(),
            pack_decisions: packs.iter().map(|_| Default::default()).collect(),
            decision_seconds: Histogram::new(DECISION_BUCKETS),
            scorer_assessed: AtomicU64::new(0),
            scorer_failed: AtomicU64::new(0),
            scorer_avoided: Default::default(),
            scorer_seconds: Histogram::new(SCORER_BUCKETS),
            pending: Mutex::default(),
            expired: AtomicU64::new(0),
            approver_failures: Mutex::default(),
            human: Mutex::default(),
            webhook_refused: Mutex::default(),
            http_requests: Mutex::default(),
            http_seconds: Mutex::default(),
            shadow_disagreements: Default::default(),
        }
    }

    /// Counts a submitted action the shadow packs decide otherwise (`status`: theirs).
    pub(crate) fn record_shadow_disagreement(&self, status: State) {
        if let Some(s) = DECIDED.iter().position(|&d| d == status) {
            self.shadow_disagreements[s].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts a decision: its status, the packs that applied (indices into the gateway's
    /// packs), whether the scorer was called and how long it all took.
    pub(crate) fn record_decision(
        &self,
        status: State,
        packs: &[usize],
        scorer: &ScorerUse,
        scorer_time: Duration,
        total: Duration,
    ) {
        if let Some(s) = DECIDED.iter().position(|&d| d == status) {
            self.decisions[s].fetch_add(1, Ordering::Relaxed);
            for &p in packs {
                if let Some(row) = self.pack_decisions.get(p) {
                    row[s].fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        match scorer {
            ScorerUse::Skipped { reason } => {
                if let Some(i) = AVOIDED.iter().position(|r| r == reason) {
                    self.scorer_avoided[i].fetch_add(1, Ordering::Relaxed);
                }
            }
            ScorerUse::Assessed { .. } => {
                self.scorer_assessed.fetch_add(1, Ordering::Relaxed);
                self.scorer_seconds.observe(scorer_time);
            }
            ScorerUse::Failed { .. } => {
                self.scorer_failed.fetch_add(1, Ordering::Relaxed);
                self.scorer_seconds.observe(scorer_time);
            }
        }
        self.decision_seconds.observe(total);
    }

    /// Follows one recorded transition of action `id`: the pending gauge, expiries,
    /// approver failures and the time a human took (`since_created`: from the submission
    /// to now).
    pub(crate) fn record_transition(
        &self,
        id: ActionId,
        from: Option<State>,
        to: State,
        channel: &str,
        since_created: Duration,
    ) {
        let was = from.is_some_and(State::is_pending);
        if to.is_pending() {
            lock(&self.pending).insert(id);
        } else if was {
            lock(&self.pending).remove(&id);
        }
        if !was {
            return;
        }
        match to {
            State::Approved | State::Declined => {
                let decision = if to == State::Approved {
                    "approved"
                } else {
                    "declined"
                };
                let mut human = lock(&self.human);
                let channel = bounded(&human, |(c, _)| c == channel, channel);
                human
                    .entry((channel, decision))
                    .or_insert_with(|| Histogram::new(HUMAN_BUCKETS))
                    .observe(since_created);
            }
            State::Expired => {
                self.expired.fetch_add(1, Ordering::Relaxed);
            }
            State::ErrorApprover => bump(&self.approver_failures, channel),
            _ => {}
        }
    }

    /// Counts an action found pending when this process started (recovery) in the gauge,
    /// until it is decided. Counting one twice changes nothing.
    pub(crate) fn record_pending(&self, id: ActionId) {
        lock(&self.pending).insert(id);
    }

    /// Drops an action decided elsewhere from the pending gauge.
    pub(crate) fn record_settled(&self, id: ActionId) {
        lock(&self.pending).remove(&id);
    }

    /// Counts a webhook refused before it was handled: `provider` (`telnyx`) and a short
    /// `reason` (`bad_signature`, `stale`, `missing_header`...).
    pub fn record_webhook_refused(&self, provider: &str, reason: &str) {
        let mut refused = lock(&self.webhook_refused);
        let reason = bounded(&refused, |(_, r)| r == reason, reason);
        *refused.entry((provider.to_owned(), reason)).or_insert(0) += 1;
    }

    /// Counts one HTTP request a host served: `route` is the route's pattern
    /// (`/api/sentinel/actions/{id}`), never the raw path.
    pub fn record_http_request(&self, route: &str, method: &str, code: u16, elapsed: Duration) {
        let method = match method {
            "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS" => method,
            _ => "other",
        };
        {
            let mut requests = lock(&self.http_requests);
            let route = bounded(&requests, |(r, _, _)| r == route, route);
            *requests
                .entry((route, method.to_owned(), code))
                .or_insert(0) += 1;
        }
        let mut seconds = lock(&self.http_seconds);
        let route = bounded(&seconds, |(r, _)| r == route, route);
        seconds
            .entry((route, method.to_owned()))
            .or_insert_with(|| Histogram::new(HTTP_BUCKETS))
            .observe(elapsed);
    }

    /// Every metric as it stands now.
    pub fn snapshot(&self) -> MetricsSnapshot {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed) as f64;
        let mut families = Vec::with_capacity(14);
        families.push(counter(
            "sentinel_decisions_total",
            "Decisions made, by status (evaluate, submit and recovery).",
            DECIDED
                .iter()
                .zip(&self.decisions)
                .map(|(s, n)| sample(vec![("status", s.as_str().to_owned())], load(n)))
                .collect(),
        ));
        let mut per_pack = Vec::new();
        for ((name, version), row) in self.packs.iter().zip(self.pack_decisions.iter()) {
            for (s, n) in DECIDED.iter().zip(row) {
                per_pack.push(sample(
                    vec![
                        ("pack", name.clone()),
                        ("version", version.clone()),
                        ("status", s.as_str().to_owned()),
                    ],
                    load(n),
                ));
            }
        }
        families.push(counter(
            "sentinel_pack_decisions_total",
            "Decisions per pack that applied to the action, by status.",
            per_pack,
        ));
        families.push(histogram(
            "sentinel_decision_duration_seconds",
            "Time to decide about an action (rules, and the risk scorer when called).",
            vec![(vec![], self.decision_seconds.read())],
        ));
        families.push(counter(
            "sentinel_scorer_calls_total",
            "Risk scorer (LLM) calls made, by result.",
            vec![
                sample(
                    vec![
                        ("scorer", self.scorer.clone()),
                        ("result", "assessed".to_owned()),
                    ],
                    load(&self.scorer_assessed),
                ),
                sample(
                    vec![
                        ("scorer", self.scorer.clone()),
                        ("result", "failed".to_owned()),
                    ],
                    load(&self.scorer_failed),
                ),
            ],
        ));
        families.push(counter(
            "sentinel_scorer_calls_avoided_total",
            "Risk scorer calls avoided because the rules decided, by reason.",
            AVOIDED
                .iter()
                .zip(&self.scorer_avoided)
                .map(|(r, n)| sample(vec![("reason", (*r).to_owned())], load(n)))
                .collect(),
        ));
        families.push(histogram(
            "sentinel_scorer_duration_seconds",
            "Risk scorer (LLM) call latency, failed calls included.",
            vec![(
                vec![("scorer", self.scorer.clone())],
                self.scorer_seconds.read(),
            )],
        ));
        families.push(Family {
            name: "sentinel_approvals_pending",
            help: "Actions this process is waiting on a human decision for.",
            kind: MetricKind::Gauge,
            samples: vec![sample(vec![], lock(&self.pending).len() as f64)],
        });
        families.push(histogram(
            "sentinel_human_decision_seconds",
            "Time from submission to a human's decision, by channel and decision.",
            lock(&self.human)
                .iter()
                .map(|((channel, decision), h)| {
                    (
                        vec![
                            ("channel", channel.clone()),
                            ("decision", (*decision).to_owned()),
                        ],
                        h.read(),
                    )
                })
                .collect(),
        ));
        families.push(counter(
            "sentinel_approvals_expired_total",
            "Escalated actions nobody decided before their deadline.",
            vec![sample(vec![], load(&self.expired))],
        ));
        families.push(counter(
            "sentinel_approver_failures_total",
            "Escalated actions no human could be asked about (ERROR_APPROVER), by approver.",
            lock(&self.approver_failures)
                .iter()
                .map(|(a, n)| sample(vec![("approver", a.clone())], *n as f64))
                .collect(),
        ));
        families.push(counter(
            "sentinel_webhook_verifications_refused_total",
            "Webhooks refused before handling, by provider and reason.",
            lock(&self.webhook_refused)
                .iter()
                .map(|((p, r), n)| {
                    sample(
                        vec![("provider", p.clone()), ("reason", r.clone())],
                        *n as f64,
                    )
                })
                .collect(),
        ));
        families.push(counter(
            "sentinel_http_requests_total",
            "HTTP requests served, by route pattern, method and status code.",
            lock(&self.http_requests)
                .iter()
                .map(|((route, method, code), n)| {
                    sample(
                        vec![
                            ("route", route.clone()),
                            ("method", method.clone()),
                            ("code", code.to_string()),
                        ],
                        *n as f64,
                    )
                })
                .collect(),
        ));
        families.push(histogram(
            "sentinel_http_request_duration_seconds",
            "HTTP request latency, by route pattern and method.",
            lock(&self.http_seconds)
                .iter()
                .map(|((route, method), h)| {
                    (
                        vec![("route", route.clone()), ("method", method.clone())],
                        h.read(),
                    )
                })
                .collect(),
        ));
        families.push(counter(
            "sentinel_shadow_disagreements_total",
            "Submitted actions the shadow packs decide otherwise, by the shadow decision's status.",
            DECIDED
                .iter()
                .zip(&self.shadow_disagreements)
                .map(|(s, n)| sample(vec![("status", s.as_str().to_owned())], load(n)))
                .collect(),
        ));
        MetricsSnapshot { families }
    }

    /// [`snapshot`](Self::snapshot) in the Prometheus text format
    /// ([`PROMETHEUS_CONTENT_TYPE`]).
    pub fn to_prometheus(&self) -> String {
        self.snapshot().to_prometheus()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn bump(m: &Mutex<BTreeMap<String, u64>>, key: &str) {
    let mut map = lock(m);
    let key = bounded(&map, |k| k == key, key);
    *map.entry(key).or_insert(0) += 1;
}

/// `value`, or `other` once the family holds [`MAX_LABEL_VALUES`] keys and none has it.
fn bounded<K: Ord, V>(map: &BTreeMap<K, V>, has: impl Fn(&K) -> bool, value: &str) -> String {
    if map.len() < MAX_LABEL_VALUES || map.keys().any(has) {
        value.to_owned()
    } else {
        "other".to_owned()
    }
}

fn sample(labels: Vec<(&'static str, String)>, value: f64) -> Sample {
    Sample {
        labels,
        value: SampleValue::Number(value),
    }
}

fn counter(name: &'static str, help: &'static str, samples: Vec<Sample>) -> Family {
    Family {
        name,
        help,
        kind: MetricKind::Counter,
        samples,
    }
}

fn histogram(
    name: &'static str,
    help: &'static str,
    samples: Vec<(Vec<(&'static str, String)>, HistogramValue)>,
) -> Family {
    Family {
        name,
        help,
        kind: MetricKind::Histogram,
        samples: samples
            .into_iter()
            .map(|(labels, h)| Sample {
                labels,
                value: SampleValue::Histogram(h),
            })
            .collect(),
    }
}
