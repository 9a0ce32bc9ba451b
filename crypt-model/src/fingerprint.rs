//! Keyed fingerprints of record keys, for logs and `Debug`: a record's key may be personal data
//! (an email as partition key), so what crypt-model prints of it is `HMAC-SHA256(k, key)`
//! truncated to 64 bits, under a key `k` drawn from the operating system once per process. The
//! same key has the same fingerprint for the life of the process, so that the lines of one
//! incident can be joined; a reader cannot recover or test a guessed key without `k`, which never
//! leaves memory.

use std::fmt;
use std::sync::OnceLock;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::encoding::put_bytes;

/// The process's fingerprint key; `None` if the operating system's randomness failed (then no
/// fingerprint is shown at all).
fn process_key() -> Option<&'static Zeroizing<[u8; 32]>> {
    static KEY: OnceLock<Option<Zeroizing<[u8; 32]>>> = OnceLock::new();
    KEY.get_or_init(|| {
        let mut key = Zeroizing::new([0u8; 32]);
        getrandom::fill(key.as_mut_slice()).ok().map(|()| key)
    })
    .as_ref()
}

/// One part of a key: a type tag (1 `S`, 2 `N` in canonical text, 3 `B`, 0 absent or another
/// type) and its bytes.
pub(crate) type Part<'a> = (u8, &'a [u8]);

/// A keyed fingerprint of a key: `kf:` and 16 hex digits.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct KeyFingerprint(Option<[u8; 8]>);

impl KeyFingerprint {
    /// The fingerprint of a key given as its parts (partition key, then sort key if any).
    pub(crate) fn of(parts: &[Part<'_>]) -> Self {
        let Some(key) = process_key() else {
            return KeyFingerprint(None);
        };
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key.as_slice())
            .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
        let mut input = Zeroizing::new(Vec::with_capacity(64));
        for (tag, bytes) in parts {
            input.push(*tag);
            put_bytes(&mut input, bytes);
        }
        mac.update(&input);
        let tag = mac.finalize().into_bytes();
        let mut out = [0u8; 8];
        out.copy_from_slice(&tag[..8]);
        KeyFingerprint(Some(out))
    }
}

impl fmt::Display for KeyFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(bytes) => {
                f.write_str("kf:")?;
                bytes.iter().try_for_each(|b| write!(f, "{b:02x}"))
            }
            None => f.write_str("kf:unavailable"),
        }
    }
}

impl fmt::Debug for KeyFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
