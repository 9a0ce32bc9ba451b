//! What the derive's generated code names (`::crypt_model::__private::…`). Not a public API:
//! anything here may change in any release.

use crate::error::DataError;
use std::borrow::Cow;

pub use crate::attribute::{Attribute, AttributeValue, Item, Key, KeyType};
pub use crate::blind_index::{BlindIndex, IndexScope, Normalize};
pub use crate::error::{Error, Result};
pub use crate::model::{
    BatchWritable, EncryptedItem, Field, IndexedField, LegacyPlaintext, OwnerId, Principals,
    SensitiveField, TextField, VersionField, Versioned,
};
pub use crate::plaintexts::Plaintexts;
use crate::schema::str_eq;
pub use crate::schema::{Delegation, Schema, SecondaryIndex, Suite};
pub use crate::sensitive::{CloneSensitive, DisplaySensitive, Sensitive, SerializeSensitive};
pub use crate::store::Query;
pub use crate::table::IndexLookup;

/// Stores a plain field (nothing for `None`).
fn put_plain<T: Attribute>(item: &mut Item, name: &'static str, value: &T) -> Result<()> {
    if value.__is_absent() {
        return Ok(());
    }
    let value = value.to_attribute().map_err(|e| {
        Error::Data(DataError::InvalidValue {
            attribute: name.to_owned(),
            reason: e.to_string(),
        })
    })?;
    item.insert(name, value);
    Ok(())
}

fn convert<T: Attribute>(name: &'static str, value: Option<AttributeValue>) -> Result<T> {
    match value {
        Some(value) => T::from_attribute(value).map_err(|e| Error::malformed(name, e)),
        None => T::__missing().ok_or_else(|| {
            Error::Data(DataError::Missing {
                attribute: name.to_owned(),
            })
        }),
    }
}

/// Takes a plain field out of a stored item.
fn take_plain<T: Attribute>(item: &mut Item, name: &'static str) -> Result<T> {
    convert(name, item.remove(name))
}

/// Adds a sensitive field's plaintext (nothing for `None`).
fn put_sensitive<F: SensitiveField>(
    plaintexts: &mut Plaintexts,
    name: &'static str,
    value: &F,
) -> Result<()> {
    value.__put(name, plaintexts)
}

/// Takes a sensitive field's decrypted value.
fn take_sensitive<F: SensitiveField>(plaintexts: &mut Plaintexts, name: &'static str) -> Result<F> {
    F::__take(name, plaintexts)
}

/// A key attribute's value, or the error that names the key.
fn key_part<T: Attribute>(name: &'static str, value: &T) -> Result<AttributeValue> {
    value.to_attribute().map_err(|e| {
        Error::Data(DataError::InvalidValue {
            attribute: name.to_owned(),
            reason: e.to_string(),
        })
    })
}

/// `Model::key(…)`: the primary key from the key fields' values.
pub fn key_of<P: Attribute, S: Attribute>(
    partition_name: &'static str,
    partition: &P,
    sort: Option<(&'static str, &S)>,
) -> Result<Key> {
    let key = Key::new(key_part(partition_name, partition)?);
    match sort {
        Some((name, value)) => Ok(key.with_sort(key_part(name, value)?)),
        None => Ok(key),
    }
}

/// `Model::partition(…)`: a query of one partition from the partition key's value.
pub fn partition_query<P: Attribute>(name: &'static str, partition: &P) -> Result<Query> {
    key_part(name, partition).map(Query::partition)
}

/// The key type of a partition or sort key of type `T`: a type that cannot be a key (a float,
/// a boolean, a list) fails the build here.
#[allow(
    clippy::panic,
    reason = "a panic in a const is a compile error, with this message"
)]
pub const fn key_type<T: Attribute>() -> KeyType {
    match T::KEY_TYPE {
        Some(key_type) => key_type,
        None => panic!(
            "a partition or sort key is a string, an integer, a UUID, a time or binary: this \
             field's type cannot be a key (a newtype declares its inner type's \
             `Attribute::KEY_TYPE`)"
        ),
    }
}

