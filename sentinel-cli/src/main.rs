//! `sentinel`: check policy packs, evaluate actions, run decision test cases.

mod audit;

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand, ValueEnum};
use sentinel_core::corpus::Case;
use sentinel_core::groq::{GroqScorer, ScorerTally};
use sentinel_core::{Action, Decision, Gateway, OfflineScorer, Pack, PackErrorKind, RiskScorer};
use serde_json::json;

/// Sentinel: a safety gateway for autonomous agents.
#[derive(Parser)]
#[command(name = "sentinel", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Load and check policy packs; print each pack's version and hash.
    Validate {
        /// Pack files (JSON).
        #[arg(required = true)]
        packs: Vec<PathBuf>,
    },
    /// Read actions as JSON lines on stdin; write one decision per line to stdout.
    Eval {
        #[command(flatten)]
        packs: PackArgs,
        /// Print the whole decision (matched rules in detail, packs, timings).
        #[arg(long)]
        full: bool,
        #[command(flatten)]
        scorer: ScorerArgs,
    },
    /// Run decision test cases (JSON lines); exit 1 when any fails.
    Test {
        /// The case file, e.g. fixtures/decisions.jsonl.
        cases: PathBuf,
        #[command(flatten)]
        packs: PackArgs,
        #[command(flatten)]
        scorer: ScorerArgs,
    },
    /// Print the JSON Schema of the policy pack format.
    Schema,
    /// Check the audit log of a store.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Print a built-in pack's JSON, to copy and edit.
    Builtin {
        /// `VaultKeeper`, `PrivacyShield` or `OpsGuard`.
        name: String,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Verify the audit hash chain; exit 1 and name the first bad record when any record
    /// was edited, removed or reordered.
    Verify {
        /// A SQLite file (`sentinel.db`, which must exist), `sqlite://sentinel.db` or
        /// `postgres://user@host/db`.
        #[arg(value_name = "DATABASE")]
        database: String,
        /// PostgreSQL schema holding Sentinel's tables (default: the search path).
        #[arg(long)]
        schema: Option<String>,
    },
}

/// Which packs to enforce. Default: the three seed packs.
#[derive(Args)]
struct PackArgs {
    /// A pack file; repeatable.
    #[arg(long = "pack", value_name = "PATH")]
    files: Vec<PathBuf>,
    /// A built-in pack by name; repeatable.
    #[arg(long = "builtin", value_name = "NAME")]
    builtins: Vec<String>,
}

/// Which risk scorer to use.
#[derive(Args)]
struct ScorerArgs {
    /// `offline` (the packs' base risk, no network) or `groq` (an OpenAI-compatible chat API,
    /// configured by `GROQ_API_KEY`, `GROQ_BASE_URL` and `GROQ_MODEL`).
    #[arg(long, value_enum, default_value_t = ScorerKind::Offline)]
    scorer: ScorerKind,
}

#[derive(Clone, Copy, ValueEnum)]
enum ScorerKind {
    Offline,
    Groq,
}

/// The scorer in use, kept to report its counters at the end.
enum Scorer {
    Offline,
    Groq(Arc<GroqScorer>),
}

impl ScorerArgs {
    /// Builds the scorer and says on stderr which one is active (never the key).
    fn build(&self) -> Result<Scorer, String> {
        match self.scorer {
            ScorerKind::Offline => {
                eprintln!("scorer: offline (pack base risk, no network)");
                Ok(Scorer::Offline)
            }
            ScorerKind::Groq => {
                let groq = GroqScorer::from_env()
                    .map_err(|e| format!("cannot use the groq scorer: {e}"))?;
                eprintln!(
                    "scorer: groq (model `{}` at `{}`)",
                    groq.model(),
                    groq.base_url()
                );
                Ok(Scorer::Groq(Arc::new(groq)))
            }
        }
    }
}

impl Scorer {
    fn arc(&self) -> Arc<dyn RiskScorer> {
        match self {
            Self::Offline => Arc::new(OfflineScorer),
            Self::Groq(groq) => groq.clone(),
        }
    }

    /// Prints LLM calls made and avoided to stderr.
    fn report(&self, tally: &ScorerTally) {
        let avoided = format!(
            "{} avoided (rules decided {} of {} decisions)",
            tally.skipped,
            tally.skipped,
            tally.decisions()
        );
        match self {
            Self::Offline => eprintln!("llm calls: 0 made (offline scorer), {avoided}"),
            Self::Groq(groq) => {
                let s = groq.stats();
                eprintln!(
                    "llm calls: {} made ({} retries, {} failed assessments), {} cache hits, {avoided}",
                    s.calls, s.retries, s.failures, s.cache_hits
                );
            }
        }
    }
}

impl PackArgs {
    fn gateway(&self, scorer: &Scorer) -> Result<Gateway, String> {
        let mut builder = Gateway::builder().scorer_arc(scorer.arc());
        if !self.files.is_empty() || !self.builtins.is_empty() {
            let mut packs = Vec::new();
            for name in &self.builtins {
                packs.push(builtin(name)?);
            }
            for path in &self.files {
                packs.push(Pack::from_file(path).map_err(|e| e.to_string())?);
            }
            builder = builder.packs(packs);
        }
        builder.build().map_err(|e| e.to_string())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(&format!("cannot start the runtime: {e}")),
    };
    let result = match cli.command {
        Command::Validate { packs } => validate(&packs),
        Command::Eval {
            packs,
            full,
            scorer,
        } => runtime.block_on(eval(&packs, full, &scorer)),
        Command::Test {
            cases,
            packs,
            scorer,
        } => runtime.block_on(test(&cases, &packs, &scorer)),
        Command::Schema => print_json(&sentinel_core::pack_schema()),
        Command::Audit {
            command: AuditCommand::Verify { database, schema },
        } => runtime.block_on(audit::verify(&database, schema.as_deref())),
        Command::Builtin { name } => builtin_source(&name).and_then(|text| print_text(&text)),
    };
    match result {
        Ok(code) => code,
        Err(message) => fail(&message),
    }
}

