//! The errors of crypt-model: one [`Error`], nested by category as rustls nests its own, so that a
//! caller matches a category ([`Error::Integrity`], [`Error::Storage`], …) and looks inside only
//! when it needs the detail.
//!
//! Every variant names *where* something went wrong (an attribute, a key id, a table) and never
//! *what* the value was: an error message must be safe to log even when the record it came from
//! holds secrets.

use std::fmt;

mod http;
mod storage;

pub use http::HttpAnswer;
pub use storage::StorageError;

/// A boxed error from a key provider or a storage backend.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong in crypt-model, by category.
///
/// `Display` and `Debug` of every variant contain names (of attributes, fields, key ids, tables)
/// and never a stored value, a plaintext or key material.
///
/// ```
/// use crypt_model::Error;
/// use crypt_model::error::StorageError;
///
/// fn status(error: &Error) -> u16 {
///     match error {
///         Error::Access(_) => 404, // someone else's record reads as a missing one
///         Error::Storage(StorageError::Conflict { .. }) => 409,
///         Error::Integrity(_) => 500, // edited in storage: alert, never serve it
///         _ => 500,
///     }
/// }
/// # let _ = status;
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The caller may not do this, or is no valid identity. Nothing was done.
    #[error(transparent)]
    Access(#[from] AccessError),

    /// A stored record failed its integrity check: it was modified, copied from another record,
    /// field, owner or table, or written under another key. No plaintext was produced.
    #[error(transparent)]
    Integrity(#[from] IntegrityError),

    /// A stored or given value is not what it must be: missing, malformed, too large, of a
    /// format version this build does not read.
    #[error(transparent)]
    Data(#[from] DataError),

    /// The model, the table or the keys are configured so that this cannot be done (a fix in the
    /// code or the configuration, not a retry). Nothing was done.
    #[error(transparent)]
    Config(#[from] ConfigError),

    /// A key could not be had: the key provider failed or refused, the key is not held, or the
    /// owner's key was erased. Nothing was encrypted, decrypted or written.
    #[error(transparent)]
    Key(#[from] KeyError),

    /// The store refused or failed: a condition, a conflict, a cancelled transaction, a throttle,
    /// an unreachable backend.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Why a caller was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AccessError {
    /// The caller may not open or write this record.
    #[error(
        "access denied: caller `{}` may not access this record of table `{table}`",
        .caller.escape_debug()
    )]
    Denied {
        /// The caller's identity.
        caller: String,
        /// The logical table.
        table: String,
    },

    /// A service caller holds no grant of any scope on this model: a misspelt service name, or
    /// a grant never configured. A service is configuration, not an attacker, so this is said
    /// plainly (and logged at `WARN`), on every operation, instead of answering as for missing
    /// records. Nothing was read.
    #[error(
        "service `{}` holds no grant on model `{model}` (table `{table}`): give the table a \
         `Grant` for it (`Table::with_grant(Grant::read(\"{}\")?)`, or `write`, `delete`), or \
         check the service's name",
        .service.escape_debug(),
        .service.escape_debug()
    )]
    NoGrant {
        /// The service's name.
        service: String,
        /// The model's Rust type.
        model: String,
        /// The logical table.
        table: String,
    },

    /// A service searched an owner-scoped blind index, which only a record's owner can search
    /// (its values are keyed by the owner's id).
    #[error(
        "the index on `{field}` is owner-scoped: only a user, for its own records, can search it"
    )]
    OwnerScopedIndex {
        /// The indexed field.
        field: String,
    },

    /// An identity — a caller's id, a service's name, a record's owner — is empty, only white
    /// space, or holds a control character. Nothing was done.
    #[error("invalid identity for {subject}: {reason}")]
    InvalidIdentity {
        /// Whose identity (`a user caller`, `the owner attribute \`user_id\``, …).
        subject: String,
        /// What is wrong with it, without the value.
        reason: String,
    },
}

/// Which check of a stored record failed.
#[derive(Debug, thiserror::Error)]
#[error(
    "integrity check failed for attribute `{attribute}`: the item was modified, copied from \
     another record, or written under another key; nothing was decrypted"
)]
#[non_exhaustive]
pub struct IntegrityError {
    /// The attribute whose check failed (the header attribute, or the sealed message).
    pub attribute: String,
}

