//! The pace of a run: records spaced out to at most a rate over all its segments, slowed when
//! the store or the key provider throttles and sped up again as they stop (additive increase,
//! multiplicative decrease), and the retries of a throttled request.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::error::{Error, KeyError, KeyProviderError, Result, StorageError};

/// How often a request throttled again and again is retried before the run stops on it.
const THROTTLED_ATTEMPTS: u32 = 12;
/// The first wait after a throttled request; it doubles with each one in a row.
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
/// The longest wait between two attempts of a throttled request.
const LONGEST_BACKOFF: Duration = Duration::from_secs(5);
/// The slowest pace a throttled run falls to, in records per second.
const SLOWEST: f64 = 1.0;

/// Spaces records out, over every segment of a run.
pub(super) struct Pacer {
    state: Mutex<State>,
}

struct State {
    /// The rate the run was given (its share of the job's), records per second; `None`: none.
    ceiling: Option<f64>,
    /// The pace now: the ceiling, or less after throttling; `None`: no limit.
    rate: Option<f64>,
    /// What one second without throttling adds to the pace.
    step: f64,
    /// When the pace last changed.
    changed: Instant,
    /// The next record's turn.
    next: Option<Instant>,
    /// Records let through, and since when: the run's rate while it has no limit.
    passed: u64,
    started: Instant,
    /// Throttled requests so far, and the slowest pace they led to.
    throttled: u64,
    slowest: Option<f64>,
    /// A limit in write capacity units a second, the units counted so far, and when the next
    /// record may go at that limit.
    units: Option<f64>,
    units_seen: Option<f64>,
    units_next: Option<Instant>,
}

/// What throttling did to a run: for its report.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(super) struct Throttling {
    pub(super) throttled: u64,
    pub(super) slowest: Option<f64>,
    /// The pace at the end.
    pub(super) last: Option<f64>,
}

