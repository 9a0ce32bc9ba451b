//! [`EncryptedItem`], the trait the derive implements, and [`Sealed<T>`], a record read but not
//! opened.

use std::fmt;
use std::future::Future;

use crate::access::{self, Action, Caller, Permit};
use crate::attribute::{Attribute, AttributeValue, Item};
use crate::cipher::{Cipher, Plaintexts};
use crate::error::{Error, Result};
use crate::format::{self, Header};
use crate::plaintext::Plaintext;
use crate::schema::Schema;
use crate::sensitive::Sensitive;

/// A model whose sensitive fields are encrypted before they are stored. Implemented by
/// [`#[derive(EncryptedItem)]`](derive@crate::EncryptedItem); see there for the attributes.
///
/// Writing: [`to_item`](Self::to_item) gives the item to store. Reading:
/// [`from_item`](Self::from_item) gives a [`Sealed<Self>`], and only
/// [`Sealed::open`] turns that into `Self`, for the record's owner or a granted service.
///
/// The `__`-prefixed items are the derive's glue, hidden and not part of the stable API.
pub trait EncryptedItem: Sized {
    /// The model's logical table, key, owner and sensitive attributes.
    const SCHEMA: Schema;

    /// The plain fields, parsed, waiting for the sensitive ones.
    #[doc(hidden)]
    type __Plain: Send;

    /// The plain attributes and the plaintexts of the sensitive fields.
    #[doc(hidden)]
    fn __to_parts(&self) -> Result<(Item, Plaintexts)>;

    /// Parses the plain fields, taking them out of `item` (except the key and owner, which
    /// stay for the ciphertexts' binding), and checks the sensitive attributes' shapes.
    #[doc(hidden)]
    fn __parse(item: &mut Item) -> Result<Self::__Plain>;

    /// Builds the model from its plain fields and decrypted plaintexts.
    #[doc(hidden)]
    fn __assemble(plain: Self::__Plain, plaintexts: &mut Plaintexts) -> Result<Self>;

    /// The id of the record's owner (the `#[owner]` field).
    fn owner(&self) -> &str;

    /// The record's version (the `#[crypt_model(version)]` field): the number of writes it has
    /// seen, 0 for a record never written. `None` for a model without one.
    fn version(&self) -> Option<u64> {
        None
    }

    /// Sets the version; the table does it after each successful write.
    fn set_version(&mut self, version: u64) {
        let _ = version;
    }

    /// The item to store: plain fields as attributes, sensitive fields encrypted, the header
    /// added. Fails, storing nothing, when a value cannot be stored or the key provider fails.
    fn to_item(&self, cipher: &Cipher) -> impl Future<Output = Result<Item>> + Send
    where
        Self: Sync,
    {
        async move {
            let (mut item, plaintexts) = self.__to_parts()?;
            cipher
                .encrypt(&Self::SCHEMA, &mut item, &plaintexts)
                .await?;
            Ok(item)
        }
    }

    /// Parses a stored item without decrypting anything. A missing or malformed attribute is an
    /// error that names it (never its value).
    fn from_item(item: Item) -> Result<Sealed<Self>> {
        Sealed::parse(item)
    }
}

/// A record read from storage but not opened: its key and owner are readable, its sensitive
/// fields are still ciphertext, and [`open`](Sealed::open) is the only way to the model.
///
/// `Sealed` has no `Deref`, no `Into`, no public fields and no accessor for a sensitive field,
/// so code that forgets the owner check does not compile.
pub struct Sealed<T: EncryptedItem> {
    item: Item,
    header: Header,
    plain: T::__Plain,
}

impl<T: EncryptedItem> Sealed<T> {
    fn parse(mut item: Item) -> Result<Self> {
        let schema = T::SCHEMA;
        let header = Header::from_item(&item)?;
        format::owner_of(&schema, &item)?;
        let plain = T::__parse(&mut item)?;
        Ok(Sealed {
            item,
            header,
            plain,
        })
    }

    /// The record's logical table.
    pub fn table(&self) -> &'static str {
        T::SCHEMA.table()
    }

    /// The partition key, as stored.
    pub fn partition_key(&self) -> &AttributeValue {
        // Parsing succeeded, so the key attribute is there; `Null` cannot be reached.
        self.item
            .get(T::SCHEMA.partition_key())
            .unwrap_or(&AttributeValue::Null)
    }

    /// The sort key, as stored, if the model has one.
    pub fn sort_key(&self) -> Option<&AttributeValue> {
        T::SCHEMA.sort_key().and_then(|name| self.item.get(name))
    }

    /// The id of the record's owner.
    pub fn owner(&self) -> &str {
        // Parsing checked that the owner attribute is a string, and nothing changes the item.
        format::owner_of(&T::SCHEMA, &self.item).unwrap_or_default()
    }

    /// Whether `caller` may open this record (the owner, or a service with a grant), without
    /// opening it. Refusals and grant uses are logged as by [`open`](Self::open).
    pub fn check_access(&self, caller: &Caller, cipher: &Cipher) -> Result<()> {
        access::authorize(
            cipher.grants(),
            caller,
            &T::SCHEMA,
            self.owner(),
            &self.item,
            Action::Open,
        )
    }

    /// The owner gate's decision without logging a refusal (a grant use is still logged): for
    /// filtering query results, where records of other owners are expected.
    pub(crate) fn permitted(&self, caller: &Caller, cipher: &Cipher) -> bool {
        match access::permit(cipher.grants(), caller, T::SCHEMA.table(), self.owner()) {
            Permit::Owner => true,
            Permit::Grant => {
                access::log_grant(caller, &T::SCHEMA, &self.item, Action::Open);
                true
            }
            Permit::Denied => false,
        }
    }

    /// Opens the record without the owner gate: for the table layer, after `permitted`.
    pub(crate) async fn open_permitted(self, cipher: &Cipher) -> Result<T> {
        let mut plaintexts = cipher
            .decrypt_parsed(&T::SCHEMA, &self.item, &self.header)
            .await?;
        T::__assemble(self.plain, &mut plaintexts)
    }

    /// Opens the record for `caller`.
    ///
    /// The owner gate runs first: a caller who is neither the owner nor a service with a
    /// [`Grant`](crate::Grant) for this table gets [`Error::AccessDenied`] before any key is
    /// unwrapped or any field decrypted. Then the key commitment and every field are checked
    /// and decrypted; a record edited or copied in storage gives [`Error::Integrity`].
    pub async fn open(self, caller: &Caller, cipher: &Cipher) -> Result<T> {
        self.check_access(caller, cipher)?;
        self.open_permitted(cipher).await
    }
}

