//! [`Cipher`]: the engine that encrypts the sensitive fields of an item and decrypts them.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::access::{self, Caller, Gate, Scope};
use crate::attribute::{AttributeValue, Item};
use crate::cache::{CacheLimits, KeyCache};
use crate::encoding::RESERVED_PREFIX;
use crate::error::{Error, Result};
use crate::format::{
    self, HEADER_ATTRIBUTE, Header, MAX_FIELD_LEN, NONCE_LEN, SALT_LEN, SEALED_ATTRIBUTE,
};
use crate::index::IndexSecret;
use crate::keyring::{CachedKeys, EncryptionContext, Keyring, KeyringCalls};
use crate::owner_keys::OwnerKeys;
use crate::plaintexts::Plaintexts;
use crate::random;
use crate::schema::Schema;
use crate::wipe;

mod index;
mod keys;
mod rewrap;

/// The encryption engine: a keyring, its data-key cache, and the item format.
///
/// Per item it draws a random salt and derives, with HKDF-SHA256 from a data key the keyring
/// wraps, the item's key and a key commitment; the item's sensitive fields are sealed in one
/// XChaCha20-Poly1305 message under a random 24-byte nonce, whose associated data is the format
/// version, the logical table, the header and every authenticated attribute the item holds (its
/// keys, owner, version, plain fields and blind indexes). The header attribute (`__cm_header`)
/// carries the format version, the key id, the wrapped data key, the salt and the commitment.
/// `docs/format.md` specifies the bytes.
///
/// A `Cipher` is cheap to share (`Arc<Cipher>`) and safe to use from many tasks.
///
/// ```
/// use crypt_model::{AttributeValue, Caller, Cipher, Item, LocalKeyring, Plaintexts, Schema};
///
/// const NOTES: Schema = Schema::new("notes", "user_id", "user_id").with_sensitive(&["body"]);
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), crypt_model::Error> {
/// let cipher = Cipher::new(LocalKeyring::generate()?);
///
/// let mut item = Item::new();
/// item.insert("user_id", AttributeValue::S("alice".into()));
/// let mut plaintexts = Plaintexts::new();
/// plaintexts.insert("body", &String::from("dear diary"))?;
/// cipher.encrypt(&NOTES, &mut item, &plaintexts).await?;
/// assert!(!item.contains("body") && item.contains("__cm_sealed"));
///
/// let mut opened = cipher.decrypt(&NOTES, &item, &Caller::user("alice")?).await?;
/// let body = opened.take::<String>("body")?.expect("the field was written");
/// assert_eq!(body.expose_secret(), "dear diary");
/// # Ok(()) }
/// ```
pub struct Cipher {
    keys: KeyCache,
    index_secret: Option<IndexSecret>,
    previous_index_secret: Option<IndexSecret>,
    owner_keys: Option<OwnerKeys>,
    plaintext_reads: AtomicU64,
}

impl Cipher {
    /// An engine over `keyring`, with the default [`CacheLimits`].
    pub fn new(keyring: impl Keyring + 'static) -> Self {
        Self::with_cache_limits(keyring, CacheLimits::default())
    }

    /// An engine over `keyring` with the given cache limits.
    pub fn with_cache_limits(keyring: impl Keyring + 'static, limits: CacheLimits) -> Self {
        Cipher {
            keys: KeyCache::new(Arc::new(keyring), limits),
            index_secret: None,
            previous_index_secret: None,
            owner_keys: None,
            plaintext_reads: AtomicU64::new(0),
        }
    }

    /// Sets the key table of the models with `#[crypt_model(key_per_owner)]`: each owner's
    /// records are sealed under a key of their own, kept only there (see [`OwnerKeys`]).
    pub fn with_owner_keys(mut self, keys: OwnerKeys) -> Self {
        self.owner_keys = Some(keys);
        self
    }

    /// The key table of owner keys, if one is set.
    pub fn owner_keys(&self) -> Option<&OwnerKeys> {
        self.owner_keys.as_ref()
    }

    /// The calls that reached the keyring so far: the key-provider budget of what this engine
    /// did.
    pub fn keyring_calls(&self) -> KeyringCalls {
        self.keys.calls()
    }

    /// How many records stored in plaintext this engine has read, for models in migration mode
    /// (`#[crypt_model(migrate_from_plaintext)]`; each read is also logged, target
    /// `crypt_model::migration`). Once the migration job reports nothing left in plaintext, this
    /// stays at zero, and the mode can be switched off.
    pub fn plaintext_reads(&self) -> u64 {
        self.plaintext_reads.load(Ordering::Relaxed)
    }

    /// Counts one read of a record stored in plaintext.
    pub(crate) fn count_plaintext_read(&self) {
        self.plaintext_reads.fetch_add(1, Ordering::Relaxed);
    }

    /// The id of the key-encryption key that wraps new data keys under `context` (the
    /// keyring's primary): as the keyring gives it, else from the data key the next write would
    /// take.
    pub(crate) async fn current_key_id(&self, context: EncryptionContext) -> Result<String> {
        if let Some(id) = self.keys.keyring().primary_key_id() {
            return Ok(id.to_owned());
        }
        let key = self.keys.encryption_key(&context, 0).await?;
        Ok(key.wrapped.key_id.clone())
    }

    /// The keys the cache holds now. Keys past the [`CacheLimits`] age are dropped (and wiped)
    /// within a second, whether or not the cipher is used.
    pub fn cached_keys(&self) -> CachedKeys {
        self.keys.cached()
    }

    /// Encrypts `plaintexts` into `item`, which holds the record's plain attributes (its keys and
    /// owner among them): adds the sealed message of every sensitive field, the blind-index
    /// attributes and the header, and authenticates, with the item's key, the keys, the owner,
    /// the version and the plain attributes the schema lists.
    ///
    /// On error `item` is unchanged. Errors: an invalid schema, a missing or malformed key or
    /// owner attribute, an owner that is no valid identity, a field that the schema does not
    /// declare sensitive or that `item` also holds in plain, a reserved attribute in `item`, a
    /// value over 400 KB, a key-provider failure.
    pub async fn encrypt(
        &self,
        schema: &Schema,
        item: &mut Item,
        plaintexts: &Plaintexts,
    ) -> Result<()> {
        schema.validate()?;
        if let Some(owner) = item.get(schema.owner()).and_then(|v| schema.owner_text(v)) {
            if !access::is_identity(owner) {
                access::check_identity(
                    owner,
                    &format!("the owner attribute `{}`", schema.owner()),
                )?;
            }
        }
        format::check_record(schema, item)?;
        if let Some((name, _)) = item
            .iter()
            .find(|(name, _)| name.starts_with(RESERVED_PREFIX))
        {
            return Err(Error::InvalidValue {
                attribute: name.to_owned(),
                reason: format!(
                    "names starting with `{}` are reserved for crypt-model",
                    RESERVED_PREFIX
                ),
            });
        }
        let mut total: u64 = 0;
        for (name, plaintext) in plaintexts.iter() {
            if !schema.is_sensitive(name) {
                return Err(Error::NotSensitive {
                    table: schema.table().to_owned(),
                    attribute: (*name).to_owned(),
                });
            }
            if item.contains(name) {
                return Err(Error::InvalidValue {
                    attribute: (*name).to_owned(),
                    reason: "a sensitive attribute cannot also be given in plain".to_owned(),
                });
            }
            if plaintext.len() > MAX_FIELD_LEN {
                return Err(Error::InvalidValue {
                    attribute: (*name).to_owned(),
                    reason: format!(
                        "its {} bytes exceed DynamoDB's 400 KB item limit",
                        plaintext.len()
                    ),
                });
            }
            total += plaintext.len() as u64;
        }
        // Blind-index values, computed before anything is added so that an error leaves the
        // item unchanged; they are authenticated with the rest.
        let owner = format::owner_of(schema, item)?;
        let mut index_values = Vec::with_capacity(schema.indexes().len());
        for spec in schema.indexes() {
            if let Some(plaintext) = plaintexts.get_bytes(spec.field()) {
                index_values.push((
                    spec.attribute(),
                    self.index_attribute(schema, spec, owner, plaintext)?,
                ));
            }
        }
        let key = self.sealing_key(schema, owner, total).await?;

        // The salt and the nonce in one call to the operating system.
        let mut randomness = [0; SALT_LEN + NONCE_LEN];
        random::fill(&mut randomness)?;
        let (salt, nonce) = randomness.split_at(SALT_LEN);
        let fields: Vec<(&str, &[u8])> = plaintexts.iter().collect();
        let (header, sealed) = format::seal_item(
            schema,
            &key.key,
            &key.wrapped,
            salt.try_into().map_err(|_| Error::Randomness)?,
            nonce.try_into().map_err(|_| Error::Randomness)?,
            |name| {
                index_values
                    .iter()
                    .find(|(attribute, _)| *attribute == name)
                    .map(|(_, value)| value)
                    .or_else(|| item.get(name))
            },
            &fields,
        )?;

        item.insert(HEADER_ATTRIBUTE, AttributeValue::B(header));
        item.insert(SEALED_ATTRIBUTE, AttributeValue::B(sealed));
        for (attribute, value) in index_values {
            item.insert(attribute, value);
        }
        Ok(())
    }

    /// Checks and decrypts, for its owner, the sensitive attributes of `item` that `schema`
    /// declares: the raw API's counterpart of [`Sealed::open`](crate::Sealed::open).
    ///
    /// The owner gate runs first: unless `caller` is the user named by the item's owner
    /// attribute, the result is [`Error::AccessDenied`] (logged, target `crypt_model::access`)
    /// before the header is read or any key unwrapped. Services, which act through grants, open
    /// records through a [`Table`](crate::Table) or [`Sealed::open_with`](crate::Sealed::open_with).
    /// Then the key commitment is checked before any field is decrypted; a failed check of the
    /// header or of any field gives [`Error::Integrity`] and no plaintext at all.
    pub async fn decrypt(
        &self,
        schema: &Schema,
        item: &Item,
        caller: &Caller,
    ) -> Result<Plaintexts> {
        let owner = access::stored_owner(schema, item);
        Gate::<()>::new().authorize(caller, schema, owner, item, Scope::Read)?;
        self.decrypt_item(schema, item).await
    }

    /// [`decrypt`](Self::decrypt) after the gate: the header, the commitment, the whole item's
    /// authentication, the fields.
    pub(crate) async fn decrypt_item(&self, schema: &Schema, item: &Item) -> Result<Plaintexts> {
        check_sealed_item(schema, item)?;
        let sealed = format::sealed_copy(item)?;
        self.open_sealed(schema, item, sealed).await
    }

    /// [`decrypt_item`](Self::decrypt_item) of an item the caller owns: its message is taken out
    /// of it and decrypted in place, with no copy.
    pub(crate) async fn decrypt_owned(
        &self,
        schema: &Schema,
        item: &mut Item,
    ) -> Result<Plaintexts> {
        check_sealed_item(schema, item)?;
        let sealed = format::take_sealed(item)?;
        self.open_sealed(schema, item, sealed).await
    }

    /// Unwraps the data key and opens `sealed`, the message of `item`.
    async fn open_sealed(
        &self,
        schema: &Schema,
        item: &Item,
        sealed: Vec<u8>,
    ) -> Result<Plaintexts> {
        let header_bytes = format::header_bytes(item)?;
        let header = Header::parse(header_bytes)?;
        let key = self.opening_key(schema, item, &header).await?;
        let opened = format::open_item(
            schema,
            &key,
            &header,
            header_bytes,
            |name| item.get(name),
            sealed,
        )
        .inspect_err(|error| {
            if let Error::Integrity { attribute } = error {
                // A security event worth an alert; the record's key may itself be
                // personal data, so only the table and the attribute are logged.
                tracing::warn!(table = schema.table(), attribute, "integrity check failed");
            }
        })?;
        let mut plaintexts = Plaintexts::with_capacity(schema.sensitive().len());
        let fields = format::for_each_field(format::opened_plaintext(&opened), |name, value| {
            if let Some(&name) = schema.sensitive().iter().find(|f| **f == name) {
                plaintexts.push(name, value.to_vec());
            }
        });
        wipe::discard(opened);
        fields.ok_or_else(|| Error::integrity(SEALED_ATTRIBUTE))?;
        Ok(plaintexts)
    }
}

/// What is checked of a stored item before its key is fetched: the schema, the record's keys and
/// owner, no sensitive field left in plain, a header of this version.
fn check_sealed_item(schema: &Schema, item: &Item) -> Result<()> {
    schema.validate()?;
    format::check_record(schema, item)?;
    // A sensitive field also stored as a plain attribute (plaintext left behind, or planted)
    // fails closed.
    if let Some(name) = schema.sensitive().iter().find(|name| item.contains(name)) {
        return Err(Error::malformed(
            name,
            "a sensitive field is stored as a plain attribute; its value belongs in the sealed \
             message",
        ));
    }
    Header::from_item(item).map(|_| ())
}

impl fmt::Debug for Cipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cipher")
            .field("keyring", &self.keys)
            .finish()
    }
}
