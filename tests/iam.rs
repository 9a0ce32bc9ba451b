//! The AWS setup chapter's rights (docs/guide/aws-setup.md, the table under "What the library
//! calls"), enforced by moto's IAM: each role gets exactly the actions its rows name, and the
//! library's paths are run as that role.
//!
//! How far this goes: moto authorises every DynamoDB and KMS request against the resource `*`
//! and evaluates no condition, so per-table and per-key statements, and the encryption-context
//! condition, cannot be told apart here. What moto can check is the split by action, and that
//! is the split erasure rests on: the application holds `kms:VerifyMac` on the erasure key and
//! not `kms:GenerateMac`, so it can read tombstones and cannot sign one. The rights are read
//! from the chapter itself, so a change there that gave an application role a signing right,
//! or left out one the application needs, fails here.
//!
//! moto's authentication is switched on for the whole server, so these tests have a server of
//! their own: `scripts/test` starts it and exports `CRYPT_MODEL_TEST_IAM_ENDPOINT`.
#![allow(
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

mod moto;

use std::sync::Arc;

use aws_sdk_dynamodb::config::Credentials;
use crypt_model::error::{KeyError, KeyProviderError};
use crypt_model::{Caller, EncryptedItem, Error, Keys, OwnerKeys, Sensitive, Table, Tombstones};
use crypt_model_dynamo::{DynamoStore, KmsErasureKey, KmsKeyring, ProvisionOptions, provision};

/// A patient's record, each owner's records under a key of their own: the model erasure is for.
#[derive(EncryptedItem)]
#[crypt_model(table = "patients", key_per_owner)]
struct Patient {
    #[partition_key]
    #[owner]
    patient_id: String,
    #[sensitive]
    diagnosis: Sensitive<String>,
}

const DIAGNOSIS: &str = "iam-test diagnosis 5b1e";

/// The endpoint of the server these tests switch authentication on in.
fn iam_endpoint() -> String {
    std::env::var("CRYPT_MODEL_TEST_IAM_ENDPOINT").unwrap_or_else(|_| {
        panic!(
            "CRYPT_MODEL_TEST_IAM_ENDPOINT is not set: these tests need a moto server of their \
             own, since they switch its authentication on. Run scripts/test, which starts one, \
             or start a second moto yourself (`.venv/bin/python scripts/moto-server 127.0.0.1 \
             5001`, see tests/moto/mod.rs for the first) and \
             `export CRYPT_MODEL_TEST_IAM_ENDPOINT=http://127.0.0.1:5001`"
        )
    })
}

/// The rights the chapter's row for `use` names: `dynamodb:X` for each action in its DynamoDB
/// column, `kms:X` for each in its KMS column.
fn rights(chapter: &str, use_: &str) -> Vec<String> {
    let row = chapter
        .lines()
        .find(|line| line.starts_with(&format!("| {use_} |")))
        .unwrap_or_else(|| panic!("docs/guide/aws-setup.md has no row `{use_}`"));
    let cells: Vec<&str> = row.split('|').map(str::trim).collect();
    let mut rights = Vec::new();
    for (cell, service) in [(cells[2], "dynamodb"), (cells[3], "kms")] {
        // The actions are the backticked words in CamelCase (not `table/NAME` or `<table>/…`).
        for (i, word) in cell.split('`').enumerate() {
            let action = i % 2 == 1
                && word.starts_with(|c: char| c.is_ascii_uppercase())
                && word.chars().all(|c| c.is_ascii_alphanumeric());
            if action {
                rights.push(format!("{service}:{word}"));
            }
        }
    }
    assert!(!rights.is_empty(), "the row `{use_}` names no action");
    rights
}

/// A user of the IAM server whose only policy allows `actions` on every resource (moto
/// authorises every DynamoDB and KMS request against `*`); its SDK configuration.
async fn user(iam: &aws_sdk_iam::Client, name: &str, actions: &[String]) -> aws_types::SdkConfig {
    iam.create_user().user_name(name).send().await.unwrap();
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{ "Effect": "Allow", "Action": actions, "Resource": "*" }],
    });
    iam.put_user_policy()
        .user_name(name)
        .policy_name("crypt-model")
        .policy_document(policy.to_string())
        .send()
        .await
        .unwrap();
    let key = iam
        .create_access_key()
        .user_name(name)
        .send()
        .await
        .unwrap()
        .access_key
        .unwrap();
    moto::sdk_config_as(
        &iam_endpoint(),
        Credentials::new(
            key.access_key_id,
            key.secret_access_key,
            None,
            None,
            "crypt-model-iam-test",
        ),
    )
}

/// Switches the server's authentication on (`true`) or off, for every client of it.
async fn authenticate(on: bool) {
    let body = if on { "0" } else { "inf" };
    let url = format!("{}/moto-api/reset-auth", iam_endpoint());
    let response = reqwest::Client::new()
        .post(url)
        .body(body)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{response:?}");
}

