//! The migration job on DynamoDB (moto), beside plain SDK loops with the same concurrency: one
//! of `PutItem` (the store's fastest write) and one of the conditional `UpdateItem` requests the
//! job sends, without the library. If the job's rate is close to the second, the store, not the
//! library, is the bottleneck (docs/performance.md reports the figures). Then the same job as 1,
//! 2 and 4 workers sharing a job table, the segments in flight the same.
//!
//! Run, with moto started as `scripts/test` starts it:
//! `CRYPT_MODEL_TEST_ENDPOINT=http://127.0.0.1:5000 cargo bench -p crypt-model-tests --bench migrate_moto`
//! (`MIGRATE_RECORDS`, default 2,000; `MIGRATE_CONCURRENCY`, default 8). Run by `cargo test`
//! (as `scripts/test` does, without `--bench`), it is a smoke test: 50 records, one round.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../moto/mod.rs"]
mod moto;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use aws_sdk_dynamodb::types::AttributeValue as Sdk;
use crypt_model::keyring::LocalErasureKey;
use crypt_model::lifecycle::{Job, TableCheckpoints};
use crypt_model::{
    AttributeValue, Caller, EncryptedItem, Grant, Item, Keys, LocalKeyring, MigrationPlans,
    Sensitive, Store, Table, TableRef,
};
use crypt_model_dynamo::{DynamoStore, ProvisionOptions, provision};

#[derive(EncryptedItem)]
#[crypt_model(table = "bench_customers", migrate_from_plaintext)]
struct Customer {
    #[partition_key]
    #[owner]
    user_id: String,
    #[sensitive]
    ssn: Sensitive<String>,
    #[sensitive]
    email: Sensitive<String>,
    plan: String,
}

fn plaintext(i: usize) -> Item {
    Item::from_iter([
        ("user_id", AttributeValue::S(format!("user-{i:06}"))),
        (
            "ssn",
            AttributeValue::S(format!("{:03}-45-{i:04}", i % 900 + 100)),
        ),
        ("email", AttributeValue::S(format!("user{i}@example.com"))),
        ("plan", AttributeValue::S("basic".into())),
    ])
}

