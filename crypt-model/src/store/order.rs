//! DynamoDB's order of key values: strings and binary by their bytes, numbers by value at full
//! precision. [`MemoryStore`](super::MemoryStore) sorts and compares keys with it.

use std::cmp::Ordering;

use crate::attribute::AttributeValue;

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

/// Compares two decimal numbers (`-12.50`, `7`, `1e3`) by value, at full precision.
fn compare_numbers(a: &str, b: &str) -> Ordering {
    let (a, b) = (Decimal::parse(a), Decimal::parse(b));
    match (a.negative && !a.is_zero(), b.negative && !b.is_zero()) {
        (false, true) => Ordering::Greater,
        (true, false) => Ordering::Less,
        (false, false) => a.cmp_magnitude(&b),
        (true, true) => b.cmp_magnitude(&a),
    }
}

/// A decimal as its sign, its significant digits and the power of ten of the first digit.
struct Decimal {
    negative: bool,
    digits: Vec<u8>,
    exponent: i64,
}

impl Decimal {
    fn parse(text: &str) -> Decimal {
        let (negative, rest) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.strip_prefix('+').unwrap_or(text)),
        };
        let (mantissa, exp) = match rest.find(['e', 'E']) {
            Some(i) => (&rest[..i], rest[i + 1..].parse::<i64>().unwrap_or(0)),
            None => (rest, 0),
        };
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let all: Vec<u8> = int
            .bytes()
            .chain(frac.bytes())
            .filter(u8::is_ascii_digit)
            .map(|d| d - b'0')
            .collect();
        let leading = all.iter().take_while(|&&d| d == 0).count();
        let mut digits = all[leading..].to_vec();
        while digits.last() == Some(&0) {
            digits.pop();
        }
        let exponent = int.len() as i64 - leading as i64 + exp;
        Decimal {
            negative,
            digits,
            exponent,
        }
    }

    fn is_zero(&self) -> bool {
        self.digits.is_empty()
    }

    fn cmp_magnitude(&self, other: &Decimal) -> Ordering {
        match (self.is_zero(), other.is_zero()) {
            (true, true) => return Ordering::Equal,
            (true, false) => return Ordering::Less,
            (false, true) => return Ordering::Greater,
            _ => {}
        }
        self.exponent
            .cmp(&other.exponent)
            .then_with(|| self.digits.cmp(&other.digits))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_order_by_value_at_full_precision() {
        let sorted = [
            "-1000",
            "-12.5",
            "-12.25",
            "-1",
            "-0.001",
            "0",
            "-0",
            "0.0001",
            "1",
            "1.5",
            "2",
            "10",
            "1e2",
            "170141183460469231731687303715884105727",
            "340282366920938463463374607431768211455",
        ];
        for pair in sorted.windows(2) {
            let order = compare_numbers(pair[0], pair[1]);
            let equal = matches!((pair[0], pair[1]), ("0", "-0"));
            assert_eq!(
                order,
                if equal {
                    Ordering::Equal
                } else {
                    Ordering::Less
                },
                "{pair:?}"
            );
        }
        assert_eq!(compare_numbers("100", "1e2"), Ordering::Equal);
        assert_eq!(compare_numbers("007.50", "7.5"), Ordering::Equal);
    }
}
