//! The engine against the cryptographic floor, in one run.
//!
//! The reference item: a partition key (25 bytes), a sort key (10), an owner (13), two plain
//! fields, and three sensitive strings of 30, 11 and 1,000 bytes. "engine" is what a user pays
//! through `Keys` (plaintext encoding, validation, the canonical encoding of the authenticated
//! attributes, cache, item assembly); "floor" is format version 2's OS randomness, HKDF-SHA256
//! and XChaCha20-Poly1305 calls made directly, with no item model.
//! The target for engine/floor is at most 1.5.
//!
//! Run: `cargo bench -p crypt-model --bench cipher`. The two other builds that
//! docs/performance.md measures: the same command prefixed with
//! `RUSTFLAGS='--cfg poly1305_backend="soft"' CARGO_TARGET_DIR=$PWD/target/poly1305-soft`
//! (the portable Poly1305) or
//! `RUSTFLAGS='-C target-cpu=x86-64-v3' CARGO_TARGET_DIR=$PWD/target/x86-64-v3`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use chacha20poly1305::aead::{AeadInOut, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use std::sync::Arc;

use crypt_model::hazmat::Plaintexts;
use crypt_model::{
    AttributeValue, Caller, EncryptedItem, Item, Key, Keys, LocalKeyring, MemoryStore, Schema,
    Sensitive, Table,
};
use hkdf::Hkdf;
use sha2::Sha256;
use subtle::ConstantTimeEq;

const SCHEMA: Schema = Schema::new("profiles", "pk", "owner")
    .with_sort_key("sk")
    .with_sensitive(&["email", "ssn", "notes"])
    .with_plain(&["display_name", "age"]);

/// Runs a future that never waits (the local keyring and a warm cache never do).
fn now<F: Future>(future: F) -> F::Output {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the benchmark's future waited"),
    }
}

fn plain_item() -> Item {
    Item::from_iter([
        ("pk", AttributeValue::S("tenant-0042#user-00000017".into())),
        ("sk", AttributeValue::S("profile#01".into())),
        ("owner", AttributeValue::S("user-00000017".into())),
        ("display_name", AttributeValue::S("Ada Lovelace".into())),
        ("age", AttributeValue::N("36".into())),
    ])
}

struct Secrets {
    email: String,
    ssn: String,
    notes: String,
}

fn secrets() -> Secrets {
    Secrets {
        email: "ada.lovelace@analytical.engine".into(),
        ssn: "078-05-1120".into(),
        notes: "n".repeat(1000),
    }
}

fn engine_encrypt(keys: &Keys, s: &Secrets) -> Item {
    let mut item = plain_item();
    let mut plaintexts = Plaintexts::new();
    plaintexts.insert("email", &s.email).unwrap();
    plaintexts.insert("ssn", &s.ssn).unwrap();
    plaintexts.insert("notes", &s.notes).unwrap();
    now(crypt_model::hazmat::encrypt(
        keys,
        &SCHEMA,
        &mut item,
        &plaintexts,
    ))
    .unwrap();
    item
}

