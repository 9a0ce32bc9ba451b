//! A model that names suite 2 (`#[crypt_model(suite = "aes256gcm")]`, feature `aes-gcm`) is sealed
//! as format version 4 with AES-256-GCM, opens for its owner only, and leaves the default
//! model's records as they were (version 3).
#![cfg(feature = "aes-gcm")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use crypt_model::format::{Header, Suite};
use crypt_model::{Caller, EncryptedItem, Keys, LocalKeyring, MemoryStore, Sensitive, Table};

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

#[tokio::test]
async fn a_model_that_names_aes_256_gcm_is_sealed_with_it_and_opens_for_its_owner_only() {
    assert_eq!(Patient::SCHEMA.suite(), Suite::Aes256Gcm);
    assert_eq!(DefaultPatient::SCHEMA.suite(), Suite::XChaCha20Poly1305);
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
    assert_eq!(
        (header.version(), header.suite()),
        (3, Suite::XChaCha20Poly1305)
    );
}
