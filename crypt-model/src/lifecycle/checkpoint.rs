//! Checkpoints: where each segment of a job stands, saved after every page, so that a job
//! stopped or killed resumes where it was.

use crate::error::StorageError;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::{Value, json};

use super::{Counts, Failure};
use crate::attribute::{Item, Key};
use crate::error::{BoxError, Error, Result};
use crate::store::{Cursor, async_trait};

/// Where one segment of a job stands: the key after which its scan resumes, whether it is done,
/// and what it has counted so far (including the keys of the records it could not process).
///
/// It holds record keys (the cursor, the failed keys), which may be personal data: keep
/// checkpoints where the table's keys may be kept.
#[derive(Clone, PartialEq)]
pub struct Checkpoint {
    /// The job's name (its kind and the table: `migrate:profiles`).
    pub job: String,
    /// The segment.
    pub segment: u32,
    /// The number of segments the job splits the table into.
    pub total_segments: u32,
    /// Where the segment's scan resumes; `None` at its start, or once it is done.
    pub cursor: Option<Cursor>,
    /// Whether the segment has been scanned to its end.
    pub done: bool,
    /// What the segment's pages counted so far.
    pub counts: Counts,
    /// The records it could not process.
    pub failed: Vec<Failure>,
    /// How many of its records are under each key-encryption key, by key id, as the job left
    /// them.
    pub key_ids: BTreeMap<String, u64>,
    /// How many of its records are sealed with each algorithm suite, by the suite's name
    /// ([`Suite::name`](crate::format::Suite::name)), as the job left them.
    pub suites: BTreeMap<String, u64>,
}

impl Checkpoint {
    /// A segment not yet started.
    pub fn start(job: &str, segment: u32, total_segments: u32) -> Self {
        Checkpoint {
            job: job.to_owned(),
            segment,
            total_segments,
            cursor: None,
            done: false,
            counts: Counts::default(),
            failed: Vec::new(),
            key_ids: BTreeMap::new(),
            suites: BTreeMap::new(),
        }
    }

    /// The checkpoint as JSON: `{"job", "segment", "total_segments", "cursor", "done",
    /// "counts": {"seen", "changed", "unchanged", "skipped", "erased", "failed", "plaintext"}, "failed":
    /// [{"key", "reason"}], "key_ids": {"<key id>": count}, "suites": {"<suite>": count}}`, with the cursor and keys in DynamoDB JSON (a key as `{"partition": …,
    /// "sort": …}`).
    pub fn to_json(&self) -> String {
        let counts = &self.counts;
        let failed: Vec<Value> = self
            .failed
            .iter()
            .map(|f| json!({"key": key_json(&f.key), "reason": f.reason}))
            .collect();
        json!({
            "job": self.job,
            "segment": self.segment,
            "total_segments": self.total_segments,
            "cursor": self.cursor.as_ref().map(|c| item_json(c.key())),
            "done": self.done,
            "counts": {
                "seen": counts.seen,
                "changed": counts.changed,
                "unchanged": counts.unchanged,
                "skipped": counts.skipped,
                "erased": counts.erased,
                "failed": counts.failed,
                "plaintext": counts.plaintext,
            },
            "failed": failed,
            "key_ids": self.key_ids,
            "suites": self.suites,
        })
        .to_string()
    }

    /// Reads [`to_json`](Self::to_json)'s output; a file that is not one is
    /// [`DataError::Malformed`](crate::error::DataError::Malformed) naming `(checkpoint)`.
    pub fn from_json(text: &str) -> Result<Self> {
        let malformed = || Error::malformed("(checkpoint)", "not a crypt-model job checkpoint");
        let value: Value = serde_json::from_str(text).map_err(|_| malformed())?;
        let number = |v: &Value| v.as_u64().ok_or_else(malformed);
        let small = |v: &Value| number(v).and_then(|n| u32::try_from(n).map_err(|_| malformed()));
        let counts = &value["counts"];
        let failed = match &value["failed"] {
            Value::Array(entries) => entries
                .iter()
                .map(|entry| {
                    Ok(Failure {
                        key: key_from_json(&entry["key"]).ok_or_else(malformed)?,
                        reason: entry["reason"].as_str().ok_or_else(malformed)?.to_owned(),
                    })
                })
                .collect::<Result<Vec<_>>>()?,
            _ => return Err(malformed()),
        };
        Ok(Checkpoint {
            job: value["job"].as_str().ok_or_else(malformed)?.to_owned(),
            segment: small(&value["segment"])?,
            total_segments: small(&value["total_segments"])?,
            cursor: match &value["cursor"] {
                Value::Null => None,
                other => Some(Cursor::new(item_from_json(other).ok_or_else(malformed)?)),
            },
            done: value["done"].as_bool().ok_or_else(malformed)?,
            counts: Counts {
                seen: number(&counts["seen"])?,
                changed: number(&counts["changed"])?,
                unchanged: number(&counts["unchanged"])?,
                skipped: number(&counts["skipped"])?,
                // Absent from the checkpoints of a release before the count.
                erased: match &counts["erased"] {
                    Value::Null => 0,
                    erased => number(erased)?,
                },
                failed: number(&counts["failed"])?,
                plaintext: number(&counts["plaintext"])?,
            },
            failed,
            key_ids: match &value["key_ids"] {
                Value::Object(ids) => ids
                    .iter()
                    .map(|(id, count)| Ok((id.clone(), number(count)?)))
                    .collect::<Result<_>>()?,
                _ => return Err(malformed()),
            },
            // Absent from the checkpoints of a release before suites.
            suites: match &value["suites"] {
                Value::Null => BTreeMap::new(),
                // A suite's name only: a report prints them.
                Value::Object(suites) => suites
                    .iter()
                    .map(|(suite, count)| match crate::suite::Suite::named(suite) {
                        Some(suite) => Ok((suite.name().to_owned(), number(count)?)),
                        None => Err(malformed()),
                    })
                    .collect::<Result<_>>()?,
                _ => return Err(malformed()),
            },
        })
    }
}

