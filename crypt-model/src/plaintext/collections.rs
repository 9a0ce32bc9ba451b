//! [`Plaintext`] for sets and maps.
//!
//! Decoding sizes each collection once from its count, so that a hash table never moves its
//! members while it is filled. Wiping wipes map values in place and every member that owns heap
//! memory (a `String`'s text, a `Vec`'s elements). What the standard collections do not allow:
//! a set member or map key stored inline (the `u64`s of a `HashSet<u64>`) cannot be reached
//! mutably, and a B-tree keeps stale copies of inline members in its nodes when they split; such
//! bytes stay in freed memory (docs/threat-model.md says so; `Vec<T>` has no such limit).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::{BuildHasher, Hash};

use super::{
    ConversionError, Encoder, Plaintext, Reader, encode_count, encode_element, encode_sequence,
    split_u32,
};

/// Wipes each member as it is moved out of its set (what it owns on the heap; see the module's
/// documentation for inline members).
fn wipe_members<T: Plaintext>(set: impl IntoIterator<Item = T>) {
    set.into_iter().for_each(|mut member| member.wipe());
}

/// Reads the members of a set into `set`, sized first by `reserve` with their count.
fn decode_members<T: Plaintext, C>(
    bytes: &[u8],
    mut set: C,
    reserve: impl FnOnce(&mut C, usize),
    mut insert: impl FnMut(&mut C, T),
) -> Result<C, ConversionError> {
    let mut reader = Reader::new(bytes, 1)?;
    reserve(&mut set, reader.remaining);
    while let Some(element) = reader.next()? {
        insert(&mut set, T::decode(element)?);
    }
    Ok(set)
}

impl<T: Plaintext + Ord> Plaintext for BTreeSet<T> {
    fn encode(&self, out: &mut Encoder) -> Result<(), ConversionError> {
        encode_sequence(self.iter(), self.len(), out)
    }
    fn decode(bytes: &[u8]) -> Result<Self, ConversionError> {
        decode_members(
            bytes,
            BTreeSet::new(),
            |_, _| {},
            |set, member| {
                set.insert(member);
            },
        )
    }
    fn wipe(&mut self) {
        wipe_members(std::mem::take(self));
    }
}

impl<T: Plaintext + Hash + Eq, H: BuildHasher + Default> Plaintext for HashSet<T, H> {
    fn encode(&self, out: &mut Encoder) -> Result<(), ConversionError> {
        encode_sequence(self.iter(), self.len(), out)
    }
    fn decode(bytes: &[u8]) -> Result<Self, ConversionError> {
        decode_members(
            bytes,
            HashSet::with_hasher(H::default()),
            |set, count| set.reserve(count),
            |set, member| {
                set.insert(member);
            },
        )
    }
    fn wipe(&mut self) {
        wipe_members(std::mem::take(self));
    }
}

fn encode_map<'a, K: Plaintext + 'a, T: Plaintext + 'a>(
    entries: impl Iterator<Item = (&'a K, &'a T)>,
    count: usize,
    out: &mut Encoder,
) -> Result<(), ConversionError> {
    encode_count(count, out)?;
    for (key, value) in entries {
        encode_element(key, out)?;
        encode_element(value, out)?;
    }
    Ok(())
}

/// Reads the entries of a map into `map`, sized first by `reserve` with their count.
fn decode_entries<K: Plaintext, T: Plaintext, M>(
    bytes: &[u8],
    mut map: M,
    reserve: impl FnOnce(&mut M, usize),
    mut insert: impl FnMut(&mut M, K, T),
) -> Result<M, ConversionError> {
    let mut reader = Reader::new(bytes, 2)?;
    reserve(&mut map, reader.remaining);
    while let Some(key) = reader.next()? {
        let key = K::decode(key)?;
        // The count covers entries; each entry holds two elements.
        let (len, rest) = split_u32(reader.bytes)?;
        let len = len as usize;
        if rest.len() < len {
            return Err(ConversionError::expected("a complete map value"));
        }
        let (value, rest) = rest.split_at(len);
        reader.bytes = rest;
        insert(&mut map, key, T::decode(value)?);
    }
    Ok(map)
}

/// Wipes each key and each value as the map's entries are moved out (the callers wipe the values
/// in place first: moving a value out leaves its inline bytes behind; a key cannot be reached
/// mutably, so only what it owns on the heap is wiped).
fn wipe_entries<K: Plaintext, T: Plaintext>(entries: impl Iterator<Item = (K, T)>) {
    for (mut key, mut value) in entries {
        key.wipe();
        value.wipe();
    }
}

impl<K: Plaintext + Ord, T: Plaintext> Plaintext for BTreeMap<K, T> {
    fn encode(&self, out: &mut Encoder) -> Result<(), ConversionError> {
        encode_map(self.iter(), self.len(), out)
    }
    fn decode(bytes: &[u8]) -> Result<Self, ConversionError> {
        decode_entries(
            bytes,
            BTreeMap::new(),
            |_, _| {},
            |map, key, value| {
                map.insert(key, value);
            },
        )
    }
    fn wipe(&mut self) {
        self.values_mut().for_each(Plaintext::wipe);
        wipe_entries(std::mem::take(self).into_iter());
    }
}

impl<K: Plaintext + Hash + Eq, T: Plaintext, H: BuildHasher + Default> Plaintext
    for HashMap<K, T, H>
{
    fn encode(&self, out: &mut Encoder) -> Result<(), ConversionError> {
        encode_map(self.iter(), self.len(), out)
    }
    fn decode(bytes: &[u8]) -> Result<Self, ConversionError> {
        decode_entries(
            bytes,
            HashMap::with_hasher(H::default()),
            |map, count| map.reserve(count),
            |map, key, value| {
                map.insert(key, value);
            },
        )
    }
    fn wipe(&mut self) {
        self.values_mut().for_each(Plaintext::wipe);
        wipe_entries(std::mem::take(self).into_iter());
    }
}
