//! The secrets the tests write, and the checks that search every string a test sees for them.
//! Shared by crypt-model's tests and the workspace's (`tests/lib.rs` includes this file).
#![allow(dead_code, unreachable_pub, clippy::panic)]

use crypt_model::{AttributeValue, Error, Item};

/// A US social security number.
pub const SSN: &str = "078-05-1120";
/// An email address.
pub const EMAIL: &str = "alice.secret.mailbox@example.com";
/// A note of a diagnosis.
pub const NOTES: &str = "diagnosis-confidential-7f3a9c";
/// A card number.
pub const CARD: &str = "4111-1111-1111-1111";

/// Every secret a test in this suite writes; no string a test sees may contain one.
pub const SECRETS: &[&str] = &[
    SSN,
    EMAIL,
    NOTES,
    CARD,
    "078-05",
    "4111-1111",
    "confidential-7f3a",
];

/// Panics if `text` contains any secret.
pub fn assert_clean(text: &str) {
    for secret in SECRETS {
        assert!(!text.contains(secret), "a secret leaked into: {text}");
    }
}

/// Panics if the `Display` or the `Debug` of `error` contains a secret; returns the error.
pub fn clean(error: Error) -> Error {
    assert_clean(&error.to_string());
    assert_clean(&format!("{error:?}"));
    let mut source = std::error::Error::source(&error);
    while let Some(s) = source {
        assert_clean(&s.to_string());
        source = s.source();
    }
    error
}

/// Panics unless the item, as stored, holds no secret: not in its `Debug`, not in any binary
/// attribute's bytes.
pub fn assert_item_clean(item: &Item) {
    assert_clean(&format!("{item:?}"));
    for (_, value) in item.iter() {
        if let AttributeValue::B(bytes) = value {
            for secret in SECRETS {
                assert!(
                    !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                    "a secret is in a stored binary attribute"
                );
            }
        }
    }
}