/// What is wrong with a value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// An attribute is present but has the wrong type or shape.
    #[error("attribute `{attribute}` is malformed: {reason}")]
    Malformed {
        /// The attribute's name.
        attribute: String,
        /// What was expected, without the value found.
        reason: String,
    },

    /// An attribute that must be present is missing.
    #[error("attribute `{attribute}` is missing from the item")]
    Missing {
        /// The attribute's name.
        attribute: String,
    },

    /// A value cannot be stored: too large, not representable as an attribute, or a reserved
    /// attribute name.
    #[error("attribute `{attribute}` cannot be stored: {reason}")]
    InvalidValue {
        /// The attribute's name.
        attribute: String,
        /// Why, without the value.
        reason: String,
    },

    /// The item's header carries a format version this build of crypt-model cannot read.
    #[error(
        "the item uses ciphertext format version {version}, which this build of crypt-model \
         does not read (it reads versions up to {supported}): {}",
        crate::suite::unsupported_version_step(*.version)
    )]
    UnsupportedVersion {
        /// The version found in the header.
        version: u8,
        /// The newest version this build reads.
        supported: u8,
    },

    /// A record sealed with a suite that the [`Keys`](crate::Keys) do not open
    /// ([`Keys::with_suites`](crate::Keys::with_suites)): refused before its data key was asked
    /// for, so nothing of it was decrypted.
    #[error(
        "table `{table}`: the record is sealed with the suite {suite}, which these keys do not \
         open (they open {allowed}): while a re-encryption moves the table to the model's suite, \
         give the keys both, `Keys::with_suites(Suite::ALL)` (docs/fips.md, \"Moving a table \
         to suite 2\")"
    )]
    SuiteNotAllowed {
        /// The logical table.
        table: String,
        /// The suite the record's header names.
        suite: crate::suite::Suite,
        /// The suites the keys open, as a list.
        allowed: String,
    },

    /// A record stored in plaintext that the table's migration plan does not admit: no plan, a
    /// plan closed or expired, or a record written or changed in plaintext since the plan
    /// (docs/migration.md). Nothing of the record was read.
    #[error("table `{table}`: a record stored in plaintext was refused: {reason}")]
    PlaintextRefused {
        /// The logical table.
        table: String,
        /// Why, and what to do.
        reason: String,
    },

    /// A record that another version of the model wrote: one that authenticated attributes this
    /// model does not know (a field added since: its tag proves it genuine), or one whose header
    /// names its owner's key, read by a model without `key_per_owner` (what the header says,
    /// unverified). Deploy the version that wrote it to every reader (docs/format.md, "Changing a
    /// model").
    #[error(
        "table `{table}`: the record was written by another version of the model ({reason}): \
         deploy that version to every reader before any writer (readers first; docs/format.md, \
         \"Changing a model\")"
    )]
    WrittenByAnotherModel {
        /// The logical table.
        table: String,
        /// What that version did that this one does not (attribute names, never values).
        reason: String,
    },

    /// A record a listing found did not open (what [`Page::unreadable`](crate::Page::unreadable)
    /// reports), for a call that returns no page: `Table::query_all`.
    #[error("table `{table}`: a record did not open: {reason}")]
    Unreadable {
        /// The logical table.
        table: String,
        /// Why (the record's own error).
        reason: String,
    },

    /// A value was given for an attribute that the schema does not declare sensitive.
    #[error("`{attribute}` is not a sensitive attribute of table `{table}`")]
    NotSensitive {
        /// The logical table.
        table: String,
        /// The attribute.
        attribute: String,
    },
}

/// What is misconfigured.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// An existing table does not have the keys (or a same-named index does not have the keys)
    /// the model needs: provisioning refused to touch it. Point the model at its own table, or
    /// migrate the data to a table of this shape.
    #[error(
        "table `{table}` exists but is not this model's: {}; nothing was changed (use another \
         table name, or move the data to a table with the model's keys)",
        .differences.join("; ")
    )]
    TableMismatch {
        /// The physical table.
        table: String,
        /// What differs, one entry each (`partition key: the table has \`id\` (S), the model
        /// \`user_id\` (S)`).
        differences: Vec<String>,
    },

    /// A schema breaks a rule (the derive checks them all at compile time; a hand-written
    /// [`Schema`](crate::Schema) is checked when first used).
    #[error("invalid schema for table `{table}`: {reason}")]
    InvalidSchema {
        /// The logical table.
        table: String,
        /// Which rule.
        reason: String,
    },

    /// A table name breaks DynamoDB's rules: 3 to 255 characters of `A-Z a-z 0-9 _ . -`.
    #[error(
        "invalid table name `{}`: a table name is 3 to 255 characters of A-Z a-z 0-9 _ . -",
        .name.escape_debug()
    )]
    InvalidTableName {
        /// The name given.
        name: String,
    },

    /// An attribute name is empty, longer than 255 bytes, or uses the reserved `__cm` prefix.
    #[error("invalid attribute name `{}`: {reason}", .name.escape_debug())]
    InvalidAttributeName {
        /// The name given.
        name: String,
        /// Which rule.
        reason: String,
    },

    /// The model has a blind index and the [`Keys`](crate::Keys) has no index secret.
    #[error(
        "table `{table}` has a blind index on `{field}`, and its keys have no index secret: \
         configure one with Keys::with_index_secret"
    )]
    NoIndexSecret {
        /// The logical table.
        table: String,
        /// The indexed field.
        field: String,
    },

    /// A search named a field without a blind index.
    #[error("`{field}` has no blind index in table `{table}`")]
    NoSuchIndex {
        /// The logical table.
        table: String,
        /// The field.
        field: String,
    },

    /// The operation cannot be done on this model (an update of a model without a version, a
    /// batch write of records whose write must be conditional). Nothing was done.
    #[error("{operation} on table `{table}` is not possible: {reason}")]
    Unsupported {
        /// The logical table.
        table: String,
        /// The operation (`update`, `batch_put`).
        operation: &'static str,
        /// Why, and what to use instead.
        reason: String,
    },

    /// A key given to a keyring was refused (wrong length, all zero, bad encoding, bad id).
    #[error("invalid key `{}`: {reason}", .key_id.escape_debug())]
    InvalidKey {
        /// The id the key was given under.
        key_id: String,
        /// Why it was refused.
        reason: String,
    },
}

