//! [`Plaintexts`]: the plaintext bytes of a record's sensitive fields, by name, between the
//! model's fields and the sealed message. Wiped on drop.

use crate::error::DataError;
use std::fmt;

use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::plaintext::{Encoder, Plaintext};
use crate::sensitive::Sensitive;
use crate::wipe::{self, wipe_bytes};

/// The plaintext bytes of an item's sensitive fields, by attribute name: what
/// a model's fields give before they are sealed, and an opened message gives back. Wiped on drop; `Debug` shows the
/// names only.
#[derive(Default)]
pub struct Plaintexts {
    /// Wiped wherever one is dropped or replaced (`crate::wipe`), and in `Drop`.
    fields: Vec<(&'static str, Vec<u8>)>,
}

impl Plaintexts {
    /// No fields.
    pub fn new() -> Self {
        Self::default()
    }

    /// Encodes `value` (see [`Plaintext`]) as the plaintext of `field`, replacing any earlier one.
    pub fn insert<T: Plaintext>(&mut self, field: &'static str, value: &T) -> Result<()> {
        let mut out = Encoder::new();
        value.encode(&mut out).map_err(|e| {
            Error::Data(DataError::InvalidValue {
                attribute: field.to_owned(),
                reason: e.to_string(),
            })
        })?;
        self.insert_vec(field, out.into_vec());
        Ok(())
    }

    /// Sets the plaintext bytes of `field`, replacing any earlier ones.
    pub fn insert_bytes(&mut self, field: &'static str, bytes: Zeroizing<Vec<u8>>) {
        self.insert_vec(field, wipe::unwrap(bytes));
    }

    fn insert_vec(&mut self, field: &'static str, bytes: Vec<u8>) {
        match self.fields.iter_mut().find(|(name, _)| *name == field) {
            Some((_, old)) => wipe_bytes(&mut std::mem::replace(old, bytes)),
            None => self.fields.push((field, bytes)),
        }
    }

    /// Removes `field` and decodes it as a `T`; `None` when the item had no such attribute.
    pub fn take<T: Plaintext>(&mut self, field: &str) -> Result<Option<Sensitive<T>>> {
        let Some(index) = self.fields.iter().position(|(name, _)| *name == field) else {
            return Ok(None);
        };
        let (name, bytes) = self.fields.swap_remove(index);
        T::__decode_owned(Zeroizing::new(bytes))
            .map(|value| Some(Sensitive::new(value)))
            .map_err(|e| {
                Error::Data(DataError::Malformed {
                    attribute: name.to_owned(),
                    reason: e.to_string(),
                })
            })
    }

    /// No fields, with room for `n`.
    pub(crate) fn with_capacity(n: usize) -> Self {
        Plaintexts {
            fields: Vec::with_capacity(n),
        }
    }

    /// Adds the plaintext bytes of `field` (which the caller knows is not held yet).
    pub(crate) fn push(&mut self, field: &'static str, bytes: Vec<u8>) {
        self.fields.push((field, bytes));
    }

    /// The fields and their plaintext bytes, in insertion order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&'static str, &[u8])> + '_ {
        self.fields
            .iter()
            .map(|(name, bytes)| (*name, bytes.as_slice()))
    }

    /// Removes the plaintext of `field`.
    pub(crate) fn remove(&mut self, field: &str) {
        if let Some(index) = self.fields.iter().position(|(name, _)| *name == field) {
            wipe_bytes(&mut self.fields.swap_remove(index).1);
        }
    }

    /// The plaintext bytes of `field`.
    pub(crate) fn get_bytes(&self, field: &str) -> Option<&[u8]> {
        self.fields
            .iter()
            .find(|(name, _)| *name == field)
            .map(|(_, bytes)| bytes.as_slice())
    }

    /// The fields held, in insertion order.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.fields.iter().map(|(name, _)| *name)
    }

    /// The number of fields held.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether no field is held.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
}

impl Drop for Plaintexts {
    fn drop(&mut self) {
        for (_, bytes) in &mut self.fields {
            wipe_bytes(bytes);
        }
    }
}

impl fmt::Debug for Plaintexts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Plaintexts")
            .field("fields", &self.names().collect::<Vec<_>>())
            .finish()
    }
}
