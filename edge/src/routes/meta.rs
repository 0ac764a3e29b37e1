//! Public `GET /v1/health` and `GET /v1/openapi.json`, and webhook redelivery.

use converso_core::ErrorCode;
use serde_json::json;
use worker::{Env, Headers, Response};

use super::status::owned_job;
use crate::auth::Caller;
use crate::config;
use crate::envelope::{self, ApiError};
use crate::jobs::Store;
use crate::work;

/// The OpenAPI 3.1 description of the API.
pub(super) const OPENAPI: &str = include_str!("../openapi.json");

pub fn health(env: &Env) -> worker::Result<Response> {
    let bindings = json!({
        config::KEYS: env.kv(config::KEYS).is_ok(),
        config::MEDIA: env.bucket(config::MEDIA).is_ok(),
        config::JOBS: env.durable_object(config::JOBS).is_ok(),
        config::WORK: env.queue(config::WORK).is_ok(),
    });
    let maintenance = config::Config::from_env(env).maintenance;
    let status = if maintenance { "maintenance" } else { "ok" };
    envelope::ok(&json!({"status": status, "version": env!("CARGO_PKG_VERSION"), "bindings": bindings}), 200)
}

pub fn openapi() -> worker::Result<Response> {
    let headers = Headers::new();
    headers.set("Content-Type", "application/json; charset=utf-8")?;
    Ok(Response::ok(OPENAPI)?.with_headers(headers))
}

/// `POST /v1/webhooks/{jobId}/redeliver`: sends the job's final event again.
pub async fn redeliver(env: &Env, caller: &Caller, job_id: &str) -> Result<Response, ApiError> {
    let mut job = owned_job(env, job_id, &caller.key_hash).await?;
    if !job.is_final() {
        return Err(ApiError::new(
            ErrorCode::JobNotCompleted,
            "the job has not finished yet; there is no event to send",
        ));
    }
    if job.options.webhook.is_none() {
        return Err(ApiError::new(ErrorCode::InvalidWebhook, "the job has no webhook"));
    }
    // The event is owed again, from its first attempt.
    job.webhook = None;
    Store::new(env).put(&job).await?;
    work::enqueue_webhook(env, job_id, 1, 0).await?;
    Ok(envelope::ok(&json!({"jobId": job_id, "webhook": "queued"}), 202)?)
}