/// A built-in pack by name; an unknown name is not a problem inside a pack, so the message
/// is only the lookup's.
fn builtin(name: &str) -> Result<Pack, String> {
    Pack::builtin(name).map_err(|e| match e.kind {
        PackErrorKind::UnknownBuiltin(_) => e.kind.to_string(),
        _ => e.to_string(),
    })
}

/// A built-in pack's JSON text, to copy. Its `"$schema"` member is dropped: it is a path
/// relative to the pack's place in this repository, wrong anywhere else (`sentinel schema`
/// prints the schema itself).
fn builtin_source(name: &str) -> Result<String, String> {
    let Some(text) = Pack::builtin_source(name) else {
        return Err(match builtin(name) {
            Err(e) => e,
            Ok(_) => format!("no built-in pack named `{name}`"),
        });
    };
    let original: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let mut expected = original.clone();
    if let Some(members) = expected.as_object_mut() {
        members.remove("$schema");
    }
    if expected == original {
        return Ok(text.to_owned());
    }
    // Drop the line that holds the member, keeping the pack's own layout and key order.
    let kept: String = text
        .lines()
        .filter(|line| !line.trim_start().starts_with("\"$schema\""))
        .map(|line| format!("{line}\n"))
        .collect();
    match serde_json::from_str::<serde_json::Value>(&kept) {
        Ok(value) if value == expected => Ok(kept),
        _ => serde_json::to_string_pretty(&expected).map_err(|e| e.to_string()),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::FAILURE
}

fn print_json(value: &serde_json::Value) -> Result<ExitCode, String> {
    let text = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
    print_text(&text)
}

fn print_text(text: &str) -> Result<ExitCode, String> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", text.trim_end()).map_err(|e| e.to_string())?;
    Ok(ExitCode::SUCCESS)
}

fn validate(paths: &[PathBuf]) -> Result<ExitCode, String> {
    let mut failed = false;
    for path in paths {
        match Pack::from_file(path) {
            Ok(p) => println!(
                "ok: {} {}@{} ({} rules, sha256 {})",
                path.display(),
                p.name(),
                p.version(),
                p.document().rules.len(),
                p.content_hash()
            ),
            Err(e) => {
                failed = true;
                eprintln!("error: {e}");
            }
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

async fn eval(packs: &PackArgs, full: bool, scorer: &ScorerArgs) -> Result<ExitCode, String> {
    let scorer = scorer.build()?;
    let gateway = packs.gateway(&scorer)?;
    let mut tally = ScorerTally::default();
    let stdin = std::io::stdin().lock();
    let mut out = std::io::stdout().lock();
    let mut failed = false;
    for (i, line) in stdin.lines().enumerate() {
        let line = line.map_err(|e| format!("cannot read stdin: {e}"))?;
        if line.trim().is_empty() {
            continue;
        }
        let row = match Action::from_json_str(&line) {
            Ok(action) => {
                let d = gateway.evaluate(&action).await;
                tally.record(&d);
                if full {
                    serde_json::to_value(&d).map_err(|e| e.to_string())?
                } else {
                    json!({"action_id": d.action_id, "status": d.status, "risk_score": d.risk_score,
                           "analysis": d.analysis, "rules": d.rules})
                }
            }
            Err(e) => {
                failed = true;
                eprintln!("error: line {}: {e}", i + 1);
                json!({"error": {"line": i + 1, "message": e.to_string()}})
            }
        };
        writeln!(out, "{row}").map_err(|e| e.to_string())?;
    }
    scorer.report(&tally);
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

async fn test(path: &PathBuf, packs: &PackArgs, scorer: &ScorerArgs) -> Result<ExitCode, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    let cases = Case::parse_all(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let scorer = scorer.build()?;
    let gateway = packs.gateway(&scorer)?;
    let mut tally = ScorerTally::default();
    let (mut passed, mut failed) = (0, 0);
    for case in &cases {
        let problems = run_case(case, &gateway, &mut tally).await;
        if problems.is_empty() {
            passed += 1;
            println!("ok   {}", case.name);
        } else {
            failed += 1;
            println!("FAIL {}", case.name);
            for p in problems {
                println!("       {p}");
            }
        }
    }
    println!("summary: {passed} passed, {failed} failed");
    scorer.report(&tally);
    Ok(if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Like `Case::run`, also counting how the decision used the scorer.
async fn run_case(case: &Case, gateway: &Gateway, tally: &mut ScorerTally) -> Vec<String> {
    match Action::from_json(case.action.clone()) {
        Err(e) => case.check_error(&e.to_string()),
        Ok(action) => {
            let d: Decision = gateway.evaluate(&action).await;
            tally.record(&d);
            case.check(&d)
        }
    }
}
