//! Checkpoints: where each segment of a job stands and which worker holds it, saved after every
//! page, so that a job stopped or killed resumes where it was, and two workers never run one
//! segment at once.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Value, json};

use super::lease::{Claim, Lease, valid_worker};
use super::{Counts, Failure};
use crate::attribute::{Item, Key};
use crate::error::{Error, Result};
use crate::store::{Cursor, async_trait};

mod files;
mod memory;
mod table;
#[cfg(test)]
mod tests;

pub use files::FileCheckpoints;
pub use memory::MemoryCheckpoints;
pub use table::TableCheckpoints;

/// Where one segment of a job stands: the key after which its scan resumes, whether it is done,
/// what it has counted so far (including the keys of the records it could not process), and
/// which worker holds it until when.
///
/// It holds record keys (the cursor, the failed keys), which may be personal data: keep
/// checkpoints where the table's keys may be kept.
#[derive(Clone, PartialEq)]
pub struct Checkpoint {
    /// The job's name (its kind and the table: `migrate:profiles`).
    pub job: String,
    /// The segment.
    pub segment: u32,
    /// The number of segments the job splits the table into.
    pub total_segments: u32,
    /// Where the segment's scan resumes; `None` at its start, or once it is done.
    pub cursor: Option<Cursor>,
    /// Whether the segment has been scanned to its end.
    pub done: bool,
    /// What the segment's pages counted so far.
    pub counts: Counts,
    /// The records it could not process.
    pub failed: Vec<Failure>,
    /// How many of its records are under each key-encryption key, by key id, as the job left
    /// them.
    pub key_ids: BTreeMap<String, u64>,
    /// How many of its records are sealed with each algorithm suite, by the suite's name
    /// ([`Suite::name`](crate::format::Suite::name)), as the job left them.
    pub suites: BTreeMap<String, u64>,
    /// The fencing token: how many times the segment was claimed. Each save is refused unless the
    /// stored checkpoint has the same, so that a worker whose lease lapsed and was taken over
    /// saves nothing over its successor's progress.
    pub fence: u64,
    /// The worker that holds the segment and until when, while one runs it.
    pub lease: Option<Lease>,
    /// When the segment was first claimed, in milliseconds since the Unix epoch (0: unknown).
    pub started: u64,
    /// The whole job's rate budget, in records per second, as the worker that saved this was
    /// given it ([`Job::job_rate_limit`](super::Job::job_rate_limit)): workers started without
    /// one follow the latest saved.
    pub job_rate: Option<u32>,
    /// When the checkpoint was saved, in milliseconds since the Unix epoch (0: unknown).
    pub saved: u64,
}

impl Checkpoint {
    /// A segment not yet started.
    pub fn start(job: &str, segment: u32, total_segments: u32) -> Self {
        Checkpoint {
            job: job.to_owned(),
            segment,
            total_segments,
            cursor: None,
            done: false,
            counts: Counts::default(),
            failed: Vec::new(),
            key_ids: BTreeMap::new(),
            suites: BTreeMap::new(),
            fence: 0,
            lease: None,
            started: 0,
            job_rate: None,
            saved: 0,
        }
    }

    /// Whether a worker holds the segment at `now` (milliseconds since the Unix epoch): a lease
    /// that has not lapsed, and expires no later than the longest lease a job takes allows.
    pub fn is_held(&self, now: u64) -> bool {
        let longest =
            now.saturating_add(super::lease::millis(super::lease::LONGEST_LEASE) + 60_000);
        !self.done
            && (self.lease.as_ref())
                .is_some_and(|lease| lease.expires > now && lease.expires <= longest)
    }

    /// The checkpoint as JSON: `{"job", "segment", "total_segments", "cursor", "done",
    /// "counts": {"seen", "changed", "unchanged", "skipped", "erased", "failed", "plaintext"}, "failed":
    /// [{"key", "reason"}], "key_ids": {"<key id>": count}, "suites": {"<suite>": count},
    /// "fence", "lease": {"worker", "expires"} or null, "started", "job_rate", "saved"}`, with the cursor and
    /// keys in DynamoDB JSON (a key as `{"partition": …, "sort": …}`) and times in milliseconds
    /// since the Unix epoch.
    pub fn to_json(&self) -> String {
        let counts = &self.counts;
        let failed: Vec<Value> = self
            .failed
            .iter()
            .map(|f| json!({"key": key_json(&f.key), "reason": f.reason}))
            .collect();
        json!({
            "job": self.job,
            "segment": self.segment,
            "total_segments": self.total_segments,
            "cursor": self.cursor.as_ref().map(|c| item_json(c.key())),
            "done": self.done,
            "counts": {
                "seen": counts.seen,
                "changed": counts.changed,
                "unchanged": counts.unchanged,
                "skipped": counts.skipped,
                "erased": counts.erased,
                "failed": counts.failed,
                "plaintext": counts.plaintext,
            },
            "failed": failed,
            "key_ids": self.key_ids,
            "suites": self.suites,
            "fence": self.fence,
            "lease": self.lease.as_ref().map(|lease| json!({
                "worker": lease.worker,
                "expires": lease.expires,
            })),
            "started": self.started,
            "job_rate": self.job_rate,
            "saved": self.saved,
        })
        .to_string()
    }

