//! A model that names suite 2 (`#[crypt_model(suite = "aes256gcm")]`, feature `aes-gcm`) is sealed
//! as format version 4 with AES-256-GCM, opens for its owner only, and leaves the default
//! model's records as they were (version 3).
#![cfg(feature = "aes-gcm")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use crypt_model::error::DataError;
use crypt_model::format::{Header, Suite};
use crypt_model::store::Condition;
use crypt_model::{
    Caller, EncryptedItem, Error, Keys, LocalKeyring, MemoryStore, Query, Sensitive, Store, Table,
};

#[derive(EncryptedItem, Debug)]
#[crypt_model(table = "fips_patients", suite = "aes256gcm")]
struct Patient {
    #[partition_key]
    #[owner]
    patient_id: String,
    clinic: String,
    #[sensitive]
    diagnosis: Sensitive<String>,
}

#[derive(EncryptedItem, Debug)]
#[crypt_model(table = "default_patients")]
struct DefaultPatient {
    #[partition_key]
    #[owner]
    patient_id: String,
    #[sensitive]
    diagnosis: Sensitive<String>,
}

/// The same logical table before its move to suite 2 (a `fips` build keeps it on suite 1 only
/// because it names it).
#[derive(EncryptedItem, Debug)]
#[crypt_model(table = "fips_patients", suite = "xchacha20poly1305")]
struct PatientBefore {
    #[partition_key]
    #[owner]
    patient_id: String,
    clinic: String,
    #[sensitive]
    diagnosis: Sensitive<String>,
}

#[tokio::test]
async fn a_model_that_names_aes_256_gcm_is_sealed_with_it_and_opens_for_its_owner_only() {
    // A model that names no suite: suite 1, or suite 2 in a `fips` build.
    let default = if cfg!(feature = "fips") {
        (4, Suite::Aes256Gcm)
    } else {
        (3, Suite::XChaCha20Poly1305)
    };
    assert_eq!(Patient::SCHEMA.suite(), Suite::Aes256Gcm);
    assert_eq!(DefaultPatient::SCHEMA.suite(), default.1);
    let keys = Arc::new(Keys::new(LocalKeyring::generate().unwrap()));
    let store = MemoryStore::new();
    let patients = Table::<Patient, _>::new(store.clone(), keys.clone()).unwrap();
    let ann = Caller::user("ann").unwrap();
    let mut patient = Patient {
        patient_id: "ann".into(),
        clinic: "riverside".into(),
        diagnosis: Sensitive::new("hypertension".into()),
    };
    patients.put(&ann, &mut patient).await.unwrap();

    let stored = store.items("fips_patients").remove(0);
    let header = Header::of_item(&stored).unwrap();
    assert_eq!((header.version(), header.suite()), (4, Suite::Aes256Gcm));
    assert!(!format!("{stored:?}").contains("hypertension"));

    let key = Patient::key("ann".to_owned()).unwrap();
    let read = patients.get(&ann, &key).await.unwrap().unwrap();
    assert_eq!(read.diagnosis.expose_secret(), "hypertension");
    let bob = Caller::user("bob").unwrap();
    assert!(patients.get(&bob, &key).await.unwrap().is_none());

    let defaults = Table::<DefaultPatient, _>::new(store.clone(), keys).unwrap();
    let mut other = DefaultPatient {
        patient_id: "ann".into(),
        diagnosis: Sensitive::new("asthma".into()),
    };
    defaults.put(&ann, &mut other).await.unwrap();
    let stored = store.items("default_patients").remove(0);
    let header = Header::of_item(&stored).unwrap();
    assert_eq!((header.version(), header.suite()), default);
}

