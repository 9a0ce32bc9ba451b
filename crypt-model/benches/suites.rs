//! The reference item under both suites, in one run: suite 1 (XChaCha20-Poly1305) and suite 2
//! (AES-256-GCM, feature `aes-gcm`), each through the derive beside its floor.
//!
//! The item is `cipher.rs`'s: a partition key (25 bytes), a sort key (10), an owner (13), two
//! plain fields, and three sensitive strings of 30, 11 and 1,000 bytes. Suite 1's floor is
//! `cipher.rs`'s (`cargo bench -p crypt-model --bench cipher -- 'reference item'`); suite 2's,
//! here, is format version 4's primitive calls made directly through aws-lc-rs with every input
//! that does not depend on the item's randomness prepared in advance: the salt from AWS-LC's
//! generator, HKDF-SHA256's extract and two expands, the header's HMAC-SHA256, and one AES-256-GCM
//! message of the three fields under a nonce the module draws.
//!
//! Run: `cargo bench -p crypt-model --features aes-gcm --bench suites`; the `fips` build:
//! `CARGO_TARGET_DIR=$PWD/target/fips cargo bench -p crypt-model --features fips --bench suites`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, RandomizedNonceKey, UnboundKey};
use aws_lc_rs::{hkdf, hmac, rand};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};

use crypt_model::{Caller, EncryptedItem, Keys, LocalKeyring, Sensitive};

/// Runs a future that never waits (the local keyring and a warm cache never do).
fn now<F: Future>(future: F) -> F::Output {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the benchmark's future waited"),
    }
}

/// The reference item, suite 1.
#[derive(EncryptedItem)]
#[crypt_model(table = "profiles", suite = "xchacha20poly1305")]
struct Suite1 {
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

/// The reference item, suite 2.
#[derive(EncryptedItem)]
#[crypt_model(table = "profiles", suite = "aes256gcm")]
struct Suite2 {
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

const EMAIL: &str = "ada.lovelace@analytical.engine";
const SSN: &str = "078-05-1120";

macro_rules! reference {
    ($model:ident) => {
        $model {
            pk: "tenant-0042#user-00000017".into(),
            sk: "profile#01".into(),
            owner: "user-00000017".into(),
            email: Sensitive::new(EMAIL.into()),
            ssn: Sensitive::new(SSN.into()),
            notes: Sensitive::new("n".repeat(1000)),
            display_name: "Ada Lovelace".into(),
            age: 36,
        }
    };
}

fn lp(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// An HKDF output length.
struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

/// Suite 2's floor: format version 4's primitive calls (docs/format.md, "Suite 2") with every
/// input that does not depend on the item's randomness prepared in advance.
struct Floor {
    data_key: [u8; 32],
    key_info: Vec<u8>,
    commit_info: Vec<u8>,
    aad_prefix: Vec<u8>,
    attributes: Vec<u8>,
    keys: Vec<u8>,
}

impl Floor {
    fn new() -> Self {
        let info = |label: &[u8]| {
            let mut info = Vec::new();
            lp(&mut info, label);
            info.extend_from_slice(&[4, 2]);
            lp(&mut info, b"profiles");
            info
        };
        let mut aad_prefix = Vec::new();
        lp(&mut aad_prefix, b"crypt-model item");
        aad_prefix.push(4);
        lp(&mut aad_prefix, b"profiles");
        let mut attributes = 5u32.to_be_bytes().to_vec();
        for (name, tag, value) in [
            ("age", 2u8, &b"36"[..]),
            ("display_name", 1, b"Ada Lovelace"),
            ("owner", 1, b"user-00000017"),
            ("pk", 1, b"tenant-0042#user-00000017"),
            ("sk", 1, b"profile#01"),
        ] {
            lp(&mut attributes, name.as_bytes());
            attributes.push(tag);
            lp(&mut attributes, value);
        }
        let (key_id, wrapped) = (b"local-0123456789abcdef", [9u8; 72]);
        let mut keys = Vec::new();
        keys.extend_from_slice(&(key_id.len() as u16).to_be_bytes());
        keys.extend_from_slice(key_id);
        keys.extend_from_slice(&(wrapped.len() as u16).to_be_bytes());
        keys.extend_from_slice(&wrapped);
        Floor {
            data_key: [7; 32],
            key_info: info(b"crypt-model key"),
            commit_info: info(b"crypt-model commit"),
            aad_prefix,
            attributes,
            keys,
        }
    }

    /// The message's plaintext of the three fields, as the engine encodes it.
    fn body() -> Vec<u8> {
        let notes = "n".repeat(1000);
        let mut body = 3u32.to_be_bytes().to_vec();
        for (name, value) in [("email", EMAIL), ("notes", &notes), ("ssn", SSN)] {
            lp(&mut body, name.as_bytes());
            lp(&mut body, value.as_bytes());
        }
        body
    }

    /// The item's message key and commit key.
    fn keys(&self, salt: &[u8; 32]) -> ([u8; 32], hmac::Key) {
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, salt).extract(&self.data_key);
        let mut key = [0; 32];
        prk.expand(&[&self.key_info], Len(32))
            .unwrap()
            .fill(&mut key)
            .unwrap();
        let commit: hmac::Key = prk
            .expand(&[&self.commit_info], hmac::HMAC_SHA256)
            .unwrap()
            .into();
        (key, commit)
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
        let mut salt = [0; 32];
        rand::fill(&mut salt).unwrap();
        let (key, commit) = self.keys(&salt);
        let mut header = Vec::with_capacity(2 + self.keys.len() + 64);
        header.extend_from_slice(&[4, 2]);
        header.extend_from_slice(&self.keys);
        header.extend_from_slice(&salt);
        let commitment = hmac::sign(&commit, &header);
        header.extend_from_slice(commitment.as_ref());
        let aad = self.aad(&header);
        let mut sealed = Vec::with_capacity(12 + body.len() + 16);
        sealed.extend_from_slice(&[0; 12]);
        sealed.extend_from_slice(body);
        let cipher = RandomizedNonceKey::new(&AES_256_GCM, &key).unwrap();
        let mut message = sealed.split_off(12);
        let nonce = cipher
            .seal_in_place_append_tag(Aad::from(&aad), &mut message)
            .unwrap();
        sealed.copy_from_slice(nonce.as_ref());
        sealed.extend_from_slice(&message);
        (header, sealed)
    }

    fn decrypt(&self, header: &[u8], sealed: &[u8]) -> Vec<u8> {
        let at = header.len() - 64;
        let salt: [u8; 32] = header[at..at + 32].try_into().unwrap();
        let (key, commit) = self.keys(&salt);
        hmac::verify(&commit, &header[..at + 32], &header[at + 32..]).unwrap();
        let aad = self.aad(header);
        let (nonce, rest) = sealed.split_first_chunk::<12>().unwrap();
        let mut plaintext = rest.to_vec();
        let cipher = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &key).unwrap());
        let len = cipher
            .open_in_place(
                Nonce::assume_unique_for_key(*nonce),
                Aad::from(&aad),
                &mut plaintext,
            )
            .unwrap()
            .len();
        plaintext.truncate(len);
        plaintext
    }
}

