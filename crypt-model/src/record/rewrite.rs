//! Rewriting a stored record: the conditional update from the record as it was read to its new
//! item, with the witnesses that it is unchanged.

use std::collections::BTreeSet;

use crate::attribute::Item;
use crate::format::{RESERVED_PREFIX, SEALING_ATTRIBUTES};
use crate::schema::Schema;
use crate::store::{Condition, TableRef, Update, rewrite};

/// Every attribute the model of `schema` knows but its keys: the owner, the version, the
/// sensitive and plain fields, the blind-index attributes, the header and the message.
fn known_attributes(schema: &Schema) -> BTreeSet<&'static str> {
    let is_key = |name: &str| name == schema.partition_key() || Some(name) == schema.sort_key();
    std::iter::once(schema.owner())
        .chain(schema.version())
        .chain(schema.sensitive().iter().copied())
        .chain(schema.plain().iter().copied())
        .chain(schema.unauthenticated().iter().copied())
        .chain(schema.blind_indexes().iter().map(|spec| spec.attribute()))
        .chain(SEALING_ATTRIBUTES)
        .filter(|name| !is_key(name))
        .collect()
}

/// The update that turns `stored`, a record of `schema` in `table` as it was read (stored before
/// encryption if `plaintext`), into `new`, and its condition: that the record is as it was read,
/// and `extra`. Only what differs is written; attributes the model does not know are left as they
/// are, but for the library's own (the reserved prefix), and those it knows that `new` lacks are
/// removed.
///
/// An encrypted record is unchanged if its header and message are: every write through the
/// library seals the message again under a new nonce, and its authentication covers every other
/// attribute the model authenticates. A record in plaintext has no such witness, so each
/// attribute the model knows is compared: as read, or still absent.
pub(crate) fn rewrite_of(
    schema: &Schema,
    table: &TableRef,
    stored: &Item,
    plaintext: bool,
    new: &Item,
    extra: Vec<Condition>,
) -> (Update, Condition) {
    let known = known_attributes(schema);
    let witnesses: Vec<&str> = if plaintext {
        known.iter().copied().collect()
    } else {
        SEALING_ATTRIBUTES.to_vec()
    };
    // Every attribute under the reserved prefix is the library's: one this model does not know
    // (the blind index of a newer version) is removed too, rather than left beside a message
    // that no longer authenticates it.
    rewrite(
        table,
        stored,
        new,
        |name| known.contains(name) || name.starts_with(RESERVED_PREFIX),
        witnesses,
        extra,
    )
}
