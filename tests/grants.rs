//! Grants: a named service opens records it does not own, and each use is logged with caller,
//! table and key, never a value. A binary of its own, because the test installs a log subscriber
//! and tracing's per-callsite caching makes that racy beside other tests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crypt_model::{Caller, Cipher, EncryptedItem, Error, Grant, LocalKeyring};
use crypt_model_tests::capture::capture;
use crypt_model_tests::{Profile, SSN, assert_clean, profile};

fn cipher() -> Cipher {
    Cipher::new(LocalKeyring::new("k1", &[1; 32]).unwrap())
}

#[tokio::test]
async fn a_granted_service_gets_plaintext_and_each_use_is_logged_without_a_value() {
    let (captured, _guard) = capture();

    let cipher = cipher().with_grant(Grant::new("support-tool", "profiles"));
    let item = profile("alice", "profile").to_item(&cipher).await.unwrap();

    let support = Caller::service("support-tool");
    let opened = Profile::from_item(item.clone())
        .unwrap()
        .open(&support, &cipher)
        .await
        .unwrap();
    assert_eq!(opened.ssn.expose_secret(), SSN);

    // The grant is for one service and one table.
    for caller in [
        Caller::service("billing-export"),
        Caller::user("support-tool"),
    ] {
        let error = Profile::from_item(item.clone())
            .unwrap()
            .open(&caller, &cipher)
            .await
            .unwrap_err();
        assert!(matches!(error, Error::AccessDenied { .. }), "{caller:?}");
    }
    let other_table = cipher_with_grant_on("orders");
    let error = Profile::from_item(item)
        .unwrap()
        .open(&support, &other_table)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::AccessDenied { .. }));

    let logs = captured.text();
    let grant_line = logs
        .lines()
        .find(|l| l.contains("policy grant used"))
        .expect(&logs);
    for expected in [
        "INFO",
        "crypt_model::access",
        "caller=\"support-tool\"",
        "table=\"profiles\"",
        "key=user_id=\"alice\" kind=\"profile\"",
    ] {
        assert!(
            grant_line.contains(expected),
            "{expected} missing from: {grant_line}"
        );
    }
    assert_eq!(logs.matches("policy grant used").count(), 1, "{logs}");
    assert!(
        logs.contains("access denied") && logs.contains("billing-export"),
        "{logs}"
    );
    assert_clean(&logs);
}

fn cipher_with_grant_on(table: &str) -> Cipher {
    cipher().with_grant(Grant::new("support-tool", table))
}
