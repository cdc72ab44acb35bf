//! `docs/errors.md` documents exactly the codes of `ErrorCode::ALL`, in order, with the
//! Node spelling, the HTTP status and the meaning the code gives.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::Path;

use sentinel_core::ErrorCode;

#[test]
fn the_error_table_matches_the_code_list() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/errors.md");
    let doc = std::fs::read_to_string(path).unwrap();
    let rows: Vec<&str> = doc.lines().filter(|l| l.starts_with("| `")).collect();
    let expected: Vec<String> = ErrorCode::ALL
        .iter()
        .map(|c| {
            format!(
                "| `{}` | `{}` | {} | {} |",
                c.as_str(),
                c.node_code(),
                c.http_status(),
                c.meaning()
            )
        })
        .collect();
    assert_eq!(
        rows, expected,
        "docs/errors.md is out of step with ErrorCode::ALL"
    );
}