fn lp(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// The floor: format version 2's primitive calls (docs/format.md) with every input that does not
/// depend on the item's randomness prepared in advance — the authenticated attributes' encoding,
/// the key derivation infos, the message's plaintext — and nothing of the item model.
struct Floor {
    data_key: [u8; 32],
    key_info: Vec<u8>,
    commit_info: Vec<u8>,
    aad_prefix: Vec<u8>,
    attributes: Vec<u8>,
    key_id: Vec<u8>,
    wrapped: Vec<u8>,
}

impl Floor {
    fn new() -> Self {
        let info = |label: &[u8]| {
            let mut info = Vec::new();
            lp(&mut info, label);
            info.push(2);
            lp(&mut info, b"profiles");
            info
        };
        let mut aad_prefix = Vec::new();
        lp(&mut aad_prefix, b"crypt-model item");
        aad_prefix.push(2);
        lp(&mut aad_prefix, b"profiles");
        let mut attributes = 5u32.to_be_bytes().to_vec();
        for (name, tag, value) in [
            ("age", 2u8, &b"36E0"[..]),
            ("display_name", 1, b"Ada Lovelace"),
            ("owner", 1, b"user-00000017"),
            ("pk", 1, b"tenant-0042#user-00000017"),
            ("sk", 1, b"profile#01"),
        ] {
            lp(&mut attributes, name.as_bytes());
            attributes.push(1);
            attributes.push(tag);
            lp(&mut attributes, value);
        }
        Floor {
            data_key: [7; 32],
            key_info: info(b"crypt-model key"),
            commit_info: info(b"crypt-model commit"),
            aad_prefix,
            attributes,
            key_id: b"local-0123456789abcdef".to_vec(),
            wrapped: vec![9; 72],
        }
    }

    /// The message's plaintext of the three fields, as the engine encodes it.
    fn body(plaintexts: [&[u8]; 3]) -> Vec<u8> {
        let mut body = 3u32.to_be_bytes().to_vec();
        let mut fields = [
            ("email", plaintexts[0]),
            ("ssn", plaintexts[1]),
            ("notes", plaintexts[2]),
        ];
        fields.sort_by_key(|(name, _)| name.as_bytes());
        for (name, value) in fields {
            lp(&mut body, name.as_bytes());
            lp(&mut body, value);
        }
        body
    }

    fn keys(&self, salt: &[u8; 32]) -> ([u8; 32], [u8; 32]) {
        let hkdf = Hkdf::<Sha256>::new(Some(salt), &self.data_key);
        let (mut key, mut commitment) = ([0; 32], [0; 32]);
        hkdf.expand(&self.key_info, &mut key).unwrap();
        hkdf.expand(&self.commit_info, &mut commitment).unwrap();
        (key, commitment)
    }

    fn header(&self, salt: &[u8; 32], commitment: &[u8; 32]) -> Vec<u8> {
        let mut header = Vec::with_capacity(5 + self.key_id.len() + self.wrapped.len() + 64);
        header.push(2);
        header.extend_from_slice(&(self.key_id.len() as u16).to_be_bytes());
        header.extend_from_slice(&self.key_id);
        header.extend_from_slice(&(self.wrapped.len() as u16).to_be_bytes());
        header.extend_from_slice(&self.wrapped);
        header.extend_from_slice(salt);
        header.extend_from_slice(commitment);
        header
    }

    fn aad(&self, header: &[u8]) -> Vec<u8> {
        let mut aad =
            Vec::with_capacity(self.aad_prefix.len() + 4 + header.len() + self.attributes.len());
        aad.extend_from_slice(&self.aad_prefix);
        lp(&mut aad, header);
        aad.extend_from_slice(&self.attributes);
        aad
    }

    /// Returns the header and the sealed message.
    fn encrypt(&self, body: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let mut randomness = [0; 56];
        getrandom::fill(&mut randomness).unwrap();
        let salt: [u8; 32] = randomness[..32].try_into().unwrap();
        let nonce: [u8; 24] = randomness[32..].try_into().unwrap();
        let (key, commitment) = self.keys(&salt);
        let header = self.header(&salt, &commitment);
        let aad = self.aad(&header);
        let mut out = Vec::with_capacity(24 + body.len() + 16);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(body);
        let tag = XChaCha20Poly1305::new(&key.into())
            .encrypt_inout_detached(&XNonce::from(nonce), &aad, (&mut out[24..]).into())
            .unwrap();
        out.extend_from_slice(&tag);
        (header, out)
    }

    fn decrypt(&self, header: &[u8], sealed: &[u8]) -> Vec<u8> {
        let salt: [u8; 32] = header[header.len() - 64..header.len() - 32]
            .try_into()
            .unwrap();
        let (key, commitment) = self.keys(&salt);
        assert!(bool::from(commitment.ct_eq(&header[header.len() - 32..])));
        let aad = self.aad(header);
        let (nonce, rest) = sealed.split_first_chunk::<24>().unwrap();
        let (body, tag) = rest.split_last_chunk::<16>().unwrap();
        let mut plaintext = body.to_vec();
        XChaCha20Poly1305::new(&key.into())
            .decrypt_inout_detached(
                &XNonce::from(*nonce),
                &aad,
                plaintext.as_mut_slice().into(),
                &(*tag).into(),
            )
            .unwrap();
        plaintext
    }
}

/// Which Poly1305 code this build runs (docs/performance.md, "Choosing the Poly1305 backend").
fn poly1305_backend() -> &'static str {
    if cfg!(poly1305_backend = "soft") {
        "portable (--cfg poly1305_backend=\"soft\")"
    } else if cfg!(target_feature = "avx2") {
        "AVX2 compiled in (a -C target-cpu with AVX2)"
    } else {
        "default (AVX2 detected at run time)"
    }
}

