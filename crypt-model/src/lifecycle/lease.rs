//! Leases: which worker runs a segment of a job and until when, and the fencing token that keeps
//! a worker whose lease lapsed from saving its progress over its successor's.
//!
//! A claim reads the segment's checkpoint and takes it when no live lease holds it, raising its
//! fencing token (`Checkpoint::fence`) in a write conditioned on the token read; every later save
//! is conditioned on that token too. So of two workers that both believe they hold a segment (a
//! paused process whose lease lapsed, clocks that disagree), only the later claimer saves; the
//! earlier one's next save is refused ([`StorageError::LeaseLost`]) and it leaves the segment.
//! The records either rewrote are safe regardless: each rewrite is conditioned on the record as
//! it was read.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::Checkpoint;
use crate::error::{Error, Result, StorageError};

/// A worker's hold on one segment of a job, in its checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    /// The worker (printable, at most 128 bytes: `host-pid-random` by default).
    pub worker: String,
    /// Until when the lease holds unless renewed, in milliseconds since the Unix epoch; after it
    /// another worker may take the segment over.
    pub expires: u64,
}

/// What a claim on a segment got ([`Checkpoints::claim`](super::Checkpoints::claim)).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Claim {
    /// The segment is the claimer's: its checkpoint, with the claimer's lease and a raised fence,
    /// saved.
    Taken(Checkpoint),
    /// Another worker's lease holds it (its lease as stored).
    Held(Lease),
    /// The segment is done: its last checkpoint.
    Done(Checkpoint),
}

/// Now, in milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
        })
}

/// The milliseconds of `duration`, saturating.
pub(crate) fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// The longest lease a job takes: a lease stored with a later expiry was not written by a job
/// (a writer of the checkpoints forged it), and is taken as lapsed.
pub(crate) const LONGEST_LEASE: Duration = Duration::from_secs(3600);

/// Whether `worker` is a worker's name: printable, 1 to 128 bytes (it is printed in reports).
pub(crate) fn valid_worker(worker: &str) -> bool {
    (1..=128).contains(&worker.len()) && worker.chars().all(printable)
}

/// Whether `c` may be printed to an operator's terminal as it is: not a control character, and
/// not one that reorders or hides text (bidirectional controls, zero-width format characters).
pub(crate) fn printable(c: char) -> bool {
    !c.is_control()
        && !matches!(c,
            '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

/// A worker's name for this process: the host's name, the process id and a random
/// part, so that two runs never share one.
pub(crate) fn worker_name() -> String {
    // `HOSTNAME` is a shell's, often not exported; Linux keeps the name in /proc.
    let host: String = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .unwrap_or_default()
        .trim()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
        .take(64)
        .collect();
    let random = crate::random::array::<4>()
        .map(|bytes| bytes.map(|b| format!("{b:02x}")).concat())
        .unwrap_or_default();
    let host = if host.is_empty() {
        "worker".to_owned()
    } else {
        host
    };
    format!("{host}-{}-{random}", std::process::id())
}

/// What a claim by `worker` until `expires` does with the segment's stored checkpoint: the
/// checkpoint to write (its fence raised) when it takes the segment, or why it does not.
pub(crate) fn decide(
    stored: Option<Checkpoint>,
    (job, segment, total_segments): (&str, u32, u32),
    worker: &str,
    expires: u64,
    now: u64,
) -> Result<Claim> {
    let mut checkpoint = match stored {
        Some(stored) if stored.total_segments != total_segments => {
            return Err(Error::Storage(StorageError::InvalidRequest {
                table: "(checkpoints)".to_owned(),
                reason: format!(
                    "the checkpoints of job `{job}` were written with {} segments: resume it with \
                     the same number, or start over under another name",
                    stored.total_segments
                ),
            }));
        }
        Some(stored) if stored.job != job || stored.segment != segment => {
            return Err(Error::Storage(StorageError::InvalidRequest {
                table: "(checkpoints)".to_owned(),
                reason: format!(
                    "the checkpoint read for segment {segment} of job `{job}` is another one's: \
                     keep each job's checkpoints apart"
                ),
            }));
        }
        Some(stored) if stored.done => return Ok(Claim::Done(stored)),
        Some(stored) if stored.fence == u64::MAX => {
            return Err(Error::Storage(StorageError::InvalidRequest {
                table: "(checkpoints)".to_owned(),
                reason: format!(
                    "segment {segment} of job `{job}` has a fence no claim can raise: its \
                     checkpoint was edited; start the job over under another name"
                ),
            }));
        }
        Some(stored) => match &stored.lease {
            // A lease past the longest a job takes was forged: it holds nothing.
            Some(lease)
                if lease.expires > now
                    && lease.expires <= now.saturating_add(millis(LONGEST_LEASE) + 60_000)
                    && lease.worker != worker =>
            {
                return Ok(Claim::Held(lease.clone()));
            }
            _ => stored,
        },
        None => Checkpoint::start(job, segment, total_segments),
    };
    checkpoint.fence += 1;
    checkpoint.lease = Some(Lease {
        worker: worker.to_owned(),
        expires,
    });
    if checkpoint.started == 0 {
        checkpoint.started = now;
    }
    checkpoint.saved = now;
    Ok(Claim::Taken(checkpoint))
}

/// The error of a claim that found a live lease.
pub(crate) fn held(job: &str, segment: u32, lease: &Lease) -> Error {
    Error::Storage(StorageError::LeaseHeld {
        job: job.to_owned(),
        segment,
        worker: lease.worker.clone(),
        seconds: lease.expires.saturating_sub(now_ms()).div_ceil(1000),
    })
}

/// The error of a save whose fence another claim raised.
pub(crate) fn lost(job: &str, segment: u32) -> Error {
    Error::Storage(StorageError::LeaseLost {
        job: job.to_owned(),
        segment,
    })
}
