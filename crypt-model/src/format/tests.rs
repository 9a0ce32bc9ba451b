//! Known-answer tests: the vectors of `docs/format.md`, checked byte for byte, twice — through
//! the engine, and through the raw primitives following the spec's prose, so that the document
//! and the code cannot drift apart. (`scripts/format-reference.py` checks them a third time, in
//! Python.)

use crate::error::DataError;
use chacha20poly1305::aead::{AeadInOut, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use sha2::Sha256;

use super::*;
use crate::aead::opened_plaintext;
use crate::blind_index::{BlindIndex, IndexScope, IndexSecret};
use crate::encoding::put_u32;
use crate::keyring::{EncryptionContext, local};

/// Puts a 4-byte length.
fn lp(out: &mut Vec<u8>, bytes: &[u8]) {
    put_u32(out, bytes.len());
    out.extend_from_slice(bytes);
}

/// The canonical encoding of the authenticated attributes alone (the vectors show it).
pub(super) fn authenticated_attributes<'a>(
    schema: &Schema,
    get: impl Fn(&str) -> Option<&'a AttributeValue>,
) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    schema.with_authenticated(|names| canonical::put_attributes(&mut out, names, get))?;
    Ok(out)
}

/// The message's plaintext of `fields`.
fn encode_fields(fields: &[(&str, &[u8])]) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::new());
    super::message::put_fields(&mut out, fields);
    out
}

/// The fields of an opened message, as `(name, value)` in the message's order.
fn decode_fields(bytes: &[u8]) -> Option<Vec<(&str, &[u8])>> {
    let mut fields = Vec::new();
    super::message::for_each_field(bytes, |name, value| fields.push((name, value)))?;
    Some(fields)
}

use super::spec_vectors::{Vector, all, array, hex, text, vectors};

fn leak(s: &str) -> &'static str {
    Box::leak(s.to_owned().into_boxed_str())
}

/// The schema a vector's `model` line describes.
pub(super) fn schema(v: &Vector) -> Schema {
    let model = text(v, "model");
    let part = |label: &str| -> Option<&'static str> {
        model
            .split(',')
            .find_map(|p| p.trim().strip_prefix(label).map(|rest| leak(rest.trim())))
    };
    let list = |label: &str| -> &'static [&'static str] {
        let names: Vec<&'static str> = part(label)
            .map(|names| names.split_whitespace().map(leak).collect())
            .unwrap_or_default();
        Box::leak(names.into_boxed_slice())
    };
    let indexes: Vec<BlindIndex> = list("indexed")
        .iter()
        .map(|field| {
            BlindIndex::new(
                field,
                leak(&format!("__cm_ix_{field}")),
                leak(&format!("cm_ix_{field}")),
            )
        })
        .collect();
    let mut schema = Schema::new(
        leak(text(v, "table")),
        part("partition key").expect("a partition key"),
        part("owner").expect("an owner"),
    )
    .with_plain(list("plain"))
    .with_blind_indexes(Box::leak(indexes.into_boxed_slice()))
    .with_sensitive(list("sensitive"));
    if let Some(sort_key) = part("sort key") {
        schema = schema.with_sort_key(sort_key);
    }
    if let Some(version) = part("version") {
        schema = schema.with_version(version);
    }
    schema
}

/// The item a vector's `authenticated` lines describe (absent attributes left out).
pub(super) fn item(v: &Vector) -> Item {
    let mut item = Item::new();
    for line in all(v, "authenticated") {
        let (name, typed) = line.split_once(" = ").expect("name = TYPE value");
        let value = match typed.split_once(' ') {
            _ if typed == "absent" => continue,
            Some(("S", s)) => AttributeValue::S(s.to_owned()),
            Some(("N", n)) => AttributeValue::N(n.to_owned()),
            Some(("B", b)) => AttributeValue::B(hex::decode(b).unwrap()),
            Some(("SS", members)) => {
                AttributeValue::Ss(members.split(',').map(str::to_owned).collect())
            }
            _ => panic!("no vector uses `{typed}`"),
        };
        item.insert(name, value);
    }
    item
}

pub(super) fn fields(v: &Vector) -> Vec<(&'static str, Vec<u8>)> {
    all(v, "field")
        .iter()
        .map(|line| {
            let (name, value) = line.split_once(" = ").unwrap();
            (leak(name), hex::decode(value).unwrap())
        })
        .collect()
}

