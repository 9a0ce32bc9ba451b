//! Batches: many records in store batches of DynamoDB's sizes, with one retry loop for the items
//! or keys a store hands back unprocessed.

use crate::error::{ConfigError, StorageError};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use super::Table;
use crate::access::{Caller, Logged, Scope, denied, log_denied};
use crate::attribute::Key;
use crate::error::{Error, Result};
use crate::model::{BatchWritable, EncryptedItem};
use crate::store::{MAX_BATCH_GET, MAX_BATCH_WRITE, Store};

/// How batches retry unprocessed items.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Retry {
    attempts: u32,
    base_delay: Duration,
}

impl Retry {
    /// Up to `attempts` in all (at least 1), waiting `base_delay`, then twice as long each time.
    pub(crate) fn new(attempts: u32, base_delay: Duration) -> Self {
        Retry {
            attempts: attempts.max(1),
            base_delay,
        }
    }

    /// Waits before retry `attempt` (1, 2, …): exponential, at most 5 s, with full jitter.
    async fn backoff(&self, attempt: u32) {
        let ceiling = self
            .base_delay
            .saturating_mul(1 << attempt.min(16))
            .min(Duration::from_secs(5));
        let jitter = crate::random::array::<4>()
            .map(u32::from_be_bytes)
            .unwrap_or(u32::MAX);
        let delay = ceiling.mul_f64(0.5 + 0.5 * f64::from(jitter) / f64::from(u32::MAX));
        tokio::time::sleep(delay).await;
    }
}

impl Default for Retry {
    fn default() -> Self {
        Retry::new(8, Duration::from_millis(25))
    }
}

/// `items` in chunks of at most `size`, in order.
fn chunked<P>(mut items: Vec<P>, size: usize) -> Vec<Vec<P>> {
    let mut chunks = Vec::with_capacity(items.len().div_ceil(size));
    while !items.is_empty() {
        let rest = items.split_off(items.len().min(size));
        chunks.push(std::mem::replace(&mut items, rest));
    }
    chunks
}

