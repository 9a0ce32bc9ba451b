//! Known-answer tests: the vectors of `docs/format.md`, checked byte for byte, twice — through
//! the engine, and through the raw primitives following the spec's prose, so that the document
//! and the code cannot drift apart.

use std::collections::BTreeMap;

use chacha20poly1305::aead::{AeadInOut, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use sha2::Sha256;

use super::*;
use crate::keyring::{EncryptionContext, local};

const SPEC: &str = include_str!("../../../docs/format.md");

/// The vectors of the spec: each ```text block that starts with `vector:`, as `name: hex` lines
/// (an indented line continues the previous value).
fn vectors() -> BTreeMap<String, BTreeMap<String, String>> {
    let mut vectors = BTreeMap::new();
    let mut lines = SPEC.lines();
    while let Some(line) = lines.next() {
        if line.trim() != "```text" {
            continue;
        }
        let mut fields: BTreeMap<String, String> = BTreeMap::new();
        let mut last = String::new();
        for line in lines.by_ref().take_while(|l| l.trim() != "```") {
            if line.starts_with(' ') && !last.is_empty() {
                fields.get_mut(&last).unwrap().push_str(line.trim());
            } else if let Some((name, value)) = line.split_once(':') {
                last = name.trim().to_owned();
                fields.insert(last.clone(), value.trim().to_owned());
            }
        }
        if let Some(name) = fields.get("vector").cloned() {
            vectors.insert(name, fields);
        }
    }
    vectors
}

fn hex(fields: &BTreeMap<String, String>, name: &str) -> Vec<u8> {
    hex::decode(
        fields
            .get(name)
            .unwrap_or_else(|| panic!("vector lacks `{name}`")),
    )
    .unwrap_or_else(|_| panic!("`{name}` is not hex"))
}

fn text<'a>(fields: &'a BTreeMap<String, String>, name: &str) -> &'a str {
    fields
        .get(name)
        .unwrap_or_else(|| panic!("vector lacks `{name}`"))
}

fn array<const N: usize>(fields: &BTreeMap<String, String>, name: &str) -> [u8; N] {
    hex(fields, name)
        .try_into()
        .unwrap_or_else(|_| panic!("`{name}` is not {N} bytes"))
}

/// Builds the schema and item a vector describes.
fn record(v: &BTreeMap<String, String>) -> (Schema, Item) {
    let leak = |s: &str| -> &'static str { Box::leak(s.to_owned().into_boxed_str()) };
    let fields: Vec<&'static str> = text(v, "fields")
        .split(',')
        .map(|f| leak(f.trim()))
        .collect();
    let mut schema = Schema::new(
        leak(text(v, "table")),
        leak(text(v, "partition key")),
        leak(text(v, "owner")),
    )
    .with_sensitive(Box::leak(fields.into_boxed_slice()));
    let mut item = Item::new();
    let value = |typed: &str| match typed.split_once(' ') {
        Some(("S", s)) => AttributeValue::S(s.to_owned()),
        Some(("N", n)) => AttributeValue::N(n.to_owned()),
        _ => panic!("unknown key value `{typed}`"),
    };
    item.insert(
        text(v, "partition key"),
        value(text(v, "partition key value")),
    );
    if let Some(sort_key) = v.get("sort key") {
        schema = schema.with_sort_key(leak(sort_key));
        item.insert(sort_key.as_str(), value(text(v, "sort key value")));
    }
    if text(v, "owner") != text(v, "partition key") {
        item.insert(
            text(v, "owner"),
            AttributeValue::S(text(v, "owner value").to_owned()),
        );
    }
    (schema, item)
}

fn item_vectors() -> Vec<BTreeMap<String, String>> {
    let vectors: Vec<_> = vectors()
        .into_values()
        .filter(|v| v.contains_key("header"))
        .collect();
    assert!(
        vectors.len() >= 2,
        "docs/format.md should hold at least two item vectors"
    );
    vectors
}

