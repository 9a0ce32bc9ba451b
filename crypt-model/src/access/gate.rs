//! [`Gate`], and what it issues: a [`Permit`] to open one stored record, an [`ErasePermit`] to
//! erase one owner. Their constructors are private to this module: nothing else in the crate can
//! make one without the gate's decision.

use crate::error::AccessError;
use std::fmt;
use std::marker::PhantomData;

use super::{Caller, Grant, Scope, log};
use crate::attribute::Item;
use crate::error::{Error, Result};
use crate::format::StoredRecord;
use crate::schema::{Schema, names};

/// What the gate logs of a permit it issues or refuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Logged {
    /// The use (by anyone but the owner) and the refusal.
    All,
    /// The use only (a query leaves other owners' records out without a line each).
    GrantUses,
    /// Nothing (a plan logged the decision already).
    Nothing,
}

/// Why the gate let a caller act on a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Basis {
    /// The caller owns it.
    Owner,
    /// A service's grant allows it.
    Grant,
    /// The record's delegation attribute (named) names the caller.
    Delegate(&'static str),
    /// A service's grant narrowed by the attribute (named) allows it: the record's attribute
    /// holds the value the service acts within.
    Within(&'static str),
}

impl Basis {
    /// Whether a use on this basis is logged: a grant's, a delegate's, and anything done by a
    /// service on a user's behalf (an owner's own use is not).
    fn logged(self, caller: &Caller) -> bool {
        self != Basis::Owner || caller.via().is_some()
    }
}

/// The access policy of model `T`: the owner rule, and the [`Grant`]s configured. A
/// [`Table`](crate::Table) holds one; [`Sealed::open_with`](crate::Sealed::open_with) takes one;
/// [`Gate::admit`] issues a [`Permit`] for one record. Every decision is made here, before any
/// key is unwrapped.
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

    /// Whether `caller` is a service granted `scope`: it can act on records of owners other than
    /// itself.
    pub(crate) fn acts_for_others(&self, caller: &Caller, scope: Scope) -> bool {
        caller.is_service()
            && self
                .grants
                .iter()
                .any(|g| g.scope == scope && g.within.is_none() && g.service == caller.id)
    }

    /// Refuses a service caller that holds no grant of any scope on the model: configuration
    /// gone wrong (a misspelt name, a forgotten grant), said plainly and logged, before anything
    /// is read. Anyone else passes (a user, a service on a user's behalf, a granted service).
    pub(crate) fn check_service(&self, caller: &Caller, schema: &Schema) -> Result<()> {
        if !caller.is_service() || self.grants.iter().any(|g| g.service == caller.id) {
            return Ok(());
        }
        log::no_grant(caller, schema, std::any::type_name::<T>());
        Err(Error::Access(AccessError::NoGrant {
            service: caller.id.clone(),
            model: std::any::type_name::<T>().to_owned(),
            table: schema.table().to_owned(),
        }))
    }

    /// The attributes of the grants narrowed [`within`](Grant::within) that let `caller` (a
    /// service acting within a value) act in `scope`, with that value.
    pub(crate) fn narrowed<'a>(
        &'a self,
        caller: &'a Caller,
        scope: Scope,
    ) -> impl Iterator<Item = (&'static str, &'a str)> + 'a {
        let within = caller.within().filter(|_| caller.is_service());
        self.grants.iter().filter_map(move |g| {
            let value = within?;
            (g.scope == scope && g.service == caller.id)
                .then_some(g.within)
                .flatten()
                .map(|attribute| (attribute, value))
        })
    }

    /// Whether `caller` may act in `scope` on some records that only reading them tells: a
    /// grant narrowed within a value it acts within.
    pub(crate) fn acts_within(&self, caller: &Caller, scope: Scope) -> bool {
        self.narrowed(caller, scope).next().is_some()
    }

    /// The decision for `caller` acting in `scope` on a record owned by `owner` (`None`: a
    /// record without a valid owner, which no user owns) whose attributes are `attributes`
    /// (its delegations read from them), without logging.
    pub(crate) fn basis(
        &self,
        caller: &Caller,
        schema: &Schema,
        owner: Option<&str>,
        attributes: &Item,
        scope: Scope,
    ) -> Option<Basis> {
        if owner.is_some() && caller.user_id() == owner {
            return Some(Basis::Owner);
        }
        if self.acts_for_others(caller, scope) {
            return Some(Basis::Grant);
        }
        if let Some((attribute, _)) = self.narrowed(caller, scope).find(|(attribute, value)| {
            attributes
                .get(attribute)
                .is_some_and(|stored| names(stored, value))
        }) {
            return Some(Basis::Within(attribute));
        }
        let id = caller.user_id()?;
        let write = match scope {
            Scope::Read => false,
            Scope::Write => true,
            // A delegate never deletes a record, nor erases its owner.
            Scope::Delete => return None,
        };
        schema
            .delegations()
            .iter()
            .find(|d| {
                d.allows(write)
                    && attributes
                        .get(d.attribute())
                        .is_some_and(|value| names(value, id))
            })
            .map(|d| Basis::Delegate(d.attribute()))
    }

    /// Whether `caller` may act in `scope` on the record `item` (stored, or to be written)
    /// owned by `owner`: the owner, a service granted the scope, or a delegate the item names.
    /// A use by anyone but the owner is logged at INFO, a refusal at WARN (both target
    /// `crypt_model::access`, with a fingerprint of the record's key); a refusal is
    /// [`AccessError::Denied`](crate::error::AccessError::Denied).
    pub(crate) fn authorize(
        &self,
        caller: &Caller,
        schema: &Schema,
        owner: Option<&str>,
        item: &Item,
        scope: Scope,
    ) -> Result<Basis> {
        self.check_service(caller, schema)?;
        match self.basis(caller, schema, owner, item, scope) {
            Some(basis) => {
                if basis.logged(caller) {
                    log::used(caller, schema, item, scope, basis);
                }
                Ok(basis)
            }
            None => {
                log::denied(caller, schema, item, scope);
                Err(denied(caller, schema))
            }
        }
    }

    /// Whether [`issue`](Self::issue) would admit `caller` to `record` in `scope`, decided from
    /// its stored owner and delegations alone and not logged: a query peeks at the record after
    /// a full page.
    pub(crate) fn would_admit(
        &self,
        caller: &Caller,
        schema: &Schema,
        record: &StoredRecord,
        scope: Scope,
    ) -> bool {
        self.basis(caller, schema, record.owner(), record.attributes(), scope)
            .is_some()
    }

    /// A permit for `caller` to act in `scope` on the stored `record` of `schema` (`T`'s): its
    /// owner, by the stored and authenticated owner attribute, or a service granted the scope
    /// (the grant use logged once, here, as `logged` says). `None` when refused: the record is
    /// dropped unread.
    pub(crate) fn issue(
        &self,
        caller: &Caller,
        schema: &Schema,
        record: StoredRecord,
        scope: Scope,
        logged: Logged,
    ) -> Option<Permit<T>> {
        match self.basis(caller, schema, record.owner(), record.attributes(), scope) {
            Some(basis) => {
                if basis.logged(caller) && logged != Logged::Nothing {
                    log::used(caller, schema, record.attributes(), scope, basis);
                }
                Some(Permit {
                    record,
                    scope,
                    model: PhantomData,
                })
            }
            None => {
                if logged == Logged::All {
                    log::denied(caller, schema, record.attributes(), scope);
                }
                None
            }
        }
    }

    /// [`issue`](Self::issue), refused with [`AccessError::Denied`](crate::error::AccessError::Denied).
    pub(crate) fn permit(
        &self,
        caller: &Caller,
        schema: &Schema,
        record: StoredRecord,
        scope: Scope,
        logged: Logged,
    ) -> Result<Permit<T>> {
        self.check_service(caller, schema)?;
        self.issue(caller, schema, record, scope, logged)
            .ok_or_else(|| denied(caller, schema))
    }

    /// A permit for `caller` to erase the records of `owner` in `schema` (`T`'s) by destroying
    /// their key: the owner, or a service granted [`Scope::Delete`] (logged). Anyone else gets
    /// [`AccessError::Denied`](crate::error::AccessError::Denied) (logged).
    pub(crate) fn issue_erase(
        &self,
        caller: &Caller,
        schema: &Schema,
        owner: &str,
    ) -> Result<ErasePermit<T>> {
        let owner_item = schema
            .owner_value(owner)
            .map(|value| Item::from_iter([(schema.owner(), value)]))
            .unwrap_or_default();
        self.authorize(caller, schema, Some(owner), &owner_item, Scope::Delete)?;
        Ok(ErasePermit {
            table: schema.table(),
            owner: owner.to_owned(),
            model: PhantomData,
        })
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

/// The gate's permission for one caller to open one stored record of model `T`: issued by
/// [`Gate::admit`] after it has seen the record's stored owner, and consumed by
/// [`Permit::open`]. It holds the record, so it opens that record and no other, and it is typed
/// by the model, so a permit for one model does not open another's. Nothing but the gate can
/// make one.
pub struct Permit<T> {
    record: StoredRecord,
    scope: Scope,
    model: PhantomData<fn() -> T>,
}

/// What the key code asks before it unwraps a key: the key of one record the gate admitted —
/// its logical table, its owner, the key id and the wrapped key (or owner key's handle) its
/// header names. Only a [`Permit`] lends one, and only for the record it holds, so the key code
/// cannot be asked for another record's key under it.
pub(crate) struct Admission<'a> {
    table: &'static str,
    owner: &'a str,
    key_id: &'a str,
    wrapped: &'a [u8],
}

