//! [`Schema`]: what the engine needs to know of a model — its logical table, key, owner and
//! sensitive attributes.

use crate::attribute::{AttributeValue, KeyType};
use crate::blind_index::BlindIndex;

mod delegate;
mod secondary;
mod validate;

pub use crate::suite::Suite;
pub(crate) use crate::suite::Suites;
pub(crate) use delegate::names;
pub use delegate::{DelegateScope, Delegation};
pub use secondary::SecondaryIndex;
pub(crate) use validate::validate_attribute_name;
pub use validate::validate_table_name;

/// The static description of an encrypted model: the logical table, the key and owner
/// attributes, and the sensitive attributes. The derive generates one per model; the engine,
/// the table layer and provisioning read it instead of repeating it.
///
/// The *logical* table name is bound into every ciphertext. It names the data set, not the
/// physical DynamoDB table: keep it stable across environments, renames and restores from
/// backup, so that a restored table stays readable.
///
/// ```
/// use crypt_model::Schema;
///
/// const PROFILES: Schema = Schema::new("profiles", "user_id", "user_id")
///     .with_sort_key("kind")
///     .with_sensitive(&["ssn", "email"]);
/// assert!(PROFILES.validate().is_ok());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Schema {
    table: &'static str,
    partition_key: &'static str,
    sort_key: Option<&'static str>,
    owner: &'static str,
    sensitive: &'static [&'static str],
    plain: &'static [&'static str],
    unauthenticated: &'static [&'static str],
    version: Option<&'static str>,
    key_types: (KeyType, KeyType),
    owner_type: KeyType,
    indexes: &'static [BlindIndex],
    secondary_indexes: &'static [SecondaryIndex],
    /// The attributes that name delegates (`#[delegate]`).
    delegations: &'static [Delegation],
    /// Checked when it was built (by the derive, at compile time).
    checked: bool,
    /// The authenticated attributes, sorted, when the derive computed them at compile time.
    authenticated: Option<&'static [&'static str]>,
    /// Records stored before encryption are read too (`migrate_from_plaintext`).
    plaintext_migration: bool,
    /// Each owner's records are sealed under a key of their own (`key_per_owner`).
    key_per_owner: bool,
    /// The algorithms its records are sealed with (`suite = "…"`).
    suite: Suite,
    /// Whether the model names its suite (a `fips` build seals suite 2 for one that does not).
    suite_named: bool,
}

impl Schema {
    /// A schema for the logical table `table`, keyed by `partition_key`, whose records belong to
    /// the identity in the attribute `owner` (which may be the partition key): a string, unless
    /// [`with_owner_type`](Self::with_owner_type) says it is a number.
    pub const fn new(
        table: &'static str,
        partition_key: &'static str,
        owner: &'static str,
    ) -> Self {
        Schema {
            table,
            partition_key,
            sort_key: None,
            owner,
            sensitive: &[],
            plain: &[],
            unauthenticated: &[],
            version: None,
            key_types: (KeyType::S, KeyType::S),
            owner_type: KeyType::S,
            indexes: &[],
            secondary_indexes: &[],
            delegations: &[],
            checked: false,
            authenticated: None,
            plaintext_migration: false,
            key_per_owner: false,
            suite: Suite::XChaCha20Poly1305,
            suite_named: false,
        }
    }

    /// Adds a sort key attribute.
    pub const fn with_sort_key(mut self, sort_key: &'static str) -> Self {
        self.sort_key = Some(sort_key);
        self
    }

