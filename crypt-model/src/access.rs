//! Who may do what to a record: [`Caller`], [`Scope`], [`Grant`], and the [`Gate`] that every
//! path to plaintext and every write consults. The rules, one place for all of them:
//!
//! - a *user* caller reads, writes and deletes the records it owns (its id equals the record's
//!   `#[owner]` attribute), and nothing else;
//! - a *service* caller owns nothing: it acts on a model's records only through a [`Grant`] of
//!   a [`Scope`] (read, write or delete) on that model, and every use is logged with the scope;
//! - anything else is refused before any key is unwrapped, and a refused read looks like a
//!   missing record.
//!
//! The [`Gate`] answers with plans and permits, not yes or no: whether a key or a query is worth
//! reading at all, a [`Permit`] for one stored record it has seen (logged once), the conditions a
//! write carries, an [`ErasePermit`] for an owner's erasure. Opening a record and erasing an owner
//! take a permit, and only this module can make one, so that "the gate before any key" is a
//! property of the types, not of every caller remembering to ask.

use std::fmt;
use std::marker::PhantomData;

use crate::error::Result;
pub(crate) use crate::identity::check_identity;

mod gate;
mod log;
mod plan;

pub(crate) use gate::{Admission, Logged, denied, log_denied};
pub use gate::{ErasePermit, Gate, Permit};
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
/// or holds a control character is refused ([`AccessError::InvalidIdentity`](crate::error::AccessError::InvalidIdentity)).
///
/// A service acting for one person (a support agent's tool, a clinic's front end) is
/// [`Caller::on_behalf_of`]: it is checked as that person — their records, and those that
/// delegate to them — and every use is logged with both identities.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Caller {
    kind: Kind,
    id: String,
    /// The service acting for the user, for a caller made by [`Caller::on_behalf_of`].
    via: Option<String>,
    /// The value a service acts within, for a caller made by [`Caller::service_within`].
    within: Option<String>,
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
            via: None,
            within: None,
        })
    }

    /// A named service, which acts on records only through a [`Grant`].
    pub fn service(name: impl Into<String>) -> Result<Self> {
        let id = name.into();
        check_identity(&id, "a service caller")?;
        Ok(Caller {
            kind: Kind::Service,
            id,
            via: None,
            within: None,
        })
    }

    /// The service `service` acting on behalf of the authenticated user `user`: checked exactly
    /// as `user` is (their own records, and the records whose delegation attributes name them;
    /// none of the service's [`Grant`]s apply), and every record it is let at is logged
    /// (target `crypt_model::access`, `INFO`) with both identities, as are its refusals.
    ///
    /// ```
    /// use crypt_model::Caller;
    ///
    /// # fn main() -> Result<(), crypt_model::Error> {
    /// // The clinic's front end, for the doctor its session authenticated.
    /// let caller = Caller::on_behalf_of("clinic-web", "dr-okafor")?;
    /// assert_eq!(caller.id(), "dr-okafor");
    /// assert_eq!(caller.via(), Some("clinic-web"));
    /// # Ok(()) }
    /// ```
    pub fn on_behalf_of(service: impl Into<String>, user: impl Into<String>) -> Result<Self> {
        let (service, id) = (service.into(), user.into());
        check_identity(&service, "a service caller")?;
        check_identity(&id, "a user caller")?;
        Ok(Caller {
            kind: Kind::User,
            id,
            via: Some(service),
            within: None,
        })
    }

    /// The service `service` acting within `value` (a clinic, a branch, a tenant: what your
    /// application authenticated for this request): a [`Grant`] narrowed
    /// [`within`](Grant::within) an attribute lets it act on the records whose attribute holds
    /// `value`, and on no other; a model-wide grant of the same service applies as it does to
    /// [`Caller::service`].
    ///
    /// ```
    /// use crypt_model::Caller;
    ///
    /// # fn main() -> Result<(), crypt_model::Error> {
    /// // The front desk of the clinic its clerk signed in at.
    /// let caller = Caller::service_within("front-desk", "clinic-7")?;
    /// assert_eq!(caller.within(), Some("clinic-7"));
    /// # Ok(()) }
    /// ```
    pub fn service_within(service: impl Into<String>, value: impl Into<String>) -> Result<Self> {
        let (id, value) = (service.into(), value.into());
        check_identity(&id, "a service caller")?;
        check_identity(&value, "the value a service acts within")?;
        Ok(Caller {
            kind: Kind::Service,
            id,
            via: None,
            within: Some(value),
        })
    }

    /// The value a service acts within, for a caller made by
    /// [`service_within`](Self::service_within).
    pub fn within(&self) -> Option<&str> {
        self.within.as_deref()
    }

    /// The user's id or the service's name (for [`on_behalf_of`](Self::on_behalf_of), the
    /// user's: they are who the gate checks).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The service acting on the user's behalf, for a caller made by
    /// [`on_behalf_of`](Self::on_behalf_of).
    pub fn via(&self) -> Option<&str> {
        self.via.as_deref()
    }

    /// Whether the caller is a service acting as itself ([`Caller::service`],
    /// [`Caller::service_within`]), not a person ([`Caller::user`], [`Caller::on_behalf_of`]):
    /// for a handler that shows services a narrower view than people.
    pub fn is_service(&self) -> bool {
        self.kind == Kind::Service
    }

    /// The id a user caller owns records under; `None` for a service.
    pub(crate) fn user_id(&self) -> Option<&str> {
        (self.kind == Kind::User).then_some(self.id.as_str())
    }
}

impl fmt::Debug for Caller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.kind, &self.via) {
            (Kind::User, None) => write!(f, "Caller::user({:?})", self.id),
            (Kind::User, Some(service)) => {
                write!(f, "Caller::on_behalf_of({service:?}, {:?})", self.id)
            }
            (Kind::Service, _) => match &self.within {
                None => write!(f, "Caller::service({:?})", self.id),
                Some(value) => write!(f, "Caller::service_within({:?}, {value:?})", self.id),
            },
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
/// use crypt_model::{Caller, Keys, EncryptedItem, Grant, LocalKeyring, MemoryStore, Sensitive, Table};
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
/// let keys = Arc::new(Keys::new(LocalKeyring::generate()?));
/// // The support tool may read profiles; it may not write or delete them.
/// let profiles = Table::<Profile, _>::new(MemoryStore::new(), keys)?
///     .with_grant(Grant::read("support-tool")?);
/// # Ok(()) }
/// ```
pub struct Grant<T> {
    service: String,
    scope: Scope,
    /// The attribute the grant is narrowed by ([`Grant::within`]); `None`: model-wide.
    within: Option<&'static str>,
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
            within: None,
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

    /// The attribute the grant is narrowed by, if it is ([`within`](Self::within)).
    pub fn narrowed_by(&self) -> Option<&'static str> {
        self.within
    }

    /// Narrows the grant by `attribute`, checked by [`within`](Self::within).
    pub(crate) fn narrow(mut self, attribute: &'static str) -> Self {
        self.within = Some(attribute);
        self
    }
}

impl<T> Clone for Grant<T> {
    fn clone(&self) -> Self {
        Grant {
            service: self.service.clone(),
            scope: self.scope,
            within: self.within,
            model: PhantomData,
        }
    }
}

impl<T> fmt::Debug for Grant<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Grant")
            .field("service", &self.service)
            .field("scope", &self.scope)
            .field("within", &self.within)
            .field("model", &std::any::type_name::<T>())
            .finish()
    }
}
