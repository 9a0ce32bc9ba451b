//! The budget of failed unwraps: what bounds the key-provider calls that stored records with
//! junk wrapped keys can cause.
//!
//! A record's header is not authenticated until its data key is unwrapped, so someone who can
//! write to the table can plant records, each with a wrapped key of their own making, and have
//! every reader ask the key provider once for each (KMS charges for them, and they count against
//! the account's request quota). Each failed unwrap takes a token from a bucket of
//! [`BURST`], refilled at [`PER_SECOND`]; an unwrap starts only when the bucket holds a token.
//! Unwraps that succeed take none: an application that is not attacked never waits, and under
//! such an attack its own unwraps wait at most a refill's interval, while the junk costs at most
//! [`PER_SECOND`] provider calls a second per process.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// How many failed unwraps pass before the budget slows unwraps down.
pub(super) const BURST: f64 = 100.0;
/// How many failed unwraps a second pass after that.
pub(super) const PER_SECOND: f64 = 10.0;

/// The bucket: its tokens, when it was last refilled, and whether it ran dry (for one log line
/// per episode).
pub(super) struct FailureBudget {
    bucket: Mutex<(f64, Instant, bool)>,
}

impl FailureBudget {
    pub(super) fn new() -> Self {
        FailureBudget {
            bucket: Mutex::new((BURST, Instant::now(), false)),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (f64, Instant, bool)> {
        self.bucket
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The bucket's tokens now, refilled for the time passed.
    fn refilled(bucket: &mut (f64, Instant, bool)) -> f64 {
        let now = Instant::now();
        let passed = now.saturating_duration_since(bucket.1).as_secs_f64();
        bucket.0 = (bucket.0 + passed * PER_SECOND).min(BURST);
        bucket.1 = now;
        bucket.0
    }

    /// Waits until an unwrap may start: at once unless failed unwraps emptied the bucket.
    pub(super) async fn admit(&self) {
        loop {
            let wait = {
                let mut bucket = self.lock();
                let tokens = Self::refilled(&mut bucket);
                if tokens >= 1.0 {
                    return;
                }
                if !bucket.2 {
                    bucket.2 = true;
                    tracing::warn!(
                        target: "crypt_model::integrity",
                        "{BURST} unwraps of stored data keys failed in a row: unwraps are slowed \
                         to {PER_SECOND} failures a second (records with planted wrapped keys, \
                         or a key provider that refuses)"
                    );
                }
                Duration::from_secs_f64((1.0 - tokens) / PER_SECOND)
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// An unwrap failed: it takes a token.
    pub(super) fn failed(&self) {
        let mut bucket = self.lock();
        Self::refilled(&mut bucket);
        bucket.0 -= 1.0;
    }

    /// An unwrap succeeded: the episode, if any, may be logged again next time.
    pub(super) fn succeeded(&self) {
        let mut bucket = self.lock();
        if bucket.0 >= BURST - 1.0 {
            bucket.2 = false;
        }
    }
}
