//! Access by relationship: a record's delegation attributes (`#[delegate]`) name who may act on
//! it besides its owner, decided on the stored item before any key is unwrapped. A delegate
//! reads (and, with `#[delegate(write)]`, updates) exactly the records that name them; every
//! other record reads like a missing one on every path; a service on a person's behalf is that
//! person.
// A case is named as the sentence it checks; its models and helpers serve the cases.
#![allow(missing_docs)]

use std::collections::BTreeSet;
use std::sync::Arc;

use crypt_model::error::{AccessError, StorageError};
use crypt_model::{
    AttributeValue, Caller, EncryptedItem, Error, Grant, Key, Query, Scan, Sensitive, Store as _,
    Table, Write,
};

use super::{Harness, keys, table};

/// A clinic's patient: owned by the patient, read by their doctor, read and updated by their
/// care team.
#[derive(EncryptedItem, Debug)]
#[crypt_model(
    table = "conf_patients",
    index(name = "by_doctor", partition = "doctor_id")
)]
pub struct Patient {
    #[partition_key]
    #[owner]
    pub patient_id: String,
    #[crypt_model(version)]
    pub version: u64,
    #[delegate]
    pub doctor_id: String,
    #[delegate(write)]
    pub care_team: BTreeSet<String>,
    /// The clinic whose front desk may act on the record (a grant narrowed within it).
    pub clinic_id: String,
    #[sensitive(index = "exact")]
    pub email: Sensitive<String>,
    #[sensitive]
    pub diagnosis: Sensitive<String>,
}

pub(crate) const DIAGNOSIS: &str = "delegation-case diagnosis 7f3a";

pub(crate) fn patient(id: &str, doctor: &str, team: &[&str]) -> Patient {
    Patient {
        patient_id: id.to_owned(),
        version: 0,
        doctor_id: doctor.to_owned(),
        care_team: team.iter().map(|m| (*m).to_owned()).collect(),
        clinic_id: if doctor == "dr-a" {
            "clinic-1"
        } else {
            "clinic-2"
        }
        .to_owned(),
        email: Sensitive::new(format!("{id}@example.com")),
        diagnosis: Sensitive::new(DIAGNOSIS.to_owned()),
    }
}

pub(crate) fn user(id: &str) -> Caller {
    Caller::user(id).unwrap()
}

pub(crate) fn key(id: &str) -> Key {
    Patient::key(id.to_owned()).unwrap()
}

/// The patients `ann` (dr-a, team nurse-1), `ben` (dr-b, team nurse-1 and nurse-2), `cat`
/// (dr-a, no team) and `dan` (dr-b), each written by its owner; dr-a's patients are at
/// clinic-1, dr-b's at clinic-2.
pub(crate) async fn clinic<H: Harness>(backend: &H) -> Table<Patient, H::Store> {
    let patients = table::<Patient, _>(backend).await;
    for (id, doctor, team) in [
        ("ann", "dr-a", &["nurse-1"][..]),
        ("ben", "dr-b", &["nurse-1", "nurse-2"][..]),
        ("cat", "dr-a", &[][..]),
        ("dan", "dr-b", &[][..]),
    ] {
        patients
            .put(&user(id), &mut patient(id, doctor, team))
            .await
            .unwrap();
    }
    patients
}

/// The same physical table as `patients`, through keys of its own (a cache that starts empty).
pub(crate) fn fresh_reader<H: Harness>(
    backend: &H,
    patients: &Table<Patient, H::Store>,
) -> (Table<Patient, H::Store>, Arc<crypt_model::Keys>) {
    let keys = keys();
    let table = Table::named(backend.store(), keys.clone(), patients.table_ref().name()).unwrap();
    (table, keys)
}

pub(crate) fn ids(records: &[Patient]) -> Vec<&str> {
    let mut ids: Vec<&str> = records.iter().map(|p| p.patient_id.as_str()).collect();
    ids.sort_unstable();
    ids
}