#[test]
fn item_vectors_through_the_engine() {
    for v in item_vectors() {
        let (schema, item) = record(&v);
        let binding = Binding::new(&schema, &item).unwrap();
        let data_key = DataKey::from_array(array(&v, "data key"));
        let wrapped = WrappedDataKey {
            key_id: text(&v, "key id").to_owned(),
            ciphertext: hex(&v, "wrapped data key"),
        };
        let plaintexts: Vec<Vec<u8>> = schema
            .sensitive()
            .iter()
            .map(|f| hex(&v, &format!("{f} plaintext")))
            .collect();
        let fields: Vec<(&str, &[u8], [u8; NONCE_LEN])> = schema
            .sensitive()
            .iter()
            .zip(&plaintexts)
            .map(|(f, p)| (*f, p.as_slice(), array(&v, &format!("{f} nonce"))))
            .collect();
        let (header, ciphertexts) = seal_item(
            schema.table(),
            &binding,
            &data_key,
            &wrapped,
            array(&v, "salt"),
            &fields,
        )
        .unwrap();
        assert_eq!(
            hex::encode(&header),
            text(&v, "header"),
            "{}: header",
            text(&v, "vector")
        );
        for (field, ciphertext) in schema.sensitive().iter().zip(&ciphertexts) {
            assert_eq!(
                hex::encode(ciphertext),
                text(&v, &format!("{field} ciphertext")),
                "{}: {field}",
                text(&v, "vector")
            );
        }

        // And back.
        let parsed = Header::parse(&header).unwrap();
        let sealed: Vec<(&'static str, &[u8])> = schema
            .sensitive()
            .iter()
            .zip(&ciphertexts)
            .map(|(f, c)| (*f, c.as_slice()))
            .collect();
        let opened = open_item(schema.table(), &binding, &data_key, &parsed, &sealed).unwrap();
        for ((_, plaintext), expected) in opened.iter().zip(&plaintexts) {
            assert_eq!(plaintext.as_slice(), expected.as_slice());
        }
    }
}

fn lp(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// The spec's prose, followed step by step with the primitives, must give the same bytes and
/// the intermediate values the spec lists.
#[test]
fn item_vectors_from_the_spec_prose() {
    for v in item_vectors() {
        let name = text(&v, "vector").to_owned();
        let (schema, item) = record(&v);
        // binding = version || lp(table) || key part(pk) || 0x00 / 0x01 key part(sk) || lp(owner name) || lp(owner)
        let key_part = |out: &mut Vec<u8>, attr: &str| {
            lp(out, attr.as_bytes());
            match item.get(attr).unwrap() {
                AttributeValue::S(s) => {
                    out.push(1);
                    lp(out, s.as_bytes());
                }
                AttributeValue::N(n) => {
                    out.push(2);
                    lp(out, n.as_bytes());
                }
                _ => unreachable!(),
            }
        };
        let mut binding = vec![1];
        lp(&mut binding, schema.table().as_bytes());
        key_part(&mut binding, schema.partition_key());
        match schema.sort_key() {
            Some(sk) => {
                binding.push(1);
                key_part(&mut binding, sk);
            }
            None => binding.push(0),
        }
        lp(&mut binding, schema.owner().as_bytes());
        let AttributeValue::S(owner) = item.get(schema.owner()).unwrap() else {
            unreachable!()
        };
        lp(&mut binding, owner.as_bytes());
        assert_eq!(
            hex::encode(&binding),
            text(&v, "binding"),
            "{name}: binding"
        );

        let (prk, hkdf) = Hkdf::<Sha256>::extract(Some(&hex(&v, "salt")), &hex(&v, "data key"));
        assert_eq!(hex::encode(prk), text(&v, "prk"), "{name}: prk");

        let mut names: Vec<&str> = schema.sensitive().to_vec();
        names.sort();
        let mut commit_info = Vec::new();
        lp(&mut commit_info, b"crypt-model commit");
        commit_info.extend_from_slice(&binding);
        commit_info.extend_from_slice(&(names.len() as u32).to_be_bytes());
        for n in &names {
            lp(&mut commit_info, n.as_bytes());
        }
        let mut commitment = [0; 32];
        hkdf.expand(&commit_info, &mut commitment).unwrap();
        assert_eq!(
            hex::encode(commitment),
            text(&v, "commitment"),
            "{name}: commitment"
        );

        let key_id = text(&v, "key id").as_bytes();
        let wrapped = hex(&v, "wrapped data key");
        let mut header = vec![1];
        header.extend_from_slice(&(key_id.len() as u16).to_be_bytes());
        header.extend_from_slice(key_id);
        header.extend_from_slice(&(wrapped.len() as u16).to_be_bytes());
        header.extend_from_slice(&wrapped);
        header.extend_from_slice(&hex(&v, "salt"));
        header.extend_from_slice(&commitment);
        assert_eq!(hex::encode(&header), text(&v, "header"), "{name}: header");

        for field in schema.sensitive() {
            let mut info = Vec::new();
            lp(&mut info, b"crypt-model field");
            info.push(1);
            lp(&mut info, schema.table().as_bytes());
            lp(&mut info, field.as_bytes());
            let mut key = [0; 32];
            hkdf.expand(&info, &mut key).unwrap();
            assert_eq!(
                hex::encode(key),
                text(&v, &format!("{field} key")),
                "{name}: {field} key"
            );
            let mut aad = binding.clone();
            lp(&mut aad, field.as_bytes());
            let nonce: [u8; 24] = array(&v, &format!("{field} nonce"));
            let mut body = hex(&v, &format!("{field} plaintext"));
            let tag = XChaCha20Poly1305::new(&key.into())
                .encrypt_inout_detached(&XNonce::from(nonce), &aad, body.as_mut_slice().into())
                .unwrap();
            let sealed = [&nonce[..], &body, &tag].concat();
            assert_eq!(
                hex::encode(sealed),
                text(&v, &format!("{field} ciphertext")),
                "{name}: {field}"
            );
        }
    }
}

#[test]
fn local_wrap_vector() {
    let v = vectors()
        .remove("local-wrap-1")
        .expect("docs/format.md has vector local-wrap-1");
    let context = EncryptionContext::for_table(text(&v, "table"));
    assert_eq!(hex::encode(context.to_bytes()), text(&v, "context bytes"));
    let wrapped = local::wrap_with_nonce(
        &array(&v, "key-encryption key"),
        text(&v, "key id"),
        &context,
        &array(&v, "data key"),
        array(&v, "nonce"),
    );
    assert_eq!(hex::encode(&wrapped), text(&v, "wrapped data key"));
}

#[test]
fn header_parse_rejects_bad_shapes() {
    let header = Header {
        wrapped: WrappedDataKey {
            key_id: "k".into(),
            ciphertext: vec![1, 2, 3],
        },
        salt: [5; SALT_LEN],
        commitment: [6; COMMITMENT_LEN],
    };
    let bytes = header.encode().unwrap();
    assert_eq!(Header::parse(&bytes).unwrap(), header);
    for len in 0..bytes.len() {
        assert!(
            Header::parse(&bytes[..len]).is_err(),
            "a header cut to {len} bytes parsed"
        );
    }
    let mut long = bytes.clone();
    long.push(0);
    assert!(matches!(
        Header::parse(&long),
        Err(Error::MalformedAttribute { .. })
    ));
    let mut v2 = bytes;
    v2[0] = 2;
    assert!(matches!(
        Header::parse(&v2),
        Err(Error::UnsupportedVersion {
            version: 2,
            supported: 1
        })
    ));
}

/// `scripts/test` runs these vectors a second time in a build with
/// `--cfg poly1305_backend="soft"`, the backend docs/performance.md recommends for small fields,
/// and says so with `CRYPT_MODEL_EXPECT_POLY1305=soft`: this fails if that build did not get
/// the flag, so the vectors cannot silently be checked against the default backend twice.
#[test]
fn the_build_has_the_poly1305_backend_the_run_expects() {
    let soft = cfg!(poly1305_backend = "soft");
    match std::env::var("CRYPT_MODEL_EXPECT_POLY1305").as_deref() {
        Ok("soft") => assert!(
            soft,
            "expected a build with --cfg poly1305_backend=\"soft\""
        ),
        Ok("default") => assert!(!soft, "expected a build without poly1305_backend=\"soft\""),
        Ok(other) => panic!("CRYPT_MODEL_EXPECT_POLY1305 is `{other}`: use `soft` or `default`"),
        Err(_) => {}
    }
}
