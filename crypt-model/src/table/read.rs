//! Reads: `get`, `query` and `query_all`, where a record of someone else reads exactly like a
//! missing one — no item, no cursor, no error, no count — and `scan`, for granted services.
//!
//! Each stored item is parsed once; the gate admits the caller on its stored owner before
//! anything else of it is told, so that only its owner or a granted service learns that an item
//! is malformed. A page holds up to `limit` records the caller may open, and its cursor — the key
//! of the last of them, which the caller has just read — is given only when the caller may open
//! a record beyond it.

use super::Table;
use crate::access::{Caller, Logged, Permit, Scope};
use crate::attribute::Key;
use crate::error::Result;
use crate::model::EncryptedItem;
use crate::store::{Page, Query, Scan, Store, Unreadable};
use crate::table::records::Listed;

impl<T: EncryptedItem + Send + Sync, S: Store> Table<T, S> {
    /// The record under `key`, opened for `caller`; `None` when there is none **or when it is
    /// not the caller's** (see the type's documentation). A key that names another owner is
    /// answered without reading the store.
    ///
    /// # Errors
    ///
    /// Someone else's record is `Ok(None)`, never an error. [`Error::Key`](crate::Error::Key) when
    /// the key provider fails or no longer holds the record's key (or the owner's key was erased);
    /// [`Error::Integrity`](crate::Error::Integrity) when the record was edited or copied in
    /// storage; [`Error::Data`](crate::Error::Data) when it is malformed or of a format version
    /// this build does not read; [`Error::Storage`](crate::Error::Storage) when the store fails.
    pub async fn get(&self, caller: &Caller, key: &Key) -> Result<Option<T>> {
        let records = &self.records;
        let key_item = records.table.key_item(key)?;
        if !records
            .gate
            .plan_read(caller, &T::SCHEMA, key, &key_item, Scope::Read)?
        {
            return Ok(None);
        }
        let Some(record) = records.fetch(key).await? else {
            return Ok(None);
        };
        let Some(permit) = records.admit(caller, record, Scope::Read, Logged::All) else {
            return Ok(None);
        };
        records
            .open_for(caller, permit, (Scope::Read, Logged::All), &[])
            .await
    }

