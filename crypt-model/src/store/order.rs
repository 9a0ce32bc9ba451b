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
    // The common key, a non-negative integer written without leading zeros, orders by length
    // then digits: no parse (a `MemoryStore` lookup compares a key with every node it passes).
    if plain_integer(a) && plain_integer(b) {
        return a
            .len()
            .cmp(&b.len())
            .then_with(|| a.as_bytes().cmp(b.as_bytes()));
    }
    let parse = |text: &str| Number::parse(text).unwrap_or_else(|_| Number::zero());
    parse(a).cmp_value(&parse(b))
}

/// Digits only, and no leading zero but in `0` itself.
fn plain_integer(text: &str) -> bool {
    !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text.len() == 1 || !text.starts_with('0'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The order of two numbers by parsing them, which the shortcut must agree with.
    fn by_value(a: &str, b: &str) -> Ordering {
        let parse = |text: &str| Number::parse(text).unwrap_or_else(|_| Number::zero());
        parse(a).cmp_value(&parse(b))
    }

    proptest! {
        #[test]
        fn integers_order_by_value_with_or_without_the_shortcut(
            a in any::<u64>(), b in any::<u64>(), tail in "(|0|00|\\.5|e2|\\.0)", neg in any::<bool>()
        ) {
            let (a, b) = (a.to_string(), b.to_string());
            prop_assert_eq!(compare_numbers(&a, &b), by_value(&a, &b));
            // Texts the shortcut leaves to the parse: decimals, exponents, signs, leading zeros.
            let c = format!("{}{a}{tail}", if neg { "-" } else { "" });
            let d = format!("0{b}");
            prop_assert_eq!(compare_numbers(&c, &b), by_value(&c, &b));
            prop_assert_eq!(compare_numbers(&a, &d), by_value(&a, &d));
        }
    }

    #[test]
    fn the_shortcut_takes_only_plain_integers() {
        for yes in ["0", "7", "10", "18446744073709551615"] {
            assert!(plain_integer(yes), "{yes}");
        }
        for no in ["", "-1", "01", "1.0", "1e3", "+1", " 1"] {
            assert!(!plain_integer(no), "{no}");
        }
        assert_eq!(compare_numbers("9", "10"), Ordering::Less);
        assert_eq!(compare_numbers("10", "9.5"), Ordering::Greater);
    }
}
