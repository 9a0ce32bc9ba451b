//! The data-key cache in front of a keyring.
//!
//! Without a cache every item written costs a `GenerateDataKey` and every item read a `Decrypt`
//! at the key provider: slow, costly, and easy to throttle. With it, one data key encrypts many
//! items (each still gets its own salt, so its own keys) and each unwrapped key serves every read
//! of the items it protects.

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use lru::LruCache;
use tracing::Instrument;

use crate::error::Result;

mod budget;
mod lookup;
pub(crate) mod sweep;

use lookup::with_cache_key;

use crate::keyring::{
    CachedKeys, DataKey, EncryptionContext, GeneratedDataKey, Keyring, KeyringCalls, WrappedDataKey,
};
use sweep::{Clock, Sweep, SystemClock};

/// The read cache: unwrapped data keys by `with_cache_key`'s encoding.
type ReadCache = LruCache<Vec<u8>, UnwrappedKey, foldhash::fast::RandomState>;

/// How long and how much one data key may be used.
///
/// Defaults: a data key encrypts at most **10,000 items** or **1 GiB** of plaintext, for at most
/// **5 minutes**; at most **1,000** unwrapped keys are kept for reads, each for at most 5 minutes
/// (so that a key disabled at the provider stops working within that time). The limits bound how
/// much data one leaked data key exposes and how long a revoked key keeps working.
///
/// ```
/// use std::time::Duration;
/// use crypt_model::CacheLimits;
///
/// let limits = CacheLimits::default().max_items(500).max_age(Duration::from_secs(60));
/// assert_eq!(limits.items(), 500);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CacheLimits {
    max_items: u64,
    max_bytes: u64,
    max_age: Duration,
    max_unwrapped_keys: usize,
}

impl Default for CacheLimits {
    fn default() -> Self {
        CacheLimits {
            max_items: 10_000,
            max_bytes: 1 << 30,
            max_age: Duration::from_secs(300),
            max_unwrapped_keys: 1_000,
        }
    }
}

impl CacheLimits {
    /// No caching: a new data key for every item, an unwrap for every read.
    pub const fn disabled() -> Self {
        CacheLimits {
            max_items: 1,
            max_bytes: 0,
            max_age: Duration::ZERO,
            max_unwrapped_keys: 0,
        }
    }

    /// At most `n` items per data key (at least 1).
    pub const fn max_items(mut self, n: u64) -> Self {
        self.max_items = if n == 0 { 1 } else { n };
        self
    }

    /// At most `n` bytes of plaintext per data key (one item larger than this still gets a key
    /// of its own).
    pub const fn max_bytes(mut self, n: u64) -> Self {
        self.max_bytes = n;
        self
    }

    /// At most this long from a key's generation or unwrapping to its last use.
    pub const fn max_age(mut self, age: Duration) -> Self {
        self.max_age = age;
        self
    }

    /// At most `n` unwrapped keys kept for reads (0: none).
    pub const fn max_unwrapped_keys(mut self, n: usize) -> Self {
        self.max_unwrapped_keys = n;
        self
    }

    /// The item limit.
    pub const fn items(&self) -> u64 {
        self.max_items
    }

    /// The byte limit.
    pub const fn bytes(&self) -> u64 {
        self.max_bytes
    }

    /// The age limit.
    pub const fn age(&self) -> Duration {
        self.max_age
    }

    /// The number of unwrapped keys kept.
    pub const fn unwrapped_keys(&self) -> usize {
        self.max_unwrapped_keys
    }
}

struct ActiveKey {
    key: Arc<GeneratedDataKey>,
    created: Instant,
    items: u64,
    bytes: u64,
}

struct UnwrappedKey {
    key: DataKey,
    created: Instant,
}

/// The data-key cache in front of a keyring, within [`CacheLimits`]. Every
/// [`Keys`](crate::Keys) has one; it counts the calls that reach the keyring. Its state is
/// shared with the background sweeper, which holds it weakly.
#[derive(Clone)]
pub(crate) struct KeyCache {
    state: Arc<State>,
}

