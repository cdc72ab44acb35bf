//! `sentinel eval --config FILE` with `[telemetry] otlp_endpoint`: the run's spans are
//! exported (OTLP/HTTP protobuf) before the process exits.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

/// What the collector received: `(request line, body)` per request.
type Received = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// A collector that answers 200 to every request and keeps `(request line, body)`.
fn collector() -> (String, Received) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let got = Arc::new(Mutex::new(Vec::new()));
    let kept = Arc::clone(&got);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut first = String::new();
            reader.read_line(&mut first).unwrap();
            let mut length = 0;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if line.trim().is_empty() {
                    break;
                }
                if let Some((k, v)) = line.split_once(':')
                    && k.eq_ignore_ascii_case("content-length")
                {
                    length = v.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            kept.lock().unwrap().push((first.trim().to_owned(), body));
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            );
        }
    });
    (url, got)
}

#[test]
fn eval_exports_its_spans_before_exiting() {
    let (url, got) = collector();
    let dir = std::env::temp_dir().join(format!("sentinel-cli-traces-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("sentinel.toml");
    std::fs::write(&config, format!("[telemetry]\notlp_endpoint = \"{url}\"\n")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sentinel"))
        .args(["eval", "--config", config.to_str().unwrap()])
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("OTEL_SERVICE_NAME")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(br#"{"agent_id": "ops-bot", "action": "DROP_TABLE", "payload": {"table": "users"}, "reasoning": "cleanup"}"#)
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let got = got.lock().unwrap();
    let (line, body) = got.first().expect("an export reached the collector");
    assert!(line.starts_with("POST /v1/traces "), "{line}");
    let body = String::from_utf8_lossy(body);
    assert!(body.contains("execute_tool DROP_TABLE"), "{body}");
    assert!(body.contains("OpsGuard/drop-table-forbidden"), "{body}");
    assert!(!body.contains("cleanup"), "the reasoning is never exported");
}