/// Why a key could not be had.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The header names a key id that the keyring does not hold.
    #[error(
        "the item was encrypted under key `{}`, which this keyring does not hold; add that key \
         (as a read key, if it was rotated out) to decrypt it",
        .key_id.escape_debug()
    )]
    UnknownKeyId {
        /// The key id named in the item's header.
        key_id: String,
    },

    /// The keyring holds a key with the right id, but the wrapped data key did not unwrap under
    /// it: the key-encryption key is wrong, or the header or the encryption context differ from
    /// those the data key was wrapped with.
    #[error(
        "the data key could not be unwrapped with key `{}`: the key-encryption key is not the \
         one the item was written with, or the item belongs to another table",
        .key_id.escape_debug()
    )]
    UnwrapFailed {
        /// The key id named in the item's header.
        key_id: String,
    },

    /// The record is sealed under its owner's key (`#[crypt_model(key_per_owner)]`), and that
    /// key is no longer in the key table: the owner was erased (or the record names a key of
    /// theirs that was). Nothing can decrypt it, by design.
    #[error(
        "the record's owner key in table `{table}` was erased: the record can no longer be read"
    )]
    OwnerKeyErased {
        /// The logical table.
        table: String,
    },

    /// The key provider (KMS, a remote service) refused or failed. Nothing was encrypted,
    /// decrypted or written.
    #[error("key provider failed{}: {kind}: {message}", key_id_suffix(.key_id))]
    Provider {
        /// What kind of failure.
        kind: KeyProviderError,
        /// The key id involved, when known.
        key_id: Option<String>,
        /// What the provider said, free of key material.
        message: String,
        /// The provider's own error, when there is one.
        #[source]
        source: Option<BoxError>,
    },

    /// The operating system's random number generator failed.
    #[error("the operating system's random number generator failed")]
    Randomness,
}

/// The kinds of key-provider failure, so that callers can react without parsing messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyProviderError {
    /// The credentials may not use the key (check the key policy and IAM).
    AccessDenied,
    /// The key does not exist (or is not visible in this account and region).
    KeyNotFound,
    /// The key exists but is disabled or pending deletion.
    KeyDisabled,
    /// The provider throttled the request; retry with backoff.
    Throttled,
    /// The provider could not be reached.
    Unavailable,
    /// Anything else.
    Other,
}

impl fmt::Display for KeyProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyProviderError::AccessDenied => "access denied",
            KeyProviderError::KeyNotFound => "key not found",
            KeyProviderError::KeyDisabled => "key disabled",
            KeyProviderError::Throttled => "throttled",
            KeyProviderError::Unavailable => "unavailable",
            KeyProviderError::Other => "failed",
        })
    }
}

fn key_id_suffix(key_id: &Option<String>) -> String {
    key_id
        .as_ref()
        .map(|id| format!(" for key `{}`", id.escape_debug()))
        .unwrap_or_default()
}

impl Error {
    /// Whether the error belongs to one record — it is malformed, forged, written by another
    /// version of the model, refused in plaintext, or names a key the provider does not hold —
    /// rather than to the store, the key provider or the configuration: a listing reports it
    /// beside its page, and a job beside its counts, and both go on.
    pub(crate) fn is_about_one_record(&self) -> bool {
        matches!(
            self,
            Error::Integrity(_)
                | Error::Data(_)
                | Error::Access(_)
                | Error::Key(
                    KeyError::UnknownKeyId { .. }
                        | KeyError::UnwrapFailed { .. }
                        | KeyError::OwnerKeyErased { .. }
                )
        )
    }

    pub(crate) fn malformed(attribute: &str, reason: impl fmt::Display) -> Self {
        DataError::Malformed {
            attribute: attribute.to_owned(),
            reason: reason.to_string(),
        }
        .into()
    }

    pub(crate) fn integrity(attribute: &str) -> Self {
        IntegrityError {
            attribute: attribute.to_owned(),
        }
        .into()
    }
}

/// A shorthand for results of crypt-model operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;
