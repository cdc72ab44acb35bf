//! `sentinel-server`: serves the Sentinel HTTP API (`sentinel-server` or
//! `sentinel-server serve`), or runs the end-to-end demo (`sentinel-server demo`).

use std::process::ExitCode;

use sentinel_server::config::{Config, LogFormat};
use sentinel_server::demo::{self, DemoOptions};
use tracing_subscriber::EnvFilter;

const USAGE: &str = "usage: sentinel-server [serve | demo [--keep-running] | help]

  serve  run the HTTP API (default); configuration from the file SENTINEL_CONFIG names
         (TOML or JSON), overridden by SENTINEL_* variables and .env
  demo   start the server on embedded defaults and run the scenarios end to end
         (Telnyx simulator unless TELNYX_* credentials are set); the console is at
         /console; --keep-running leaves the server up afterwards, until Ctrl-C";

fn main() -> ExitCode {
    let command = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "serve".to_owned());
    if matches!(command.as_str(), "help" | "--help" | "-h") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match command.as_str() {
        "serve" => runtime.block_on(serve()),
        "demo" => match std::env::args().nth(2).as_deref() {
            None => runtime.block_on(run_demo(false)),
            Some("--keep-running") => runtime.block_on(run_demo(true)),
            Some(other) => Err(format!("unknown demo option `{other}`\n{USAGE}")),
        },
        other => Err(format!("unknown command `{other}`\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(format: LogFormat, default: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    // A log pipe that closes must not take the server down: tracing-subscriber would
    // otherwise report the failed write with `eprintln!`, which panics on a closed stderr.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .log_internal_errors(false);
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

async fn serve() -> Result<(), String> {
    let config = Config::from_env().map_err(|e| e.to_string())?;
    init_tracing(config.log_format, "info");
    let server = sentinel_server::bind_and_start(config)
        .await
        .map_err(|e| e.to_string())?;
    for line in server.banner() {
        tracing::info!("{line}");
    }
    sentinel_server::server::shutdown_signal().await;
    tracing::info!("shutting down: finishing requests in flight");
    server.shutdown().await.map_err(|e| e.to_string())?;
    tracing::info!("stopped");
    Ok(())
}

async fn run_demo(keep_running: bool) -> Result<(), String> {
    let mut options = DemoOptions::from_env().map_err(|e| e.to_string())?;
    if keep_running {
        options = options.keep_running();
    }
    init_tracing(LogFormat::Text, "warn");
    let report = demo::run(options).await.map_err(|e| e.to_string())?;
    if report
        .outcomes
        .iter()
        .any(|o| o.final_status == "ERROR_TELNYX")
    {
        return Err("an approval call could not be placed".to_owned());
    }
    Ok(())
}
