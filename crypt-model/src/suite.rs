//! [`Suite`]: the algorithms a model's records are sealed with, which its schema names and each
//! record's header records; the set of suites a process opens ([`Keys::with_suites`]); and the
//! suite the workspace's tests may impose (feature `hazmat`).
//!
//! [`Keys::with_suites`]: crate::Keys::with_suites

use std::fmt;

/// The algorithms a record is sealed with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Suite {
    /// XChaCha20-Poly1305 under a key derived per item with HKDF-SHA256, blind indexes by
    /// HMAC-SHA-256: every record of format version 3. XChaCha20-Poly1305 is not a
    /// NIST-approved algorithm.
    XChaCha20Poly1305,
    /// AES-256-GCM under a key derived per item with HKDF-SHA256, the header committed by an
    /// HMAC-SHA256, blind indexes by HMAC-SHA-256 — every algorithm NIST-approved, the item's
    /// from AWS-LC (feature `aes-gcm`; feature `fips` for its FIPS module): records of format
    /// version 4 with suite byte 2.
    Aes256Gcm,
}

impl Suite {
    /// Every suite, built in or not, in the order of their format versions.
    pub const ALL: [Suite; 2] = [Suite::XChaCha20Poly1305, Suite::Aes256Gcm];

    /// The suite's name in reports: `xchacha20poly1305-hkdf-sha256`.
    pub fn name(self) -> &'static str {
        match self {
            Suite::XChaCha20Poly1305 => "xchacha20poly1305-hkdf-sha256",
            Suite::Aes256Gcm => "aes256gcm-hkdf-sha256",
        }
    }

    /// The suite whose [`name`](Self::name) is `name`.
    pub(crate) fn named(name: &str) -> Option<Suite> {
        Suite::ALL.into_iter().find(|suite| suite.name() == name)
    }

    /// Parses a list of suites as an operator writes it, separated by commas: their attribute
    /// names (`aes256gcm`, `xchacha20poly1305`), their report names
    /// (`aes256gcm-hkdf-sha256`), or `all`; `None` if a name is none of these.
    ///
    /// ```
    /// use crypt_model::Suite;
    ///
    /// assert_eq!(Suite::parse_list("aes256gcm"), Some(vec![Suite::Aes256Gcm]));
    /// assert_eq!(Suite::parse_list("all"), Some(Suite::ALL.to_vec()));
    /// assert_eq!(Suite::parse_list("aes128gcm"), None);
    /// ```
    pub fn parse_list(list: &str) -> Option<Vec<Suite>> {
        let mut suites = Vec::new();
        for name in list
            .split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
        {
            match name {
                "all" => suites.extend(Suite::ALL),
                "xchacha20poly1305" => suites.push(Suite::XChaCha20Poly1305),
                "aes256gcm" => suites.push(Suite::Aes256Gcm),
                other => suites.push(Suite::named(other)?),
            }
        }
        Some(suites)
    }

    /// Whether every algorithm of the suite is approved by NIST (FIPS 140-3): AES-256-GCM,
    /// HKDF-SHA256 and HMAC-SHA256 are; XChaCha20-Poly1305 is not. An approved algorithm is not
    /// yet a validated module: the feature `fips` takes them from AWS-LC's FIPS module, whose
    /// validation status docs/fips.md gives (not validated today).
    pub fn nist_approved(self) -> bool {
        matches!(self, Suite::Aes256Gcm)
    }

    /// Whether this build of crypt-model seals and opens the suite (suite 2 needs the feature
    /// `aes-gcm`).
    pub fn built(self) -> bool {
        match self {
            Suite::XChaCha20Poly1305 => true,
            Suite::Aes256Gcm => cfg!(feature = "aes-gcm"),
        }
    }

    /// The suite's bit in a [`Suites`].
    fn bit(self) -> u8 {
        match self {
            Suite::XChaCha20Poly1305 => 1,
            Suite::Aes256Gcm => 2,
        }
    }
}

impl fmt::Display for Suite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What to do about a record of format version `version`, which this build does not read.
pub(crate) fn unsupported_version_step(version: u8) -> &'static str {
    if version == 4 && !Suite::Aes256Gcm.built() {
        "it is suite 2 (AES-256-GCM): turn on crypt-model's feature `aes-gcm`, which reads it \
         (`crypt-model = { version = \"0.1\", features = [\"aes-gcm\"] }`)"
    } else {
        "upgrade crypt-model to a release that reads it, or check that the item is crypt-model's"
    }
}

/// A set of suites: those a process opens records of.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Suites(u8);

impl Suites {
    /// No suite.
    pub(crate) const NONE: Suites = Suites(0);

    /// What keys open unless told otherwise, besides each model's own suite: nothing else.
    pub(crate) fn by_default() -> Suites {
        Suites::NONE
    }

    /// This set and `suite`.
    pub(crate) fn with(self, suite: Suite) -> Suites {
        Suites(self.0 | suite.bit())
    }

    /// Whether `suite` is in the set.
    pub(crate) fn contains(self, suite: Suite) -> bool {
        self.0 & suite.bit() != 0
    }

    /// The suites of the set.
    pub(crate) fn iter(self) -> impl Iterator<Item = Suite> {
        Suite::ALL
            .into_iter()
            .filter(move |suite| self.contains(*suite))
    }
}

impl FromIterator<Suite> for Suites {
    /// The suites given that this build has (a suite it lacks opens nothing anyway).
    fn from_iter<I: IntoIterator<Item = Suite>>(suites: I) -> Self {
        suites
            .into_iter()
            .filter(|suite| suite.built())
            .fold(Suites::NONE, Suites::with)
    }
}

impl fmt::Debug for Suites {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl fmt::Display for Suites {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for suite in self.iter() {
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            suite.fmt(f)?;
        }
        if first {
            f.write_str("none")?;
        }
        Ok(())
    }
}

/// The suite that the workspace's tests seal the models that name none with: the environment
/// variable `CRYPT_MODEL_TEST_SUITE` (`xchacha20poly1305` or `aes256gcm`), read once; unset, each
/// model's own. `scripts/test` runs the conformance suite a second time under `aes256gcm`.
///
/// # Panics
///
/// When the variable names no suite of this build: a test run under a suite it did not get
/// would pass for the wrong reason.
/// Honoured in debug builds only (as tests are), and never for a suite that is not
/// NIST-approved in a `fips` build: no release build changes its suite by its environment.
#[cfg(feature = "hazmat")]
#[allow(clippy::panic)]
pub(crate) fn test_suite() -> Option<Suite> {
    if !cfg!(debug_assertions) {
        return None;
    }
    static SUITE: std::sync::OnceLock<Option<Suite>> = std::sync::OnceLock::new();
    *SUITE.get_or_init(|| {
        let name = std::env::var("CRYPT_MODEL_TEST_SUITE").ok()?;
        let suite = match name.as_str() {
            "" => return None,
            "xchacha20poly1305" => Suite::XChaCha20Poly1305,
            "aes256gcm" => Suite::Aes256Gcm,
            other => panic!(
                "CRYPT_MODEL_TEST_SUITE={other:?} names no suite: use `xchacha20poly1305` or \
                 `aes256gcm`"
            ),
        };
        if !suite.built() {
            panic!("CRYPT_MODEL_TEST_SUITE={name}: this build lacks the suite (feature `aes-gcm`)");
        }
        if cfg!(feature = "fips") && !suite.nist_approved() {
            return None;
        }
        Some(suite)
    })
}
