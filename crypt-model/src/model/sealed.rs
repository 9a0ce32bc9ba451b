//! [`Sealed<T>`]: a record read from storage but not opened; and the public steps from it to `T`
//! — the gate's [`Permit`] ([`Gate::admit`]), then [`Permit::open`].

use std::fmt;
use std::marker::PhantomData;

use super::EncryptedItem;
use crate::access::{Caller, ErasePermit, Gate, Grant, Logged, Permit, Scope, fingerprint};
use crate::attribute::AttributeValue;
use crate::error::Result;
use crate::format::StoredRecord;
use crate::keys::Keys;
use crate::record::{self, PlaintextReads};

/// A record read from storage but not opened: its key and owner are readable, its sensitive
/// fields are still ciphertext, and the owner gate's [`Permit`] is the only way to the model.
///
/// `Sealed` has no `Deref`, no `Into`, no public fields and no accessor for a sensitive field,
/// so code that forgets the owner check does not compile. The stored item is parsed once, when
/// it is read, but nothing of it but its key and owner is told before the owner gate has
/// decided: a malformed item of someone else's is refused as any of their records is, and only a
/// caller who may open it learns what is wrong with it.
pub struct Sealed<T: EncryptedItem> {
    record: StoredRecord,
    model: PhantomData<fn() -> T>,
}

impl<T: EncryptedItem> Sealed<T> {
    pub(crate) fn new(item: crate::attribute::Item) -> Self {
        Self::of(StoredRecord::parse(&T::SCHEMA, item))
    }

    /// A record of `T` already parsed (with `T`'s schema).
    pub(crate) fn of(record: StoredRecord) -> Self {
        Sealed {
            record,
            model: PhantomData,
        }
    }

    /// The record's logical table.
    pub fn table(&self) -> &'static str {
        T::SCHEMA.table()
    }

    /// The partition key, as stored (`None` if the item lacks it).
    pub fn partition_key(&self) -> Option<&AttributeValue> {
        self.record.attributes().get(T::SCHEMA.partition_key())
    }

    /// The sort key, as stored, if the model has one.
    pub fn sort_key(&self) -> Option<&AttributeValue> {
        T::SCHEMA
            .sort_key()
            .and_then(|name| self.record.attributes().get(name))
    }

    /// The id of the record's owner; `None` when the stored owner is not a valid identity (such
    /// a record belongs to no user).
    pub fn owner(&self) -> Option<&str> {
        self.record.owner()
    }

    /// Opens the record for `caller`, if it is the record's owner.
    ///
    /// The owner gate runs first: anyone else gets [`AccessError::Denied`](crate::error::AccessError::Denied) (logged) before any
    /// key is unwrapped or any field decrypted. Then the key commitment and every field are
    /// checked and decrypted; a record edited or copied in storage gives [`IntegrityError`](crate::error::IntegrityError). A
    /// service with a read [`Grant`](crate::Grant) opens records with
    /// [`open_with`](Self::open_with).
    ///
    /// # Errors
    ///
    /// [`AccessError::Denied`](crate::error::AccessError::Denied) for anyone but the owner; then as
    /// [`Permit::open`].
    pub async fn open(self, caller: &Caller, keys: &Keys) -> Result<T> {
        self.open_with(caller, &Gate::new(), keys).await
    }

    /// Opens the record for `caller` under `gate`: its owner, or a service `gate` grants
    /// [`Scope::Read`] (each such use logged with the scope). As [`open`](Self::open) otherwise:
    /// [`Gate::admit`], then [`Permit::open`].
    ///
    /// # Errors
    ///
    /// [`AccessError::Denied`](crate::error::AccessError::Denied) for anyone the gate refuses; then
    /// as [`Permit::open`].
    pub async fn open_with(self, caller: &Caller, gate: &Gate<T>, keys: &Keys) -> Result<T> {
        gate.admit(caller, self)?.open(keys).await
    }
}

impl<T: EncryptedItem> Gate<T> {
    /// The permit for `caller` to open `sealed`: its owner, by the record's stored owner
    /// attribute (which its authentication covers), or a service this gate grants
    /// [`Scope::Read`] (the grant use logged, target `crypt_model::access`). Anyone else gets
    /// [`AccessError::Denied`](crate::error::AccessError::Denied) (logged), and no key is unwrapped.
    ///
    /// ```
    /// # use crypt_model::{Caller, Keys, EncryptedItem, Grant, LocalKeyring, Sensitive};
    /// use crypt_model::access::Gate;
    /// # #[derive(EncryptedItem)]
    /// # #[crypt_model(table = "profiles")]
    /// # struct Profile { #[partition_key] #[owner] user_id: String, #[sensitive] ssn: Sensitive<String> }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), crypt_model::Error> {
    /// # let keys = Keys::new(LocalKeyring::generate()?);
    /// # let record = Profile { user_id: "alice".into(), ssn: Sensitive::new("078-05-1120".into()) };
    /// # let item = record.to_item(&keys).await?;
    /// // A stream consumer with a read grant: the gate decides, then the permit opens.
    /// let gate = Gate::new().with_grant(Grant::read("search-indexer")?);
    /// let sealed = Profile::from_item(item);
    /// let permit = gate.admit(&Caller::service("search-indexer")?, sealed)?;
    /// let profile = permit.open(&keys).await?;
    /// assert_eq!(profile.ssn.expose_secret(), "078-05-1120");
    /// # Ok(()) }
    /// ```
    pub fn admit(&self, caller: &Caller, sealed: Sealed<T>) -> Result<Permit<T>> {
        self.permit(caller, &T::SCHEMA, sealed.record, Scope::Read, Logged::All)
    }

