//! The canonical encoding of an item's authenticated attributes (docs/format.md, "Authenticated
//! attributes"): the same bytes for the same values however a store hands them back — numbers by
//! value, sets in any order.

use crate::attribute::AttributeValue;
use crate::encoding::{put_bytes, put_u32};
use crate::error::{Error, Result};

/// Appends `u32(m)`, then for each name in `names` (sorted by bytes, no duplicates):
/// `lp(name) || u8(0)` when `get` finds no value, `lp(name) || u8(1) || value` when it does.
pub(crate) fn put_attributes<'a>(
    out: &mut Vec<u8>,
    names: &[&str],
    get: impl Fn(&str) -> Option<&'a AttributeValue>,
) -> Result<()> {
    put_u32(out, names.len());
    for &name in names {
        put_bytes(out, name.as_bytes());
        match get(name) {
            None => out.push(0),
            Some(value) => {
                out.push(1);
                put_value(out, value).map_err(|reason| Error::malformed(name, reason))?;
            }
        }
    }
    Ok(())
}

/// Appends the canonical encoding of one value: a type byte, then its payload.
fn put_value(out: &mut Vec<u8>, value: &AttributeValue) -> Result<(), &'static str> {
    match value {
        AttributeValue::S(s) => {
            out.push(1);
            put_bytes(out, s.as_bytes());
        }
        AttributeValue::N(n) => {
            out.push(2);
            put_bytes(out, canonical_number(n)?.as_bytes());
        }
        AttributeValue::B(b) => {
            out.push(3);
            put_bytes(out, b);
        }
        AttributeValue::Bool(b) => {
            out.push(4);
            out.push(u8::from(*b));
        }
        AttributeValue::Null => out.push(5),
        AttributeValue::L(items) => {
            out.push(6);
            put_u32(out, items.len());
            for item in items {
                put_value(out, item)?;
            }
        }
        AttributeValue::M(entries) => {
            // A BTreeMap: already in the order of its keys' bytes.
            out.push(7);
            put_u32(out, entries.len());
            for (key, value) in entries {
                put_bytes(out, key.as_bytes());
                put_value(out, value)?;
            }
        }
        AttributeValue::Ss(members) => {
            out.push(8);
            put_sorted(out, members.iter().map(|s| s.as_bytes().to_vec()).collect());
        }
        AttributeValue::Ns(members) => {
            out.push(9);
            let members = members
                .iter()
                .map(|n| canonical_number(n).map(String::into_bytes))
                .collect::<Result<Vec<_>, _>>()?;
            put_sorted(out, members);
        }
        AttributeValue::Bs(members) => {
            out.push(10);
            put_sorted(out, members.clone());
        }
    }
    Ok(())
}

/// A set: its members sorted by bytes (a store hands sets back in any order).
fn put_sorted(out: &mut Vec<u8>, mut members: Vec<Vec<u8>>) {
    members.sort_unstable();
    put_u32(out, members.len());
    for member in &members {
        put_bytes(out, member);
    }
}

/// The canonical text of a DynamoDB number, so that equal values encode equally (DynamoDB
/// stores `1.50` and hands back `1.5`): `0` for zero, else an optional `-`, the significant
/// digits without leading or trailing zeros, `E` and the power of ten that scales them
/// (`1.50` → `15E-1`, `100` → `1E2`, `-0.007` → `-7E-3`). The text must be a decimal number:
/// `-`? digits (`.` digits)? ((`e`|`E`) (`+`|`-`)? digits)?, with a digit on each side of a `.`
/// that is present.
pub(crate) fn canonical_number(text: &str) -> Result<String, &'static str> {
    const INVALID: &str = "not a decimal number";
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
    let digits: String = int.chars().chain(frac.chars()).collect();
    let significant = digits.trim_start_matches('0');
    if significant.is_empty() {
        return Ok("0".to_owned());
    }
    let trimmed = significant.trim_end_matches('0');
    let scale = exponent - frac.len() as i64 + (significant.len() - trimmed.len()) as i64;
    Ok(format!(
        "{}{trimmed}E{scale}",
        if negative { "-" } else { "" }
    ))
}

#[cfg(test)]
mod tests {
    use super::canonical_number;

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
        ] {
            assert!(canonical_number(text).is_err(), "{text:?}");
        }
    }
}