    /// Sets the sensitive (encrypted) attributes.
    pub const fn with_sensitive(mut self, sensitive: &'static [&'static str]) -> Self {
        self.sensitive = sensitive;
        self
    }

    /// Sets the plain attributes that are authenticated with the item (besides the keys, the
    /// owner and the version, which always are): editing, adding, deleting or rolling back any
    /// of them in storage makes the item fail its integrity check. A plain attribute left out is
    /// neither encrypted nor authenticated (for values changed outside the library: a TTL, a
    /// counter updated in place).
    pub const fn with_plain(mut self, plain: &'static [&'static str]) -> Self {
        self.plain = plain;
        self
    }

    /// Sets the plain attributes of the model that are *not* authenticated
    /// (`#[crypt_model(unauthenticated)]`): written and read by the model, but free to change in
    /// storage without failing the item's integrity check.
    pub const fn with_unauthenticated(mut self, plain: &'static [&'static str]) -> Self {
        self.unauthenticated = plain;
        self
    }

    /// Migration mode (`#[crypt_model(migrate_from_plaintext)]`): a record stored before
    /// encryption — no attribute of crypt-model's, its sensitive fields in plain — is read too,
    /// counted ([`Table::plaintext_reads`](crate::Table::plaintext_reads)) and logged (target
    /// `crypt_model::migration`); every write encrypts. `docs/migration.md` is the runbook.
    pub const fn with_plaintext_migration(mut self) -> Self {
        self.plaintext_migration = true;
        self
    }

    /// The algorithms the model's records are sealed with (`#[crypt_model(suite = "…")]`):
    /// [`Suite::Aes256Gcm`] needs the feature `aes-gcm`; a record is read by the suite its
    /// header names.
    ///
    /// [`Suite::Aes256Gcm`]: Suite::Aes256Gcm
    pub const fn with_suite(mut self, suite: Suite) -> Self {
        self.suite = suite;
        self.suite_named = true;
        self
    }

    /// The algorithms this model's records are sealed with: the suite the model names, else
    /// [`Suite::XChaCha20Poly1305`] — or, in a `fips` build, [`Suite::Aes256Gcm`]
    /// (docs/fips.md).
    ///
    /// [`Suite::XChaCha20Poly1305`]: Suite::XChaCha20Poly1305
    /// [`Suite::Aes256Gcm`]: Suite::Aes256Gcm
    pub const fn suite(&self) -> Suite {
        if !self.suite_named && cfg!(feature = "fips") {
            return Suite::Aes256Gcm;
        }
        self.suite
    }

    /// Whether the model names its suite (`#[crypt_model(suite = "…")]`), rather than taking
    /// the build's default.
    pub(crate) const fn names_suite(&self) -> bool {
        self.suite_named
    }

    /// The suite new records are sealed with: [`suite`](Self::suite), unless the workspace's
    /// tests set another for the models that name none (feature `hazmat`, the environment
    /// variable `CRYPT_MODEL_TEST_SUITE`: `scripts/test` runs the conformance suite under each).
    pub(crate) fn sealing_suite(&self) -> Suite {
        #[cfg(feature = "hazmat")]
        if !self.suite_named
            && let Some(suite) = crate::suite::test_suite()
        {
            return suite;
        }
        self.suite()
    }

    /// A key per owner (`#[crypt_model(key_per_owner)]`): each owner's records are sealed under
    /// a data key of their own, kept only in the key table of
    /// [`OwnerKeys`](crate::OwnerKeys), so that erasing the owner's key erases every copy of
    /// their records.
    pub const fn with_key_per_owner(mut self) -> Self {
        self.key_per_owner = true;
        self
    }

    /// Whether each owner's records are sealed under a key of their own.
    pub const fn keeps_key_per_owner(&self) -> bool {
        self.key_per_owner
    }

    /// Whether records stored in plaintext are read (see
    /// [`with_plaintext_migration`](Self::with_plaintext_migration)).
    pub const fn migrates_plaintext(&self) -> bool {
        self.plaintext_migration
    }

    /// Sets the version attribute, a number incremented by every write (optimistic locking).
    pub const fn with_version(mut self, version: &'static str) -> Self {
        self.version = Some(version);
        self
    }

    /// Marks the schema as checked when it was built: the derive checks every rule of
    /// [`validate`](Self::validate) at compile time, so that reads and writes need not again.
    #[doc(hidden)]
    pub const fn __checked(mut self) -> Self {
        self.checked = true;
        self
    }

    /// The authenticated attributes, sorted and deduplicated, as the derive computed them at
    /// compile time (so that reads and writes need not sort them).
    #[doc(hidden)]
    pub const fn __authenticated(mut self, names: &'static [&'static str]) -> Self {
        self.authenticated = Some(names);
        self
    }

    /// Sets the blind indexes of sensitive fields.
    pub const fn with_blind_indexes(mut self, indexes: &'static [BlindIndex]) -> Self {
        self.indexes = indexes;
        self
    }

    /// The blind indexes.
    pub const fn blind_indexes(&self) -> &'static [BlindIndex] {
        self.indexes
    }

    /// Sets the secondary indexes on plain attributes.
    pub const fn with_secondary_indexes(mut self, indexes: &'static [SecondaryIndex]) -> Self {
        self.secondary_indexes = indexes;
        self
    }

    /// The secondary indexes on plain attributes.
    pub const fn secondary_indexes(&self) -> &'static [SecondaryIndex] {
        self.secondary_indexes
    }

    /// Sets the delegations: plain, authenticated attributes whose values name principals who
    /// may act on a record besides its owner (`#[delegate]`, `#[delegate(write)]`).
    pub const fn with_delegations(mut self, delegations: &'static [Delegation]) -> Self {
        self.delegations = delegations;
        self
    }

    /// The delegations.
    pub const fn delegations(&self) -> &'static [Delegation] {
        self.delegations
    }

    /// Whether some delegation lets the principals it names read (`write == false`) or write
    /// records of this model.
    pub(crate) fn delegates(&self, write: bool) -> bool {
        self.delegations.iter().any(|d| d.allows(write))
    }

    /// The blind index of `field`, if it has one.
    pub(crate) fn blind_index_of(&self, field: &str) -> Option<&'static BlindIndex> {
        self.indexes.iter().find(|spec| spec.field() == field)
    }

    /// Sets the type of the owner attribute when it is not a key (a key's type is the key's):
    /// a string (`S`, the default) or a number (`N`, e.g. a `u64` user id). The owner's id, as
    /// callers present it, is the string, or the number's decimal text.
    pub const fn with_owner_type(mut self, owner_type: KeyType) -> Self {
        self.owner_type = owner_type;
        self
    }

    /// The type of the owner attribute: the key's, when the owner is a key.
    pub const fn owner_type(&self) -> KeyType {
        if str_eq(self.owner, self.partition_key) {
            return self.key_types.0;
        }
        match self.sort_key {
            Some(sort_key) if str_eq(self.owner, sort_key) => self.key_types.1,
            _ => self.owner_type,
        }
    }

    /// The owner id an owner attribute holds: its text, when it is of the owner's type, and, for
    /// a number, an integer in its one plain decimal form (`0|-?[1-9][0-9]*`). DynamoDB compares
    /// numbers by value, so that `01001` or `1001.0` would match the owner `1001` in a condition:
    /// such a text is no owner's id.
    pub(crate) fn owner_text<'a>(&self, value: &'a AttributeValue) -> Option<&'a str> {
        match (self.owner_type(), value) {
            (KeyType::S, AttributeValue::S(id)) => Some(id),
            (KeyType::N, AttributeValue::N(id)) if is_plain_integer(id) => Some(id),
            _ => None,
        }
    }

    /// The owner attribute that holds the owner id `id`; `None` when no owner of this schema
    /// can have that id (a number owner's id is a plain integer: a condition on `1001.0` would
    /// match the owner `1001`, since DynamoDB compares numbers by value).
    pub(crate) fn owner_value(&self, id: &str) -> Option<AttributeValue> {
        match self.owner_type() {
            KeyType::N if is_plain_integer(id) => Some(AttributeValue::N(id.to_owned())),
            KeyType::N => None,
            _ => Some(AttributeValue::S(id.to_owned())),
        }
    }

    /// Sets the types of the partition and sort keys (default: strings).
    pub const fn with_key_types(mut self, partition: KeyType, sort: KeyType) -> Self {
        self.key_types = (partition, sort);
        self
    }

    /// The types of the partition and sort keys.
    pub const fn key_types(&self) -> (KeyType, KeyType) {
        self.key_types
    }

    /// The version attribute, if the model has one.
    pub const fn version(&self) -> Option<&'static str> {
        self.version
    }

    /// The logical table name.
    pub const fn table(&self) -> &'static str {
        self.table
    }

    /// The partition key attribute.
    pub const fn partition_key(&self) -> &'static str {
        self.partition_key
    }

    /// The sort key attribute, if any.
    pub const fn sort_key(&self) -> Option<&'static str> {
        self.sort_key
    }

    /// The owner attribute.
    pub const fn owner(&self) -> &'static str {
        self.owner
    }

    /// The sensitive attributes.
    pub const fn sensitive(&self) -> &'static [&'static str] {
        self.sensitive
    }

    /// Every attribute the item's authentication covers, sorted by bytes, once each (see
    /// docs/format.md).
    pub fn authenticated(&self) -> Vec<&'static str> {
        self.with_authenticated(<[&str]>::to_vec)
    }

    /// The authenticated plain attributes (besides keys, owner and version).
    pub const fn plain(&self) -> &'static [&'static str] {
        self.plain
    }

    /// The plain attributes that are not authenticated.
    pub const fn unauthenticated(&self) -> &'static [&'static str] {
        self.unauthenticated
    }

    /// Whether `attribute` is a plain field of the model other than a key, the owner or the
    /// version: authenticated or not.
    pub(crate) fn is_plain_field(&self, attribute: &str) -> bool {
        self.plain.contains(&attribute) || self.unauthenticated.contains(&attribute)
    }

    /// Every attribute the item's authentication covers, sorted by bytes, once each: the keys,
    /// the owner, the authenticated plain attributes, the version and the blind-index
    /// attributes.
    /// Calls `f` with them, sorted and deduplicated, in a buffer on the stack for the usual
    /// model (every read and write asks).
    pub(crate) fn with_authenticated<R>(&self, f: impl FnOnce(&[&'static str]) -> R) -> R {
        if let Some(names) = self.authenticated {
            return f(names);
        }
        let names = [
            Some(self.partition_key),
            self.sort_key,
            Some(self.owner),
            self.version,
        ]
        .into_iter()
        .flatten()
        .chain(self.plain.iter().copied())
        .chain(self.indexes.iter().map(BlindIndex::attribute));
        let mut stack: [&'static str; 32] = [""; 32];
        let mut heap: Vec<&'static str> = Vec::new();
        let mut len = 0;
        for name in names {
            if len < stack.len() {
                stack[len] = name;
            } else {
                if heap.is_empty() {
                    heap.extend_from_slice(&stack);
                }
                heap.push(name);
            }
            len += 1;
        }
        let names: &mut [&'static str] = if heap.is_empty() {
            &mut stack[..len]
        } else {
            &mut heap
        };
        names.sort_unstable_by_key(|name| name.as_bytes());
        // Deduplicated in place (the owner may be a key).
        let mut kept = 0;
        for i in 0..names.len() {
            if kept == 0 || names[kept - 1] != names[i] {
                names[kept] = names[i];
                kept += 1;
            }
        }
        f(&names[..kept])
    }

    /// Whether `attribute` is one of the sensitive attributes.
    pub(crate) fn is_sensitive(&self, attribute: &str) -> bool {
        self.sensitive.contains(&attribute)
    }
}

/// `0`, or an optional `-` and digits without a leading zero: the one text of an integer.
pub(crate) fn is_plain_integer(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let bytes = digits.as_bytes();
    match bytes {
        [] => false,
        [b'0'] => text == "0",
        [first, ..] => *first != b'0' && bytes.iter().all(u8::is_ascii_digit),
    }
}

/// String equality in a `const fn`.
pub(crate) const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}
