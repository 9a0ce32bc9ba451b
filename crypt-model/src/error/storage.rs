//! [`StorageError`]: why the store refused or failed.

use super::BoxError;

/// Why the store refused or failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// A conditional write found the stored item not as required (it exists when it must not,
    /// or holds another owner or version). Nothing was written.
    #[error(
        "the conditional write to table `{table}` was refused: the stored item does not satisfy its condition; nothing was written"
    )]
    ConditionFailed {
        /// The physical table.
        table: String,
    },

    /// The record is not as it was read (optimistic locking): changed or deleted since, or —
    /// answered alike, so that no one learns which — never there, or not the caller's. Nothing
    /// was written; read it again: if it is still there, retry the write.
    #[error(
        "the record in table `{table}` is not as it was read (changed or deleted since, or not \
         there for this caller); nothing was written: read it again, and retry if it is still there"
    )]
    Conflict {
        /// The physical table.
        table: String,
    },

    /// A transaction was cancelled as a whole; nothing of it was written.
    #[error("the transaction was cancelled and nothing was written: {}", describe_reasons(.reasons))]
    TransactionCancelled {
        /// Per item of the transaction, in order: why it was refused (`ConditionalCheckFailed`,
        /// `TransactionConflict`, …), or `None` for items that were not the cause.
        reasons: Vec<Option<String>>,
    },

    /// A batch left items unprocessed after every retry. What was processed is stored; these
    /// keys were not, and can be retried.
    #[error("{} item(s) of table `{table}` were still unprocessed after {attempts} attempts; they were not written and can be retried", .keys.len())]
    Unprocessed {
        /// The physical table.
        table: String,
        /// The keys not processed (keys are plain identifiers, never sensitive values).
        keys: Vec<crate::attribute::Key>,
        /// How many attempts were made.
        attempts: u32,
    },

    /// A request broke a limit of the store (batch or transaction size, item size, a key
    /// attribute missing). Nothing was done.
    #[error("invalid request to table `{table}`: {reason}")]
    InvalidRequest {
        /// The physical table.
        table: String,
        /// Which rule, without any value.
        reason: String,
    },

    /// The item a write would leave is over the store's item limit (DynamoDB's 400 KB, names
    /// and values). Nothing was written: shorten a value, or keep a large one elsewhere.
    #[error(
        "the item for table `{table}` would exceed DynamoDB's 400 KB item limit; nothing was \
         written: shorten a value, or keep a large one elsewhere and store a reference"
    )]
    ItemTooLarge {
        /// The physical table.
        table: String,
    },

    /// The table does not exist in the store (or the credentials cannot see it).
    #[error(
        "table `{table}` does not exist: create it first (crypt_model_dynamo::provision), or check the name and region"
    )]
    TableNotFound {
        /// The physical table.
        table: String,
    },

    /// The table exists but lacks the secondary index a query named (a blind index's, or one
    /// the model declares): the table was created before the model gained it.
    #[error(
        "table `{table}` has no index `{index}`: add it with crypt_model_dynamo::provision (which \
         adds the indexes a table lacks), then backfill a blind index (`crypt-model \
         backfill-index`)"
    )]
    IndexNotFound {
        /// The physical table.
        table: String,
        /// The index.
        index: String,
    },

    /// The store throttled the request (provisioned throughput or a request limit exceeded).
    /// Nothing was written by the throttled request; retry later.
    #[error("the store throttled a request to table `{table}`; retry with backoff")]
    Throttled {
        /// The physical table.
        table: String,
    },

    /// A segment of a job is held by another worker's lease that has not lapsed: another run of
    /// the job is going on (or stopped less than a lease ago without saying so). Nothing was
    /// read or written for it.
    #[error(
        "segment {segment} of job `{job}` is held by worker `{worker}` for {seconds} more second(s): \
         another run of the job is going on; let it finish, join it as a worker, or wait for its \
         lease to lapse if it was killed"
    )]
    LeaseHeld {
        /// The job.
        job: String,
        /// The segment.
        segment: u32,
        /// The worker that holds it.
        worker: String,
        /// How long its lease still holds unless renewed.
        seconds: u64,
    },

    /// This worker's lease on a segment lapsed, and another worker took the segment over: its
    /// progress was not saved over the other's (the records it rewrote are rewritten correctly:
    /// each rewrite is conditional). The segment is the other worker's now.
    #[error(
        "segment {segment} of job `{job}` was taken over by another worker after this worker's \
         lease lapsed; nothing was saved over its progress (give the job a longer lease if its \
         pages take longer than the lease)"
    )]
    LeaseLost {
        /// The job.
        job: String,
        /// The segment.
        segment: u32,
    },

    /// The storage backend failed (unreachable, internal error).
    #[error("the store failed for table `{table}`: {message}")]
    Backend {
        /// The physical table.
        table: String,
        /// What the backend said, free of item values.
        message: String,
        /// The backend's own error.
        #[source]
        source: Option<BoxError>,
    },
}

fn describe_reasons(reasons: &[Option<String>]) -> String {
    let causes: Vec<String> = reasons
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.as_ref().map(|r| format!("item {i}: {r}")))
        .collect();
    if causes.is_empty() {
        "no reason given".to_owned()
    } else {
        causes.join(", ")
    }
}
