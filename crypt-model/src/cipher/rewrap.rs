//! Rewrapping: an item's data key wrapped again under the keyring's primary key-encryption key,
//! the item's salt and keys kept, its message sealed again under the new header.

use super::{Cipher, check_sealed_item};
use crate::attribute::Item;
use crate::error::Result;
use crate::format::{self, Header};
use crate::keyring::{EncryptionContext, WrappedDataKey};
use crate::random;
use crate::schema::Schema;

impl Cipher {
    /// The data key of the header `key_id`/`wrapped`, wrapped again under the keyring's primary
    /// key (one call to the keyring: a job keeps what it gets, since many items share a data
    /// key).
    pub(crate) async fn rewrap_key(
        &self,
        schema: &Schema,
        key_id: &str,
        wrapped: &[u8],
    ) -> Result<WrappedDataKey> {
        let context = EncryptionContext::for_static_table(schema.table());
        let key = self.keys.decryption_key(&context, key_id, wrapped).await?;
        let current = WrappedDataKey {
            key_id: key_id.to_owned(),
            ciphertext: wrapped.to_vec(),
        };
        self.keys.rewrap(&key, &current, &context).await
    }

    /// The header and message of `item` (checked as a read checks it) under `rewrapped`, the
    /// same data key wrapped under another key ([`rewrap_key`](Self::rewrap_key)).
    pub(crate) async fn rewrap_item(
        &self,
        schema: &Schema,
        item: &Item,
        rewrapped: &WrappedDataKey,
    ) -> Result<(Vec<u8>, Vec<u8>)> {
        check_sealed_item(schema, item)?;
        let header_bytes = format::header_bytes(item)?;
        let sealed = format::sealed_copy(item)?;
        let header = Header::parse(header_bytes)?;
        let key = self.opening_key(schema, item, &header).await?;
        format::rewrap_item(
            schema,
            &key,
            &header,
            header_bytes,
            rewrapped,
            random::array()?,
            |name| item.get(name),
            sealed,
        )
    }
}