    /// The permit for `caller` to erase the records of `owner` by destroying their key
    /// ([`OwnerKeys::erase`](crate::OwnerKeys::erase)): the owner, or a service this gate grants
    /// [`Scope::Delete`] (logged). Anyone else gets
    /// [`AccessError::Denied`](crate::error::AccessError::Denied) (logged).
    pub fn erase_permit(&self, caller: &Caller, owner: &str) -> Result<ErasePermit<T>> {
        self.issue_erase(caller, &T::SCHEMA, owner)
    }
}

impl<T: EncryptedItem> Permit<T> {
    /// Opens the admitted record: its data key (from `keys`, the model's key source), the key
    /// commitment, the whole item's authentication, then each field. A record edited or copied
    /// in storage gives [`IntegrityError`](crate::error::IntegrityError) and no plaintext.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Unsupported`](crate::error::ConfigError::Unsupported) for a model with a key
    /// per owner and keys without a key table; [`Error::Key`](crate::Error::Key) when the key
    /// provider fails or no longer holds the record's key (or the owner's key was erased);
    /// [`Error::Integrity`](crate::Error::Integrity) when the record was edited or copied in
    /// storage; [`Error::Data`](crate::Error::Data) when it is malformed or of a format version
    /// this build does not read; [`Error::Storage`](crate::Error::Storage) when the key table's
    /// store fails.
    pub async fn open(self, keys: &Keys) -> Result<T> {
        let source = keys.source_ref(&T::SCHEMA)?;
        let suites = keys.suites_for(&T::SCHEMA);
        open_permitted(self, (source, suites), PlaintextReads::Refused).await
    }
}

/// Opens the record `permit` admits, with the key source of its model: its fields decrypted (or,
/// in migration mode, read from a record stored in plaintext), then parsed into `T`, which goes
/// to the caller: only a permit to read opens a record into its model (a permit to write only
/// lets an update seal the record again, in memory).
pub(crate) async fn open_permitted<T: EncryptedItem>(
    permit: Permit<T>,
    source: (&dyn crate::key_source::KeySource, crate::schema::Suites),
    reads: PlaintextReads<'_>,
) -> Result<T> {
    if permit.scope() != Scope::Read {
        return Err(crate::error::AccessError::Denied {
            caller: "(a permit to write)".to_owned(),
            table: T::SCHEMA.table().to_owned(),
        }
        .into());
    }
    let (mut attributes, mut plaintexts) =
        record::open_fields(&T::SCHEMA, permit, source, T::__legacy, reads).await?;
    let plain = T::__parse(&mut attributes)?;
    T::__assemble(plain, &mut plaintexts)
}

impl<T: EncryptedItem> fmt::Debug for Sealed<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The key and the owner may be personal data: a keyed fingerprint of the key instead.
        f.debug_struct("Sealed")
            .field("table", &self.table())
            .field("key", &fingerprint(&T::SCHEMA, self.record.attributes()))
            .finish_non_exhaustive()
    }
}

impl<T: EncryptedItem> Grant<T> {
    /// Narrows the grant to the records whose plain, authenticated attribute `attribute` holds
    /// the value the calling service acts within ([`Caller::service_within`](crate::Caller::service_within)): the front desk
    /// of one clinic reads the patients whose `clinic_id` is that clinic, and no other. The gate
    /// reads the attribute from the stored item before any key is unwrapped; other records read
    /// as missing ones. A write stays within: it creates records within the value, and replaces,
    /// updates or deletes only records within it. A narrowed grant never scans or runs a job
    /// (they cross every record), and never writes in a batch (which cannot carry the condition).
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidSchema`](crate::error::ConfigError::InvalidSchema) when `attribute`
    /// is not a plain, authenticated attribute of `T` (a key, the owner, a sensitive or an
    /// unauthenticated field cannot narrow a grant).
    pub fn within(self, attribute: &'static str) -> Result<Self> {
        let schema = T::SCHEMA;
        if !schema.plain().contains(&attribute) {
            return Err(crate::Error::Config(
                crate::error::ConfigError::InvalidSchema {
                    table: schema.table().to_owned(),
                    reason: format!(
                        "a grant is narrowed by a plain, authenticated attribute of the model; \
                         `{attribute}` is not one (a key, the owner, the version, a sensitive or \
                         an unauthenticated field, or no field at all)"
                    ),
                },
            ));
        }
        Ok(self.narrow(attribute))
    }
}
