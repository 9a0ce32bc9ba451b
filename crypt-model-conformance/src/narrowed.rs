//! Grants narrowed within a value (`Grant::within`, `Caller::service_within`): a service acts on
//! the records whose attribute holds the value it acts within, and on no other, decided on the
//! stored item before any key; no batch write is a delegate's or a narrowed grant's; and a
//! service with no grant at all on the model is told so.
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

    // A delegate (the nurse, who may update ann's record) cannot hand it to another clinic's
    // desk: the attribute a grant is narrowed by is not the delegate's to change.
    let nurse = user("nurse-1");
    let mut ann = patients.get(&nurse, &key("ann")).await.unwrap().unwrap();
    ann.clinic_id = "clinic-2".to_owned();
    let error = patients
        .update(&nurse, &mut ann, &[Patient::CLINIC_ID])
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Access(AccessError::Denied { .. })),
        "{error:?}"
    );
    assert_eq!(
        patients
            .get(&user("ann"), &key("ann"))
            .await
            .unwrap()
            .unwrap()
            .clinic_id,
        "clinic-1"
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

pub async fn a_service_with_no_grant_on_the_model_is_told_so_on_every_operation(
    backend: &impl Harness,
) {
    let patients = clinic(backend)
        .await
        .with_grant(Grant::read("support").unwrap());
    // A misspelt service: configuration gone wrong, said plainly, not answered as missing.
    let typo = Caller::service("suport").unwrap();
    let no_grant = |result: Result<(), Error>, operation: &str| {
        let error = result.unwrap_err();
        match &error {
            Error::Access(AccessError::NoGrant { service, table, .. }) => {
                assert_eq!(
                    (service.as_str(), table.as_str()),
                    ("suport", "conf_patients")
                );
            }
            other => panic!("{operation}: {other:?}"),
        }
        let message = error.to_string();
        assert!(
            message.contains("suport") && message.contains("Grant"),
            "{message}"
        );
        assert!(!message.contains("ann"), "{message}");
    };
    no_grant(patients.get(&typo, &key("ann")).await.map(drop), "get");
    no_grant(
        patients
            .query_all(&typo, Query::partition("ann"))
            .await
            .map(drop),
        "query_all",
    );
    no_grant(
        patients
            .query_all(&typo, Query::index("by_doctor", "dr-a"))
            .await
            .map(drop),
        "index query",
    );
    no_grant(
        patients
            .find(&typo, &Patient::by_email("ann@example.com").unwrap())
            .await
            .map(drop),
        "find",
    );
    no_grant(
        patients.batch_get(&typo, &[key("ann")]).await.map(drop),
        "batch_get",
    );
    no_grant(patients.scan(&typo, &Scan::all()).await.map(drop), "scan");
    no_grant(
        patients
            .put(&typo, &mut patient("zed", "dr-a", &[]))
            .await
            .map(drop),
        "put",
    );
    no_grant(
        patients.delete(&typo, &key("ann")).await.map(drop),
        "delete",
    );
    // A granted service outside its scope is answered as before: nothing to delete.
    let support = Caller::service("support").unwrap();
    assert!(!patients.delete(&support, &key("ann")).await.unwrap());
    assert!(patients.get(&support, &key("ann")).await.unwrap().is_some());
}

pub async fn a_service_that_may_only_write_cannot_name_a_reader(backend: &impl Harness) {
    let patients = clinic(backend)
        .await
        .with_grant(Grant::write("importer").unwrap())
        .with_grant(Grant::read("records-office").unwrap())
        .with_grant(Grant::write("records-office").unwrap());
    // The importer writes, and may not read: adding a user of its own to the care team would let
    // that user read what the importer cannot.
    let mut ann = patients
        .get(&user("ann"), &key("ann"))
        .await
        .unwrap()
        .unwrap();
    ann.care_team.insert("importer-bot".to_owned());
    let importer = Caller::service("importer").unwrap();
    let error = patients
        .update(&importer, &mut ann, &[Patient::CARE_TEAM])
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Access(AccessError::Denied { .. })),
        "{error:?}"
    );
    assert!(
        patients
            .get(&user("importer-bot"), &key("ann"))
            .await
            .unwrap()
            .is_none()
    );
    // Its other updates stand; a service that also reads may change the care team.
    let mut ann = patients
        .get(&user("ann"), &key("ann"))
        .await
        .unwrap()
        .unwrap();
    ann.diagnosis = Sensitive::new("imported".to_owned());
    patients
        .update(&importer, &mut ann, &[Patient::DIAGNOSIS])
        .await
        .unwrap();
    let office = Caller::service("records-office").unwrap();
    let mut ann = patients.get(&office, &key("ann")).await.unwrap().unwrap();
    ann.care_team.insert("nurse-3".to_owned());
    patients
        .update(&office, &mut ann, &[Patient::CARE_TEAM])
        .await
        .unwrap();
    assert!(
        patients
            .get(&user("nurse-3"), &key("ann"))
            .await
            .unwrap()
            .is_some()
    );
}
