//! Log lines carry names, never values: every event crypt-model emits at any level, through a
//! whole life cycle of writes, reads, rotations and refusals, is searched for the secrets.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::*;
use crypt_model::{AttributeValue, CacheLimits, Cipher, Error};

/// Collects everything the subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_log_line_at_any_level_contains_a_secret() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let cipher = Cipher::with_cache_limits(local("k1", 1), CacheLimits::default().max_items(1));
    let item = encrypted_profile(&cipher, "alice", "profile").await;
    encrypted_order(&cipher, "1", "carol").await;
    assert_profile_opens(&Cipher::new(local("k1", 1)), &item).await;

    let mut tampered = item.clone();
    tampered.insert("ssn", item.get("email").unwrap().clone());
    let error = clean(cipher.decrypt(&PROFILES, &tampered).await.unwrap_err());
    assert!(matches!(error, Error::Integrity { .. }));
    let mut moved = item.clone();
    moved.insert("user_id", AttributeValue::S(SSN.into()));
    clean(cipher.decrypt(&PROFILES, &moved).await.unwrap_err());

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("generated a new data key"), "{logs}");
    assert!(logs.contains("unwrapped a data key"), "{logs}");
    assert!(
        logs.contains("integrity check failed") && logs.contains("attribute=\"ssn\""),
        "{logs}"
    );
    // The moved record's key was an SSN: it must not be logged either.
    assert_clean(&logs);
}
