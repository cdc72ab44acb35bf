//! How `eval` and `test` build their gateway: the configuration file (`--config`), if any,
//! with the command-line flags on top, through the core's `GatewaySpec` like every host.

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, ValueEnum};
use sentinel_core::groq::{GroqScorer, ScorerTally};
use sentinel_core::spec::{ApproverSpec, Env, GatewaySpec, PackSource, ScorerKind, StoreSpec};
use sentinel_core::{Gateway, Pack, RiskScorer};

/// Where the gateway's settings come from.
#[derive(Args)]
pub(crate) struct GatewayArgs {
    /// A configuration file (TOML or JSON; `sentinel config example` prints one). Its
    /// packs, scorer and `[gateway]` settings apply; `eval` and `test` record nothing, so
    /// its store and approver are not used.
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// A pack file; repeatable. With `--builtin`, replaces the configuration's packs.
    #[arg(long = "pack", value_name = "PATH")]
    files: Vec<PathBuf>,
    /// A built-in pack by name; repeatable.
    #[arg(long = "builtin", value_name = "NAME")]
    builtins: Vec<String>,
    /// `offline` (the packs' base risk, no network) or `groq` (an OpenAI-compatible chat
    /// API: `[scorer.groq]` in the configuration, else `GROQ_API_KEY`, `GROQ_BASE_URL`,
    /// `GROQ_MODEL`). Default: the configuration's scorer, else offline.
    #[arg(long, value_enum)]
    pub(crate) scorer: Option<ScorerFlag>,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum ScorerFlag {
    Offline,
    Groq,
}

/// The gateway built, and the Groq scorer when it is the scorer (for its counters).
pub(crate) struct Setup {
    pub(crate) gateway: Gateway,
    groq: Option<Arc<GroqScorer>>,
}

impl GatewayArgs {
    /// The spec: the file (or the defaults), then the flags.
    fn spec(&self) -> Result<GatewaySpec, String> {
        let mut spec = match &self.config {
            Some(path) => GatewaySpec::from_file(path).map_err(|e| e.to_string())?,
            None => GatewaySpec::default(),
        };
        if !self.files.is_empty() || !self.builtins.is_empty() {
            for name in &self.builtins {
                // A name that is no built-in would otherwise be taken for a path.
                if Pack::builtin_source(name).is_none() {
                    return Err(Pack::builtin(name)
                        .err()
                        .map(|e| e.kind.to_string())
                        .unwrap_or_default());
                }
            }
            let cwd = std::env::current_dir().map_err(|e| e.to_string())?;
            let sources = self
                .builtins
                .iter()
                .map(|n| PackSource::Builtin(n.clone()))
                .chain(self.files.iter().map(|f| PackSource::Path(cwd.join(f))))
                .collect();
            spec.packs = Some(sources);
        }
        match self.scorer {
            Some(ScorerFlag::Offline) => spec.scorer.kind = ScorerKind::Offline,
            Some(ScorerFlag::Groq) => spec.scorer.kind = ScorerKind::Groq,
            None => {}
        }
        // Deciding records nothing and asks nobody.
        spec.store = StoreSpec::default();
        spec.approver = ApproverSpec::default();
        Ok(spec)
    }

    /// Builds the gateway and says on stderr which scorer is active (never the key).
    pub(crate) async fn build(&self) -> Result<Setup, String> {
        self.build_with(None, None).await
    }

    /// Like [`build`](Self::build), with `scorer` (named `what` on stderr) in place of the
    /// configured one when given.
    /// `packs`, when given, replace the configured packs.
    pub(crate) async fn build_with(
        &self,
        scorer: Option<(Arc<dyn RiskScorer>, &str)>,
        packs: Option<Vec<Pack>>,
    ) -> Result<Setup, String> {
        let spec = self.spec()?;
        let mut components = spec
            .components(&Env::process())
            .map_err(|e| e.to_string())?;
        if let Some(packs) = packs {
            components.packs = packs;
        }
        // Deciding records nothing: no shadow to compare with.
        components.shadow_packs.clear();
        if let Some((scorer, what)) = scorer {
            components.scorer = Some(scorer);
            components.groq = None;
            eprintln!("scorer: {what}");
        }
        let groq = components.groq.clone();
        match &groq {
            Some(g) => eprintln!("scorer: groq (model `{}` at `{}`)", g.model(), g.base_url()),
            None if components.scorer.is_some() => {}
            None => eprintln!("scorer: offline (pack base risk, no network)"),
        }
        let gateway = components.build().await.map_err(|e| e.to_string())?;
        Ok(Setup { gateway, groq })
    }
}

impl Setup {
    /// Prints LLM calls made and avoided to stderr.
    pub(crate) fn report(&self, tally: &ScorerTally) {
        let avoided = format!(
            "{} avoided (rules decided {} of {} decisions)",
            tally.skipped,
            tally.skipped,
            tally.decisions()
        );
        match &self.groq {
            None => eprintln!("llm calls: 0 made (offline scorer), {avoided}"),
            Some(groq) => {
                let s = groq.stats();
                eprintln!(
                    "llm calls: {} made ({} retries, {} failed assessments), {} cache hits, {avoided}",
                    s.calls, s.retries, s.failures, s.cache_hits
                );
            }
        }
    }
}
