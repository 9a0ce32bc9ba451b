//! Who may do what to a record: [`Caller`], [`Scope`], [`Grant`], and the [`Gate`] that every
//! path to plaintext and every write consults. The rules, one place for all of them:
//!
//! - a *user* caller reads, writes and deletes the records it owns (its id equals the record's
//!   `#[owner]` attribute), and nothing else;
//! - a *service* caller owns nothing: it acts on a model's records only through a [`Grant`] of
//!   a [`Scope`] (read, write or delete) on that model, and every use is logged with the scope;
//! - anything else is refused before any key is unwrapped, and a refused read looks like a
//!   missing record.

use std::fmt;
use std::marker::PhantomData;

use crate::attribute::Item;
use crate::error::{Error, Result};
pub(crate) use crate::identity::{check_identity, is_identity};
use crate::schema::Schema;

mod log;

pub(crate) use log::fingerprint;

/// Who is asking.
///
/// A *user* acts on the records it owns: its id is compared with the record's `#[owner]`
/// attribute. A *service* (a support tool, a billing export) owns nothing and acts only through a
/// [`Grant`]. The two never mix: a user whose id equals a service's name gets no grant, and a
/// service whose name equals an owner's id is not that owner.
///
/// Build a `Caller` from an identity your application has authenticated (a verified token's
/// subject), never from an unauthenticated request field. An id that is empty, only white space,
/// or holds a control character is refused ([`Error::InvalidIdentity`]).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Caller {
    kind: Kind,
    id: String,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Kind {
    User,
    Service,
}

impl Caller {
    /// An authenticated end user, identified as in the records' owner attribute.
    pub fn user(id: impl Into<String>) -> Result<Self> {
        let id = id.into();
        check_identity(&id, "a user caller")?;
        Ok(Caller {
            kind: Kind::User,
            id,
        })
    }

    /// A named service, which acts on records only through a [`Grant`].
    pub fn service(name: impl Into<String>) -> Result<Self> {
        let id = name.into();
        check_identity(&id, "a service caller")?;
        Ok(Caller {
            kind: Kind::Service,
            id,
        })
    }

    /// The user's id or the service's name.
    pub fn id(&self) -> &str {
        &self.id
    }

    fn is_service(&self) -> bool {
        self.kind == Kind::Service
    }

    /// The id a user caller owns records under; `None` for a service.
    pub(crate) fn user_id(&self) -> Option<&str> {
        (self.kind == Kind::User).then_some(self.id.as_str())
    }
}

impl fmt::Debug for Caller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            Kind::User => write!(f, "Caller::user({:?})", self.id),
            Kind::Service => write!(f, "Caller::service({:?})", self.id),
        }
    }
}

/// What a grant lets a service do to a model's records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Open records: `get`, `query`, `find`, `batch_get`, and [`Sealed::open_with`].
    ///
    /// [`Sealed::open_with`]: crate::Sealed::open_with
    Read,
    /// Write records of any owner: `put`, `batch_put`, `update`, and puts in a
    /// transaction. A write never takes over a record that another owner holds.
    Write,
    /// Delete records of any owner: `delete`, and deletes in a transaction.
    Delete,
}

impl Scope {
    /// The scope's name in logs.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
            Scope::Delete => "delete",
        }
    }
}

/// Permission for a named service to act, in one [`Scope`], on the records of model `T`, which
/// it does not own. Typed by the model, so that a grant meant for one model cannot be configured
/// on another's table, and a misspelt table name cannot silently grant nothing.
///
/// Every use is logged through `tracing` (target `crypt_model::access`, level `INFO`) with the
/// service, the scope, the table and a keyed fingerprint of the record's key; never a value.
///
/// ```
/// # use std::sync::Arc;
/// use crypt_model::{Caller, Cipher, EncryptedItem, Grant, LocalKeyring, MemoryStore, Sensitive, Table};
///
/// #[derive(EncryptedItem)]
/// #[crypt_model(table = "profiles")]
/// struct Profile {
///     #[partition_key]
///     #[owner]
///     user_id: String,
///     #[sensitive]
///     ssn: Sensitive<String>,
/// }
///
/// # fn main() -> Result<(), crypt_model::Error> {
/// let cipher = Arc::new(Cipher::new(LocalKeyring::generate()?));
/// // The support tool may read profiles; it may not write or delete them.
/// let profiles = Table::<Profile, _>::new(MemoryStore::new(), cipher)?
///     .with_grant(Grant::read("support-tool")?);
/// # Ok(()) }
/// ```
pub struct Grant<T> {
    service: String,
    scope: Scope,
    model: PhantomData<fn() -> T>,
}

impl<T> Grant<T> {
    /// Lets the service `service` act on records of `T` in `scope`.
    pub fn new(service: impl Into<String>, scope: Scope) -> Result<Self> {
        let service = service.into();
        check_identity(&service, "a grant's service")?;
        Ok(Grant {
            service,
            scope,
            model: PhantomData,
        })
    }

