//! What a `fips` build asks of the rest (docs/fips.md): every model seals with a NIST-approved
//! suite unless it names another itself (`Schema::suite`), and the primitives outside a suite's message —
//! randomness, blind indexes — come from AWS-LC's FIPS module. The functions over AWS-LC are
//! built with the feature `aes-gcm` too, so that the default test build checks them against the
//! RustCrypto code they replace in a `fips` build.

#[cfg(feature = "aes-gcm")]
use crate::error::{Error, Result};
use crate::schema::Schema;

/// Whether this build takes its primitives from AWS-LC's FIPS module.
pub(crate) const FIPS: bool = cfg!(feature = "fips");

/// In a `fips` build, warns about a model that seals with a suite that is not NIST-approved
/// (one that names it: a model that names none seals with suite 2 there), when its table is
/// made: at start-up. Any other build says nothing.
pub(crate) fn check_model(schema: &Schema) {
    let suite = schema.sealing_suite();
    if !FIPS || suite.nist_approved() {
        return;
    }
    tracing::warn!(
        target: "crypt_model::fips",
        table = schema.table(),
        suite = suite.name(),
        "a fips build seals this model's records with a suite that is not NIST-approved, as the \
         model names it: name `suite = \"aes256gcm\"` and re-encrypt the table (docs/fips.md)"
    );
}

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
