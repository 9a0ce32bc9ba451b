//! Log lines carry names, never values: every event crypt-model emits at any level, through a
//! whole life cycle of writes, reads, rotations and refusals, is searched for the secrets.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::capture::capture;
use common::*;
use crypt_model::error::StorageError;
use crypt_model::{AttributeValue, CacheLimits, Error, Keys};

#[tokio::test]
async fn no_log_line_at_any_level_contains_a_secret() {
    let (captured, _guard) = capture();

    let keys = Keys::with_cache_limits(local("k1", 1), CacheLimits::default().max_items(1));
    let item = encrypted_profile(&keys, "alice", "profile").await;
    encrypted_order(&keys, "1", "carol").await;
    assert_profile_opens(&Keys::new(local("k1", 1)), &item).await;

    let mut tampered = item.clone();
    tampered.insert("display_name", AttributeValue::S("Mallory".into()));
    let error = clean(
        crypt_model::hazmat::decrypt(&keys, &PROFILES, &tampered, &owner(&PROFILES, &tampered))
            .await
            .unwrap_err(),
    );
    assert!(matches!(error, Error::Integrity(_)));
    let mut moved = item.clone();
    moved.insert("user_id", AttributeValue::S(SSN.into()));
    clean(
        crypt_model::hazmat::decrypt(&keys, &PROFILES, &moved, &owner(&PROFILES, &moved))
            .await
            .unwrap_err(),
    );

    let logs = captured.text();
    assert!(logs.contains("generated a new data key"), "{logs}");
    assert!(logs.contains("unwrapped a data key"), "{logs}");
    assert!(
        logs.contains("integrity check failed")
            && logs.contains("crypt_model::integrity")
            && logs.contains("attribute=\"__cm_sealed\""),
        "{logs}"
    );
    // The moved record's key was an SSN: it must not be logged either.
    assert_clean(&logs);
}

