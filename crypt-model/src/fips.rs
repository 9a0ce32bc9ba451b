//! What a `fips` build takes from AWS-LC's FIPS module besides a suite's message (docs/fips.md):
//! randomness and blind indexes. Which suite a model seals with there is `Schema::suite`'s, and
//! the warning about a model that names a non-approved one is its table's. The functions over
//! AWS-LC are built with the feature `aes-gcm` too, so that the default test build checks them
//! against the RustCrypto code they replace in a `fips` build.

#[cfg(feature = "aes-gcm")]
use crate::error::{Error, Result};

/// Whether this build takes its primitives from AWS-LC's FIPS module.
pub(crate) const FIPS: bool = cfg!(feature = "fips");

/// Fills `buf` from AWS-LC's random bit generator (its FIPS module's DRBG in a `fips` build).
#[cfg(feature = "aes-gcm")]
#[cfg_attr(not(feature = "fips"), allow(dead_code))]
pub(crate) fn fill(buf: &mut [u8]) -> Result<()> {
    aws_lc_rs::rand::fill(buf).map_err(|_| Error::Key(crate::error::KeyError::Randomness))
}

/// HMAC-SHA256 over the concatenation of `parts`, under the key HKDF-SHA256 expands from
/// `secret` (with the default salt, a hash length of zeros) and `info`: a blind index's tag,
/// through AWS-LC.
#[cfg(feature = "aes-gcm")]
#[cfg_attr(not(feature = "fips"), allow(dead_code))]
pub(crate) fn index_tag(secret: &[u8], info: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    use aws_lc_rs::{hkdf, hmac};

    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, &[0; 32]).extract(secret);
    let info = [info];
    let key: hmac::Key = prk
        .expand(&info, hmac::HMAC_SHA256)
        .map(hmac::Key::from)
        .unwrap_or_else(|_| unreachable!("32 bytes is a valid HKDF-SHA256 output length"));
    let mut context = hmac::Context::with_key(&key);
    for part in parts {
        context.update(part);
    }
    let mut tag = [0; 32];
    tag.copy_from_slice(context.sign().as_ref());
    tag
}

#[cfg(test)]
mod tests {
    /// `scripts/test` builds crypt-model with the feature `fips` and says so with
    /// `CRYPT_MODEL_EXPECT_FIPS=1`: this fails if that build is not one, or if AWS-LC does not
    /// run in FIPS mode there (its power-on self tests passed).
    #[test]
    #[allow(clippy::panic)]
    fn a_fips_build_runs_aws_lc_in_fips_mode() {
        let expected = std::env::var("CRYPT_MODEL_EXPECT_FIPS").is_ok_and(|v| v == "1");
        if expected && !super::FIPS {
            panic!("CRYPT_MODEL_EXPECT_FIPS=1, but crypt-model was built without its feature fips");
        }
        #[cfg(feature = "fips")]
        if let Err(error) = aws_lc_rs::try_fips_mode() {
            panic!("a fips build whose AWS-LC is not in FIPS mode: {error}");
        }
    }
}
