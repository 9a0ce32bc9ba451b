//! XChaCha20-Poly1305 as the format uses it, for field ciphertexts and locally wrapped data
//! keys: `nonce || ciphertext || tag`.

use chacha20poly1305::aead::{AeadInOut, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use zeroize::Zeroizing;

/// The length of a key, in bytes.
pub(crate) use crate::key_bytes::KEY_LEN;
/// The length of a nonce.
pub(crate) const NONCE_LEN: usize = 24;
/// The length of an authentication tag (Poly1305).
pub(crate) const TAG_LEN: usize = 16;

/// Encrypts `plaintext`: `nonce || ciphertext || tag`.
pub(crate) fn seal(
    key: &[u8; KEY_LEN],
    nonce: [u8; NONCE_LEN],
    aad: &[u8],
    plaintext: &[u8],
) -> Vec<u8> {
    seal_with(key, nonce, aad, plaintext.len(), |out| {
        out.extend_from_slice(plaintext)
    })
}

/// Encrypts the `len` bytes of plaintext that `write` appends, in place in the output buffer,
/// which is sized once so that no copy of the plaintext is left in a freed buffer:
/// `nonce || ciphertext || tag`.
pub(crate) fn seal_with(
    key: &[u8; KEY_LEN],
    nonce: [u8; NONCE_LEN],
    aad: &[u8],
    len: usize,
    write: impl FnOnce(&mut Vec<u8>),
) -> Vec<u8> {
    let mut out = Vec::with_capacity(NONCE_LEN + len + TAG_LEN);
    out.extend_from_slice(&nonce);
    write(&mut out);
    debug_assert_eq!(
        out.len(),
        NONCE_LEN + len,
        "the plaintext has the length announced"
    );
    let aead = XChaCha20Poly1305::new(key.into());
    let tag = aead
        .encrypt_inout_detached(&XNonce::from(nonce), aad, (&mut out[NONCE_LEN..]).into())
        .unwrap_or_else(|_| unreachable!("XChaCha20-Poly1305 accepts messages up to 256 GiB"));
    out.extend_from_slice(&tag);
    out
}

/// Opens what [`seal`] wrote; `None` on any failure, without saying which check failed.
pub(crate) fn open(key: &[u8; KEY_LEN], aad: &[u8], sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    let (nonce, rest) = sealed.split_first_chunk::<NONCE_LEN>()?;
    let (body, tag) = rest.split_last_chunk::<TAG_LEN>()?;
    let mut plaintext = Zeroizing::new(body.to_vec());
    let aead = XChaCha20Poly1305::new(key.into());
    aead.decrypt_inout_detached(
        &XNonce::from(*nonce),
        aad,
        plaintext.as_mut_slice().into(),
        &(*tag).into(),
    )
    .ok()?;
    Some(plaintext)
}

/// The plaintext within a buffer that [`open_in_place`] returned.
pub(crate) fn opened_plaintext(opened: &[u8]) -> &[u8] {
    &opened[NONCE_LEN..opened.len() - TAG_LEN]
}

/// Opens what [`seal`] wrote, decrypting in place in `sealed`, which it takes: no copy of the
/// message is made. The buffer comes back wiped on drop, with the plaintext at
/// `NONCE_LEN..len - TAG_LEN`; on any failure, the buffer comes back as it was given (the tag
/// is checked before anything is decrypted: `a_failed_open_gives_the_message_back_unchanged`
/// fails if a release of the AEAD crate decrypts first), so that it can be tried again with
/// other associated data — and wiped on drop all the same.
pub(crate) fn open_in_place(
    key: &[u8; KEY_LEN],
    aad: &[u8],
    sealed: Vec<u8>,
) -> Result<Zeroizing<Vec<u8>>, Zeroizing<Vec<u8>>> {
    let len = sealed.len();
    let (Some(nonce), Some(tag)) = (
        sealed.first_chunk::<NONCE_LEN>().copied(),
        sealed.last_chunk::<TAG_LEN>().copied(),
    ) else {
        return Err(Zeroizing::new(sealed));
    };
    if len < NONCE_LEN + TAG_LEN {
        return Err(Zeroizing::new(sealed));
    }
    let mut sealed = Zeroizing::new(sealed);
    let aead = XChaCha20Poly1305::new(key.into());
    match aead.decrypt_inout_detached(
        &XNonce::from(nonce),
        aad,
        (&mut sealed[NONCE_LEN..len - TAG_LEN]).into(),
        &tag.into(),
    ) {
        Ok(()) => Ok(sealed),
        // Poly1305 is checked before the ciphertext is decrypted: still the ciphertext.
        Err(_) => Err(sealed),
    }
}

#[cfg(test)]
mod tests {
    use super::{open_in_place, seal};

    #[test]
    fn a_failed_open_gives_the_message_back_unchanged() {
        let key = [7; 32];
        let sealed = seal(&key, [9; 24], b"the associated data", b"a secret plaintext");
        // Under other associated data, and under another key: the buffer comes back as given,
        // never (even partly) decrypted, and it still opens with the right data afterwards.
        let again = open_in_place(&key, b"other data", sealed.clone()).unwrap_err();
        assert_eq!(*again, sealed);
        let again = open_in_place(&[8; 32], b"the associated data", again.to_vec()).unwrap_err();
        assert_eq!(*again, sealed);
        let opened = open_in_place(&key, b"the associated data", again.to_vec()).unwrap();
        assert_eq!(super::opened_plaintext(&opened), b"a secret plaintext");
    }
}
