//! Migration mode bounded by its plan: a record stored in plaintext is read only when the
//! table's open plan admitted it as it is, so that someone who can write to the data table
//! cannot downgrade an encrypted record, plant one, or change one the plan admitted; and the
//! migration's completion turns plaintext reads off for every reader.
// A case is named as the sentence it checks; its helpers serve the cases.
#![allow(missing_docs)]

use std::time::Duration;

use crypt_model::error::DataError;
use crypt_model::lifecycle::Job;
use crypt_model::store::Condition;
use crypt_model::{
    AttributeValue, Caller, EncryptedItem, Error, Item, MigrationPlans, MigrationStatus, Sensitive,
    Store, Table, TableRef,
};

use super::lifecycle::{
    Customer, JOB, complete, customers, keyring, keys, plaintext_item, plan, plan_key, seed, ssn,
    stored,
};
use super::{Harness, s};

/// Alice's record, read by her.
async fn read<S: Store + Clone + 'static>(
    table: &Table<Customer, S>,
    i: usize,
) -> Result<Option<Customer>, Error> {
    let id = format!("u{i:05}");
    table
        .get(&Caller::user(&id).unwrap(), &Customer::key(&id).unwrap())
        .await
}

/// Stores `item` as a raw writer of the table would.
async fn raw_put<S: Store + Clone + 'static>(table: &Table<Customer, S>, item: Item) {
    table
        .store()
        .put(table.table_ref(), item, &Condition::Always)
        .await
        .unwrap();
}

/// Whether `error` is a refusal of plaintext whose reason says `why`.
fn refused(error: &Error, why: &str) -> bool {
    matches!(error, Error::Data(DataError::PlaintextRefused { reason, .. }) if reason.contains(why))
}

pub async fn plaintext_is_read_only_as_the_plan_admitted_it(backend: &impl Harness) {
    let keys = keys(keyring("k1"));
    let table = customers(backend, keys.clone()).await;
    // Before the plan: refused, even in migration mode.
    raw_put(&table, plaintext_item(0)).await;
    let error = read(&table, 0).await.unwrap_err();
    assert!(refused(&error, "no migration plan"), "{error:?}");
    // The same table without plans refuses whatever the model says.
    let unplanned = Table::<Customer, _>::named(
        table.store().clone(),
        keys.clone(),
        table.table_ref().name(),
    )
    .unwrap();
    let error = read(&unplanned, 0).await.unwrap_err();
    assert!(
        refused(&error, "Table::with_plaintext_migration"),
        "{error:?}"
    );
    assert!(!format!("{error} {error:?}").contains(&ssn(0)));

    seed(&table, 4).await;
    assert_eq!(
        read(&table, 0).await.unwrap().unwrap().ssn.expose_secret(),
        &ssn(0)
    );
    assert_eq!(table.plaintext_reads(), 1);

    // A writer of the table changes records the plan admitted: another owner, a changed
    // field, an optional secret dropped. Each is refused, and nothing of it counted as read.
    let mut stolen = plaintext_item(1);
    stolen.insert("plan", s("platinum"));
    raw_put(&table, stolen).await;
    let mut dropped = plaintext_item(3);
    assert!(dropped.remove("card").is_some());
    raw_put(&table, dropped).await;
    for i in [1, 3] {
        let error = read(&table, i).await.unwrap_err();
        assert!(refused(&error, "did not admit"), "record {i}: {error:?}");
    }
    let mut moved = plaintext_item(2);
    moved.insert("user_id", s("u00009"));
    raw_put(&table, moved).await;
    let error = read(&table, 9).await.unwrap_err();
    assert!(refused(&error, "did not admit"), "{error:?}");
    assert_eq!(table.plaintext_reads(), 1);

    // An encrypted record replaced by a plaintext one (a downgrade) is refused.
    let alice = Caller::user("u00000").unwrap();
    let mut record = read(&table, 0).await.unwrap().unwrap();
    table.put(&alice, &mut record).await.unwrap();
    let mut downgraded = plaintext_item(0);
    downgraded.insert("ssn", s("000-00-0000"));
    downgraded.insert("version", AttributeValue::N("9".into()));
    raw_put(&table, downgraded).await;
    let error = read(&table, 0).await.unwrap_err();
    assert!(refused(&error, "did not admit"), "{error:?}");

    // The migration job refuses to seal what the plan did not admit, and leaves it as it is.
    let report = Job::migrate(&table, &Caller::service(JOB).unwrap())
        .run()
        .await
        .unwrap();
    assert_eq!(report.counts.failed, 4, "{:?}", report.failed);
    assert_eq!(
        stored(&table)
            .await
            .iter()
            .filter(|item| item.contains("ssn"))
            .count(),
        4
    );
    // The record it sealed has no admission left: its plan-time copy, put back, is refused.
    raw_put(&table, plaintext_item(2)).await;
    let error = read(&table, 2).await.unwrap_err();
    assert!(refused(&error, "did not admit"), "{error:?}");
    // Planning again does not admit what changed since the plan, unless reopened.
    let job = Caller::service(JOB).unwrap();
    let again = Job::plan_migration(&table, &job).run().await.unwrap();
    let reasons: Vec<&str> = again.failed.iter().map(|f| f.reason.as_str()).collect();
    assert!(
        reasons.iter().any(|r| r.contains("with other contents")),
        "{reasons:?}"
    );
    // Nor does it close the plan while anything is left in plaintext.
    assert!(matches!(
        table
            .plaintext_migration()
            .unwrap()
            .status(table.table_ref().name())
            .await,
        Ok(MigrationStatus::Open { .. })
    ));
}