pub(crate) struct State {
    inner: Arc<dyn Keyring>,
    limits: CacheLimits,
    clock: Arc<dyn Clock>,
    active: Mutex<HashMap<EncryptionContext, ActiveKey, foldhash::fast::RandomState>>,
    /// Keyed by `lookup::with_cache_key`'s encoding. Hashed with foldhash, seeded per process:
    /// SipHash over the ~150-byte key was half the lookup on every read, and an entry only
    /// enters after the keyring unwrapped it, so no reader chooses what the table holds.
    unwrapped: Option<Mutex<ReadCache>>,
    /// When the cache was made, and how long after that it was last swept (nanoseconds): read on
    /// every access without a lock.
    epoch: Instant,
    last_sweep: AtomicU64,
    generate_calls: AtomicU64,
    unwrap_calls: AtomicU64,
    rewrap_calls: AtomicU64,
    /// What bounds the unwraps that records with junk wrapped keys cause.
    failures: budget::FailureBudget,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // No code panics while holding these locks, so a poisoned lock still holds a consistent map.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl KeyCache {
    /// A cache in front of `inner`, on the system's clock, swept in the background.
    pub(crate) fn new(inner: Arc<dyn Keyring>, limits: CacheLimits) -> Self {
        let cache = Self::with_clock(inner, limits, Arc::new(SystemClock));
        sweep::register(&cache.state);
        cache
    }

    /// A cache on `clock`, not swept in the background (tests sweep it by hand).
    pub(crate) fn with_clock(
        inner: Arc<dyn Keyring>,
        limits: CacheLimits,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let unwrapped = NonZeroUsize::new(limits.max_unwrapped_keys)
            .map(|n| Mutex::new(LruCache::with_hasher(n, Default::default())));
        let now = clock.now();
        KeyCache {
            state: Arc::new(State {
                inner,
                limits,
                clock,
                active: Mutex::new(HashMap::default()),
                unwrapped,
                epoch: now,
                last_sweep: AtomicU64::new(0),
                generate_calls: AtomicU64::new(0),
                unwrap_calls: AtomicU64::new(0),
                rewrap_calls: AtomicU64::new(0),
                failures: budget::FailureBudget::new(),
            }),
        }
    }

    /// The keyring behind the cache.
    pub(crate) fn keyring(&self) -> &dyn Keyring {
        &*self.state.inner
    }

    /// The calls that reached the keyring so far.
    pub(crate) fn calls(&self) -> KeyringCalls {
        let state = &self.state;
        KeyringCalls {
            generate: state.generate_calls.load(Ordering::Relaxed),
            unwrap: state.unwrap_calls.load(Ordering::Relaxed),
            rewrap: state.rewrap_calls.load(Ordering::Relaxed),
        }
    }

    /// What the cache holds.
    pub(crate) fn cached(&self) -> CachedKeys {
        let state = &self.state;
        CachedKeys {
            data_keys: lock(&state.active).len(),
            unwrapped_keys: state.unwrapped.as_ref().map_or(0, |c| lock(c).len()),
            owner_keys: 0,
        }
    }

    /// A data key to encrypt one item of `bytes` plaintext bytes under `context`: the cached
    /// one while it is within the limits, else a new one from the keyring.
    pub(crate) async fn encryption_key(
        &self,
        context: &EncryptionContext,
        bytes: u64,
    ) -> Result<Arc<GeneratedDataKey>> {
        if let Some(key) = self.cached_encryption_key(context, bytes) {
            return Ok(key);
        }
        let state = &self.state;
        state.generate_calls.fetch_add(1, Ordering::Relaxed);
        let key = Arc::new(
            state
                .inner
                .generate_data_key(context)
                .instrument(context.provider_span("generate", None))
                .await?,
        );
        tracing::debug!(key_id = %key.wrapped.key_id.escape_debug(), "generated a new data key");
        let now = state.clock.now();
        state.remember(context, &key.wrapped, &key.key, now);
        let active = ActiveKey {
            key: key.clone(),
            created: now,
            items: 1,
            bytes,
        };
        lock(&state.active).insert(context.clone(), active);
        Ok(key)
    }

