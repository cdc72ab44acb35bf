//! `sentinel audit verify`: checks a store's audit hash chain.

use std::path::Path;
use std::process::ExitCode;

use sentinel_core::SqlStore;
use sentinel_core::store::verify_audit_log;

/// Verifies the audit log of `database` (a SQLite file path, `sqlite://...` or
/// `postgres://...`, optionally in a PostgreSQL `schema`) and says where the chain breaks.
pub(crate) async fn verify(database: &str, schema: Option<&str>) -> Result<ExitCode, String> {
    let url = database_url(database)?;
    let store = match schema {
        Some(schema) => SqlStore::connect_in_schema(&url, schema).await,
        None => SqlStore::connect(&url).await,
    }
    .map_err(|e| e.to_string())?;
    match verify_audit_log(&store).await.map_err(|e| e.to_string())? {
        Ok(count) => {
            println!("ok: {count} audit records, hash chain intact");
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
            "`{database}` is an in-memory database, which has no audit log to verify: give a SQLite file or a postgres:// url"
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
