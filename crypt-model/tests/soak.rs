//! Load and soak on `MemoryStore` (the workload and its invariants: `common/soak.rs`): 8
//! concurrent tasks of mixed operations, then no lost update, no takeover, the owner gate held,
//! memory bounded. The shorter run on moto is `tests/soak_moto.rs`.
//!
//! `CRYPT_MODEL_SOAK_OPERATIONS` operations per task: 1,000 by default (`scripts/test`),
//! 50,000 for the figures of docs/reliability.md
//! (`CRYPT_MODEL_SOAK_OPERATIONS=50000 cargo test --release -p crypt-model --test soak -- --nocapture`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use crypt_model::{CacheLimits, Keys, LocalKeyring, MemoryStore, Table};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_tasks_of_mixed_operations_lose_no_update_and_hold_the_gate() {
    let ops: u64 = std::env::var("CRYPT_MODEL_SOAK_OPERATIONS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000);
    let limits = CacheLimits::default();
    let keys = Arc::new(Keys::with_cache_limits(
        LocalKeyring::new("soak", &[0x5a; 32]).unwrap(),
        limits,
    ));
    let table = Table::new(MemoryStore::new(), keys).unwrap();
    let line = common::soak::soak(table, limits, ops, 64 * 1024 * 1024).await;
    eprintln!("{line}");
}
