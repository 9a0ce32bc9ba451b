//! Who may open a record: [`Caller`], [`Grant`], and the owner gate.

use std::fmt;

use crate::attribute::{AttributeValue, Item};
use crate::error::{Error, Result};
use crate::schema::Schema;

/// Who is asking to open a record.
///
/// A *user* caller opens the records it owns: its id is compared with the record's `#[owner]`
/// attribute. A *service* caller (a support tool, a billing export) owns nothing and opens a
/// record only through a [`Grant`] configured on the [`Cipher`](crate::Cipher); every such use
/// is logged. The two never mix: a user whose id equals a service's name gets no grant, and a
/// service whose name equals an owner's id is not that owner.
///
/// Build a `Caller` from an identity your application has authenticated (a verified token's
/// subject), never from an unauthenticated request field.
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
    pub fn user(id: impl Into<String>) -> Self {
        Caller {
            kind: Kind::User,
            id: id.into(),
        }
    }

    /// A named service, which may open records only through a [`Grant`].
    pub fn service(name: impl Into<String>) -> Self {
        Caller {
            kind: Kind::Service,
            id: name.into(),
        }
    }

    /// The user's id or the service's name.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Whether this is a service caller.
    pub(crate) fn is_service(&self) -> bool {
        self.kind == Kind::Service
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

/// Permission for a named service to open records of one logical table that it does not own.
///
/// Every use is logged through `tracing` (target `crypt_model::access`, level `INFO`) with the
/// service, the table and the record's key; never a value.
///
/// ```
/// use crypt_model::{Cipher, Grant, LocalKeyring};
///
/// # fn main() -> Result<(), crypt_model::Error> {
/// let cipher = Cipher::new(LocalKeyring::generate()?)
///     .with_grant(Grant::new("support-tool", "profiles"));
/// # Ok(()) }
/// ```
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Grant {
    service: String,
    table: String,
}

impl Grant {
    /// Lets the service `service` open records of the logical table `table`.
    pub fn new(service: impl Into<String>, table: impl Into<String>) -> Self {
        Grant {
            service: service.into(),
            table: table.into(),
        }
    }

    /// The service.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// The logical table.
    pub fn table(&self) -> &str {
        &self.table
    }
}

/// What a caller is doing to a record, for the access log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    Open,
    Write,
    Delete,
}

impl Action {
    fn verb(self) -> &'static str {
        match self {
            Action::Open => "open",
            Action::Write => "write",
            Action::Delete => "delete",
        }
    }
}

/// Why a caller may act on a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Permit {
    Owner,
    Grant,
    Denied,
}

/// The owner gate's decision, without logging: the caller is the owner, or a service with a
/// grant on the table.
pub(crate) fn permit(grants: &[Grant], caller: &Caller, table: &str, owner: &str) -> Permit {
    if caller.kind == Kind::User && caller.id == owner {
        Permit::Owner
    } else if granted(grants, caller, table) {
        Permit::Grant
    } else {
        Permit::Denied
    }
}

/// Whether `caller` is a service with a grant on `table`.
pub(crate) fn granted(grants: &[Grant], caller: &Caller, table: &str) -> bool {
    caller.kind == Kind::Service
        && grants
            .iter()
            .any(|g| g.service == caller.id && g.table == table)
}

/// The owner gate: decides whether `caller` may act on a record of `schema` owned by `owner`,
/// whose key attributes are in `item`; logs grant uses (INFO) and refusals (WARN). Runs before
/// any key is unwrapped.
pub(crate) fn authorize(
    grants: &[Grant],
    caller: &Caller,
    schema: &Schema,
    owner: &str,
    item: &Item,
    action: Action,
) -> Result<()> {
    let table = schema.table();
    match permit(grants, caller, table, owner) {
        Permit::Owner => Ok(()),
        Permit::Grant => {
            log_grant(caller, schema, item, action);
            Ok(())
        }
        Permit::Denied => {
            tracing::warn!(
                target: "crypt_model::access",
                caller = caller.id(),
                service = caller.is_service(),
                table,
                key = %RecordKey { schema, item },
                action = action.verb(),
                "access denied"
            );
            Err(Error::AccessDenied {
                caller: caller.id.clone(),
                table: table.to_owned(),
            })
        }
    }
}

/// Logs one use of a grant.
pub(crate) fn log_grant(caller: &Caller, schema: &Schema, item: &Item, action: Action) {
    tracing::info!(
        target: "crypt_model::access",
        caller = caller.id(),
        table = schema.table(),
        key = %RecordKey { schema, item },
        action = action.verb(),
        "policy grant used to {} a record",
        action.verb()
    );
}

/// A record's primary key, for access logs: `pk=value` and `sk=value`.
struct RecordKey<'a> {
    schema: &'a Schema,
    item: &'a Item,
}

impl fmt::Display for RecordKey<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let attributes = std::iter::once(self.schema.partition_key()).chain(self.schema.sort_key());
        for (i, name) in attributes.enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            match self.item.get(name) {
                Some(AttributeValue::S(s)) => write!(f, "{name}={s:?}")?,
                Some(AttributeValue::N(n)) => write!(f, "{name}={n}")?,
                Some(AttributeValue::B(b)) => {
                    write!(f, "{name}=0x")?;
                    b.iter().try_for_each(|byte| write!(f, "{byte:02x}"))?;
                }
                _ => write!(f, "{name}=?")?,
            }
        }
        Ok(())
    }
}
