//! Reads: `get`, `query` and `query_all`, where a record of someone else reads exactly like a
//! missing one — no item, no cursor, no error, no count.
//!
//! Each stored item's owner (a plain attribute) is checked before anything else of it is read,
//! so that only its owner or a granted service learns that an item is malformed. A page holds up
//! to `limit` records the caller may open, and its cursor — the key of the last of them, which
//! the caller has just read — is given only when the caller may open a record beyond it.

use super::Table;
use crate::access::{Caller, Permit, Scope, denied, log_denied, stored_owner};
use crate::attribute::{Item, Key};
use crate::error::{Error, Result};
use crate::model::EncryptedItem;
use crate::store::{Page, Query, Scan, Store};

impl<T: EncryptedItem + Send + Sync, S: Store> Table<T, S> {
    /// The gate's decision for `caller` reading `item`, from its stored owner alone; refusals are
    /// not logged (filtering other owners' records out of a query is expected).
    pub(super) fn may_read(&self, caller: &Caller, item: &Item) -> Option<Permit> {
        self.gate
            .decide(caller, stored_owner(&T::SCHEMA, item), Scope::Read)
    }

    /// Opens an item the gate allowed: a grant use is logged; a malformed item is an error (the
    /// caller may know).
    pub(super) async fn open_allowed(
        &self,
        caller: &Caller,
        item: Item,
        permit: Permit,
    ) -> Result<T> {
        if permit == Permit::Grant {
            self.gate.authorize(
                caller,
                &T::SCHEMA,
                stored_owner(&T::SCHEMA, &item),
                &item,
                Scope::Read,
            )?;
        }
        T::from_item(item).open_permitted(&self.cipher).await
    }

    /// The record under `key`, opened for `caller`; `None` when there is none **or when it is
    /// not the caller's** (see the type's documentation). A key that names another owner is
    /// answered without reading the store.
    pub async fn get(&self, caller: &Caller, key: &Key) -> Result<Option<T>> {
        if self.refused_by_key(caller, key, Scope::Read)? {
            return Ok(None);
        }
        let Some(item) = self.store.get(&self.table, key).await? else {
            return Ok(None);
        };
        match self.may_read(caller, &item) {
            Some(permit) => self.open_allowed(caller, item, permit).await.map(Some),
            None => {
                log_denied(caller, &T::SCHEMA, &item, Scope::Read);
                Ok(None)
            }
        }
    }

    /// Whether a query is answered empty without reading the store: a service without a read
    /// grant sees nothing, and a user cannot own a partition named after another owner.
    fn query_refused(&self, caller: &Caller, query: &Query) -> bool {
        if self.gate.acts_for_others(caller, Scope::Read) {
            return false;
        }
        let Some(id) = caller.user_id() else {
            return true;
        };
        let owner_partition = T::SCHEMA.owner() == T::SCHEMA.partition_key();
        let refused = query.index.is_none()
            && owner_partition
            && T::SCHEMA.owner_text(&query.partition) != Some(id);
        if refused {
            let key = Item::from_iter([(T::SCHEMA.partition_key(), query.partition.clone())]);
            log_denied(caller, &T::SCHEMA, &key, Scope::Read);
        }
        refused
    }

    /// One page of the records of a partition (of the table or of a secondary index), in
    /// sort-key order, that `caller` may open: at most `limit` of them (all, without a limit).
    /// Records of other owners are left out and leave no trace: the store is read on past them,
    /// and the page's `cursor` is given only when a record the caller may open follows the last
    /// one returned. Pass it to [`Query::after`] for the next page.
    ///
    /// Reading on costs store reads: a partition shared by many owners is read further than
    /// `limit` items (see the threat model on timing).
    pub async fn query(&self, caller: &Caller, query: &Query) -> Result<Page<T>> {
        if self.query_refused(caller, query) {
            return Ok(Page {
                items: Vec::new(),
                cursor: None,
            });
        }
        let limit = query.limit.map_or(usize::MAX, |l| l as usize);
        let mut allowed: Vec<(Item, Permit)> = Vec::new();
        let mut more = false;
        let mut request = query.clone();
        'pages: loop {
            let page = self.store.query(&self.table, &request).await?;
            for item in page.items {
                if let Some(permit) = self.may_read(caller, &item) {
                    if allowed.len() == limit {
                        more = true;
                        break 'pages;
                    }
                    allowed.push((item, permit));
                }
            }
            match page.cursor {
                Some(cursor) => request = request.after(Some(cursor)),
                None => break,
            }
        }
        let cursor = match (more, allowed.last()) {
            (true, Some((last, _))) => Some(self.table.cursor_at(last, query.index.as_deref())?),
            _ => None,
        };
        let mut records = Vec::with_capacity(allowed.len());
        for (item, permit) in allowed {
            records.push(self.open_allowed(caller, item, permit).await?);
        }
        Ok(Page {
            items: records,
            cursor,
        })
    }

    /// One page of a scan of the whole table, or of one segment of it (a parallel scan: see
    /// [`Scan`]), every record opened. Only for a service granted [`Scope::Read`] on the model
    /// (every record it reads is logged as a grant use); anyone else is refused with
    /// [`Error::AccessDenied`](crate::Error::AccessDenied) before the store is read, since a
    /// scan crosses every owner's records. Pass the page's cursor to [`Scan::after`] to go on.
    /// Records of an erased owner (`#[crypt_model(key_per_owner)]`) are passed over, as deleted
    /// ones would be.
    pub async fn scan(&self, caller: &Caller, scan: &Scan) -> Result<Page<T>> {
        if !self.gate.acts_for_others(caller, Scope::Read) {
            log_denied(caller, &T::SCHEMA, &Item::new(), Scope::Read);
            return Err(denied(caller, &T::SCHEMA));
        }
        let page = self.store.scan(&self.table, scan).await?;
        let mut records = Vec::with_capacity(page.items.len());
        for item in page.items {
            match self.may_read(caller, &item) {
                Some(permit) => match self.open_allowed(caller, item, permit).await {
                    Ok(record) => records.push(record),
                    // The record of an erased owner is gone, in effect: a scan goes on past it.
                    Err(Error::OwnerKeyErased { .. }) => {
                        tracing::info!(
                            target: "crypt_model::access",
                            table = T::SCHEMA.table(),
                            "a scan passed a record whose owner was erased"
                        );
                    }
                    Err(error) => return Err(error),
                },
                // A record no owner holds (its owner attribute is malformed) is not opened.
                None => log_denied(caller, &T::SCHEMA, &item, Scope::Read),
            }
        }
        Ok(Page {
            items: records,
            cursor: page.cursor,
        })
    }

    /// Every record of a partition that `caller` may open, following cursors to the end.
    pub async fn query_all(&self, caller: &Caller, query: Query) -> Result<Vec<T>> {
        let mut query = query;
        let mut records = Vec::new();
        loop {
            let page = self.query(caller, &query).await?;
            records.extend(page.items);
            match page.cursor {
                Some(cursor) => query = query.after(Some(cursor)),
                None => return Ok(records),
            }
        }
    }
}