#[test]
fn debug_output_shows_fingerprints_never_key_or_plain_values() {
    use crypt_model::store::{Condition, SortCondition};
    use crypt_model::{Item, Key, Query};

    let key = Key::new(EMAIL).with_sort(SSN);
    let same = Key::new(EMAIL).with_sort(SSN);
    let item = Item::from_iter([("email", s(EMAIL)), ("n", AttributeValue::N("4111".into()))]);
    let query = Query::partition(EMAIL).sort(SortCondition::BeginsWith(s(SSN)));
    let unprocessed = Error::Storage(StorageError::Unprocessed {
        table: "contacts".into(),
        keys: vec![key.clone()],
        attempts: 3,
    });
    let condition = Condition::equals("owner", EMAIL);
    for text in [
        format!("{key:?}"),
        format!("{item:?}"),
        format!("{query:?}"),
        format!("{unprocessed:?}"),
        format!("{condition:?}"),
    ] {
        assert_clean(&text);
        assert!(!text.contains("4111"), "{text}");
    }
    assert!(format!("{key:?}").starts_with("Key(kf:"), "{key:?}");
    assert_eq!(
        format!("{key:?}"),
        format!("{same:?}"),
        "stable within the process"
    );
    assert_ne!(format!("{key:?}"), format!("{:?}", Key::new(EMAIL)));
    assert_eq!(
        format!("{:?}", Key::new(AttributeValue::N("1.50".into()))),
        format!("{:?}", Key::new(AttributeValue::N("1.5".into()))),
        "numbers by value"
    );
    assert_eq!(format!("{item:?}"), r#"{"email": S(32 bytes), "n": N}"#);
}

#[derive(crypt_model::EncryptedItem)]
#[crypt_model(table = "traced")]
struct Traced {
    #[partition_key]
    #[owner]
    user_id: String,
    #[sort_key]
    n: u32,
    #[sensitive]
    ssn: crypt_model::Sensitive<String>,
}

#[derive(crypt_model::EncryptedItem)]
#[crypt_model(table = "traced_shared")]
struct Shared {
    #[partition_key]
    topic: String,
    #[sort_key]
    n: u32,
    #[owner]
    author: String,
    #[sensitive]
    note: crypt_model::Sensitive<String>,
}

/// A query reaches the store, and the gate drops what the caller may not see: the trace of
/// another user's query of a partition full of records is the trace of a query of an empty one.
#[tokio::test]
async fn a_foreign_query_leaves_the_trace_of_an_empty_one() {
    use crypt_model::{Caller, MemoryStore, Query, Sensitive, Table};
    let (captured, _guard) = common::capture::capture_spans();
    let keys = std::sync::Arc::new(Keys::new(local("k1", 1)));
    let table = Table::<Shared, _>::new(MemoryStore::new(), keys).unwrap();
    let alice = Caller::user("alice").unwrap();
    for n in 0..3 {
        let mut note = Shared {
            topic: "health".into(),
            n,
            author: "alice".into(),
            note: Sensitive::new(SSN.into()),
        };
        table.put(&alice, &mut note).await.unwrap();
    }
    let mallory = Caller::user("mallory").unwrap();
    let spans_of = |text: &str| -> Vec<String> {
        text.lines()
            .filter_map(|line| line.find("store{").map(|at| &line[at..]))
            .map(|span| span.split(" time.").next().unwrap().to_owned())
            .collect()
    };
    let before = captured.text().len();
    let foreign = table
        .query(&mallory, &Query::partition("health"))
        .await
        .unwrap();
    let middle = captured.text().len();
    let empty = table
        .query(&mallory, &Query::partition("travel"))
        .await
        .unwrap();
    assert!(foreign.items.is_empty() && empty.items.is_empty());
    let text = captured.text();
    let (foreign, empty) = (spans_of(&text[before..middle]), spans_of(&text[middle..]));
    assert!(!foreign.is_empty(), "the query reached no store: {text}");
    assert_eq!(
        foreign, empty,
        "a foreign query's trace differs from an empty one's"
    );
}

/// Every call to the store and to the key provider runs in a span that names the operation, the
/// table and the item count (the key id, for the key provider), and holds no key or value.
#[tokio::test]
async fn store_and_key_provider_calls_run_in_spans_of_names_never_values() {
    use crypt_model::{Caller, Key, MemoryStore, Query, Sensitive, Table, Write};
    let (captured, _guard) = common::capture::capture_spans();
    let keys = std::sync::Arc::new(Keys::new(local("k1", 1)));
    let table = Table::<Traced, _>::new(MemoryStore::new(), keys).unwrap();
    // The owner's id is personal data too: it keys the records, and must not be in a span.
    let owner = "alice.private@example.com";
    let alice = Caller::user(owner).unwrap();
    let record = |n| Traced {
        user_id: owner.into(),
        n,
        ssn: Sensitive::new(SSN.into()),
    };
    table.put(&alice, &mut record(1)).await.unwrap();
    table
        .batch_put(&alice, &[record(2), record(3)])
        .await
        .unwrap();
    // A reader with a cold cache asks the key provider to unwrap.
    let reader = Table::<Traced, _>::new(
        table.store().clone(),
        std::sync::Arc::new(Keys::new(local("k1", 1))),
    )
    .unwrap();
    let key = Key::new(owner).with_sort(1u32);
    assert!(reader.get(&alice, &key).await.unwrap().is_some());
    let page = table.query(&alice, &Query::partition(owner)).await.unwrap();
    assert_eq!(page.items.len(), 3);
    table
        .transact(
            &alice,
            vec![Write::<Traced>::Delete(Key::new(owner).with_sort(3u32))],
        )
        .await
        .unwrap();
    table.delete(&alice, &key).await.unwrap();

    let logs = captured.text();
    for span in [
        r#"store{operation="put" table="traced" items=1}"#,
        r#"store{operation="batch_put" table="traced" items=2}"#,
        r#"store{operation="get" table="traced" items=1}"#,
        r#"store{operation="query" table="traced"}"#,
        r#"store{operation="transact_write" table="traced" items=1}"#,
        r#"store{operation="delete" table="traced" items=1}"#,
        r#"key_provider{operation="generate" table="traced"}"#,
        r#"key_provider{operation="unwrap" table="traced" key_id="k1"}"#,
    ] {
        assert!(logs.contains(span), "no span {span} in:\n{logs}");
    }
    for secret in [SSN, owner, "alice.private"] {
        assert!(!logs.contains(secret), "a span holds {secret}:\n{logs}");
    }
}

/// A table in migration mode, its key an email.
#[derive(crypt_model::EncryptedItem, Debug)]
#[crypt_model(table = "log_customers", migrate_from_plaintext)]
struct Customer {
    #[partition_key]
    #[owner]
    email: String,
    #[sensitive]
    ssn: crypt_model::Sensitive<String>,
    plan: String,
    #[crypt_model(version)]
    version: u64,
}

#[tokio::test]
async fn a_migration_logs_each_plaintext_read_refusal_and_encryption_at_warn_without_a_value() {
    use crypt_model::keyring::LocalErasureKey;
    use crypt_model::lifecycle::Job;
    use crypt_model::store::Condition;
    use crypt_model::{Caller, Grant, Item, MemoryStore, MigrationPlans, Store, Table};
    use std::sync::Arc;

    let (captured, _guard) = capture();
    let store = MemoryStore::new();
    let plans = MigrationPlans::new(store.clone(), "plans", LocalErasureKey::generate().unwrap());
    let table = Table::<Customer, _>::new(store.clone(), Arc::new(Keys::new(local("k1", 1))))
        .unwrap()
        .with_grant(Grant::read("job").unwrap())
        .with_grant(Grant::write("job").unwrap())
        .with_plaintext_migration(plans.unwrap());
    let legacy = |email: &str, ssn: &str| {
        Item::from_iter([
            ("email", s(email)),
            ("ssn", s(ssn)),
            ("plan", s("basic")),
            ("version", AttributeValue::N("1".into())),
        ])
    };
    let put = |item: Item| store.put(table.table_ref(), item, &Condition::Always);
    put(legacy(EMAIL, SSN)).await.unwrap();
    put(legacy(CARD, NOTES)).await.unwrap();
    let job = Caller::service("job").unwrap();
    Job::plan_migration(&table, &job).run().await.unwrap();

    // A read, counted; a record changed since the plan, refused; an update that encrypts.
    let owner = Caller::user(EMAIL).unwrap();
    let mut record = table
        .get(&owner, &Customer::key(EMAIL.to_owned()).unwrap())
        .await
        .unwrap()
        .unwrap();
    put(legacy(CARD, SSN)).await.unwrap();
    let refused = table
        .get(
            &Caller::user(CARD).unwrap(),
            &Customer::key(CARD.to_owned()).unwrap(),
        )
        .await
        .unwrap_err();
    clean(refused);
    record.plan = "gold".into();
    table
        .update(&owner, &mut record, &[Customer::PLAN])
        .await
        .unwrap();
    let report = Job::migrate(&table, &job).run().await.unwrap();
    assert_eq!(report.counts.failed, 1);

    let logs = captured.text();
    let warned = |message: &str| {
        logs.lines().any(|line| {
            line.contains("WARN")
                && line.contains("crypt_model::migration")
                && line.contains(message)
        })
    };
    assert!(warned("read a record stored in plaintext"), "{logs}");
    assert!(
        logs.contains("monotonic_counter.crypt_model_plaintext_reads=1"),
        "{logs}"
    );
    assert!(warned("refused a record stored in plaintext"), "{logs}");
    assert!(
        warned("an update encrypted a record stored in plaintext"),
        "{logs}"
    );
    assert!(warned("opened a migration plan"), "{logs}");
    assert_clean(&logs);
}

/// A patient whose doctor may read the record.
#[derive(crypt_model::EncryptedItem)]
#[crypt_model(table = "log_patients")]
struct Patient {
    #[partition_key]
    #[owner]
    patient_id: String,
    #[delegate]
    doctor_id: String,
    #[sensitive]
    diagnosis: crypt_model::Sensitive<String>,
}

/// A service acting on a person's behalf is logged with both identities, whether it opens the
/// person's own record, one that delegates to them, or is refused; a delegate's use names the
/// delegation; no line holds a value.
#[tokio::test]
async fn an_access_on_a_persons_behalf_is_logged_with_both_identities() {
    use crypt_model::{Caller, MemoryStore, Sensitive, Table};
    let (captured, _guard) = capture();
    let keys = std::sync::Arc::new(Keys::new(local("k1", 1)));
    let table = Table::<Patient, _>::new(MemoryStore::new(), keys).unwrap();
    let mut ann = Patient {
        patient_id: "ann".into(),
        doctor_id: "dr-a".into(),
        diagnosis: Sensitive::new(SSN.into()),
    };
    table
        .put(&Caller::user("ann").unwrap(), &mut ann)
        .await
        .unwrap();
    let key = Patient::key("ann".to_owned()).unwrap();
    let line_of = |text: &str, needle: &str| -> String {
        text.lines()
            .find(|line| line.contains(needle))
            .unwrap_or_else(|| panic!("no line `{needle}` in:\n{text}"))
            .to_owned()
    };

    let web = |person: &str| Caller::on_behalf_of("clinic-web", person).unwrap();
    assert!(table.get(&web("dr-a"), &key).await.unwrap().is_some());
    let line = line_of(&captured.text(), "delegation used to read a record");
    assert!(
        line.contains("caller=\"dr-a\"")
            && line.contains("via=\"clinic-web\"")
            && line.contains("delegation=\"doctor_id\""),
        "{line}"
    );
    // The record's key as its keyed fingerprint, the one its `Key`'s Debug shows (computed only
    // for a subscriber that takes the event).
    let debug = format!("{key:?}");
    let fingerprint = debug.trim_start_matches("Key(").trim_end_matches(')');
    assert!(
        fingerprint.starts_with("kf:") && line.contains(&format!("key={fingerprint}")),
        "{line} / {debug}"
    );
    assert!(table.get(&web("ann"), &key).await.unwrap().is_some());
    let line = line_of(&captured.text(), "a service acted on its user's own record");
    assert!(
        line.contains("caller=\"ann\"") && line.contains("via=\"clinic-web\""),
        "{line}"
    );
    assert!(table.get(&web("dr-b"), &key).await.unwrap().is_none());
    let line = line_of(&captured.text(), "access denied");
    assert!(
        line.contains("caller=\"dr-b\"") && line.contains("via=\"clinic-web\""),
        "{line}"
    );
    // The doctor in person: the delegation is logged, with no service.
    let before = captured.text().len();
    assert!(
        table
            .get(&Caller::user("dr-a").unwrap(), &key)
            .await
            .unwrap()
            .is_some()
    );
    let text = captured.text();
    let line = line_of(&text[before..], "delegation used to read a record");
    assert!(!line.contains("via="), "{line}");
    assert_clean(&text);
}
