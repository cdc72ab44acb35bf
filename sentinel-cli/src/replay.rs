//! `sentinel replay`: stored actions re-decided under a new configuration
//! (`sentinel_core::replay`), and the decisions that would change, as a table or JSON.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use sentinel_core::replay::{self, Change, ReplayFilter, ReplayReport, StoredScores};
use sentinel_core::spec::{Env, GatewaySpec, StoreKind};
use sentinel_core::{RiskScorer, SqlStore};
use serde_json::json;

use crate::lint::Format;
use crate::setup::{GatewayArgs, ScorerFlag};

/// What `sentinel replay` reads and how it reports.
#[derive(Args)]
pub(crate) struct ReplayArgs {
    /// The store holding the actions: a SQLite file, `sqlite://PATH` or `postgres://...`.
    /// Default: the configuration's `[store]`.
    #[arg(long, value_name = "URL")]
    store: Option<String>,
    /// PostgreSQL schema holding Sentinel's tables (default: the configuration's, else the
    /// search path).
    #[arg(long)]
    schema: Option<String>,
    /// The new configuration (`--config`), packs (`--pack`, `--builtin`) and scorer.
    /// Unlike `eval`, the scorer is the offline one unless `--scorer groq` is given.
    #[command(flatten)]
    gateway: GatewayArgs,
    /// Only actions received at or after T: an RFC 3339 time (`2026-12-01T08:00:00Z`), a
    /// date (`2026-12-01`, UTC midnight) or an age (`90s`, `30m`, `24h`, `7d`).
    #[arg(long, value_name = "T")]
    since: Option<String>,
    /// Replay under the configuration's `[[shadow_packs]]` (each standing in for the pack
    /// of its name, or added), as the live gateway compares them.
    #[arg(long, requires = "config", conflicts_with_all = ["files", "builtins"])]
    shadow: bool,
    /// Only actions named A (e.g. `PAY_INVOICE`).
    #[arg(long = "action", value_name = "A")]
    action: Option<String>,
    /// Score each action as it was scored when stored, where a scorer assessed it (no LLM
    /// call, no drift); actions the rules decided get the offline scorer.
    #[arg(long, conflicts_with = "scorer")]
    reuse_scores: bool,
    /// `text` (a summary and a table of the changes) or `json` (everything).
    #[arg(long, value_enum, default_value_t)]
    format: Format,
    /// Exit 1 when any decision changes (a CI gate for a pack change).
    #[arg(long)]
    fail_on_change: bool,
    /// Rows of the text table at most (0: all).
    #[arg(long, value_name = "N", default_value_t = 50)]
    limit: usize,
}

