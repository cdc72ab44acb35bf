//! PostgreSQL schemas: their names, and dropping one (the teardown of
//! [`SqlStore::connect_in_schema`]).

use super::SqlStore;
use crate::error::StoreError;

impl SqlStore {
    /// Drops `schema` and everything in it (`DROP SCHEMA IF EXISTS ... CASCADE`) from the
    /// PostgreSQL database at `url`: a teardown tool for the schemas that
    /// [`connect_in_schema`](Self::connect_in_schema) creates, e.g. one per test run. A schema
    /// that does not exist is not an error.
    ///
    /// Names other than letters, digits and `_` are refused, as are URLs that are not
    /// `postgres://` or `postgresql://`. It connects on its own (no pool) and waits at most
    /// 10 s for locks held by other connections (a store still writing in the schema), then
    /// fails. Stores still open on the schema should be dropped first: a connection they open
    /// afterwards creates the schema again, empty.
    pub async fn drop_schema(url: &str, schema: &str) -> Result<(), StoreError> {
        check_schema_name(schema)?;
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(StoreError::Backend(format!(
                "cannot drop schema `{schema}` from `{}`: schemas are a PostgreSQL feature",
                redact_url(url)
            )));
        }
        drop_in_postgres(url, schema).await
    }
}

#[cfg(feature = "postgres")]
async fn drop_in_postgres(url: &str, schema: &str) -> Result<(), StoreError> {
    use sqlx::{Connection, Executor};

    let failed = |e: sqlx::Error| {
        StoreError::Backend(format!(
            "cannot drop schema `{schema}` from `{}`: {e}",
            redact_url(url)
        ))
    };
    let mut conn = sqlx::postgres::PgConnection::connect(url)
        .await
        .map_err(failed)?;
    conn.execute("SET lock_timeout = '10s'")
        .await
        .map_err(failed)?;
    conn.execute(format!("DROP SCHEMA IF EXISTS {schema} CASCADE").as_str())
        .await
        .map_err(failed)?;
    conn.close().await.map_err(failed)
}

#[cfg(not(feature = "postgres"))]
async fn drop_in_postgres(_url: &str, _schema: &str) -> Result<(), StoreError> {
    Err(StoreError::Backend(
        "this build of sentinel has no `postgres` store (cargo feature `postgres` of sentinel-core)"
            .to_owned(),
    ))
}

/// Refuses schema names other than `[A-Za-z0-9_]+` (they are spliced into SQL unquoted).
pub(super) fn check_schema_name(schema: &str) -> Result<(), StoreError> {
    if schema.is_empty()
        || !schema
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(StoreError::Backend(format!(
            "schema name `{schema}` must be letters, digits and `_`"
        )));
    }
    Ok(())
}

/// A database URL with any password replaced, for messages.
pub(crate) fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme + 3],
                    &userinfo[..colon],
                    &url[at..]
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_appear_in_messages() {
        assert_eq!(
            redact_url("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact_url("sqlite://x.db"), "sqlite://x.db");
    }

    #[cfg(feature = "postgres")]
    #[tokio::test]
    async fn drop_schema_refuses_odd_names_and_other_databases() {
        // Refused before connecting: nothing listens on port 1.
        for name in ["", "no-dashes", "a;DROP", "a b", "\"quoted\""] {
            let e = SqlStore::drop_schema("postgres://u:secret@127.0.0.1:1/x", name)
                .await
                .unwrap_err();
            assert!(
                e.to_string().contains("must be letters, digits and `_`"),
                "{e}"
            );
        }
        let e = SqlStore::drop_schema("sqlite://x.db", "s")
            .await
            .unwrap_err();
        assert!(e.to_string().contains("PostgreSQL"), "{e}");
        let e = SqlStore::drop_schema("postgres://u:secret@127.0.0.1:1/x", "s")
            .await
            .unwrap_err();
        assert!(e.to_string().contains("cannot drop schema `s`"), "{e}");
        assert!(!e.to_string().contains("secret"), "{e}");
    }
}