fn item_json(item: &Item) -> Value {
    serde_json::from_str(&item.to_dynamodb_json()).unwrap_or(Value::Null)
}

fn item_from_json(value: &Value) -> Option<Item> {
    Item::from_dynamodb_json(&value.to_string()).ok()
}

fn key_json(key: &Key) -> Value {
    let mut item = Item::new();
    item.insert("partition", key.partition.clone());
    if let Some(sort) = &key.sort {
        item.insert("sort", sort.clone());
    }
    item_json(&item)
}

fn key_from_json(value: &Value) -> Option<Key> {
    let mut item = item_from_json(value)?;
    let key = Key::new(item.remove("partition")?);
    Some(match item.remove("sort") {
        Some(sort) => key.with_sort(sort),
        None => key,
    })
}

impl fmt::Debug for Checkpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The cursor's key may be personal data.
        f.debug_struct("Checkpoint")
            .field("job", &self.job)
            .field("segment", &self.segment)
            .field("total_segments", &self.total_segments)
            .field("resumes", &self.cursor.is_some())
            .field("done", &self.done)
            .field("counts", &self.counts)
            .field("failed", &self.failed)
            .field("key_ids", &self.key_ids)
            .field("suites", &self.suites)
            .finish()
    }
}

/// Where a job keeps its checkpoints, one per segment: in memory ([`MemoryCheckpoints`]), in
/// files ([`FileCheckpoints`]), or anywhere that implements this (a DynamoDB table shared by
/// the machines of one job).
#[async_trait]
pub trait Checkpoints: Send + Sync {
    /// The checkpoint of `segment` of `job`, if one was saved.
    async fn load(&self, job: &str, segment: u32) -> Result<Option<Checkpoint>>;

    /// Saves a checkpoint, replacing the segment's previous one. It must be durable when this
    /// returns: the job goes on as if it were.
    async fn save(&self, checkpoint: &Checkpoint) -> Result<()>;
}

/// Checkpoints in memory: for tests, and for jobs that need not survive their process. Clones
/// share the checkpoints.
#[derive(Clone, Debug, Default)]
pub struct MemoryCheckpoints {
    saved: Arc<Mutex<HashMap<(String, u32), Checkpoint>>>,
}

impl MemoryCheckpoints {
    /// No checkpoints.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl Checkpoints for MemoryCheckpoints {
    async fn load(&self, job: &str, segment: u32) -> Result<Option<Checkpoint>> {
        let saved = self.saved.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(saved.get(&(job.to_owned(), segment)).cloned())
    }

    async fn save(&self, checkpoint: &Checkpoint) -> Result<()> {
        let mut saved = self.saved.lock().unwrap_or_else(PoisonError::into_inner);
        saved.insert(
            (checkpoint.job.clone(), checkpoint.segment),
            checkpoint.clone(),
        );
        Ok(())
    }
}

