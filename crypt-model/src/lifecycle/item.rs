//! What a job does to one record: a decision from the parsed record and the job's kind, then the
//! record pipeline's steps — open the record the gate admitted, seal it again, rewrite it if it
//! is unchanged since it was read.

use crate::error::KeyError;
use std::sync::{Mutex, MutexGuard, PoisonError};

use lru::LruCache;

use super::JobKind;
use crate::access::{Caller, Logged, Permit, Scope, fingerprint};
use crate::attribute::Item;
use crate::error::{Error, Result, StorageError};
use crate::format::{self, Header, StoredRecord};
use crate::keyring::WrappedDataKey;
use crate::model::EncryptedItem;
use crate::owner_keys::HANDLE_LEN;
use crate::plaintexts::Plaintexts;
use crate::schema::{Schema, Suite};
use crate::store::Store;
use crate::store::{MAX_ITEM_SIZE, item_size};
use crate::table::Records;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What became of one record.
pub(super) enum Outcome {
    /// Rewritten (or, in a dry run, would be); now under this key id and suite.
    Changed(Under),
    /// Left as it is: under this key id and suite, or stored in plaintext (`None`).
    Unchanged(Option<Under>),
    /// Not for this job (stored in plaintext, for a re-encryption, a rewrap or a backfill), or
    /// deleted while it ran.
    Skipped,
    /// Under an owner key that was erased: it fails closed for ever.
    Erased,
    /// Could not be processed, for this reason.
    Failed(String),
}

/// What a sealed record is under: its key id and its suite.
pub(super) type Under = (String, Suite);

/// What one attempt gave: an outcome, or a write refused because the record changed since it
/// was read (read it again and try again).
pub(super) enum Attempt {
    Done(Outcome),
    Changed,
}

/// What a job does with a record, decided from the parsed record alone (no key is needed).
enum Step {
    /// Nothing to do: the outcome is known.
    Done(Outcome),
    /// Open the record and seal it again (a migration, a re-encryption).
    Reseal,
    /// Seal it again if its blind-index attributes are not current.
    Backfill,
    /// Wrap its data key again and seal its message again under the new header.
    Rewrap,
    /// Open it, to check it, and count it.
    Inventory,
    /// Open it (stored in plaintext), to check it, and admit it into the migration plan.
    Admit,
}

/// The handle of an owner's newest key, and when its replacement began (if one is under way).
pub(super) type Newest = ([u8; HANDLE_LEN], Option<u64>);

/// The parts of a job one record's work needs.
pub(super) struct Work<'a, T, S> {
    pub(super) kind: JobKind,
    pub(super) records: &'a Records<T, S>,
    pub(super) caller: &'a Caller,
    pub(super) dry_run: bool,
    /// The key id a record sealed now is under: the keyring's primary key, or the owner's key
    /// (for a re-encryption or a rewrap, and any dry run that seals).
    pub(super) primary: Option<String>,
    /// The data keys a rewrap has wrapped again, by their old key id and wrapped bytes.
    pub(super) rewrapped: Mutex<LruCache<(String, Vec<u8>), WrappedDataKey>>,
    /// The migration plan a plan job admits records into (none in a dry run), and whether the
    /// job opened it.
    pub(super) plan: Option<(String, bool)>,
    /// Whether a plan job admits records the plan admitted with other contents.
    pub(super) reopen: bool,
    /// The handles of owners' newest keys a re-encryption has read, by owner (`None`: the key
    /// table holds no live key of theirs).
    pub(super) handles: Mutex<LruCache<String, Option<Newest>>>,
    /// When the run started, in seconds since the Unix epoch.
    pub(super) started: u64,
}