/// The patients table as a role sees it: its clients are that role's.
fn patients(role: &aws_types::SdkConfig, names: &Names) -> Table<Patient, DynamoStore> {
    let dynamo = aws_sdk_dynamodb::Client::new(role);
    let kms = aws_sdk_kms::Client::new(role);
    let store = DynamoStore::new(dynamo);
    let erasure_key = KmsErasureKey::new(kms.clone(), &names.erasure_key).unwrap();
    let tombstones = Tombstones::new(store.clone(), &names.tombstones, erasure_key).unwrap();
    let owner_keys = OwnerKeys::new(store.clone(), &names.keys, tombstones).unwrap();
    let keyring = KmsKeyring::new(kms, &names.data_key).unwrap();
    let keys = Keys::new(keyring).with_owner_keys(owner_keys);
    Table::named(store, Arc::new(keys), &names.patients).unwrap()
}

/// The tables and keys of the test.
struct Names {
    patients: String,
    keys: String,
    tombstones: String,
    data_key: String,
    erasure_key: String,
}

/// Turns authentication off again when the test ends, also when it fails.
struct AuthenticationOff;

impl Drop for AuthenticationOff {
    fn drop(&mut self) {
        let url = format!("{}/moto-api/reset-auth", iam_endpoint());
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let _ = reqwest::Client::new().post(url).body("inf").send().await;
            });
        })
        .join();
    }
}

#[tokio::test]
async fn the_application_role_of_the_setup_chapter_reads_and_writes_but_cannot_sign_an_erasure() {
    let chapter = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/guide/aws-setup.md"
    ))
    .unwrap();
    let application = [
        rights(&chapter, "application, reads and writes"),
        rights(&chapter, "key table: application, and the jobs"),
    ]
    .concat();
    let erasure = [
        application.clone(),
        rights(
            &chapter,
            "key table: `Table::erase_owner`, `OwnerKeys::reapply_erasures`",
        ),
    ]
    .concat();
    // Nor the migration key's: whoever signs with it admits records in plaintext.
    let migration = rights(
        &chapter,
        "application of a model in migration mode (reads of records stored in plaintext)",
    );
    for rights in [&application, &migration] {
        assert!(
            !rights.iter().any(|right| right == "kms:GenerateMac"),
            "the chapter gives the application a signing right: {rights:?}"
        );
    }

    // The administrator's work, before authentication is on.
    let admin = moto::sdk_config_as(
        &iam_endpoint(),
        Credentials::new("testing", "testing", None, None, "admin"),
    );
    let _off = AuthenticationOff;
    authenticate(false).await;
    let kms = aws_sdk_kms::Client::new(&admin);
    let names = Names {
        patients: moto::unique("patients"),
        keys: moto::unique("owner-keys"),
        tombstones: moto::unique("tombstones"),
        data_key: moto::kms_key(&kms).await,
        erasure_key: moto::kms_hmac_key(&kms).await,
    };
    let as_admin = patients(&admin, &names);
    let dynamo = aws_sdk_dynamodb::Client::new(&admin);
    let owner_keys = as_admin.keys().owner_keys().unwrap();
    for table in [
        as_admin.table_ref(),
        owner_keys.table_ref(),
        owner_keys.tombstones().table_ref(),
    ] {
        provision(&dynamo, table, ProvisionOptions::default())
            .await
            .unwrap();
    }
    let iam = aws_sdk_iam::Client::new(&admin);
    let suffix = moto::unique("");
    let app_role = user(&iam, &format!("app{suffix}"), &application).await;
    let erasure_role = user(&iam, &format!("erasure{suffix}"), &erasure).await;
    let nobody = user(
        &iam,
        &format!("nobody{suffix}"),
        &["sts:GetCallerIdentity".to_owned()],
    )
    .await;
    authenticate(true).await;

    // Authentication is on: a user without the rights is refused (else nothing below tests IAM).
    let alice = Caller::user("alice").unwrap();
    let key = Patient::key("alice".to_owned()).unwrap();
    let refused = patients(&nobody, &names).get(&alice, &key).await;
    assert!(refused.is_err(), "moto's authentication is not on");

    // The application's rights are enough for its work: a new owner's key, a write, a read.
    let app = patients(&app_role, &names);
    let mut record = Patient {
        patient_id: "alice".to_owned(),
        diagnosis: Sensitive::new(DIAGNOSIS.to_owned()),
    };
    app.put(&alice, &mut record).await.unwrap();
    let read = app.get(&alice, &key).await.unwrap().unwrap();
    assert_eq!(read.diagnosis.expose_secret(), DIAGNOSIS);

    // It cannot sign a tombstone: the erasure fails at the signing, and nothing is erased.
    let error = app.erase_owner(&alice, "alice").await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::Key(KeyError::Provider {
                kind: KeyProviderError::AccessDenied,
                ..
            })
        ),
        "{error:?}"
    );
    let read = app.get(&alice, &key).await.unwrap().unwrap();
    assert_eq!(read.diagnosis.expose_secret(), DIAGNOSIS);

    // The erasure role's rights are enough to erase; the application (a process started after
    // it, so that no cached key serves) then reads it as erased.
    let eraser = patients(&erasure_role, &names);
    assert!(eraser.erase_owner(&alice, "alice").await.unwrap());
    let app = patients(&app_role, &names);
    let error = app.get(&alice, &key).await.err().unwrap();
    assert!(
        matches!(error, Error::Key(KeyError::OwnerKeyErased { .. })),
        "{error:?}"
    );
}
