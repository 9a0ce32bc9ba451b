//! DynamoDB's order of key values: strings and binary by their bytes, numbers by value at full
//! precision. [`MemoryStore`](super::MemoryStore) sorts and compares keys with it.

use std::cmp::Ordering;

use crate::attribute::{AttributeValue, Number};

/// DynamoDB's order of key values: strings and binary by bytes, numbers by value.
pub(crate) fn compare_keys(a: &AttributeValue, b: &AttributeValue) -> Ordering {
    match (a, b) {
        (AttributeValue::S(a), AttributeValue::S(b)) => a.as_bytes().cmp(b.as_bytes()),
        (AttributeValue::B(a), AttributeValue::B(b)) => a.cmp(b),
        (AttributeValue::N(a), AttributeValue::N(b)) => compare_numbers(a, b),
        (a, b) => rank(a).cmp(&rank(b)),
    }
}

fn rank(value: &AttributeValue) -> u8 {
    match value {
        AttributeValue::S(_) => 0,
        AttributeValue::N(_) => 1,
        AttributeValue::B(_) => 2,
        _ => 3,
    }
}

/// Compares two decimal numbers by value; a text that is no number (which the request rules keep
/// out of keys) compares as zero, so that the order is total and nothing panics.
fn compare_numbers(a: &str, b: &str) -> Ordering {
    let parse = |text: &str| Number::parse(text).unwrap_or_else(|_| Number::zero());
    parse(a).cmp_value(&parse(b))
}