/// Runs the replay and prints what changes.
pub(crate) async fn run(mut args: ReplayArgs) -> Result<ExitCode, String> {
    let filter = filter(&args)?;
    let store = open_store(&args).await?;
    if args.gateway.scorer.is_none() || args.reuse_scores {
        args.gateway.scorer = Some(ScorerFlag::Offline);
    }
    let packs = if args.shadow {
        Some(shadow_packs(&args)?)
    } else {
        None
    };
    let scores = args.reuse_scores.then(|| Arc::new(StoredScores::default()));
    let setup = args
        .gateway
        .build_with(
            scores.as_ref().map(|s| {
                (
                    Arc::clone(s) as Arc<dyn RiskScorer>,
                    "stored scores (offline where rules decided)",
                )
            }),
            packs,
        )
        .await?;
    let gateway = &setup.gateway;

    let bar = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    } else {
        ProgressBar::hidden()
    };
    let start = Instant::now();
    let report = replay::replay(&store, gateway, &filter, scores.as_deref(), |read| {
        let rate = read as f64 / start.elapsed().as_secs_f64().max(1e-3);
        bar.set_message(format!(
            "replaying: {read} stored actions read ({rate:.0}/s)"
        ));
    })
    .await
    .map_err(|e| format!("cannot read the store: {e}"))?;
    bar.finish_and_clear();
    let elapsed = start.elapsed();

    let packs: Vec<String> = gateway
        .packs()
        .iter()
        .map(|p| format!("{}@{}", p.name(), p.version()))
        .collect();
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Json => {
            let value = json!({
                "replayed": report.replayed,
                "undecided": report.undecided,
                "changed": report.changes.len(),
                "status_changed": report.status_changes(),
                "packs": packs,
                "scorer": gateway.scorer_name(),
                "changes": report.changes,
            });
            let text = serde_json::to_string_pretty(&value).map_err(|e| e.to_string())?;
            writeln!(out, "{text}").map_err(|e| e.to_string())?;
        }
        Format::Text => {
            let text = table(&report, &packs, args.limit);
            write!(out, "{text}").map_err(|e| e.to_string())?;
        }
    }
    eprintln!(
        "replayed {} decisions in {:.2} s ({:.0}/s)",
        report.replayed,
        elapsed.as_secs_f64(),
        report.replayed as f64 / elapsed.as_secs_f64().max(1e-9)
    );
    if args.fail_on_change && !report.changes.is_empty() {
        eprintln!(
            "error: {} of {} decisions change (--fail-on-change)",
            report.changes.len(),
            report.replayed
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

fn filter(args: &ReplayArgs) -> Result<ReplayFilter, String> {
    let mut filter = ReplayFilter::default();
    if let Some(t) = &args.since {
        filter = filter.since(parse_since(t, Utc::now())?);
    }
    if let Some(a) = &args.action {
        filter = filter.action(a.clone());
    }
    Ok(filter)
}

/// `--since`: a time, a date or an age before `now`.
fn parse_since(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let t = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(t) {
        return Ok(at.with_timezone(&Utc));
    }
    if let Ok(day) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return Ok(day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc());
    }
    let unit = t.chars().last().unwrap_or(' ');
    let seconds = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => 0,
    };
    if seconds > 0
        && let Ok(n) = t[..t.len() - 1].parse::<i64>()
        && n >= 0
        && let Some(age) = n
            .checked_mul(seconds)
            .and_then(chrono::Duration::try_seconds)
        && let Some(at) = now.checked_sub_signed(age)
    {
        return Ok(at);
    }
    Err(format!(
        "`{text}` is not a time: give an RFC 3339 time (`2026-12-01T08:00:00Z`), a date (`2026-12-01`) or an age (`90s`, `30m`, `24h`, `7d`)"
    ))
}

/// `--shadow`: the configuration's packs with its shadow packs in their place.
fn shadow_packs(args: &ReplayArgs) -> Result<Vec<sentinel_core::Pack>, String> {
    let file = args
        .gateway
        .config
        .as_ref()
        .ok_or("`--shadow` needs `--config`")?;
    let spec = GatewaySpec::from_file(file).map_err(|e| e.to_string())?;
    let shadow = spec.load_shadow_packs().map_err(|e| e.to_string())?;
    if shadow.is_empty() {
        return Err(format!("`{}` names no `[[shadow_packs]]`", file.display()));
    }
    let active = spec.load_packs().map_err(|e| e.to_string())?;
    Ok(sentinel_core::shadow::merge(&active, &shadow))
}

/// The store to read: `--store`, else the configuration's `[store]`. Never created.
async fn open_store(args: &ReplayArgs) -> Result<SqlStore, String> {
    const NOTHING: &str = "no actions to replay";
    let (url, schema) = match (&args.store, &args.gateway.config) {
        (Some(url), _) => (
            crate::audit::database_url_for(url, NOTHING)?,
            args.schema.clone(),
        ),
        (None, Some(file)) => {
            let spec = GatewaySpec::from_file(file).map_err(|e| e.to_string())?;
            let target = spec
                .store_target(&Env::process())
                .map_err(|e| e.to_string())?;
            let url = match target.kind {
                StoreKind::Memory => {
                    return Err(format!(
                        "`{}` keeps its actions in memory: there are {NOTHING}; give `--store`",
                        file.display()
                    ));
                }
                StoreKind::Sqlite => crate::audit::database_url_for(target.url.expose(), NOTHING)?,
                _ => target.url.expose().to_owned(),
            };
            (url, args.schema.clone().or(target.schema))
        }
        (None, None) => return Err("give the store to replay (`--store`) or `--config`".to_owned()),
    };
    match &schema {
        Some(schema) => SqlStore::connect_in_schema(&url, schema).await,
        None => SqlStore::connect(&url).await,
    }
    .map_err(|e| e.to_string())
}