    /// Reads [`to_json`](Self::to_json)'s output; a file that is not one is
    /// [`DataError::Malformed`](crate::error::DataError::Malformed) naming `(checkpoint)`.
    pub fn from_json(text: &str) -> Result<Self> {
        let malformed = || Error::malformed("(checkpoint)", "not a crypt-model job checkpoint");
        let value: Value = serde_json::from_str(text).map_err(|_| malformed())?;
        let number = |v: &Value| v.as_u64().ok_or_else(malformed);
        let small = |v: &Value| number(v).and_then(|n| u32::try_from(n).map_err(|_| malformed()));
        // Absent from the checkpoints of a release before leases.
        let or_zero = |v: &Value| match v {
            Value::Null => Ok(0),
            other => number(other),
        };
        let counts = &value["counts"];
        let failed = match &value["failed"] {
            Value::Array(entries) => entries
                .iter()
                .map(|entry| {
                    Ok(Failure {
                        key: key_from_json(&entry["key"]).ok_or_else(malformed)?,
                        reason: entry["reason"].as_str().ok_or_else(malformed)?.to_owned(),
                    })
                })
                .collect::<Result<Vec<_>>>()?,
            _ => return Err(malformed()),
        };
        Ok(Checkpoint {
            job: value["job"].as_str().ok_or_else(malformed)?.to_owned(),
            segment: small(&value["segment"])?,
            total_segments: small(&value["total_segments"])?,
            cursor: match &value["cursor"] {
                Value::Null => None,
                other => Some(Cursor::new(item_from_json(other).ok_or_else(malformed)?)),
            },
            done: value["done"].as_bool().ok_or_else(malformed)?,
            counts: Counts {
                seen: number(&counts["seen"])?,
                changed: number(&counts["changed"])?,
                unchanged: number(&counts["unchanged"])?,
                skipped: number(&counts["skipped"])?,
                // Absent from the checkpoints of a release before the count.
                erased: match &counts["erased"] {
                    Value::Null => 0,
                    erased => number(erased)?,
                },
                failed: number(&counts["failed"])?,
                plaintext: number(&counts["plaintext"])?,
            },
            failed,
            key_ids: match &value["key_ids"] {
                // Key ids only: a report prints them.
                Value::Object(ids) => ids
                    .iter()
                    .map(
                        |(id, count)| match id.chars().all(super::lease::printable) {
                            true => Ok((id.clone(), number(count)?)),
                            false => Err(malformed()),
                        },
                    )
                    .collect::<Result<_>>()?,
                _ => return Err(malformed()),
            },
            // Absent from the checkpoints of a release before suites.
            suites: match &value["suites"] {
                Value::Null => BTreeMap::new(),
                // A suite's name only: a report prints them.
                Value::Object(suites) => suites
                    .iter()
                    .map(|(suite, count)| match crate::suite::Suite::named(suite) {
                        Some(suite) => Ok((suite.name().to_owned(), number(count)?)),
                        None => Err(malformed()),
                    })
                    .collect::<Result<_>>()?,
                _ => return Err(malformed()),
            },
            fence: or_zero(&value["fence"])?,
            lease: match &value["lease"] {
                Value::Null => None,
                lease => Some(Lease {
                    // A worker's name only: a report prints it.
                    worker: (lease["worker"].as_str())
                        .filter(|worker| valid_worker(worker))
                        .ok_or_else(malformed)?
                        .to_owned(),
                    expires: number(&lease["expires"])?,
                }),
            },
            started: or_zero(&value["started"])?,
            job_rate: match &value["job_rate"] {
                Value::Null => None,
                // A rate of 0 would stop every worker that follows it.
                rate => Some(small(rate)?)
                    .filter(|rate| *rate > 0)
                    .ok_or_else(malformed)
                    .map(Some)?,
            },
            saved: or_zero(&value["saved"])?,
        })
    }
}

fn item_json(item: &Item) -> Value {
    serde_json::from_str(&item.to_dynamodb_json()).unwrap_or(Value::Null)
}

fn item_from_json(value: &Value) -> Option<Item> {
    Item::from_dynamodb_json(&value.to_string()).ok()
}

