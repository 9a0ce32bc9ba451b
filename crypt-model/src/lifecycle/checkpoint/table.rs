//! [`TableCheckpoints`]: checkpoints and leases in a table that the workers of many machines
//! share.

use std::sync::Arc;

use super::{Checkpoint, Checkpoints};
use crate::attribute::{AttributeValue, Item, Key, KeyType};
use crate::error::{Error, Result, StorageError};
use crate::lifecycle::lease::{Claim, Lease, decide, lost, now_ms};
use crate::store::{Checked, Condition, Query, Store, TableRef, async_trait};

/// The job table's partition key: the job's name.
const JOB: &str = "job";
/// Its sort key: the segment.
const SEGMENT: &str = "segment";
/// The fencing token, beside the checkpoint for the conditions on it.
const FENCE: &str = "fence";
/// The checkpoint, as [`Checkpoint::to_json`] writes it.
const CHECKPOINT: &str = "checkpoint";
/// How many times a claim reads again after another worker's claim won the race.
const CLAIM_ATTEMPTS: u32 = 4;

/// The checkpoints and leases of jobs in a table of their own (the *job table*), which any
/// number of workers — processes, containers, Lambda invocations, on any machine — share: they
/// join one job by its name and each takes segments no live lease holds, until none is left
/// ([`Job::worker`](crate::lifecycle::Job::worker)).
///
/// One item per segment of a job: the partition key `job` (a string: the job's name), the sort
/// key `segment` (a number), `fence` (a number: the fencing token, raised by each claim) and
/// `checkpoint` (a string: the checkpoint as [`Checkpoint::to_json`] writes it, with the
/// worker that holds the segment and until when). A claim reads the item and writes it on the
/// condition that `fence` is as read (or that there is none); a save, on the condition that
/// `fence` is the saver's. Create the table with the store's provisioning
/// (`crypt_model_dynamo::provision(client, checkpoints.table_ref(), …)`; on DynamoDB, on
/// demand suits it: a job writes one item per page of each segment).
///
/// The job table holds record keys (the cursors, the failed records' keys): give it the data
/// table's protection. Its ordinary writers can make a job skip records (a cursor moved on, a
/// segment marked done) or do them again (a checkpoint removed), never read or change one: so a
/// key is retired on the evidence of an inventory ([`JobKind::Inventory`](crate::lifecycle::JobKind::Inventory), or
/// `crypt-model audit`), which reads the records themselves, not on a job's counts alone; and a
/// migration on these checkpoints leaves its plan open for the same reason
/// ([`Checkpoints::shared`]).
/// Workers need `GetItem`, `PutItem` and `Query` on it.
#[derive(Clone)]
pub struct TableCheckpoints {
    store: Arc<Checked<dyn Store>>,
    table: TableRef,
}

impl std::fmt::Debug for TableCheckpoints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableCheckpoints")
            .field("table", &self.table.name())
            .finish_non_exhaustive()
    }
}

impl TableCheckpoints {
    /// The job table `name` on `store`.
    pub fn new(store: impl Store + 'static, name: &str) -> Result<Self> {
        Ok(TableCheckpoints {
            store: Arc::new(Checked::new(store)),
            table: TableRef::new(name, JOB, Some(SEGMENT))?.with_key_types(KeyType::S, KeyType::N),
        })
    }

    /// The job table, for its provisioning.
    pub fn table_ref(&self) -> &TableRef {
        &self.table
    }

    fn key(job: &str, segment: u32) -> Key {
        Key::new(AttributeValue::S(job.to_owned()))
            .with_sort(AttributeValue::N(segment.to_string()))
    }

    fn item(checkpoint: &Checkpoint) -> Item {
        Item::from_iter([
            (JOB, AttributeValue::S(checkpoint.job.clone())),
            (SEGMENT, AttributeValue::N(checkpoint.segment.to_string())),
            (FENCE, AttributeValue::N(checkpoint.fence.to_string())),
            (CHECKPOINT, AttributeValue::S(checkpoint.to_json())),
        ])
    }

    /// The checkpoint an item holds, checked against the attributes its conditions read.
    fn parse(&self, item: &Item) -> Result<Checkpoint> {
        let malformed = || {
            Error::malformed(
                "(checkpoint)",
                format!(
                    "an item of the job table `{}` is not a checkpoint",
                    self.table.name()
                ),
            )
        };
        let Some(AttributeValue::S(json)) = item.get(CHECKPOINT) else {
            return Err(malformed());
        };
        let checkpoint = Checkpoint::from_json(json)?;
        let number = |name: &str| match item.get(name) {
            Some(AttributeValue::N(n)) => n.parse::<u64>().ok(),
            _ => None,
        };
        let matches = item.get(JOB) == Some(&AttributeValue::S(checkpoint.job.clone()))
            && number(SEGMENT) == Some(u64::from(checkpoint.segment))
            && number(FENCE) == Some(checkpoint.fence);
        if !matches {
            return Err(malformed());
        }
        Ok(checkpoint)
    }

    /// Writes `checkpoint` if the stored fence is `fence` (no item for 0): `false` when it is not.
    async fn swap(&self, checkpoint: &Checkpoint, fence: u64) -> Result<bool> {
        let condition = match fence {
            0 => Condition::NotExists,
            fence => Condition::equals(FENCE, AttributeValue::N(fence.to_string())),
        };
        match (self.store)
            .put(&self.table, Self::item(checkpoint), &condition)
            .await
        {
            Ok(()) => Ok(true),
            Err(Error::Storage(StorageError::ConditionFailed { .. })) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

#[async_trait]
impl Checkpoints for TableCheckpoints {
    async fn load(&self, job: &str, segment: u32) -> Result<Option<Checkpoint>> {
        let item = self
            .store
            .get(&self.table, &Self::key(job, segment))
            .await?;
        item.map(|item| self.parse(&item)).transpose()
    }

    async fn list(&self, job: &str) -> Result<Vec<Checkpoint>> {
        let mut list = Vec::new();
        let mut cursor = None;
        loop {
            let query = Query::partition(AttributeValue::S(job.to_owned())).after(cursor);
            let page = self.store.query(&self.table, &query).await?;
            for item in &page.items {
                list.push(self.parse(item)?);
            }
            match page.cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(list),
            }
        }
    }

    async fn claim(
        &self,
        job: &str,
        segment: u32,
        total_segments: u32,
        lease: &Lease,
    ) -> Result<Claim> {
        for _ in 0..CLAIM_ATTEMPTS {
            let stored = self.load(job, segment).await?;
            let fence = stored.as_ref().map_or(0, |stored| stored.fence);
            let claim = decide(
                stored,
                (job, segment, total_segments),
                &lease.worker,
                lease.expires,
                now_ms(),
            )?;
            match &claim {
                Claim::Taken(checkpoint) if !self.swap(checkpoint, fence).await? => continue,
                _ => return Ok(claim),
            }
        }
        // Another worker's claim won each time: it holds the segment now.
        match self.load(job, segment).await? {
            Some(stored) if stored.done => Ok(Claim::Done(stored)),
            Some(Checkpoint {
                lease: Some(held), ..
            }) => Ok(Claim::Held(held)),
            _ => Err(lost(job, segment)),
        }
    }

    fn shared(&self) -> bool {
        true
    }

    async fn save(&self, checkpoint: &Checkpoint) -> Result<()> {
        match self.swap(checkpoint, checkpoint.fence).await? {
            true => Ok(()),
            false => Err(lost(&checkpoint.job, checkpoint.segment)),
        }
    }
}
