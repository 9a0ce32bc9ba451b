//! The access log on every path: grant uses (with their scope) and refusals are logged with the
//! caller, the table and a keyed fingerprint of the record's key — never the key itself, which
//! may be personal data, and never a value. A binary of its own, because the test installs a log
//! subscriber and tracing's per-callsite caching makes that racy beside other tests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::sync::Arc;

use crypt_model::{
    Caller, EncryptedItem, Grant, IndexSecret, Key, Keys, LocalKeyring, MemoryStore, Query,
    Sensitive, Table,
};
use crypt_model_tests::capture::capture;
use crypt_model_tests::{EMAIL, SSN, assert_clean};

/// A contact whose key is personal data: an email address.
#[derive(EncryptedItem, Debug)]
#[crypt_model(table = "contacts")]
struct Contact {
    #[partition_key]
    email: String,
    #[owner]
    user_id: String,
    #[sensitive(index = "exact")]
    ssn: Sensitive<String>,
}

fn contact(email: &str, owner: &str) -> Contact {
    Contact {
        email: email.into(),
        user_id: owner.into(),
        ssn: Sensitive::new(SSN.into()),
    }
}

fn user(id: &str) -> Caller {
    Caller::user(id).unwrap()
}

fn service(name: &str) -> Caller {
    Caller::service(name).unwrap()
}

/// The `key=` field of a log line.
fn key_field(line: &str) -> &str {
    let start = line.find("key=").expect(line) + 4;
    line[start..].split_whitespace().next().unwrap()
}

#[tokio::test]
async fn every_access_path_logs_a_fingerprint_of_the_key_and_never_the_key() {
    let (captured, _guard) = capture();
    let keys = Arc::new(
        Keys::new(LocalKeyring::new("k1", &[1; 32]).unwrap())
            .with_index_secret(IndexSecret::from_bytes(&[2; 32]).unwrap()),
    );
    let store = MemoryStore::new();
    let contacts = Table::<Contact, _>::new(store.clone(), keys.clone())
        .unwrap()
        .with_grant(Grant::read("support-tool").unwrap())
        .with_grant(Grant::write("importer").unwrap())
        .with_grant(Grant::delete("eraser").unwrap());
    let (alice, mallory) = (user("alice"), user("mallory"));
    let key = Key::new(EMAIL);

    contacts
        .put(&alice, &mut contact(EMAIL, "alice"))
        .await
        .unwrap();
    // Refused: a read, a takeover, a delete, a query, a batch, a search, the raw API.
    assert!(contacts.get(&mallory, &key).await.unwrap().is_none());
    let error = contacts
        .put(&mallory, &mut contact(EMAIL, "mallory"))
        .await
        .unwrap_err();
    assert_clean(&error.to_string());
    assert!(!contacts.delete(&mallory, &key).await.unwrap());
    assert!(
        contacts
            .query_all(&mallory, Query::partition(EMAIL))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        contacts
            .batch_get(&mallory, std::slice::from_ref(&key))
            .await
            .unwrap()
            .is_empty()
    );
    let lookup = Contact::by_ssn(SSN).unwrap();
    assert!(contacts.find(&mallory, &lookup).await.unwrap().is_empty());
    // A service with no grant on the model is told so (and logged), not answered as missing.
    assert!(matches!(
        contacts.get(&service("billing"), &key).await,
        Err(crypt_model::Error::Access(
            crypt_model::error::AccessError::NoGrant { .. }
        ))
    ));
    let stored = store.items("contacts").remove(0);
    assert!(
        Contact::from_item(stored.clone())
            .open(&mallory, &keys)
            .await
            .is_err()
    );

    // Granted: each scope.
    let support = service("support-tool");
    assert!(contacts.get(&support, &key).await.unwrap().is_some());
    assert_eq!(
        contacts
            .query_all(&support, Query::partition(EMAIL))
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        contacts
            .batch_get(&support, std::slice::from_ref(&key))
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(contacts.find(&support, &lookup).await.unwrap().len(), 1);
    let sealed = Contact::from_item(stored);
    let debug = format!("{sealed:?}");
    assert!(
        sealed
            .open_with(&support, contacts.gate(), &keys)
            .await
            .is_ok()
    );
    contacts
        .put(
            &service("importer"),
            &mut contact("carol.private@example.org", "carol"),
        )
        .await
        .unwrap();
    assert!(contacts.delete(&service("eraser"), &key).await.unwrap());

    let logs = captured.text();
    assert!(
        !logs.contains(EMAIL) && !logs.contains("carol.private"),
        "{logs}"
    );
    assert!(
        !debug.contains(EMAIL) && !debug.contains("alice"),
        "{debug}"
    );
    assert_clean(&logs);
    // A service with no grant on the model is refused before any record: its line names the
    // service and the model, and no key.
    let no_grant = logs
        .lines()
        .find(|l| l.contains("a service with no grant on this model"))
        .unwrap_or_else(|| panic!("{logs}"));
    assert!(
        no_grant.contains("WARN")
            && no_grant.contains("caller=\"billing\"")
            && no_grant.contains("model=\"grants::Contact\"")
            && !no_grant.contains("key="),
        "{no_grant}"
    );
    let lines: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("crypt_model::access") && *l != no_grant)
        .collect();
    for line in &lines {
        let key = key_field(line);
        assert!(
            key.len() == 19
                && key.starts_with("kf:")
                && key[3..].bytes().all(|b| b.is_ascii_hexdigit()),
            "{line}"
        );
    }
    let denied: Vec<&&str> = lines
        .iter()
        .filter(|l| l.contains("access denied"))
        .collect();
    assert!(denied.iter().all(|l| l.contains("WARN")), "{logs}");
    assert!(
        denied.iter().any(|l| l.contains("caller=\"mallory\"")),
        "{logs}"
    );
    for scope in ["read", "write", "delete"] {
        let used = format!("policy grant used to {scope} a record");
        assert!(
            lines.iter().any(|l| l.contains("INFO")
                && l.contains(&used)
                && l.contains(&format!("scope=\"{scope}\""))),
            "{scope}: {logs}"
        );
    }
    // The same record has the same fingerprint in every line about it, and Debug shows it too.
    let fingerprints: BTreeSet<&str> = lines
        .iter()
        .filter(|l| {
            l.contains("support-tool")
                || l.contains("caller=\"mallory\" service=false scope=\"read\"")
        })
        .map(|l| key_field(l))
        .collect();
    assert_eq!(fingerprints.len(), 1, "{logs}");
    let fingerprint = fingerprints.into_iter().next().unwrap();
    assert!(debug.contains(fingerprint), "{debug}");
}
