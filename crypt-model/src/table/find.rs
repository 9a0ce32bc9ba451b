//! Finding records by a sensitive field's value through its blind index: [`IndexLookup`] and
//! [`Table::find`].

use crate::error::{AccessError, ConfigError};
use std::collections::HashSet;

use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::Table;
use crate::access::{Caller, Logged, Scope};
use crate::attribute::AttributeValue;
use crate::blind_index::{BlindIndex, IndexScope};
use crate::error::{Error, Result};
use crate::model::EncryptedItem;
use crate::plaintext::Plaintext;
use crate::store::{Query, Store, canonical_key};
use crate::table::records::Listed;

impl<T: EncryptedItem + Send + Sync, S: Store> Table<T, S> {
    /// The records whose indexed field equals the lookup's value (after normalisation) and
    /// that `caller` may open.
    ///
    /// Candidates come from the blind index's secondary index; each is opened under the owner
    /// gate and its plaintext compared with the value in constant time, so false positives (a
    /// narrow index shares values between many plaintexts, by design) never reach the caller.
    /// An owner-scoped index can only be searched by the owner (a user caller). A record whose
    /// owner was erased is passed over, as a query and a scan pass it.
    ///
    /// # Errors
    ///
    /// [`AccessError::OwnerScopedIndex`](crate::error::AccessError::OwnerScopedIndex) when a
    /// service searches an owner-scoped index;
    /// [`ConfigError::NoIndexSecret`](crate::error::ConfigError::NoIndexSecret) without an index
    /// secret; otherwise as [`query`](Self::query).
    pub async fn find(&self, caller: &Caller, lookup: &IndexLookup<T>) -> Result<Vec<T>> {
        let spec = lookup.spec;
        let records = &self.records;
        // A service with no grant at all is told so before anything else.
        if !records.gate.plan_find(caller, &T::SCHEMA)? {
            return Ok(Vec::new());
        }
        let owner = match (spec.scope(), caller.user_id()) {
            (IndexScope::Owner, None) => {
                return Err(Error::Access(AccessError::OwnerScopedIndex {
                    field: spec.field().to_owned(),
                }));
            }
            (IndexScope::Owner, Some(id)) => id,
            (IndexScope::Table, _) => "",
        };
        let table = T::SCHEMA.table();
        let value = records.search().value(table, spec, owner, &lookup.input)?;
        // While an index secret is rolled out, records not yet rewritten hold the value under
        // the previous one.
        let previous = records
            .search()
            .previous_value(table, spec, owner, &lookup.input)
            .filter(|previous| *previous != value);
        let mut found = Vec::new();
        let mut seen = HashSet::new();
        // A record read again must still hold the index value it was found by.
        let (partition_key, sort_key) = records.table.key_space(Some(spec.secondary_index()))?;
        let selected: Vec<&str> = std::iter::once(partition_key).chain(sort_key).collect();
        for value in std::iter::once(value).chain(previous) {
            let mut query = Query::index(spec.secondary_index(), AttributeValue::B(value));
            loop {
                let page = records.store.query(&records.table, &query).await?;
                for item in page.items {
                    // The owner first: another owner's item, even a malformed one, is skipped.
                    let Some(permit) =
                        records.admit(caller, records.parse(item), Scope::Read, Logged::GrantUses)
                    else {
                        continue;
                    };
                    let key = records.table.key_of(permit.record().attributes())?;
                    if !seen.insert(canonical_key(&key)) {
                        continue;
                    }
                    // An erased owner's record is passed over, as a scan passes it; one that
                    // does not open on its own account may be the match: the search's error.
                    let record = match records.open_listed(caller, permit, &selected).await? {
                        Listed::Record(record) => record,
                        Listed::Erased | Listed::Gone => continue,
                        Listed::Unreadable(_, error) => return Err(error),
                    };
                    let matches = (lookup.extract)(&record)?.is_some_and(|bytes| {
                        bool::from(bytes.as_slice().ct_eq(lookup.input.as_slice()))
                    });
                    if matches {
                        found.push(record);
                    }
                }
                match page.cursor {
                    Some(cursor) => query = query.after(Some(cursor)),
                    None => break,
                }
            }
        }
        Ok(found)
    }
}

/// Reads a record's normalised bytes for an index (`None` when the field is absent).
type IndexExtract<T> = fn(&T) -> Result<Option<Zeroizing<Vec<u8>>>>;

/// A search of a blind index for one value: built by the function the derive generates per
/// index (`Model::by_<field>(value)`), run by [`Table::find`]. The value is kept normalised and
/// wiped on drop.
pub struct IndexLookup<T> {
    spec: &'static BlindIndex,
    input: Zeroizing<Vec<u8>>,
    extract: IndexExtract<T>,
}

impl<T: EncryptedItem> IndexLookup<T> {
    /// The derive's constructor: the index of `field`, the value sought, and how to read the
    /// same normalised bytes from a record (to drop false positives).
    #[doc(hidden)]
    pub fn __new<V: Plaintext>(
        field: &'static str,
        value: &V,
        extract: IndexExtract<T>,
    ) -> Result<Self> {
        let spec = T::SCHEMA.blind_index_of(field).ok_or_else(|| {
            Error::Config(ConfigError::NoSuchIndex {
                table: T::SCHEMA.table().to_owned(),
                field: field.to_owned(),
            })
        })?;
        let input = crate::blind_index::index_bytes(value, field, spec.normalize())?;
        Ok(IndexLookup {
            spec,
            input,
            extract,
        })
    }

    /// The index searched.
    pub fn spec(&self) -> &'static BlindIndex {
        self.spec
    }
}

impl<T> std::fmt::Debug for IndexLookup<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IndexLookup")
            .field("index", &self.spec.field())
            .field("value", &"[REDACTED]")
            .finish()
    }
}
