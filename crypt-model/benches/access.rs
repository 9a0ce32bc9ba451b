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

/// A patient's chart: the owner is the key, and a doctor and a care team of five are named in
/// it, so the gate must read the record to decide (no refusal from the key alone).
#[derive(EncryptedItem)]
#[crypt_model(table = "bench_charts")]
struct Chart {
    #[partition_key]
    #[owner]
    patient_id: String,
    #[delegate]
    doctor_id: String,
    #[delegate(write)]
    care_team: std::collections::BTreeSet<String>,
    #[sensitive]
    diagnosis: Sensitive<String>,
}

/// Delegation: a doctor reading another doctor's patient against a missing record, and against
/// their own patient (decrypted), on the memory store.
fn delegation(c: &mut Criterion) {
    let keys = Arc::new(Keys::new(LocalKeyring::generate().unwrap()));
    let charts = Table::<Chart, _>::new(MemoryStore::new(), keys).unwrap();
    for i in 0..1_000u32 {
        let patient = format!("p{:04}", 2 * i);
        let mut chart = Chart {
            patient_id: patient.clone(),
            doctor_id: if i % 2 == 0 { "dr-a" } else { "dr-b" }.into(),
            care_team: (0..5).map(|n| format!("nurse-{n}")).collect(),
            diagnosis: Sensitive::new("hypertension".into()),
        };
        now(charts.put(&Caller::user(patient).unwrap(), &mut chart)).unwrap();
    }
    let (dr_a, dr_b) = (Caller::user("dr-a").unwrap(), Caller::user("dr-b").unwrap());
    let mut group = c.benchmark_group("delegation gate");
    group
        .sample_size(1_000)
        .measurement_time(Duration::from_secs(4));
    // p0000 is dr-a's patient; p0001 does not exist.
    let (theirs, missing) = (Key::new("p0000"), Key::new("p0001"));
    group.bench_function("get/another doctor's patient", |b| {
        b.iter(|| {
            assert!(
                now(charts.get(&dr_b, black_box(&theirs)))
                    .unwrap()
                    .is_none()
            )
        })
    });
    group.bench_function("get/missing", |b| {
        b.iter(|| {
            assert!(
                now(charts.get(&dr_b, black_box(&missing)))
                    .unwrap()
                    .is_none()
            )
        })
    });
    group.bench_function("get/the doctor's own patient", |b| {
        b.iter(|| {
            assert!(
                now(charts.get(&dr_a, black_box(&theirs)))
                    .unwrap()
                    .is_some()
            )
        })
    });
    let nurse = Caller::user("nurse-4").unwrap();
    group.bench_function("get/the last of a care team of five", |b| {
        b.iter(|| {
            assert!(
                now(charts.get(&nurse, black_box(&theirs)))
                    .unwrap()
                    .is_some()
            )
        })
    });
    group.finish();
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

criterion_group!(benches, gate, delegation);
criterion_main!(benches);
