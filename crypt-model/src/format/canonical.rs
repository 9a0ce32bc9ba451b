//! The canonical encoding of an item's authenticated attributes (docs/format.md, "Authenticated
//! attributes"): the same bytes for the same values however a store hands them back — numbers by
//! value, sets in any order.

use crate::attribute::{AttributeValue, canonical_number, put_canonical_number};
use crate::encoding::{put_bytes, put_u32};
use crate::error::{Error, Result};

/// Appends `u32(m)`, where `m` is how many of `names` (sorted by bytes, no duplicates) `get`
/// finds a value for, then `lp(name) || value` for each of them. An absent attribute adds
/// nothing: a model may gain an optional field or an index without its earlier records failing
/// to authenticate, and adding or deleting an attribute still changes the encoding.
pub(crate) fn put_attributes<'a>(
    out: &mut Vec<u8>,
    names: &[&str],
    get: impl Fn(&str) -> Option<&'a AttributeValue>,
) -> Result<()> {
    let count_at = out.len();
    put_u32(out, 0);
    let mut present = 0;
    for &name in names {
        if let Some(value) = get(name) {
            present += 1;
            put_bytes(out, name.as_bytes());
            put_value(out, value).map_err(|reason| Error::malformed(name, reason))?;
        }
    }
    out[count_at..count_at + 4]
        .copy_from_slice(&u32::try_from(present).unwrap_or(u32::MAX).to_be_bytes());
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
            put_canonical_number(out, n)?;
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
