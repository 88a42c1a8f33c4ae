//! JSON error responses: every failure the API reports is `{"error": kind, "detail": what to do}`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use simrelay_protocol::ApiError;

use crate::store::StoreError;

/// An API failure with its HTTP status.
#[derive(Debug)]
pub(crate) struct Failure {
    status: StatusCode,
    body: ApiError,
}

impl Failure {
    pub(crate) fn new(status: StatusCode, error: &str, detail: impl Into<String>) -> Failure {
        Failure {
            status,
            body: ApiError {
                error: error.into(),
                detail: detail.into(),
            },
        }
    }

    /// The `error` kind (`bad_request`, `forbidden_origin`, ...).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn kind(&self) -> &str {
        &self.body.error
    }

    pub(crate) fn bad_request(detail: impl Into<String>) -> Failure {
        Failure::new(StatusCode::BAD_REQUEST, "bad_request", detail)
    }

    pub(crate) fn not_found(detail: impl Into<String>) -> Failure {
        Failure::new(StatusCode::NOT_FOUND, "not_found", detail)
    }

    pub(crate) fn unauthorized() -> Failure {
        Failure::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "this SimRelay server needs an access token: send `Authorization: Bearer <token>` or add \
             `?token=<token>` to the URL (`simrelay token show` prints the main token; pair other devices from \
             Settings)",
        )
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Failure {
        // The detail names the problem but the log has the whole chain; a client cannot fix a database error.
        tracing::error!(error = %e, "store error while answering a request");
        Failure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the message database failed; see the server log",
        )
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
