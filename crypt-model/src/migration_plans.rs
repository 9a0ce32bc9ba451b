//! [`MigrationPlans`]: the plans of migrations from plaintext — for each table, the
//! records stored in plaintext when its migration was planned, exactly as they were, each
//! admitted by a tag only the planning role can make — and what a reader asks them before it
//! believes a record stored in plaintext.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::attribute::{AttributeValue, Item, Key, KeyType};
use crate::error::{ConfigError, Error, Result, StorageError};
use crate::keyring::ErasureKey;
use crate::store::{Checked, Condition, Store, TableRef};

mod admissions;
mod messages;

use messages::{now, plan_message};

/// The plan table's partition key.
const ROW_KEY: &str = "entry";
/// How long a reader believes a plan it read: closing a plan reaches every reader within it.
const PLAN_CACHED_FOR: Duration = Duration::from_secs(60);
/// How long a plan admits plaintext unless set otherwise.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(30 * 24 * 3600);

/// The plans of migrations from plaintext, in a table of their own: for each table (by its
/// name in the store), which records stored in plaintext a model in migration mode (`#[crypt_model(migrate_from_plaintext)]`) may read, and
/// until when. Give them to the table with
/// [`Table::with_plaintext_migration`](crate::Table::with_plaintext_migration); without them a
/// record stored in plaintext is refused, migration mode or not.
///
/// The plan job ([`Job::plan_migration`](crate::lifecycle::Job::plan_migration)) scans the table
/// once every writer encrypts, and admits each record it finds in plaintext, *as it is*: an
/// admission is a tag, made by the plans' [`ErasureKey`] (the trait of keys whose signing is a
/// permission), over a digest of every attribute of the record the model knows. Then a reader
/// believes a record stored in plaintext only when:
///
/// - the table's plan is open: made by the plans' key, not closed — the migration job closes it
///   when it leaves nothing in plaintext ([`close`](Self::close) by hand), for every reader
///   within a minute and without a redeploy — and not past its expiry (30 days from the plan
///   by default, [`with_lifetime`](Self::with_lifetime));
/// - the record's admission is one of that plan, made by the plans' key over the record exactly
///   as it is stored.
///
/// So someone who can write to the data table cannot downgrade an encrypted record, plant a
/// record in plaintext, or change one the plan admitted (its owner, a field, an optional secret
/// dropped): each reads as [`DataError::PlaintextRefused`](crate::error::DataError::PlaintextRefused), and the migration job reports it as
/// failed instead of sealing it. The migration job deletes the admission of each record it
/// encrypts, and closing a plan deletes the rest. What remains, until the plan is closed or
/// expires: putting back the plaintext copy of a record the plan admitted that the application
/// (not the job) encrypted since. An admission names the version of the model it was made
/// under: another version refuses it, saying so (plan again with it).
///
/// Planning over a closed or expired plan, or admitting a record the open plan admitted with
/// other contents, needs [`Job::reopen_plan`](crate::lifecycle::Job::reopen_plan): either admits
/// whatever is in plaintext then.
///
/// An admission holds a SHA-256 digest of the table and the record's key, unkeyed (whoever reads
/// the plan table can test a guessed key, an email say, against it: grant its `Scan` to the
/// migration only), the plan's id, the model's id and a tag; a plan holds its table's name, an
/// id, a state and an expiry. Plans are by the table's name in the
/// store ([`Table::table_ref`](crate::Table::table_ref)), so that a model kept in several tables
/// migrates each on its own. Readers need `GetItem` on the table; the
/// planning role (the migration job) `PutItem`, and the key's signing.
#[derive(Clone)]
pub struct MigrationPlans {
    inner: Arc<Inner>,
    /// How long a plan this opens admits plaintext.
    lifetime: Option<Duration>,
}

struct Inner {
    store: Arc<Checked<dyn Store>>,
    table: TableRef,
    key: Arc<dyn ErasureKey>,
    /// The plans read lately, by logical table, with when they were read.
    read: Mutex<HashMap<String, (Instant, Plan)>>,
}

/// The state of a table's migration from plaintext, as its plan says.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MigrationStatus {
    /// No plan: no record stored in plaintext is read.
    Unplanned,
    /// Planned: the records the plan admitted are read in plaintext until `expires` (seconds
    /// since the Unix epoch; `None` for a plan without expiry).
    Open {
        /// When the plan stops admitting plaintext.
        expires: Option<u64>,
    },
    /// Past its expiry: no record stored in plaintext is read; plan again to go on.
    Expired,
    /// Closed (the migration left nothing in plaintext): no record stored in plaintext is read.
    Closed,
}

/// A table's plan, verified.
#[derive(Clone, Debug)]
struct Plan {
    id: String,
    open: bool,
    /// Seconds since the epoch; 0 for none.
    expires: u64,
    /// The stored tag, for a condition on it.
    tag: Vec<u8>,
}

