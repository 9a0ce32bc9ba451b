//! The gate's plans: what a caller's request may touch before anything is read, and the
//! conditions a write carries, so that no write takes over or removes a record another owner
//! holds. Refusals are logged here, once.

use super::gate::{Basis, denied, log_denied};
use super::{Caller, Gate, Scope};
use crate::attribute::{AttributeValue, Item, Key};
use crate::error::AccessError;
use crate::error::{Error, Result};
use crate::schema::{Schema, is_plain_integer, names};
use crate::store::{Condition, Query};

/// The conditions of a write the gate allowed: the stored owner is the record's (or there is no
/// record yet), and, for a versioned model, the stored version is the one the record was read at.
#[derive(Debug)]
pub(crate) struct WritePlan {
    pub(crate) condition: Condition,
    /// The write is a delegate's: the caller may not change the delegation attributes.
    pub(crate) by_delegate: bool,
    /// The write holds only under its condition (a delegate's, a narrowed grant's): never
    /// unconditionally, as in a batch.
    pub(crate) conditional_only: bool,
}

/// The owner a key names, when the schema's owner is part of its key: `Some(Some(id))`, or
/// `Some(None)` for a key value not of the owner's type; `None` when the owner is not in the key.
fn key_owner<'k>(schema: &Schema, key: &'k Key) -> Option<Option<&'k str>> {
    let value = if schema.owner() == schema.partition_key() {
        &key.partition
    } else if Some(schema.owner()) == schema.sort_key() {
        key.sort.as_ref()?
    } else {
        return None;
    };
    Some(schema.owner_text(value))
}

/// The condition that the stored owner is `owner` (an id no owner of the schema can have is
/// refused here, before anything is sent).
fn owned_by(schema: &Schema, owner: &str) -> Result<Condition> {
    schema
        .owner_value(owner)
        .map(|value| Condition::equals(schema.owner(), value))
        .ok_or_else(|| {
            Error::Access(AccessError::InvalidIdentity {
                subject: format!("the owner attribute `{}`", schema.owner()),
                reason: "a number owner's id is an integer in plain decimal digits".to_owned(),
            })
        })
}

/// The condition that the stored item's `attribute` is what `item` holds (absent if it holds
/// none).
fn same(item: &Item, attribute: &str) -> Condition {
    match item.get(attribute) {
        Some(value) => Condition::equals(attribute, value.clone()),
        None => Condition::absent(attribute),
    }
}

/// The condition that the stored item's `attribute` holds `value`: the string, or the number
/// whose plain decimal text it is.
fn holds(attribute: &str, value: &str) -> Condition {
    let mut any = vec![Condition::equals(
        attribute,
        AttributeValue::S(value.to_owned()),
    )];
    if is_plain_integer(value) {
        any.push(Condition::equals(
            attribute,
            AttributeValue::N(value.to_owned()),
        ));
    }
    Condition::Or(any)
}

impl<T> Gate<T> {
    /// Whether the record under `key` (whose attributes are `key_item`) is worth reading for
    /// `caller` in `scope`: not when the caller is refused whatever the store holds — a service
    /// without a grant for `scope` owns nothing, and a user cannot own a key that names another
    /// owner. Such a request is answered as for a missing record, without a store call, and
    /// logged.
    pub(crate) fn plan_read(
        &self,
        caller: &Caller,
        schema: &Schema,
        key: &Key,
        key_item: &Item,
        scope: Scope,
    ) -> Result<bool> {
        self.check_service(caller, schema)?;
        if self.acts_for_others(caller, scope) || self.acts_within(caller, scope) {
            return Ok(true);
        }
        // A delegate of the record may be named in it whatever its key says.
        let delegated = match scope {
            Scope::Read => schema.delegates(false),
            Scope::Write => schema.delegates(true),
            Scope::Delete => false,
        };
        let refused = match caller.user_id() {
            None => true,
            Some(_) if delegated => false,
            Some(id) => matches!(key_owner(schema, key), Some(owner) if owner != Some(id)),
        };
        if refused {
            log_denied(caller, schema, key_item, scope);
        }
        Ok(!refused)
    }

