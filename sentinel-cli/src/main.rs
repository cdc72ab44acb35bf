//! `sentinel`: check policy packs, evaluate actions, run decision test cases.

mod audit;
mod config;
mod lint;
mod mcp;
mod replay;
mod setup;

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use sentinel_core::corpus::Case;
use sentinel_core::coverage::Coverage;
use sentinel_core::groq::ScorerTally;
use sentinel_core::{Action, Decision, Gateway, Pack, PackErrorKind};
use serde_json::json;
use setup::{GatewayArgs, Setup};

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
    /// Analyse policy packs: rules that never match, rules another makes moot, `set_risk`
    /// conflicts between packs, dead regexes, operands that contradict `payload_schema`,
    /// uncovered actions, effects the thresholds make moot. Exit 1 when any is an error.
    Lint(lint::LintArgs),
    /// Read actions as JSON lines on stdin; write one decision per line to stdout.
    Eval {
        #[command(flatten)]
        gateway: GatewayArgs,
        /// Print the whole decision (matched rules in detail, packs, timings).
        #[arg(long)]
        full: bool,
    },
    /// Run decision test cases (JSON lines); exit 1 when any fails.
    Test {
        /// The case file, e.g. fixtures/decisions.jsonl.
        cases: PathBuf,
        #[command(flatten)]
        gateway: GatewayArgs,
        /// List, per pack, the rules the cases exercised and those they never did.
        #[arg(long)]
        coverage: bool,
        /// Fail (exit 1) when fewer than N percent of the packs' rules were exercised;
        /// implies `--coverage`.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=100))]
        min_coverage: Option<u8>,
    },
    /// Re-decide stored actions under a new configuration and show which decisions change
    /// (action, agent, status and risk before and after, the rules that differ).
    Replay(Box<replay::ReplayArgs>),
    /// Check, describe or start a configuration file.
    Config {
        #[command(subcommand)]
        command: config::ConfigCommand,
    },
    /// Print the JSON Schema of the policy pack format.
    Schema,
    /// Check the audit log of a store.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Stand in front of an MCP server (stdio): every `tools/call` is decided first;
    /// allowed calls are forwarded, declined ones answered with an error result, escalated
    /// ones wait for a human. Everything else passes through unchanged.
    McpProxy(mcp::McpProxyArgs),
    /// Print a built-in pack's JSON, to copy and edit.
    Builtin {
        /// `VaultKeeper`, `PrivacyShield` or `OpsGuard`.
        name: String,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Verify the audit log: the hash chain, its head, its checkpoints (and their
    /// signatures, with the audit key) and every action's record against its trail; exit 1
    /// and say what is wrong where.
    Verify {
        /// A SQLite file (`sentinel.db`, which must exist), `sqlite://sentinel.db` or
        /// `postgres://user@host/db`. Or give `--config`.
        #[arg(value_name = "DATABASE", required_unless_present = "config")]
        database: Option<String>,
        /// Take the store from a configuration file's `[store]` instead (and its audit key
        /// setting, unless `--key-env`/`--key-file` is given).
        #[arg(long, value_name = "FILE", conflicts_with = "database")]
        config: Option<PathBuf>,
        /// PostgreSQL schema holding Sentinel's tables (default: the search path).
        #[arg(long)]
        schema: Option<String>,
        /// The environment variable holding the key that signed the checkpoints (default:
        /// `SENTINEL_AUDIT_KEY` when it is set). With a key, every checkpoint must be signed.
        #[arg(long, value_name = "VAR")]
        key_env: Option<String>,
        /// A file holding that key.
        #[arg(long, value_name = "PATH", conflicts_with = "key_env")]
        key_file: Option<PathBuf>,
    },
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
        Command::Lint(args) => lint::run(&args),
        Command::Eval { gateway, full } => runtime.block_on(eval(&gateway, full)),
        Command::Test {
            cases,
            gateway,
            coverage,
            min_coverage,
        } => runtime.block_on(test(
            &cases,
            &gateway,
            (coverage || min_coverage.is_some()).then_some(min_coverage),
        )),
        Command::Replay(args) => runtime.block_on(replay::run(*args)),
        Command::Config { command } => runtime.block_on(config::run(command)),
        Command::Schema => print_json(&sentinel_core::pack_schema()),
        Command::Audit {
            command:
                AuditCommand::Verify {
                    database,
                    config,
                    schema,
                    key_env,
                    key_file,
                },
        } => runtime.block_on(audit::verify(audit::Target {
            database,
            config,
            schema,
            key_env,
            key_file,
        })),
        Command::McpProxy(args) => runtime.block_on(mcp::run(args)),
        Command::Builtin { name } => builtin_source(&name).and_then(|text| print_text(&text)),
    };
    // The run's spans reach the collector (`[telemetry] otlp_endpoint`) before exit.
    sentinel_core::telemetry::shutdown();
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

async fn eval(args: &GatewayArgs, full: bool) -> Result<ExitCode, String> {
    let setup = args.build().await?;
    let gateway = &setup.gateway;
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
    setup.report(&tally);
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Runs the cases; `coverage` is `Some(minimum percent)` when coverage is asked for.
async fn test(
    path: &PathBuf,
    args: &GatewayArgs,
    coverage: Option<Option<u8>>,
) -> Result<ExitCode, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    let cases = Case::parse_all(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let setup: Setup = args.build().await?;
    let gateway = &setup.gateway;
    let mut tally = ScorerTally::default();
    let mut rules = Coverage::new(gateway.packs());
    let (mut passed, mut failed) = (0, 0);
    for case in &cases {
        let problems = run_case(case, gateway, &mut tally, &mut rules).await;
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
    setup.report(&tally);
    let mut below = false;
    if let Some(minimum) = coverage {
        print_coverage(&rules);
        if let Some(min) = minimum
            && rules.percent() < f64::from(min)
        {
            below = true;
            eprintln!(
                "error: rule coverage {:.1}% is below --min-coverage {min}",
                rules.percent()
            );
        }
    }
    Ok(if failed > 0 || below {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Like `Case::run`, also counting how the decision used the scorer and which rules it
/// cites.
async fn run_case(
    case: &Case,
    gateway: &Gateway,
    tally: &mut ScorerTally,
    coverage: &mut Coverage,
) -> Vec<String> {
    if let Err(e) = case.submit_history(gateway).await {
        return vec![e];
    }
    match Action::from_json(case.action.clone()) {
        Err(e) => case.check_error(&e.to_string()),
        Ok(action) => {
            let d: Decision = gateway.evaluate(&action).await;
            tally.record(&d);
            coverage.record(&d);
            case.check(&d)
        }
    }
}

/// Per pack: covered rules, then each rule with its hits, or `never` when none.
fn print_coverage(coverage: &Coverage) {
    println!(
        "coverage: {} of {} rules ({:.1}%)",
        coverage.covered(),
        coverage.total(),
        coverage.percent()
    );
    for pack in coverage.packs() {
        println!(
            "  {}@{}: {} of {} rules ({:.1}%)",
            pack.name,
            pack.version,
            pack.covered(),
            pack.rules.len(),
            pack.percent()
        );
        for rule in &pack.rules {
            match rule.hits {
                0 => println!("    never  {}", rule.id),
                n => println!("    {n:>5}  {}", rule.id),
            }
        }
    }
}