    /// The cached data key that encrypts one more item of `bytes` plaintext bytes under
    /// `context`, while it is within the limits (counted as used); `None` when a new one is
    /// needed. Synchronous: the path of nearly every write.
    pub(crate) fn cached_encryption_key(
        &self,
        context: &EncryptionContext,
        bytes: u64,
    ) -> Option<Arc<GeneratedDataKey>> {
        let state = &self.state;
        let now = state.clock.now();
        state.sweep_if_due(now);
        let mut active_keys = lock(&state.active);
        let active = active_keys.get_mut(context)?;
        let limits = &state.limits;
        if active.items < limits.max_items
            && active.bytes.saturating_add(bytes) <= limits.max_bytes
            && state.fresh(active.created, now)
        {
            active.items += 1;
            active.bytes += bytes;
            return Some(active.key.clone());
        }
        None
    }

    /// The plaintext of `wrapped` from the cache while fresh; `None` when the keyring must be
    /// asked. The key is named by the header's key id and wrapped bytes, read in place.
    /// Synchronous: the path of nearly every read.
    pub(crate) fn cached_decryption_key(
        &self,
        context: &EncryptionContext,
        key_id: &str,
        ciphertext: &[u8],
    ) -> Option<DataKey> {
        let state = &self.state;
        let now = state.clock.now();
        state.sweep_if_due(now);
        let cache = state.unwrapped.as_ref()?;
        with_cache_key(context, key_id, ciphertext, |cache_key| {
            let mut cache = lock(cache);
            match cache.get(cache_key) {
                Some(hit) if state.fresh(hit.created, now) => Some(hit.key.clone()),
                Some(_) => {
                    cache.pop(cache_key);
                    None
                }
                None => None,
            }
        })
    }

    /// The plaintext of `wrapped`: from the cache while fresh, else unwrapped by the keyring.
    /// The key is named by the header's key id and wrapped bytes, read in place; they are copied
    /// only when the keyring must be asked.
    pub(crate) async fn decryption_key(
        &self,
        context: &EncryptionContext,
        key_id: &str,
        ciphertext: &[u8],
    ) -> Result<DataKey> {
        if let Some(key) = self.cached_decryption_key(context, key_id, ciphertext) {
            return Ok(key);
        }
        let state = &self.state;
        // A stored record's wrapped key is not authenticated until it is unwrapped: failures
        // are budgeted, so that planted junk cannot have every reader call the provider at will.
        state.failures.admit().await;
        state.unwrap_calls.fetch_add(1, Ordering::Relaxed);
        let wrapped = WrappedDataKey {
            key_id: key_id.to_owned(),
            ciphertext: ciphertext.to_vec(),
        };
        let key = state
            .inner
            .unwrap_data_key(&wrapped, context)
            .instrument(context.provider_span("unwrap", Some(key_id)))
            .await
            .inspect_err(|_| state.failures.failed())?;
        state.failures.succeeded();
        tracing::debug!(key_id = %wrapped.key_id.escape_debug(), "unwrapped a data key");
        state.remember(context, &wrapped, &key, state.clock.now());
        Ok(key)
    }

    /// A new data key from the keyring, not cached (an owner's key, kept by `OwnerKeys`).
    pub(crate) async fn generate_uncached(
        &self,
        context: &EncryptionContext,
    ) -> Result<GeneratedDataKey> {
        self.state.generate_calls.fetch_add(1, Ordering::Relaxed);
        let span = context.provider_span("generate", None);
        self.state
            .inner
            .generate_data_key(context)
            .instrument(span)
            .await
    }