/// The summary line, then one row per change: action, agent, status and risk before and
/// after, the rules that differ, the id.
fn table(report: &ReplayReport, packs: &[String], limit: usize) -> String {
    let mut text = format!(
        "replayed {} decisions under {}: {} change ({} in status)",
        report.replayed,
        packs.join(", "),
        report.changes.len(),
        report.status_changes()
    );
    if report.undecided > 0 {
        text.push_str(&format!(
            "; {} actions were never decided",
            report.undecided
        ));
    }
    text.push('\n');
    if report.changes.is_empty() {
        return text;
    }
    let shown: Vec<&Change> = match limit {
        0 => report.changes.iter().collect(),
        n => report.changes.iter().take(n).collect(),
    };
    let rows: Vec<[String; 5]> = shown
        .iter()
        .map(|c| {
            let rules: Vec<String> = c
                .rules_added
                .iter()
                .map(|r| format!("+{r}"))
                .chain(c.rules_removed.iter().map(|r| format!("-{r}")))
                .collect();
            [
                c.action.clone(),
                c.agent_id.clone(),
                format!("{} {}", c.before.status, c.before.risk_score),
                format!("{} {}", c.after.status, c.after.risk_score),
                if rules.is_empty() {
                    "(same rules)".to_owned()
                } else {
                    rules.join(" ")
                },
            ]
        })
        .collect();
    let head = ["ACTION", "AGENT", "BEFORE", "AFTER", "RULES"];
    let width = |i: usize| {
        rows.iter()
            .map(|r| r[i].chars().count())
            .chain([head[i].len()])
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..5).map(width).collect();
    let line = |cells: [&str; 5], id: &str| {
        format!(
            "{:<w0$}  {:<w1$}  {:<w2$}  {:<w3$}  {:<w4$}  {}\n",
            cells[0],
            cells[1],
            cells[2],
            cells[3],
            cells[4],
            id,
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
            w3 = widths[3],
            w4 = widths[4],
        )
    };
    text.push_str(line(head, "ID").trim_end());
    text.push('\n');
    for (row, change) in rows.iter().zip(&shown) {
        let cells = [
            row[0].as_str(),
            row[1].as_str(),
            row[2].as_str(),
            row[3].as_str(),
            row[4].as_str(),
        ];
        text.push_str(&line(cells, &change.id.to_string()));
    }
    if shown.len() < report.changes.len() {
        text.push_str(&format!(
            "({} of {} changes shown; `--limit 0` shows all, `--format json` gives everything)\n",
            shown.len(),
            report.changes.len()
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_times_dates_and_ages() {
        let now = DateTime::parse_from_rfc3339("2026-12-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let at = |t: &str| parse_since(t, now).map(|d| d.to_rfc3339());
        assert_eq!(
            at("2026-11-30T08:00:00+01:00").unwrap(),
            "2026-11-30T07:00:00+00:00"
        );
        assert_eq!(at("2026-11-30").unwrap(), "2026-11-30T00:00:00+00:00");
        assert_eq!(at("24h").unwrap(), "2026-11-30T12:00:00+00:00");
        assert_eq!(at("7d").unwrap(), "2026-11-24T12:00:00+00:00");
        assert_eq!(at("90s").unwrap(), "2026-12-01T11:58:30+00:00");
        for bad in ["yesterday", "-1h", "5x", "h", "99999999999999d"] {
            assert!(
                at(bad)
                    .unwrap_err()
                    .starts_with(&format!("`{bad}` is not a time")),
                "{bad}"
            );
        }
    }
}