    /// Whether a query is worth reading for `caller`: not for a service without a read grant,
    /// which sees nothing, nor for a user querying a partition named after another owner (logged).
    pub(crate) fn plan_query(
        &self,
        caller: &Caller,
        schema: &Schema,
        query: &Query,
    ) -> Result<bool> {
        self.check_service(caller, schema)?;
        if self.acts_for_others(caller, Scope::Read) || self.acts_within(caller, Scope::Read) {
            return Ok(true);
        }
        let Some(id) = caller.user_id() else {
            return Ok(false);
        };
        let owner_partition = schema.owner() == schema.partition_key();
        let refused = query.index.is_none()
            && owner_partition
            && !schema.delegates(false)
            && schema.owner_text(&query.partition) != Some(id);
        if refused {
            let key = Item::from_iter([(schema.partition_key(), query.partition.clone())]);
            log_denied(caller, schema, &key, Scope::Read);
        }
        Ok(!refused)
    }

    /// Whether `caller` may read every owner's records in `scopes` — a scan, a job: only a
    /// service granted them; anyone else is [`AccessError::Denied`](crate::error::AccessError::Denied) (logged) before the store is
    /// read.
    pub(crate) fn plan_crossing(
        &self,
        caller: &Caller,
        schema: &Schema,
        scopes: &[Scope],
    ) -> Result<()> {
        self.check_service(caller, schema)?;
        match scopes
            .iter()
            .find(|&&scope| !self.acts_for_others(caller, scope))
        {
            Some(&scope) => {
                log_denied(caller, schema, &Item::new(), scope);
                Err(denied(caller, schema))
            }
            None => Ok(()),
        }
    }

    /// The plan of a put by `caller` of a record owned by `owner` at `version` (its key
    /// attributes in `key_item`): only its owner, or a service granted [`Scope::Write`] (logged),
    /// may write it, before anything is encrypted; the write requires the key free or already the
    /// same owner's, and, for a versioned model, the stored version to be the record's (0: a new
    /// record).
    pub(crate) fn plan_put(
        &self,
        caller: &Caller,
        schema: &Schema,
        owner: &str,
        version: Option<u64>,
        item: &Item,
    ) -> Result<WritePlan> {
        // A delegate writes through `update`, which opens the stored record first: a put would
        // seal, authenticated, whatever a raw writer left there (a delegation it forged). (A
        // service with no grant has no basis here; `authorize` below refuses it.)
        if let Some(Basis::Delegate(_)) =
            self.basis(caller, schema, Some(owner), item, Scope::Write)
        {
            log_denied(caller, schema, item, Scope::Write);
            return Err(denied(caller, schema));
        }
        let basis = self.authorize(caller, schema, Some(owner), item, Scope::Write)?;
        // Within a narrowed grant, a record may be replaced only if it is within as well.
        let mut stored_owner = owned_by(schema, owner)?;
        if let Basis::Within(attribute) = basis {
            stored_owner = Condition::And(vec![stored_owner, same(item, attribute)]);
        }
        let owned = Condition::Or(vec![Condition::NotExists, stored_owner]);
        let condition = match (schema.version(), version) {
            (Some(_), Some(0)) => Condition::NotExists,
            (Some(attribute), Some(version)) => {
                Condition::And(vec![owned, Condition::equals(attribute, version)])
            }
            _ => owned,
        };
        Ok(WritePlan {
            condition,
            by_delegate: false,
            conditional_only: matches!(basis, Basis::Within(_)),
        })
    }

    /// Whether the write `plan` may change the fields `fields` of a record (`stored`, when it
    /// was read first): a delegate changes no delegation attribute but a reassignable one that
    /// names it in the stored record, and no attribute a grant is narrowed by (it would hand the
    /// record to another clinic's desk); a service changes a delegation only if it may read the
    /// record too (naming a reader is reading). Refusals are logged.
    pub(crate) fn check_fields(
        &self,
        caller: &Caller,
        schema: &Schema,
        plan: &WritePlan,
        fields: &[&str],
        stored: Option<&Item>,
    ) -> Result<()> {
        let refused = fields.iter().any(|&field| {
            let delegation = schema.delegations().iter().find(|d| d.attribute() == field);
            if plan.by_delegate {
                let narrows = self.grants().iter().any(|g| g.within == Some(field));
                let names_caller = |d: &crate::schema::Delegation| {
                    d.is_reassignable()
                        && stored
                            .and_then(|item| item.get(field))
                            .zip(caller.user_id())
                            .is_some_and(|(value, id)| names(value, id))
                };
                narrows || delegation.is_some_and(|d| !names_caller(d))
            } else {
                delegation.is_some()
                    && caller.is_service()
                    && !(self.acts_for_others(caller, Scope::Read)
                        || self.acts_within(caller, Scope::Read))
            }
        });
        if refused {
            log_denied(caller, schema, stored.unwrap_or(&Item::new()), Scope::Write);
            return Err(denied(caller, schema));
        }
        Ok(())
    }

