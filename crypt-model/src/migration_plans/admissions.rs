//! A record's admission into a plan: made by the plan job, checked by every reader of a record
//! stored in plaintext, revoked when the migration encrypts the record, purged when the plan
//! closes; and the reasons a record is refused.

use super::messages::{admission_id, admission_message, content_digest, model_id, now};
use super::{MigrationPlans, MigrationStatus, ROW_KEY};
use crate::attribute::{AttributeValue, Item, Key};
use crate::error::{DataError, Error, Result};
use crate::schema::Schema;
use crate::store::{Condition, Scan, Store};

const NOT_PLANNED: &str = "the table has no migration plan: run the plan job \
                           (`Job::plan_migration`, `crypt-model migrate --plan`) once every \
                           writer encrypts (docs/migration.md)";
const CLOSED: &str = "the table's migration is complete (its plan is closed): a record in \
                      plaintext now was written by someone other than this library; investigate \
                      before anything else";
const EXPIRED: &str = "the table's migration plan expired: look at the records still in \
                       plaintext, then plan again (`Job::reopen_plan`, `crypt-model migrate \
                       --plan --reopen`) and finish the migration";
const NOT_ADMITTED: &str = "the migration plan did not admit this record as it is stored: it \
                            was written or changed in plaintext since the plan, by someone other \
                            than this library; investigate before you plan again";
const OTHER_PLAN: &str = "the record was admitted by an earlier migration plan, not the open \
                          one: investigate, then plan again";
const OTHER_MODEL: &str = "the migration plan admitted this record under another version of \
                           the model: plan with the version that reads it (docs/migration.md)";
const CHANGED_SINCE_ADMITTED: &str = "the migration plan admitted this record with other \
                                      contents: it changed in plaintext since, not by this \
                                      library; investigate, then plan again with \
                                      `Job::reopen_plan(true)` (`--reopen`) to admit it as it is";

impl MigrationPlans {
    /// Admits `item`, a record of `schema` stored in plaintext in the table `table`, as it is,
    /// into the plan `plan`. A record the plan admitted before, as it is now, is left as it is
    /// (`false`); one it admitted with other contents is refused unless `reopen` (it changed in
    /// plaintext since: not by this library).
    pub(crate) async fn admit(
        &self,
        table: &str,
        schema: &Schema,
        plan: &str,
        item: &Item,
        reopen: bool,
    ) -> Result<bool> {
        let id = admission_id(table, schema, item)?;
        let model = model_id(schema);
        let message = admission_message(&id, plan, &model, &content_digest(schema, item)?);
        let key = Key::new(AttributeValue::S(id.clone()));
        if let Some(stored) = self.inner.store.get(&self.inner.table, &key).await? {
            let same_plan = matches!(stored.get("plan"), Some(AttributeValue::S(p)) if p == plan);
            if same_plan && self.verified(&stored, &message).await? {
                return Ok(false);
            }
            if same_plan && !reopen {
                return Err(Error::Data(DataError::PlaintextRefused {
                    table: table.to_owned(),
                    reason: CHANGED_SINCE_ADMITTED.to_owned(),
                }));
            }
        }
        let tag = self.inner.key.sign(&message).await?;
        let entry = Item::from_iter([
            (ROW_KEY, AttributeValue::S(id)),
            ("plan", AttributeValue::S(plan.to_owned())),
            ("model", AttributeValue::S(model)),
            ("key", AttributeValue::S(self.inner.key.key_id().to_owned())),
            ("tag", AttributeValue::B(tag)),
        ]);
        self.inner
            .store
            .put(&self.inner.table, entry, &Condition::Always)
            .await?;
        Ok(true)
    }

    /// Deletes the admission of `item`, a record of `schema` in the table `table`, which the
    /// migration has just encrypted: its plaintext copy, put back, is not read again.
    pub(crate) async fn revoke(&self, table: &str, schema: &Schema, item: &Item) -> Result<()> {
        let key = Key::new(AttributeValue::S(admission_id(table, schema, item)?));
        self.inner
            .store
            .delete(&self.inner.table, &key, &Condition::Always)
            .await
    }

    /// Whether `item`, a record of `schema` stored in plaintext in the table `table`, may be
    /// read: `Ok` when the table's open plan admitted it as it is;
    /// [`DataError::PlaintextRefused`] saying why not; an integrity failure for a plan or an
    /// admission the plans' key did not make.
    pub(crate) async fn check(&self, table: &str, schema: &Schema, item: &Item) -> Result<()> {
        let plan = self.current(table).await?;
        let refused = |reason: &str| -> Result<()> {
            tracing::warn!(
                target: "crypt_model::migration",
                table,
                key = %crate::access::fingerprint(schema, item),
                reason,
                "refused a record stored in plaintext"
            );
            Err(Error::Data(DataError::PlaintextRefused {
                table: table.to_owned(),
                reason: reason.to_owned(),
            }))
        };
        let plan = match plan.as_ref().map(|plan| (plan, plan.status(now()))) {
            None => return refused(NOT_PLANNED),
            Some((_, MigrationStatus::Closed)) => return refused(CLOSED),
            Some((_, MigrationStatus::Expired)) => return refused(EXPIRED),
            Some((plan, _)) => plan,
        };
        let id = admission_id(table, schema, item)?;
        let key = Key::new(AttributeValue::S(id.clone()));
        let Some(stored) = self.inner.store.get(&self.inner.table, &key).await? else {
            return refused(NOT_ADMITTED);
        };
        let named_plan = match stored.get("plan") {
            Some(AttributeValue::S(named)) => named.as_str(),
            _ => "",
        };
        let model = model_id(schema);
        if !matches!(stored.get("model"), Some(AttributeValue::S(named)) if *named == model) {
            // Which error to give only: an admission is believed on its tag alone.
            return refused(OTHER_MODEL);
        }
        let message = admission_message(&id, named_plan, &model, &content_digest(schema, item)?);
        if !self.verified(&stored, &message).await? {
            return refused(NOT_ADMITTED);
        }
        if named_plan != plan.id {
            return refused(OTHER_PLAN);
        }
        Ok(())
    }

    /// Deletes every admission of `table`: after its plan is closed, a plaintext copy put back
    /// is not admitted even if the plan's open state is put back too. How many.
    pub(super) async fn purge(&self, table: &str) -> Result<u64> {
        let prefix = format!("{table}:");
        let mut cursor = None;
        let mut purged = 0;
        loop {
            let page = self
                .inner
                .store
                .scan(&self.inner.table, &Scan::all().after(cursor))
                .await?;
            for item in &page.items {
                if let Some(AttributeValue::S(entry)) = item.get(ROW_KEY)
                    && entry.starts_with(&prefix)
                {
                    let key = Key::new(AttributeValue::S(entry.clone()));
                    let store = &self.inner.store;
                    store
                        .delete(&self.inner.table, &key, &Condition::Always)
                        .await?;
                    purged += 1;
                }
            }
            cursor = page.cursor;
            if cursor.is_none() {
                return Ok(purged);
            }
        }
    }
}