/// Fails the build when a model names a suite this build of crypt-model leaves out.
#[allow(
    clippy::panic,
    reason = "a panic in a const is a compile error, with this message"
)]
pub const fn suite_built(suite: Suite) {
    #[cfg(not(feature = "aes-gcm"))]
    if matches!(suite, Suite::Aes256Gcm) {
        panic!(
            "the suite `aes256gcm` needs crypt-model's feature `aes-gcm`: \
             crypt-model = {{ version = \"…\", features = [\"aes-gcm\"] }}"
        );
    }
    #[cfg(feature = "aes-gcm")]
    let _ = suite;
}

/// [`key_type`], refused with `refused` (the derive's message, which names the field).
#[allow(
    clippy::panic,
    reason = "a panic in a const is a compile error, with this message"
)]
pub const fn key_type_of<T: Attribute>(refused: &'static str) -> KeyType {
    match T::KEY_TYPE {
        Some(key_type) => key_type,
        None => panic!("{}", refused),
    }
}

/// `Model::<index>(…)`: a query of one partition of a declared secondary index.
pub fn index_query<P: Attribute>(
    index: &'static str,
    attribute: &'static str,
    partition: &P,
) -> Result<Query> {
    key_part(attribute, partition).map(|value| Query::index(index, value))
}

/// The key type of a secondary index's key attribute of type `T`: a type that cannot key an
/// index (a float, a list) fails the build here.
#[allow(
    clippy::panic,
    reason = "a panic in a const is a compile error, with this message"
)]
pub const fn index_key_type<T: Attribute>() -> KeyType {
    match T::__INDEX_KEY_TYPE {
        Some(key_type) => key_type,
        None => panic!(
            "a secondary index is keyed by a string, a number or binary: this field's type \
             cannot key one"
        ),
    }
}

/// The owner's id.
fn owner_id<O: OwnerId>(owner: &O) -> Cow<'_, str> {
    owner.owner_id()
}

/// How the derive stores and reads one plain field. Built once per field by a `const`, where the
/// type's bound is checked: a wrong type is one error, at the field, and the calls through these
/// function pointers add none.
pub struct PlainField<T> {
    /// Stores the field.
    pub put: fn(&mut Item, &'static str, &T) -> Result<()>,
    /// Takes the field out of a stored item.
    pub take: fn(&mut Item, &'static str) -> Result<T>,
}

/// The glue for a plain field of type `T`. A free function, so that a type without the bound
/// gets the trait's own diagnostic.
pub const fn plain_field<T: Attribute>() -> PlainField<T> {
    PlainField {
        put: put_plain::<T>,
        take: take_plain::<T>,
    }
}

/// How the derive handles the owner field; see [`PlainField`].
pub struct OwnerField<T> {
    /// The field as a plain attribute.
    pub plain: PlainField<T>,
    /// The owner's id.
    pub id: fn(&T) -> Cow<'_, str>,
}

/// The glue for an owner field of type `T`, whose key type must say how it is stored: a type
/// that does not (a newtype whose `Attribute` impl leaves `KEY_TYPE` out) fails the build here,
/// instead of every write at run time.
#[allow(
    clippy::panic,
    reason = "a panic in a const is a compile error, with this message"
)]
pub const fn owner_field<T: OwnerId>() -> OwnerField<T> {
    match T::KEY_TYPE {
        Some(KeyType::S | KeyType::N) => {}
        _ => panic!(
            "an #[owner] type must be stored as a string or a number: in its `Attribute` impl, \
             set `const KEY_TYPE: Option<KeyType> = Some(KeyType::S)` (or `N`), or the inner \
             type's (`u64::KEY_TYPE`)"
        ),
    }
    OwnerField {
        plain: plain_field::<T>(),
        id: owner_id::<T>,
    }
}

