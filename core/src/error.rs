//! The one error type of converso, carrying the API's error codes.
//!
//! Every failure in the engine, the CLI, the browser package and the edge API is an [`Error`]
//! with a [`ErrorCode`] from the Converso API's error table, a human message and optional
//! details. The HTTP status for each code lives with the edge API, not here.

use std::borrow::Cow;
use std::fmt;

/// Every error code of the Converso API, plus the ones converso adds (webhooks, routing and
/// request-body failures; see `docs/api.md`).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// The API key is missing or not valid.
    Unauthorized,
    /// The key may not use this resource.
    Forbidden,
    /// The request body is malformed or a required field is missing.
    InvalidRequest,
    /// `source.type` or `source.url` is not acceptable.
    InvalidSource,
    /// A job id does not match `job_<16 hex>`.
    InvalidJobId,
    /// A batch has more than 10 jobs.
    TooManyJobs,
    /// The output format or one of its options is not acceptable.
    InvalidOutput,
    /// No job has that id.
    JobNotFound,
    /// The job has not finished yet.
    JobNotCompleted,
    /// Extraction failed part-way through the media.
    ExtractionFailed,
    /// The source could not be fetched.
    DownloadFailed,
    /// The input is not a readable video, has no audio track, or its audio cannot be decoded.
    InvalidVideo,
    /// The output file is no longer kept.
    FileExpired,
    /// The processing queue is full.
    QueueFull,
    /// The service is temporarily unavailable.
    ServiceUnavailable,
    /// An unexpected failure inside the service.
    InternalError,
    /// A webhook URL is not acceptable.
    InvalidWebhook,
    /// A webhook could not be delivered.
    WebhookFailed,
    /// No such route (converso extension).
    RouteNotFound,
    /// The route exists but not with this method (converso extension).
    MethodNotAllowed,
    /// A download of a job that failed (converso extension).
    JobFailed,
    /// The request body is too large (converso extension).
    PayloadTooLarge,
    /// The request body is not JSON (converso extension).
    UnsupportedMediaType,
}

impl ErrorCode {
    /// The code as the API spells it, e.g. `"INVALID_VIDEO"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Unauthorized => "UNAUTHORIZED",
            ErrorCode::Forbidden => "FORBIDDEN",
            ErrorCode::InvalidRequest => "INVALID_REQUEST",
            ErrorCode::InvalidSource => "INVALID_SOURCE",
            ErrorCode::InvalidJobId => "INVALID_JOB_ID",
            ErrorCode::TooManyJobs => "TOO_MANY_JOBS",
            ErrorCode::InvalidOutput => "INVALID_OUTPUT",
            ErrorCode::JobNotFound => "JOB_NOT_FOUND",
            ErrorCode::JobNotCompleted => "JOB_NOT_COMPLETED",
            ErrorCode::ExtractionFailed => "EXTRACTION_FAILED",
            ErrorCode::DownloadFailed => "DOWNLOAD_FAILED",
            ErrorCode::InvalidVideo => "INVALID_VIDEO",
            ErrorCode::FileExpired => "FILE_EXPIRED",
            ErrorCode::QueueFull => "QUEUE_FULL",
            ErrorCode::ServiceUnavailable => "SERVICE_UNAVAILABLE",
            ErrorCode::InternalError => "INTERNAL_ERROR",
            ErrorCode::InvalidWebhook => "INVALID_WEBHOOK",
            ErrorCode::WebhookFailed => "WEBHOOK_FAILED",
            ErrorCode::RouteNotFound => "ROUTE_NOT_FOUND",
            ErrorCode::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            ErrorCode::JobFailed => "JOB_FAILED",
            ErrorCode::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            ErrorCode::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error with its API code, a message for people and optional details.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Error {
    /// What kind of failure this is.
    pub code: ErrorCode,
    /// One sentence for a person.
    pub message: Cow<'static, str>,
    /// Extra information (the underlying cause, the allowed values, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
}

/// Shorthand for results in converso.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A new error without details.
    pub fn new(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Self {
        Error { code, message: message.into(), details: None }
    }

    /// Adds details to the error.
    pub fn with_details(mut self, details: impl Into<String>) -> Self {
        self.details = Some(details.into());
        self
    }

    /// `INVALID_VIDEO`: unreadable or unsupported input, no audio, undecodable audio.
    pub fn invalid_video(message: impl Into<Cow<'static, str>>) -> Self {
        Error::new(ErrorCode::InvalidVideo, message)
    }

    /// `INVALID_OUTPUT`: bad output options or an output that cannot be produced.
    pub fn invalid_output(message: impl Into<Cow<'static, str>>) -> Self {
        Error::new(ErrorCode::InvalidOutput, message)
    }

    /// `EXTRACTION_FAILED`: a failure part-way through the media.
    pub fn extraction_failed(message: impl Into<Cow<'static, str>>) -> Self {
        Error::new(ErrorCode::ExtractionFailed, message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)?;
        if let Some(d) = &self.details {
            write!(f, " ({d})")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

/// Output side I/O failures (a full disk, a closed pipe) end the extraction.
impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::extraction_failed("could not write the output").with_details(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_serialize_as_the_api_spells_them() {
        for code in [ErrorCode::InvalidVideo, ErrorCode::InvalidJobId, ErrorCode::QueueFull, ErrorCode::RouteNotFound] {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
        }
    }

    #[test]
    fn display_has_code_message_and_details() {
        let e = Error::invalid_output("bad bitrate").with_details("allowed: 32k-320k");
        assert_eq!(e.to_string(), "INVALID_OUTPUT: bad bitrate (allowed: 32k-320k)");
    }
}
