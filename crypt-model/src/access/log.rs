//! The access log, and keyed fingerprints of record keys for it and for `Debug`.
//!
//! A record's key may be personal data (an email as partition key), so logs and `Debug` never
//! show it: they show `HMAC-SHA256(k, key)` truncated to 64 bits, under a key `k` drawn from the
//! operating system once per process. The same record has the same fingerprint for the life of
//! the process, so that the lines of one incident can be joined; a reader of the logs cannot
//! recover or test a guessed key without `k`, which never leaves memory.

use std::fmt;
use std::sync::OnceLock;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use super::{Caller, Scope};
use crate::attribute::{AttributeValue, Item};
use crate::encoding::put_bytes;
use crate::schema::Schema;

/// The process's fingerprint key; `None` if the operating system's randomness failed (then no
/// fingerprint is shown at all).
fn process_key() -> Option<&'static Zeroizing<[u8; 32]>> {
    static KEY: OnceLock<Option<Zeroizing<[u8; 32]>>> = OnceLock::new();
    KEY.get_or_init(|| crate::random::array::<32>().ok().map(Zeroizing::new))
        .as_ref()
}

/// A keyed fingerprint of a record's key, for logs and `Debug`: `kf:` and 16 hex digits.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct KeyFingerprint(Option<[u8; 8]>);

impl fmt::Display for KeyFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(bytes) => {
                f.write_str("kf:")?;
                bytes.iter().try_for_each(|b| write!(f, "{b:02x}"))
            }
            None => f.write_str("kf:unavailable"),
        }
    }
}

impl fmt::Debug for KeyFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The fingerprint of the primary key of `item` (the record, or its key attributes) under
/// `schema`: the logical table, and each key attribute's name, type and value, unambiguously
/// encoded.
pub(crate) fn fingerprint(schema: &Schema, item: &Item) -> KeyFingerprint {
    let Some(key) = process_key() else {
        return KeyFingerprint(None);
    };
    let mut input = Zeroizing::new(Vec::with_capacity(128));
    put_bytes(&mut input, schema.table().as_bytes());
    for name in std::iter::once(schema.partition_key()).chain(schema.sort_key()) {
        put_bytes(&mut input, name.as_bytes());
        let (tag, value): (u8, &[u8]) = match item.get(name) {
            Some(AttributeValue::S(s)) => (1, s.as_bytes()),
            Some(AttributeValue::N(n)) => (2, n.as_bytes()),
            Some(AttributeValue::B(b)) => (3, b),
            _ => (0, &[]),
        };
        input.push(tag);
        put_bytes(&mut input, value);
    }
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key.as_slice())
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(&input);
    let tag = mac.finalize().into_bytes();
    let mut out = [0u8; 8];
    out.copy_from_slice(&tag[..8]);
    KeyFingerprint(Some(out))
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