pub async fn a_delegate_reads_exactly_the_records_that_name_them_on_every_path(
    backend: &impl Harness,
) {
    let patients = clinic(backend).await;
    let (reader, reader_keys) = fresh_reader(backend, &patients);
    let (dr_a, dr_b, nurse_1) = (user("dr-a"), user("dr-b"), user("nurse-1"));

    // Another doctor's patient reads as a missing one, and no key is asked for.
    assert!(reader.get(&dr_b, &key("ann")).await.unwrap().is_none());
    assert!(reader.get(&dr_a, &key("nobody")).await.unwrap().is_none());
    assert_eq!(reader_keys.keyring_calls().total(), 0);
    // Their own doctor reads it (one key asked for), as does a member of the care team.
    let ann = reader.get(&dr_a, &key("ann")).await.unwrap().unwrap();
    assert_eq!(ann.diagnosis.expose_secret(), DIAGNOSIS);
    assert_eq!(reader_keys.keyring_calls().unwrap, 1);
    assert!(reader.get(&nurse_1, &key("ann")).await.unwrap().is_some());
    assert!(
        reader
            .get(&user("nurse-2"), &key("ann"))
            .await
            .unwrap()
            .is_none()
    );

    // The declared index by doctor: each doctor their own patients, with the owners' cursor
    // rules (a page of one, a cursor only where another of theirs follows).
    let by_doctor = |doctor: &str| Query::index("by_doctor", doctor);
    let all = patients.query_all(&dr_a, by_doctor("dr-a")).await.unwrap();
    assert_eq!(ids(&all), ["ann", "cat"]);
    assert!(
        patients
            .query_all(&dr_a, by_doctor("dr-b"))
            .await
            .unwrap()
            .is_empty()
    );
    let first = patients
        .query(&dr_a, &by_doctor("dr-a").limit(1))
        .await
        .unwrap();
    assert_eq!(first.items.len(), 1);
    let second = patients
        .query(&dr_a, &by_doctor("dr-a").limit(1).after(first.cursor))
        .await
        .unwrap();
    assert_eq!(second.items.len(), 1);
    assert!(second.cursor.is_none(), "a cursor past dr-a's last patient");
    // A partition of the table named after another owner: only what names the caller.
    let ben = patients
        .query_all(&nurse_1, Query::partition("ben"))
        .await
        .unwrap();
    assert_eq!(ids(&ben), ["ben"]);
    assert!(
        patients
            .query_all(&dr_a, Query::partition("ben"))
            .await
            .unwrap()
            .is_empty()
    );

    // Batches: the records that name the caller, the others left out as missing ones.
    let keys: Vec<Key> = ["ann", "ben", "cat", "dan"].map(key).into();
    let batch = patients.batch_get(&nurse_1, &keys).await.unwrap();
    assert_eq!(ids(&batch), ["ann", "ben"]);
    let batch = patients.batch_get(&dr_b, &keys).await.unwrap();
    assert_eq!(ids(&batch), ["ben", "dan"]);

    // A blind-index search finds the caller's patients only.
    let found = patients
        .find(&dr_a, &Patient::by_email("cat@example.com").unwrap())
        .await
        .unwrap();
    assert_eq!(ids(&found), ["cat"]);
    let found = patients
        .find(&dr_b, &Patient::by_email("cat@example.com").unwrap())
        .await
        .unwrap();
    assert!(found.is_empty());

    // A stored item opened outside a table (a stream consumer's): the same rule.
    let item = backend
        .store()
        .get(patients.table_ref(), &key("ben"))
        .await
        .unwrap()
        .unwrap();
    let gate = crypt_model::access::Gate::<Patient>::new();
    assert!(gate.admit(&dr_a, Patient::from_item(item.clone())).is_err());
    let opened = gate
        .admit(&dr_b, Patient::from_item(item))
        .unwrap()
        .open(patients.keys())
        .await
        .unwrap();
    assert_eq!(opened.patient_id, "ben");
}

