//! The soak of `crypt-model/tests/soak.rs`, shorter, on moto through `DynamoStore` and
//! `KmsKeyring` (the workload and its invariants: `crypt-model/tests/common/soak.rs`): 8
//! concurrent tasks of versioned increments, partial updates, queries, puts, deletes,
//! transactions and another user's reads and takeover attempts; then no lost update, no
//! takeover, the owner gate held, memory bounded.
//!
//! `CRYPT_MODEL_SOAK_OPERATIONS` operations per task: 60 by default (`scripts/test`), 1,000 for
//! the figures of docs/reliability.md (`CRYPT_MODEL_SOAK_OPERATIONS=1000 cargo test -p
//! crypt-model-tests --test soak_moto -- --nocapture`, moto running: it is the bottleneck).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod moto;

use std::sync::Arc;

use aws_sdk_dynamodb::config::retry::RetryConfig;
use crypt_model::{CacheLimits, Keys, Table};
use crypt_model_dynamo::{DynamoStore, KmsKeyring, ProvisionOptions, provision};
use crypt_model_tests::soak::{Counter, soak};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_tasks_on_moto_lose_no_update_and_hold_the_gate() {
    let ops: u64 = std::env::var("CRYPT_MODEL_SOAK_OPERATIONS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(60);
    let limits = CacheLimits::default();
    // The SDK's standard retry, as `aws_config::load_defaults` gives it: moto answers a
    // transaction that races another write with an HTTP 500 now and then, as DynamoDB may.
    let config = moto::sdk_config(&moto::endpoint())
        .to_builder()
        .retry_config(RetryConfig::standard())
        .build();
    let key = moto::kms_key(&moto::kms()).await;
    let keys = Arc::new(Keys::with_cache_limits(
        KmsKeyring::new(aws_sdk_kms::Client::new(&config), &key).unwrap(),
        limits,
    ));
    let table = Table::<Counter, _>::named(
        DynamoStore::new(aws_sdk_dynamodb::Client::new(&config)),
        keys,
        &moto::unique("soak"),
    )
    .unwrap();
    provision(
        &moto::dynamo(),
        table.table_ref(),
        ProvisionOptions::default(),
    )
    .await
    .unwrap();
    let line = soak(table, limits, ops, 64 * 1024 * 1024).await;
    eprintln!("{line} (moto)");
}