pub(super) fn wrapped(v: &Vector) -> WrappedDataKey {
    WrappedDataKey {
        key_id: text(v, "key id").to_owned(),
        ciphertext: hex(v, "wrapped data key"),
    }
}

#[test]
fn item_vectors_through_the_engine() {
    for v in vectors("item") {
        let schema = schema(&v);
        let item = item(&v);
        let fields = fields(&v);
        let attributes = authenticated_attributes(&schema, |name| item.get(name)).unwrap();
        assert_eq!(hex::encode(&attributes), text(&v, "attributes"));
        let data_key = DataKey::from_slice("test", &array::<32>(&v, "data key")).unwrap();
        let named: Vec<(&str, &[u8])> = fields.iter().map(|(n, p)| (*n, p.as_slice())).collect();
        assert_eq!(hex::encode(&*encode_fields(&named)), text(&v, "plaintext"));
        let (header, sealed) = v3::seal(
            &schema,
            &data_key,
            &wrapped(&v),
            array(&v, "salt"),
            array(&v, "nonce"),
            |name| item.get(name),
            &named,
        )
        .unwrap();
        assert_eq!(hex::encode(&header), text(&v, "header"));
        assert_eq!(
            hex::encode(v3::associated_data(&schema, &header, |name| item.get(name)).unwrap()),
            text(&v, "aad")
        );
        assert_eq!(hex::encode(&sealed), text(&v, "sealed"));

        // And back.
        let parsed = Header::parse(&header).unwrap();
        assert_eq!(parsed.key_id(), text(&v, "key id"));
        assert_eq!(parsed.wrapped(), hex(&v, "wrapped data key"));
        let (opened, _) = v3::open_trying(
            &schema,
            &data_key,
            &parsed.v3(),
            &header,
            |name| item.get(name),
            sealed,
            Vec::new,
        )
        .unwrap();
        let decoded = decode_fields(opened_plaintext(&opened)).unwrap();
        let mut expected: Vec<(&str, &[u8])> = named.clone();
        expected.sort_by_key(|(name, _)| name.as_bytes());
        assert_eq!(decoded, expected);
    }
}

#[test]
fn item_vectors_from_the_spec_prose() {
    for v in vectors("item") {
        let table = text(&v, "table").as_bytes();
        let prk = Hkdf::<Sha256>::extract(Some(&hex(&v, "salt")), &hex(&v, "data key")).0;
        assert_eq!(hex::encode(prk), text(&v, "prk"));
        let hkdf = Hkdf::<Sha256>::from_prk(&prk).unwrap();
        let expand = |label: &[u8]| {
            let mut info = Vec::new();
            lp(&mut info, label);
            info.push(3);
            lp(&mut info, table);
            let mut out = [0u8; 32];
            hkdf.expand(&info, &mut out).unwrap();
            out
        };
        let key = expand(b"crypt-model key");
        let commitment = expand(b"crypt-model commit");
        assert_eq!(hex::encode(key), text(&v, "key"));
        assert_eq!(hex::encode(commitment), text(&v, "commitment"));
        let key_id = text(&v, "key id").as_bytes();
        let wrapped = hex(&v, "wrapped data key");
        let mut header = vec![3];
        header.extend_from_slice(&(key_id.len() as u16).to_be_bytes());
        header.extend_from_slice(key_id);
        header.extend_from_slice(&(wrapped.len() as u16).to_be_bytes());
        header.extend_from_slice(&wrapped);
        header.extend_from_slice(&hex(&v, "salt"));
        header.extend_from_slice(&commitment);
        assert_eq!(hex::encode(&header), text(&v, "header"));
        let mut aad = Vec::new();
        lp(&mut aad, b"crypt-model item");
        aad.push(3);
        lp(&mut aad, table);
        lp(&mut aad, &header);
        aad.extend_from_slice(&hex(&v, "attributes"));
        assert_eq!(hex::encode(&aad), text(&v, "aad"));
        let nonce: [u8; 24] = array(&v, "nonce");
        let mut body = hex(&v, "plaintext");
        let tag = XChaCha20Poly1305::new(&key.into())
            .encrypt_inout_detached(&XNonce::from(nonce), &aad, body.as_mut_slice().into())
            .unwrap();
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&body);
        sealed.extend_from_slice(&tag);
        assert_eq!(hex::encode(&sealed), text(&v, "sealed"));
    }
}

