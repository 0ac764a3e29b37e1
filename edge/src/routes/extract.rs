//! `POST /v1/extract`, and job submission shared with batches.

use converso_core::ErrorCode;
use serde_json::json;
use worker::{Env, Request, Response};

use crate::auth::Caller;
use crate::config::Config;
use crate::envelope::{self, ApiError};
use crate::ids;
use crate::jobs::{now_iso, Job, JobOptions, Status, Store};
use crate::request::{self, ExtractRequest};
use crate::work;

/// Rough seconds from submission to completion for a short video.
const ESTIMATED_SECONDS: u32 = 30;

pub async fn handle(req: &mut Request, env: &Env, cfg: &Config, caller: &Caller) -> Result<Response, ApiError> {
    let body = request::json_body(req).await?;
    let r = request::extract_request(&body, cfg.allow_loopback)?;
    let jobs = submit(env, cfg, caller, vec![r], None, None).await?;
    let job = &jobs[0];
    let data = json!({
        "jobId": job.job_id,
        "status": job.status.as_str(),
        "estimatedTime": ESTIMATED_SECONDS,
        "statusUrl": job.path("status"),
    });
    Ok(envelope::ok(&data, 202)?)
}

/// Checks the caller's plan, reserves capacity, stores the jobs and queues their work.
/// All jobs are admitted or none (`QUEUE_FULL`).
pub async fn submit(
    env: &Env,
    cfg: &Config,
    caller: &Caller,
    requests: Vec<ExtractRequest>,
    batch_id: Option<&str>,
    batch_webhook: Option<String>,
) -> Result<Vec<Job>, ApiError> {
    for r in &requests {
        if !caller.plan.allows_priority(&r.priority) {
            return Err(ApiError::new(ErrorCode::Forbidden, "this API key may not use high priority")
                .details("the free plan allows low and normal priority"));
        }
    }
    let store = Store::new(env);
    let ids: Vec<String> = requests.iter().map(|_| ids::new_job_id()).collect();
    let admission = store.admit(&ids, &caller.key_hash).await?;
    if !admission.admitted {
        let whose = if admission.scope.as_deref() == Some("key") { "for this API key" } else { "on the service" };
        return Err(ApiError::new(ErrorCode::QueueFull, format!("too many jobs are waiting {whose}"))
            .details("retry after the time in Retry-After"));
    }
    if cfg.stop_after_admit {
        worker::console_log!(
            "jobs {}: the submission stops after taking their places (DEV_STOP_AFTER_ADMIT)",
            ids.join(" ")
        );
        return Err(worker::Error::RustError("the submission stopped after taking its places".into()).into());
    }
    let created_at = now_iso();
    let mut jobs = Vec::with_capacity(requests.len());
    for (r, job_id) in requests.into_iter().zip(&ids) {
        let job = new_job(job_id, r, caller, batch_id, &batch_webhook, &created_at);
        if let Err(e) = store.put(&job).await {
            // The jobs stored so far run, their alarms sending their work (see `lease`), and
            // give their places back when settled; the rest never will.
            let (stored, lost) = ids.split_at(jobs.len());
            confirm(&store, stored).await;
            if let Err(release_error) = store.release(lost).await {
                worker::console_error!("jobs {}: their places wait for the grace: {release_error}", lost.join(" "));
            }
            return Err(e.into());
        }
        jobs.push(job);
    }
    confirm(&store, &ids).await;
    for job in &jobs {
        // A job whose message is lost here is sent again by its alarm (see `lease`).
        work::enqueue_job(env, job).await?;
    }
    Ok(jobs)
}

/// Confirms the places of stored jobs; should that fail, they are reclaimed after the grace
/// while the jobs run (see `places`), which only lets more in for a while.
async fn confirm(store: &Store<'_>, ids: &[String]) {
    if let Err(e) = store.confirm(ids).await {
        worker::console_error!("jobs {}: their places are not confirmed: {e}", ids.join(" "));
    }
}

fn new_job(
    job_id: &str,
    r: ExtractRequest,
    caller: &Caller,
    batch_id: Option<&str>,
    batch_webhook: &Option<String>,
    created_at: &str,
) -> Job {
    Job {
        job_id: job_id.to_string(),
        batch_id: batch_id.map(str::to_string),
        key_hash: caller.key_hash.clone(),
        webhook_secret: caller.webhook_secret.clone(),
        source_url: r.source_url,
        status: Status::Queued,
        progress: 0,
        current_step: None,
        estimated_time_remaining: Some(ESTIMATED_SECONDS),
        input_file: None,
        output_file: None,
        options: JobOptions {
            filename: r.filename,
            webhook: r.webhook.or_else(|| batch_webhook.clone()),
            priority: r.priority,
        },
        output: r.output_json,
        plan: None,
        error: None,
        webhook: None,
        created_at: created_at.to_string(),
        started_at: None,
        completed_at: None,
        expires_at_ms: None,
        attempts: 0,
        max_source_bytes: caller.plan.max_source_bytes(),
        output_upload: None,
        settled: false,
    }
}