macro_rules! derive_group {
    ($c:expr, $name:expr, $model:ident) => {{
        let keys = Keys::new(LocalKeyring::generate().unwrap());
        let record = reference!($model);
        let stored = now(record.to_item(&keys)).unwrap();
        let owner = Caller::user("user-00000017").unwrap();
        let mut group = $c.benchmark_group($name);
        group.bench_function("to_item", |b| {
            b.iter(|| now(black_box(&record).to_item(&keys)).unwrap())
        });
        // Batches of 8, as in cipher.rs: the item arrives owned and in cache, as from a store.
        group.bench_function("from_item + open", |b| {
            b.iter_batched(
                || stored.clone(),
                |item| {
                    let sealed = $model::from_item(black_box(item));
                    drop(now(sealed.open(&owner, &keys)).unwrap());
                },
                BatchSize::NumIterations(8),
            )
        });
        group.finish();
    }};
}

fn suites(c: &mut Criterion) {
    eprintln!(
        "AWS-LC: {}",
        if aws_lc_rs::try_fips_mode().is_ok() {
            "its FIPS module (feature fips)"
        } else {
            "not its FIPS module"
        }
    );
    derive_group!(c, "reference item, suite 1, derive", Suite1);
    derive_group!(c, "reference item, suite 2, derive", Suite2);

    let floor = Floor::new();
    let body = Floor::body();
    let (header, sealed) = floor.encrypt(&body);
    assert_eq!(floor.decrypt(&header, &sealed), body);
    let mut group = c.benchmark_group("reference item, suite 2, floor");
    group.bench_function("encrypt", |b| b.iter(|| floor.encrypt(black_box(&body))));
    group.bench_function("decrypt", |b| {
        b.iter(|| floor.decrypt(black_box(&header), black_box(&sealed)))
    });
    group.finish();
}

criterion_group!(benches, suites);
criterion_main!(benches);
