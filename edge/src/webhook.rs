//! Webhook delivery: the documented payload, signed with HMAC-SHA256 over
//! `<timestamp>.<body>`, retried with backoff through the queue.

use std::time::Duration;

use futures_util::future::{select, Either};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use worker::{AbortController, Delay, Env, Fetch, Headers, Method, Request, RequestInit, RequestRedirect};

use crate::config::Config;
use crate::fetch_guard;
use crate::jobs::{now_iso, now_ms, Job, Status, Store, WebhookState};
use crate::{lease, work};

/// Attempts before a delivery is given up.
pub const MAX_ATTEMPTS: u32 = 5;
/// Time a receiver has to answer.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// The event body for a job in a final state.
pub fn payload(job: &Job) -> Value {
    let mut v = json!({
        "event": if job.status == Status::Completed { "job.completed" } else { "job.failed" },
        "jobId": job.job_id,
        "status": job.status.as_str(),
        "timestamp": now_iso(),
    });
    if let Some(obj) = v.as_object_mut() {
        if job.status == Status::Completed {
            obj.insert("downloadUrl".into(), job.path("download").into());
            obj.insert("outputFile".into(), serde_json::to_value(&job.output_file).unwrap_or(Value::Null));
        } else {
            obj.insert("error".into(), serde_json::to_value(&job.error).unwrap_or(Value::Null));
        }
        if let Some(b) = &job.batch_id {
            obj.insert("batchId".into(), b.clone().into());
        }
    }
    v
}

/// `v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
pub fn signature(secret: &str, timestamp: u64, body: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| unreachable_mac());
    mac.update(format!("{timestamp}.{body}").as_bytes());
    let hex: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    format!("v1={hex}")
}

/// HMAC accepts keys of any length; this is never reached.
fn unreachable_mac() -> Hmac<Sha256> {
    <Hmac<Sha256> as Mac>::new_from_slice(b"0").unwrap_or_else(|_| unreachable_mac())
}

/// Seconds between attempt `attempt - 1` and `attempt`: 1×, 3×, 9×, 27× the base delay.
pub fn retry_delay_seconds(base: u32, attempt: u32) -> u32 {
    match attempt {
        0 | 1 => 0,
        n => base.saturating_mul(3u32.saturating_pow(n - 2)),
    }
}

/// Sends one attempt; records the outcome on the job and schedules the next attempt.
pub async fn deliver(env: &Env, job_id: &str, attempt: u32) -> worker::Result<()> {
    let store = Store::new(env);
    let Some(mut job) = store.get(job_id).await? else { return Ok(()) };
    // Only the attempt the job owes: a copy of one already made (its message sent again after
    // a restart) sends nothing.
    if lease::owed_delivery(&job) != Some(attempt) {
        return Ok(());
    }
    let Some(url) = job.options.webhook.clone() else { return Ok(()) };
    let cfg = Config::from_env(env);
    let outcome = match fetch_guard::check(&url, cfg.allow_loopback) {
        Ok(_) => send(&url, &job).await,
        Err(why) => Err(format!("the webhook URL is not acceptable: {why}")),
    };
    let state = job.webhook.get_or_insert_with(WebhookState::default);
    state.attempts = attempt;
    match outcome {
        Ok(()) => {
            state.status = "delivered".into();
            state.last_error = None;
            state.code = None;
            state.delivered_at = Some(now_iso());
        }
        Err(e) if attempt < MAX_ATTEMPTS => {
            state.status = "pending".into();
            state.last_error = Some(e);
            let delay = retry_delay_seconds(cfg.webhook_retry_base_seconds, attempt + 1);
            work::enqueue_webhook(env, job_id, attempt + 1, delay).await?;
        }
        Err(e) => {
            state.status = "failed".into();
            state.last_error = Some(e);
            state.code = Some("WEBHOOK_FAILED".into());
        }
    }
    store.put(&job).await
}

async fn send(url: &str, job: &Job) -> Result<(), String> {
    let body = payload(job).to_string();
    let timestamp = now_ms() / 1000;
    let headers = Headers::new();
    let set = |k: &str, v: &str| headers.set(k, v).map_err(|e| e.to_string());
    set("Content-Type", "application/json")?;
    set("User-Agent", concat!("converso-webhook/", env!("CARGO_PKG_VERSION")))?;
    set("X-Converso-Timestamp", &timestamp.to_string())?;
    set("X-Converso-Signature", &signature(&job.webhook_secret, timestamp, &body))?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(body.into()))
        .with_redirect(RequestRedirect::Manual);
    let req = Request::new_with_init(url, &init).map_err(|e| e.to_string())?;
    let ctrl = AbortController::default();
    let signal = ctrl.signal();
    let request = Fetch::Request(req);
    let fetch = Box::pin(request.send_with_signal(&signal));
    let timeout = Box::pin(Delay::from(TIMEOUT));
    let outcome = match select(fetch, timeout).await {
        Either::Left((Ok(resp), _)) => match resp.status_code() {
            200..=299 => Ok(()),
            300..=399 => Err(format!("the receiver redirected ({}); redirects are not followed", resp.status_code())),
            s => Err(format!("the receiver answered {s}")),
        },
        Either::Left((Err(e), _)) => Err(format!("could not reach the receiver: {e}")),
        Either::Right(_) => {
            ctrl.abort();
            Err(format!("no answer within {} s", TIMEOUT.as_secs()))
        }
    };
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_of_timestamp_and_body() {
        // Expected value from `printf '1700000000.{}' | openssl dgst -sha256 -hmac secret`.
        let sig = signature("secret", 1700000000, "{}");
        assert_eq!(sig, "v1=b8569b78799ff9e3cbff0fc2d63a33a2b57f3282abd07c37ae5e8e7d79a5f163");
        assert_ne!(sig, signature("other", 1700000000, "{}"));
        assert_ne!(sig, signature("secret", 1700000001, "{}"));
    }

    #[test]
    fn retries_wait_one_three_nine_and_twenty_seven_times_the_base() {
        let delays: Vec<u32> = (1..=5).map(|n| retry_delay_seconds(10, n)).collect();
        assert_eq!(delays, [0, 10, 30, 90, 270]);
    }
}