fn sdk_item(item: &Item) -> HashMap<String, Sdk> {
    item.iter()
        .map(|(name, value)| {
            let value = match value {
                AttributeValue::S(s) => Sdk::S(s.clone()),
                AttributeValue::B(b) => Sdk::B(b.clone().into()),
                other => panic!("{other:?}"),
            };
            (name.to_owned(), value)
        })
        .collect()
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A new table holding the records in plaintext.
async fn seeded(store: &DynamoStore, records: usize) -> TableRef {
    let table = TableRef::for_schema(&moto::unique("bench_migrate"), &Customer::SCHEMA).unwrap();
    provision(store.client(), &table, ProvisionOptions::default())
        .await
        .unwrap();
    let items: Vec<Item> = (0..records).map(plaintext).collect();
    for chunk in items.chunks(25) {
        let mut pending = chunk.to_vec();
        while !pending.is_empty() {
            pending = store.batch_put(&table, pending).await.unwrap();
        }
    }
    table
}

/// Runs `work(i)` for every record, `concurrency` at a time; records per second.
async fn rate<F, Fut>(records: usize, concurrency: usize, work: F) -> f64
where
    F: Fn(usize) -> Fut + Sync,
    Fut: Future<Output = ()>,
{
    let start = Instant::now();
    let lanes = (0..concurrency).map(|lane| {
        let work = &work;
        async move {
            for i in (lane..records).step_by(concurrency) {
                work(i).await;
            }
        }
    });
    futures_util::future::join_all(lanes).await;
    records as f64 / start.elapsed().as_secs_f64()
}

/// A `PutItem` of each record, as stored before the migration.
async fn put_loop(
    client: &aws_sdk_dynamodb::Client,
    table: &TableRef,
    records: usize,
    concurrency: usize,
) -> f64 {
    rate(records, concurrency, |i| {
        let (client, name) = (client.clone(), table.name().to_owned());
        async move {
            client
                .put_item()
                .table_name(name)
                .set_item(Some(sdk_item(&plaintext(i))))
                .send()
                .await
                .unwrap();
        }
    })
    .await
}

/// The job's requests without the library: each record's conditional update, its plain
/// attributes compared, a header and a message set, its plain values removed.
async fn update_loop(
    client: &aws_sdk_dynamodb::Client,
    table: &TableRef,
    records: usize,
    concurrency: usize,
) -> f64 {
    rate(records, concurrency, |i| {
        let (client, name) = (client.clone(), table.name().to_owned());
        async move { update(&client, &name, i).await }
    })
    .await
}

/// The job's request for record `i`, sent by the SDK.
async fn update(client: &aws_sdk_dynamodb::Client, name: &str, i: usize) {
    let values = sdk_item(&plaintext(i))
        .into_iter()
        .filter(|(name, _)| name != "user_id")
        .map(|(name, value)| (format!(":{name}"), value))
        .chain([
            (":h".to_owned(), Sdk::B(vec![2; 110].into())),
            (":s".to_owned(), Sdk::B(vec![3; 90].into())),
        ])
        .collect();
    client
        .update_item()
        .table_name(name)
        .key("user_id", Sdk::S(format!("user-{i:06}")))
        .update_expression("SET #h = :h, #s = :s REMOVE #ssn, #email")
        .condition_expression(
            "attribute_exists(#id) AND attribute_not_exists(#h) AND \
                     attribute_not_exists(#s) AND #ssn = :ssn AND #email = :email AND \
                     #plan = :plan",
        )
        .expression_attribute_names("#id", "user_id")
        .expression_attribute_names("#h", "__cm_header")
        .expression_attribute_names("#s", "__cm_sealed")
        .expression_attribute_names("#ssn", "ssn")
        .expression_attribute_names("#email", "email")
        .expression_attribute_names("#plan", "plan")
        .set_expression_attribute_values(Some(values))
        .send()
        .await
        .unwrap();
}

/// What the job does, without the library: each segment scanned a page of 100 at a time, each
/// record of a page given its conditional update.
async fn scan_update_loop(
    client: &aws_sdk_dynamodb::Client,
    table: &TableRef,
    records: usize,
    concurrency: usize,
) -> f64 {
    let start = Instant::now();
    let segments = (0..concurrency).map(|segment| async move {
        let mut after = None;
        loop {
            let page = client
                .scan()
                .table_name(table.name())
                .segment(segment as i32)
                .total_segments(concurrency as i32)
                .limit(100)
                .set_exclusive_start_key(after)
                .send()
                .await
                .unwrap();
            for item in page.items() {
                let Some(Sdk::S(id)) = item.get("user_id") else {
                    panic!("a record without its key")
                };
                update(client, table.name(), id[5..].parse().unwrap()).await;
            }
            after = page.last_evaluated_key;
            if after.is_none() {
                break;
            }
        }
    });
    futures_util::future::join_all(segments).await;
    records as f64 / start.elapsed().as_secs_f64()
}

/// The migration job, with as many segments in flight as the loops have lanes: as one process (`workers` 0) or as `workers` workers sharing a job table
/// on moto, each running `concurrency / workers` segments at once (the same requests in flight).
async fn job(
    store: &DynamoStore,
    table: &TableRef,
    records: usize,
    concurrency: usize,
    workers: usize,
) -> f64 {
    let keys = Arc::new(Keys::new(LocalKeyring::generate().unwrap()));
    let key = LocalErasureKey::generate().unwrap();
    let plans = MigrationPlans::new(store.clone(), &moto::unique("bench-plans"), key).unwrap();
    provision(
        store.client(),
        plans.table_ref(),
        ProvisionOptions::default(),
    )
    .await
    .unwrap();
    let customers = Table::<Customer, _>::named(store.clone(), keys, table.name())
        .unwrap()
        .with_grant(Grant::read("job").unwrap())
        .with_grant(Grant::write("job").unwrap())
        .with_plaintext_migration(plans);
    // The plan (runbook step 1) is not the migration's cost: it runs before, untimed.
    let planned = Job::plan_migration(&customers, &Caller::service("job").unwrap())
        .segments(concurrency as u32)
        .run()
        .await
        .unwrap();
    assert_eq!(planned.counts.plaintext, records as u64);
    let caller = Caller::service("job").unwrap();
    if workers == 0 {
        let start = Instant::now();
        let report = Job::migrate(&customers, &caller)
            .segments(concurrency as u32)
            .run()
            .await
            .unwrap();
        assert_eq!(report.counts.changed, records as u64);
        return records as f64 / start.elapsed().as_secs_f64();
    }
    let jobs = TableCheckpoints::new(store.clone(), &moto::unique("bench-jobs")).unwrap();
    provision(
        store.client(),
        jobs.table_ref(),
        ProvisionOptions::default(),
    )
    .await
    .unwrap();
    // Segments of a few hundred records each, so that the workers share them out.
    let segments = (records / 250).max(concurrency) as u32;
    let start = Instant::now();
    let runs = (0..workers).map(|worker| {
        Job::migrate(&customers, &caller)
            .named("migrate:bench")
            .segments(segments)
            .checkpoints(jobs.clone())
            .worker_name(&format!("bench-{worker}"))
            .worker((concurrency / workers).max(1) as u32)
            .run()
    });
    let reports = futures_util::future::join_all(runs).await;
    let elapsed = start.elapsed().as_secs_f64();
    for report in reports {
        assert_eq!(report.unwrap().counts.changed, records as u64);
    }
    records as f64 / elapsed
}

#[tokio::main]
async fn main() {
    let measuring = std::env::args().any(|arg| arg == "--bench");
    let records = env("MIGRATE_RECORDS", if measuring { 2_000 } else { 50 });
    let concurrency = env("MIGRATE_CONCURRENCY", 8);
    let rounds = if measuring { 2 } else { 1 };
    let client = moto::dynamo();
    let store = DynamoStore::new(client.clone());
    println!(
        "{records} records, {concurrency} at a time, on moto at {}",
        moto::endpoint()
    );

    for round in 1..=rounds {
        // Alternating order, each phase on a fresh table deleted afterwards: moto slows down as
        // it holds more items, and this machine drifts.
        let mut rates = [0.0; 7];
        let order: [usize; 7] = if round % 2 == 1 {
            [0, 1, 2, 3, 4, 5, 6]
        } else {
            [6, 5, 4, 3, 2, 1, 0]
        };
        for phase in order {
            let table = seeded(&store, records).await;
            rates[phase] = match phase {
                0 => put_loop(&client, &table, records, concurrency).await,
                1 => update_loop(&client, &table, records, concurrency).await,
                2 => scan_update_loop(&client, &table, records, concurrency).await,
                3 => job(&store, &table, records, concurrency, 0).await,
                // 1, 2 and 4 workers on a job table.
                _ => job(&store, &table, records, concurrency, 1 << (phase - 4)).await,
            };
            client
                .delete_table()
                .table_name(table.name())
                .send()
                .await
                .unwrap();
        }
        let [put, update, scan_update, job, one, two, four] = rates;
        println!(
            "round {round}: PutItem loop {put:.0}/s, conditional UpdateItem loop {update:.0}/s, \
             scan and conditional UpdateItem {scan_update:.0}/s, migration job {job:.0}/s: \
             {:.0} % of the put loop, {:.0} % of the update loop, {:.0} % of the scan and update",
            100.0 * job / put,
            100.0 * job / update,
            100.0 * job / scan_update
        );
        println!(
            "round {round}: on a job table, 1 worker {one:.0}/s, 2 workers {two:.0}/s, 4 workers \
             {four:.0}/s: {:.0} %, {:.0} %, {:.0} % of the scan and update; {:.0} %, {:.0} %, \
             {:.0} % of the one-process job",
            100.0 * one / scan_update,
            100.0 * two / scan_update,
            100.0 * four / scan_update,
            100.0 * one / job,
            100.0 * two / job,
            100.0 * four / job
        );
    }
}
