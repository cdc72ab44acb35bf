//! `sentinel config check|schema|example`: the configuration file every host reads.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use sentinel_core::spec::{self, ApproverKind, Env, GatewaySpec, ScorerKind};

/// What `sentinel config` does.
#[derive(Subcommand)]
pub(crate) enum ConfigCommand {
    /// Reads a configuration file and builds everything it names, as a host would in this
    /// environment (packs loaded, secrets and URLs read from the variables and files it
    /// names, nothing connected or called); prints what it found, or the first problem
    /// with its file, line and key (exit 1).
    Check {
        /// The file (TOML, or JSON when its name ends in `.json`).
        file: PathBuf,
    },
    /// Prints the JSON Schema of the configuration file.
    Schema,
    /// Prints a commented starter configuration.
    Example,
}

/// Runs a `config` subcommand.
pub(crate) async fn run(command: ConfigCommand) -> Result<ExitCode, String> {
    match command {
        ConfigCommand::Check { file } => check(&file),
        ConfigCommand::Schema => {
            let text = serde_json::to_string_pretty(&GatewaySpec::json_schema())
                .map_err(|e| e.to_string())?;
            print(&text)
        }
        ConfigCommand::Example => print(spec::EXAMPLE),
    }
}

fn print(text: &str) -> Result<ExitCode, String> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", text.trim_end()).map_err(|e| e.to_string())?;
    Ok(ExitCode::SUCCESS)
}

fn check(file: &std::path::Path) -> Result<ExitCode, String> {
    let spec = GatewaySpec::from_file(file).map_err(|e| e.to_string())?;
    let c = spec
        .components(&Env::process())
        .map_err(|e| e.to_string())?;
    let packs: Vec<String> = c
        .packs
        .iter()
        .map(|p| format!("{}@{}", p.name(), p.version()))
        .collect();
    let scorer = match spec.scorer.kind {
        ScorerKind::Groq => c.groq.as_ref().map_or("groq".to_owned(), |g| {
            format!("groq (model `{}` at `{}`)", g.model(), g.base_url())
        }),
        _ => "offline".to_owned(),
    };
    let approver = match spec.approver.kind {
        ApproverKind::Telnyx => "telnyx voice",
        _ => "none",
    };
    println!("ok: {}", file.display());
    println!("  packs: {}", packs.join(", "));
    println!("  store: {} {}", c.store.kind.as_str(), c.store.display());
    println!("  scorer: {scorer}");
    println!("  approver: {approver}");
    if c.audit_key.is_some() {
        println!("  audit checkpoints: signed");
    }
    Ok(ExitCode::SUCCESS)
}