impl<T: EncryptedItem + Send + Sync, S: Store> Table<T, S> {
    /// Stores many records, 25 to a store batch, retrying unprocessed items with backoff.
    ///
    /// Batch writes cannot be conditional, so this refuses models where that would matter: a
    /// model whose owner is not part of its key (a batch could overwrite a record another owner
    /// holds) and a versioned model; use [`put`](Self::put) or [`transact`](Self::transact) for
    /// those. When retries run out, [`StorageError::Unprocessed`](crate::error::StorageError::Unprocessed) lists the keys not written; the
    /// others are stored.
    ///
    /// Both are decided by the model: `batch_put` needs `T: BatchWritable`, which the derive
    /// implements only for models it suits, so that a call for another model does not compile.
    ///
    /// # Errors
    ///
    /// [`StorageError::Unprocessed`](crate::error::StorageError::Unprocessed) with the keys not
    /// written after every retry; otherwise as [`put`](Self::put).
    pub fn batch_put<'a>(
        &'a self,
        caller: &'a Caller,
        records: &'a [T],
    ) -> Pin<Box<dyn Future<Output = Result<()>> + Send + 'a>>
    where
        T: BatchWritable,
    {
        // Boxed, so that an unsuited model is one compile error, at the call.
        Box::pin(self.batch_put_checked(caller, records))
    }

    async fn batch_put_checked(&self, caller: &Caller, records: &[T]) -> Result<()> {
        // `BatchWritable` says so for derived models; a hand-written one is checked again.
        let schema = T::SCHEMA;
        let owner_in_key =
            schema.owner() == schema.partition_key() || Some(schema.owner()) == schema.sort_key();
        if !owner_in_key || schema.version().is_some() {
            return Err(Error::Config(ConfigError::Unsupported {
                table: schema.table().to_owned(),
                operation: "batch_put",
                reason: "batch writes are unconditional, so they could overwrite another \
                         owner's record (the owner is not part of the key) or skip the version \
                         check; use put or transact"
                    .to_owned(),
            }));
        }
        let pipeline = &self.records;
        // Every write is planned (and a refusal returned) before anything is sealed.
        let mut parts = Vec::with_capacity(records.len());
        for record in records {
            let (item, plaintexts) = pipeline.parts_to_write(record)?;
            let plan = pipeline.gate.plan_put(
                caller,
                &schema,
                &record.owner(),
                record.version(),
                &item,
            )?;
            if plan.conditional_only {
                // A narrowed grant's write holds only under its condition, which a batch cannot
                // carry (a delegate's put is refused by the plan already).
                log_denied(caller, &schema, &item, Scope::Write);
                return Err(denied(caller, &schema));
            }
            parts.push((item, plaintexts));
        }
        let mut items = Vec::with_capacity(parts.len());
        for (mut item, plaintexts) in parts {
            pipeline.seal(&mut item, &plaintexts).await?;
            items.push(item);
        }
        let chunks = chunked(items, MAX_BATCH_WRITE);
        let send = |chunk| async move {
            let unprocessed = pipeline.store.batch_put(&pipeline.table, chunk).await?;
            Ok((Vec::<()>::new(), unprocessed))
        };
        self.until_processed(chunks, |item| pipeline.table.key_of(item), send)
            .await
            .map(|_| ())
    }

    /// The records under `keys` that exist and that `caller` may open, in the order of `keys`;
    /// 100 to a store batch, retrying unprocessed keys with backoff. When retries run out,
    /// [`StorageError::Unprocessed`](crate::error::StorageError::Unprocessed) lists the keys not read.
    /// Keys that name another owner are answered without reading the store, and another owner's
    /// item, even a malformed one, is left out as a missing one is.
    ///
    /// # Errors
    ///
    /// [`StorageError::Unprocessed`](crate::error::StorageError::Unprocessed) with the keys not
    /// read after every retry; otherwise as [`get`](Self::get).
    pub async fn batch_get(&self, caller: &Caller, keys: &[Key]) -> Result<Vec<T>> {
        let pipeline = &self.records;
        let mut wanted = Vec::with_capacity(keys.len());
        for key in keys {
            let key_item = pipeline.table.key_item(key)?;
            if pipeline
                .gate
                .plan_read(caller, &T::SCHEMA, key, &key_item, Scope::Read)?
            {
                wanted.push(key.clone());
            }
        }
        let chunks = chunked(wanted, MAX_BATCH_GET);
        let send = |chunk| async move {
            let got = pipeline.store.batch_get(&pipeline.table, chunk).await?;
            Ok((got.items, got.unprocessed))
        };
        let items = self
            .until_processed(chunks, |key: &Key| Ok(key.clone()), send)
            .await?;
        let mut found: Vec<(usize, T)> = Vec::with_capacity(items.len());
        for item in items {
            let key = pipeline.table.key_of(&item)?;
            let position = keys.iter().position(|k| *k == key).unwrap_or(usize::MAX);
            // Another owner's item, even a malformed one, is left out as a missing one is.
            let record = pipeline.parse(item);
            if let Some(permit) = pipeline.admit(caller, record, Scope::Read, Logged::GrantUses) {
                let reading = (Scope::Read, Logged::GrantUses);
                if let Some(record) = pipeline.open_for(caller, permit, reading, &[]).await? {
                    found.push((position, record));
                }
            }
        }
        found.sort_by_key(|(position, _)| *position);
        Ok(found.into_iter().map(|(_, record)| record).collect())
    }

    /// Sends each chunk with `send`, then what the store handed back unprocessed, with backoff,
    /// until nothing is left; returns what the store returned as processed. When a chunk has had
    /// every attempt, [`StorageError::Unprocessed`](crate::error::StorageError::Unprocessed) names the keys of what is left of it and of the chunks
    /// not sent.
    async fn until_processed<P, O, Fut>(
        &self,
        chunks: Vec<Vec<P>>,
        key_of: impl Fn(&P) -> Result<Key>,
        send: impl Fn(Vec<P>) -> Fut,
    ) -> Result<Vec<O>>
    where
        Fut: Future<Output = Result<(Vec<O>, Vec<P>)>>,
    {
        let mut processed = Vec::new();
        let mut chunks = chunks.into_iter();
        while let Some(mut pending) = chunks.next() {
            let mut attempts = 0;
            while !pending.is_empty() {
                if attempts == self.retry.attempts {
                    pending.extend(chunks.flatten());
                    return Err(Error::Storage(StorageError::Unprocessed {
                        table: self.records.table.name().to_owned(),
                        keys: pending.iter().map(&key_of).collect::<Result<_>>()?,
                        attempts,
                    }));
                }
                if attempts > 0 {
                    self.retry.backoff(attempts).await;
                }
                attempts += 1;
                let (done, left) = send(pending).await?;
                processed.extend(done);
                pending = left;
            }
        }
        Ok(processed)
    }
}
