//! A running job's progress: a bar with records per second and an ETA when standard error is a
//! terminal, a plain line every few seconds otherwise (a CI log, a file).

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crypt_model::lifecycle::{Counts, Progress};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How often a line is written when standard error is not a terminal.
const LINE_EVERY: Duration = Duration::from_secs(5);

/// Sums the segments' latest counts and shows them.
pub(crate) struct Reporter {
    job: String,
    /// The table's item count as DynamoDB last computed it (about every six hours), for the ETA.
    total: Option<u64>,
    bar: Option<ProgressBar>,
    state: Mutex<State>,
}

struct State {
    segments: BTreeMap<u32, Counts>,
    started: Instant,
    /// What earlier runs of a resumed job had seen, so that the rate is this run's.
    seen_before: u64,
    last_line: Instant,
}

impl Reporter {
    /// A reporter for `job` over about `total` records, resumed from the `earlier` counts of
    /// its segments (a segment already done never reports again); a bar when standard error is
    /// a terminal.
    pub(crate) fn new(job: &str, total: Option<u64>, earlier: BTreeMap<u32, Counts>) -> Reporter {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr());
            let template = if total.is_some() {
                "{msg} [{bar:30}] {pos}/~{len} records, {rate}, ETA {eta}"
            } else {
                "{spinner} {msg} {pos} records, {rate}"
            };
            if let Ok(style) = ProgressStyle::with_template(template) {
                // Whole records a second (indicatif's own `per_sec` shows four decimals).
                let rate = |state: &indicatif::ProgressState, out: &mut dyn std::fmt::Write| {
                    let _ = write!(out, "{:.0}/s", state.per_sec());
                };
                bar.set_style(style.with_key("rate", rate).progress_chars("=> "));
            }
            bar.set_message(job.to_owned());
            // Where earlier runs left it, the rate and the ETA from here.
            bar.set_position(earlier.values().map(|c| c.seen).sum());
            bar.reset_eta();
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        let now = Instant::now();
        Reporter {
            job: job.to_owned(),
            total,
            bar,
            state: Mutex::new(State {
                seen_before: earlier.values().map(|c| c.seen).sum(),
                segments: earlier,
                started: now,
                last_line: now,
            }),
        }
    }

    /// One segment's progress, after a page.
    pub(crate) fn update(&self, progress: &Progress) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.segments.insert(progress.segment, progress.counts);
        let seen = sum(&state).seen;
        if let Some(bar) = &self.bar {
            bar.set_position(seen);
            return;
        }
        let now = Instant::now();
        if now.duration_since(state.last_line) >= LINE_EVERY {
            state.last_line = now;
            self.line(&state, now);
        }
    }

    /// A line of where the job stands.
    fn line(&self, state: &State, now: Instant) {
        let sum = sum(state);
        let before = state.seen_before;
        let elapsed = now.duration_since(state.started).as_secs_f64().max(0.001);
        let rate = (sum.seen.saturating_sub(before)) as f64 / elapsed;
        let mut line = format!(
            "{}: {} records seen, {} changed, {} failed, {:.0} records/s",
            self.job, sum.seen, sum.changed, sum.failed, rate
        );
        if let Some(total) = self.total.filter(|_| rate > 0.0) {
            let left = total.saturating_sub(sum.seen) as f64 / rate;
            line.push_str(&format!(" (of about {total}, ETA {})", duration(left)));
        }
        eprintln!("{line}");
    }

    /// Clears the bar when the run ends, or writes the last line.
    pub(crate) fn finish(&self) {
        match &self.bar {
            Some(bar) => bar.finish_and_clear(),
            None => {
                let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
                self.line(&state, Instant::now());
            }
        }
    }
}

/// The segments' latest counts, summed.
fn sum(state: &State) -> Counts {
    let mut sum = Counts::default();
    for counts in state.segments.values() {
        sum.seen += counts.seen;
        sum.changed += counts.changed;
        sum.failed += counts.failed;
    }
    sum
}

/// Seconds as a person reads them: `45s`, `12m 05s`, `3h 20m`.
pub(crate) fn duration(seconds: f64) -> String {
    let s = seconds.round() as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {:02}s", s / 60, s % 60),
        _ => format!("{}h {:02}m", s / 3600, s % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations_read_as_a_person_reads_them() {
        assert_eq!(super::duration(44.6), "45s");
        assert_eq!(super::duration(725.0), "12m 05s");
        assert_eq!(super::duration(12_000.0), "3h 20m");
    }
}