impl<T: EncryptedItem + Send + Sync, S: Store> Work<'_, T, S> {
    /// What the job's kind does with `stored`, a well-formed record (or one stored in
    /// plaintext), decided before anything is opened.
    fn step(&self, stored: &StoredRecord) -> Step {
        let key_id = key_id(stored);
        let unchanged = || Step::Done(Outcome::Unchanged(key_id.clone()));
        if let (JobKind::Reencrypt | JobKind::Backfill, Some((_, suite))) = (self.kind, &key_id)
            && let Some(reason) = downgrade(&T::SCHEMA, *suite)
        {
            return Step::Done(Outcome::Failed(reason));
        }
        match (self.kind, stored.is_plaintext()) {
            (JobKind::Migrate, false) => unchanged(),
            (JobKind::Reencrypt | JobKind::Rewrap | JobKind::Backfill, true) => {
                Step::Done(Outcome::Skipped)
            }
            (JobKind::Backfill, false) => Step::Backfill,
            // A re-encryption also moves a record to the model's suite (a rewrap keeps its own).
            (JobKind::Reencrypt, false) if key_id == self.current() => unchanged(),
            (JobKind::Rewrap, false) if self.under_primary(key_id.as_ref()) => unchanged(),
            // A record under its owner's key names no key-encryption key: its key is in a row of
            // the key table, which `Keys::rewrap_owner_keys` rewraps.
            (JobKind::Rewrap, false) if stored.header().is_some_and(Header::is_owner_key) => {
                unchanged()
            }
            (JobKind::Rewrap, false) => Step::Rewrap,
            (JobKind::Inventory, true) => Step::Done(Outcome::Unchanged(None)),
            (JobKind::Inventory, false) => Step::Inventory,
            (JobKind::PlanMigration, true) => Step::Admit,
            (JobKind::PlanMigration, false) => unchanged(),
            (JobKind::Migrate | JobKind::Reencrypt, _) => Step::Reseal,
        }
    }

    /// What a record sealed now is under: the primary key (or the owner's) and the model's
    /// suite.
    fn current(&self) -> Option<Under> {
        let primary = self.primary.clone()?;
        Some((primary, T::SCHEMA.sealing_suite()))
    }

    /// Whether `under` names the key a record sealed now is under.
    fn under_primary(&self, under: Option<&Under>) -> bool {
        under.map(|(key_id, _)| key_id) == self.primary.as_ref()
    }

    /// One attempt at `stored`.
    pub(super) async fn attempt(&self, stored: StoredRecord) -> Result<Attempt> {
        if !stored.is_plaintext() && stored.layout().is_err() {
            // Fail closed on what no job should carry over: a value left in plain beside the
            // encrypted message, a header of another version, a missing key or owner.
            return match stored.into_parts().1 {
                Err(error) => record_failure(error),
                Ok(_) => Ok(Attempt::Done(Outcome::Skipped)),
            };
        }
        let key_id = key_id(&stored);
        match self.step(&stored) {
            Step::Done(outcome) => match self.under_an_old_owner_key(&stored).await? {
                None => Ok(Attempt::Done(outcome)),
                Some(true) => self.reseal(stored, false).await,
                // Moved now, it could be followed by a record another process seals under the
                // old key it still caches, which the finish would erase: reported instead.
                Some(false) => Ok(Attempt::Done(Outcome::Failed(
                    "under its owner's old key, and this run started before the key's \
                     replacement had waited out the owner-key cache age: run the re-encryption \
                     again (a new run) once it has"
                        .to_owned(),
                ))),
            },
            Step::Inventory => match self.open(stored).await {
                Ok(_) => Ok(Attempt::Done(Outcome::Unchanged(key_id))),
                Err(error) => record_failure(error),
            },
            Step::Admit => self.admit_plaintext(stored).await,
            Step::Reseal => self.reseal(stored, false).await,
            Step::Backfill => self.reseal(stored, true).await,
            Step::Rewrap => self.rewrap(stored).await,
        }
    }

    /// Whether `stored`, a record a re-encryption would leave as it is, is under a key of its
    /// owner's that is not their newest (their key is being replaced): `Some(true)` when it is to
    /// be moved onto the newest, `Some(false)` when the run started before the replacement's
    /// wait had passed (too soon), `None` when it stays. One read of the key row and one of
    /// the tombstone per owner and run.
    async fn under_an_old_owner_key(&self, stored: &StoredRecord) -> Result<Option<bool>> {
        let (Some(header), Some(owner)) = (stored.header(), stored.owner()) else {
            return Ok(None);
        };
        let owner_keys = self.records.keys().owner_keys();
        let (JobKind::Reencrypt, true, Some(owner_keys)) =
            (self.kind, header.is_owner_key(), owner_keys)
        else {
            return Ok(None);
        };
        let known = lock(&self.handles).get(owner).copied();
        let newest = match known {
            Some(newest) => newest,
            None => {
                let newest = owner_keys.current_handle(T::SCHEMA.table(), owner).await?;
                lock(&self.handles).put(owner.to_owned(), newest);
                newest
            }
        };
        // The wait counts to the run's start: a record another process sealed under the old key
        // behind a run that started too soon would be missed.
        Ok(newest
            .filter(|(newest, _)| newest.as_slice() != header.wrapped())
            .map(|(_, since)| since.is_none_or(|since| owner_keys.waited(since, self.started))))
    }

    /// The gate's permit to read `stored` for the job (a grant use, logged).
    fn admit(&self, stored: StoredRecord) -> Result<Permit<T>> {
        self.records
            .gate
            .permit(self.caller, &T::SCHEMA, stored, Scope::Read, Logged::All)
    }

    /// Opens `stored` as the model (checking the gate, the record's integrity, and that every
    /// field parses), then gives its parts.
    async fn open(&self, stored: StoredRecord) -> Result<(Item, Plaintexts)> {
        let permit = self.admit(stored)?;
        let planning = self.kind == JobKind::PlanMigration;
        self.records.open_parts(permit, planning).await
    }

    /// Admits `stored`, a record stored in plaintext that opens as the model, as it is, into
    /// the migration plan; it stays in plaintext. Logged: at `WARN` when the plan was opened
    /// before this run (a record in plaintext that appeared since is admitted too: one an old
    /// instance wrote during the deploy, or one planted).
    async fn admit_plaintext(&self, stored: StoredRecord) -> Result<Attempt> {
        let snapshot = stored.snapshot();
        if let Err(error) = self.open(stored).await {
            return record_failure(error);
        }
        let (Some((plan, opened_now)), Some(plans)) = (&self.plan, self.records.plans()) else {
            return Ok(Attempt::Done(Outcome::Unchanged(None)));
        };
        let table = self.records.table.name();
        let admitted = match plans
            .admit(table, &T::SCHEMA, plan, &snapshot, self.reopen)
            .await
        {
            Ok(admitted) => admitted,
            Err(error) => return record_failure(error),
        };
        let key = fingerprint(&T::SCHEMA, &snapshot);
        let table = T::SCHEMA.table();
        match (admitted, opened_now) {
            (false, _) => {}
            (true, true) => tracing::info!(
                target: "crypt_model::migration",
                table,
                %key,
                plan,
                "admitted a record stored in plaintext into the migration plan"
            ),
            (true, false) => tracing::warn!(
                target: "crypt_model::migration",
                table,
                %key,
                plan,
                "admitted a record stored in plaintext into a migration plan opened earlier: \
                 written by an old instance during the deploy, or by someone else"
            ),
        }
        Ok(Attempt::Done(Outcome::Unchanged(None)))
    }

    /// Checks that the job may write the record `snapshot` of `owner` (logged as a grant use).
    fn authorize_write(&self, owner: Option<&str>, snapshot: &Item) -> Result<()> {
        self.records
            .gate
            .authorize(self.caller, &T::SCHEMA, owner, snapshot, Scope::Write)
            .map(drop)
    }

    /// Seals `stored` again, under a current data key, and writes it if it is unchanged; for a
    /// backfill, only if a blind-index attribute it holds (or lacks) is not the current index
    /// secret's value for the field.
    async fn reseal(&self, stored: StoredRecord, backfill: bool) -> Result<Attempt> {
        let snapshot = stored.snapshot();
        let plaintext = stored.is_plaintext();
        let owner = stored.owner().map(str::to_owned);
        let key_id = key_id(&stored);
        let (mut item, plaintexts) = match self.open(stored).await {
            Ok(parts) => parts,
            Err(error) => return record_failure(error),
        };
        if backfill {
            match self.index_current(owner.as_deref().unwrap_or_default(), &plaintexts, &snapshot) {
                Ok(true) => return Ok(Attempt::Done(Outcome::Unchanged(key_id))),
                Ok(false) => {}
                Err(error) => return record_failure(error),
            }
        }
        self.authorize_write(owner.as_deref(), &snapshot)?;
        if self.dry_run {
            // A dry run seals nothing (sealing under an owner's key would create the key) and
            // counts the record as changed, under the key it would be under — unless it would
            // not fit in an item once sealed.
            let sealed = item_size(&item)
                + plaintexts.iter().map(|(_, p)| p.len()).sum::<usize>()
                + SEALING_ALLOWANCE;
            if let Some(too_large) = too_large(sealed) {
                return Ok(Attempt::Done(too_large));
            }
            let key_id = self.primary.clone().unwrap_or_default();
            return Ok(Attempt::Done(Outcome::Changed((
                key_id,
                T::SCHEMA.sealing_suite(),
            ))));
        }
        let key_id = match self.records.seal(&mut item, &plaintexts).await {
            Ok(key_id) => key_id,
            Err(error) => return record_failure(error),
        };
        let under = (key_id, T::SCHEMA.sealing_suite());
        if let Some(too_large) = too_large(item_size(&item)) {
            return Ok(Attempt::Done(too_large));
        }
        self.write(&snapshot, plaintext, &item, under).await
    }

    /// Whether every blind-index attribute `stored` holds (or lacks) is the current index
    /// secret's value for its field.
    fn index_current(&self, owner: &str, plaintexts: &Plaintexts, stored: &Item) -> Result<bool> {
        let schema = T::SCHEMA;
        let search = self.records.search();
        for spec in schema.blind_indexes() {
            let expected = plaintexts
                .get_bytes(spec.field())
                .map(|plaintext| search.attribute(schema.table(), spec, owner, plaintext))
                .transpose()?;
            if expected.as_ref() != stored.get(spec.attribute()) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Wraps the data key of `stored` again under the primary key, seals its message again
    /// under the new header, and writes the two if the record is unchanged.
    async fn rewrap(&self, stored: StoredRecord) -> Result<Attempt> {
        let snapshot = stored.snapshot();
        let owner = stored.owner().map(str::to_owned);
        let permit = self.admit(stored)?;
        self.authorize_write(owner.as_deref(), &snapshot)?;
        let Some(header) = permit.record().header() else {
            return record_failure(format::header_integrity());
        };
        // A suite the table does not open is refused before its data key is unwrapped.
        if let Err(error) = self.records.check_suite(&permit) {
            return record_failure(error);
        }
        let old = (header.key_id().to_owned(), header.wrapped().to_vec());
        // A rewrap keeps the record's suite.
        let suite = header.suite();
        let known = lock(&self.rewrapped).get(&old).cloned();
        let rewrapped = match known {
            Some(rewrapped) => rewrapped,
            None => {
                let shared = self.records.keys().shared_keys();
                let Some(admission) = permit.admission() else {
                    return record_failure(format::header_integrity());
                };
                let rewrapped = match shared.rewrap_key(&admission).await {
                    Ok(rewrapped) => rewrapped,
                    Err(error) => return record_failure(error),
                };
                lock(&self.rewrapped).put(old, rewrapped.clone());
                rewrapped
            }
        };
        let sealing = match self.records.rewrap(permit, &rewrapped).await {
            Ok(sealing) => sealing,
            Err(error) => return record_failure(error),
        };
        let mut item = snapshot.clone();
        sealing.apply_to(&mut item);
        let under = (rewrapped.key_id, suite);
        if let Some(too_large) = too_large(item_size(&item)) {
            return Ok(Attempt::Done(too_large));
        }
        if self.dry_run {
            return Ok(Attempt::Done(Outcome::Changed(under)));
        }
        self.write(&snapshot, false, &item, under).await
    }

    /// Writes `item`, sealed under `under`, over `stored` if the record is unchanged since it
    /// was read.
    async fn write(
        &self,
        stored: &Item,
        plaintext: bool,
        item: &Item,
        under: Under,
    ) -> Result<Attempt> {
        match self
            .records
            .rewrite(stored, plaintext, item, Vec::new())
            .await
        {
            Ok(true) => {}
            Ok(false) => return Ok(Attempt::Changed),
            // The store counts an item's size its own way: what it refuses is this record's.
            Err(Error::Storage(StorageError::ItemTooLarge { .. })) => {
                let size = item_size(item).max(MAX_ITEM_SIZE + 1);
                return Ok(Attempt::Done(too_large(size).unwrap_or(Outcome::Skipped)));
            }
            Err(error) => return Err(error),
        }
        if plaintext {
            // Its plaintext copy, put back, is not admitted again.
            if let Some(plans) = self.records.plans() {
                plans
                    .revoke(self.records.table.name(), &T::SCHEMA, stored)
                    .await?;
            }
            // A record found in plaintext is worth a line: from now on it authenticates.
            tracing::warn!(
                target: "crypt_model::migration",
                table = T::SCHEMA.table(),
                key = %fingerprint(&T::SCHEMA, stored),
                "encrypted a record stored in plaintext"
            );
        }
        Ok(Attempt::Done(Outcome::Changed(under)))
    }
}

/// Why a job that reseals a record of `suite`, of a model of `schema`, must not: it would move it from a NIST-approved
/// suite to one that is not, only because this build's default for a model that names no suite
/// is that one (a build without the feature `fips` running over a table a `fips` build wrote).
fn downgrade(schema: &Schema, suite: Suite) -> Option<String> {
    let target = schema.sealing_suite();
    if !suite.nist_approved() || target.nist_approved() || schema.names_suite() {
        return None;
    }
    Some(format!(
        "sealed with {suite}, which this build would replace with {target}, its default for a \
         model that names no suite: name `suite = \"aes256gcm\"` in the model (or run a fips \
         build)"
    ))
}

/// The key id and suite of a record's header, if it has a valid one.
fn key_id(stored: &StoredRecord) -> Option<Under> {
    stored
        .header()
        .map(|header| (header.key_id().to_owned(), header.suite()))
}

/// A record's own error as its outcome; any other stops the job.
fn record_failure(error: Error) -> Result<Attempt> {
    if matches!(error, Error::Key(KeyError::OwnerKeyErased { .. })) {
        Ok(Attempt::Done(Outcome::Erased))
    } else if error.is_about_one_record() {
        Ok(Attempt::Done(Outcome::Failed(error.to_string())))
    } else {
        Err(error)
    }
}

/// What a dry run adds to a record's plain attributes and plaintexts for what sealing adds (the
/// header, the wrapped data key, the salt, the tag, the blind indexes): more than it takes.
const SEALING_ALLOWANCE: usize = 1024;

/// The failure of a record whose item, sealed, would be `size` bytes, past DynamoDB's limit: no
/// write of it could succeed, so it is reported and the job goes on.
fn too_large(size: usize) -> Option<Outcome> {
    (size > MAX_ITEM_SIZE).then(|| {
        Outcome::Failed(format!(
            "sealed, the record is about {size} bytes, over DynamoDB's item limit of \
             {MAX_ITEM_SIZE}: shorten a field (or keep a large one elsewhere, by reference); the \
             record is left as it is"
        ))
    })
}
