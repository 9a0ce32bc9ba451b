//! Grants narrowed within a value (`Grant::within`, `Caller::service_within`): a service acts on
//! the records whose attribute holds the value it acts within, and on no other, decided on the
//! stored item before any key; and no batch write is a delegate's or a narrowed grant's.
// A case is named as the sentence it checks; its models and helpers serve the cases.
#![allow(missing_docs)]

use crypt_model::error::AccessError;
use crypt_model::{Caller, EncryptedItem, Error, Grant, Key, Query, Scan, Sensitive};

use super::delegation::{DIAGNOSIS, Patient, clinic, fresh_reader, ids, key, patient, user};
use super::{Harness, table};

pub async fn a_grant_narrowed_within_a_value_acts_on_the_records_within_it_only(
    backend: &impl Harness,
) {
    let patients = clinic(backend).await;
    let narrowed = |grant: Grant<Patient>| grant.within("clinic_id").unwrap();
    let patients = patients
        .with_grant(narrowed(Grant::read("front-desk").unwrap()))
        .with_grant(narrowed(Grant::write("front-desk").unwrap()))
        .with_grant(narrowed(Grant::delete("front-desk").unwrap()));
    let desk = Caller::service_within("front-desk", "clinic-1").unwrap();

    // Reads: the records within clinic-1, the others as missing ones, before any key.
    let (reader, reader_keys) = fresh_reader(backend, &patients);
    let reader = reader.with_grant(narrowed(Grant::read("front-desk").unwrap()));
    assert!(reader.get(&desk, &key("ben")).await.unwrap().is_none());
    assert_eq!(reader_keys.keyring_calls().total(), 0);
    assert!(reader.get(&desk, &key("ann")).await.unwrap().is_some());
    let keys: Vec<Key> = ["ann", "ben", "cat", "dan"].map(key).into();
    assert_eq!(
        ids(&patients.batch_get(&desk, &keys).await.unwrap()),
        ["ann", "cat"]
    );
    assert!(
        patients
            .query_all(&desk, Query::partition("ben"))
            .await
            .unwrap()
            .is_empty()
    );
    let found = patients
        .find(&desk, &Patient::by_email("ben@example.com").unwrap())
        .await
        .unwrap();
    assert!(found.is_empty());
    // The same service acting within nothing, or within another clinic, is not let in there.
    let plain = Caller::service("front-desk").unwrap();
    assert!(patients.get(&plain, &key("ann")).await.unwrap().is_none());
    let other = Caller::service_within("front-desk", "clinic-2").unwrap();
    assert!(patients.get(&other, &key("ann")).await.unwrap().is_none());
    // A scan crosses every record: refused.
    let error = patients.scan(&desk, &Scan::all()).await.unwrap_err();
    assert!(
        matches!(error, Error::Access(AccessError::Denied { .. })),
        "{error:?}"
    );

    // Writes stay within: a new record within clinic-1, an update of one, not a record moved in
    // from another clinic nor one moved out.
    patients
        .put(&desk, &mut patient("eve", "dr-a", &[]))
        .await
        .unwrap();
    let mut ann = patients.get(&desk, &key("ann")).await.unwrap().unwrap();
    ann.diagnosis = Sensitive::new("at the desk".to_owned());
    patients
        .update(&desk, &mut ann, &[Patient::DIAGNOSIS])
        .await
        .unwrap();
    let mut ben = patient("ben", "dr-a", &[]);
    ben.version = 1;
    assert!(patients.put(&desk, &mut ben).await.is_err());
    let stored = patients
        .get(&user("ben"), &key("ben"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.clinic_id, "clinic-2");
    let mut ann = patients.get(&desk, &key("ann")).await.unwrap().unwrap();
    ann.clinic_id = "clinic-2".to_owned();
    let error = patients
        .update(&desk, &mut ann, &[Patient::CLINIC_ID])
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Access(AccessError::Denied { .. })),
        "{error:?}"
    );

    // Deletes: within only.
    assert!(!patients.delete(&desk, &key("ben")).await.unwrap());
    assert!(patients.delete(&desk, &key("cat")).await.unwrap());
    assert!(
        patients
            .get(&user("ben"), &key("ben"))
            .await
            .unwrap()
            .is_some()
    );
}

/// A visit: owned by the patient in its key, no version, so that it may be written in a batch.
#[derive(EncryptedItem, Debug)]
#[crypt_model(table = "conf_visits")]
pub struct Visit {
    #[partition_key]
    #[owner]
    pub patient_id: String,
    #[delegate(write)]
    pub doctor_id: String,
    pub clinic_id: String,
    #[sensitive]
    pub notes: Sensitive<String>,
}

pub async fn a_batch_write_is_never_a_delegates_nor_a_narrowed_grants(backend: &impl Harness) {
    let visits = table::<Visit, _>(backend).await.with_grant(
        Grant::write("front-desk")
            .unwrap()
            .within("clinic_id")
            .unwrap(),
    );
    let visit = |doctor: &str| Visit {
        patient_id: "ann".to_owned(),
        doctor_id: doctor.to_owned(),
        clinic_id: "clinic-1".to_owned(),
        notes: Sensitive::new(DIAGNOSIS.to_owned()),
    };
    visits.put(&user("ann"), &mut visit("dr-a")).await.unwrap();
    // Each would overwrite unconditionally: the doctor could name another, the desk replace a
    // record of another clinic.
    for caller in [
        user("dr-a"),
        Caller::service_within("front-desk", "clinic-1").unwrap(),
    ] {
        let error = visits
            .batch_put(&caller, &[visit("dr-z")])
            .await
            .unwrap_err();
        assert!(
            matches!(error, Error::Access(AccessError::Denied { .. })),
            "{error:?}"
        );
    }
    let stored = visits
        .get(&user("ann"), &Visit::key("ann".to_owned()).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.doctor_id, "dr-a");
    // The owner may.
    visits
        .batch_put(&user("ann"), &[visit("dr-b")])
        .await
        .unwrap();
}
