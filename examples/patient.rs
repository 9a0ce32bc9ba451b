//! A patient service, written the way a team would: UUID ids that are also the owner,
//! timestamps, optional and list-valued secrets, a nested sensitive struct and enum, a counter, a
//! flag, a secondary index for the front desk and a blind index to find a patient by email. No
//! newtype and no hand-written impl: every field's type is stored as `docs/types.md` says.
//!
//! Run: `cargo run --example patient`.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use crypt_model::{
    Caller, EncryptedItem, Grant, IndexSecret, Keys, LocalKeyring, MemoryStore, Sensitive,
    SerdePlaintext, Table,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use zeroize::Zeroize; // zeroize = { version = "1", features = ["derive"] } in Cargo.toml

/// Who to call: a nested struct, encrypted as one value.
#[derive(Serialize, Deserialize, Zeroize, SerdePlaintext, Debug, PartialEq)]
struct EmergencyContact {
    name: String,
    phone: String,
}

/// How the patient is covered: an enum with data, encrypted as one value.
#[derive(Serialize, Deserialize, Zeroize, SerdePlaintext, Debug, PartialEq)]
enum Coverage {
    SelfPay,
    Insured { insurer: String, member_id: String },
}

#[derive(EncryptedItem, Debug)]
#[crypt_model(
    table = "patients",
    index(name = "by_clinic", partition = "clinic", sort = "registered")
)]
struct Patient {
    #[partition_key]
    #[owner]
    patient_id: Uuid,
    registered: DateTime<Utc>,
    clinic: String,
    visits: u64,
    active: bool,
    #[crypt_model(version)]
    version: u64,
    #[sensitive(index = "exact", normalize = "trim_lowercase", scope = "table")]
    email: Sensitive<String>,
    #[sensitive]
    born: Sensitive<NaiveDate>,
    #[sensitive]
    preferred_name: Option<Sensitive<String>>,
    #[sensitive]
    allergies: Sensitive<Vec<String>>,
    #[sensitive]
    contact: Sensitive<EmergencyContact>,
    #[sensitive]
    coverage: Sensitive<Coverage>,
}

fn patient(
    id: Uuid,
    clinic: &str,
    email: &str,
    registered: &str,
) -> Result<Patient, Box<dyn std::error::Error>> {
    Ok(Patient {
        patient_id: id,
        registered: DateTime::parse_from_rfc3339(registered)?.with_timezone(&Utc),
        clinic: clinic.into(),
        visits: 0,
        active: true,
        version: 0,
        email: Sensitive::new(email.into()),
        born: Sensitive::new(NaiveDate::from_ymd_opt(1984, 7, 1).ok_or("a date")?),
        preferred_name: None,
        allergies: Sensitive::new(vec!["penicillin".into()]),
        contact: Sensitive::new(EmergencyContact {
            name: "Sam Rivera".into(),
            phone: "+1 555 0100".into(),
        }),
        coverage: Sensitive::new(Coverage::Insured {
            insurer: "Acme Health".into(),
            member_id: "AH-99-1234".into(),
        }),
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let store = MemoryStore::new();
    let keys =
        Arc::new(Keys::new(LocalKeyring::generate()?).with_index_secret(IndexSecret::generate()?));
    let patients = Table::<Patient, _>::new(store.clone(), keys.clone())?;

    // Two patients register; each is the owner of their record, identified by their UUID.
    let (ana_id, ben_id) = (Uuid::from_u128(0xa1), Uuid::from_u128(0xb2));
    let (ana, ben) = (Caller::owner(&ana_id)?, Caller::owner(&ben_id)?);
    let mut record = patient(ana_id, "north", "Ana@Example.com", "2026-03-01T09:30:00Z")?;
    patients.put(&ana, &mut record).await?;
    patients
        .put(
            &ben,
            &mut patient(ben_id, "north", "ben@example.com", "2026-03-02T11:00:00Z")?,
        )
        .await?;

    // What the database holds: UUIDs, timestamps and counters in plain, the rest sealed.
    let stored = store.items("patients").remove(0);
    println!(
        "Stored item, as DynamoDB JSON:\n{}\n",
        stored.to_dynamodb_json()
    );

    // Ana updates her allergies and preferred name: the fields are named by the model's
    // selectors, so a typo does not compile; the update requires the version she read.
    let mut mine = patients
        .get(&ana, &Patient::key(ana_id)?)
        .await?
        .ok_or("ana's record is missing")?;
    mine.allergies.expose_secret_mut().push("latex".into());
    mine.preferred_name = Some(Sensitive::new("Annie".into()));
    mine.visits += 1;
    patients
        .update(
            &ana,
            &mut mine,
            &[Patient::ALLERGIES, Patient::PREFERRED_NAME, Patient::VISITS],
        )
        .await?;
    let mine = patients
        .get(&ana, &Patient::key(ana_id)?)
        .await?
        .ok_or("ana's record is missing")?;
    println!(
        "ana reads her record: allergies {:?}, preferred name {:?}, visits {}, version {}",
        mine.allergies.expose_secret(),
        mine.preferred_name
            .as_ref()
            .map(|n| n.expose_secret().as_str()),
        mine.visits,
        mine.version
    );

    // Ana finds her own record by email (the blind index normalises case and spaces).
    let found = patients
        .find(&ana, &Patient::by_email(" ana@example.com")?)
        .await?;
    println!("ana finds by email: {} record(s)", found.len());

    // Ben asks for Ana's record: the answer is the one for a record that does not exist.
    let theirs = patients.get(&ben, &Patient::key(ana_id)?).await?;
    println!(
        "ben asks for ana's record: {}",
        if theirs.is_none() {
            "not found"
        } else {
            "FOUND (bug!)"
        }
    );

    // The front desk lists the north clinic's patients through the secondary index, by
    // registration time, with a read grant; a patient querying it sees only themselves.
    let desk = Caller::service("front-desk")?;
    let front_desk =
        Table::<Patient, _>::new(store.clone(), keys)?.with_grant(Grant::read("front-desk")?);
    let clinic = front_desk
        .query_all(&desk, Patient::by_clinic("north")?)
        .await?;
    let names: Vec<String> = clinic.iter().map(|p| p.patient_id.to_string()).collect();
    println!("front desk, north clinic: {names:?}");
    let own = patients
        .query_all(&ben, Patient::by_clinic("north")?)
        .await?;
    println!("ben, north clinic: {} record(s)", own.len());
    println!("debug-printed, secrets stay redacted: {:?}", own[0].contact);
    Ok(())
}
