//! [`GatewayBuilder`]: configuration of a [`Gateway`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::broadcast;

use super::{DEFAULT_POLL, Gateway, Inner};

/// Default [`GatewayBuilder::analysis_timeout`].
pub const DEFAULT_ANALYSIS_TIMEOUT: Duration = Duration::from_secs(30);
use crate::approver::Approver;
use crate::error::BuildError;
use crate::pack::Pack;
use crate::pipeline::{OnScorerError, Pipeline, Unmatched};
use crate::policy::PolicySet;
use crate::scorer::{OfflineScorer, RiskScorer};
use crate::store::checkpoint::AuditKey;
use crate::store::{MemoryStore, Store};

/// Configures a [`Gateway`].
pub struct GatewayBuilder {
    packs: Option<Vec<Pack>>,
    shadow_packs: Vec<Pack>,
    scorer: Arc<dyn RiskScorer>,
    approver: Option<Arc<dyn Approver>>,
    store: Arc<dyn Store>,
    escalation_timeout: Duration,
    poll_interval: Duration,
    analysis_timeout: Duration,
    unmatched: Unmatched,
    on_scorer_error: OnScorerError,
    audit_key: Option<AuditKey>,
    checkpoint_interval: Duration,
    decision_log: Option<Arc<crate::telemetry::DecisionLog>>,
}

impl GatewayBuilder {
    /// The packs to enforce (replaces any given before). Default: the three seed packs.
    #[must_use]
    pub fn packs(mut self, packs: impl IntoIterator<Item = Pack>) -> Self {
        self.packs = Some(packs.into_iter().collect());
        self
    }

    /// Adds one pack to those given so far.
    #[must_use]
    pub fn pack(mut self, pack: Pack) -> Self {
        self.packs.get_or_insert_with(Vec::new).push(pack);
        self
    }

    /// Shadow packs (replaces any given before): evaluated beside the enforced packs on
    /// every submitted action, never enforced; a shadow decision that differs is recorded
    /// as an audit note and a metric (see [`crate::shadow`]). A shadow pack stands in for
    /// the enforced pack of the same name, or is added. Default: none.
    #[must_use]
    pub fn shadow_packs(mut self, packs: impl IntoIterator<Item = Pack>) -> Self {
        self.shadow_packs = packs.into_iter().collect();
        self
    }

    /// The risk scorer. Default: [`OfflineScorer`].
    #[must_use]
    pub fn scorer(self, scorer: impl RiskScorer) -> Self {
        self.scorer_arc(Arc::new(scorer))
    }

    /// The risk scorer, shared.
    #[must_use]
    pub fn scorer_arc(mut self, scorer: Arc<dyn RiskScorer>) -> Self {
        self.scorer = scorer;
        self
    }

    /// The approver. Default: none; escalations wait for [`Gateway::resolve`].
    #[must_use]
    pub fn approver(self, approver: impl Approver) -> Self {
        self.approver_arc(Arc::new(approver))
    }

    /// The approver, shared.
    #[must_use]
    pub fn approver_arc(mut self, approver: Arc<dyn Approver>) -> Self {
        self.approver = Some(approver);
        self
    }

    /// The store. Default: a new [`MemoryStore`].
    #[must_use]
    pub fn store(self, store: impl Store) -> Self {
        self.store_arc(Arc::new(store))
    }

    /// The store, shared.
    #[must_use]
    pub fn store_arc(mut self, store: Arc<dyn Store>) -> Self {
        self.store = store;
        self
    }

    /// How long an escalated action waits for a human before it expires. Default 180 s.
    #[must_use]
    pub fn escalation_timeout(mut self, timeout: Duration) -> Self {
        self.escalation_timeout = timeout;
        self
    }

    /// How often a waiting `guard` looks at the store when nothing woke it. Default 1 s.
    /// Changes made through this gateway, or announced by the store (PostgreSQL), wake it
    /// at once.
    #[must_use]
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// How long an action may stay `ANALYZING` before recovery treats its decision as
    /// abandoned (its process died) and decides it again. Default 30 s. The scorer gets
    /// three quarters of it: a scorer that has not answered by then fails closed, so a
    /// live process is never second-guessed. Recovery looks for abandoned actions every
    /// tenth of it (at most every 5 s) once [`Gateway::recover`] ran or an action was
    /// submitted.
    #[must_use]
    pub fn analysis_timeout(mut self, timeout: Duration) -> Self {
        self.analysis_timeout = timeout;
        self
    }