pub async fn a_delegate_updates_only_as_its_delegation_allows_and_never_changes_it(
    backend: &impl Harness,
) {
    let patients = clinic(backend).await;
    let (dr_a, nurse_1) = (user("dr-a"), user("nurse-1"));

    // A care-team member (write) updates a field of a record that names them.
    let mut ann = patients.get(&nurse_1, &key("ann")).await.unwrap().unwrap();
    ann.diagnosis = Sensitive::new("revised".to_owned());
    patients
        .update(&nurse_1, &mut ann, &[Patient::DIAGNOSIS])
        .await
        .unwrap();
    let read = patients
        .get(&user("ann"), &key("ann"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.diagnosis.expose_secret(), "revised");

    // The doctor (read) may not update; nor may the nurse change a delegation.
    let mut ann = patients.get(&dr_a, &key("ann")).await.unwrap().unwrap();
    ann.diagnosis = Sensitive::new("by the doctor".to_owned());
    let error = patients
        .update(&dr_a, &mut ann, &[Patient::DIAGNOSIS])
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Access(AccessError::Denied { .. })),
        "{error:?}"
    );
    let mut ann = patients.get(&nurse_1, &key("ann")).await.unwrap().unwrap();
    ann.care_team.insert("nurse-9".to_owned());
    let error = patients
        .update(&nurse_1, &mut ann, &[Patient::CARE_TEAM])
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Access(AccessError::Denied { .. })),
        "{error:?}"
    );
    let mut ann = patients.get(&nurse_1, &key("ann")).await.unwrap().unwrap();
    ann.doctor_id = "dr-b".to_owned();
    let error = patients
        .update(&nurse_1, &mut ann, &[Patient::DOCTOR_ID])
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Access(AccessError::Denied { .. })),
        "{error:?}"
    );
    // A whole put that changes a delegation fails its condition, and changes nothing.
    let mut ann = patients.get(&nurse_1, &key("ann")).await.unwrap().unwrap();
    ann.care_team.insert("nurse-9".to_owned());
    assert!(patients.put(&nurse_1, &mut ann).await.is_err());
    let stored = patients
        .get(&user("ann"), &key("ann"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.care_team, BTreeSet::from(["nurse-1".to_owned()]));
    assert_eq!(stored.diagnosis.expose_secret(), "revised");

    // A record that names the nurse but is not stored, or is stored naming others: the nurse
    // neither creates nor takes it.
    let mut new = patient("eve", "dr-a", &["nurse-1"]);
    assert!(patients.put(&nurse_1, &mut new).await.is_err());
    assert!(
        patients
            .get(&user("eve"), &key("eve"))
            .await
            .unwrap()
            .is_none()
    );
    let mut dan = patient("dan", "dr-b", &["nurse-1"]);
    dan.version = 1;
    assert!(patients.put(&nurse_1, &mut dan).await.is_err());
    let mut dan = patient("dan", "dr-b", &["nurse-1"]);
    dan.version = 1;
    assert!(
        patients
            .update(&nurse_1, &mut dan, &[Patient::DIAGNOSIS])
            .await
            .is_err()
    );
    let stored = patients
        .get(&user("dan"), &key("dan"))
        .await
        .unwrap()
        .unwrap();
    assert!(stored.care_team.is_empty());

    // Nor deletes any record, in a transaction or not.
    assert!(!patients.delete(&nurse_1, &key("ann")).await.unwrap());
    assert!(
        patients
            .transact(&nurse_1, vec![Write::Delete(key("ben"))])
            .await
            .is_err()
    );
    assert!(
        patients
            .get(&user("ann"), &key("ann"))
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        patients
            .get(&user("ben"), &key("ben"))
            .await
            .unwrap()
            .is_some()
    );
}

