//! The access log: grant uses and refusals, with the caller, the scope, the table and a keyed
//! fingerprint of the record's key (`crate::fingerprint`), never the key.

use super::{Caller, Scope};
use crate::attribute::{Item, Key};
use crate::fingerprint::KeyFingerprint;
use crate::schema::Schema;

/// The fingerprint of the primary key of `item` (the record, or its key attributes) under
/// `schema`: the same as the `Debug` of its [`Key`] shows.
pub(crate) fn fingerprint(schema: &Schema, item: &Item) -> KeyFingerprint {
    let part = |name: &str| item.get(name).cloned();
    match part(schema.partition_key()) {
        Some(partition) => Key {
            partition,
            sort: schema.sort_key().and_then(part),
        }
        .fingerprint(),
        None => KeyFingerprint::of(&[]),
    }
}

/// Logs one use of a grant.
pub(super) fn grant_used(caller: &Caller, schema: &Schema, key: &Item, scope: Scope) {
    tracing::info!(
        target: "crypt_model::access",
        caller = caller.id(),
        scope = scope.name(),
        table = schema.table(),
        key = %fingerprint(schema, key),
        "policy grant used to {} a record",
        scope.name()
    );
}

/// Logs a refusal.
pub(super) fn denied(caller: &Caller, schema: &Schema, key: &Item, scope: Scope) {
    tracing::warn!(
        target: "crypt_model::access",
        caller = caller.id(),
        service = caller.is_service(),
        scope = scope.name(),
        table = schema.table(),
        key = %fingerprint(schema, key),
        "access denied"
    );
}