impl Plan {
    fn status(&self, now: u64) -> MigrationStatus {
        match (self.open, self.expires) {
            (false, _) => MigrationStatus::Closed,
            (true, 0) => MigrationStatus::Open { expires: None },
            (true, expires) if now < expires => MigrationStatus::Open {
                expires: Some(expires),
            },
            (true, _) => MigrationStatus::Expired,
        }
    }
}

impl MigrationPlans {
    /// The plan table `name` on `store` (partition key `entry`, a string), its plans and
    /// admissions tagged by `key`: create the table with the store's provisioning
    /// (`crypt_model_dynamo::provision(client, plans.table_ref(), …)`).
    pub fn new(
        store: impl Store + 'static,
        name: &str,
        key: impl ErasureKey + 'static,
    ) -> Result<Self> {
        Ok(MigrationPlans {
            inner: Arc::new(Inner {
                store: Arc::new(Checked::new(store)),
                table: TableRef::new(name, ROW_KEY, None)?.with_key_types(KeyType::S, KeyType::S),
                key: Arc::new(key),
                read: Mutex::new(HashMap::new()),
            }),
            lifetime: Some(DEFAULT_LIFETIME),
        })
    }

    /// How long a plan made from now on admits plaintext (30 days by default); `None` for plans
    /// that never expire (closed by the migration job only).
    pub fn with_lifetime(mut self, lifetime: Option<Duration>) -> Self {
        self.lifetime = lifetime;
        self
    }

    /// The plan table.
    pub fn table_ref(&self) -> &TableRef {
        &self.inner.table
    }

    /// The state of the table `table`'s migration (its name in the store), read from the plan table now.
    ///
    /// Errors: an integrity failure when the stored plan was not made by the plans' key; the
    /// key's and the store's errors.
    pub async fn status(&self, table: &str) -> Result<MigrationStatus> {
        Ok(match self.fetch(table).await? {
            None => MigrationStatus::Unplanned,
            Some(plan) => plan.status(now()),
        })
    }

    /// Closes the table `table`'s plan (its name in the store): no reader reads a record stored in plaintext
    /// any more (each within a minute). The migration job does it when it leaves nothing in
    /// plaintext; close by hand after a migration run in several processes. Whether a plan was
    /// open.
    ///
    /// Errors: an integrity failure when the stored plan was not made by the plans' key; the
    /// key's (its signing) and the store's errors.
    pub async fn close(&self, table: &str) -> Result<bool> {
        let Some(plan) = self.fetch(table).await? else {
            return Ok(false);
        };
        if !plan.open {
            return Ok(false);
        }
        self.write_plan(table, &plan.id, false, plan.expires, Some(&plan.tag))
            .await?;
        let purged = self.purge(table).await?;
        tracing::warn!(
            target: "crypt_model::migration",
            table,
            purged,
            plan = plan.id,
            "closed the migration plan: no record stored in plaintext is read any more"
        );
        Ok(true)
    }

    /// The open plan of `table` to admit records into, and whether it was opened now: the one
    /// stored, if it is open and not expired; else a new one (logged) — over a closed or expired
    /// plan only when `reopen` says so, since a new plan admits whatever is in plaintext then.
    pub(crate) async fn begin(&self, table: &str, reopen: bool) -> Result<(String, bool)> {
        for _ in 0..8 {
            let stored = self.fetch(table).await?;
            match stored.as_ref().map(|plan| plan.status(now())) {
                Some(MigrationStatus::Open { .. }) => {
                    let plan = stored.as_ref().map(|plan| plan.id.clone());
                    return Ok((plan.unwrap_or_default(), false));
                }
                Some(status) if !reopen => {
                    let state = if status == MigrationStatus::Closed {
                        "closed: the migration completed"
                    } else {
                        "expired"
                    };
                    return Err(Error::Config(ConfigError::Unsupported {
                        table: table.to_owned(),
                        operation: "plan-migration",
                        reason: format!(
                            "the table's migration plan is {state}. A new plan admits every \
                             record in plaintext as it is now, including any written or changed \
                             by someone other than this library since: look at the records the \
                             migration reported first, then plan again with \
                             `Job::reopen_plan(true)` (`crypt-model migrate --plan --reopen`)"
                        ),
                    }));
                }
                _ => {}
            }
            let id = crate::random::id("plan-")?;
            let expires = self.lifetime.map_or(0, |lifetime| {
                now().saturating_add(lifetime.as_secs()).max(1)
            });
            let replaced = stored.as_ref().map(|plan| plan.tag.as_slice());
            match self.write_plan(table, &id, true, expires, replaced).await {
                Ok(()) => {
                    tracing::warn!(
                        target: "crypt_model::migration",
                        table,
                        plan = id,
                        expires,
                        "opened a migration plan: the records it admits are read in plaintext"
                    );
                    return Ok((id, true));
                }
                Err(Error::Storage(StorageError::ConditionFailed { .. })) => continue,
                Err(error) => return Err(error),
            }
        }
        Err(Error::Storage(StorageError::Conflict {
            table: self.inner.table.name().to_owned(),
        }))
    }

