//! The `store=` setting: where the gateway keeps actions, decisions and the audit trail.
//!
//! `None`: in memory (the core's `MemoryStore`). A database URL (`sqlite://file`,
//! `postgres://...`) or a path to a SQLite file: the core's `SqlStore` (migrations run when
//! it connects). Everything stored and how is the core's.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyString;
use sentinel_core::{SqlStore, Store};

use crate::errors::{self, Kind};
use crate::runtime;

/// A store that was opened, and its kind for `Gateway.store`.
pub(crate) struct Opened {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) kind: &'static str,
}

/// Opens the store named by `store` (a URL, a path or `os.PathLike`), in `schema` on
/// PostgreSQL. `ConfigError` when it cannot be opened (the message never shows a password).
pub(crate) fn open(
    py: Python<'_>,
    store: &Bound<'_, PyAny>,
    schema: Option<String>,
) -> PyResult<Opened> {
    let text = if store.is_instance_of::<PyString>() {
        store.extract::<String>()?
    } else if store.hasattr("__fspath__")? {
        py.import("os")?
            .call_method1("fspath", (store,))?
            .extract::<String>()?
    } else {
        return Err(pyo3::exceptions::PyTypeError::new_err(
            "`store` must be None, a database URL or a path to a SQLite file",
        ));
    };
    let postgres = text.starts_with("postgres://") || text.starts_with("postgresql://");
    // Anything with a scheme is a URL (the core rejects those it does not support).
    let url = if text.contains("://") || text.starts_with("sqlite:") {
        text
    } else {
        format!("sqlite://{text}")
    };
    if schema.is_some() && !postgres {
        return Err(errors::new_err(
            py,
            Kind::Config,
            "invalid setting `store_schema`: schemas need a PostgreSQL `store`",
        ));
    }
    let connected = runtime::block_on(py, async move {
        match schema {
            Some(schema) => SqlStore::connect_in_schema(&url, &schema).await,
            None => SqlStore::connect(&url).await,
        }
    })?;
    let store = connected
        .map_err(|e| errors::new_err(py, Kind::Config, format!("invalid setting `store`: {e}")))?;
    let kind = if store.is_postgres() {
        "postgres"
    } else {
        "sqlite"
    };
    Ok(Opened {
        store: Arc::new(store),
        kind,
    })
}
