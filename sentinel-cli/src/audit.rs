//! `sentinel audit verify`: checks everything a store's audit log proves.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use sentinel_core::SqlStore;
use sentinel_core::spec::{Env, GatewaySpec, StoreKind, StoreSpec};
use sentinel_core::store::checkpoint::AuditKey;
use sentinel_core::store::verify_audit;

/// Which store to check, and the key its checkpoints were signed with.
pub(crate) struct Target {
    /// A file path or URL given on the command line.
    pub(crate) database: Option<String>,
    /// Or a configuration file naming the store.
    pub(crate) config: Option<PathBuf>,
    /// The PostgreSQL schema.
    pub(crate) schema: Option<String>,
    /// The variable holding the audit key.
    pub(crate) key_env: Option<String>,
    /// Or the file holding it.
    pub(crate) key_file: Option<PathBuf>,
}

/// Verifies the audit log of the target's store and says what is wrong where.
pub(crate) async fn verify(target: Target) -> Result<ExitCode, String> {
    let env = Env::process();
    let (url, schema, mut key_spec) = match (&target.database, &target.config) {
        (Some(database), _) => (
            database_url(database)?,
            target.schema.clone(),
            StoreSpec::default(),
        ),
        (None, Some(file)) => {
            let spec = GatewaySpec::from_file(file).map_err(|e| e.to_string())?;
            let store = spec.store_target(&env).map_err(|e| e.to_string())?;
            if store.kind == StoreKind::Memory {
                return Err(format!(
                    "`{}` keeps its actions in memory: there is no audit log to verify",
                    file.display()
                ));
            }
            let url = match store.kind {
                StoreKind::Sqlite => database_url(store.url.expose())?,
                _ => store.url.expose().to_owned(),
            };
            (url, target.schema.clone().or(store.schema), spec.store)
        }
        (None, None) => return Err("give a database or `--config`".to_owned()),
    };
    if target.key_env.is_some() || target.key_file.is_some() {
        key_spec.audit_key_env = target.key_env;
        key_spec.audit_key_file = target.key_file;
    }
    let key: Option<AuditKey> = key_spec.audit_key(&env, None).map_err(|e| e.to_string())?;
    let store = match &schema {
        Some(schema) => SqlStore::connect_in_schema(&url, schema).await,
        None => SqlStore::connect(&url).await,
    }
    .map_err(|e| e.to_string())?;
    match verify_audit(&store, key.as_ref())
        .await
        .map_err(|e| e.to_string())?
    {
        Ok(report) => {
            let mut checkpoints = format!("{} checkpoints", report.checkpoints);
            if report.signed > 0 {
                checkpoints.push_str(&format!(" ({} signatures verified)", report.signed));
            }
            println!(
                "ok: {} audit records, {} actions, {checkpoints}; hash chain intact",
                report.records, report.actions
            );
            if report.unchecked_signatures > 0 {
                eprintln!(
                    "note: {} checkpoints are signed; give the audit key (`--key-env`, `--key-file` or SENTINEL_AUDIT_KEY) to check their signatures",
                    report.unchecked_signatures
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(brk) => {
            println!("TAMPERED: {brk}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// The URL to connect to. Text with a scheme other than `sqlite:` is passed on as it is
/// (the core refuses the schemes it does not support); a `sqlite:` URL or a plain path names
/// a SQLite file, which must exist: checking an audit log never creates a database.
fn database_url(database: &str) -> Result<String, String> {
    database_url_for(database, "no audit log to verify")
}

/// [`database_url`] for another use: an in-memory database `has` nothing for it (e.g.
/// `no actions to replay`).
pub(crate) fn database_url_for(database: &str, has: &str) -> Result<String, String> {
    let (path, query) = match database.strip_prefix("sqlite:") {
        Some(rest) => {
            let rest = rest.strip_prefix("//").unwrap_or(rest);
            match rest.split_once('?') {
                Some((path, query)) => (percent_decode(path), Some(query)),
                None => (percent_decode(rest), None),
            }
        }
        None if database.contains("://") => return Ok(database.to_owned()),
        None => (database.to_owned(), None),
    };
    if path.is_empty() || path == ":memory:" || query.is_some_and(|q| q.contains("mode=memory")) {
        return Err(format!(
            "`{database}` is an in-memory database, which has {has}: give a SQLite file or a postgres:// url"
        ));
    }
    let file = Path::new(&path);
    if !file.exists() {
        return Err(format!(
            "no SQLite database at `{path}`: the file does not exist (nothing was created)"
        ));
    }
    if !file.is_file() {
        return Err(format!("`{path}` is not a SQLite database file"));
    }
    let absolute = std::fs::canonicalize(file).map_err(|e| format!("cannot open `{path}`: {e}"))?;
    let mut url = format!("sqlite://{}", percent_encode(&absolute.to_string_lossy()));
    // `mode=rw`: open the existing file, never create one.
    let params: Vec<&str> = query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("mode="))
        .chain(["mode=rw"])
        .collect();
    url.push('?');
    url.push_str(&params.join("&"));
    Ok(url)
}

/// Escapes the characters that end or alter the path part of a `sqlite://` URL.
fn percent_encode(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        match c {
            '%' => out.push_str("%25"),
            '?' => out.push_str("%3F"),
            '#' => out.push_str("%23"),
            c => out.push(c),
        }
    }
    out
}

/// Decodes `%XX` escapes, as the SQLite driver does for the path of a URL.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_with_other_schemes_pass_through() {
        assert_eq!(
            database_url("postgres://u@h/db").unwrap(),
            "postgres://u@h/db"
        );
        assert_eq!(database_url("mysql://x").unwrap(), "mysql://x");
    }

    #[test]
    fn sqlite_files_must_exist() {
        let dir = std::env::temp_dir().join(format!("sentinel-cli-url-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("a b%?.db");
        let missing = dir.join("missing.db");
        let e = database_url(&missing.display().to_string()).unwrap_err();
        assert!(e.starts_with("no SQLite database at `"), "{e}");
        assert!(!missing.exists());
        std::fs::write(&file, b"").unwrap();
        let url = database_url(&file.display().to_string()).unwrap();
        assert!(url.ends_with("/a b%25%3F.db?mode=rw"), "{url}");
        let url = format!(
            "sqlite://{}?mode=rwc&cache=shared",
            percent_encode(&file.display().to_string())
        );
        assert!(
            database_url(&url)
                .unwrap()
                .ends_with(".db?cache=shared&mode=rw")
        );
        assert!(
            database_url("sqlite::memory:")
                .unwrap_err()
                .contains("in-memory")
        );
        assert!(
            database_url(&dir.display().to_string())
                .unwrap_err()
                .contains("is not a SQLite database file")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