fn key_json(key: &Key) -> Value {
    let mut item = Item::new();
    item.insert("partition", key.partition.clone());
    if let Some(sort) = &key.sort {
        item.insert("sort", sort.clone());
    }
    item_json(&item)
}

fn key_from_json(value: &Value) -> Option<Key> {
    let mut item = item_from_json(value)?;
    let key = Key::new(item.remove("partition")?);
    Some(match item.remove("sort") {
        Some(sort) => key.with_sort(sort),
        None => key,
    })
}

impl fmt::Debug for Checkpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The cursor's key may be personal data.
        f.debug_struct("Checkpoint")
            .field("job", &self.job)
            .field("segment", &self.segment)
            .field("total_segments", &self.total_segments)
            .field("resumes", &self.cursor.is_some())
            .field("done", &self.done)
            .field("counts", &self.counts)
            .field("failed", &self.failed)
            .field("key_ids", &self.key_ids)
            .field("suites", &self.suites)
            .field("fence", &self.fence)
            .field("lease", &self.lease)
            .finish()
    }
}

/// Where a job keeps its checkpoints, one per segment, and the leases of the workers that run
/// them: in memory ([`MemoryCheckpoints`]), in files on one machine ([`FileCheckpoints`]), in a
/// table that the workers of many machines share ([`TableCheckpoints`]), or anywhere that
/// implements this.
///
/// An implementation must make [`claim`](Self::claim) and [`save`](Self::save) atomic with
/// respect to each other: a claim takes a segment only if no live lease holds it, raising its
/// [`fence`](Checkpoint::fence); a save is refused once the fence has moved past the saved
/// checkpoint's. A claim of a segment whose lease lapsed takes it over, whoever held it.
#[async_trait]
pub trait Checkpoints: Send + Sync {
    /// The checkpoint of `segment` of `job`, if one was saved.
    async fn load(&self, job: &str, segment: u32) -> Result<Option<Checkpoint>>;

    /// Every saved checkpoint of `job`, in segment order.
    async fn list(&self, job: &str) -> Result<Vec<Checkpoint>>;

    /// Claims `segment` of `job` (split into `total_segments`) for `lease.worker` until
    /// `lease.expires`: takes it, saving its checkpoint (a new one if none was saved) with the
    /// lease and a raised fence, unless it is done or another worker's lease has not lapsed.
    /// A checkpoint written with another number of segments, or for another job or segment, is
    /// [`StorageError::InvalidRequest`](crate::error::StorageError::InvalidRequest).
    async fn claim(
        &self,
        job: &str,
        segment: u32,
        total_segments: u32,
        lease: &Lease,
    ) -> Result<Claim>;

    /// Saves a checkpoint, replacing the segment's previous one, if the stored one has the same
    /// [`fence`](Checkpoint::fence) (or, for a fence of 0, none is stored); otherwise it is
    /// [`StorageError::LeaseLost`](crate::error::StorageError::LeaseLost) and nothing is
    /// saved. It must be durable when this returns: the job goes on as if it were.
    async fn save(&self, checkpoint: &Checkpoint) -> Result<()>;

    /// Whether principals other than the job's runner may write these checkpoints (a job table
    /// in a shared store): then a migration never closes its plan on their word
    /// ([`JobKind::Migrate`](super::JobKind::Migrate)). `false` unless an implementation says
    /// otherwise.
    fn shared(&self) -> bool {
        false
    }

    /// Saves `checkpoint` without its lease, as [`save`](Self::save) does: the segment is free
    /// for the next claim at once.
    async fn release(&self, checkpoint: &Checkpoint) -> Result<()> {
        let mut released = checkpoint.clone();
        released.lease = None;
        self.save(&released).await
    }
}

/// Checkpoints shared behind an `Arc` (checkpoints chosen at run time, `Arc<dyn Checkpoints>`).
#[async_trait]
impl<C: Checkpoints + ?Sized> Checkpoints for std::sync::Arc<C> {
    async fn load(&self, job: &str, segment: u32) -> Result<Option<Checkpoint>> {
        (**self).load(job, segment).await
    }

    async fn list(&self, job: &str) -> Result<Vec<Checkpoint>> {
        (**self).list(job).await
    }

    async fn claim(
        &self,
        job: &str,
        segment: u32,
        total_segments: u32,
        lease: &Lease,
    ) -> Result<Claim> {
        (**self).claim(job, segment, total_segments, lease).await
    }

    async fn save(&self, checkpoint: &Checkpoint) -> Result<()> {
        (**self).save(checkpoint).await
    }

    async fn release(&self, checkpoint: &Checkpoint) -> Result<()> {
        (**self).release(checkpoint).await
    }

    fn shared(&self) -> bool {
        (**self).shared()
    }
}