impl<'a> Admission<'a> {
    /// The logical table of the record.
    pub(crate) fn table(&self) -> &'static str {
        self.table
    }

    /// The record's owner.
    pub(crate) fn owner(&self) -> &'a str {
        self.owner
    }

    /// The key id its header names.
    pub(crate) fn key_id(&self) -> &'a str {
        self.key_id
    }

    /// The wrapped data key (or the handle of the owner's key) its header names.
    pub(crate) fn wrapped(&self) -> &'a [u8] {
        self.wrapped
    }
}

impl<T> Permit<T> {
    /// The scope the permit was issued for.
    pub fn scope(&self) -> Scope {
        self.scope
    }

    /// The record admitted.
    pub(crate) fn record(&self) -> &StoredRecord {
        &self.record
    }

    /// The admission the key sources ask for: the key of the record this permit holds; `None`
    /// when the record is not a well-formed encrypted one (stored in plaintext, or malformed).
    pub(crate) fn admission(&self) -> Option<Admission<'_>> {
        let header = self.record.header()?;
        Some(Admission {
            table: self.record.table(),
            // A well-formed record has a valid owner.
            owner: self.record.owner().unwrap_or_default(),
            key_id: header.key_id(),
            wrapped: header.wrapped(),
        })
    }

    /// The record, to open now.
    pub(crate) fn into_record(self) -> StoredRecord {
        self.record
    }
}