    /// The plan of `table`, from memory when read within the last minute.
    async fn current(&self, table: &str) -> Result<Option<Plan>> {
        if let Some((read, plan)) = self.lock().get(table)
            && read.elapsed() < PLAN_CACHED_FOR
        {
            return Ok(Some(plan.clone()));
        }
        self.fetch(table).await
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, Plan)>> {
        self.inner
            .read
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The plan of `table` stored now, verified.
    async fn fetch(&self, table: &str) -> Result<Option<Plan>> {
        // Stamped before the request: a plan is believed a minute from when it was asked for.
        let asked = Instant::now();
        let key = Key::new(AttributeValue::S(table.to_owned()));
        let Some(stored) = self.inner.store.get(&self.inner.table, &key).await? else {
            self.lock().remove(table);
            return Ok(None);
        };
        let text = |name: &str| match stored.get(name) {
            Some(AttributeValue::S(s)) => Some(s.clone()),
            _ => None,
        };
        let expires = match stored.get("expires") {
            Some(AttributeValue::N(n)) => n.parse::<u64>().ok(),
            _ => None,
        };
        let (Some(id), Some(state), Some(expires), Some(AttributeValue::B(tag))) =
            (text("plan"), text("state"), expires, stored.get("tag"))
        else {
            return Err(forged_plan(table));
        };
        let open = state == "open";
        if !(open || state == "closed")
            || !self
                .verified(&stored, &plan_message(table, &id, &state, expires))
                .await?
        {
            return Err(forged_plan(table));
        }
        let plan = Plan {
            id,
            open,
            expires,
            tag: tag.clone(),
        };
        let mut read = self.lock();
        // A plan closed is never open again: a slower read of it open does not undo the close.
        let reverted = matches!(read.get(table), Some((_, known)) if known.id == plan.id && !known.open && plan.open);
        if !reverted {
            read.insert(table.to_owned(), (asked, plan.clone()));
        }
        drop(read);
        if plan.open && plan.expires != 0 && plan.expires < now().saturating_add(EXPIRY_WARNING) {
            tracing::warn!(
                target: "crypt_model::migration",
                table,
                expires = plan.expires,
                "the migration plan expires within three days: records still in plaintext will \
                 then be refused; finish the migration"
            );
        }
        Ok(Some(plan))
    }

    /// Whether `stored`'s tag is the plans' key's tag of `message` (and names that key).
    async fn verified(&self, stored: &Item, message: &[u8]) -> Result<bool> {
        let named = matches!(stored.get("key"), Some(AttributeValue::S(id)) if id == self.inner.key.key_id());
        match stored.get("tag") {
            Some(AttributeValue::B(tag)) if named && !tag.is_empty() => {
                self.inner.key.verify(message, tag).await
            }
            _ => Ok(false),
        }
    }

    /// Writes `table`'s plan, if the stored one is still `replaced` (its tag; absent for `None`).
    async fn write_plan(
        &self,
        table: &str,
        id: &str,
        open: bool,
        expires: u64,
        replaced: Option<&[u8]>,
    ) -> Result<()> {
        let state = if open { "open" } else { "closed" };
        let tag = self
            .inner
            .key
            .sign(&plan_message(table, id, state, expires))
            .await?;
        let item = Item::from_iter([
            (ROW_KEY, AttributeValue::S(table.to_owned())),
            ("plan", AttributeValue::S(id.to_owned())),
            ("state", AttributeValue::S(state.to_owned())),
            ("expires", AttributeValue::N(expires.to_string())),
            ("key", AttributeValue::S(self.inner.key.key_id().to_owned())),
            ("tag", AttributeValue::B(tag)),
        ]);
        let condition = match replaced {
            None => Condition::NotExists,
            Some(tag) => Condition::equals("tag", AttributeValue::B(tag.to_vec())),
        };
        self.inner
            .store
            .put(&self.inner.table, item, &condition)
            .await?;
        self.lock().remove(table);
        Ok(())
    }
}

impl fmt::Debug for MigrationPlans {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MigrationPlans")
            .field("table", &self.inner.table.name())
            .field("key", &self.inner.key)
            .field("lifetime", &self.lifetime)
            .finish()
    }
}

/// How long before a plan's expiry its readers are warned, in seconds.
const EXPIRY_WARNING: u64 = 3 * 24 * 3600;

/// The integrity failure of a plan the plans' key did not make.
fn forged_plan(table: &str) -> Error {
    tracing::warn!(
        target: "crypt_model::migration",
        table,
        "a migration plan in the plan table was not made by its key: forged or edited in storage"
    );
    Error::integrity("plan")
}
