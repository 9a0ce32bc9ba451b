//! [`HttpAnswer`]: the one mapping of an [`Error`] to what an HTTP service answers — a status and
//! a short code for the body — that the guide documents, the example service uses, and the
//! `axum` feature's `IntoResponse` applies. Someone else's record answers exactly as a missing
//! one; nothing of the error's text reaches the client (log it instead).

use super::{AccessError, DataError, Error, KeyError, StorageError};
use crate::KeyProviderError;

/// What an HTTP service answers for an [`Error`]: [`Error::http_answer`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HttpAnswer {
    /// The status code.
    pub status: u16,
    /// A short, stable code for the response body (`{"error": "not_found"}`), naming the kind
    /// of failure and nothing of the request.
    pub code: &'static str,
    /// Whether the client may retry later (send `Retry-After` with a 429 or 503).
    pub retry: bool,
}

impl HttpAnswer {
    const fn new(status: u16, code: &'static str) -> Self {
        HttpAnswer {
            status,
            code,
            retry: false,
        }
    }

    const fn retry(status: u16, code: &'static str) -> Self {
        HttpAnswer {
            status,
            code,
            retry: true,
        }
    }

    /// The JSON body: `{"error":"<code>"}`.
    pub fn body(&self) -> String {
        format!(r#"{{"error":"{}"}}"#, self.code)
    }
}

impl Error {
    /// What an HTTP service answers for this error, as docs/guide/http-services.md documents:
    ///
    /// | error | status | code |
    /// |---|---|---|
    /// | `AccessError::Denied`, `KeyError::OwnerKeyErased` (someone else's record, an erased owner's) | 404 | `not_found` |
    /// | `StorageError::Conflict`, `ConditionFailed`, `TransactionCancelled` | 409 | `conflict` |
    /// | `DataError::InvalidValue`, `StorageError::InvalidRequest`, `StorageError::ItemTooLarge`, `AccessError::InvalidIdentity` | 400 | `bad_request` |
    /// | `StorageError::Throttled`, a throttled key provider | 429, retry | `throttled` |
    /// | `StorageError::Backend`, `Unprocessed`, an unavailable key provider | 503, retry | `unavailable` |
    /// | anything else: tampering, a malformed record, a configuration error (`AccessError::NoGrant`, a missing table or index), a key the provider refuses | 500 | `internal` |
    ///
    /// ```
    /// use crypt_model::Error;
    /// use crypt_model::error::AccessError;
    ///
    /// let denied = Error::Access(AccessError::Denied { caller: "mallory".into(), table: "profiles".into() });
    /// let answer = denied.http_answer();
    /// assert_eq!((answer.status, answer.body()), (404, r#"{"error":"not_found"}"#.to_owned()));
    /// ```
    pub fn http_answer(&self) -> HttpAnswer {
        match self {
            Error::Access(AccessError::Denied { .. })
            | Error::Key(KeyError::OwnerKeyErased { .. }) => HttpAnswer::new(404, "not_found"),
            Error::Storage(
                StorageError::Conflict { .. }
                | StorageError::ConditionFailed { .. }
                | StorageError::TransactionCancelled { .. },
            ) => HttpAnswer::new(409, "conflict"),
            Error::Data(DataError::InvalidValue { .. })
            | Error::Storage(
                StorageError::InvalidRequest { .. } | StorageError::ItemTooLarge { .. },
            )
            | Error::Access(AccessError::InvalidIdentity { .. }) => {
                HttpAnswer::new(400, "bad_request")
            }
            Error::Storage(StorageError::Throttled { .. })
            | Error::Key(KeyError::Provider {
                kind: KeyProviderError::Throttled,
                ..
            }) => HttpAnswer::retry(429, "throttled"),
            Error::Storage(StorageError::Backend { .. } | StorageError::Unprocessed { .. })
            | Error::Key(KeyError::Provider {
                kind: KeyProviderError::Unavailable,
                ..
            }) => HttpAnswer::retry(503, "unavailable"),
            _ => HttpAnswer::new(500, "internal"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn someone_elses_record_and_an_erased_owners_answer_as_missing() {
        let denied = Error::Access(AccessError::Denied {
            caller: "mallory".into(),
            table: "t".into(),
        });
        let erased = Error::Key(KeyError::OwnerKeyErased { table: "t".into() });
        assert_eq!(denied.http_answer(), erased.http_answer());
        assert_eq!(denied.http_answer().status, 404);
        let cancelled = Error::Storage(StorageError::TransactionCancelled {
            reasons: Vec::new(),
        });
        assert_eq!(cancelled.http_answer().status, 409);
        let unprocessed = Error::Storage(StorageError::Unprocessed {
            table: "t".into(),
            keys: Vec::new(),
            attempts: 3,
        });
        assert_eq!(
            unprocessed.http_answer(),
            HttpAnswer::retry(503, "unavailable")
        );
        let no_grant = Error::Access(AccessError::NoGrant {
            service: "s".into(),
            model: "M".into(),
            table: "t".into(),
        });
        assert_eq!(no_grant.http_answer().status, 500);
    }
}
