//! Hazardous materials (cargo feature `hazmat`, off by default): the record pipeline over a
//! [`Schema`] you give instead of a model's, for differential tests, fuzzing and tools that
//! work on raw items.
//!
//! **The owner gate here trusts your schema.** [`decrypt`] admits the caller named by the
//! attribute *your* schema calls the owner: a schema that names another attribute opens a record
//! for the wrong person. That is why nothing else in crypt-model takes a schema from its caller,
//! and why this module is behind a feature that no published crate of crypt-model enables.
//! Applications use models (`#[derive(EncryptedItem)]`), a [`Table`](crate::Table), and
//! [`Sealed::open`](crate::Sealed::open).

use crate::access::{Caller, Gate, Logged, Scope};
use crate::attribute::Item;
use crate::error::ConfigError;
use crate::error::{Error, Result};
use crate::format::StoredRecord;
use crate::keys::Keys;
pub use crate::plaintexts::Plaintexts;
use crate::record::{self, PlaintextReads};
use crate::schema::Schema;

/// Seals `plaintexts` into `item`, which holds a record's plain attributes (its keys and owner
/// among them), as a model of `schema` would be: adds the sealed message, the blind-index
/// attributes and the header. On error `item` is unchanged.
pub async fn encrypt(
    keys: &Keys,
    schema: &Schema,
    item: &mut Item,
    plaintexts: &Plaintexts,
) -> Result<()> {
    // A schema from the caller: checked in full, whatever it claims.
    schema.validate()?;
    let source = keys.source_ref(schema)?;
    record::seal(schema, item, plaintexts, source, keys.index_secrets()).await?;
    Ok(())
}

/// Checks and decrypts the sensitive attributes of `item` that `schema` declares, for
/// `caller` if it is the user `schema`'s owner attribute names ([`AccessError::Denied`](crate::error::AccessError::Denied) before
/// any key is unwrapped otherwise). A record stored in plaintext is refused: only a model reads
/// those.
pub async fn decrypt(
    keys: &Keys,
    schema: &Schema,
    item: &Item,
    caller: &Caller,
) -> Result<Plaintexts> {
    // A schema from the caller: checked in full, whatever it claims.
    schema.validate()?;
    let record = StoredRecord::parse(schema, item.clone());
    let permit = Gate::<()>::new().permit(caller, schema, record, Scope::Read, Logged::All)?;
    let source = keys.source_ref(schema)?;
    let (_, plaintexts) = record::open_fields(
        schema,
        permit,
        (source, keys.suites_for(schema)),
        no_plaintext_records,
        PlaintextReads::Refused,
    )
    .await?;
    Ok(plaintexts)
}

/// A raw schema has no model to read a record stored in plaintext with.
fn no_plaintext_records(_: &mut Item, _: &mut Plaintexts) -> Result<()> {
    Err(Error::Config(ConfigError::Unsupported {
        table: String::new(),
        operation: "read a record stored in plaintext",
        reason: "only a model in migration mode reads one".to_owned(),
    }))
}