#[test]
fn index_vectors() {
    for v in vectors("index") {
        let secret = IndexSecret::from_bytes(&hex(&v, "index secret")).unwrap();
        let bits: u16 = text(&v, "bits").parse().unwrap();
        let owners = all(&v, "owner");
        let scope = if owners.is_empty() {
            IndexScope::Table
        } else {
            IndexScope::Owner
        };
        let field = leak(text(&v, "field"));
        let spec = BlindIndex::new(field, "__cm_ix", "cm_ix")
            .with_bits(bits)
            .with_scope(scope);
        let value = secret.index_value(
            text(&v, "table"),
            &spec,
            owners.first().copied().unwrap_or(""),
            &hex(&v, "normalized"),
        );
        assert_eq!(hex::encode(value), text(&v, "index value"));
    }
}

#[test]
fn local_wrap_vector() {
    for v in vectors("wrap") {
        let table = text(&v, "table");
        let context = match all(&v, "context").as_slice() {
            [] => EncryptionContext::for_table(table),
            ["crypt-model:owner-keys = 1"] => EncryptionContext::for_owner_keys(
                table
                    .strip_suffix("/owner-keys")
                    .expect("an owner keys' table"),
            ),
            ["crypt-model:index-secret = 1"] => EncryptionContext::for_index_secret(table),
            other => panic!("no context {other:?}"),
        };
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
}

#[test]
fn number_vectors() {
    for v in vectors("number") {
        assert_eq!(
            canonical_number(text(&v, "number")).unwrap(),
            text(&v, "canonical")
        );
    }
}

#[test]
fn cbor_vector() {
    #[derive(serde::Serialize, serde::Deserialize, zeroize::Zeroize, PartialEq, Debug)]
    struct Card {
        number: String,
        expiry: String,
    }
    impl crate::plaintext::SerdePlaintext for Card {}
    for v in vectors("cbor") {
        let entries = all(&v, "entry");
        let value = |i: usize| entries[i].split_once(" = ").unwrap().1.to_owned();
        let card = Card {
            number: value(0),
            expiry: value(1),
        };
        let mut encoder = crate::plaintext::Encoder::new();
        crate::plaintext::Plaintext::encode(&card, &mut encoder).unwrap();
        let bytes = encoder.as_slice();
        assert_eq!(hex::encode(bytes), text(&v, "cbor"));
        assert_eq!(
            <Card as crate::plaintext::Plaintext>::decode(bytes).unwrap(),
            card
        );
    }
}

#[test]
fn header_parse_rejects_bad_shapes() {
    let bytes = v3::encode_header("k", &[1, 2, 3], &[5; SALT_LEN], &[6; COMMITMENT_LEN]).unwrap();
    let parsed = Header::parse(&bytes).unwrap();
    assert_eq!(
        (parsed.version(), parsed.key_id(), parsed.wrapped()),
        (3, "k", &[1, 2, 3][..])
    );
    assert_eq!(parsed.v3().salt(&bytes), [5; SALT_LEN]);
    assert_eq!(parsed.v3().commitment(&bytes), [6; COMMITMENT_LEN]);
    assert_eq!(parsed.bytes(), bytes);
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
        Err(Error::Data(DataError::Malformed { .. }))
    ));
    // Version 4 is read with the feature `aes-gcm` (format/v4_tests.rs).
    let unknown: &[u8] = if cfg!(feature = "aes-gcm") {
        &[0, 1, 2, 5, 255]
    } else {
        &[0, 1, 2, 4, 5, 255]
    };
    for &version in unknown {
        let mut other = bytes.clone();
        other[0] = version;
        assert!(matches!(
            Header::parse(&other),
            Err(Error::Data(DataError::UnsupportedVersion { version: v, supported })) if v == version && supported == header::NEWEST_VERSION
        ));
    }
}

#[test]
fn key_ids_are_short_printable_ascii() {
    let header =
        |key_id: &str| v3::encode_header(key_id, &[1], &[5; SALT_LEN], &[6; COMMITMENT_LEN]);
    assert!(header(&"k".repeat(MAX_KEY_ID_LEN)).is_ok());
    for bad in [
        String::new(),
        "k".repeat(MAX_KEY_ID_LEN + 1),
        "has space".into(),
        "tab\there".into(),
        "new\nline".into(),
        "clé".into(),
        "\u{1b}[31mred".into(),
    ] {
        assert!(header(&bad).is_err(), "{bad:?}");
        // The same key id written by hand into a header is refused when read.
        let good = header("k").unwrap();
        let mut forged = vec![3];
        forged.extend_from_slice(&(bad.len() as u16).to_be_bytes());
        forged.extend_from_slice(bad.as_bytes());
        forged.extend_from_slice(&good[4..]);
        assert!(
            matches!(
                Header::parse(&forged),
                Err(Error::Data(DataError::Malformed { .. }))
            ),
            "{bad:?}"
        );
    }
}

