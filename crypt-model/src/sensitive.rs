//! [`Sensitive<T>`]: the only type a sensitive field may have.

use std::fmt;

use secrecy::{ExposeSecret, ExposeSecretMut, SecretBox};
use zeroize::Zeroize;

use crate::plaintext::Plaintext;

/// A secret value: the type of every `#[sensitive]` field.
///
/// Built on [`secrecy::SecretBox`]: the value lives on the heap, is wiped when dropped, and is
/// reachable only through [`expose_secret`](Sensitive::expose_secret), so that every place that
/// reads a plaintext can be found with `grep expose_secret`. It has a redacted `Debug`, and
/// deliberately no `Display`, no `Serialize`, no `PartialEq` and no `Clone`: a sensitive value
/// cannot be printed, serialized or compared by accident.
///
/// It does implement `Deserialize`, as `T` does, so that a request body decodes straight into a
/// value that is wiped on drop; its error never quotes the value. What the deserializer itself keeps (its input, its scratch
/// buffers) is the caller's to wipe: read the body into a `zeroize::Zeroizing<Vec<u8>>`.
///
/// ```
/// use crypt_model::Sensitive;
///
/// let ssn = Sensitive::new(String::from("078-05-1120"));
/// assert_eq!(format!("{ssn:?}"), "Sensitive([REDACTED])");
/// assert_eq!(ssn.expose_secret(), "078-05-1120");
///
/// #[derive(serde::Deserialize)]
/// struct SignUp { email: String, ssn: Sensitive<String> }
/// let request: SignUp = serde_json::from_str(r#"{"email":"a@example.com","ssn":"078-05-1120"}"#).unwrap();
/// assert_eq!(request.ssn.expose_secret(), "078-05-1120");
/// ```
pub struct Sensitive<T: Plaintext>(SecretBox<Wiped<T>>);

/// Adapts [`Plaintext::wipe`] to the [`Zeroize`] that `SecretBox` calls on drop.
struct Wiped<T: Plaintext>(T);

impl<T: Plaintext> Zeroize for Wiped<T> {
    fn zeroize(&mut self) {
        self.0.wipe();
    }
}

impl<T: Plaintext> Sensitive<T> {
    /// Wraps a value.
    pub fn new(value: T) -> Self {
        Sensitive(SecretBox::new(Box::new(Wiped(value))))
    }

    /// The plaintext. Every read of a secret goes through here.
    pub fn expose_secret(&self) -> &T {
        &self.0.expose_secret().0
    }

    /// The plaintext, mutably.
    pub fn expose_secret_mut(&mut self) -> &mut T {
        &mut self.0.expose_secret_mut().0
    }
}

impl<T: Plaintext> From<T> for Sensitive<T> {
    fn from(value: T) -> Self {
        Sensitive::new(value)
    }
}

impl<'de, T: Plaintext + serde::Deserialize<'de>> serde::Deserialize<'de> for Sensitive<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // serde's errors quote the input ("invalid type: string \"078-05-1120\""): a request
        // body's error must not carry the secret it held.
        T::deserialize(deserializer)
            .map(Sensitive::new)
            .map_err(|_| {
                serde::de::Error::custom(
                    "invalid value for a sensitive field (the value is not shown)",
                )
            })
    }
}

/// Never implemented: it turns "`Sensitive<T>` is not `Serialize`" into a message that says
/// what to do instead.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "a sensitive value cannot be serialized",
    label = "`Sensitive<{Self}>` has no `Serialize`, so that a secret never reaches a response or a log by accident",
    note = "serialize a view of the record without its secrets, or copy the plaintext out \
            explicitly with `expose_secret()`, where a review can see it"
)]
pub trait SerializeSensitive: sealed::Never {}

/// Never implemented: it turns "`Sensitive<T>` is not `Display`" (and the compiler's advice to
/// print it with `{:?}`, which shows `[REDACTED]`) into a message that says what to do.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "a sensitive value is not printed with `{{}}`",
    label = "`Sensitive<{Self}>` has no `Display`, so that a secret never reaches a page or a log by accident",
    note = "where the plaintext must be shown, write `value.expose_secret()` (a review can find \
            every such place with `grep expose_secret`); `{{:?}}` prints only `[REDACTED]`"
)]
pub trait DisplaySensitive: sealed::Never {}

#[doc(hidden)]
impl<T: Plaintext + DisplaySensitive> fmt::Display for Sensitive<T> {
    fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
        unreachable!("`DisplaySensitive` has no implementation")
    }
}

/// Never implemented: it turns "`Sensitive<T>` is not `Clone`" (and so "the model is not
/// `Clone`" under `#[derive(Clone)]`) into a message that says why and what to do.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "a sensitive value is not cloned implicitly",
    label = "`Sensitive<{Self}>` has no `Clone`: each copy of a secret is one more to wipe and to leak",
    note = "a model with `#[sensitive]` fields cannot `#[derive(Clone)]`: read the record again, \
            or copy the secret explicitly, `Sensitive::new(value.expose_secret().clone())`"
)]
pub trait CloneSensitive: sealed::Never {}

#[doc(hidden)]
impl<T: Plaintext + CloneSensitive> Clone for Sensitive<T> {
    fn clone(&self) -> Self {
        unreachable!("`CloneSensitive` has no implementation")
    }
}

/// Sealed: nothing outside this module can implement `Never`, so nothing implements
/// `SerializeSensitive`, `DisplaySensitive` or `CloneSensitive`, and no `Sensitive<T>` is ever
/// `Serialize`, `Display` or `Clone`.
mod sealed {
    pub trait Never {}
}

#[doc(hidden)]
impl<T: Plaintext + SerializeSensitive> serde::Serialize for Sensitive<T> {
    fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        unreachable!("`SerializeSensitive` has no implementation")
    }
}

impl<T: Plaintext> fmt::Debug for Sensitive<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sensitive([REDACTED])")
    }
}
