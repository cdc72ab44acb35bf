//! `sentinel mcp-proxy`'s hardening, byte for byte: the upstream is `sh -c 'cat >> LOG'`,
//! which records exactly what reaches it and answers nothing, so every line the proxy writes
//! to stdout is its own. (The SDK-level tests are in tests/mcp/, run by scripts/test-all.sh.)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

#[test]
fn only_what_was_decided_on_reaches_the_upstream() {
    let dir = std::env::temp_dir().join(format!("sentinel-mcp-proxy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("upstream.log");
    std::fs::write(&log, "").unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sentinel"))
        .args(["mcp-proxy", "--", "sh", "-c", "cat >> \"$0\""])
        .arg(&log)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let allowed = r#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"pay_invoice","arguments":{"amount":120,"vendor":"AWS"},"_meta":{"reasoning":"hosting"}}}"#;
    let ping = r#"{"jsonrpc":"2.0","id":8,"method":"ping"}"#;
    let lines = [
        // A repeated key: which `name` would the upstream's parser keep?
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"pay_invoice","name":"drop_table","arguments":{}}}"#,
        // Not JSON to us (NaN), but JSON to lenient parsers.
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"drop_table","arguments":{"n":NaN}}}"#,
        // A batch: the call is decided (declined), the list forwarded.
        r#"[{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"drop_table","arguments":{"table":"users"}}},{"jsonrpc":"2.0","id":4,"method":"tools/list"}]"#,
        // A tool call as a notification: no answer can carry a refusal, so it is dropped.
        r#"{"jsonrpc":"2.0","method":"tools/call","params":{"name":"drop_table","arguments":{"table":"users"}}}"#,
        allowed,
        r#"[[{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"drop_table"}}]]"#,
        r#""tools/call""#,
        r#"{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"pay_invoice","arguments":[1]}}"#,
        r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{}}"#,
        r#"{"jsonrpc":"2.0","id":10,"method":"tools/call","params":{"name":"pay_invoice","arguments":{"amount":1,"vendor":"AWS"},"_meta":{"reasoning":7}}}"#,
        ping,
    ];
    let mut stdin = child.stdin.take().unwrap();
    for line in lines {
        writeln!(stdin, "{line}").unwrap();
    }
    stdin.flush().unwrap();
    // The allowed call is forwarded once decided; then close our side.
    let until = Instant::now() + Duration::from_secs(20);
    while std::fs::read_to_string(&log).unwrap().lines().count() < 3 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(200));
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let forwarded: Vec<String> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(forwarded.len(), 3, "{forwarded:#?}");
    assert!(forwarded.iter().any(|l| l == ping), "{forwarded:#?}");
    assert!(
        forwarded.iter().any(|l| l == allowed),
        "forwarded byte for byte: {forwarded:#?}"
    );
    let list: Vec<Value> = forwarded
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["method"] == "tools/list")
        .collect();
    assert_eq!(list.len(), 1, "{forwarded:#?}");
    assert_eq!(list[0]["id"], 4);

    let answers: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let by_id = |id: i64| {
        answers
            .iter()
            .find(|a| a["id"] == id)
            .unwrap_or_else(|| panic!("no answer for {id}: {answers:#?}"))
    };
    let errors = |code: i64| {
        answers
            .iter()
            .filter(|a| a["error"]["code"] == code)
            .count()
    };
    assert_eq!(errors(-32700), 2, "repeated key and NaN: {answers:#?}");
    assert_eq!(errors(-32600), 2, "nested batch and a string: {answers:#?}");
    let declined = &by_id(3)["result"];
    assert_eq!(declined["isError"], true);
    assert_eq!(declined["_meta"]["sentinel"]["status"], "DECLINED");
    let text = declined["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("OpsGuard/drop-table-forbidden"), "{text}");
    assert!(text.contains("Status: DECLINED"), "{text}");
    let not_an_object = by_id(6)["result"]["content"][0]["text"].as_str().unwrap();
    assert!(
        not_an_object.contains("must be an object"),
        "{not_an_object}"
    );
    assert_eq!(by_id(6)["result"]["isError"], true);
    assert_eq!(by_id(7)["error"]["code"], -32602);
    assert_eq!(by_id(10)["result"]["isError"], true);
    assert_eq!(answers.len(), 8, "{answers:#?}");
    std::fs::remove_dir_all(&dir).ok();
}
