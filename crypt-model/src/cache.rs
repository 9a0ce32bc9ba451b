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

use crate::error::Result;
use crate::keyring::{DataKey, EncryptionContext, GeneratedDataKey, Keyring, WrappedDataKey};

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

/// Calls made to the keyring behind a cache: the key-provider budget of a workload.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeyringCalls {
    /// Calls to [`Keyring::generate_data_key`].
    pub generate: u64,
    /// Calls to [`Keyring::unwrap_data_key`].
    pub unwrap: u64,
}

impl KeyringCalls {
    /// All calls.
    pub fn total(&self) -> u64 {
        self.generate + self.unwrap
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
/// [`Cipher`](crate::Cipher) has one; it counts the calls that reach the keyring.
pub(crate) struct KeyCache {
    inner: Arc<dyn Keyring>,
    limits: CacheLimits,
    active: Mutex<HashMap<EncryptionContext, ActiveKey>>,
    unwrapped: Option<Mutex<LruCache<Vec<u8>, UnwrappedKey>>>,
    generate_calls: AtomicU64,
    unwrap_calls: AtomicU64,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // No code panics while holding these locks, so a poisoned lock still holds a consistent map.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl KeyCache {
    /// A cache in front of `inner`.
    pub(crate) fn new(inner: Arc<dyn Keyring>, limits: CacheLimits) -> Self {
        let unwrapped =
            NonZeroUsize::new(limits.max_unwrapped_keys).map(|n| Mutex::new(LruCache::new(n)));
        KeyCache {
            inner,
            limits,
            active: Mutex::new(HashMap::new()),
            unwrapped,
            generate_calls: AtomicU64::new(0),
            unwrap_calls: AtomicU64::new(0),
        }
    }

    /// The calls that reached the keyring so far.
    pub(crate) fn calls(&self) -> KeyringCalls {
        KeyringCalls {
            generate: self.generate_calls.load(Ordering::Relaxed),
            unwrap: self.unwrap_calls.load(Ordering::Relaxed),
        }
    }

    /// A data key to encrypt one item of `bytes` plaintext bytes under `context`: the cached
    /// one while it is within the limits, else a new one from the keyring.
    pub(crate) async fn encryption_key(
        &self,
        context: &EncryptionContext,
        bytes: u64,
    ) -> Result<Arc<GeneratedDataKey>> {
        if let Some(active) = lock(&self.active).get_mut(context) {
            let limits = &self.limits;
            if active.items < limits.max_items
                && active.bytes.saturating_add(bytes) <= limits.max_bytes
                && active.created.elapsed() < limits.max_age
            {
                active.items += 1;
                active.bytes += bytes;
                return Ok(active.key.clone());
            }
        }
        self.generate_calls.fetch_add(1, Ordering::Relaxed);
        let key = Arc::new(self.inner.generate_data_key(context).await?);
        tracing::debug!(key_id = %key.wrapped.key_id, "generated a new data key");
        let now = Instant::now();
        self.remember(context, &key.wrapped, &key.key, now);
        let active = ActiveKey {
            key: key.clone(),
            created: now,
            items: 1,
            bytes,
        };
        lock(&self.active).insert(context.clone(), active);
        Ok(key)
    }

    /// The plaintext of `wrapped`: from the cache while fresh, else unwrapped by the keyring.
    pub(crate) async fn decryption_key(
        &self,
        context: &EncryptionContext,
        wrapped: &WrappedDataKey,
    ) -> Result<DataKey> {
        if let Some(cache) = &self.unwrapped {
            let hit = with_cache_key(context, wrapped, |cache_key| {
                let mut cache = lock(cache);
                match cache.get(cache_key) {
                    Some(hit) if hit.created.elapsed() < self.limits.max_age => {
                        Some(hit.key.clone())
                    }
                    Some(_) => {
                        cache.pop(cache_key);
                        None
                    }
                    None => None,
                }
            });
            if let Some(key) = hit {
                return Ok(key);
            }
        }
        self.unwrap_calls.fetch_add(1, Ordering::Relaxed);
        let key = self.inner.unwrap_data_key(wrapped, context).await?;
        tracing::debug!(key_id = %wrapped.key_id, "unwrapped a data key");
        self.remember(context, wrapped, &key, Instant::now());
        Ok(key)
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
            let cache_key = with_cache_key(context, wrapped, <[u8]>::to_vec);
            lock(cache).put(cache_key, entry);
        }
    }
}

/// Calls `f` with the read cache's key: the context, the key id and the wrapped key,
/// unambiguously encoded, in a stack buffer when it fits (every read looks it up).
fn with_cache_key<R>(
    context: &EncryptionContext,
    wrapped: &WrappedDataKey,
    f: impl FnOnce(&[u8]) -> R,
) -> R {
    let parts: [&[u8]; 6] = {
        let mut entries = context.iter();
        let (k1, v1) = entries.next().unwrap_or_default();
        let (k2, v2) = entries.next().unwrap_or_default();
        [
            k1.as_bytes(),
            v1.as_bytes(),
            k2.as_bytes(),
            v2.as_bytes(),
            wrapped.key_id.as_bytes(),
            &wrapped.ciphertext,
        ]
    };
    let len: usize = parts.iter().map(|p| 4 + p.len()).sum();
    let fill = |buffer: &mut [u8]| {
        let mut at = 0;
        for part in parts {
            let prefix = u32::try_from(part.len()).unwrap_or(u32::MAX).to_be_bytes();
            buffer[at..at + 4].copy_from_slice(&prefix);
            buffer[at + 4..at + 4 + part.len()].copy_from_slice(part);
            at += 4 + part.len();
        }
    };
    let mut stack = [0u8; 512];
    if len <= stack.len() {
        fill(&mut stack[..len]);
        f(&stack[..len])
    } else {
        let mut heap = vec![0u8; len];
        fill(&mut heap);
        f(&heap)
    }
}

impl std::fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyCache")
            .field("inner", &self.inner)
            .field("limits", &self.limits)
            .field("calls", &self.calls())
            .finish_non_exhaustive()
    }
}
