//! The decision behind format version 2 (docs/format.md, "Why one sealed message per item"): the
//! two shapes that authenticate a whole item, made directly with the primitives on the reference
//! item of `benches/cipher.rs`, measured in one run.
//!
//! - (a) per-field: each sensitive field its own XChaCha20-Poly1305 message under its own
//!   HKDF-derived key, as format version 1 did, plus an item tag, HMAC-SHA256 over the header,
//!   every ciphertext and every authenticated plain attribute;
//! - (b) per-item: all sensitive fields in one XChaCha20-Poly1305 message under one derived key,
//!   with the header and every authenticated attribute as associated data.
//!
//! Run: `cargo bench -p crypt-model --bench format_shapes` (and with
//! `RUSTFLAGS='--cfg poly1305_backend="soft"' CARGO_TARGET_DIR=$PWD/target/poly1305-soft` for the
//! portable Poly1305).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;

use chacha20poly1305::aead::{AeadInOut, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use criterion::{Criterion, criterion_group, criterion_main};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

fn lp(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

const FIELDS: [&str; 3] = ["email", "ssn", "notes"];

/// The reference item's authenticated plain attributes, canonically encoded: keys, owner, two
/// plain fields.
fn attributes() -> Vec<u8> {
    let mut out = 5u32.to_be_bytes().to_vec();
    for (name, value) in [
        ("age", "36"),
        ("display_name", "Ada Lovelace"),
        ("owner", "user-00000017"),
        ("pk", "tenant-0042#user-00000017"),
        ("sk", "profile#01"),
    ] {
        lp(&mut out, name.as_bytes());
        out.push(1);
        lp(&mut out, value.as_bytes());
    }
    out
}

fn header() -> Vec<u8> {
    let mut out = vec![2];
    lp(&mut out, b"k1");
    lp(&mut out, &[9; 60]);
    out
}

fn random<const N: usize>() -> [u8; N] {
    let mut out = [0; N];
    getrandom::fill(&mut out).unwrap();
    out
}

fn seal(key: &[u8; 32], nonce: [u8; 24], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(24 + plaintext.len() + 16);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(plaintext);
    let tag = XChaCha20Poly1305::new(key.into())
        .encrypt_inout_detached(&XNonce::from(nonce), aad, (&mut out[24..]).into())
        .unwrap();
    out.extend_from_slice(&tag);
    out
}

fn open(key: &[u8; 32], aad: &[u8], sealed: &[u8]) -> Vec<u8> {
    let (nonce, rest) = sealed.split_first_chunk::<24>().unwrap();
    let (body, tag) = rest.split_last_chunk::<16>().unwrap();
    let mut plaintext = body.to_vec();
    XChaCha20Poly1305::new(key.into())
        .decrypt_inout_detached(
            &XNonce::from(*nonce),
            aad,
            plaintext.as_mut_slice().into(),
            &(*tag).into(),
        )
        .unwrap();
    plaintext
}

struct Inputs {
    data_key: [u8; 32],
    attributes: Vec<u8>,
    header: Vec<u8>,
}

/// Shape (a): per-field messages and an item tag.
mod per_field {
    use super::*;

    pub(crate) struct Sealed {
        pub(crate) salt: [u8; 32],
        pub(crate) fields: Vec<Vec<u8>>,
        pub(crate) tag: [u8; 32],
    }

    fn keys(data_key: &[u8; 32], salt: &[u8; 32]) -> (Hkdf<Sha256>, [u8; 32]) {
        let hkdf = Hkdf::<Sha256>::new(Some(salt), data_key);
        let mut mac_key = [0; 32];
        hkdf.expand(b"item tag", &mut mac_key).unwrap();
        (hkdf, mac_key)
    }

    fn tag(mac_key: &[u8; 32], inputs: &Inputs, fields: &[Vec<u8>]) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as hmac::digest::KeyInit>::new_from_slice(mac_key).unwrap();
        mac.update(&inputs.header);
        mac.update(&inputs.attributes);
        for (name, field) in FIELDS.iter().zip(fields) {
            mac.update(&(name.len() as u32).to_be_bytes());
            mac.update(name.as_bytes());
            mac.update(&(field.len() as u32).to_be_bytes());
            mac.update(field);
        }
        mac.finalize().into_bytes().into()
    }

    pub(crate) fn encrypt(inputs: &Inputs, plaintexts: [&[u8]; 3]) -> Sealed {
        let salt = random::<32>();
        let nonces = random::<72>();
        let (hkdf, mac_key) = keys(&inputs.data_key, &salt);
        let fields: Vec<Vec<u8>> = (0..3)
            .map(|i| {
                let mut key = [0; 32];
                hkdf.expand(FIELDS[i].as_bytes(), &mut key).unwrap();
                let nonce: [u8; 24] = nonces[24 * i..24 * (i + 1)].try_into().unwrap();
                seal(&key, nonce, FIELDS[i].as_bytes(), plaintexts[i])
            })
            .collect();
        let tag = tag(&mac_key, inputs, &fields);
        Sealed { salt, fields, tag }
    }

    pub(crate) fn decrypt(inputs: &Inputs, sealed: &Sealed) -> Vec<Vec<u8>> {
        let (hkdf, mac_key) = keys(&inputs.data_key, &sealed.salt);
        let expected = tag(&mac_key, inputs, &sealed.fields);
        assert!(bool::from(expected.ct_eq(&sealed.tag)));
        (0..3)
            .map(|i| {
                let mut key = [0; 32];
                hkdf.expand(FIELDS[i].as_bytes(), &mut key).unwrap();
                open(&key, FIELDS[i].as_bytes(), &sealed.fields[i])
            })
            .collect()
    }
}

/// Shape (b): one message per item.
mod per_item {
    use super::*;

    pub(crate) struct Sealed {
        pub(crate) salt: [u8; 32],
        pub(crate) commitment: [u8; 32],
        pub(crate) message: Vec<u8>,
    }

    fn keys(data_key: &[u8; 32], salt: &[u8; 32]) -> ([u8; 32], [u8; 32]) {
        let mut okm = [0; 64];
        Hkdf::<Sha256>::new(Some(salt), data_key)
            .expand(b"item", &mut okm)
            .unwrap();
        (okm[..32].try_into().unwrap(), okm[32..].try_into().unwrap())
    }

    fn aad(inputs: &Inputs, commitment: &[u8; 32]) -> Vec<u8> {
        let mut aad = Vec::with_capacity(inputs.header.len() + inputs.attributes.len() + 40);
        lp(&mut aad, &inputs.header);
        aad.extend_from_slice(commitment);
        aad.extend_from_slice(&inputs.attributes);
        aad
    }

    pub(crate) fn encrypt(inputs: &Inputs, plaintexts: [&[u8]; 3]) -> Sealed {
        let salt = random::<32>();
        let nonce = random::<24>();
        let (key, commitment) = keys(&inputs.data_key, &salt);
        let mut body = 3u32.to_be_bytes().to_vec();
        for (name, value) in FIELDS.iter().zip(plaintexts) {
            lp(&mut body, name.as_bytes());
            lp(&mut body, value);
        }
        let message = seal(&key, nonce, &aad(inputs, &commitment), &body);
        Sealed {
            salt,
            commitment,
            message,
        }
    }

    pub(crate) fn decrypt(inputs: &Inputs, sealed: &Sealed) -> Vec<u8> {
        let (key, commitment) = keys(&inputs.data_key, &sealed.salt);
        assert!(bool::from(commitment.ct_eq(&sealed.commitment)));
        open(&key, &aad(inputs, &commitment), &sealed.message)
    }
}

fn shapes(c: &mut Criterion) {
    let inputs = Inputs {
        data_key: [7; 32],
        attributes: attributes(),
        header: header(),
    };
    let (email, ssn, notes) = (
        b"ada.lovelace@analytical.engine".to_vec(),
        b"078-05-1120".to_vec(),
        vec![b'n'; 1000],
    );
    let plaintexts = [&email[..], &ssn[..], &notes[..]];
    let a = per_field::encrypt(&inputs, plaintexts);
    let b = per_item::encrypt(&inputs, plaintexts);
    let a_size: usize = a.fields.iter().map(Vec::len).sum::<usize>() + a.tag.len();
    eprintln!(
        "stored bytes of the sensitive fields and their authentication: (a) {a_size}, (b) {}",
        b.message.len()
    );
    let mut group = c.benchmark_group("format shapes");
    group.bench_function("(a) per-field + item tag/encrypt", |bench| {
        bench.iter(|| per_field::encrypt(&inputs, black_box(plaintexts)))
    });
    group.bench_function("(a) per-field + item tag/decrypt", |bench| {
        bench.iter(|| per_field::decrypt(&inputs, black_box(&a)))
    });
    group.bench_function("(b) one message per item/encrypt", |bench| {
        bench.iter(|| per_item::encrypt(&inputs, black_box(plaintexts)))
    });
    group.bench_function("(b) one message per item/decrypt", |bench| {
        bench.iter(|| per_item::decrypt(&inputs, black_box(&b)))
    });
    group.finish();
}

criterion_group!(benches, shapes);
criterion_main!(benches);
