//! axum integration (feature `axum`): an [`Error`] is a response, answered as
//! [`Error::http_answer`] says (the one mapping the guide documents), and a [`Caller`] is an
//! extractor that takes the caller your authentication layer put in the request's extensions.
//!
//! ```
//! use axum_core::extract::Request;
//! use crypt_model::Caller;
//!
//! // Your authentication middleware, once it has verified the request's credentials:
//! fn authenticated(mut request: Request, verified_subject: &str) -> Request {
//!     if let Ok(caller) = Caller::user(verified_subject) {
//!         request.extensions_mut().insert(caller);
//!     }
//!     request
//! }
//! // A handler then takes `caller: Caller` (401 when no middleware put one there) and returns
//! // `Result<_, crypt_model::Error>`: someone else's record and a missing one are the same 404.
//! # let _ = authenticated;
//! ```

use axum_core::extract::FromRequestParts;
use axum_core::response::{IntoResponse, Response};
use http::request::Parts;
use http::{HeaderValue, StatusCode, header};

use crate::Error;
use crate::access::Caller;

impl IntoResponse for Error {
    /// The status and `{"error": "<code>"}` body of [`Error::http_answer`], with `Retry-After`
    /// when the client may retry; the error itself (names, never values) is logged at `WARN`
    /// (target `crypt_model::http`), not sent.
    fn into_response(self) -> Response {
        let answer = self.http_answer();
        tracing::warn!(
            target: "crypt_model::http",
            error = %self,
            status = answer.status,
            "request failed"
        );
        let status =
            StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (
            status,
            [(header::CONTENT_TYPE, "application/json")],
            answer.body(),
        )
            .into_response();
        if answer.retry {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = Response;

    /// The `Caller` your authentication layer inserted into the request's extensions (after
    /// verifying a token or a session: never from a header the client sets); `401` with
    /// `{"error":"unauthorized"}` when there is none.
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Caller>().cloned().ok_or_else(|| {
            (
                StatusCode::UNAUTHORIZED,
                [
                    (header::CONTENT_TYPE, "application/json"),
                    (header::WWW_AUTHENTICATE, "Bearer"),
                ],
                r#"{"error":"unauthorized"}"#,
            )
                .into_response()
        })
    }
}
