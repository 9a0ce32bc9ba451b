//! The owner gate's timing: a read of someone else's record against a read of a missing one, on
//! the memory store (docs/threat-model.md reports the figures). A refused read must not be told
//! apart from a missing one by what it returns; this measures what its time says.
//!
//! Run: `cargo bench -p crypt-model --bench access`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use crypt_model::{Caller, EncryptedItem, Key, Keys, LocalKeyring, MemoryStore, Sensitive, Table};

/// Runs a future that never waits (the local keyring and the memory store never do).
fn now<F: Future>(future: F) -> F::Output {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the benchmark's future waited"),
    }
}

/// The owner is not part of the key: a read must fetch the item to know whose it is.
#[derive(EncryptedItem)]
#[crypt_model(table = "bench_orders")]
struct Order {
    #[partition_key]
    order_no: u64,
    #[owner]
    customer: String,
    #[sensitive]
    card: Sensitive<String>,
}

/// The owner is the partition key: another owner's key is refused without reading the store.
#[derive(EncryptedItem)]
#[crypt_model(table = "bench_profiles")]
struct Profile {
    #[partition_key]
    #[owner]
    user_id: String,
    #[sensitive]
    ssn: Sensitive<String>,
}

fn gate(c: &mut Criterion) {
    let keys = Arc::new(Keys::new(LocalKeyring::generate().unwrap()));
    let store = MemoryStore::new();
    let orders = Table::<Order, _>::new(store.clone(), keys.clone()).unwrap();
    let profiles = Table::<Profile, _>::new(store, keys).unwrap();
    let (alice, mallory) = (
        Caller::user("alice").unwrap(),
        Caller::user("mallory").unwrap(),
    );
    // Even order numbers only, so that a missing one (odd) sits among them in the store's order.
    for i in 0..1_000u64 {
        let mut order = Order {
            order_no: 2 * i,
            customer: "alice".into(),
            card: Sensitive::new("4111-1111-1111-1111".into()),
        };
        now(orders.put(&alice, &mut order)).unwrap();
    }
    let mut profile = Profile {
        user_id: "alice".into(),
        ssn: Sensitive::new("078-05-1120".into()),
    };
    now(profiles.put(&alice, &mut profile)).unwrap();

    let mut group = c.benchmark_group("owner gate");
    group
        .sample_size(1_000)
        .measurement_time(Duration::from_secs(4));
    let (theirs, missing) = (Key::new(1_000u64), Key::new(1_001u64));
    group.bench_function("get/owner not in key/someone else's", |b| {
        b.iter(|| {
            assert!(
                now(orders.get(&mallory, black_box(&theirs)))
                    .unwrap()
                    .is_none()
            )
        })
    });
    group.bench_function("get/owner not in key/missing", |b| {
        b.iter(|| {
            assert!(
                now(orders.get(&mallory, black_box(&missing)))
                    .unwrap()
                    .is_none()
            )
        })
    });
    group.bench_function("get/owner not in key/own", |b| {
        b.iter(|| {
            assert!(
                now(orders.get(&alice, black_box(&theirs)))
                    .unwrap()
                    .is_some()
            )
        })
    });
    let (theirs, missing) = (Key::new("alice"), Key::new("nobody"));
    group.bench_function("get/owner is the key/someone else's", |b| {
        b.iter(|| {
            assert!(
                now(profiles.get(&mallory, black_box(&theirs)))
                    .unwrap()
                    .is_none()
            )
        })
    });
    group.bench_function("get/owner is the key/missing", |b| {
        b.iter(|| {
            assert!(
                now(profiles.get(&mallory, black_box(&missing)))
                    .unwrap()
                    .is_none()
            )
        })
    });
    group.finish();
}

criterion_group!(benches, gate);
criterion_main!(benches);