    /// Signs the audit chain's checkpoints with this key (kept outside the store; see
    /// [`checkpoint`](crate::store::checkpoint)). Default: unsigned checkpoints.
    #[must_use]
    pub fn audit_key(mut self, key: AuditKey) -> Self {
        self.audit_key = Some(key);
        self
    }

    /// How often a checkpoint of the audit chain is written (by the periodic sweep, on
    /// stores that keep checkpoints); [`Gateway::checkpoint`] writes one at once (at
    /// shutdown). Default 60 s.
    #[must_use]
    pub fn checkpoint_interval(mut self, interval: Duration) -> Self {
        self.checkpoint_interval = interval;
        self
    }

    /// What to do with actions no pack applies to. Default: [`Unmatched::Escalate`].
    #[must_use]
    pub fn unmatched(mut self, unmatched: Unmatched) -> Self {
        self.unmatched = unmatched;
        self
    }

    /// What to do when the scorer fails. Default: [`OnScorerError::Escalate`].
    #[must_use]
    pub fn on_scorer_error(mut self, on_error: OnScorerError) -> Self {
        self.on_scorer_error = on_error;
        self
    }

    /// Writes a JSON line per decision and per escalation's outcome (see
    /// [`DecisionLog`](crate::telemetry::DecisionLog)). Default: none.
    #[must_use]
    pub fn decision_log(self, log: crate::telemetry::DecisionLog) -> Self {
        self.decision_log_arc(Arc::new(log))
    }

    /// [`decision_log`](Self::decision_log), shared.
    #[must_use]
    pub fn decision_log_arc(mut self, log: Arc<crate::telemetry::DecisionLog>) -> Self {
        self.decision_log = Some(log);
        self
    }

    /// Checks the configuration and builds the gateway.
    pub fn build(self) -> Result<Gateway, BuildError> {
        if self.escalation_timeout.is_zero() {
            return Err(BuildError::Setting {
                setting: "escalation_timeout",
                message: "must be longer than zero".to_owned(),
            });
        }
        if self.analysis_timeout < Duration::from_millis(100) {
            return Err(BuildError::Setting {
                setting: "analysis_timeout",
                message: "must be at least 100 ms".to_owned(),
            });
        }
        let packs = match self.packs {
            Some(packs) => packs,
            None => Pack::seed_packs()?,
        };
        let policy = PolicySet::new(packs)?;
        let shadow = if self.shadow_packs.is_empty() {
            None
        } else {
            Some(crate::shadow::Shadow::new(
                policy.packs(),
                &self.shadow_packs,
                self.unmatched,
                self.on_scorer_error,
                Some(Arc::clone(&self.store)),
            )?)
        };
        let metrics = Arc::new(crate::metrics::Metrics::new(
            policy.packs(),
            self.scorer.name(),
        ));
        let (events, _) = broadcast::channel(1024);
        let gateway = Gateway {
            inner: Arc::new(Inner {
                pipeline: Pipeline {
                    policy,
                    scorer: self.scorer,
                    unmatched: self.unmatched,
                    on_scorer_error: self.on_scorer_error,
                    score_timeout: self.analysis_timeout * 3 / 4,
                    metrics,
                    budgets: Some(Arc::clone(&self.store)),
                },
                shadow,
                approver: self.approver,
                store: self.store,
                escalation_timeout: self.escalation_timeout,
                poll_interval: self.poll_interval.max(Duration::from_millis(10)),
                analysis_timeout: self.analysis_timeout,
                events,
                waiters: Mutex::new(HashMap::new()),
                listening: std::sync::OnceLock::new(),
                sweeping: std::sync::OnceLock::new(),
                audit_key: self.audit_key,
                decision_log: self.decision_log,
                checkpoint_interval: self.checkpoint_interval.max(Duration::from_millis(10)),
            }),
        };
        if let Some(approver) = &gateway.inner.approver {
            approver.attach(crate::approver::ApproverLink {
                gateway: Arc::downgrade(&gateway.inner),
            });
        }
        Ok(gateway)
    }
}

impl Gateway {
    /// Starts configuring a gateway.
    pub fn builder() -> GatewayBuilder {
        GatewayBuilder {
            packs: None,
            shadow_packs: Vec::new(),
            scorer: Arc::new(OfflineScorer),
            approver: None,
            store: Arc::new(MemoryStore::new()),
            escalation_timeout: Duration::from_secs(180),
            poll_interval: DEFAULT_POLL,
            analysis_timeout: DEFAULT_ANALYSIS_TIMEOUT,
            unmatched: Unmatched::default(),
            on_scorer_error: OnScorerError::default(),
            audit_key: None,
            checkpoint_interval: Duration::from_secs(60),
            decision_log: None,
        }
    }
}
