//! DynamoDB numbers: their grammar, their value order and one canonical text for each value.

use std::cmp::Ordering;

/// A decimal number as its value: a sign, significant digits without leading or trailing zeros
/// (none for zero), and the power of ten that scales them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Number {
    negative: bool,
    digits: String,
    scale: i64,
}

const INVALID: &str = "not a decimal number";

impl Number {
    /// Zero.
    pub(crate) fn zero() -> Number {
        Number {
            negative: false,
            digits: String::new(),
            scale: 0,
        }
    }

    /// Parses `-`? digits (`.` digits)? ((`e`|`E`) (`+`|`-`)? digits)?, with a digit on each side
    /// of a `.` that is present and at most six exponent digits (DynamoDB's exponents are far
    /// smaller).
    pub(crate) fn parse(text: &str) -> Result<Number, &'static str> {
        let parts = Parts::split(text)?;
        Ok(match parts.significant() {
            None => Number::zero(),
            Some((digits, scale)) => Number {
                negative: parts.negative,
                digits: digits.map(char::from).collect(),
                scale,
            },
        })
    }

    /// The canonical text: `0`, or an optional `-`, the digits, `E` and the scale (`1.50` →
    /// `15E-1`, `100` → `1E2`).
    pub(crate) fn canonical(&self) -> String {
        if self.digits.is_empty() {
            return "0".to_owned();
        }
        let sign = if self.negative { "-" } else { "" };
        format!("{sign}{}E{}", self.digits, self.scale)
    }

    /// Compares by value.
    pub(crate) fn cmp_value(&self, other: &Number) -> Ordering {
        let sign = |n: &Number| match (n.digits.is_empty(), n.negative) {
            (true, _) => 0,
            (false, true) => -1,
            (false, false) => 1,
        };
        let (a, b) = (sign(self), sign(other));
        if a != b || a == 0 {
            return a.cmp(&b);
        }
        let magnitude = self.cmp_magnitude(other);
        if a < 0 {
            magnitude.reverse()
        } else {
            magnitude
        }
    }

    /// Compares the absolute values of two non-zero numbers: by the position of the first digit,
    /// then digit by digit.
    fn cmp_magnitude(&self, other: &Number) -> Ordering {
        let top = |n: &Number| n.digits.len() as i64 + n.scale;
        top(self)
            .cmp(&top(other))
            .then_with(|| self.digits.cmp(&other.digits))
    }
}

/// A number's text, split without copying.
struct Parts<'a> {
    negative: bool,
    int: &'a [u8],
    frac: &'a [u8],
    exponent: i64,
}

impl<'a> Parts<'a> {
    fn split(text: &'a str) -> Result<Parts<'a>, &'static str> {
        let (negative, rest) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (mantissa, exponent) = match rest.find(['e', 'E']) {
            Some(i) => (&rest[..i], Some(&rest[i + 1..])),
            None => (rest, None),
        };
        let (int, frac) = match mantissa.split_once('.') {
            Some((int, frac)) if !frac.is_empty() => (int, frac),
            Some(_) => return Err(INVALID),
            None => (mantissa, ""),
        };
        let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(int) || !(frac.is_empty() || all_digits(frac)) {
            return Err(INVALID);
        }
        let exponent: i64 = match exponent {
            None => 0,
            Some(e) => {
                let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
                if !all_digits(digits) || digits.len() > 6 {
                    return Err(INVALID);
                }
                e.parse().map_err(|_| INVALID)?
            }
        };
        Ok(Parts {
            negative,
            int: int.as_bytes(),
            frac: frac.as_bytes(),
            exponent,
        })
    }

    /// The significant digits (none for zero) and the power of ten that scales them.
    fn significant(&self) -> Option<(impl Iterator<Item = u8> + '_, i64)> {
        let digits = || self.int.iter().chain(self.frac).copied();
        let total = self.int.len() + self.frac.len();
        let first = digits().position(|d| d != b'0')?;
        let last = total - 1 - digits().rev().position(|d| d != b'0')?;
        let scale = self.exponent - self.frac.len() as i64 + (total - 1 - last) as i64;
        Some((digits().skip(first).take(last + 1 - first), scale))
    }
}

/// The canonical text of a DynamoDB number ([`Number::canonical`]), or why it is none.
pub(crate) fn canonical_number(text: &str) -> Result<String, &'static str> {
    Number::parse(text).map(|n| n.canonical())
}

/// The value of a DynamoDB number times `10^decimals`, as a sign and a magnitude, when that is
/// a whole number that fits in a `u128` (`("1.5", 9)` → `(false, 1_500_000_000)`).
pub(crate) fn scaled_integer(text: &str, decimals: u32) -> Option<(bool, u128)> {
    let number = Number::parse(text).ok()?;
    if number.digits.is_empty() {
        return Some((false, 0));
    }
    let shift = u32::try_from(number.scale.checked_add(i64::from(decimals))?).ok()?;
    let digits: u128 = number.digits.parse().ok()?;
    let magnitude = digits.checked_mul(10u128.checked_pow(shift)?)?;
    Some((number.negative, magnitude))
}

/// The text of `magnitude / 10^decimals` with its sign, in the shortest plain form DynamoDB
/// returns (`(false, 1_500_000_000, 9)` → `"1.5"`, zero → `"0"`).
pub(crate) fn decimal_text(negative: bool, magnitude: u128, decimals: u32) -> String {
    let unit = 10u128.pow(decimals);
    let (whole, fraction) = (magnitude / unit, magnitude % unit);
    let sign = if negative && magnitude != 0 { "-" } else { "" };
    if fraction == 0 {
        return format!("{sign}{whole}");
    }
    let fraction = format!("{fraction:0width$}", width = decimals as usize);
    format!("{sign}{whole}.{}", fraction.trim_end_matches('0'))
}

