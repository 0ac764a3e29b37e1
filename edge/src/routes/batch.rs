//! `POST /v1/batch` and `GET /v1/batch/{batchId}`.

use converso_core::ErrorCode;
use serde_json::{json, Value};
use worker::{Env, Request, Response};

use crate::auth::{self, Caller};
use crate::config::Config;
use crate::envelope::{self, ApiError};
use crate::ids;
use crate::jobs::{now_iso, Batch, Store};
use crate::request;

/// Most jobs in one batch.
const MAX_JOBS: usize = 10;

pub async fn handle(req: &mut Request, env: &Env, cfg: &Config, caller: &Caller) -> Result<Response, ApiError> {
    let body = request::json_body(req).await?;
    let Some(list) = body.get("jobs").and_then(Value::as_array) else {
        return Err(ApiError::new(ErrorCode::InvalidRequest, "jobs is required and must be an array"));
    };
    if list.is_empty() {
        return Err(ApiError::new(ErrorCode::InvalidRequest, "jobs is empty").details("send 1 to 10 jobs"));
    }
    if list.len() > MAX_JOBS {
        return Err(ApiError::new(ErrorCode::TooManyJobs, format!("a batch may hold at most {MAX_JOBS} jobs"))
            .details(format!("{} jobs were sent", list.len())));
    }
    if list.len() > caller.plan.max_batch() {
        return Err(ApiError::new(ErrorCode::Forbidden, "this API key may not submit batches of this size")
            .details(format!("the plan allows batches of at most {} jobs", caller.plan.max_batch())));
    }
    let webhook = request::webhook(body.get("webhook").unwrap_or(&Value::Null), "webhook", cfg.allow_loopback)?;
    let mut requests = Vec::with_capacity(list.len());
    for (i, job) in list.iter().enumerate() {
        let r = request::extract_request(job, cfg.allow_loopback).map_err(|mut e| {
            let what = e.error.details.take().map_or(String::new(), |d| format!(" ({d})"));
            e.error.details = Some(format!("jobs[{i}]: {}{what}", e.error.message));
            e
        })?;
        requests.push(r);
    }
    let batch_id = ids::new_batch_id();
    let jobs = super::submit(env, cfg, caller, requests, Some(&batch_id), webhook).await?;
    let batch = Batch {
        batch_id: batch_id.clone(),
        key_hash: caller.key_hash.clone(),
        job_ids: jobs.iter().map(|j| j.job_id.clone()).collect(),
        created_at: now_iso(),
    };
    Store::new(env).put_batch(&batch).await?;
    let data = json!({
        "batchId": batch_id,
        "totalJobs": jobs.len(),
        "jobs": jobs.iter().map(|j| json!({"jobId": j.job_id, "status": j.status.as_str()})).collect::<Vec<_>>(),
    });
    Ok(envelope::ok(&data, 202)?)
}

pub async fn status(env: &Env, caller: &Caller, batch_id: &str) -> Result<Response, ApiError> {
    if !ids::is_batch_id(batch_id) {
        return Err(ApiError::new(ErrorCode::InvalidJobId, format!("\"{batch_id}\" is not a batch id"))
            .details("batch ids are batch_ followed by 16 hex digits"));
    }
    let store = Store::new(env);
    let batch = match store.get_batch(batch_id).await? {
        Some(b) if auth::same_hash(&b.key_hash, &caller.key_hash) => b,
        _ => return Err(ApiError::new(ErrorCode::JobNotFound, format!("there is no batch {batch_id}"))),
    };
    let mut jobs = Vec::new();
    let mut counts = [0usize; 4];
    for id in &batch.job_ids {
        let Some(job) = store.get(id).await? else { continue };
        counts[job.status as usize] += 1;
        jobs.push(json!({"jobId": job.job_id, "status": job.status.as_str(), "progress": job.progress}));
    }
    let data = json!({
        "batchId": batch.batch_id,
        "totalJobs": batch.job_ids.len(),
        "jobs": jobs,
        "counts": {"queued": counts[0], "processing": counts[1], "completed": counts[2], "failed": counts[3]},
        "createdAt": batch.created_at,
    });
    Ok(envelope::ok(&data, 200)?)
}
