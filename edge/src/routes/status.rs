//! `GET /v1/status/{jobId}`.

use converso_core::ErrorCode;
use worker::{Env, Response};

use crate::auth::{self, Caller};
use crate::envelope::{self, ApiError};
use crate::jobs::{Job, Store};

pub async fn handle(env: &Env, caller: &Caller, job_id: &str) -> Result<Response, ApiError> {
    let job = owned_job(env, job_id, &caller.key_hash).await?;
    Ok(envelope::ok(&job.status_view(), 200)?)
}

/// The job, if it exists and belongs to the caller's key (others' jobs are "not found").
pub async fn owned_job(env: &Env, job_id: &str, key_hash: &str) -> Result<Job, ApiError> {
    match Store::new(env).get(job_id).await? {
        Some(job) if auth::same_hash(&job.key_hash, key_hash) => Ok(job),
        _ => Err(ApiError::new(ErrorCode::JobNotFound, format!("there is no job {job_id}"))
            .details("use a job id returned by POST /v1/extract or /v1/batch")),
    }
}
