//! Operators and CORS origins from the file and the environment.

use sentinel_core::spec::{Env, OperatorRole};
use sentinel_server::Config;

use crate::kit::ALICE;

#[test]
fn operators_come_from_the_file_and_sentinel_operators() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.toml");
    std::fs::write(
        &file,
        "[server]\ncors_origins = [\"https://Dash.example.com/\"]\n\n[[operators]]\nname = \"alice\"\ntoken_env = \"TOK_ALICE\"\nrole = \"viewer\"\n\n[[operators]]\nname = \"carol\"\ntoken_file = \"carol.token\"\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("carol.token"), "carol-token-0123456789\n").unwrap();
    let env = |pairs: &[(&str, &str)]| {
        let mut map: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        map.insert("SENTINEL_CONFIG".into(), file.display().to_string());
        Env::from_map(map)
    };
    let c = Config::from_lookup(env(&[
        ("TOK_ALICE", ALICE),
        ("SENTINEL_OPERATORS", "bob=bob-token-0123456789ab"),
    ]))
    .unwrap();
    let ops: Vec<_> = c
        .operators
        .iter()
        .map(|o| (o.name.as_str(), o.role))
        .collect();
    assert_eq!(
        ops,
        [
            ("alice", OperatorRole::Viewer),
            ("carol", OperatorRole::Approver),
            ("bob", OperatorRole::Approver)
        ]
    );
    assert_eq!(c.cors_origins, ["https://dash.example.com"]);
    assert!(!format!("{c:?}").contains(ALICE), "tokens never in Debug");

    // SENTINEL_OPERATORS overrides a token the file names; SENTINEL_CORS_ORIGINS the origins.
    let c = Config::from_lookup(env(&[
        ("TOK_ALICE", ALICE),
        ("SENTINEL_OPERATORS", "alice=alice-other-0123456789"),
        ("SENTINEL_CORS_ORIGINS", "http://a.test, http://b.test:8080"),
    ]))
    .unwrap();
    assert_eq!(c.operators[0].token.expose(), "alice-other-0123456789");
    assert_eq!(c.operators[0].role, OperatorRole::Viewer);
    assert_eq!(c.cors_origins, ["http://a.test", "http://b.test:8080"]);

    for (pairs, key, needle) in [
        (vec![], "operators[0].token_env", "`TOK_ALICE`"),
        (
            vec![("TOK_ALICE", "short")],
            "operators[0].token_env",
            "at least 16",
        ),
        (
            vec![("TOK_ALICE", ALICE), ("SENTINEL_OPERATORS", "bob=short")],
            "operators",
            "at least 16",
        ),
        (
            vec![
                ("TOK_ALICE", ALICE),
                ("SENTINEL_OPERATORS", "b o b=bob-token-0123456789ab"),
            ],
            "operators",
            "operator name",
        ),
        (
            vec![("TOK_ALICE", ALICE), ("SENTINEL_OPERATORS", "bob")],
            "operators",
            "`name=token`",
        ),
        (
            vec![
                ("TOK_ALICE", ALICE),
                ("SENTINEL_OPERATORS", "bob=carol-token-0123456789"),
            ],
            "operators",
            "must differ",
        ),
        (
            vec![("TOK_ALICE", ALICE), ("SENTINEL_CORS_ORIGINS", "*")],
            "server.cors_origins[0]",
            "not an origin",
        ),
        (
            vec![
                ("TOK_ALICE", ALICE),
                ("SENTINEL_CORS_ORIGINS", "https://x.test/path"),
            ],
            "server.cors_origins[0]",
            "not an origin",
        ),
    ] {
        let e = Config::from_lookup(env(&pairs)).unwrap_err();
        assert_eq!(e.key, key, "{pairs:?}: {e}");
        assert!(e.to_string().contains(needle), "{pairs:?}: {e}");
        assert!(
            !e.to_string().contains("0123456789"),
            "no token in errors: {e}"
        );
    }
}
