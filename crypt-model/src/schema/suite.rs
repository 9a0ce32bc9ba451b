//! [`Suite`]: the algorithms a model's records are sealed with, which its schema names and each
//! record's header records.

use std::fmt;

/// The algorithms a record is sealed with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Suite {
    /// XChaCha20-Poly1305 under a key derived per item with HKDF-SHA256, blind indexes by
    /// HMAC-SHA-256: every record of format version 3.
    XChaCha20Poly1305,
    /// AES-256-GCM under a key derived per item with HKDF-SHA256, the header committed by an
    /// HMAC-SHA256, blind indexes by HMAC-SHA-256 — every algorithm NIST-approved, the item's
    /// from AWS-LC (feature `aes-gcm`): records of format version 4 with suite byte 2.
    Aes256Gcm,
}

impl Suite {
    /// The suite's name in reports: `xchacha20poly1305-hkdf-sha256`.
    pub fn name(self) -> &'static str {
        match self {
            Suite::XChaCha20Poly1305 => "xchacha20poly1305-hkdf-sha256",
            Suite::Aes256Gcm => "aes256gcm-hkdf-sha256",
        }
    }
}

impl fmt::Display for Suite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
