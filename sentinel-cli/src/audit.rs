//! `sentinel audit verify`: checks a store's audit hash chain.

use std::process::ExitCode;

use sentinel_core::SqlStore;
use sentinel_core::store::verify_audit_log;

/// Verifies the audit log of the database at `url` (`sqlite://...` or `postgres://...`,
/// optionally in a PostgreSQL `schema`) and says where the chain breaks.
pub(crate) async fn verify(url: &str, schema: Option<&str>) -> Result<ExitCode, String> {
    let store = match schema {
        Some(schema) => SqlStore::connect_in_schema(url, schema).await,
        None => SqlStore::connect(url).await,
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
