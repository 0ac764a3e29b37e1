//! The one JSON envelope for every response, and the one map from error code to HTTP status.

use converso_core::{Error, ErrorCode};
use serde::Serialize;
use worker::{Headers, Response};

/// HTTP status for each error code (docs/api.md). The only place statuses are chosen.
pub fn status_of(code: ErrorCode) -> u16 {
    match code {
        ErrorCode::InvalidRequest
        | ErrorCode::InvalidSource
        | ErrorCode::InvalidOutput
        | ErrorCode::InvalidWebhook
        | ErrorCode::InvalidJobId
        | ErrorCode::TooManyJobs
        | ErrorCode::InvalidVideo => 400,
        ErrorCode::Unauthorized => 401,
        ErrorCode::Forbidden => 403,
        ErrorCode::JobNotFound | ErrorCode::RouteNotFound => 404,
        ErrorCode::MethodNotAllowed => 405,
        ErrorCode::JobFailed => 409,
        ErrorCode::FileExpired => 410,
        ErrorCode::PayloadTooLarge => 413,
        ErrorCode::UnsupportedMediaType => 415,
        ErrorCode::JobNotCompleted => 202,
        ErrorCode::QueueFull | ErrorCode::ServiceUnavailable => 503,
        // Job outcomes are reported inside a job, never as a response status; if one escapes,
        // it is an internal error.
        _ => 500,
    }
}

/// Seconds a client should wait before retrying a 503.
pub const RETRY_AFTER_SECONDS: u32 = 5;

/// A failed request: the error and, for `METHOD_NOT_ALLOWED`, the allowed methods.
#[derive(Debug)]
pub struct ApiError {
    pub error: Error,
    pub allow: Option<&'static str>,
}

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        ApiError { error, allow: None }
    }
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Error::new(code, message.into()).into()
    }

    pub fn details(mut self, details: impl Into<String>) -> Self {
        self.error.details = Some(details.into());
        self
    }

    /// An unexpected failure: logged with a request id, which the client also gets.
    pub fn internal(request_id: &str, cause: impl std::fmt::Display) -> Self {
        worker::console_error!("request {request_id}: internal error: {cause}");
        ApiError::new(ErrorCode::InternalError, "an unexpected error occurred")
            .details(format!("request id {request_id}"))
    }
}

impl From<worker::Error> for ApiError {
    fn from(e: worker::Error) -> Self {
        ApiError::internal(&request_id(), e)
    }
}

/// A fresh id for correlating a response with the logs.
pub fn request_id() -> String {
    format!("req_{}", crate::ids::random_hex(8))
}

#[derive(Serialize)]
struct Envelope<'a, T: Serialize> {
    success: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a Error>,
}

fn json_response<T: Serialize>(body: &Envelope<'_, T>, status: u16) -> worker::Result<Response> {
    let text = serde_json::to_string(body).map_err(|e| worker::Error::RustError(e.to_string()))?;
    let headers = Headers::new();
    headers.set("Content-Type", "application/json; charset=utf-8")?;
    headers.set("Cache-Control", "no-store")?;
    Ok(Response::ok(text)?.with_status(status).with_headers(headers))
}

/// `{"success": true, "data": …}` with `status`.
pub fn ok<T: Serialize>(data: &T, status: u16) -> worker::Result<Response> {
    json_response(&Envelope { success: true, data: Some(data), error: None }, status)
}

/// `{"success": false, "error": {code, message, details}}` with the code's status.
pub fn error(e: &ApiError) -> worker::Result<Response> {
    let status = status_of(e.error.code);
    let resp = json_response::<()>(&Envelope { success: false, data: None, error: Some(&e.error) }, status)?;
    if status == 503 {
        resp.headers().set("Retry-After", &RETRY_AFTER_SECONDS.to_string())?;
    }
    if let Some(allow) = e.allow {
        resp.headers().set("Allow", allow)?;
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_statuses() {
        assert_eq!(status_of(ErrorCode::JobNotCompleted), 202);
        assert_eq!(status_of(ErrorCode::FileExpired), 410);
        assert_eq!(status_of(ErrorCode::QueueFull), 503);
        assert_eq!(status_of(ErrorCode::InvalidJobId), 400);
        assert_eq!(status_of(ErrorCode::ExtractionFailed), 500);
    }
}