pub async fn a_completed_migration_closes_its_plan_for_every_reader(backend: &impl Harness) {
    let table = customers(backend, keys(keyring("k1"))).await;
    seed(&table, 3).await;
    let original = plaintext_item(1);
    let plans = table.plaintext_migration().unwrap().clone();
    let name = table.table_ref().name().to_owned();
    assert!(matches!(
        plans.status(&name).await.unwrap(),
        MigrationStatus::Open { expires: Some(_) }
    ));
    let report = complete(Job::migrate(&table, &Caller::service(JOB).unwrap())).await;
    assert_eq!((report.counts.changed, report.counts.plaintext), (3, 0));
    assert_eq!(plans.status(&name).await.unwrap(), MigrationStatus::Closed);
    // No admission is left: a plan put back open (a replayed row) would admit nothing.
    let entries = table
        .store()
        .scan(plans.table_ref(), &crypt_model::Scan::all())
        .await
        .unwrap()
        .items;
    let admissions = entries.iter().filter(|entry| {
        matches!(entry.get("entry"), Some(AttributeValue::S(e)) if e.starts_with(&format!("{name}:")))
    });
    assert_eq!(admissions.count(), 0, "{entries:?}");

    // A plaintext copy the plan admitted, put back after the migration: refused by a reader
    // that reads the plan now.
    raw_put(&table, original).await;
    let fresh = super::lifecycle::under(&table, keys(keyring("k1")));
    let error = read(&fresh, 1).await.unwrap_err();
    assert!(refused(&error, "complete"), "{error:?}");
    // Encrypted records read as ever.
    assert!(read(&fresh, 2).await.unwrap().is_some());
    // Planning again over the closed plan is refused unless asked for: it would admit
    // whatever is in plaintext now. Asked for, it opens a new plan that does (logged).
    let job = Caller::service(JOB).unwrap();
    let error = Job::plan_migration(&table, &job).run().await.unwrap_err();
    assert!(format!("{error}").contains("reopen_plan"), "{error}");
    let report = complete(Job::plan_migration(&table, &job).reopen_plan(true)).await;
    assert_eq!(report.counts.plaintext, 1);
    assert!(read(&fresh, 1).await.unwrap().is_some());
}

