//! The `store` setting: where the gateway keeps actions, decisions, approvals and the audit
//! trail, and opening it.
//!
//! Left out: in memory (the core's `MemoryStore`). A database URL (`sqlite://file`,
//! `postgres://...`) or a path to a SQLite file: the core's `SqlStore`, whose migrations run
//! when it connects. After connecting, the gateway runs the core's `recover()`: pending
//! approvals from an earlier process get their expiries back, and on PostgreSQL a `guard`
//! waiting here wakes when another process decides.

use std::sync::Arc;

use napi_derive::napi;
use sentinel_core::{SqlStore, Store};

use crate::errors::{build_error, config_error, store_error};
use crate::gateway::NativeGateway;

/// A durable store to open: a SQLite or PostgreSQL URL, and a PostgreSQL schema.
#[derive(Debug, Clone)]
pub struct StoreSpec {
    url: String,
    schema: Option<String>,
}

impl StoreSpec {
    /// Reads the `store` and `storeSchema` options; `None` for the in-memory store.
    pub fn parse(store: Option<&str>, schema: Option<String>) -> napi::Result<Option<Self>> {
        let text = store.map(str::trim).unwrap_or("");
        if text.is_empty() || text == "memory" {
            if schema.is_some() {
                return Err(config_error(
                    "storeSchema",
                    "schemas need a PostgreSQL `store`",
                ));
            }
            return Ok(None);
        }
        let postgres = text.starts_with("postgres://") || text.starts_with("postgresql://");
        let url = if postgres || text.starts_with("sqlite:") {
            text.to_owned()
        } else if text.contains("://") {
            let scheme = text.split("://").next().unwrap_or("");
            return Err(config_error(
                "store",
                format!(
                    "unsupported scheme `{scheme}`: use `sqlite://<file>`, `postgres://...` or a file path"
                ),
            ));
        } else {
            format!("sqlite://{text}")
        };
        if schema.is_some() && !postgres {
            return Err(config_error(
                "storeSchema",
                "schemas need a PostgreSQL `store`",
            ));
        }
        Ok(Some(Self { url, schema }))
    }

    /// Connects (running the migrations). The message of a failure never shows a password.
    pub async fn open(&self) -> napi::Result<Arc<dyn Store>> {
        let connected = match &self.schema {
            Some(schema) => SqlStore::connect_in_schema(&self.url, schema).await,
            None => SqlStore::connect(&self.url).await,
        };
        match connected {
            Ok(store) => Ok(Arc::new(store)),
            Err(e) => Err(config_error("store", e)),
        }
    }
}

#[napi]
impl NativeGateway {
    /// True when a durable store is configured (`open()` must run before it is used).
    #[napi(getter)]
    pub fn durable(&self) -> bool {
        self.store.is_some()
    }

    /// Opens the durable store (once; later calls wait for the first) and recovers the
    /// pending approvals it holds. Resolves to the number of actions still pending. Without
    /// a durable store, resolves to 0 at once.
    #[napi]
    pub async fn open(&self) -> napi::Result<u32> {
        let Some(spec) = &self.store else {
            return Ok(0);
        };
        let mut recovered = None;
        self.durable
            .get_or_try_init(|| async {
                let store = spec.open().await?;
                let gateway = self
                    .parts
                    .builder()
                    .store_arc(store)
                    .build()
                    .map_err(build_error)?;
                recovered = Some(gateway.recover().await.map_err(store_error)?);
                Ok::<_, napi::Error>(gateway)
            })
            .await?;
        Ok(recovered.map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX)))
    }
}