fn reference_item(c: &mut Criterion) {
    eprintln!("Poly1305 backend: {}", poly1305_backend());
    let keys = Keys::new(LocalKeyring::generate().unwrap());
    let s = secrets();
    let stored = engine_encrypt(&keys, &s);
    let owner = Caller::user("user-00000017").unwrap();
    now(crypt_model::hazmat::decrypt(
        &keys, &SCHEMA, &stored, &owner,
    ))
    .unwrap();
    let floor = Floor::new();
    let body = Floor::body([s.email.as_bytes(), s.ssn.as_bytes(), s.notes.as_bytes()]);
    let (header, sealed) = floor.encrypt(&body);

    let mut group = c.benchmark_group("reference item");
    group.bench_function("encrypt/engine", |b| {
        b.iter(|| engine_encrypt(&keys, black_box(&s)))
    });
    group.bench_function("encrypt/floor", |b| {
        b.iter(|| floor.encrypt(black_box(&body)))
    });
    group.bench_function("decrypt/engine", |b| {
        b.iter(|| {
            let mut opened = now(crypt_model::hazmat::decrypt(
                &keys,
                &SCHEMA,
                black_box(&stored),
                &owner,
            ))
            .unwrap();
            let email = opened.take::<String>("email").unwrap();
            let ssn = opened.take::<String>("ssn").unwrap();
            let notes = opened.take::<String>("notes").unwrap();
            (email, ssn, notes)
        })
    });
    group.bench_function("decrypt/floor", |b| {
        b.iter(|| floor.decrypt(black_box(&header), black_box(&sealed)))
    });
    group.finish();
}

/// One XChaCha20-Poly1305 message as the format seals a field (a fresh cipher, 90 bytes of
/// associated data): the per-message cost that the Poly1305 backend decides.
fn aead_message(c: &mut Criterion) {
    let key = [7u8; 32];
    let aad = [1u8; 90];
    let mut group = c.benchmark_group("xchacha20poly1305 message");
    for len in [11usize, 30, 1000, 10 * 1024] {
        let mut buffer = vec![0u8; len];
        group.throughput(Throughput::Bytes(len as u64));
        group.bench_function(format!("{len} B"), |b| {
            b.iter(|| {
                XChaCha20Poly1305::new(&key.into())
                    .encrypt_inout_detached(
                        &XNonce::from([3; 24]),
                        &aad,
                        black_box(buffer.as_mut_slice()).into(),
                    )
                    .unwrap()
            })
        });
    }
    group.finish();
}

fn field_size(c: &mut Criterion) {
    const ONE: Schema = Schema::new("blobs", "pk", "pk").with_sensitive(&["blob"]);
    let keys = Keys::new(LocalKeyring::generate().unwrap());
    let mut group = c.benchmark_group("one sensitive field");
    for kb in [1usize, 10, 100] {
        let blob = vec![0x5au8; kb * 1024];
        group.throughput(Throughput::Bytes(blob.len() as u64));
        group.bench_function(format!("encrypt/{kb} KB"), |b| {
            b.iter(|| {
                let mut item = Item::from_iter([("pk", AttributeValue::S("k".into()))]);
                let mut p = Plaintexts::new();
                p.insert("blob", black_box(&blob)).unwrap();
                now(crypt_model::hazmat::encrypt(&keys, &ONE, &mut item, &p)).unwrap();
                item
            })
        });
    }
    group.finish();
}

