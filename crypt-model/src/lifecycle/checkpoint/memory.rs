//! [`MemoryCheckpoints`]: checkpoints and leases in memory.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use super::{Checkpoint, Checkpoints};
use crate::error::Result;
use crate::lifecycle::lease::{Claim, Lease, decide, lost, now_ms};
use crate::store::async_trait;

/// Checkpoints in memory: for tests, and for jobs that need not survive their process. Clones
/// share the checkpoints (and so the leases: two jobs given clones never run one segment at
/// once).
#[derive(Clone, Debug, Default)]
pub struct MemoryCheckpoints {
    saved: Arc<Mutex<HashMap<(String, u32), Checkpoint>>>,
}

impl MemoryCheckpoints {
    /// No checkpoints.
    pub fn new() -> Self {
        Self::default()
    }

    pub(super) fn saved(&self) -> std::sync::MutexGuard<'_, HashMap<(String, u32), Checkpoint>> {
        self.saved.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl Checkpoints for MemoryCheckpoints {
    async fn load(&self, job: &str, segment: u32) -> Result<Option<Checkpoint>> {
        Ok(self.saved().get(&(job.to_owned(), segment)).cloned())
    }

    async fn list(&self, job: &str) -> Result<Vec<Checkpoint>> {
        let mut list: Vec<Checkpoint> = (self.saved().values())
            .filter(|checkpoint| checkpoint.job == job)
            .cloned()
            .collect();
        list.sort_by_key(|checkpoint| checkpoint.segment);
        Ok(list)
    }

    async fn claim(
        &self,
        job: &str,
        segment: u32,
        total_segments: u32,
        lease: &Lease,
    ) -> Result<Claim> {
        let mut saved = self.saved();
        let key = (job.to_owned(), segment);
        let stored = saved.get(&key).cloned();
        let claim = decide(
            stored,
            (job, segment, total_segments),
            &lease.worker,
            lease.expires,
            now_ms(),
        )?;
        if let Claim::Taken(checkpoint) = &claim {
            saved.insert(key, checkpoint.clone());
        }
        Ok(claim)
    }

    async fn save(&self, checkpoint: &Checkpoint) -> Result<()> {
        let mut saved = self.saved();
        let key = (checkpoint.job.clone(), checkpoint.segment);
        let fence = saved.get(&key).map_or(0, |stored| stored.fence);
        if fence != checkpoint.fence {
            return Err(lost(&checkpoint.job, checkpoint.segment));
        }
        saved.insert(key, checkpoint.clone());
        Ok(())
    }
}
