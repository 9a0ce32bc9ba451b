//! [`FileCheckpoints`]: checkpoints as files in a directory, each segment locked by the process
//! that runs it.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use super::{Checkpoint, Checkpoints};
use crate::error::{BoxError, Error, Result, StorageError};
use crate::lifecycle::lease::{Claim, Lease, decide, lost, now_ms};
use crate::store::async_trait;

/// Checkpoints as JSON files in a directory, `<job>.<segment>.json` (the job's name with each
/// byte but letters, digits, `-` and `_` written `%hh`: `migrate%3Acustomers.0.json`), each
/// replaced atomically (written beside, then renamed). One directory serves the processes of
/// one machine; machines that split a job by segment range each keep their own (or share a
/// [`TableCheckpoints`](super::TableCheckpoints)).
///
/// A process that claims a segment locks its file `<job>.<segment>.lock` (an advisory lock of
/// the operating system, released when the process ends, however it ends), so a second run of
/// the job on the machine, or two processes given overlapping segments, never run one segment
/// at once: the second claim finds it held. Clones share the locks.
#[derive(Clone, Debug)]
pub struct FileCheckpoints {
    dir: PathBuf,
    /// The lock files of the segments this process holds.
    locks: Arc<Mutex<HashMap<(String, u32), File>>>,
}

impl FileCheckpoints {
    /// Checkpoints in `dir`, created if missing (on Unix, readable by its owner only: the
    /// checkpoints hold record keys).
    pub fn new(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref().to_owned();
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(&dir).map_err(|e| io_error(&dir, e))?;
        Ok(Self::at(dir))
    }

    /// Checkpoints in `dir`, which must exist: to resume a job, where a mistyped directory must
    /// be an error rather than a new, empty one.
    pub fn existing(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref().to_owned();
        match std::fs::metadata(&dir) {
            Ok(metadata) if metadata.is_dir() => Ok(Self::at(dir)),
            Ok(_) => Err(io_error(
                &dir,
                std::io::Error::new(std::io::ErrorKind::NotADirectory, "not a directory"),
            )),
            Err(e) => Err(io_error(&dir, e)),
        }
    }

    fn at(dir: PathBuf) -> Self {
        FileCheckpoints {
            dir,
            locks: Arc::default(),
        }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn stem(job: &str) -> String {
        // Each byte but letters, digits, `-` and `_` as `%hh`: two job names never share a file
        // (`rewrap:t` and `rewrap.t` would, were both written `rewrap.t`).
        job.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    }

    pub(super) fn path(&self, job: &str, segment: u32) -> PathBuf {
        self.dir.join(format!("{}.{segment}.json", Self::stem(job)))
    }

    fn lock_path(&self, job: &str, segment: u32) -> PathBuf {
        self.dir.join(format!("{}.{segment}.lock", Self::stem(job)))
    }

    fn locks(&self) -> std::sync::MutexGuard<'_, HashMap<(String, u32), File>> {
        self.locks.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Locks the segment's file for this process: `false` when another holds it.
    fn lock(&self, job: &str, segment: u32) -> Result<bool> {
        let key = (job.to_owned(), segment);
        if self.locks().contains_key(&key) {
            return Ok(true);
        }
        self.lock_anew(job, segment)
    }

    fn lock_anew(&self, job: &str, segment: u32) -> Result<bool> {
        let key = (job.to_owned(), segment);
        let path = self.lock_path(job, segment);
        let mut options = std::fs::OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(&path).map_err(|e| io_error(&path, e))?;
        match file.try_lock() {
            Ok(()) => {
                self.locks().insert(key, file);
                Ok(true)
            }
            Err(std::fs::TryLockError::WouldBlock) => Ok(false),
            Err(std::fs::TryLockError::Error(e)) => Err(io_error(&path, e)),
        }
    }

    fn unlock(&self, job: &str, segment: u32) {
        // Closing the file releases the lock.
        self.locks().remove(&(job.to_owned(), segment));
    }

    fn write(&self, checkpoint: &Checkpoint) -> Result<()> {
        let path = self.path(&checkpoint.job, checkpoint.segment);
        let partial = path.with_extension("json.partial");
        let write = || -> std::io::Result<()> {
            use std::io::Write;
            // A new file, never one already there (a link planted at its name is removed, not
            // followed), readable by its owner only on Unix.
            match std::fs::remove_file(&partial) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(&partial)?;
            file.write_all(checkpoint.to_json().as_bytes())?;
            file.sync_all()?;
            std::fs::rename(&partial, &path)
        };
        write().map_err(|e| io_error(&path, e))
    }
}

fn io_error(path: &Path, error: std::io::Error) -> Error {
    let message = format!("checkpoint file {}: {error}", path.display());
    let source: BoxError = Box::new(error);
    Error::Storage(StorageError::Backend {
        table: "(checkpoints)".to_owned(),
        message,
        source: Some(source),
    })
}

#[async_trait]
impl Checkpoints for FileCheckpoints {
    async fn load(&self, job: &str, segment: u32) -> Result<Option<Checkpoint>> {
        let path = self.path(job, segment);
        match std::fs::read_to_string(&path) {
            Ok(text) => Checkpoint::from_json(&text).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error(&path, e)),
        }
    }

