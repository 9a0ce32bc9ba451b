//! The key table's rows: an owner's row (its wrapped key and the handle its records name, which
//! carries the key's generation), how its key is made, and what a handle's generation means.

use super::HANDLE_LEN;
use super::tombstones::State;
use crate::attribute::{AttributeValue, Item};
use crate::error::{Error, Result};
use crate::keyring::{EncryptionContext, WrappedDataKey};
use crate::random;

/// A row's wrapped key and handle.
pub(super) fn parse_row(stored: &Item) -> Result<(WrappedDataKey, [u8; HANDLE_LEN])> {
    let malformed = |attribute: &str| {
        Error::malformed(attribute, "not an owner key row of crypt-model's key table")
    };
    let key_id = match stored.get("key_id") {
        // Bounded as a header's key id is: a key id read from storage reaches the keyring, the
        // logs and errors.
        Some(AttributeValue::S(id)) => {
            crate::format::check_key_id(id).map_err(|reason| Error::malformed("key_id", reason))?;
            id.clone()
        }
        _ => return Err(malformed("key_id")),
    };
    let ciphertext = match stored.get("wrapped") {
        Some(AttributeValue::B(bytes)) => bytes.clone(),
        _ => return Err(malformed("wrapped")),
    };
    let handle: [u8; HANDLE_LEN] = match stored.get("handle") {
        Some(AttributeValue::B(bytes)) => bytes
            .as_slice()
            .try_into()
            .map_err(|_| malformed("handle"))?,
        _ => return Err(malformed("handle")),
    };
    Ok((WrappedDataKey { key_id, ciphertext }, handle))
}

/// The key a row keeps while its replacement is under way, and its handle: `None` when it
/// keeps none.
pub(super) fn parse_previous(stored: &Item) -> Result<Option<(WrappedDataKey, [u8; HANDLE_LEN])>> {
    if !PREVIOUS.iter().any(|name| stored.contains(name)) {
        return Ok(None);
    }
    let renamed = Item::from_iter(
        PREVIOUS
            .iter()
            .zip(["key_id", "wrapped", "handle"])
            .filter_map(|(from, to)| Some((to, stored.get(from)?.clone()))),
    );
    parse_row(&renamed).map(Some)
}

/// The attributes of the key a row keeps while its replacement is under way, as
/// `key_id`, `wrapped` and `handle` are the current key's.
pub(super) const PREVIOUS: [&str; 3] = ["previous_key_id", "previous_wrapped", "previous_handle"];

/// The row of `owner` in the logical table `table` (a table name holds no `/`).
pub(super) fn row_key(table: &str, owner: &str) -> String {
    format!("{table}/{owner}")
}

/// The encryption context of a table's owner keys: not the table's own, so that an owner key
/// can never serve as one of the table's data keys.
pub(super) fn context(table: &str) -> EncryptionContext {
    EncryptionContext::for_owner_keys(table)
}

/// A new key's handle: its generation (big-endian), then random bytes.
pub(super) fn new_handle(generation: u32) -> Result<[u8; HANDLE_LEN]> {
    let mut handle = random::array::<HANDLE_LEN>()?;
    handle[..4].copy_from_slice(&generation.to_be_bytes());
    Ok(handle)
}

/// What a key handle is, given the owner's tombstone.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Standing {
    /// A live generation: `through + 1`, and while a replacement is under way `through + 2`.
    Live,
    /// An erased generation (a verified tombstone covers it).
    Erased,
    /// No generation the library makes: the handle was edited.
    Tampered,
}

/// The standing of `handle` when the owner's tombstone holds `state`.
pub(super) fn standing(handle: &[u8], state: State) -> Standing {
    let live = |generation: u32| {
        Some(generation) == state.through.checked_add(1) || Some(generation) == state.newest()
    };
    match generation(handle) {
        Some(generation) if generation <= state.through => Standing::Erased,
        Some(generation) if live(generation) => Standing::Live,
        _ => Standing::Tampered,
    }
}

