//! `GET /v1/download/{jobId}`: the audio, streamed from R2.

use converso_core::{ErrorCode, OutputFormat};
use worker::{Env, Headers, Request, Response};

use super::status::owned_job;
use crate::auth::Caller;
use crate::config::MEDIA;
use crate::envelope::ApiError;
use crate::jobs::{now_ms, Status};
use crate::process::output_key;

pub async fn handle(req: &Request, env: &Env, caller: &Caller, job_id: &str) -> Result<Response, ApiError> {
    let job = owned_job(env, job_id, &caller.key_hash).await?;
    match job.status {
        Status::Queued | Status::Processing => {
            return Err(ApiError::new(ErrorCode::JobNotCompleted, "the job has not finished yet").details(format!(
                "status: {}; poll {} and download when it is completed",
                job.status.as_str(),
                job.path("status")
            )));
        }
        Status::Failed => {
            let (code, message) = job
                .error
                .as_ref()
                .map_or(("EXTRACTION_FAILED", "the job failed".into()), |e| (e.code.as_str(), e.message.to_string()));
            return Err(ApiError::new(ErrorCode::JobFailed, "the job failed; there is nothing to download")
                .details(format!("{code}: {message}")));
        }
        Status::Completed => {}
    }
    let expired = || {
        ApiError::new(ErrorCode::FileExpired, "the output file has expired")
            .details("outputs are kept for a limited time after the job completes")
    };
    if job.expires_at_ms.is_some_and(|t| t <= now_ms()) {
        return Err(expired());
    }
    let (Some(file), Some(format)) = (job.output_file.as_ref(), job.output.get("format").and_then(|f| f.as_str()))
    else {
        return Err(expired());
    };
    let format = OutputFormat::parse(format)?;
    let Some(object) = env.bucket(MEDIA)?.get(output_key(job_id)).execute().await? else {
        return Err(expired());
    };
    let size = object.size();
    let Some(body) = object.body() else { return Err(expired()) };
    let headers = Headers::new();
    headers.set("Content-Type", format.mime_type())?;
    headers.set("Content-Length", &size.to_string())?;
    headers.set("Content-Disposition", &content_disposition(&file.filename))?;
    headers.set("Cache-Control", "private, no-store")?;
    if req.method() == worker::Method::Head {
        return Ok(Response::empty()?.with_headers(headers));
    }
    // The runtime streams R2's body itself (no CPU in the Worker) and keeps its known length.
    Ok(Response::from_body(body.response_body()?)?.with_headers(headers))
}

/// `attachment; filename="…"`, with an RFC 5987 `filename*` when the name is not plain ASCII.
/// `%` counts as not plain: some browsers percent-decode `filename=`, so `%2e%2e%2f` could turn
/// into `../` there; the exact name then travels only in `filename*`.
pub fn content_disposition(filename: &str) -> String {
    let ascii: String = filename
        .chars()
        .map(|c| if c.is_ascii() && !c.is_ascii_control() && !matches!(c, '"' | '\\' | '%') { c } else { '_' })
        .collect();
    if ascii == filename {
        return format!("attachment; filename=\"{ascii}\"");
    }
    let encoded = percent_encoding::utf8_percent_encode(filename, percent_encoding::NON_ALPHANUMERIC).to_string();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispositions() {
        assert_eq!(content_disposition("a.mp3"), "attachment; filename=\"a.mp3\"");
        assert_eq!(
            content_disposition("Größe.mp3"),
            "attachment; filename=\"Gr__e.mp3\"; filename*=UTF-8''Gr%C3%B6%C3%9Fe%2Emp3"
        );
        assert_eq!(
            content_disposition("%2e%2e%2f.mp3"),
            "attachment; filename=\"_2e_2e_2f.mp3\"; filename*=UTF-8''%252e%252e%252f%2Emp3"
        );
        assert_eq!(
            content_disposition("a\"b\r\n.mp3"),
            "attachment; filename=\"a_b__.mp3\"; filename*=UTF-8''a%22b%0D%0A%2Emp3"
        );
    }
}