    async fn list(&self, job: &str) -> Result<Vec<Checkpoint>> {
        let prefix = format!("{}.", Self::stem(job));
        let entries = std::fs::read_dir(&self.dir).map_err(|e| io_error(&self.dir, e))?;
        let mut list = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| io_error(&self.dir, e))?;
            let name = entry.file_name();
            let segment = (name.to_str())
                .and_then(|name| name.strip_prefix(&prefix))
                .and_then(|rest| rest.strip_suffix(".json"))
                .and_then(|segment| segment.parse::<u32>().ok());
            if let Some(segment) = segment
                && let Some(checkpoint) = self.load(job, segment).await?
            {
                list.push(checkpoint);
            }
        }
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
        // A segment this process already holds (another of its runs or slots) is held as its
        // lease says; one it newly locks was held by no live process, whatever its lease says.
        let ours = self.locks().contains_key(&(job.to_owned(), segment));
        if !ours && !self.lock_anew(job, segment)? {
            // Another process holds it, whatever its lease says (read as if it had not lapsed).
            let stored = self.load(job, segment).await?;
            let stored_lease = stored.as_ref().and_then(|s| s.lease.clone());
            return Ok(
                match decide(stored, (job, segment, total_segments), "", 0, 0)? {
                    Claim::Taken(_) => Claim::Held(stored_lease.unwrap_or(Lease {
                        worker: "another process on this machine".to_owned(),
                        expires: lease.expires,
                    })),
                    other => other,
                },
            );
        }
        let now = match ours {
            true => now_ms(),
            false => u64::MAX,
        };
        let stored = self.load(job, segment).await;
        let claim = stored.and_then(|stored| {
            decide(
                stored,
                (job, segment, total_segments),
                &lease.worker,
                lease.expires,
                now,
            )
        });
        match claim {
            Ok(Claim::Taken(mut checkpoint)) => {
                checkpoint.saved = now_ms();
                if checkpoint.started == u64::MAX {
                    checkpoint.started = checkpoint.saved;
                }
                self.write(&checkpoint)?;
                Ok(Claim::Taken(checkpoint))
            }
            other if ours => other,
            other => {
                self.unlock(job, segment);
                other
            }
        }
    }

    async fn save(&self, checkpoint: &Checkpoint) -> Result<()> {
        let (job, segment) = (&checkpoint.job, checkpoint.segment);
        if !self.locks().contains_key(&(job.clone(), segment)) {
            // Only a checkpoint never claimed is saved without the lock (and only where no other
            // process holds it).
            if checkpoint.fence != 0 || !self.lock(job, segment)? {
                return Err(lost(job, segment));
            }
            self.unlock(job, segment);
        }
        let fence = self.load(job, segment).await?.map_or(0, |s| s.fence);
        if fence != checkpoint.fence {
            return Err(lost(job, segment));
        }
        self.write(checkpoint)
    }

    async fn release(&self, checkpoint: &Checkpoint) -> Result<()> {
        let mut released = checkpoint.clone();
        released.lease = None;
        // Unlocked only once saved: a save refused means another run of this process holds it.
        self.save(&released).await?;
        self.unlock(&checkpoint.job, checkpoint.segment);
        Ok(())
    }
}
