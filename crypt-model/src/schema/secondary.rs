//! [`SecondaryIndex`]: a global secondary index on plain attributes, declared on a model
//! (`#[crypt_model(index(name = "…", partition = "…", sort = "…"))]`), which `provision` creates
//! and the model's generated query function reads.

use super::{Schema, validate_attribute_name};
use crate::attribute::KeyType;
use crate::blind_index::INDEX_NAME_PREFIX;
use crate::error::ConfigError;
use crate::error::{Error, Result};

/// A secondary index of a model on plain attributes: its name, the attribute that is its
/// partition key, and optionally one that is its sort key, each with its key type.
///
/// Querying it goes through [`Table::query`](crate::Table::query) like a query of the table:
/// every record found is checked against the caller (owner or grant) before it is opened, and
/// cursors point only past the caller's records. Items without the partition attribute are not
/// in the index (DynamoDB's sparse indexes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SecondaryIndex {
    name: &'static str,
    partition_key: &'static str,
    partition_key_type: KeyType,
    sort_key: Option<(&'static str, KeyType)>,
}

impl SecondaryIndex {
    /// An index called `name`, keyed by the attribute `partition_key` of type
    /// `partition_key_type`, and by `sort_key` when given.
    pub const fn new(
        name: &'static str,
        partition_key: &'static str,
        partition_key_type: KeyType,
        sort_key: Option<(&'static str, KeyType)>,
    ) -> Self {
        SecondaryIndex {
            name,
            partition_key,
            partition_key_type,
            sort_key,
        }
    }

    /// The index's name.
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// The attribute that is the index's partition key, and its type.
    pub const fn partition_key(&self) -> (&'static str, KeyType) {
        (self.partition_key, self.partition_key_type)
    }

    /// The attribute that is the index's sort key, and its type, if any.
    pub const fn sort_key(&self) -> Option<(&'static str, KeyType)> {
        self.sort_key
    }
}

/// Checks the secondary indexes of `schema`: DynamoDB's index names (3 to 255 characters of
/// `A-Z a-z 0-9 _ . -`), none twice and none with the blind indexes' prefix, on attribute names
/// that are valid and not sensitive (an encrypted value cannot key an index).
pub(super) fn validate(schema: &Schema) -> Result<()> {
    let invalid = |reason: String| {
        Error::Config(ConfigError::InvalidSchema {
            table: schema.table().to_owned(),
            reason,
        })
    };
    let indexes = schema.secondary_indexes();
    for (i, index) in indexes.iter().enumerate() {
        let name = index.name;
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
        if !(3..=255).contains(&name.len()) || !name.chars().all(allowed) {
            return Err(invalid(format!(
                "invalid index name `{}`: an index name is 3 to 255 characters of A-Z a-z 0-9 _ . -",
                name.escape_debug()
            )));
        }
        if name.starts_with(INDEX_NAME_PREFIX) {
            return Err(invalid(format!(
                "index `{name}`: names starting with `{INDEX_NAME_PREFIX}` are the blind indexes'"
            )));
        }
        if indexes[..i].iter().any(|other| other.name == name) {
            return Err(invalid(format!("index `{name}` is declared twice")));
        }
        let keys = std::iter::once(index.partition_key).chain(index.sort_key.map(|(sk, _)| sk));
        for attribute in keys {
            validate_attribute_name(attribute)?;
            if schema.is_sensitive(attribute) {
                return Err(invalid(format!(
                    "index `{name}` is keyed by `{attribute}`, which is sensitive: an encrypted \
                     value cannot key an index (a blind index can: `#[sensitive(index = \"exact\")]`)"
                )));
            }
        }
    }
    Ok(())
}