impl Pacer {
    pub(super) fn new(per_second: Option<u32>) -> Self {
        let ceiling = per_second.map(f64::from);
        let now = Instant::now();
        Pacer {
            state: Mutex::new(State {
                ceiling,
                rate: ceiling,
                step: ceiling.map_or(SLOWEST, |c| (c / 20.0).max(SLOWEST)),
                changed: now,
                next: None,
                passed: 0,
                started: now,
                throttled: 0,
                slowest: None,
                units: None,
                units_seen: None,
                units_next: None,
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Gives the run another rate (its share of the job's budget changed); the pace follows it
    /// unless throttling holds it lower.
    pub(super) fn set_ceiling(&self, per_second: Option<f64>) {
        let per_second = per_second.map(|rate| match rate.is_finite() {
            true => rate.max(SLOWEST),
            false => SLOWEST,
        });
        let mut state = self.state();
        state.ceiling = per_second;
        state.rate = match (state.rate, per_second) {
            (Some(rate), Some(ceiling)) => Some(rate.min(ceiling)),
            (None, ceiling) => ceiling,
            (Some(rate), None) => Some(rate),
        };
        if let Some(ceiling) = per_second {
            state.step = (ceiling / 20.0).max(SLOWEST);
        }
    }

    /// Waits for the next record's turn.
    pub(super) async fn wait(&self) {
        let turn = {
            let mut state = self.state();
            let now = Instant::now();
            state.passed += 1;
            // Additive increase: each second without throttling adds a step, up to the ceiling
            // (without one, until the pace no longer holds the run back: twice its rate).
            let seconds = now.duration_since(state.changed).as_secs_f64();
            if let Some(rate) = state.rate
                && seconds >= 1.0
            {
                let raised = rate + state.step * seconds.floor();
                state.rate = match state.ceiling {
                    Some(ceiling) => Some(raised.min(ceiling)),
                    None if raised > 2.0 * observed(&state, now) => None,
                    None => Some(raised),
                };
                state.changed = now;
            }
            let Some(rate) = state.rate else {
                return;
            };
            let turn = state.next.map_or(now, |next| next.max(now));
            state.next = Some(turn + Duration::from_secs_f64(1.0 / rate.max(SLOWEST)));
            turn
        };
        tokio::time::sleep_until(turn).await;
    }

    /// Limits the run to `per_second` write capacity units a second.
    pub(super) fn limit_write_units(&self, per_second: f64) {
        self.state().units = Some(per_second.max(SLOWEST));
    }

    /// When the next record may go, given the write units counted so far (`consumed`, the
    /// store's total): the units the last records took push its turn back. `None` without a
    /// limit in units.
    pub(super) fn units_turn(&self, consumed: f64) -> Option<Instant> {
        let mut state = self.state();
        let limit = state.units?;
        let now = Instant::now();
        // Counts read by several segments out of order never go backwards.
        let seen = state.units_seen.unwrap_or(consumed);
        let spent = (consumed - seen).max(0.0);
        state.units_seen = Some(seen.max(consumed));
        let from = state.units_next.map_or(now, |next| next.max(now));
        let turn = from + Duration::from_secs_f64((spent / limit).min(3600.0));
        state.units_next = Some(turn);
        Some(turn)
    }

    /// Waits for [`units_turn`](Self::units_turn).
    #[cfg(test)]
    pub(super) async fn wait_for_units(&self, consumed: f64) {
        if let Some(turn) = self.units_turn(consumed) {
            tokio::time::sleep_until(turn).await;
        }
    }

    /// Multiplicative decrease: a throttled request halves the pace (from the run's rate so far
    /// when it had no limit).
    fn slow_down(&self) {
        let mut state = self.state();
        let now = Instant::now();
        let from = state.rate.unwrap_or_else(|| observed(&state, now));
        let rate = (from / 2.0).max(SLOWEST);
        state.rate = Some(rate);
        state.step = state
            .ceiling
            .map_or((rate / 10.0).max(SLOWEST), |c| (c / 20.0).max(SLOWEST));
        state.changed = now;
        state.throttled += 1;
        state.slowest = Some(state.slowest.map_or(rate, |slowest: f64| slowest.min(rate)));
        tracing::warn!(
            target: "crypt_model::lifecycle",
            records_per_second = rate,
            "throttled: the job slows down"
        );
    }

    /// What throttling did to the run.
    pub(super) fn throttling(&self) -> Throttling {
        let state = self.state();
        Throttling {
            throttled: state.throttled,
            slowest: state.slowest,
            last: state.rate,
        }
    }

    /// Runs `request` until it is not throttled (slowing the run each time, and waiting longer
    /// each time in a row), at most [`THROTTLED_ATTEMPTS`] times.
    pub(super) async fn retry<T, F, Fut>(&self, mut request: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let mut backoff = FIRST_BACKOFF;
        let mut attempt = 1;
        loop {
            match request().await {
                Err(error) if is_throttling(&error) && attempt < THROTTLED_ATTEMPTS => {
                    self.slow_down();
                    // Full jitter: workers throttled together do not retry together.
                    let jitter = crate::random::array::<4>().map_or(0, u32::from_le_bytes);
                    let wait = backoff.mul_f64(f64::from(jitter) / f64::from(u32::MAX));
                    tokio::time::sleep(wait.max(Duration::from_millis(1))).await;
                    backoff = (backoff * 2).min(LONGEST_BACKOFF);
                    attempt += 1;
                }
                other => return other,
            }
        }
    }
}

/// The run's rate so far, in records per second (at least the slowest pace).
fn observed(state: &State, now: Instant) -> f64 {
    let seconds = now.duration_since(state.started).as_secs_f64().max(0.001);
    (state.passed as f64 / seconds).max(SLOWEST)
}

/// Whether `error` is the store's or the key provider's throttling.
pub(super) fn is_throttling(error: &Error) -> bool {
    matches!(
        error,
        Error::Storage(StorageError::Throttled { .. })
            | Error::Key(KeyError::Provider {
                kind: KeyProviderError::Throttled,
                ..
            })
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn throttled() -> Error {
        Error::Storage(StorageError::Throttled {
            table: "t".to_owned(),
        })
    }

    #[tokio::test(start_paused = true)]
    async fn throttling_halves_the_pace_and_a_quiet_second_adds_a_step_back() {
        let pacer = Pacer::new(Some(100));
        let calls = std::sync::atomic::AtomicU32::new(0);
        let answer = pacer
            .retry(|| async {
                match calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) {
                    0..3 => Err(throttled()),
                    _ => Ok(7),
                }
            })
            .await
            .unwrap();
        assert_eq!(answer, 7);
        let throttling = pacer.throttling();
        assert_eq!(throttling.throttled, 3);
        // 100 → 50 → 25 → 12.5.
        assert_eq!(throttling.slowest, Some(12.5));
        // Quiet seconds: a step (5 a second) each, back up to the ceiling and no further.
        tokio::time::advance(Duration::from_secs(2)).await;
        pacer.wait().await;
        assert_eq!(pacer.state().rate, Some(22.5));
        tokio::time::advance(Duration::from_secs(60)).await;
        pacer.wait().await;
        assert_eq!(pacer.state().rate, Some(100.0));
        // Another error is not retried; throttling past the attempts stops the run.
        let other = pacer
            .retry(|| async { Err::<(), _>(Error::malformed("a", "b")) })
            .await;
        assert!(!is_throttling(&other.unwrap_err()));
        let given_up = pacer.retry(|| async { Err::<(), _>(throttled()) }).await;
        assert!(is_throttling(&given_up.unwrap_err()));
        assert_eq!(
            pacer.throttling().throttled,
            3 + THROTTLED_ATTEMPTS as u64 - 1
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_run_without_a_limit_is_slowed_from_its_own_rate_and_freed_again() {
        let pacer = Pacer::new(None);
        for _ in 0..1_000 {
            pacer.wait().await;
        }
        tokio::time::advance(Duration::from_secs(1)).await;
        // About 1,000 records a second so far: throttled, it paces at half that.
        let first = std::sync::atomic::AtomicBool::new(true);
        pacer
            .retry(|| async {
                match first.swap(false, std::sync::atomic::Ordering::SeqCst) {
                    true => Err(throttled()),
                    false => Ok(()),
                }
            })
            .await
            .unwrap();
        let slowed = pacer.state().rate.unwrap();
        assert!((400.0..600.0).contains(&slowed), "{slowed}");
        // Quiet for long enough, the limit goes away.
        tokio::time::advance(Duration::from_secs(600)).await;
        pacer.wait().await;
        assert_eq!(pacer.state().rate, None);
    }
}

/// A worker's share of the job's rate `budget`: the budget times the segments its slots hold
/// over the segments all workers hold, at `now` (one more for a worker that holds none yet).
pub(super) fn share(budget: u32, checkpoints: &[super::Checkpoint], worker: &str, now: u64) -> f64 {
    let holders = checkpoints
        .iter()
        .filter(|c| c.is_held(now))
        .filter_map(|c| c.lease.as_ref().map(|lease| lease.worker.as_str()));
    let (mut mine, mut all) = (0u32, 0u32);
    for holder in holders {
        all += 1;
        let base = holder.rsplit_once('/').map_or(holder, |(base, _)| base);
        mine += u32::from(holder == worker || base == worker);
    }
    // A worker that holds nothing yet is about to hold one.
    let (mine, all) = match mine {
        0 => (1, all + 1),
        _ => (mine, all),
    };
    f64::from(budget) * f64::from(mine) / f64::from(all)
}

/// The job's rate budget: the one given, or the one its latest saved checkpoint carries.
pub(super) fn budget(given: Option<u32>, checkpoints: &[super::Checkpoint]) -> Option<u32> {
    given.or_else(|| {
        checkpoints
            .iter()
            .filter(|c| c.job_rate.is_some())
            .max_by_key(|c| c.saved)
            .and_then(|c| c.job_rate)
    })
}

#[cfg(test)]
mod unit_tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn write_units_space_records_out_by_what_they_consumed() {
        let pacer = Pacer::new(None);
        pacer.limit_write_units(10.0);
        let start = Instant::now();
        // The first record goes at once; each later one waits for the units the one before
        // it took: 2, then 2, then 4 units at 10 a second.
        for consumed in [0.0, 2.0, 4.0, 8.0] {
            pacer.wait_for_units(consumed).await;
        }
        assert_eq!(start.elapsed(), Duration::from_millis(800));
        // A record that took nothing (it was left alone) does not hold the next one back.
        pacer.wait_for_units(8.0).await;
        assert_eq!(start.elapsed(), Duration::from_millis(800));
    }
}

#[cfg(test)]
mod share_tests {
    #![allow(clippy::unwrap_used)]

    use super::super::{Checkpoint, Lease};
    use super::*;

    fn held(segment: u32, worker: &str, rate: Option<u32>, saved: u64) -> Checkpoint {
        let mut checkpoint = Checkpoint::start("j", segment, 8);
        checkpoint.lease = Some(Lease {
            worker: worker.to_owned(),
            expires: 10_000,
        });
        (checkpoint.job_rate, checkpoint.saved) = (rate, saved);
        checkpoint
    }

    #[test]
    fn a_worker_paces_at_its_share_of_the_jobs_budget() {
        let all = [
            held(0, "a/0", Some(100), 1),
            held(1, "a/1", None, 2),
            held(2, "b/0", Some(300), 3),
            held(3, "c", None, 4),
        ];
        // a holds two of four segments held.
        assert_eq!(share(300, &all, "a", 5_000), 150.0);
        assert_eq!(share(300, &all, "c", 5_000), 75.0);
        // A worker that holds nothing yet counts as holding one.
        assert_eq!(share(300, &all, "d", 5_000), 60.0);
        // Lapsed leases do not count.
        assert_eq!(share(300, &all, "a", 20_000), 300.0);
        // The budget given wins; without one, the latest saved.
        assert_eq!(budget(Some(50), &all), Some(50));
        assert_eq!(budget(None, &all), Some(300));
        assert_eq!(budget(None, &all[..2]), Some(100));
        assert_eq!(budget(None, &[]), None);
    }
}
