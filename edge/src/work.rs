//! The queue's messages and the consumer loop: job processing, the settling of results and
//! webhook deliveries share one queue; within a batch, higher-priority jobs go first.

use futures_util::future::{join, join_all};
use serde::{Deserialize, Serialize};
use worker::{Env, Message, MessageBatch, MessageBuilder, MessageExt};

use crate::config::WORK;
use crate::jobs::Job;
use crate::{process, webhook};

/// One unit of work.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Work {
    /// Run a job.
    #[serde(rename_all = "camelCase")]
    Process { job_id: String, priority: String },
    /// Deliver a job's final event (attempt counts from 1).
    #[serde(rename_all = "camelCase")]
    Webhook { job_id: String, attempt: u32 },
    /// Settle a result its run did not (see `process::settle`).
    #[serde(rename_all = "camelCase")]
    Settle { job_id: String },
}

/// Seconds `low` jobs wait before delivery, so `normal` and `high` jobs sent at the same time
/// are taken first.
const LOW_PRIORITY_DELAY_SECONDS: u32 = 2;

pub async fn enqueue_job(env: &Env, job: &Job) -> worker::Result<()> {
    let delay = if job.options.priority == "low" { LOW_PRIORITY_DELAY_SECONDS } else { 0 };
    let msg = Work::Process { job_id: job.job_id.clone(), priority: job.options.priority.clone() };
    env.queue(WORK)?.send(MessageBuilder::new(msg).delay_seconds(delay).build()).await
}

pub async fn enqueue_webhook(env: &Env, job_id: &str, attempt: u32, delay_seconds: u32) -> worker::Result<()> {
    let msg = Work::Webhook { job_id: job_id.to_string(), attempt };
    env.queue(WORK)?.send(MessageBuilder::new(msg).delay_seconds(delay_seconds).build()).await
}

pub async fn enqueue_settle(env: &Env, job_id: &str) -> worker::Result<()> {
    let msg = Work::Settle { job_id: job_id.to_string() };
    env.queue(WORK)?.send(msg).await
}

fn rank(w: &Work) -> u8 {
    match w {
        Work::Webhook { .. } | Work::Settle { .. } => 0,
        Work::Process { priority, .. } => match priority.as_str() {
            "high" => 1,
            "normal" => 2,
            _ => 3,
        },
    }
}

/// Runs one message and acknowledges it, or hands it back to the queue on an infrastructure
/// failure (the job store unreachable, …); after the queue's retries it goes to the dead-letter
/// queue, and the job's alarm sends its work again once its lease passes (see `lease`).
async fn handle(env: &Env, m: &Message<Work>) {
    let result = match m.body() {
        Work::Process { job_id, .. } => process::run(env, job_id).await,
        Work::Webhook { job_id, attempt } => webhook::deliver(env, job_id, *attempt).await,
        Work::Settle { job_id } => process::settle_unsettled(env, job_id).await,
    };
    match result {
        Ok(()) => m.ack(),
        Err(e) => {
            worker::console_error!("work {:?} failed, will retry: {e}", m.body());
            m.retry();
        }
    }
}

/// Webhook deliveries and settlings run concurrently, alongside the jobs, so a slow receiver
/// never holds up work; jobs run one after another, highest priority first.
pub async fn consume(batch: MessageBatch<Work>, env: &Env) -> worker::Result<()> {
    let mut messages = batch.messages()?;
    messages.sort_by_key(|m| rank(m.body()));
    let (others, jobs): (Vec<_>, Vec<_>) =
        messages.into_iter().partition(|m| !matches!(m.body(), Work::Process { .. }));
    let deliveries = join_all(others.iter().map(|m| handle(env, m)));
    let work = async {
        for m in &jobs {
            handle(env, m).await;
        }
    };
    join(deliveries, work).await;
    Ok(())
}
