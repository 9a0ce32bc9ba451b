//! crypt-model against the AWS Database Encryption SDK for DynamoDB (`aws-db-esdk`), in one
//! run, on the same reference item, both with a local (raw AES) key:
//!
//! - partition key (25 B), sort key (10 B), owner (13 B): plain, authenticated;
//! - email (30 B), ssn (11 B), notes (1,000 B): encrypted;
//! - age (a number): plain.
//!
//! crypt-model is measured under both its suites: suite 1 (XChaCha20-Poly1305, the default) and
//! suite 2 (AES-256-GCM, the NIST-approved one, like the SDK's). Prints microseconds per item,
//! heap allocations per item, and the ratios of each suite. Also prints
//! crypt-model's key-provider calls per 10,000 writes and reads with the default cache.
//!
//! Run: `cd benches/esdk-compare && cargo run --release`. The two other builds that
//! docs/performance.md measures: the same command prefixed with
//! `RUSTFLAGS='--cfg poly1305_backend="soft"' CARGO_TARGET_DIR=$PWD/target/poly1305-soft`
//! (the portable Poly1305) or
//! `RUSTFLAGS='-C target-cpu=x86-64-v3' CARGO_TARGET_DIR=$PWD/target/x86-64-v3`.

use std::alloc::System;
use std::collections::HashMap;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use aws_db_esdk::CryptoAction;
use aws_db_esdk::item_encryptor::client as enc_client;
use aws_db_esdk::item_encryptor::types::dynamo_db_item_encryptor_config::DynamoDbItemEncryptorConfig;
use aws_db_esdk::material_providers::client as mpl_client;
use aws_db_esdk::material_providers::types::material_providers_config::MaterialProvidersConfig;
use aws_db_esdk::material_providers::types::{AesWrappingAlg, DbeAlgorithmSuiteId};
use aws_sdk_dynamodb::types::AttributeValue as Ddb;
use crypt_model::{Caller, Keys, EncryptedItem, LocalKeyring, Sensitive};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

type BoxError = Box<dyn std::error::Error>;

const PK: &str = "tenant-0042#user-00000017";
const SK: &str = "profile#01";
const OWNER: &str = "user-00000017";
const EMAIL: &str = "ada.lovelace@analytical.engine";
const SSN: &str = "078-05-1120";

/// The reference item under suite 2 (AES-256-GCM), as `Reference` is under suite 1.
#[derive(EncryptedItem)]
#[crypt_model(table = "reference", suite = "aes256gcm")]
struct ReferenceGcm {
    #[partition_key]
    pk: String,
    #[sort_key]
    sk: String,
    #[owner]
    owner: String,
    #[sensitive]
    email: Sensitive<String>,
    #[sensitive]
    ssn: Sensitive<String>,
    #[sensitive]
    notes: Sensitive<String>,
    age: u32,
}

#[derive(EncryptedItem)]
#[crypt_model(table = "reference")]
struct Reference {
    #[partition_key]
    pk: String,
    #[sort_key]
    sk: String,
    #[owner]
    owner: String,
    #[sensitive]
    email: Sensitive<String>,
    #[sensitive]
    ssn: Sensitive<String>,
    #[sensitive]
    notes: Sensitive<String>,
    age: u32,
}

fn reference() -> Reference {
    Reference {
        pk: PK.into(),
        sk: SK.into(),
        owner: OWNER.into(),
        email: Sensitive::new(EMAIL.into()),
        ssn: Sensitive::new(SSN.into()),
        notes: Sensitive::new("n".repeat(1000)),
        age: 36,
    }
}

fn reference_gcm() -> ReferenceGcm {
    let Reference {
        pk,
        sk,
        owner,
        email,
        ssn,
        notes,
        age,
    } = reference();
    ReferenceGcm {
        pk,
        sk,
        owner,
        email,
        ssn,
        notes,
        age,
    }
}