/// Keys that open no other suite (the default) refuse a whole record of suite 1 put back in a
/// suite-2 record's place — a record of the table from before its move, genuine, so that nothing
/// else catches it — before any key is asked for; keys that open both read it (the move in
/// progress).
#[tokio::test]
async fn keys_that_open_no_other_suite_refuse_a_suite_1_record_before_asking_for_its_key() {
    let key = [0x42; 32];
    let keyring = || LocalKeyring::new("local", &key).unwrap();
    let store = MemoryStore::new();
    let ann = Caller::user("ann").unwrap();
    // Both suites (a `fips` build opens suite 2 only by default).
    let both = Arc::new(Keys::new(keyring()).with_suites(Suite::ALL));
    put_before(&store, both.clone()).await;
    let old = store.items("fips_patients").remove(0);
    assert_eq!(
        Header::of_item(&old).unwrap().suite(),
        Suite::XChaCha20Poly1305
    );

    let key = Patient::key("ann".to_owned()).unwrap();
    let after = Table::<Patient, _>::new(store.clone(), both.clone()).unwrap();
    let read = after.get(&ann, &key).await.unwrap().unwrap();
    assert_eq!(read.diagnosis.expose_secret(), "old diagnosis");

    let strict = Arc::new(Keys::new(keyring()));
    let strict_table = Table::<Patient, _>::new(store.clone(), strict.clone()).unwrap();
    let mut patient = read;
    patient.diagnosis = Sensitive::new("new diagnosis".into());
    after.put(&ann, &mut patient).await.unwrap();
    let new = store.items("fips_patients").remove(0);
    assert_eq!(Header::of_item(&new).unwrap().suite(), Suite::Aes256Gcm);
    let read = strict_table.get(&ann, &key).await.unwrap().unwrap();
    assert_eq!(read.diagnosis.expose_secret(), "new diagnosis");

    // The old record put back whole: the header, the message and every attribute as they were.
    store
        .put(strict_table.table_ref(), old, &Condition::Always)
        .await
        .unwrap();
    let calls = strict.keyring_calls();
    let refused = |error: Error| {
        let message = error.to_string();
        assert!(
            matches!(
                &error,
                Error::Data(DataError::SuiteNotAllowed {
                    suite: Suite::XChaCha20Poly1305,
                    ..
                })
            ),
            "{error:?}"
        );
        assert!(message.contains("Keys::with_suites"), "{message}");
        assert!(!message.contains("old diagnosis"), "{message}");
    };
    refused(strict_table.get(&ann, &key).await.unwrap_err());
    // A listing names it unreadable, not tampered with, and goes on.
    let listed = strict_table
        .query(&ann, &Query::partition("ann"))
        .await
        .unwrap();
    assert!(listed.items.is_empty());
    let [unreadable] = listed.unreadable.as_slice() else {
        panic!("{listed:?}")
    };
    assert!(!unreadable.tampered, "{unreadable:?}");
    assert!(
        unreadable.reason.contains("Keys::with_suites"),
        "{unreadable:?}"
    );
    assert_eq!(strict.keyring_calls(), calls, "no key was asked for");
    // A table of the suite-1 model opens it with the same strict keys: a model's own suite is
    // always open to its table.
    let own = Table::<PatientBefore, _>::new(store.clone(), strict).unwrap();
    let read = own.get(&ann, &key_before()).await.unwrap().unwrap();
    assert_eq!(read.diagnosis.expose_secret(), "old diagnosis");
}

fn key_before() -> crypt_model::Key {
    PatientBefore::key("ann".to_owned()).unwrap()
}

/// A `fips` build seals a model that names no suite with suite 2; one that names suite 1 keeps
/// it (with a warning at start-up).
#[cfg(feature = "fips")]
#[tokio::test]
async fn a_fips_build_seals_a_model_that_names_no_suite_with_suite_2() {
    assert_eq!(DefaultPatient::SCHEMA.suite(), Suite::Aes256Gcm);
    assert_eq!(PatientBefore::SCHEMA.suite(), Suite::XChaCha20Poly1305);
    let keys = Arc::new(Keys::new(LocalKeyring::generate().unwrap()));
    let store = MemoryStore::new();
    let ann = Caller::user("ann").unwrap();
    Table::<DefaultPatient, _>::new(store.clone(), keys)
        .unwrap()
        .put(
            &ann,
            &mut DefaultPatient {
                patient_id: "ann".into(),
                diagnosis: Sensitive::new("asthma".into()),
            },
        )
        .await
        .unwrap();
    let stored = store.items("default_patients").remove(0);
    assert_eq!(Header::of_item(&stored).unwrap().suite(), Suite::Aes256Gcm);
}

/// A `fips` build opens suite 2 only, unless told otherwise.
#[cfg(feature = "fips")]
#[tokio::test]
async fn a_fips_build_opens_suite_2_only_by_default() {
    let key = [0x42; 32];
    let store = MemoryStore::new();
    let ann = Caller::user("ann").unwrap();
    let both = Arc::new(
        Keys::new(LocalKeyring::new("local", &key).unwrap())
            .with_suites([Suite::XChaCha20Poly1305, Suite::Aes256Gcm]),
    );
    put_before(&store, both.clone()).await;
    let key_of = Patient::key("ann".to_owned()).unwrap();
    let moving = Table::<Patient, _>::new(store.clone(), both).unwrap();
    assert!(moving.get(&ann, &key_of).await.unwrap().is_some());
    let by_default = Arc::new(Keys::new(LocalKeyring::new("local", &key).unwrap()));
    let strict = Table::<Patient, _>::new(store, by_default).unwrap();
    assert!(matches!(
        strict.get(&ann, &key_of).await,
        Err(Error::Data(DataError::SuiteNotAllowed { .. }))
    ));
}

