//! The owners' keys unwrapped in this process: bounded in number and in age, and swept by the
//! background sweeper of the data-key cache, so that a key outlives its age by at most a second
//! even when nothing reads.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use lru::LruCache;

use super::HANDLE_LEN;
use crate::cache::CacheLimits;
use crate::cache::sweep::{self, Sweep};
use crate::keyring::DataKey;

/// One owner's key, unwrapped.
struct Cached {
    key: DataKey,
    handle: [u8; HANDLE_LEN],
    created: Instant,
}

/// The owners' keys by key-table row, within `limits`.
pub(super) struct OwnerCache {
    entries: Mutex<LruCache<String, Cached>>,
    limits: CacheLimits,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl OwnerCache {
    /// An empty cache within `limits`, registered with the background sweeper.
    pub(super) fn new(limits: CacheLimits) -> Arc<Self> {
        let capacity = NonZeroUsize::new(limits.unwrapped_keys()).unwrap_or(NonZeroUsize::MIN);
        let cache = Arc::new(OwnerCache {
            entries: Mutex::new(LruCache::new(capacity)),
            limits,
        });
        sweep::register(&cache);
        cache
    }

    /// The limits it keeps keys within.
    pub(super) fn limits(&self) -> &CacheLimits {
        &self.limits
    }

    /// The key of `row` and its handle, while within the age limit.
    pub(super) fn get(&self, row: &str) -> Option<(DataKey, [u8; HANDLE_LEN])> {
        let mut entries = lock(&self.entries);
        match entries.get(row) {
            Some(hit) if hit.created.elapsed() < self.limits.age() => {
                Some((hit.key.clone(), hit.handle))
            }
            Some(_) => {
                entries.pop(row);
                None
            }
            None => None,
        }
    }

    /// Keeps the key of `row`, if the limits keep any, and unless `still` (asked under the
    /// cache's lock) says otherwise.
    pub(super) fn put_if(
        &self,
        row: String,
        key: &DataKey,
        handle: [u8; HANDLE_LEN],
        still: impl FnOnce() -> bool,
    ) {
        if self.limits.unwrapped_keys() == 0 || self.limits.age().is_zero() {
            return;
        }
        let mut entries = lock(&self.entries);
        if still() {
            let created = Instant::now();
            let key = key.clone();
            entries.put(
                row,
                Cached {
                    key,
                    handle,
                    created,
                },
            );
        }
    }

    /// Forgets the key of `row`.
    pub(super) fn remove(&self, row: &str) {
        lock(&self.entries).pop(row);
    }

    /// How many owners' keys are kept.
    pub(super) fn len(&self) -> usize {
        lock(&self.entries).len()
    }
}

impl Sweep for OwnerCache {
    fn sweep_now(&self) {
        let age = self.limits.age();
        let mut entries = lock(&self.entries);
        let expired: Vec<String> = entries
            .iter()
            .filter(|(_, hit)| hit.created.elapsed() >= age)
            .map(|(row, _)| row.clone())
            .collect();
        // Each key is wiped as it is dropped.
        for row in expired {
            entries.pop(&row);
        }
    }
}
