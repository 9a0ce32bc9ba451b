//! Format version 4, suite 2 (AES-256-GCM): round trips, the commitment, and downgrades — a
//! header edited to name another suite or version, in each direction, never opens.

use super::*;
use crate::attribute::Item;
use crate::data_key::WrappedDataKey;
use hkdf::Hkdf;
use sha2::Sha256;

fn schema() -> Schema {
    Schema::new("patients", "patient_id", "patient_id")
        .with_sensitive(&["diagnosis"])
        .with_plain(&["clinic"])
}

/// Whether `error` is the integrity failure of `attribute`.
fn integrity(error: &Error, attribute: &str) -> bool {
    matches!(error, Error::Integrity(failed) if failed.attribute == attribute)
}

fn item() -> Item {
    Item::from_iter([
        ("patient_id", AttributeValue::S("p-1".into())),
        ("clinic", AttributeValue::S("riverside".into())),
    ])
}

fn wrapped() -> WrappedDataKey {
    WrappedDataKey {
        key_id: "local-key".to_owned(),
        ciphertext: vec![9; 72],
    }
}

fn data_key(byte: u8) -> DataKey {
    DataKey::from_slice("test", &[byte; 32]).unwrap()
}

const FIELDS: &[(&str, &[u8])] = &[("diagnosis", b"hypertension, controlled")];

/// Seals the reference item, the nonce fixed when `nonce` is given.
fn sealed(nonce: Option<[u8; v4::NONCE_LEN]>) -> (Vec<u8>, Vec<u8>) {
    let item = item();
    v4::seal(
        &schema(),
        &data_key(1),
        &wrapped(),
        [2; SALT_LEN],
        nonce,
        |name| item.get(name),
        FIELDS,
    )
    .unwrap()
}

/// Opens a header and message of the reference item as the engine reads any record.
fn open_as_stored(header: &[u8], message: Vec<u8>, key: &DataKey) -> Result<Vec<u8>> {
    let item = item();
    let parsed = Header::parse(header)?;
    let (opened, _) = match &parsed.parsed_v4() {
        Some(fields) => v4::open_trying(
            &schema(),
            key,
            fields,
            header,
            |name| item.get(name),
            message,
            Vec::new,
        )?,
        None => v3::open_trying(
            &schema(),
            key,
            &parsed.v3(),
            header,
            |name| item.get(name),
            message,
            Vec::new,
        )?,
    };
    let plaintext = match parsed.version() {
        4 => v4::opened_plaintext(&opened).to_vec(),
        _ => crate::aead::opened_plaintext(&opened).to_vec(),
    };
    Ok(plaintext)
}

#[test]
fn a_suite_2_item_opens_and_says_what_it_is() {
    let (header, message) = sealed(None);
    let parsed = Header::parse(&header).unwrap();
    assert_eq!(
        (parsed.version(), parsed.suite(), parsed.key_id()),
        (4, Suite::Aes256Gcm, "local-key")
    );
    assert_eq!(parsed.wrapped(), &[9; 72]);
    let mut expected = Vec::new();
    message::put_fields(&mut expected, FIELDS);
    assert_eq!(
        open_as_stored(&header, message.clone(), &data_key(1)).unwrap(),
        expected
    );
    // `nonce (12) || ciphertext || tag (16)`.
    assert_eq!(message.len(), 12 + expected.len() + 16);
    // The module draws the nonce: two seals of the same item differ there, and only there
    // follows the rest.
    let (_, again) = sealed(None);
    assert_ne!(message[..12], again[..12]);
}

