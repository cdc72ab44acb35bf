//! `audit verify`: checks everything a store's audit log can prove.
//!
//! 1. The hash chain: every record's hash matches its content and links to the one
//!    before it (an edited, removed or reordered record is found and located).
//! 2. The chain head: the log ends where the head says (its last records were not cut).
//! 3. The checkpoints: each matches the chain at its `seq`, none lies beyond the log's end,
//!    and, with the audit key, each is signed by it (see [`super::checkpoint`]).
//! 4. The records: each action's stored state (and, in SQL stores, its decision, approval,
//!    deadline and execution) is what its last audit record says it was left as; no action
//!    lacks a trail, no trail lacks its action.

use std::collections::HashMap;

use super::chain::{self, ChainBreak, ChainProblem};
use super::checkpoint::{AuditKey, Checkpoint};
use super::{Store, StoreError};
use crate::action::ActionId;
use crate::state::State;

/// What a successful verification checked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuditReport {
    /// Audit records checked.
    pub records: u64,
    /// Action records checked against their trails.
    pub actions: u64,
    /// Checkpoints checked.
    pub checkpoints: usize,
    /// Of those, the signed ones whose signature was checked.
    pub signed: usize,
    /// Checkpoints that carry a signature nobody checked (no key was given).
    pub unchecked_signatures: usize,
}

/// The end of an action's trail, as the chain left it.
struct TrailEnd {
    seq: u64,
    to: State,
    state_hash: String,
}

/// Checks a store's whole audit log (see the module docs). With `key`, every checkpoint must
/// carry a valid signature.
pub async fn verify_audit(
    store: &dyn Store,
    key: Option<&AuditKey>,
) -> Result<Result<AuditReport, ChainBreak>, StoreError> {
    const PAGE: usize = 1000;
    let checkpoints = store.checkpoints().await?;
    let mut pending_checkpoints: HashMap<u64, &Checkpoint> =
        checkpoints.iter().map(|c| (c.seq, c)).collect();
    let (mut checker, mut after) = match store.audit_anchor().await? {
        Some((seq, hash)) => (chain::Checker::after(seq, hash), seq),
        None => (chain::Checker::default(), 0),
    };
    let mut ends: HashMap<ActionId, TrailEnd> = HashMap::new();
    let mut last = None;
    loop {
        let page = store.audit_log(after, PAGE).await?;
        for event in &page {
            if let Err(e) = checker.check(event) {
                return Ok(Err(e));
            }
            if let Some(c) = pending_checkpoints.remove(&event.seq)
                && c.hash != event.hash
            {
                return Ok(Err(ChainBreak {
                    seq: c.seq,
                    problem: ChainProblem::Checkpoint {
                        detail: "the record's hash differs from the one the checkpoint recorded: records up to it were rewritten".to_owned(),
                    },
                }));
            }
            ends.insert(
                event.action_id,
                TrailEnd {
                    seq: event.seq,
                    to: event.to,
                    state_hash: event.state_hash.clone(),
                },
            );
            last = Some((event.seq, event.hash.clone()));
        }
        match page.last() {
            Some(l) if page.len() == PAGE => after = l.seq,
            _ => break,
        }
    }
    let last_seq = last.as_ref().map_or(after, |(seq, _)| *seq);
    if let Some((head_seq, head_hash)) = store.audit_head().await? {
        if head_seq > last_seq {
            return Ok(Err(ChainBreak {
                seq: last_seq,
                problem: ChainProblem::Truncated { head: head_seq },
            }));
        }
        if last.as_ref().is_some_and(|(_, hash)| *hash != head_hash) {
            return Ok(Err(ChainBreak {
                seq: last_seq,
                problem: ChainProblem::Checkpoint {
                    detail: "the chain head does not match the last record".to_owned(),
                },
            }));
        }
    }
    if let Some(beyond) = pending_checkpoints.keys().min() {
        return Ok(Err(ChainBreak {
            seq: *beyond,
            problem: ChainProblem::Checkpoint {
                detail: format!(
                    "it lies beyond the end of the log (record {last_seq}): records were removed"
                ),
            },
        }));
    }
    let mut report = AuditReport {
        records: checker.count,
        checkpoints: checkpoints.len(),
        ..AuditReport::default()
    };
    for c in &checkpoints {
        match (key, &c.mac) {
            (Some(key), _) if !key.verifies(c) => {
                let detail = match c.mac {
                    Some(_) => {
                        "its signature does not verify under the audit key: it was forged or the key is wrong"
                    }
                    None => {
                        "it is not signed, but an audit key was given: signed checkpoints may have been replaced"
                    }
                };
                return Ok(Err(ChainBreak {
                    seq: c.seq,
                    problem: ChainProblem::Checkpoint {
                        detail: detail.to_owned(),
                    },
                }));
            }
            (Some(_), _) => report.signed += 1,
            (None, Some(_)) => report.unchecked_signatures += 1,
            (None, None) => {}
        }
    }
    match check_records(store, &mut ends).await? {
        Ok(actions) => report.actions = actions,
        Err(e) => return Ok(Err(e)),
    }
    Ok(Ok(report))
}

/// Compares every stored action with the end of its trail; then, for stores that keep
/// every record, trails whose action is gone.
async fn check_records(
    store: &dyn Store,
    ends: &mut HashMap<ActionId, TrailEnd>,
) -> Result<Result<u64, ChainBreak>, StoreError> {
    const PAGE: usize = 500;
    let mismatch = |action_id, seq, detail: String| ChainBreak {
        seq,
        problem: ChainProblem::RecordMismatch { action_id, detail },
    };
    let mut checked = 0;
    let mut after = None;
    loop {
        let page = store.records_page(after, PAGE).await?;
        for record in &page {
            let Some(end) = ends.remove(&record.id) else {
                if store.is_bounded() {
                    continue; // Its trail fell out of the kept log.
                }
                return Ok(Err(mismatch(
                    record.id,
                    0,
                    "it has no audit trail: it was inserted by hand".to_owned(),
                )));
            };
            if record.state != end.to {
                return Ok(Err(mismatch(
                    record.id,
                    end.seq,
                    format!(
                        "the record says {}, its audit trail left it {}",
                        record.state, end.to
                    ),
                )));
            }
            if !end.state_hash.is_empty() && chain::record_digest(record) != end.state_hash {
                return Ok(Err(mismatch(
                    record.id,
                    end.seq,
                    "its decision, approval, deadline or execution differs from what its audit trail recorded".to_owned(),
                )));
            }
            checked += 1;
        }
        match page.last() {
            Some(l) if page.len() == PAGE => after = Some(l.id),
            _ => break,
        }
    }
    if !store.is_bounded()
        && let Some((id, end)) = ends.iter().min_by_key(|(_, e)| e.seq)
    {
        return Ok(Err(mismatch(
            *id,
            end.seq,
            "its record was removed but its audit trail remains".to_owned(),
        )));
    }
    Ok(Ok(checked))
}