/// The standing of the current key of the row `stored`, whose handle is `handle`: as
/// [`standing`], narrowed to the one key that may seal. While a replacement is under way, a row
/// that keeps an old key (not erased) must hold the new one, of the newest generation, and a row
/// that keeps none holds either (the old one: the replacement's first step is not done; the new
/// one: the row was made during the replacement); otherwise the row's current key is the one
/// live generation. Anything else — a writer swapped the two
/// keys, say — is tampering, not a key to seal under.
pub(super) fn row_standing(stored: &Item, handle: &[u8], state: State) -> Result<Standing> {
    let keeps_old = match parse_previous(stored)? {
        Some((_, previous)) => standing(&previous, state) != Standing::Erased,
        None => false,
    };
    Ok(match standing(handle, state) {
        Standing::Live => {
            let generation = generation(handle);
            let live = match (state.replacing_since, keeps_old) {
                (Some(_), true) => generation == state.newest(),
                // The first step not done (the old key), or a key made after the row went
                // during the replacement (the new generation, with no old key to keep).
                (Some(_), false) => {
                    generation == state.through.checked_add(1) || generation == state.newest()
                }
                (None, _) => generation == state.through.checked_add(1),
            };
            if live {
                Standing::Live
            } else {
                Standing::Tampered
            }
        }
        other => other,
    })
}

/// The standing of the old key a row keeps beside its new one: live only while a replacement
/// is under way, and only of the generation below the new one.
pub(super) fn previous_standing(handle: &[u8], state: State) -> Standing {
    match standing(handle, state) {
        Standing::Live
            if state.replacing_since.is_some()
                && generation(handle) == state.through.checked_add(1) =>
        {
            Standing::Live
        }
        Standing::Live => Standing::Tampered,
        other => other,
    }
}

/// The generation a handle carries: its first four bytes, big-endian, from 1 up; `None` for a
/// handle that is not one (another length, generation 0).
pub(super) fn generation(handle: &[u8]) -> Option<u32> {
    let handle: &[u8; HANDLE_LEN] = handle.try_into().ok()?;
    let generation = u32::from_be_bytes([handle[0], handle[1], handle[2], handle[3]]);
    (generation > 0).then_some(generation)
}

#[cfg(test)]
mod tests {
    use super::{context, generation, parse_row, row_key};
    use crate::attribute::{AttributeValue, Item};
    use crate::format::spec_vectors::{array, hex, text, vectors};
    use crate::keyring::local;

    #[test]
    fn key_row_vector() {
        let vectors = vectors("row");
        assert_eq!(vectors.len(), 1);
        for v in vectors {
            let (table, owner) = (text(&v, "table"), text(&v, "owner"));
            assert_eq!(row_key(table, owner), text(&v, "owner_key"));
            let wrapped = local::wrap_with_nonce(
                &array(&v, "key-encryption key"),
                text(&v, "key id"),
                &context(table),
                &array(&v, "data key"),
                array(&v, "nonce"),
            );
            assert_eq!(::hex::encode(&wrapped), text(&v, "wrapped"));
            let row = Item::from_iter([
                ("owner_key", AttributeValue::S(row_key(table, owner))),
                ("key_id", AttributeValue::S(text(&v, "key id").to_owned())),
                ("wrapped", AttributeValue::B(wrapped.clone())),
                ("handle", AttributeValue::B(hex(&v, "handle"))),
            ]);
            let (parsed, handle) = parse_row(&row).unwrap();
            assert_eq!(
                (parsed.key_id.as_str(), parsed.ciphertext),
                (text(&v, "key id"), wrapped)
            );
            assert_eq!(handle.to_vec(), hex(&v, "handle"));
            assert_eq!(generation(&handle), text(&v, "generation").parse().ok());
            assert_eq!(&handle[4..], hex(&v, "random"));
        }
    }
}
