//! Wiping byte buffers: in one pass, and never through a dangling pointer.
//!
//! Two costs of `zeroize`'s `Vec` impl on the item path, measured on this project's machine
//! (docs/performance.md): it wipes the bytes in use one volatile write at a time (160 ns for a
//! kilobyte, against 15 ns for its slice impl, which wipes in bulk behind an optimisation
//! barrier), and wiping an empty `Vec` passes its dangling pointer to `memset`, which costs
//! 60 ns there (an AVX-512 masked store to an unmapped page). Plaintext buffers are wiped on
//! every read and write, so they go through these functions.

use zeroize::{Zeroize, Zeroizing};

/// Wipes `bytes` — the bytes in use and the spare capacity — and empties it (the allocation
/// stays, wiped).
pub(crate) fn wipe_bytes(bytes: &mut Vec<u8>) {
    if bytes.capacity() == 0 {
        return;
    }
    bytes.as_mut_slice().zeroize();
    bytes.spare_capacity_mut().zeroize();
    bytes.clear();
}

/// The buffer inside `bytes`, which the caller now wipes.
pub(crate) fn unwrap(mut bytes: Zeroizing<Vec<u8>>) -> Vec<u8> {
    let inner = std::mem::take(&mut *bytes);
    // What is left is an empty `Vec` that owns no memory: nothing to wipe or free, and wiping it
    // would cost the dangling-pointer `memset` above.
    std::mem::forget(bytes);
    inner
}

/// Wipes and frees `bytes`.
pub(crate) fn discard(bytes: Zeroizing<Vec<u8>>) {
    wipe_bytes(&mut unwrap(bytes));
}

#[cfg(test)]
mod tests {
    use super::*;

    // That the bytes are zero is shown where it can be observed safely: `tests/wipe/` searches
    // every freed block for the secrets its tests wrote.
    #[test]
    fn a_wiped_buffer_is_empty_and_keeps_its_allocation() {
        let mut bytes = Vec::with_capacity(100);
        bytes.extend_from_slice(&[0xAB; 60]);
        wipe_bytes(&mut bytes);
        assert!(bytes.is_empty() && bytes.capacity() >= 100);
        wipe_bytes(&mut Vec::new());
        let inner = unwrap(Zeroizing::new(vec![1, 2, 3]));
        assert_eq!(inner, [1, 2, 3]);
        discard(Zeroizing::new(inner));
    }
}