    /// Lets the service open records of `T`.
    pub fn read(service: impl Into<String>) -> Result<Self> {
        Self::new(service, Scope::Read)
    }

    /// Lets the service write records of `T` for any owner.
    pub fn write(service: impl Into<String>) -> Result<Self> {
        Self::new(service, Scope::Write)
    }

    /// Lets the service delete records of `T` of any owner.
    pub fn delete(service: impl Into<String>) -> Result<Self> {
        Self::new(service, Scope::Delete)
    }

    /// The service.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// The scope.
    pub fn scope(&self) -> Scope {
        self.scope
    }
}

impl<T> Clone for Grant<T> {
    fn clone(&self) -> Self {
        Grant {
            service: self.service.clone(),
            scope: self.scope,
            model: PhantomData,
        }
    }
}

impl<T> fmt::Debug for Grant<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Grant")
            .field("service", &self.service)
            .field("scope", &self.scope)
            .field("model", &std::any::type_name::<T>())
            .finish()
    }
}

/// Why a caller may act on a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Permit {
    /// The caller owns it.
    Owner,
    /// A service's grant allows it.
    Grant,
}

/// The access policy of model `T`: the owner rule, and the [`Grant`]s configured. A
/// [`Table`](crate::Table) holds one; [`Sealed::open_with`](crate::Sealed::open_with) takes
/// one. Every decision is made here, before any key is unwrapped.
pub struct Gate<T> {
    grants: Vec<Grant<T>>,
}

impl<T> Gate<T> {
    /// Owners only: no grant.
    pub fn new() -> Self {
        Gate { grants: Vec::new() }
    }

    /// Adds a grant.
    pub fn with_grant(mut self, grant: Grant<T>) -> Self {
        self.grants.push(grant);
        self
    }

    /// The grants.
    pub fn grants(&self) -> &[Grant<T>] {
        &self.grants
    }

    /// Whether `caller` is a service granted `scope`.
    fn granted(&self, caller: &Caller, scope: Scope) -> bool {
        caller.is_service()
            && self
                .grants
                .iter()
                .any(|g| g.scope == scope && g.service == caller.id)
    }

    /// The decision for `caller` acting in `scope` on a record owned by `owner` (`None`: a
    /// record without a valid owner, which no user owns), without logging.
    pub(crate) fn decide(
        &self,
        caller: &Caller,
        owner: Option<&str>,
        scope: Scope,
    ) -> Option<Permit> {
        if owner.is_some() && caller.user_id() == owner {
            Some(Permit::Owner)
        } else if self.granted(caller, scope) {
            Some(Permit::Grant)
        } else {
            None
        }
    }

    /// Whether the caller can act in `scope` on records of owners other than itself: a service
    /// granted the scope.
    pub(crate) fn acts_for_others(&self, caller: &Caller, scope: Scope) -> bool {
        self.granted(caller, scope)
    }

    /// [`decide`](Self::decide), logged: a grant use at INFO, a refusal at WARN (both target
    /// `crypt_model::access`, with a fingerprint of the record's key from `key`, the item or its
    /// key attributes). A refusal is [`Error::AccessDenied`].
    pub(crate) fn authorize(
        &self,
        caller: &Caller,
        schema: &Schema,
        owner: Option<&str>,
        key: &Item,
        scope: Scope,
    ) -> Result<Permit> {
        match self.decide(caller, owner, scope) {
            Some(permit) => {
                if permit == Permit::Grant {
                    log::grant_used(caller, schema, key, scope);
                }
                Ok(permit)
            }
            None => {
                log::denied(caller, schema, key, scope);
                Err(denied(caller, schema))
            }
        }
    }
}

impl<T> Default for Gate<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Clone for Gate<T> {
    fn clone(&self) -> Self {
        Gate {
            grants: self.grants.clone(),
        }
    }
}

impl<T> fmt::Debug for Gate<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gate")
            .field("grants", &self.grants)
            .finish()
    }
}

/// The error of a refusal.
pub(crate) fn denied(caller: &Caller, schema: &Schema) -> Error {
    Error::AccessDenied {
        caller: caller.id.clone(),
        table: schema.table().to_owned(),
    }
}

/// Logs a refusal decided without a gate's help (a key that names another owner).
pub(crate) fn log_denied(caller: &Caller, schema: &Schema, key: &Item, scope: Scope) {
    log::denied(caller, schema, key, scope);
}

/// The owner stored in `item`: the schema's owner attribute, when it is of the owner's type and
/// a valid identity; `None` otherwise (no user owns such a record).
pub(crate) fn stored_owner<'a>(schema: &Schema, item: &'a Item) -> Option<&'a str> {
    item.get(schema.owner())
        .and_then(|value| schema.owner_text(value))
        .filter(|owner| is_identity(owner))
}