fn esdk_item() -> HashMap<String, Ddb> {
    HashMap::from([
        ("pk".to_owned(), Ddb::S(PK.into())),
        ("sk".to_owned(), Ddb::S(SK.into())),
        ("owner".to_owned(), Ddb::S(OWNER.into())),
        ("email".to_owned(), Ddb::S(EMAIL.into())),
        ("ssn".to_owned(), Ddb::S(SSN.into())),
        ("notes".to_owned(), Ddb::S("n".repeat(1000))),
        (":age".to_owned(), Ddb::N("36".into())),
    ])
}

/// Microseconds per call of `f`, the best of 5 rounds of `n` calls, and heap allocations per call.
fn measure(n: u32, mut f: impl FnMut()) -> (f64, f64) {
    for _ in 0..n / 10 {
        f();
    }
    let mut best = f64::MAX;
    for _ in 0..5 {
        let start = Instant::now();
        for _ in 0..n {
            f();
        }
        best = best.min(start.elapsed().as_secs_f64() * 1e6 / f64::from(n));
    }
    let region = Region::new(GLOBAL);
    for _ in 0..100 {
        f();
    }
    let allocations = region.change().allocations as f64 / 100.0;
    (best, allocations)
}

async fn esdk_encryptor(suite: DbeAlgorithmSuiteId) -> Result<enc_client::Client, BoxError> {
    let mpl = mpl_client::Client::from_conf(MaterialProvidersConfig::builder().build()?)?;
    let keyring = mpl
        .create_raw_aes_keyring()
        .key_name("bench-key")
        .key_namespace("bench")
        .wrapping_key((1u8..=32).collect::<Vec<u8>>())
        .wrapping_alg(AesWrappingAlg::AlgAes256GcmIv12Tag16)
        .send()
        .await?;
    let actions = HashMap::from([
        ("pk".to_owned(), CryptoAction::SignOnly),
        ("sk".to_owned(), CryptoAction::SignOnly),
        ("owner".to_owned(), CryptoAction::SignOnly),
        ("email".to_owned(), CryptoAction::EncryptAndSign),
        ("ssn".to_owned(), CryptoAction::EncryptAndSign),
        ("notes".to_owned(), CryptoAction::EncryptAndSign),
        (":age".to_owned(), CryptoAction::DoNothing),
    ]);
    let config = DynamoDbItemEncryptorConfig::builder()
        .logical_table_name("reference")
        .partition_key_name("pk")
        .sort_key_name("sk")
        .attribute_actions_on_encrypt(actions)
        .keyring(keyring)
        .allowed_unsigned_attribute_prefix(":")
        .algorithm_suite_id(suite)
        .build()?;
    Ok(enc_client::Client::from_conf(config)?)
}

/// Runs a future: one poll with a no-op waker (both libraries complete at once with a local
/// key), else on the runtime. Keeps the executor's fixed cost out of the per-item figures.
fn run<F: Future>(runtime: &tokio::runtime::Runtime, future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => runtime.block_on(future),
    }
}