    /// A data key unwrapped by the keyring, not cached here (an owner's key, which `OwnerKeys`
    /// caches per owner).
    pub(crate) async fn unwrap_uncached(
        &self,
        wrapped: &WrappedDataKey,
        context: &EncryptionContext,
    ) -> Result<DataKey> {
        self.state.unwrap_calls.fetch_add(1, Ordering::Relaxed);
        let span = context.provider_span("unwrap", Some(&wrapped.key_id));
        self.state
            .inner
            .unwrap_data_key(wrapped, context)
            .instrument(span)
            .await
    }

    /// `key`, whose wrapped form is `wrapped`, wrapped again under the keyring's primary key
    /// (never cached: a rotation job keeps its own map).
    pub(crate) async fn rewrap(
        &self,
        key: &DataKey,
        wrapped: &WrappedDataKey,
        context: &EncryptionContext,
    ) -> Result<WrappedDataKey> {
        self.state.rewrap_calls.fetch_add(1, Ordering::Relaxed);
        let span = context.provider_span("rewrap", Some(&wrapped.key_id));
        self.state
            .inner
            .rewrap_data_key(key, wrapped, context)
            .instrument(span)
            .await
    }

    /// Drops every key past its age limit now.
    #[cfg(test)]
    pub(crate) fn sweep(&self) {
        self.state.sweep(self.state.clock.now());
    }
}

impl State {
    /// Whether a key created at `created` may still be used at `now`.
    fn fresh(&self, created: Instant, now: Instant) -> bool {
        now.saturating_duration_since(created) < self.limits.max_age
    }

    /// Sweeps when the last sweep is a second old or more: every access drops expired keys,
    /// at the cost of one clock read and one comparison most of the time.
    fn sweep_if_due(&self, now: Instant) {
        let since_epoch =
            u64::try_from(now.saturating_duration_since(self.epoch).as_nanos()).unwrap_or(u64::MAX);
        let last = self.last_sweep.load(Ordering::Relaxed);
        let period = u64::try_from(sweep::PERIOD.as_nanos()).unwrap_or(u64::MAX);
        // One access wins the sweep of a period; the others go on.
        if since_epoch.saturating_sub(last) >= period
            && self
                .last_sweep
                .compare_exchange(last, since_epoch, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.sweep(now);
        }
    }

    /// Drops (and so wipes) every key past its age limit.
    pub(crate) fn sweep(&self, now: Instant) {
        lock(&self.active).retain(|_, active| self.fresh(active.created, now));
        if let Some(cache) = &self.unwrapped {
            let mut cache = lock(cache);
            let expired: Vec<Vec<u8>> = cache
                .iter()
                .filter(|(_, entry)| !self.fresh(entry.created, now))
                .map(|(key, _)| key.clone())
                .collect();
            for key in expired {
                cache.pop(&key);
            }
        }
    }

    /// Keeps a plaintext data key for reads, so that reading what this process wrote needs no
    /// unwrap.
    fn remember(
        &self,
        context: &EncryptionContext,
        wrapped: &WrappedDataKey,
        key: &DataKey,
        created: Instant,
    ) {
        if let Some(cache) = &self.unwrapped {
            let entry = UnwrappedKey {
                key: key.clone(),
                created,
            };
            let cache_key = with_cache_key(
                context,
                &wrapped.key_id,
                &wrapped.ciphertext,
                <[u8]>::to_vec,
            );
            lock(cache).put(cache_key, entry);
        }
    }
}

impl std::fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyCache")
            .field("inner", &self.state.inner)
            .field("limits", &self.state.limits)
            .field("calls", &self.calls())
            .field("cached", &self.cached())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;

/// The sweep of the background thread: on the cache's clock.
impl Sweep for State {
    fn sweep_now(&self) {
        self.sweep(self.clock.now());
    }
}
