//! Sealing a record's parts: checked first, then its blind-index values, its data key from the
//! key source, its randomness, and the format's one message.

use std::sync::Arc;

use crate::attribute::Item;
use crate::blind_index::IndexSecrets;
use crate::data_key::GeneratedDataKey;
use crate::error::KeyError;
use crate::error::{Error, Result};
use crate::format::{self, NONCE_LEN, SALT_LEN};
use crate::key_source::KeySource;
use crate::plaintexts::Plaintexts;
use crate::random;
use crate::schema::Schema;

/// Seals `plaintexts` into `item`, which holds the record's plain attributes (its keys and
/// owner among them): adds the blind-index attributes, the header and the sealed message, which
/// authenticates the keys, the owner, the version and the plain attributes the schema lists.
///
/// Returns the key it sealed under (its header names `key.wrapped.key_id`). On error `item` is
/// unchanged, and nothing was asked of the key source unless the record passed every check
/// ([`format::check_new`]).
pub(crate) async fn seal(
    schema: &Schema,
    item: &mut Item,
    plaintexts: &Plaintexts,
    source: &dyn KeySource,
    search: &IndexSecrets,
) -> Result<Arc<GeneratedDataKey>> {
    let new = format::check_new(schema, item, plaintexts)?;
    // Computed before anything is added, so that an error leaves the item unchanged.
    let index_values = search.attributes(
        schema.table(),
        schema.blind_indexes(),
        new.owner,
        plaintexts,
    )?;
    let (table, owner, bytes) = (schema.table(), new.owner, new.bytes);
    let key = match source.cached_sealing_key(table, owner, bytes) {
        Some(key) => key,
        None => source.sealing_key(table, owner, bytes).await?,
    };
    // The salt and the nonce in one call to the operating system.
    let mut randomness = [0; SALT_LEN + NONCE_LEN];
    random::fill(&mut randomness)?;
    let (salt, nonce) = randomness.split_at(SALT_LEN);
    let sealing = format::seal(
        schema,
        item,
        plaintexts,
        index_values,
        &key,
        salt.try_into()
            .map_err(|_| Error::Key(KeyError::Randomness))?,
        nonce
            .try_into()
            .map_err(|_| Error::Key(KeyError::Randomness))?,
    )?;
    sealing.apply_to(item);
    Ok(key)
}
