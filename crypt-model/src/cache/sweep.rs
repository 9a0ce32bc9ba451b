//! Expiry without traffic: one background thread for the process drops every cache's expired
//! keys once a second — the data-key caches and the owner-key caches — so that a plaintext key
//! outlives its age limit by at most that second even when nothing reads or writes.

use std::sync::{Arc, Mutex, Once, Weak};
use std::time::{Duration, Instant};

use super::lock;

/// How often keys are swept, on access and in the background.
pub(super) const PERIOD: Duration = Duration::from_secs(1);

/// Where the cache reads the time (a test clock can be moved by hand).
pub(crate) trait Clock: Send + Sync + 'static {
    /// The current instant.
    fn now(&self) -> Instant;
}

/// The system's monotonic clock.
pub(crate) struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// A cache of plaintext keys that the sweeper visits.
pub(crate) trait Sweep: Send + Sync + 'static {
    /// Drops (and wipes) the keys past their age, now.
    fn sweep_now(&self);
}

/// The caches the sweeper visits; a cache that has been dropped is forgotten on the next round.
static CACHES: Mutex<Vec<Weak<dyn Sweep>>> = Mutex::new(Vec::new());

/// Adds `cache` to the caches swept in the background, starting the sweeper on first use.
pub(crate) fn register<T: Sweep>(cache: &Arc<T>) {
    let cache: Weak<T> = Arc::downgrade(cache);
    let cache: Weak<dyn Sweep> = cache;
    lock(&CACHES).push(cache);
    static START: Once = Once::new();
    START.call_once(|| {
        // If the thread cannot be started, expiry still happens on every access.
        let _ = std::thread::Builder::new()
            .name("crypt-model key cache sweeper".to_owned())
            .spawn(|| {
                loop {
                    std::thread::sleep(PERIOD);
                    let live: Vec<Arc<dyn Sweep>> = {
                        let mut caches = lock(&CACHES);
                        caches.retain(|cache| cache.strong_count() > 0);
                        caches.iter().filter_map(Weak::upgrade).collect()
                    };
                    // Swept outside the registry's lock, and each cache dropped here if it was
                    // the last reference.
                    for cache in live {
                        cache.sweep_now();
                    }
                }
            });
    });
}