/// A build whose model names no suite seals with suite 1 by default (suite 2 in a `fips` build):
/// its re-encryption of a table that suite 2 wrote refuses to move those records back to suite
/// 1, and says how to avoid it; they stay as they were.
#[cfg(not(feature = "fips"))]
#[tokio::test]
async fn a_reencryption_never_moves_a_record_from_suite_2_to_a_default_suite_1() {
    use crypt_model::Grant;
    use crypt_model::lifecycle::Job;

    /// The model of `Patient`'s table, naming no suite.
    #[derive(EncryptedItem, Debug)]
    #[crypt_model(table = "fips_patients")]
    struct Unnamed {
        #[partition_key]
        #[owner]
        patient_id: String,
        clinic: String,
        #[sensitive]
        diagnosis: Sensitive<String>,
    }

    let keys = Arc::new(
        Keys::new(LocalKeyring::new("local", &[0x42; 32]).unwrap()).with_suites(Suite::ALL),
    );
    let store = MemoryStore::new();
    let ann = Caller::user("ann").unwrap();
    Table::<Patient, _>::new(store.clone(), keys.clone())
        .unwrap()
        .put(
            &ann,
            &mut Patient {
                patient_id: "ann".into(),
                clinic: "riverside".into(),
                diagnosis: Sensitive::new("hypertension".into()),
            },
        )
        .await
        .unwrap();
    let before = store.items("fips_patients");
    let table = Table::<Unnamed, _>::new(store.clone(), keys)
        .unwrap()
        .with_grant(Grant::read("ops").unwrap())
        .with_grant(Grant::write("ops").unwrap());
    let report = Job::reencrypt(&table, &Caller::service("ops").unwrap())
        .run()
        .await
        .unwrap();
    assert_eq!(
        (report.counts.failed, report.counts.changed),
        (1, 0),
        "{report:?}"
    );
    assert!(
        report.failed[0].reason.contains(r#"suite = "aes256gcm""#),
        "{report:?}"
    );
    assert_eq!(
        store.items("fips_patients"),
        before,
        "the record is as it was"
    );
}

/// Ann's record as `PatientBefore` writes it: suite 1, under `keys`.
async fn put_before(store: &MemoryStore, keys: Arc<Keys>) {
    Table::<PatientBefore, _>::new(store.clone(), keys)
        .unwrap()
        .put(
            &Caller::user("ann").unwrap(),
            &mut PatientBefore {
                patient_id: "ann".into(),
                clinic: "riverside".into(),
                diagnosis: Sensitive::new("old diagnosis".into()),
            },
        )
        .await
        .unwrap();
}

/// A rewrap of a record of a suite the table does not open reports it before its data key is
/// unwrapped: the key provider sees no call.
#[tokio::test]
async fn a_rewrap_refuses_a_suite_the_table_does_not_open_before_unwrapping() {
    use crypt_model::Grant;
    use crypt_model::lifecycle::Job;

    let store = MemoryStore::new();
    let writer = LocalKeyring::new("k1", &[1; 32]).unwrap();
    put_before(&store, Arc::new(Keys::new(writer).with_suites(Suite::ALL))).await;
    let rotated = LocalKeyring::new("k2", &[2; 32])
        .unwrap()
        .with_read_key("k1", &[1; 32])
        .unwrap();
    // Suite 2's model, with keys that open no other suite.
    let keys = Arc::new(Keys::new(rotated));
    let table = Table::<Patient, _>::new(store, keys.clone())
        .unwrap()
        .with_grant(Grant::read("ops").unwrap())
        .with_grant(Grant::write("ops").unwrap());
    let report = Job::rewrap(&table, &Caller::service("ops").unwrap())
        .run()
        .await
        .unwrap();
    assert_eq!(
        (report.counts.failed, report.counts.changed),
        (1, 0),
        "{report:?}"
    );
    assert!(
        report.failed[0].reason.contains("Keys::with_suites"),
        "{report:?}"
    );
    assert_eq!(keys.keyring_calls().total(), 0, "no key was unwrapped");
}