/// The reference item through the derive (what users call), beside the engine numbers above.
#[derive(EncryptedItem)]
#[crypt_model(table = "profiles")]
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
    display_name: String,
    age: u32,
}

fn reference_record() -> Reference {
    let s = secrets();
    Reference {
        pk: "tenant-0042#user-00000017".into(),
        sk: "profile#01".into(),
        owner: "user-00000017".into(),
        email: Sensitive::new(s.email.clone()),
        ssn: Sensitive::new(s.ssn.clone()),
        notes: Sensitive::new(s.notes.clone()),
        display_name: "Ada Lovelace".into(),
        age: 36,
    }
}

fn derive_and_table(c: &mut Criterion) {
    let keys = Arc::new(Keys::new(LocalKeyring::generate().unwrap()));
    let record = reference_record();
    let stored = now(record.to_item(&keys)).unwrap();
    let owner = Caller::user("user-00000017").unwrap();
    let mut group = c.benchmark_group("reference item, derive");
    group.bench_function("to_item", |b| {
        b.iter(|| now(black_box(&record).to_item(&keys)).unwrap())
    });
    // The item comes owned, as from a store: its clone is set-up, outside the timing. Batches
    // of 8: an item arrives fresh from the store's deserializer, in cache. Criterion's large
    // batches (`SmallInput`) would time reads of thousands of items cloned earlier, out of
    // cache, and the allocator consolidating them as they are freed: 5-20 % more, which the
    // floor does not pay either.
    group.bench_function("from_item + open", |b| {
        b.iter_batched(
            || stored.clone(),
            |item| {
                let sealed = Reference::from_item(black_box(item));
                drop(now(sealed.open(&owner, &keys)).unwrap());
            },
            BatchSize::NumIterations(8),
        )
    });
    group.finish();

    let table = Table::<Reference, _>::new(MemoryStore::new(), keys.clone()).unwrap();
    let key = Key::new("tenant-0042#user-00000017").with_sort("profile#01");
    let mut group = c.benchmark_group("memory store round trip");
    group.bench_function("put + get", |b| {
        b.iter(|| {
            let mut record = reference_record();
            now(table.put(&owner, &mut record)).unwrap();
            now(table.get(&owner, &key)).unwrap().unwrap()
        })
    });
    group.finish();
}

/// How the cost grows with the number of sensitive fields (30-byte values each).
fn field_count(c: &mut Criterion) {
    let keys = Keys::new(LocalKeyring::generate().unwrap());
    let owner = Caller::user("k").unwrap();
    let mut group = c.benchmark_group("sensitive fields per item");
    for count in [1usize, 10, 50] {
        let names: Vec<&'static str> = (0..count)
            .map(|i| &*Box::leak(format!("f{i:02}").into_boxed_str()))
            .collect();
        let schema = Schema::new("many", "pk", "pk")
            .with_sensitive(Box::leak(names.clone().into_boxed_slice()));
        let value = "x".repeat(30);
        let encrypt = || {
            let mut item = Item::from_iter([("pk", AttributeValue::S("k".into()))]);
            let mut plaintexts = Plaintexts::new();
            for name in &names {
                plaintexts.insert(name, &value).unwrap();
            }
            now(crypt_model::hazmat::encrypt(
                &keys,
                &schema,
                &mut item,
                &plaintexts,
            ))
            .unwrap();
            item
        };
        let stored = encrypt();
        group.bench_function(format!("encrypt/{count}"), |b| b.iter(encrypt));
        group.bench_function(format!("decrypt/{count}"), |b| {
            b.iter(|| {
                now(crypt_model::hazmat::decrypt(
                    &keys,
                    &schema,
                    black_box(&stored),
                    &owner,
                ))
                .unwrap()
            })
        });
    }
    group.finish();
}

// The derive's benchmarks run right after the floor's, so that their ratios to it are taken
// minutes closer together on a machine whose speed drifts.
criterion_group!(
    benches,
    reference_item,
    derive_and_table,
    aead_message,
    field_size,
    field_count
);
criterion_main!(benches);
