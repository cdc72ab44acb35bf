//! `sentinel`: check policy packs, evaluate actions, run decision test cases.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use sentinel_core::corpus::Case;
use sentinel_core::{Action, Gateway, Pack, PackError};
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
    },
    /// Run decision test cases (JSON lines); exit 1 when any fails.
    Test {
        /// The case file, e.g. fixtures/decisions.jsonl.
        cases: PathBuf,
        #[command(flatten)]
        packs: PackArgs,
    },
    /// Print the JSON Schema of the policy pack format.
    Schema,
    /// Print a built-in pack's JSON, to copy and edit.
    Builtin {
        /// `VaultKeeper`, `PrivacyShield` or `OpsGuard`.
        name: String,
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

impl PackArgs {
    fn gateway(&self) -> Result<Gateway, String> {
        let mut builder = Gateway::builder();
        if !self.files.is_empty() || !self.builtins.is_empty() {
            let packs = self
                .builtins
                .iter()
                .map(|n| Pack::builtin(n))
                .chain(self.files.iter().map(Pack::from_file))
                .collect::<Result<Vec<_>, PackError>>()
                .map_err(|e| e.to_string())?;
            builder = builder.packs(packs);
        }
        builder.build().map_err(|e| e.to_string())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail(&format!("cannot start the runtime: {e}")),
    };
    let result = match cli.command {
        Command::Validate { packs } => validate(&packs),
        Command::Eval { packs, full } => runtime.block_on(eval(&packs, full)),
        Command::Test { cases, packs } => runtime.block_on(test(&cases, &packs)),
        Command::Schema => print_json(&sentinel_core::pack_schema()),
        Command::Builtin { name } => match Pack::builtin_source(&name) {
            Some(text) => print_text(text),
            None => Err(Pack::builtin(&name).err().map(|e| e.to_string()).unwrap_or_default()),
        },
    };
    match result {
        Ok(code) => code,
        Err(message) => fail(&message),
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
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

async fn eval(packs: &PackArgs, full: bool) -> Result<ExitCode, String> {
    let gateway = packs.gateway()?;
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
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

async fn test(path: &PathBuf, packs: &PackArgs) -> Result<ExitCode, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    let cases = Case::parse_all(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let gateway = packs.gateway()?;
    let (mut passed, mut failed) = (0, 0);
    for case in &cases {
        let problems = case.run(&gateway).await;
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
    Ok(if failed > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}