pub async fn an_expired_plan_refuses_plaintext(backend: &impl Harness) {
    let table = customers(backend, keys(keyring("k1"))).await;
    let plans_table = backend
        .table(TableRef::new("conf_migration_plans_short", "entry", None).unwrap())
        .await;
    let short = MigrationPlans::new(backend.store(), plans_table.name(), plan_key())
        .unwrap()
        .with_lifetime(Some(Duration::ZERO));
    let table =
        super::lifecycle::under(&table, keys(keyring("k1"))).with_plaintext_migration(short);
    raw_put(&table, plaintext_item(0)).await;
    plan(&table, JOB).await;
    let error = read(&table, 0).await.unwrap_err();
    assert!(refused(&error, "expired"), "{error:?}");
}

pub async fn a_forged_plan_or_admission_is_never_believed(backend: &impl Harness) {
    let table = customers(backend, keys(keyring("k1"))).await;
    raw_put(&table, plaintext_item(0)).await;
    raw_put(&table, plaintext_item(1)).await;
    let plans = table.plaintext_migration().unwrap().clone();
    let store = table.store().clone();
    let plan_table = plans.table_ref().clone();
    // A plan and an admission made by someone without the plans' key.
    let forged_plan = Item::from_iter([
        ("entry", s(table.table_ref().name())),
        ("plan", s("plan-forged")),
        ("state", s("open")),
        ("expires", AttributeValue::N("0".into())),
        ("key", s("migration-1")),
        ("tag", AttributeValue::B(vec![1; 32])),
    ]);
    store
        .put(&plan_table, forged_plan, &Condition::Always)
        .await
        .unwrap();
    let error = read(&table, 0).await.unwrap_err();
    assert!(matches!(error, Error::Integrity(_)), "{error:?}");
    store
        .delete(
            &plan_table,
            &crypt_model::Key::new(s(table.table_ref().name())),
            &Condition::Always,
        )
        .await
        .unwrap();

    // A real plan, which admits both records; then each admission swapped onto the other.
    plan(&table, JOB).await;
    let admissions: Vec<Item> = store
        .scan(&plan_table, &crypt_model::Scan::all())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|item| matches!(item.get("entry"), Some(AttributeValue::S(e)) if e.contains(':')))
        .collect();
    assert_eq!(admissions.len(), 2);
    for admission in &admissions {
        let text = format!("{admission:?}");
        assert!(!text.contains("u0000") && !text.contains(&ssn(0)), "{text}");
    }
    let (a, b) = (&admissions[0], &admissions[1]);
    for (from, onto) in [(a, b), (b, a)] {
        let mut swapped = from.clone();
        swapped.insert("entry", onto.get("entry").unwrap().clone());
        store
            .put(&plan_table, swapped, &Condition::Always)
            .await
            .unwrap();
    }
    for i in [0, 1] {
        let error = read(&table, i).await.unwrap_err();
        assert!(refused(&error, "did not admit"), "record {i}: {error:?}");
    }
}

/// The customers' model, a version later: a new optional field.
#[derive(EncryptedItem, Debug)]
#[crypt_model(table = "conf_migrate", migrate_from_plaintext)]
pub struct CustomerWithTier {
    #[partition_key]
    #[owner]
    pub user_id: String,
    #[sensitive]
    pub ssn: Sensitive<String>,
    #[sensitive]
    pub card: Option<Sensitive<String>>,
    pub plan: String,
    pub tier: Option<String>,
}

pub async fn an_admission_made_under_another_version_of_the_model_is_named_as_such(
    backend: &impl Harness,
) {
    let table = customers(backend, keys(keyring("k1"))).await;
    seed(&table, 1).await;
    let newer = Table::<CustomerWithTier, _>::named(
        table.store().clone(),
        keys(keyring("k1")),
        table.table_ref().name(),
    )
    .unwrap()
    .with_plaintext_migration(table.plaintext_migration().unwrap().clone());
    let error = newer
        .get(
            &Caller::user("u00000").unwrap(),
            &CustomerWithTier::key("u00000").unwrap(),
        )
        .await
        .unwrap_err();
    assert!(refused(&error, "another version of the model"), "{error:?}");
}
