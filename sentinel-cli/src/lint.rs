//! `sentinel lint PACK...`: the core's pack analysis (`sentinel_core::lint`), printed as
//! text or JSON; exit 1 when any finding is an error.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use sentinel_core::Pack;
use sentinel_core::lint::{self, Finding, Severity};
use sentinel_core::spec::GatewaySpec;
use serde_json::json;

/// How a command prints its report.
#[derive(Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// For people.
    #[default]
    Text,
    /// One JSON document on stdout, for tools.
    Json,
}

/// What `sentinel lint` reads.
#[derive(Args)]
pub(crate) struct LintArgs {
    /// Pack files (JSON), analysed together in this order, as one gateway loads them.
    #[arg(value_name = "PACK", required_unless_present_any = ["builtins", "config"])]
    packs: Vec<PathBuf>,
    /// A built-in pack by name; repeatable (analysed before the files).
    #[arg(long = "builtin", value_name = "NAME")]
    builtins: Vec<String>,
    /// A configuration file: its packs are analysed (before any built-in or file given).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// `text` or `json`.
    #[arg(long, value_enum, default_value_t)]
    format: Format,
    /// Exit 1 on warnings too (a CI gate that keeps packs warning-free).
    #[arg(long)]
    deny_warnings: bool,
}

/// Runs the lint and prints its findings.
pub(crate) fn run(args: &LintArgs) -> Result<ExitCode, String> {
    // (pack name, where it came from) for every pack that loaded.
    let mut sources: Vec<(String, String)> = Vec::new();
    let mut packs: Vec<Pack> = Vec::new();
    let mut failed: Vec<(Finding, String)> = Vec::new();
    if let Some(file) = &args.config {
        let spec = GatewaySpec::from_file(file).map_err(|e| e.to_string())?;
        for pack in spec.load_packs().map_err(|e| e.to_string())? {
            sources.push((pack.name().to_owned(), file.display().to_string()));
            packs.push(pack);
        }
    }
    for name in &args.builtins {
        let pack = Pack::builtin(name).map_err(|e| e.kind.to_string())?;
        sources.push((pack.name().to_owned(), format!("builtin:{}", pack.name())));
        packs.push(pack);
    }
    for path in &args.packs {
        let origin = path.display().to_string();
        match Pack::from_file(path) {
            Ok(pack) => {
                sources.push((pack.name().to_owned(), origin));
                packs.push(pack);
            }
            Err(e) => failed.push((Finding::from(&e), origin)),
        }
    }
    let mut findings = failed;
    for f in lint::lint(&packs) {
        let origin = sources
            .iter()
            .find(|(name, _)| *name == f.pack)
            .map(|(_, o)| o.clone())
            .unwrap_or_default();
        findings.push((f, origin));
    }
    let errors = findings
        .iter()
        .filter(|(f, _)| f.severity == Severity::Error)
        .count();
    let warnings = findings.len() - errors;
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Json => {
            let items: Vec<serde_json::Value> = findings
                .iter()
                .map(|(f, origin)| {
                    let mut v = serde_json::to_value(f).unwrap_or_default();
                    v["file"] = json!(origin);
                    v
                })
                .collect();
            let packs: Vec<serde_json::Value> = packs
                .iter()
                .zip(&sources)
                .map(|(p, (_, origin))| {
                    json!({"name": p.name(), "version": p.version(), "file": origin})
                })
                .collect();
            let report =
                json!({"findings": items, "errors": errors, "warnings": warnings, "packs": packs});
            let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
            writeln!(out, "{text}").map_err(|e| e.to_string())?;
        }
        Format::Text => {
            for (f, origin) in &findings {
                let mut text = format!("{}[{}]: {f}\n", f.severity.as_str(), f.lint);
                if !origin.is_empty() {
                    text.push_str(&format!("  --> {origin}\n"));
                }
                if let Some(r) = &f.related {
                    text.push_str(&format!(
                        "  = see pack `{}`, rule `{}`, at `{}`\n",
                        r.pack, r.rule, r.pointer
                    ));
                }
                write!(out, "{text}").map_err(|e| e.to_string())?;
            }
            let checked = packs.len()
                + findings
                    .iter()
                    .filter(|(f, _)| f.lint == lint::Lint::InvalidPack)
                    .count();
            writeln!(
                out,
                "summary: {}, {} in {}",
                plural(errors, "error"),
                plural(warnings, "warning"),
                plural(checked, "pack")
            )
            .map_err(|e| e.to_string())?;
        }
    }
    Ok(if errors > 0 || (args.deny_warnings && warnings > 0) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}
