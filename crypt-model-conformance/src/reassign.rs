//! Handing a record on: the delegates of a `#[delegate(write, reassign)]` attribute may change
//! it in an update, decided on the stored record, which must name them in that attribute.
// A case is named as the sentence it checks; its models and helpers serve the cases.
#![allow(missing_docs)]

use std::collections::BTreeSet;

use crypt_model::error::{AccessError, StorageError};
use crypt_model::{EncryptedItem, Error, Sensitive};

use super::delegation::{DIAGNOSIS, user};
use super::{Harness, table};

/// A client's case file: the case worker may hand it to a colleague (`reassign`); supervisors
/// read it.
#[derive(EncryptedItem, Debug)]
#[crypt_model(table = "conf_case_files")]
pub struct CaseFile {
    #[partition_key]
    #[owner]
    pub client_id: String,
    #[crypt_model(version)]
    pub version: u64,
    #[delegate(write, reassign)]
    pub case_worker: Option<String>,
    #[delegate]
    pub supervisors: BTreeSet<String>,
    /// Assistants update the file; the case is not theirs to hand on.
    #[delegate(write)]
    pub assistants: BTreeSet<String>,
    #[sensitive]
    pub notes: Sensitive<String>,
}

pub async fn a_reassignable_delegation_is_handed_on_only_by_the_delegate_it_names(
    backend: &impl Harness,
) {
    let files = table::<CaseFile, _>(backend).await;
    let key = CaseFile::key("c-1".to_owned()).unwrap();
    let mut file = CaseFile {
        client_id: "c-1".to_owned(),
        version: 0,
        case_worker: Some("cw-diaz".to_owned()),
        supervisors: BTreeSet::from(["sup-obi".to_owned()]),
        assistants: BTreeSet::from(["as-kim".to_owned()]),
        notes: Sensitive::new(DIAGNOSIS.to_owned()),
    };
    files.put(&user("c-1"), &mut file).await.unwrap();

    // Someone the file does not name cannot hand it to themselves, and is answered as for a
    // missing file.
    let mut taken = files.get(&user("c-1"), &key).await.unwrap().unwrap();
    taken.case_worker = Some("cw-mallory".to_owned());
    let error = files
        .update(&user("cw-mallory"), &mut taken, &[CaseFile::CASE_WORKER])
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Storage(StorageError::Conflict { .. })),
        "{error:?}"
    );
    let mut missing = files.get(&user("c-1"), &key).await.unwrap().unwrap();
    missing.client_id = "c-404".to_owned();
    let error = files
        .update(&user("cw-mallory"), &mut missing, &[CaseFile::CASE_WORKER])
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Storage(StorageError::Conflict { .. })),
        "{error:?}"
    );
    // Nor can a delegate of another attribute (an assistant, who may write) hand it on.
    let mut taken = files.get(&user("as-kim"), &key).await.unwrap().unwrap();
    taken.case_worker = Some("as-kim".to_owned());
    assert!(
        files
            .update(&user("as-kim"), &mut taken, &[CaseFile::CASE_WORKER])
            .await
            .is_err()
    );
    // Nor by a whole put, as the worker it names.
    let mut put = files.get(&user("cw-diaz"), &key).await.unwrap().unwrap();
    put.case_worker = Some("cw-park".to_owned());
    assert!(files.put(&user("cw-diaz"), &mut put).await.is_err());
    // The worker may not change the supervisors (not reassignable).
    let mut file = files.get(&user("cw-diaz"), &key).await.unwrap().unwrap();
    file.supervisors.clear();
    let error = files
        .update(&user("cw-diaz"), &mut file, &[CaseFile::SUPERVISORS])
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Access(AccessError::Denied { .. })),
        "{error:?}"
    );
    // A supervisor (read) may not reassign.
    let mut file = files.get(&user("sup-obi"), &key).await.unwrap().unwrap();
    file.case_worker = Some("sup-obi".to_owned());
    assert!(
        files
            .update(&user("sup-obi"), &mut file, &[CaseFile::CASE_WORKER])
            .await
            .is_err()
    );
    assert_eq!(
        files
            .get(&user("c-1"), &key)
            .await
            .unwrap()
            .unwrap()
            .case_worker
            .as_deref(),
        Some("cw-diaz")
    );

    // The worker hands it on: the colleague is in, the worker out.
    let mut file = files.get(&user("cw-diaz"), &key).await.unwrap().unwrap();
    file.case_worker = Some("cw-park".to_owned());
    files
        .update(&user("cw-diaz"), &mut file, &[CaseFile::CASE_WORKER])
        .await
        .unwrap();
    assert!(files.get(&user("cw-diaz"), &key).await.unwrap().is_none());
    assert!(files.get(&user("as-kim"), &key).await.unwrap().is_some());
    let file = files.get(&user("cw-park"), &key).await.unwrap().unwrap();
    assert_eq!(file.notes.expose_secret(), DIAGNOSIS);
    assert_eq!(file.supervisors, BTreeSet::from(["sup-obi".to_owned()]));
}
