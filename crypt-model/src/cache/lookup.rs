//! The read cache's key: a data key is found by its context, its key id and its wrapped bytes,
//! encoded without ambiguity, on the stack when it fits (every read looks one up).

use crate::keyring::EncryptionContext;

/// Calls `f` with the read cache's key: the context, the key id and the wrapped key,
/// unambiguously encoded, in a stack buffer when it fits (every read looks it up).
pub(super) fn with_cache_key<R>(
    context: &EncryptionContext,
    key_id: &str,
    ciphertext: &[u8],
    f: impl FnOnce(&[u8]) -> R,
) -> R {
    let parts: [&[u8]; 6] = {
        let mut entries = context.iter();
        let (k1, v1) = entries.next().unwrap_or_default();
        let (k2, v2) = entries.next().unwrap_or_default();
        [
            k1.as_bytes(),
            v1.as_bytes(),
            k2.as_bytes(),
            v2.as_bytes(),
            key_id.as_bytes(),
            ciphertext,
        ]
    };
    let len: usize = parts.iter().map(|p| 4 + p.len()).sum();
    let fill = |buffer: &mut [u8]| {
        let mut at = 0;
        for part in parts {
            let prefix = u32::try_from(part.len()).unwrap_or(u32::MAX).to_be_bytes();
            buffer[at..at + 4].copy_from_slice(&prefix);
            buffer[at + 4..at + 4 + part.len()].copy_from_slice(part);
            at += 4 + part.len();
        }
    };
    let mut stack = [0u8; 512];
    if len <= stack.len() {
        fill(&mut stack[..len]);
        f(&stack[..len])
    } else {
        let mut heap = vec![0u8; len];
        fill(&mut heap);
        f(&heap)
    }
}