#[test]
fn a_suite_2_item_follows_the_specs_prose() {
    let nonce = [3; v4::NONCE_LEN];
    let (header, message) = sealed(Some(nonce));
    // Keys: HKDF-SHA256 with the salt, info `lp(label) || u8(4) || u8(2) || lp(T)`.
    let hkdf = Hkdf::<Sha256>::new(Some(&[2; SALT_LEN]), &[1; 32]);
    let expand = |label: &[u8]| {
        let mut info = Vec::new();
        crate::encoding::put_bytes(&mut info, label);
        info.extend_from_slice(&[4, 2]);
        crate::encoding::put_bytes(&mut info, b"patients");
        let mut out = [0u8; 32];
        hkdf.expand(&info, &mut out).unwrap();
        out
    };
    let (key, commit_key) = (expand(b"crypt-model key"), expand(b"crypt-model commit"));
    // The header: `u8(4) || u8(2) || lp16(key id) || lp16(wrapped) || salt || commitment`,
    // the commitment an HMAC-SHA256 of the rest under the commit key.
    let mut expected = vec![4, 2, 0, 9];
    expected.extend_from_slice(b"local-key");
    expected.extend_from_slice(&[0, 72]);
    expected.extend_from_slice(&[9; 72]);
    expected.extend_from_slice(&[2; SALT_LEN]);
    let commitment = {
        use hmac::{Hmac, KeyInit, Mac};
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&commit_key).unwrap();
        mac.update(&expected);
        mac.finalize().into_bytes()
    };
    expected.extend_from_slice(&commitment);
    assert_eq!(hex::encode(&header), hex::encode(&expected));
    // The message: AES-256-GCM under the key, the nonce, the associated data of version 4.
    let item = item();
    let aad = message::associated_data(4, &schema(), &header, &[], |name| item.get(name)).unwrap();
    let mut plaintext = Vec::new();
    message::put_fields(&mut plaintext, FIELDS);
    let gcm = aws_lc_rs::aead::LessSafeKey::new(
        aws_lc_rs::aead::UnboundKey::new(&aws_lc_rs::aead::AES_256_GCM, &key).unwrap(),
    );
    let mut body = plaintext.clone();
    let tag = gcm
        .seal_in_place_separate_tag(
            aws_lc_rs::aead::Nonce::assume_unique_for_key(nonce),
            aws_lc_rs::aead::Aad::from(&aad),
            &mut body,
        )
        .unwrap();
    let mut stored = nonce.to_vec();
    stored.extend_from_slice(&body);
    stored.extend_from_slice(tag.as_ref());
    assert_eq!(hex::encode(&message), hex::encode(&stored));
}

#[test]
fn a_suite_2_item_does_not_open_under_another_data_key_or_with_an_attribute_changed() {
    let (header, message) = sealed(None);
    let error = open_as_stored(&header, message.clone(), &data_key(7)).unwrap_err();
    assert!(
        integrity(&error, HEADER_ATTRIBUTE),
        "{}: {error:?}",
        "the commitment"
    );
    let mut edited = message.clone();
    let last = edited.len() - 1;
    edited[last] ^= 1;
    let error = open_as_stored(&header, edited, &data_key(1)).unwrap_err();
    assert!(
        integrity(&error, SEALED_ATTRIBUTE),
        "{}: {error:?}",
        "the tag"
    );
    let item = Item::from_iter([
        ("patient_id", AttributeValue::S("p-1".into())),
        ("clinic", AttributeValue::S("elsewhere".into())),
    ]);
    let parsed = Header::parse(&header).unwrap();
    let error = v4::open_trying(
        &schema(),
        &data_key(1),
        &parsed.parsed_v4().unwrap(),
        &header,
        |name| item.get(name),
        message,
        Vec::new,
    )
    .unwrap_err();
    assert!(
        integrity(&error, SEALED_ATTRIBUTE),
        "{}: {error:?}",
        "an authenticated attribute"
    );
}

