//! The engine's blind indexes: its index secret (and, while one is rolled out, the previous
//! one), and the index values of a record's fields.

use super::Cipher;
use crate::attribute::AttributeValue;
use crate::error::{Error, Result};
use crate::index::{IndexSecret, IndexSpec, normalized_bytes};
use crate::schema::Schema;

impl Cipher {
    /// Whether an index secret is configured.
    pub(crate) fn has_index_secret(&self) -> bool {
        self.index_secret.is_some()
    }

    /// Sets the secret that blind-index keys derive from (needed by models with
    /// `#[sensitive(index = …)]`); see [`IndexSecret`].
    pub fn with_index_secret(mut self, secret: IndexSecret) -> Self {
        self.index_secret = Some(secret);
        self
    }

    /// While a new index secret is rolled out: the secret it replaces. Writes index under the
    /// current secret ([`with_index_secret`](Self::with_index_secret)); [`Table::find`](crate::Table::find)
    /// also looks up the value under this one, so records not yet rewritten are still found.
    /// Remove it once the backfill job ([`lifecycle::Job::backfill`](crate::lifecycle::Job::backfill))
    /// reports every record done (`docs/searchable.md`, "Rotating the index secret").
    pub fn with_previous_index_secret(mut self, secret: IndexSecret) -> Self {
        self.previous_index_secret = Some(secret);
        self
    }

    /// The index value of `normalized` under the previous index secret, while one is set.
    pub(crate) fn previous_index_value(
        &self,
        schema: &Schema,
        spec: &IndexSpec,
        owner: &str,
        normalized: &[u8],
    ) -> Option<Vec<u8>> {
        self.previous_index_secret
            .as_ref()
            .map(|secret| secret.index_value(schema.table(), spec, owner, normalized))
    }

    /// The index value of `normalized` for the index `spec` of `schema`, scoped to `owner`
    /// when the index is owner-scoped.
    pub(crate) fn index_value(
        &self,
        schema: &Schema,
        spec: &IndexSpec,
        owner: &str,
        normalized: &[u8],
    ) -> Result<Vec<u8>> {
        let secret = self
            .index_secret
            .as_ref()
            .ok_or_else(|| Error::NoIndexSecret {
                table: schema.table().to_owned(),
                field: spec.field().to_owned(),
            })?;
        Ok(secret.index_value(schema.table(), spec, owner, normalized))
    }

    /// The attribute value of the blind index `spec` for a field whose plaintext bytes are
    /// `plaintext`, in a record owned by `owner`.
    pub(crate) fn index_attribute(
        &self,
        schema: &Schema,
        spec: &IndexSpec,
        owner: &str,
        plaintext: &[u8],
    ) -> Result<AttributeValue> {
        let normalized = normalized_bytes(plaintext, spec.normalize(), spec.field())?;
        self.index_value(schema, spec, owner, &normalized)
            .map(AttributeValue::B)
    }
}
