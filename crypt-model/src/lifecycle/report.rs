//! What a job reports: its counts, the records it could not process, the keys and suites it
//! left.

use std::collections::BTreeMap;
use std::ops::Range;

use crate::attribute::Key;

/// What a job counted. A record is counted once per pass of its segment: `seen` is the sum of
/// `changed`, `unchanged`, `skipped`, `erased` and `failed`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Counts {
    /// Records read.
    pub seen: u64,
    /// Records the job rewrote (or, in a dry run, would have).
    pub changed: u64,
    /// Records already as the job leaves them (encrypted, for a migration; under the primary
    /// key, for a re-encryption or a rewrap; with current index attributes, for a backfill;
    /// every record an inventory opens).
    pub unchanged: u64,
    /// Records the job does not apply to (one stored in plaintext, for a re-encryption, a rewrap
    /// or a backfill; one deleted while the job ran).
    pub skipped: u64,
    /// Records whose owner's key was erased ([`Table::erase_owner`](crate::Table::erase_owner)): they fail closed for
    /// ever, so no job processes them — delete them to free the space. (A record whose header or
    /// owner was edited to name a key the key table neither holds nor erased is `failed`.)
    pub erased: u64,
    /// Records the job could not process: [`JobReport::failed`] names them.
    pub failed: u64,
    /// Records still stored in plaintext when the job passed them (zero after a complete
    /// migration without failures). An inventory counts them as `unchanged` too, without
    /// opening them; a migration counts an encrypted record as `unchanged` without opening it.
    pub plaintext: u64,
}

impl Counts {
    /// Adds `other`, saturating (checkpoints that others may write may hold any number).
    pub(super) fn add(&mut self, other: &Counts) {
        self.seen = self.seen.saturating_add(other.seen);
        self.changed = self.changed.saturating_add(other.changed);
        self.unchanged = self.unchanged.saturating_add(other.unchanged);
        self.skipped = self.skipped.saturating_add(other.skipped);
        self.erased = self.erased.saturating_add(other.erased);
        self.failed = self.failed.saturating_add(other.failed);
        self.plaintext = self.plaintext.saturating_add(other.plaintext);
    }
}

/// A record a job could not process, and why (the error's message, which names attributes,
/// never values).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The record's key (`Debug` shows a keyed fingerprint).
    pub key: Key,
    /// Why.
    pub reason: String,
}

/// What a job did, over the segments this run was given (with what earlier runs of the same
/// job, resumed from their checkpoints, had done).
#[derive(Clone, Debug, PartialEq)]
pub struct JobReport {
    /// The job's name (`migrate:profiles`).
    pub job: String,
    /// The counts.
    pub counts: Counts,
    /// The records that could not be processed.
    pub failed: Vec<Failure>,
    /// How many records are under each key-encryption key (by key id) after the job passed
    /// them.
    pub key_ids: BTreeMap<String, u64>,
    /// How many records are sealed with each algorithm suite (by
    /// [`Suite::name`](crate::format::Suite::name)) after the job passed them: a table moved
    /// to another suite by a re-encryption counts every record in it.
    pub suites: BTreeMap<String, u64>,
    /// The number of segments the job splits the table into (a run may be given a share).
    pub total_segments: u32,
    /// The segments this run was given.
    pub segments: Range<u32>,
    /// How many of them are scanned to their end.
    pub segments_done: u32,
    /// Whether the run was stopped (by its [`StopSignal`](super::StopSignal)) before the end.
    pub stopped: bool,
    /// How many requests of this run the store or the key provider throttled (each retried,
    /// after the run slowed down: it halves its pace on each, and adds back a twentieth of its
    /// rate limit for each second without one).
    pub throttled: u64,
    /// The slowest pace throttling held this run to, in records per second.
    pub slowest_rate: Option<f64>,
    /// The pace at the end of the run, in records per second (`None`: no limit): back at the
    /// rate limit once the run went long enough without throttling.
    pub final_rate: Option<f64>,
}

impl JobReport {
    /// Whether every segment given to this run is done: the job has passed every record of
    /// them. When the segments are split between processes, the job is done when every
    /// process's run is complete.
    pub fn is_complete(&self) -> bool {
        !self.stopped && self.segments_done == self.segments.end - self.segments.start
    }
}