/// How the derive handles a sensitive field; see [`PlainField`].
pub struct SecretField<T> {
    /// Adds the plaintext.
    pub put: fn(&mut Plaintexts, &'static str, &T) -> Result<()>,
    /// Takes the decrypted value.
    pub take: fn(&mut Plaintexts, &'static str) -> Result<T>,
}

/// The glue for a sensitive field of type `T`.
pub const fn secret_field<T: SensitiveField>() -> SecretField<T> {
    SecretField {
        put: put_sensitive::<T>,
        take: take_sensitive::<T>,
    }
}

/// How the derive reads a sensitive field stored in plain, in a model with
/// `#[crypt_model(migrate_from_plaintext)]`: takes it out of the item into the plaintexts.
pub type LegacyField = fn(&mut Item, &mut Plaintexts, &'static str) -> Result<()>;

/// The legacy glue for a sensitive field of type `F`, whose value type must have a plain form.
pub const fn legacy_field<F: SensitiveField>() -> LegacyField
where
    F::__Value: LegacyPlaintext,
{
    crate::model::take_plaintext::<F::__Value>
}

/// How the derive handles the version field; see [`PlainField`].
pub struct VersionGlue<T> {
    /// The field as a plain attribute.
    pub plain: PlainField<T>,
    /// The version as a number.
    pub get: fn(&T) -> u64,
    /// The version from a number.
    pub from_u64: fn(u64) -> T,
}

fn version_of<T: VersionField>(version: &T) -> u64 {
    version.get()
}

/// The glue for a version field of type `T`.
pub const fn version_field<T: VersionField>() -> VersionGlue<T> {
    VersionGlue {
        plain: plain_field::<T>(),
        get: version_of::<T>,
        from_u64: T::from_u64,
    }
}

/// Checks, at the field's type, that a normalised index is on a string field.
pub const fn text_field<T: TextField>() {}

/// Checks, in a `const`, that a `#[delegate]` field's type names principals.
pub const fn delegation_field<T: Principals + ?Sized>() {}

/// Checks, in a `const`, that an indexed field's type has one encoding per value.
pub const fn indexed_field<T: IndexedField>() {}

/// The normalised plaintext bytes of a sensitive field for its index (`None` when absent).
pub fn index_bytes_of<F: SensitiveField>(
    field: &F,
    name: &'static str,
    normalize: Normalize,
) -> Result<Option<zeroize::Zeroizing<Vec<u8>>>> {
    let Some(value) = field.__value() else {
        return Ok(None);
    };
    crate::blind_index::index_bytes(value, name, normalize).map(Some)
}

/// Fails the build where a model derives `EncryptedItem` if the derive's copies of the runtime's
/// constants differ from these: every expansion calls it in a `const`, so the two crates cannot
/// drift apart, nor can mismatched versions of them be mixed.
pub const fn derive_agrees(
    reserved_prefix: &str,
    index_attribute_prefix: &str,
    index_name_prefix: &str,
    min_index_bits: u16,
    max_index_bits: u16,
) {
    use crate::blind_index::{
        INDEX_ATTRIBUTE_PREFIX, INDEX_NAME_PREFIX, MAX_INDEX_BITS, MIN_INDEX_BITS,
    };
    let agree = str_eq(reserved_prefix, crate::encoding::RESERVED_PREFIX)
        && str_eq(index_attribute_prefix, INDEX_ATTRIBUTE_PREFIX)
        && str_eq(index_name_prefix, INDEX_NAME_PREFIX)
        && min_index_bits == MIN_INDEX_BITS
        && max_index_bits == MAX_INDEX_BITS;
    assert!(
        agree,
        "crypt-model-derive and crypt-model disagree on the format's constants: use the same \
         version of both"
    );
}

#[cfg(test)]
mod tests {
    use super::derive_agrees;

    #[test]
    fn the_derives_constants_are_the_runtimes() {
        // The values crypt-model-derive/src/runtime.rs copies.
        derive_agrees("__cm", "__cm_ix_", "cm_ix_", 8, 64);
        for (reserved, attribute, name, min, max) in [
            ("__cx", "__cm_ix_", "cm_ix_", 8, 64),
            ("__cm", "__cm_bi_", "cm_ix_", 8, 64),
            ("__cm", "__cm_ix_", "ix_", 8, 64),
            ("__cm", "__cm_ix_", "cm_ix_", 4, 64),
            ("__cm", "__cm_ix_", "cm_ix_", 8, 128),
        ] {
            let drifted =
                std::panic::catch_unwind(|| derive_agrees(reserved, attribute, name, min, max));
            assert!(
                drifted.is_err(),
                "{reserved} {attribute} {name} {min} {max}"
            );
        }
    }
}