fn main() -> Result<(), BoxError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let _context = runtime.enter();

    // crypt-model, through the derive, with a local key and the default cache.
    let keys = Keys::new(LocalKeyring::new(
        "bench",
        &(1u8..=32).collect::<Vec<u8>>(),
    )?);
    let record = reference();
    let stored = run(&runtime, record.to_item(&keys))?;
    let owner = Caller::user(OWNER).unwrap();
    let (cm_encrypt, cm_encrypt_allocs) = measure(20_000, || {
        run(&runtime, record.to_item(&keys)).unwrap();
    });
    let (cm_decrypt, cm_decrypt_allocs) = measure(20_000, || {
        let sealed = Reference::from_item(stored.clone());
        run(&runtime, sealed.open(&owner, &keys)).unwrap();
    });
    let gcm = reference_gcm();
    let gcm_stored = run(&runtime, gcm.to_item(&keys))?;
    let (gcm_encrypt, gcm_encrypt_allocs) = measure(20_000, || {
        run(&runtime, gcm.to_item(&keys)).unwrap();
    });
    let (gcm_decrypt, gcm_decrypt_allocs) = measure(20_000, || {
        let sealed = ReferenceGcm::from_item(gcm_stored.clone());
        run(&runtime, sealed.open(&owner, &keys)).unwrap();
    });

    println!("Reference item, microseconds per item (best of 5 rounds), heap allocations per item");
    println!(
        "crypt-model's Poly1305 backend: {}\n",
        if cfg!(poly1305_backend = "soft") {
            "portable (--cfg poly1305_backend=\"soft\")"
        } else if cfg!(target_feature = "avx2") {
            "AVX2 compiled in (a -C target-cpu with AVX2)"
        } else {
            "default (AVX2 detected at run time)"
        }
    );
    println!(
        "{:<46} {:>10} {:>10} {:>12} {:>12}",
        "", "encrypt", "decrypt", "allocs enc", "allocs dec"
    );
    println!(
        "{:<46} {:>10.1} {:>10.1} {:>12.0} {:>12.0}",
        "crypt-model, suite 1 (derive, LocalKeyring)",
        cm_encrypt,
        cm_decrypt,
        cm_encrypt_allocs,
        cm_decrypt_allocs
    );
    println!(
        "{:<46} {:>10.1} {:>10.1} {:>12.0} {:>12.0}",
        "crypt-model, suite 2 AES-256-GCM (same)",
        gcm_encrypt,
        gcm_decrypt,
        gcm_encrypt_allocs,
        gcm_decrypt_allocs
    );

    for (name, suite) in [
        (
            "aws-db-esdk, default suite (ECDSA P-384)",
            DbeAlgorithmSuiteId::AlgAes256GcmHkdfSha512CommitKeyEcdsaP384SymsigHmacSha384,
        ),
        (
            "aws-db-esdk, non-signing suite",
            DbeAlgorithmSuiteId::AlgAes256GcmHkdfSha512CommitKeySymsigHmacSha384,
        ),
    ] {
        let encryptor = run(&runtime, esdk_encryptor(suite))?;
        let plaintext = esdk_item();
        let encrypted = runtime
            .block_on(
                encryptor
                    .encrypt_item()
                    .plaintext_item(plaintext.clone())
                    .send(),
            )?
            .encrypted_item
            .ok_or("no encrypted item")?;
        let (encrypt, encrypt_allocs) = measure(500, || {
            runtime
                .block_on(
                    encryptor
                        .encrypt_item()
                        .plaintext_item(plaintext.clone())
                        .send(),
                )
                .unwrap();
        });
        let (decrypt, decrypt_allocs) = measure(500, || {
            runtime
                .block_on(
                    encryptor
                        .decrypt_item()
                        .encrypted_item(encrypted.clone())
                        .send(),
                )
                .unwrap();
        });
        println!(
            "{name:<46} {encrypt:>10.1} {decrypt:>10.1} {encrypt_allocs:>12.0} {decrypt_allocs:>12.0}"
        );
        println!(
            "{:<46} {:>9.0}x {:>9.0}x",
            "  crypt-model, suite 1, is faster by",
            encrypt / cm_encrypt,
            decrypt / cm_decrypt
        );
        println!(
            "{:<46} {:>9.0}x {:>9.0}x",
            "  crypt-model, suite 2, is faster by",
            encrypt / gcm_encrypt,
            decrypt / gcm_decrypt
        );
    }

    // Key-provider budget with the default cache.
    let writer = Keys::new(LocalKeyring::new(
        "bench",
        &(1u8..=32).collect::<Vec<u8>>(),
    )?);
    let mut items = Vec::with_capacity(10_000);
    for _ in 0..10_000 {
        items.push(run(&runtime, record.to_item(&writer))?);
    }
    let reader = Keys::new(LocalKeyring::new(
        "bench",
        &(1u8..=32).collect::<Vec<u8>>(),
    )?);
    for item in &items {
        run(
            &runtime,
            Reference::from_item(item.clone()).open(&owner, &reader),
        )?;
    }
    println!(
        "\nKey-provider calls, default cache: {} per 10,000 writes, {} per 10,000 reads (another process)",
        writer.keyring_calls().total(),
        reader.keyring_calls().total()
    );
    Ok(())
}