#[test]
fn an_opened_message_decodes_only_when_well_formed() {
    let fields = [("a", &b"1"[..]), ("b", &b""[..])];
    let encoded = encode_fields(&fields);
    assert_eq!(decode_fields(&encoded).unwrap(), fields);
    for len in 0..encoded.len() {
        assert!(decode_fields(&encoded[..len]).is_none(), "{len}");
    }
    let mut long = encoded.to_vec();
    long.push(0);
    assert!(decode_fields(&long).is_none());
    assert!(decode_fields(&[0xff, 0xff, 0xff, 0xff]).is_none());
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

#[test]
fn a_record_is_plaintext_exactly_when_no_name_starts_with_the_reserved_prefix() {
    let item = |names: &[&str]| {
        Item::from_iter(
            names
                .iter()
                .map(|name| (*name, AttributeValue::S("x".to_owned()))),
        )
    };
    for names in [
        &[][..],
        &["a", "b"],
        &["_", "__c", "__cl", "__cn", "zzz"],
        &["__CM_header", "user_id"],
    ] {
        assert!(is_plaintext_record(&item(names)), "{names:?}");
    }
    for names in [
        &["__cm"][..],
        &["__cm_header"],
        &["a", "__cm_ix_email", "z"],
        &["__c", "__cm_sealed", "__cn"],
    ] {
        assert!(!is_plaintext_record(&item(names)), "{names:?}");
    }
}

/// docs/format.md, "Blind indexes": the normalisations, byte-exactly.
#[test]
fn normalisations_are_as_the_spec_says() {
    use crate::blind_index::Normalize;
    let spaces: String = [
        '\u{9}', '\u{a}', '\u{b}', '\u{c}', '\u{d}', ' ', '\u{85}', '\u{a0}', '\u{1680}',
        '\u{2000}', '\u{200a}', '\u{2028}', '\u{2029}', '\u{202f}', '\u{205f}', '\u{3000}',
    ]
    .into_iter()
    .collect();
    assert_eq!(
        Normalize::Trim.apply(&format!("{spaces}a b{spaces}")),
        "a b"
    );
    // Not White_Space: kept (Python's `str.strip` would remove the first four).
    for kept in [
        '\u{1c}', '\u{1d}', '\u{1e}', '\u{1f}', '\u{200b}', '\u{feff}',
    ] {
        let text = format!("{kept}a{kept}");
        assert_eq!(Normalize::Trim.apply(&text), text, "U+{:04X}", kept as u32);
    }
    assert_eq!(Normalize::Lowercase.apply("\u{130}"), "i\u{307}");
    // A capital sigma at the end of a word is a final sigma (U+03C2), elsewhere U+03C3.
    let word = "\u{39f}\u{394}\u{39f}\u{3a3}";
    let lowered = "\u{3bf}\u{3b4}\u{3bf}\u{3c2}";
    assert_eq!(Normalize::Lowercase.apply(word), lowered);
    assert_eq!(
        Normalize::Lowercase.apply("\u{3a3}\u{39f}"),
        "\u{3c3}\u{3bf}"
    );
    assert_ne!(Normalize::Lowercase.apply("e\u{301}"), "\u{e9}");
    assert_eq!(Normalize::TrimLowercase.apply(" ÉTÉ\u{3000}"), "été");
}

/// docs/format.md, "The wrapped-key text form".
#[test]
fn wrapped_key_text_vector() {
    for v in vectors("text") {
        let wrapped = crate::keyring::WrappedDataKey {
            key_id: text(&v, "key id").to_owned(),
            ciphertext: hex(&v, "ciphertext"),
        };
        assert_eq!(wrapped.to_text(), text(&v, "text"));
        let read = crate::keyring::WrappedDataKey::from_text(&format!(" {}\n", text(&v, "text")));
        assert_eq!(read.unwrap(), wrapped);
    }
}