#[test]
fn a_header_edited_to_name_another_suite_or_version_never_opens() {
    let (header, message) = sealed(None);
    // Another suite byte: not one of version 4's.
    for suite in [0u8, 1, 3, 255] {
        let mut edited = header.clone();
        edited[1] = suite;
        let error = Header::parse(&edited).unwrap_err();
        assert!(
            matches!(error, Error::Data(DataError::Malformed { .. })),
            "{error:?}"
        );
    }
    // Version 4 read as version 3: the suite byte becomes part of a length; whatever parses
    // fails the commitment.
    let mut as_v3 = header.clone();
    as_v3[0] = 3;
    assert!(open_as_stored(&as_v3, message.clone(), &data_key(1)).is_err());
    let mut without_suite = header.clone();
    without_suite.remove(1);
    without_suite[0] = 3;
    let error = open_as_stored(&without_suite, message.clone(), &data_key(1)).unwrap_err();
    assert!(
        integrity(&error, HEADER_ATTRIBUTE),
        "{}: {error:?}",
        "suite 2 stripped to version 3"
    );

    // A version 3 item's header turned into a version 4 one: the commitment fails.
    let item = item();
    let (v3_header, v3_message) = v3::seal(
        &schema(),
        &data_key(1),
        &wrapped(),
        [2; SALT_LEN],
        [3; crate::aead::NONCE_LEN],
        |name| item.get(name),
        FIELDS,
    )
    .unwrap();
    let mut upgraded = vec![4, 2];
    upgraded.extend_from_slice(&v3_header[1..]);
    let error = open_as_stored(&upgraded, v3_message, &data_key(1)).unwrap_err();
    assert!(
        integrity(&error, HEADER_ATTRIBUTE),
        "{}: {error:?}",
        "version 3 dressed as suite 2"
    );
}

#[test]
fn a_rewrap_keeps_a_suite_2_item_and_its_salt() {
    let (header, message) = sealed(None);
    let parsed = Header::parse(&header).unwrap();
    let item = item();
    let other = WrappedDataKey {
        key_id: "another-key".to_owned(),
        ciphertext: vec![8; 72],
    };
    let (new_header, new_message) = v4::rewrap(
        &schema(),
        &data_key(1),
        &parsed.parsed_v4().unwrap(),
        &header,
        &other,
        None,
        |name| item.get(name),
        message,
    )
    .unwrap();
    let reparsed = Header::parse(&new_header).unwrap();
    assert_eq!(
        (reparsed.suite(), reparsed.key_id()),
        (Suite::Aes256Gcm, "another-key")
    );
    let mut expected = Vec::new();
    message::put_fields(&mut expected, FIELDS);
    assert_eq!(
        open_as_stored(&new_header, new_message, &data_key(1)).unwrap(),
        expected
    );
}

#[test]
fn suite_2_vectors_through_the_engine() {
    use super::spec_vectors::{array, text, vectors};
    use super::tests::{authenticated_attributes, fields, item as item_of, schema as schema_of};
    for v in vectors("suite2") {
        let schema = schema_of(&v);
        let item = item_of(&v);
        let named: Vec<(&str, Vec<u8>)> = fields(&v);
        let named: Vec<(&str, &[u8])> = named.iter().map(|(n, p)| (*n, p.as_slice())).collect();
        let attributes = authenticated_attributes(&schema, |name| item.get(name)).unwrap();
        assert_eq!(hex::encode(&attributes), text(&v, "attributes"));
        let data_key = DataKey::from_slice("test", &array::<32>(&v, "data key")).unwrap();
        let (header, sealed) = v4::seal(
            &schema,
            &data_key,
            &super::tests::wrapped(&v),
            array(&v, "salt"),
            Some(array(&v, "nonce")),
            |name| item.get(name),
            &named,
        )
        .unwrap();
        assert_eq!(hex::encode(&header), text(&v, "header"));
        let aad = message::associated_data(4, &schema, &header, &[], |name| item.get(name));
        assert_eq!(hex::encode(aad.unwrap()), text(&v, "aad"));
        assert_eq!(hex::encode(&sealed), text(&v, "sealed"));

        let parsed = Header::parse(&header).unwrap();
        let (opened, _) = v4::open_trying(
            &schema,
            &data_key,
            &parsed.parsed_v4().unwrap(),
            &header,
            |name| item.get(name),
            sealed,
            Vec::new,
        )
        .unwrap();
        assert_eq!(
            hex::encode(v4::opened_plaintext(&opened)),
            text(&v, "plaintext")
        );
    }
}
