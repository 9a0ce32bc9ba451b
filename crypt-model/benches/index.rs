//! Blind indexes: the cost of computing an index value per record (a write with and without
//! an indexed field), and of a search over 10,000 records in the memory store.
//!
//! Run: `cargo bench -p crypt-model --bench index`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use criterion::{Criterion, criterion_group, criterion_main};
use crypt_model::{
    Caller, EncryptedItem, IndexSecret, Keys, LocalKeyring, MemoryStore, Sensitive, Table,
};

/// Runs a future that never waits (the local keyring and the memory store never do).
fn now<F: Future>(future: F) -> F::Output {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the benchmark's future waited"),
    }
}

#[derive(EncryptedItem)]
#[crypt_model(table = "bench_indexed")]
struct Indexed {
    #[partition_key]
    #[owner]
    user_id: String,
    #[sensitive(index = "exact", normalize = "trim_lowercase")]
    email: Sensitive<String>,
}

#[derive(EncryptedItem)]
#[crypt_model(table = "bench_plain")]
struct Unindexed {
    #[partition_key]
    #[owner]
    user_id: String,
    #[sensitive]
    email: Sensitive<String>,
}

fn index(c: &mut Criterion) {
    let keys = Arc::new(
        Keys::new(LocalKeyring::generate().unwrap())
            .with_index_secret(IndexSecret::generate().unwrap()),
    );
    let email = "Ada.Lovelace@Analytical.Engine";
    let mut group = c.benchmark_group("blind index");
    group.bench_function("to_item/without index", |b| {
        b.iter(|| {
            let record = Unindexed {
                user_id: "u".into(),
                email: Sensitive::new(black_box(email).into()),
            };
            now(record.to_item(&keys)).unwrap()
        })
    });
    group.bench_function("to_item/with index", |b| {
        b.iter(|| {
            let record = Indexed {
                user_id: "u".into(),
                email: Sensitive::new(black_box(email).into()),
            };
            now(record.to_item(&keys)).unwrap()
        })
    });

    let table = Table::<Indexed, _>::new(MemoryStore::new(), keys.clone()).unwrap();
    for i in 0..10_000 {
        let mut record = Indexed {
            user_id: format!("user{i:05}"),
            email: Sensitive::new(format!("user{i}@example.com")),
        };
        now(table.put(&Caller::user(format!("user{i:05}")).unwrap(), &mut record)).unwrap();
    }
    let caller = Caller::user("user04242").unwrap();
    let lookup = Indexed::by_email("user4242@example.com").unwrap();
    assert_eq!(now(table.find(&caller, &lookup)).unwrap().len(), 1);
    group.bench_function("find/10,000 records, memory store", |b| {
        b.iter(|| now(table.find(black_box(&caller), &lookup)).unwrap())
    });
    group.finish();
}

criterion_group!(benches, index);
criterion_main!(benches);
