//! The access log: uses of a record by anyone but its owner (a grant, a delegation, a service on
//! a user's behalf) and refusals, with the caller (and the service acting for it), the scope,
//! the table and a keyed fingerprint of the record's key (`crate::fingerprint`), never the key.

use super::gate::Basis;
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

/// Logs one use of a record by anyone but its owner acting for themselves: a service's grant,
/// a delegate, or a service on a user's behalf (with both identities). The key's fingerprint (a
/// keyed hash) is computed only when the event is enabled: `tracing` evaluates fields after
/// asking the subscriber.
pub(super) fn used(caller: &Caller, schema: &Schema, key: &Item, scope: Scope, basis: Basis) {
    let key = Fingerprinted(schema, key);
    match basis {
        Basis::Grant => tracing::info!(
            target: "crypt_model::access",
            caller = caller.id(),
            scope = scope.name(),
            table = schema.table(),
            key = %key,
            "policy grant used to {} a record",
            scope.name()
        ),
        Basis::Within(attribute) => tracing::info!(
            target: "crypt_model::access",
            caller = caller.id(),
            within = caller.within(),
            narrowed_by = attribute,
            scope = scope.name(),
            table = schema.table(),
            key = %key,
            "narrowed policy grant used to {} a record",
            scope.name()
        ),
        Basis::Delegate(attribute) => tracing::info!(
            target: "crypt_model::access",
            caller = caller.id(),
            via = caller.via(),
            delegation = attribute,
            scope = scope.name(),
            table = schema.table(),
            key = %key,
            "delegation used to {} a record",
            scope.name()
        ),
        Basis::Owner => tracing::info!(
            target: "crypt_model::access",
            caller = caller.id(),
            via = caller.via(),
            scope = scope.name(),
            table = schema.table(),
            key = %key,
            "a service acted on its user's own record ({})",
            scope.name()
        ),
    }
}

/// The fingerprint of a record's key, computed when displayed.
struct Fingerprinted<'a>(&'a Schema, &'a Item);

impl std::fmt::Display for Fingerprinted<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        fingerprint(self.0, self.1).fmt(f)
    }
}

/// Logs a refusal.
pub(super) fn denied(caller: &Caller, schema: &Schema, key: &Item, scope: Scope) {
    tracing::warn!(
        target: "crypt_model::access",
        caller = caller.id(),
        service = caller.is_service(),
        via = caller.via(),
        within = caller.within(),
        scope = scope.name(),
        table = schema.table(),
        key = %fingerprint(schema, key),
        "access denied"
    );
}

/// Logs a service that holds no grant on the model: configuration gone wrong.
pub(super) fn no_grant(caller: &Caller, schema: &Schema, model: &str) {
    tracing::warn!(
        target: "crypt_model::access",
        caller = caller.id(),
        service = true,
        model,
        table = schema.table(),
        "a service with no grant on this model was refused: configure a grant, or check its name"
    );
}