    /// The plan of an update by `caller` of a stored record owned by `owner`, read at `version`:
    /// as [`plan_put`](Self::plan_put), and the record must be there, still the owner's, still
    /// at that version. The decision reads `authorize_on`: the record as the caller holds it,
    /// or, when a delegate reassigns a delegation, the stored record (which must name them).
    pub(crate) fn plan_update(
        &self,
        caller: &Caller,
        schema: &Schema,
        owner: &str,
        version: (&'static str, u64),
        item: &Item,
        authorize_on: &Item,
    ) -> Result<WritePlan> {
        let basis = self.authorize(caller, schema, Some(owner), authorize_on, Scope::Write)?;
        let (attribute, version) = version;
        let mut all = vec![
            owned_by(schema, owner)?,
            Condition::equals(attribute, AttributeValue::from(version)),
        ];
        if let Basis::Within(attribute) = basis {
            all.push(same(item, attribute));
        }
        // A delegate's update is the owner's condition too: the update opens the stored record
        // only if it names the delegate, rewrites it only unchanged since, and changes only the
        // fields `check_fields` let it.
        Ok(WritePlan {
            condition: Condition::And(all),
            by_delegate: matches!(basis, Basis::Delegate(_)),
            conditional_only: !matches!(basis, Basis::Owner | Basis::Grant),
        })
    }

    /// The condition of a delete by `caller` of the record under `key`, or `None` when it is
    /// refused whatever the store holds (answered as a missing record, logged): the stored owner
    /// is the caller, or, for a service granted [`Scope::Delete`] (logged), the record exists.
    pub(crate) fn plan_delete(
        &self,
        caller: &Caller,
        schema: &Schema,
        key: &Key,
        key_item: &Item,
    ) -> Result<Option<Condition>> {
        if !self.plan_read(caller, schema, key, key_item, Scope::Delete)? {
            return Ok(None);
        }
        if self.acts_for_others(caller, Scope::Delete) {
            self.authorize(caller, schema, None, key_item, Scope::Delete)?;
            return Ok(Some(Condition::Exists));
        }
        // Within a narrowed grant: a record within the value the service acts within (a set
        // holding it is not matched: such a record is deleted by a model-wide grant).
        let narrowed: Vec<(&'static str, &str)> = self.narrowed(caller, Scope::Delete).collect();
        let within: Vec<Condition> = narrowed
            .iter()
            .map(|(attribute, value)| holds(attribute, value))
            .collect();
        if let Some(&(attribute, _)) = narrowed.first() {
            // Logged as the use it is, before the store decides (as a model-wide delete is).
            super::log::used(
                caller,
                schema,
                key_item,
                Scope::Delete,
                Basis::Within(attribute),
            );
            return Ok(Some(Condition::And(vec![
                Condition::Exists,
                Condition::Or(within),
            ])));
        }
        // `plan_read` refuses services without the grant, so the caller is a user; one whose id
        // no owner of this model can have owns nothing.
        Ok(caller
            .user_id()
            .and_then(|id| schema.owner_value(id))
            .map(|owner| Condition::equals(schema.owner(), owner)))
    }

    /// Whether a blind-index search by `caller` is worth making: a user searches for its own
    /// records, a service needs a read grant (without one it finds nothing).
    pub(crate) fn plan_find(&self, caller: &Caller, schema: &Schema) -> Result<bool> {
        self.check_service(caller, schema)?;
        Ok(caller.user_id().is_some()
            || self.acts_for_others(caller, Scope::Read)
            || self.acts_within(caller, Scope::Read))
    }
}
