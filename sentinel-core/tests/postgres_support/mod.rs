//! `DATABASE_URL` for the tests that need PostgreSQL, and a notice that cannot be missed when
//! it is not set: libtest captures `println!`/`eprintln!` of passing tests, so the notice is
//! written to the process's stderr directly. [`TestSchema`] drops the schema a test created.
//!
//! One file for the whole workspace: the CLI's and the server's tests and the store bench
//! include it with `#[path = ".../sentinel-core/tests/postgres_support/mod.rs"]`.
// Each including crate uses part of it; a schema left behind fails the test that made it.
#![allow(dead_code, clippy::panic)]

use std::io::Write;

/// The PostgreSQL URL from `DATABASE_URL`; `None` after saying on stderr that the test
/// running on this thread (or only `part` of it, when given) is skipped, and why.
pub fn database_url(part: Option<&str>) -> Option<String> {
    let why = match std::env::var("DATABASE_URL") {
        Ok(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            return Some(url);
        }
        Ok(_) => "DATABASE_URL is not a postgres:// url",
        Err(_) => "DATABASE_URL is not set",
    };
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("this test");
    let what = match part {
        Some(part) => format!("{part} in `{test}`"),
        None => format!("`{test}`"),
    };
    // Ignored on purpose: a test cannot fail for want of a terminal.
    let _ = writeln!(
        std::io::stderr().lock(),
        "SKIPPED {what}: it needs PostgreSQL and {why} (`.ci/run` sets postgres://postgres@127.0.0.1:5432/test)"
    );
    None
}

/// A fresh PostgreSQL schema name for one test, dropped (with everything in it) when this
/// guard is dropped, whether the test passed or panicked. Create it before connecting a store
/// in it (`SqlStore::connect_in_schema(url, schema.name())`), and keep it in a local declared
/// before the stores, so that they are gone by the time it drops.
pub struct TestSchema {
    url: String,
    name: String,
}

impl TestSchema {
    /// `{prefix}_{uuid}`, in the database at `url`; nothing is created yet.
    pub fn new(url: &str, prefix: &str) -> Self {
        let id = sentinel_core::ActionId::new().to_string().replace('-', "");
        Self {
            url: url.to_owned(),
            name: format!("{prefix}_{id}"),
        }
    }

    /// The schema's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestSchema {
    fn drop(&mut self) {
        // Drops run inside the test's tokio runtime, which cannot block on a future of its
        // own: the DROP runs on a thread of its own, with a runtime of its own.
        let (url, name) = (self.url.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            rt.block_on(sentinel_core::SqlStore::drop_schema(&url, &name))
                .map_err(|e| e.to_string())
        })
        .join()
        .unwrap_or_else(|_| Err("the thread dropping it panicked".to_owned()));
        if let Err(e) = dropped {
            let why = format!("test schema `{}` was not dropped: {e}", self.name);
            if std::thread::panicking() {
                let _ = writeln!(std::io::stderr().lock(), "WARNING {why}");
            } else {
                panic!("{why}");
            }
        }
    }
}
