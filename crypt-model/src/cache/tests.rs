//! The cache's age limit on a clock moved by hand: keys expire on access and on a sweep, and an
//! expired key is never used again.

use std::sync::Mutex;

use super::*;
use crate::keyring::LocalKeyring;

/// A clock that moves only when told.
struct ManualClock(Mutex<Instant>);

impl ManualClock {
    fn advance(&self, by: Duration) {
        let mut now = lock(&self.0);
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        *lock(&self.0)
    }
}

fn cache(max_age: Duration) -> (KeyCache, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock(Mutex::new(Instant::now())));
    let keyring: Arc<dyn Keyring> = Arc::new(LocalKeyring::new("k1", &[1; 32]).unwrap());
    let limits = CacheLimits::default().max_age(max_age);
    (KeyCache::with_clock(keyring, limits, clock.clone()), clock)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

#[test]
fn a_sweep_drops_every_key_past_its_age_and_keeps_the_others() {
    let (cache, clock) = cache(Duration::from_secs(300));
    let rt = runtime();
    let (a, b) = (
        EncryptionContext::for_table("a-table"),
        EncryptionContext::for_table("b-table"),
    );
    rt.block_on(cache.encryption_key(&a, 10)).unwrap();
    clock.advance(Duration::from_secs(200));
    rt.block_on(cache.encryption_key(&b, 10)).unwrap();
    assert_eq!(
        cache.cached(),
        CachedKeys {
            data_keys: 2,
            unwrapped_keys: 2,
            owner_keys: 0,
        }
    );
    clock.advance(Duration::from_secs(101));
    cache.sweep();
    assert_eq!(
        cache.cached(),
        CachedKeys {
            data_keys: 1,
            unwrapped_keys: 1,
            owner_keys: 0,
        },
        "a's keys are 301 s old, b's 101 s"
    );
    clock.advance(Duration::from_secs(200));
    cache.sweep();
    assert_eq!(cache.cached(), CachedKeys::default());
}

#[test]
fn any_access_drops_expired_keys_of_every_table() {
    let (cache, clock) = cache(Duration::from_secs(60));
    let rt = runtime();
    let (a, b) = (
        EncryptionContext::for_table("a-table"),
        EncryptionContext::for_table("b-table"),
    );
    let first = rt.block_on(cache.encryption_key(&a, 10)).unwrap();
    clock.advance(Duration::from_secs(61));
    // An access to another table sweeps a's key away, and a's next write gets a new key.
    rt.block_on(cache.encryption_key(&b, 10)).unwrap();
    assert_eq!(cache.cached().data_keys, 1);
    let second = rt.block_on(cache.encryption_key(&a, 10)).unwrap();
    assert_ne!(first.wrapped, second.wrapped);
    assert_eq!(cache.calls().generate, 3);
}

#[test]
fn an_expired_key_is_never_used_even_between_sweeps() {
    let (cache, clock) = cache(Duration::from_millis(1_500));
    let rt = runtime();
    let context = EncryptionContext::for_table("a-table");
    let first = rt.block_on(cache.encryption_key(&context, 10)).unwrap();
    // 1.6 s later: past the age, and less than a sweep period after the last sweep.
    clock.advance(Duration::from_millis(1_600));
    let second = rt.block_on(cache.encryption_key(&context, 10)).unwrap();
    assert_ne!(first.wrapped, second.wrapped);
    // A read of the first key's items unwraps again.
    rt.block_on(cache.decryption_key(&context, &first.wrapped.key_id, &first.wrapped.ciphertext))
        .unwrap();
    assert_eq!(cache.calls().unwrap, 1);
}