impl<T: EncryptedItem> fmt::Debug for Sealed<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sealed: Vec<&str> = T::SCHEMA
            .sensitive()
            .iter()
            .copied()
            .filter(|name| self.item.contains(name))
            .collect();
        f.debug_struct("Sealed")
            .field("table", &self.table())
            .field("partition_key", self.partition_key())
            .field("sort_key", &self.sort_key())
            .field("owner", &self.owner())
            .field("sealed_fields", &sealed)
            .finish_non_exhaustive()
    }
}

/// A type that can be a record's `#[owner]`: a string id, compared with a [`Caller`]'s id.
///
/// Implemented for `String`; implement it for a newtype id whose [`Attribute`] is a string.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a record's owner",
    label = "an owner is compared with the caller's id, a string",
    note = "use `String`, or implement `crypt_model::OwnerId` for an id type stored as a string"
)]
pub trait OwnerId: Attribute {
    /// The id, as the caller presents it.
    fn owner_id(&self) -> &str;
}

/// The types a normalised (`normalize = "…"`) index may be on: string fields.
#[diagnostic::on_unimplemented(
    message = "a normalised index needs a string field, not `{Self}`",
    label = "normalisation (lowercase, trim) applies to text",
    note = "drop `normalize`, or index a `Sensitive<String>` field"
)]
pub trait TextField: SensitiveField {}

impl TextField for Sensitive<String> {}
impl TextField for Option<Sensitive<String>> {}

/// The type of a `#[crypt_model(version)]` field.
#[diagnostic::on_unimplemented(
    message = "a `#[crypt_model(version)]` field must be a `u64`, not `{Self}`",
    label = "the version counts writes"
)]
pub trait VersionField: Attribute + Copy {
    /// The version as a number.
    fn get(self) -> u64;
    /// The version from a number.
    fn from_u64(version: u64) -> Self;
}

impl VersionField for u64 {
    fn get(self) -> u64 {
        self
    }
    fn from_u64(version: u64) -> Self {
        version
    }
}

impl OwnerId for String {
    fn owner_id(&self) -> &str {
        self
    }
}

/// The types a `#[sensitive]` field may have: `Sensitive<T>`, and `Option<Sensitive<T>>`, which
/// stores nothing when `None`.
#[diagnostic::on_unimplemented(
    message = "a `#[sensitive]` field must be `Sensitive<T>` or `Option<Sensitive<T>>`, not `{Self}`",
    label = "not `Sensitive<T>`",
    note = "`Sensitive<T>` keeps the plaintext out of `Debug`, `Display`, serialization and logs, \
            and wipes it on drop: declare the field as `Sensitive<{Self}>`"
)]
pub trait SensitiveField: Sized {
    /// The plaintext type (`T` of `Sensitive<T>`).
    #[doc(hidden)]
    type __Value: Plaintext;

    /// Whether the attribute must be present in a stored item.
    #[doc(hidden)]
    const __REQUIRED: bool;

    /// The plaintext, if any.
    #[doc(hidden)]
    fn __value(&self) -> Option<&Self::__Value>;

    /// Adds the plaintext, if any.
    #[doc(hidden)]
    fn __put(&self, name: &'static str, plaintexts: &mut Plaintexts) -> Result<()>;

    /// Takes the decrypted value back.
    #[doc(hidden)]
    fn __take(name: &'static str, plaintexts: &mut Plaintexts) -> Result<Self>;
}

impl<T: Plaintext> SensitiveField for Sensitive<T> {
    type __Value = T;
    const __REQUIRED: bool = true;

    fn __value(&self) -> Option<&T> {
        Some(self.expose_secret())
    }

    fn __put(&self, name: &'static str, plaintexts: &mut Plaintexts) -> Result<()> {
        plaintexts.insert(name, self.expose_secret())
    }

    fn __take(name: &'static str, plaintexts: &mut Plaintexts) -> Result<Self> {
        plaintexts
            .take(name)?
            .ok_or_else(|| Error::MissingAttribute {
                attribute: name.to_owned(),
            })
    }
}

impl<T: Plaintext> SensitiveField for Option<Sensitive<T>> {
    type __Value = T;
    const __REQUIRED: bool = false;

    fn __value(&self) -> Option<&T> {
        self.as_ref().map(Sensitive::expose_secret)
    }

    fn __put(&self, name: &'static str, plaintexts: &mut Plaintexts) -> Result<()> {
        match self {
            Some(value) => plaintexts.insert(name, value.expose_secret()),
            None => Ok(()),
        }
    }

    fn __take(name: &'static str, plaintexts: &mut Plaintexts) -> Result<Self> {
        plaintexts.take(name)
    }
}
