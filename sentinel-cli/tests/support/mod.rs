//! `DATABASE_URL` for the tests that need PostgreSQL, and a notice that cannot be missed when
//! it is not set: libtest captures `println!`/`eprintln!` of passing tests, so the notice is
//! written to the process's stderr directly.

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
