//! Binding names (mirroring wrangler.toml) and settings read from the environment's vars.

use worker::Env;

use crate::lease::Timing;

/// KV namespace of API keys (by SHA-256 hash).
pub const KEYS: &str = "KEYS";
/// R2 bucket: `inputs/<jobId>` while processing, `outputs/<jobId>` until expiry.
pub const MEDIA: &str = "MEDIA";
/// Durable Object namespace: one object per job, plus the coordinator.
pub const JOBS: &str = "JOBS";
/// Queue of work (job processing and webhook deliveries).
pub const WORK: &str = "WORK";

/// Settings with their defaults.
#[derive(Clone, Debug)]
pub struct Config {
    pub allow_loopback: bool,
    pub output_ttl_seconds: u64,
    pub queue_capacity: u32,
    pub key_capacity: u32,
    /// How long a capacity place may stay taken by a submission that never stored its job
    /// (see `places`).
    pub admission_grace_seconds: u64,
    pub maintenance: bool,
    pub webhook_retry_base_seconds: u32,
    /// How long a job may go without a sign of life (its run starting, or its heartbeat) before
    /// its work is sent again (see `lease`).
    pub job_lease_seconds: u64,
    /// How long a source may take to answer (status and headers), and to send more of its body.
    pub source_answer_seconds: u64,
    pub source_stall_seconds: u64,
    /// `DEV_STOP_AFTER_RESULT`, for tests in development only: a run stops right after recording
    /// its result, as if its Worker died there, leaving the settling to the job's alarm.
    pub stop_after_result: bool,
    /// `DEV_STOP_AFTER_ADMIT`, for tests in development only: a submission stops right after
    /// taking its capacity places, as if its Worker died there, before storing its jobs.
    pub stop_after_admit: bool,
}

fn var(env: &Env, name: &str) -> Option<String> {
    env.var(name).ok().map(|v| v.to_string()).or_else(|| env.secret(name).ok().map(|v| v.to_string()))
}

/// A var or secret, if set and not empty.
pub fn text(env: &Env, name: &str) -> Option<String> {
    var(env, name).filter(|v| !v.is_empty())
}

impl Config {
    pub fn from_env(env: &Env) -> Config {
        let num = |name: &str, default: u64| text(env, name).and_then(|v| v.parse().ok()).unwrap_or(default);
        let flag = |name: &str| text(env, name).is_some_and(|v| v == "true");
        Config {
            allow_loopback: flag("ALLOW_LOOPBACK_SOURCES"),
            output_ttl_seconds: num("OUTPUT_TTL_SECONDS", 86_400),
            queue_capacity: num("QUEUE_CAPACITY", 100) as u32,
            key_capacity: num("KEY_CAPACITY", 20) as u32,
            admission_grace_seconds: num("ADMISSION_GRACE_SECONDS", 60),
            maintenance: flag("MAINTENANCE"),
            webhook_retry_base_seconds: num("WEBHOOK_RETRY_BASE_SECONDS", 10) as u32,
            job_lease_seconds: num("JOB_LEASE_SECONDS", 60).max(1),
            source_answer_seconds: num("SOURCE_ANSWER_SECONDS", 30).max(1),
            source_stall_seconds: num("SOURCE_STALL_SECONDS", 60).max(1),
            stop_after_result: flag("DEV_STOP_AFTER_RESULT"),
            stop_after_admit: flag("DEV_STOP_AFTER_ADMIT"),
        }
    }

    pub fn lease_timing(&self) -> Timing {
        Timing { lease_ms: self.job_lease_seconds * 1000, webhook_retry_base_seconds: self.webhook_retry_base_seconds }
    }
}