/// Appends `lp(canonical text)` of a DynamoDB number, without building the text apart (every
/// number an item authenticates goes through here).
pub(crate) fn put_canonical_number(out: &mut Vec<u8>, text: &str) -> Result<(), &'static str> {
    let parts = Parts::split(text)?;
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    match parts.significant() {
        None => out.push(b'0'),
        Some((digits, scale)) => {
            if parts.negative {
                out.push(b'-');
            }
            out.extend(digits);
            out.push(b'E');
            let mut buffer = [0; 20];
            out.extend_from_slice(format_i64(scale, &mut buffer));
        }
    }
    let len = u32::try_from(out.len() - start - 4).unwrap_or(u32::MAX);
    out[start..start + 4].copy_from_slice(&len.to_be_bytes());
    Ok(())
}

/// `n` in decimal, in `buffer`.
fn format_i64(n: i64, buffer: &mut [u8; 20]) -> &[u8] {
    let mut at = buffer.len();
    let mut magnitude = n.unsigned_abs();
    loop {
        at -= 1;
        buffer[at] = b'0' + (magnitude % 10) as u8;
        magnitude /= 10;
        if magnitude == 0 {
            break;
        }
    }
    if n < 0 {
        at -= 1;
        buffer[at] = b'-';
    }
    &buffer[at..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_numbers_have_one_text() {
        for (text, canonical) in [
            ("0", "0"),
            ("-0", "0"),
            ("0.000", "0"),
            ("0e5", "0"),
            ("1", "1E0"),
            ("007", "7E0"),
            ("1.50", "15E-1"),
            ("1.5", "15E-1"),
            ("100", "1E2"),
            ("1e2", "1E2"),
            ("1E+2", "1E2"),
            ("10.0e1", "1E2"),
            ("-0.007", "-7E-3"),
            ("-7e-3", "-7E-3"),
            (
                "123456789012345678901234567890",
                "12345678901234567890123456789E1",
            ),
        ] {
            assert_eq!(canonical_number(text).as_deref(), Ok(canonical), "{text}");
        }
        for text in [
            "",
            "-",
            "+1",
            "1.",
            ".5",
            "1e",
            "1e+",
            "--1",
            "1x",
            "0x10",
            " 1",
            "1e1234567",
            "1e9223372036854775807",
        ] {
            assert!(canonical_number(text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn the_written_canonical_text_is_the_canonical_text() {
        for text in [
            "0",
            "-0.0",
            "1.50",
            "100",
            "-7e-3",
            "12345678901234567890123456789012345678",
            "5e-130",
        ] {
            let mut out = Vec::new();
            put_canonical_number(&mut out, text).unwrap();
            let expected = canonical_number(text).unwrap();
            assert_eq!(&out[4..], expected.as_bytes(), "{text}");
            assert_eq!(out[..4], (expected.len() as u32).to_be_bytes());
        }
    }

    #[test]
    fn numbers_order_by_value_at_full_precision() {
        let sorted = [
            "-1000",
            "-12.5",
            "-12.25",
            "-1",
            "-0.001",
            "0",
            "0.0001",
            "1",
            "1.5",
            "2",
            "10",
            "1e2",
            "170141183460469231731687303715884105727",
            "340282366920938463463374607431768211455",
        ];
        let numbers: Vec<Number> = sorted.iter().map(|t| Number::parse(t).unwrap()).collect();
        for (i, a) in numbers.iter().enumerate() {
            for (j, b) in numbers.iter().enumerate() {
                let expected = if sorted[i] == "10" && sorted[j] == "1e2" {
                    Ordering::Less
                } else {
                    i.cmp(&j)
                };
                assert_eq!(a.cmp_value(b), expected, "{} vs {}", sorted[i], sorted[j]);
            }
        }
        let same = |a: &str, b: &str| {
            Number::parse(a)
                .unwrap()
                .cmp_value(&Number::parse(b).unwrap())
        };
        assert_eq!(same("100", "1e2"), Ordering::Equal);
        assert_eq!(same("007.50", "7.5"), Ordering::Equal);
        assert_eq!(same("0", "-0.0"), Ordering::Equal);
    }

    #[test]
    fn scaled_integers_and_decimal_texts_agree() {
        assert_eq!(scaled_integer("1.5", 9), Some((false, 1_500_000_000)));
        assert_eq!(scaled_integer("-15E-1", 9), Some((true, 1_500_000_000)));
        assert_eq!(scaled_integer("0.0", 9), Some((false, 0)));
        assert_eq!(scaled_integer("1E-10", 9), None, "finer than the unit");
        assert_eq!(scaled_integer("1E40", 0), None, "past u128");
        assert_eq!(scaled_integer("12", 0), Some((false, 12)));
        assert_eq!(decimal_text(false, 1_500_000_000, 9), "1.5");
        assert_eq!(decimal_text(true, 1, 9), "-0.000000001");
        assert_eq!(decimal_text(true, 0, 9), "0");
        assert_eq!(decimal_text(false, 42, 0), "42");
        for text in ["1.5", "-0.000000001", "1700000000.123456789", "7"] {
            let (negative, magnitude) = scaled_integer(text, 9).unwrap();
            assert_eq!(decimal_text(negative, magnitude, 9), text);
        }
    }
}
