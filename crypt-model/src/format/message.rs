//! What every format version's message shares: the encoding of the sensitive fields it seals
//! (`u32(n) || lp(name) || lp(value) || …`) and the layout of its associated data
//! (`lp("crypt-model item") || u8(version) || lp(T) || lp(header) || attributes`).
//! `docs/format.md` specifies both; a version names itself in the byte it passes.

use super::canonical;
use crate::attribute::AttributeValue;
use crate::encoding::{put_bytes, put_u32};
use crate::error::Result;
use crate::schema::Schema;

const ITEM_LABEL: &[u8] = b"crypt-model item";

/// The associated data of an item's message of format `version`, in one buffer:
/// `lp("crypt-model item") || u8(version) || lp(T) || lp(header)`, then the canonical encoding
/// of the attributes that `schema` authenticates — the keys, the owner, the plain attributes it
/// lists, the version and the blind-index attributes — and `extra` besides (how another version
/// of the model, which authenticated those too, wrote it), with their values as `get` finds
/// them.
pub(super) fn associated_data<'a>(
    version: u8,
    schema: &Schema,
    header: &[u8],
    extra: &[&str],
    get: impl Fn(&str) -> Option<&'a AttributeValue>,
) -> Result<Vec<u8>> {
    let table = schema.table();
    let mut aad = Vec::with_capacity(256 + table.len() + header.len());
    put_bytes(&mut aad, ITEM_LABEL);
    aad.push(version);
    put_bytes(&mut aad, table.as_bytes());
    put_bytes(&mut aad, header);
    if extra.is_empty() {
        schema.with_authenticated(|names| canonical::put_attributes(&mut aad, names, get))?;
    } else {
        let mut names: Vec<&str> = schema.authenticated();
        names.extend_from_slice(extra);
        names.sort_unstable_by_key(|name| name.as_bytes());
        names.dedup();
        canonical::put_attributes(&mut aad, &names, get)?;
    }
    Ok(aad)
}

/// The length of the message's plaintext.
pub(super) fn fields_len(fields: &[(&str, &[u8])]) -> usize {
    4 + fields
        .iter()
        .map(|(n, v)| 8 + n.len() + v.len())
        .sum::<usize>()
}

/// Appends the message's plaintext: `u32(n)`, then `lp(name) || lp(value)` for each field
/// present, in order of name bytes.
pub(super) fn put_fields(out: &mut Vec<u8>, fields: &[(&str, &[u8])]) {
    put_u32(out, fields.len());
    if fields.is_sorted_by_key(|(name, _)| name.as_bytes()) {
        for (name, value) in fields {
            put_bytes(out, name.as_bytes());
            put_bytes(out, value);
        }
    } else {
        let mut order: Vec<&(&str, &[u8])> = fields.iter().collect();
        order.sort_unstable_by_key(|(name, _)| name.as_bytes());
        for (name, value) in order {
            put_bytes(out, name.as_bytes());
            put_bytes(out, value);
        }
    }
}

/// Calls `field` with `(name, value)` for each field of an opened message, in the message's
/// order; `None` if the bytes are not such an encoding (which a message that passed its tag never
/// is).
pub(super) fn for_each_field<'a>(
    mut bytes: &'a [u8],
    mut field: impl FnMut(&'a str, &'a [u8]),
) -> Option<()> {
    let take = |bytes: &mut &'a [u8]| -> Option<usize> {
        let (len, rest) = bytes.split_first_chunk::<4>()?;
        *bytes = rest;
        usize::try_from(u32::from_be_bytes(*len)).ok()
    };
    let count = take(&mut bytes)?;
    for _ in 0..count {
        let len = take(&mut bytes)?;
        let name = bytes.get(..len)?;
        bytes = &bytes[len..];
        let len = take(&mut bytes)?;
        let value = bytes.get(..len)?;
        bytes = &bytes[len..];
        field(std::str::from_utf8(name).ok()?, value);
    }
    bytes.is_empty().then_some(())
}