    /// One page of the records of a partition (of the table or of a secondary index), in
    /// sort-key order, that `caller` may open: at most `limit` of them (all, without a limit).
    /// Records of other owners are left out and leave no trace: the store is read on past them,
    /// and the page's `cursor` is given only when a record the caller may open follows the last
    /// one returned. Pass it to [`Query::after`] for the next page.
    ///
    /// Reading on costs store reads: a partition shared by many owners is read further than
    /// `limit` items (see the threat model on timing). A record whose owner was erased
    /// (`#[crypt_model(key_per_owner)]`) is passed over, as a deleted one (logged).
    ///
    /// A record the caller may open that does not open on its own account — edited in storage,
    /// malformed, written by another version of the model, under a key the provider does not
    /// hold — is reported in [`Page::unreadable`] with its key and the reason, and the page and
    /// its cursor are kept.
    ///
    /// # Errors
    ///
    /// [`Error::Key`](crate::Error::Key) ([`KeyError::Provider`](crate::error::KeyError::Provider))
    /// when the key provider fails, [`Error::Storage`](crate::Error::Storage) when the store fails
    /// (another owner's record is left out, never an error);
    /// [`StorageError::InvalidRequest`](crate::error::StorageError::InvalidRequest) for a query the
    /// table cannot answer.
    pub async fn query(&self, caller: &Caller, query: &Query) -> Result<Page<T>> {
        let records = &self.records;
        if !records.gate.plan_query(caller, &T::SCHEMA, query)? {
            return Ok(Page::new(Vec::new(), None));
        }
        let limit = query.limit.map_or(usize::MAX, |l| l as usize);
        let mut admitted: Vec<Permit<T>> = Vec::new();
        let mut more = false;
        let mut request = query.clone();
        'pages: loop {
            let page = records.store.query(&records.table, &request).await?;
            for item in page.items {
                let record = records.parse(item);
                if admitted.len() == limit {
                    // One more the caller may open: the page gets a cursor. Peeked, not admitted.
                    if records
                        .gate
                        .would_admit(caller, &T::SCHEMA, &record, Scope::Read)
                    {
                        more = true;
                        break 'pages;
                    }
                    continue;
                }
                // Other owners' records are left out without a log line each.
                if let Some(permit) = records.admit(caller, record, Scope::Read, Logged::GrantUses)
                {
                    admitted.push(permit);
                }
            }
            match page.cursor {
                Some(cursor) => request = request.after(Some(cursor)),
                None => break,
            }
        }
        let cursor = match (more, admitted.last()) {
            (true, Some(last)) => Some(
                records
                    .table
                    .cursor_at(last.record().attributes(), query.index.as_deref())?,
            ),
            _ => None,
        };
        let mut page = Page::new(Vec::with_capacity(admitted.len()), cursor);
        // A record read again must still hold the key values the query selected it by.
        let (partition_key, sort_key) = records.table.key_space(query.index.as_deref())?;
        let selected: Vec<&str> = std::iter::once(partition_key).chain(sort_key).collect();
        for permit in admitted {
            page.add(records.open_listed(caller, permit, &selected).await?);
        }
        Ok(page)
    }

    /// One page of a scan of the whole table, or of one segment of it (a parallel scan: see
    /// [`Scan`]), every record opened. Only for a service granted [`Scope::Read`] on the model
    /// (every record it reads is logged as a grant use); anyone else is refused with
    /// [`AccessError::Denied`](crate::error::AccessError::Denied) before the store is read, since a
    /// scan crosses every owner's records. Pass the page's cursor to [`Scan::after`] to go on.
    /// Records of an erased owner (`#[crypt_model(key_per_owner)]`) are passed over, as deleted
    /// ones would be.
    ///
    /// # Errors
    ///
    /// [`AccessError::Denied`](crate::error::AccessError::Denied) for anyone but a granted service;
    /// then as [`get`](Self::get).
    pub async fn scan(&self, caller: &Caller, scan: &Scan) -> Result<Page<T>> {
        let records = &self.records;
        records
            .gate
            .plan_crossing(caller, &T::SCHEMA, &[Scope::Read])?;
        let page = records.store.scan(&records.table, scan).await?;
        let mut opened = Page::new(Vec::with_capacity(page.items.len()), None);
        for item in page.items {
            // A record no owner holds (its owner attribute is malformed) is admitted by the
            // grant, and fails to open as malformed.
            let Some(permit) = records.admit(caller, records.parse(item), Scope::Read, Logged::All)
            else {
                continue;
            };
            // The record of an erased owner is gone, in effect: a scan goes on past it.
            opened.add(records.open_listed(caller, permit, &[]).await?);
        }
        opened.cursor = page.cursor;
        Ok(opened)
    }

    /// Every record of a partition that `caller` may open, following cursors to the end.
    ///
    /// # Errors
    ///
    /// As [`query`](Self::query), and a record that did not open (one the page reports in
    /// [`Page::unreadable`]) is the whole call's error: [`Error::Data`](crate::Error::Data)
    /// ([`DataError::Unreadable`](crate::error::DataError::Unreadable)) with its reason. Page
    /// with [`query`](Self::query) to go on past such a record.
    pub async fn query_all(&self, caller: &Caller, query: Query) -> Result<Vec<T>> {
        let mut query = query;
        let mut records = Vec::new();
        loop {
            let page = self.query(caller, &query).await?;
            if let Some(unreadable) = page.unreadable.into_iter().next() {
                return Err(crate::error::DataError::Unreadable {
                    table: T::SCHEMA.table().to_owned(),
                    reason: unreadable.reason,
                }
                .into());
            }
            records.extend(page.items);
            match page.cursor {
                Some(cursor) => query = query.after(Some(cursor)),
                None => return Ok(records),
            }
        }
    }
}

impl<T> Page<T> {
    /// Adds what a listing found of one record.
    fn add(&mut self, listed: Listed<T>) {
        match listed {
            Listed::Record(record) => self.items.push(record),
            Listed::Erased | Listed::Gone => {}
            Listed::Unreadable(key, error) => self.unreadable.push(Unreadable::new(key, &error)),
        }
    }
}