pub async fn a_service_on_a_persons_behalf_is_that_person_and_never_the_service(
    backend: &impl Harness,
) {
    let patients = clinic(backend)
        .await
        .with_grant(Grant::read("clinic-web").unwrap());
    let web_for = |person: &str| Caller::on_behalf_of("clinic-web", person).unwrap();
    // The service's own grant reads every record; on a doctor's behalf, only theirs.
    assert!(
        patients
            .get(&Caller::service("clinic-web").unwrap(), &key("ben"))
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        patients
            .get(&web_for("dr-a"), &key("ben"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        patients
            .get(&web_for("dr-a"), &key("ann"))
            .await
            .unwrap()
            .is_some()
    );
    // On a patient's behalf, their own record: read and written.
    let mut cat = patients
        .get(&web_for("cat"), &key("cat"))
        .await
        .unwrap()
        .unwrap();
    cat.diagnosis = Sensitive::new("on her behalf".to_owned());
    patients
        .update(&web_for("cat"), &mut cat, &[Patient::DIAGNOSIS])
        .await
        .unwrap();
    // A scan crosses every owner's records: never on a person's behalf.
    let error = patients
        .scan(&web_for("dr-a"), &Scan::all())
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Access(AccessError::Denied { .. })),
        "{error:?}"
    );
}

pub async fn a_delegate_writes_only_through_update_so_a_forged_delegation_is_never_sealed(
    backend: &impl Harness,
) {
    let patients = clinic(backend).await;
    let store = backend.store();
    // A writer of the table names mallory on ann's care team, keeping everything else.
    let mut item = store
        .get(patients.table_ref(), &key("ann"))
        .await
        .unwrap()
        .unwrap();
    item.insert(
        "care_team",
        AttributeValue::Ss(vec!["mallory".to_owned(), "nurse-1".to_owned()]),
    );
    super::put(&store, patients.table_ref(), item.clone()).await;
    // A put as the delegate so named would seal the forgery as ann's: refused.
    let mut forged = patient("ann", "dr-a", &["mallory", "nurse-1"]);
    forged.version = 1;
    let error = patients
        .put(&user("mallory"), &mut forged)
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Access(AccessError::Denied { .. })),
        "{error:?}"
    );
    // An update opens the stored record first: the forgery fails its integrity check.
    let mut forged = patient("ann", "dr-a", &["mallory", "nurse-1"]);
    forged.version = 1;
    let error = patients
        .update(&user("mallory"), &mut forged, &[Patient::DIAGNOSIS])
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Integrity(_)), "{error:?}");
    // Nothing was sealed: the stored item is the forgery, still failing for everyone.
    let stored = store
        .get(patients.table_ref(), &key("ann"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored, item);
    assert!(matches!(
        patients.get(&user("ann"), &key("ann")).await,
        Err(Error::Integrity(_))
    ));
}

pub async fn a_delegation_edited_in_storage_fails_integrity_and_opens_for_no_one(
    backend: &impl Harness,
) {
    let patients = clinic(backend).await;
    let store = backend.store();
    // Someone with write access to the table names dr-b as ann's doctor.
    let mut item = store
        .get(patients.table_ref(), &key("ann"))
        .await
        .unwrap()
        .unwrap();
    item.insert("doctor_id", AttributeValue::S("dr-b".to_owned()));
    super::put(&store, patients.table_ref(), item).await;
    let error = patients.get(&user("dr-b"), &key("ann")).await.unwrap_err();
    assert!(matches!(error, Error::Integrity(_)), "{error:?}");
    // The doctor it named before is named no more: a missing record to them.
    assert!(
        patients
            .get(&user("dr-a"), &key("ann"))
            .await
            .unwrap()
            .is_none()
    );
    // An update through the forged delegation opens nothing either.
    let mut forged = patient("ann", "dr-b", &["nurse-1"]);
    forged.version = 1;
    let result = patients
        .update(&user("dr-b"), &mut forged, &[Patient::DIAGNOSIS])
        .await;
    assert!(
        matches!(
            result,
            Err(Error::Integrity(_)
                | Error::Access(_)
                | Error::Storage(StorageError::Conflict { .. }))
        ),
        "{result:?}"
    );
}
