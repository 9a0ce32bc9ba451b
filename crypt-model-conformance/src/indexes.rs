//! Secondary indexes on plain fields, declared on the model: created with the table, queried
//! through the generated function, sorted by the index's sort key, sparse, and answering each
//! caller with its own records only (a granted service with all of them).
// A case is named as the sentence it checks; its models and helpers serve the cases.
#![allow(missing_docs)]

use chrono::{DateTime, Duration, Utc};
use crypt_model::{Caller, EncryptedItem, Grant, Sensitive, Table};
use uuid::Uuid;

use super::{Harness, keys, table};

/// A hospital admission: the patient owns it; the front desk finds admissions by clinic.
#[derive(EncryptedItem, Debug)]
#[crypt_model(
    table = "conf_admissions",
    index(name = "by_clinic", partition = "clinic", sort = "admitted")
)]
pub struct Admission {
    #[partition_key]
    #[owner]
    pub patient: Uuid,
    #[sort_key]
    pub visit: u32,
    pub clinic: Option<String>,
    pub admitted: DateTime<Utc>,
    #[sensitive]
    pub notes: Sensitive<String>,
}

fn admission(patient: Uuid, visit: u32, clinic: Option<&str>, minutes: i64) -> Admission {
    Admission {
        patient,
        visit,
        clinic: clinic.map(str::to_owned),
        admitted: DateTime::UNIX_EPOCH + Duration::minutes(minutes),
        notes: Sensitive::new(format!("notes of visit {visit}")),
    }
}

pub async fn a_declared_index_answers_each_caller_with_its_own_records(backend: &impl Harness) {
    let admissions = table::<Admission, _>(backend).await;
    let (alice_id, bob_id) = (Uuid::from_u128(11), Uuid::from_u128(12));
    let (alice, bob) = (
        Caller::owner(&alice_id).unwrap(),
        Caller::owner(&bob_id).unwrap(),
    );
    // Alice's two visits to the north clinic are written out of order; one visit has no clinic.
    for (caller, mut record) in [
        (&alice, admission(alice_id, 2, Some("north"), 30)),
        (&alice, admission(alice_id, 1, Some("north"), 10)),
        (&bob, admission(bob_id, 1, Some("north"), 20)),
        (&alice, admission(alice_id, 3, None, 5)),
    ] {
        admissions.put(caller, &mut record).await.unwrap();
    }
    let north = || Admission::by_clinic("north").unwrap();

    let mine = admissions.query_all(&alice, north()).await.unwrap();
    let visits: Vec<u32> = mine.iter().map(|a| a.visit).collect();
    assert_eq!(
        visits,
        [1, 2],
        "alice's, by admission time; the visit without a clinic is not indexed"
    );
    assert_eq!(mine[0].notes.expose_secret(), "notes of visit 1");
    let bobs = admissions.query_all(&bob, north()).await.unwrap();
    assert_eq!((bobs.len(), bobs[0].patient), (1, bob_id));

    // A page of one: a cursor only past alice's own records, and none after her last.
    let first = admissions.query(&alice, &north().limit(1)).await.unwrap();
    assert_eq!(first.items.len(), 1);
    let second = admissions
        .query(&alice, &north().limit(1).after(first.cursor))
        .await
        .unwrap();
    assert_eq!(
        second.items.iter().map(|a| a.visit).collect::<Vec<_>>(),
        [2]
    );
    assert!(second.cursor.is_none(), "no cursor past bob's record");

    // The front desk reads every admission of the clinic through a grant; without it, none.
    let desk = Caller::service("front-desk").unwrap();
    let granted =
        Table::<Admission, _>::named(backend.store(), keys(), admissions.table_ref().name())
            .unwrap()
            .with_grant(Grant::read("front-desk").unwrap());
    let all = granted.query_all(&desk, north()).await.unwrap();
    let times: Vec<i64> = all.iter().map(|a| a.admitted.timestamp() / 60).collect();
    assert_eq!(times, [10, 20, 30]);
    // Without the grant, the desk is told it has none (configuration, not an attacker).
    assert!(matches!(
        admissions.query_all(&desk, north()).await,
        Err(crypt_model::Error::Access(
            crypt_model::error::AccessError::NoGrant { .. }
        ))
    ));
    assert!(
        admissions
            .query_all(&alice, Admission::by_clinic("south").unwrap())
            .await
            .unwrap()
            .is_empty()
    );
}