/// Checkpoints as JSON files in a directory, `<job>.<segment>.json` (the job's name with each
/// byte but letters, digits, `-` and `_` written `%hh`: `migrate%3Acustomers.0.json`), each
/// replaced atomically (written beside, then renamed). One directory serves the processes of
/// one machine; machines that split a job by segment range each keep their own.
#[derive(Clone, Debug)]
pub struct FileCheckpoints {
    dir: PathBuf,
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
        Ok(FileCheckpoints { dir })
    }

    fn path(&self, job: &str, segment: u32) -> PathBuf {
        // Each byte but letters, digits, `-` and `_` as `%hh`: two job names never share a file
        // (`rewrap:t` and `rewrap.t` would, were both written `rewrap.t`).
        let job: String = job
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        self.dir.join(format!("{job}.{segment}.json"))
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

    async fn save(&self, checkpoint: &Checkpoint) -> Result<()> {
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::attribute::AttributeValue;
    use crate::error::DataError;

    fn checkpoint() -> Checkpoint {
        let mut checkpoint = Checkpoint::start("migrate:profiles", 3, 8);
        checkpoint.cursor = Some(Cursor::new(Item::from_iter([
            ("pk", AttributeValue::S("alice".into())),
            ("sk", AttributeValue::N("7".into())),
        ])));
        checkpoint.counts = Counts {
            seen: 10,
            changed: 6,
            unchanged: 2,
            skipped: 1,
            erased: 0,
            failed: 1,
            plaintext: 1,
        };
        checkpoint.failed.push(Failure {
            key: Key::new(AttributeValue::S("bob".into())).with_sort(AttributeValue::B(vec![1])),
            reason: "attribute `card` is malformed".into(),
        });
        checkpoint.key_ids.insert("k1".into(), 8);
        checkpoint.suites.insert("aes256gcm-hkdf-sha256".into(), 8);
        checkpoint
    }

    #[test]
    fn a_checkpoint_reads_back_as_written() {
        let checkpoint = checkpoint();
        assert_eq!(
            Checkpoint::from_json(&checkpoint.to_json()).unwrap(),
            checkpoint
        );
        let fresh = Checkpoint::start("inventory:t", 0, 1);
        assert_eq!(Checkpoint::from_json(&fresh.to_json()).unwrap(), fresh);
        for text in ["", "{}", "[]", r#"{"job": 1}"#] {
            assert!(matches!(
                Checkpoint::from_json(text),
                Err(Error::Data(DataError::Malformed { .. }))
            ));
        }
        // Debug shows no key.
        assert!(!format!("{checkpoint:?}").contains("alice"));
        // A checkpoint of a release before suites reads with none counted.
        let mut before: serde_json::Value = serde_json::from_str(&checkpoint.to_json()).unwrap();
        before.as_object_mut().unwrap().remove("suites");
        let read = Checkpoint::from_json(&before.to_string()).unwrap();
        assert_eq!(
            (read.suites.len(), read.key_ids),
            (0, checkpoint.key_ids.clone())
        );
        // A suite's name only: a report prints them, and a forged one could print anything.
        before["suites"] = serde_json::json!({"aes256gcm-hkdf-sha256\n  key k9: 9 records": 1});
        assert!(matches!(
            Checkpoint::from_json(&before.to_string()),
            Err(Error::Data(DataError::Malformed { .. }))
        ));
    }

    #[tokio::test]
    async fn file_checkpoints_replace_each_segments_file() {
        let dir = std::env::temp_dir().join(format!(
            "crypt-model-checkpoints-{}-{}",
            std::process::id(),
            crate::random::array::<8>()
                .unwrap()
                .map(|b| format!("{b:02x}"))
                .concat()
        ));
        let files = FileCheckpoints::new(&dir).unwrap();
        assert_eq!(files.load("migrate:profiles", 3).await.unwrap(), None);
        let mut checkpoint = checkpoint();
        files.save(&checkpoint).await.unwrap();
        checkpoint.done = true;
        checkpoint.cursor = None;
        files.save(&checkpoint).await.unwrap();
        assert_eq!(
            files.load("migrate:profiles", 3).await.unwrap(),
            Some(checkpoint.clone())
        );
        let names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, ["migrate%3Aprofiles.3.json"]);
        // Names that differ only in punctuation keep their own files.
        let mut other = Checkpoint::start("migrate.profiles", 3, 8);
        other.done = true;
        files.save(&other).await.unwrap();
        assert_eq!(
            files.load("migrate.profiles", 3).await.unwrap(),
            Some(other)
        );
        assert_eq!(
            files.load("migrate:profiles", 3).await.unwrap(),
            Some(checkpoint.clone())
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            // The owner's only: they hold record keys.
            let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&dir), 0o700);
            assert_eq!(mode(&files.path("migrate:profiles", 3)), 0o600);
            // A link planted where the next file is written is replaced, not written through.
            let victim = dir.join("victim");
            std::fs::write(&victim, "kept").unwrap();
            let partial = files
                .path("migrate:profiles", 3)
                .with_extension("json.partial");
            std::os::unix::fs::symlink(&victim, &partial).unwrap();
            files.save(&checkpoint).await.unwrap();
            assert_eq!(std::fs::read_to_string(&victim).unwrap(), "kept");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
