//! Opening the durable store (SQLite or PostgreSQL, the core's `SqlStore`) a gateway's
//! configuration names, and recovering what an earlier process left pending in it.
//!
//! Where the store is (and whether it is durable) is the core spec's to say
//! (`StoreSpec::target`); connecting runs the store's migrations. After connecting, the
//! gateway runs the core's `recover()`: pending approvals from an earlier process get their
//! expiries back, and on PostgreSQL a `guard` waiting here wakes when another process
//! decides.

use napi_derive::napi;

use crate::errors::{Failure, Reply, store_error};
use crate::gateway::NativeGateway;

#[napi]
impl NativeGateway {
    /// True when a durable store is configured (`open()` must run before it is used).
    #[napi(getter)]
    pub fn durable(&self) -> bool {
        self.components.store.kind.is_durable()
    }

    /// Opens the durable store (once; later calls wait for the first) and recovers the
    /// pending approvals it holds. Resolves to the number of actions still pending. Without
    /// a durable store, resolves to 0 at once.
    #[napi(ts_return_type = "Promise<number>")]
    pub async fn open(&self) -> Reply<u32> {
        Reply(self.open_inner().await)
    }

    async fn open_inner(&self) -> Result<u32, Failure> {
        if !self.durable() {
            return Ok(0);
        }
        let mut recovered = None;
        self.durable
            .get_or_try_init(|| async {
                let store = self
                    .components
                    .open_store()
                    .await
                    .map_err(|e| self.config_error(e))?;
                let gateway = self
                    .components
                    .builder()
                    .store_arc(store)
                    .build()
                    .map_err(|e| Failure::coded(&e))?;
                recovered = Some(gateway.recover().await.map_err(|e| store_error(&e))?);
                Ok::<_, Failure>(gateway)
            })
            .await?;
        Ok(recovered.map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX)))
    }
}
