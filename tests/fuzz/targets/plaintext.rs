//! Plaintext decoding: the bytes of a sealed message's fields, decoded as each type a sensitive
//! field may have — arbitrary bytes, and valid encodings with bytes flipped, cut or spliced.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use crypt_model::plaintext::{Encoder, Plaintext};
use proptest::prelude::*;

use super::{apply, bounded, byte_edits, fuzz, no_plaintext};

/// Valid encodings of values of several shapes: the structure the edits start from.
fn valid() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut push = |encode: &dyn Fn(&mut Encoder)| {
        let mut encoder = Encoder::new();
        encode(&mut encoder);
        out.push(encoder.as_slice().to_vec());
    };
    push(&|e| "a string of some length".to_owned().encode(e).unwrap());
    push(&|e| vec!["one".to_owned(), "two".to_owned()].encode(e).unwrap());
    push(&|e| {
        let map: BTreeMap<String, Vec<Option<i128>>> =
            [("k".to_owned(), vec![Some(-1), None, Some(i128::MAX)])].into();
        map.encode(e).unwrap()
    });
    push(&|e| Some(42u64).encode(e).unwrap());
    push(&|e| (-1.5f64).encode(e).unwrap());
    push(&|e| vec![vec![1u8, 2, 3]; 3].encode(e).unwrap());
    out
}

/// Decodes `bytes` as each type, in a bounded allocation.
fn check(bytes: &[u8]) -> Result<(), String> {
    macro_rules! decode_as {
        ($($t:ty),* $(,)?) => {$(
            if let Err(error) = <$t as Plaintext>::decode(bytes) {
                no_plaintext(&error, &error.to_string())?;
            }
        )*};
    }
    bounded(64 * 1024 + 16 * bytes.len(), || -> Result<(), String> {
        decode_as!(
            String, Vec<u8>, bool, char, i8, i16, i32, i64, i128, u8, u16, u32, u64, u128, f32,
            f64, Option<String>, Vec<String>, Vec<Option<i128>>, Vec<Vec<u8>>,
            BTreeMap<String, Vec<u8>>, BTreeMap<String, Vec<Option<i128>>>, BTreeSet<u32>,
            HashSet<String>, [u8; 16], std::time::Duration, std::time::SystemTime,
            std::net::IpAddr, serde_json::Value, uuid::Uuid, chrono::DateTime<chrono::Utc>,
            chrono::NaiveDate, time::OffsetDateTime, time::Date, rust_decimal::Decimal,
        );
        Ok(())
    })?
}

pub(crate) fn run() {
    let valid = valid();
    let strategy = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..256),
        (0..valid.len(), byte_edits()).prop_map(move |(i, edits)| apply(&valid[i], &edits)),
    ];
    fuzz("plaintext", strategy, Clone::clone, check);
}
