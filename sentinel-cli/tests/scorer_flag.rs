//! `sentinel eval|test --scorer offline|groq`: which scorer is active, LLM calls made and
//! avoided (stderr), and the groq scorer against a loopback fake server (no network).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};

const KEY: &str = "gsk_cli_test_key_0123456789abcdefghij";
const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/decisions.jsonl");

fn sentinel(args: &[&str], env: &[(&str, &str)], stdin: &str) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sentinel"));
    cmd.args(args)
        .env_remove("GROQ_API_KEY")
        .env_remove("GROQ_BASE_URL")
        .env_remove("GROQ_MODEL");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// A one-thread HTTP/1.1 server answering every request with a score of 42; records the
/// request heads (request line and headers).
fn fake_llm() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let heads = Arc::new(Mutex::new(Vec::new()));
    let seen = heads.clone();
    std::thread::spawn(move || {
        let content = r#"{\"risk_score\": 42, \"analysis\": \"Fake analysis.\"}"#;
        let body = format!(
            r#"{{"choices": [{{"message": {{"role": "assistant", "content": "{content}"}}}}]}}"#
        );
        for stream in listener.incoming() {
            let mut stream = stream.unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut head = String::new();
            let mut length = 0;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
                if line == "\r\n" || line.is_empty() {
                    break;
                }
                head.push_str(&line);
            }
            let mut request = vec![0; length];
            reader.read_exact(&mut request).unwrap();
            seen.lock().unwrap().push(head);
            let reply = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            stream.write_all(reply.as_bytes()).unwrap();
        }
    });
    (url, heads)
}

#[test]
fn offline_is_the_default_and_reports_calls_avoided() {
    let out = sentinel(&["test", CORPUS], &[], "");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("scorer: offline"), "{stderr}");
    assert!(
        stderr.contains(
            "llm calls: 0 made (offline scorer), 23 avoided (rules decided 23 of 47 decisions)"
        ),
        "{stderr}"
    );
}

#[test]
fn groq_without_a_key_refuses_to_start() {
    let out = sentinel(&["eval", "--scorer", "groq"], &[], "");
    assert!(!out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "error: invalid config, at `scorer.groq.api_key_env`: environment variable `GROQ_API_KEY` is not set (the groq api key)"
    );
}

#[test]
fn groq_scores_what_the_rules_leave_open() {
    let (url, heads) = fake_llm();
    let actions = [
        r#"{"agent_id": "ops", "action": "DROP_TABLE", "payload": {"table": "users"}, "reasoning": "cleanup"}"#,
        r#"{"agent_id": "crm", "action": "SHARE_RECORD", "payload": {"record_id": "r-1", "contains_pii": false}, "reasoning": "asked"}"#,
    ]
    .join("\n");
    let env = [
        ("GROQ_API_KEY", KEY),
        ("GROQ_BASE_URL", url.as_str()),
        ("GROQ_MODEL", "test-model"),
    ];
    let out = sentinel(&["eval", "--scorer", "groq"], &env, &actions);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("scorer: groq (model `test-model` at `{url}`)")),
        "{stderr}"
    );
    assert!(stderr.contains("llm calls: 1 made (0 retries, 0 failed assessments), 0 cache hits, 1 avoided (rules decided 1 of 2 decisions)"), "{stderr}");
    assert!(!stderr.contains(KEY) && !stdout.contains(KEY));
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        (lines[0]["status"].as_str(), lines[0]["risk_score"].as_u64()),
        (Some("DECLINED"), Some(100))
    );
    assert_eq!(
        (lines[1]["status"].as_str(), lines[1]["risk_score"].as_u64()),
        (Some("EXECUTED"), Some(42))
    );
    assert!(
        lines[1]["analysis"]
            .as_str()
            .unwrap()
            .starts_with("Fake analysis.")
    );
    let heads = heads.lock().unwrap();
    assert_eq!(heads.len(), 1);
    assert!(
        heads[0].starts_with("POST /v1/chat/completions HTTP/1.1"),
        "{}",
        heads[0]
    );
    assert!(heads[0].to_ascii_lowercase().contains(&format!(
        "authorization: bearer {}",
        KEY.to_ascii_lowercase()
    )));
}