impl<T> fmt::Debug for Permit<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit")
            .field("model", &std::any::type_name::<T>())
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// The gate's permission to erase one owner's records of model `T` by destroying their key:
/// issued by [`Gate::erase_permit`] (logged) and consumed by
/// [`OwnerKeys::erase`](crate::OwnerKeys::erase). Nothing but the gate can make one.
pub struct ErasePermit<T> {
    table: &'static str,
    owner: String,
    model: PhantomData<fn() -> T>,
}

impl<T> ErasePermit<T> {
    /// The logical table whose owner key is erased.
    pub(crate) fn table(&self) -> &'static str {
        self.table
    }

    /// The owner.
    pub(crate) fn owner(&self) -> &str {
        &self.owner
    }
}

impl<T> fmt::Debug for ErasePermit<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The owner's id may be personal data.
        f.debug_struct("ErasePermit")
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

/// The error of a refusal.
pub(crate) fn denied(caller: &Caller, schema: &Schema) -> Error {
    Error::Access(AccessError::Denied {
        caller: caller.id.clone(),
        table: schema.table().to_owned(),
    })
}

/// Logs a refusal decided before a record was read (a key that names another owner, a query
/// or a job the caller may not make).
pub(crate) fn log_denied(caller: &Caller, schema: &Schema, key: &Item, scope: Scope) {
    log::denied(caller, schema, key, scope);
}
