//! Keeping every job moving when the Worker running it goes away (a crash, an eviction, a
//! deploy, or a restart of `wrangler dev`, whose local queue keeps its messages in memory only).
//!
//! Each job's object holds a deadline for the job's next sign of life (its [`Lease`]) and a
//! Durable Object alarm that rings by then; every write to the job moves the deadline:
//! - queued or processing: the run must start, or its heartbeat come, within the lease; when the
//!   alarm finds it missed, the job's message is sent again (at growing intervals while nobody
//!   takes it). A run starts only by [`claim`]ing the job, which counts the attempt, so a
//!   duplicate message for a job that is finished or running under a live lease does nothing,
//!   and only the latest attempt may write the job ([`may_save`]): a run that was given up on
//!   cannot overwrite its successor's result.
//! - finished, not yet settled (input deleted, expiry scheduled, capacity place given back; see
//!   `process::settle`): the run that recorded the result must settle it within the lease, else
//!   the settling is sent to the queue, where it runs again (every step of it may repeat).
//! - finished with a webhook still owed: the next attempt must be made by its retry time plus
//!   the lease and the receiver's timeout, else it is sent again.
//! - finished, nothing owed: no deadline.
//!
//! The alarm only reads and writes the job's storage and sends to the queue: whatever else a
//! follow-up needs runs in the consumer. (Under `wrangler dev` 4.86, alarms that also called the
//! coordinator object left the local runtime answering nothing once dozens rang together.)

use serde::{Deserialize, Serialize};

use crate::jobs::{Job, Status};
use crate::webhook;

/// The deadline for a job's next sign of life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Lease {
    /// Milliseconds since the epoch.
    pub until_ms: u64,
    /// Times the job's work was sent again since it last moved; each doubles the next wait.
    pub resends: u32,
}

/// The settings the deadlines follow.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    pub lease_ms: u64,
    pub webhook_retry_base_seconds: u32,
}

/// The most a wait doubles: 2^6 leases.
const MAX_DOUBLINGS: u32 = 6;

/// What a message asking to run a job may do.
#[derive(Debug, PartialEq, Eq)]
pub enum Claim {
    /// Run it: the attempt is counted and the lease taken.
    Run,
    /// It has a result already.
    Finished,
    /// Another run holds a live lease (renewed by the run since its work was last sent again).
    Busy,
}

/// What the alarm does.
#[derive(Debug, PartialEq, Eq)]
pub enum FollowUp {
    /// The deadline moved on: wait for it.
    Wait(u64),
    /// The job did not start or went silent: send its message again.
    RunAgain,
    /// The job has a result but its run did not settle it: send the settling.
    Settle,
    /// The webhook's attempt `n` was not made in time: send it again.
    Deliver(u32),
    /// Nothing is owed any more: stop watching.
    Done,
}

/// Takes the job for a run, unless it is finished or running under a live lease.
pub fn claim(job: &mut Job, lease: Option<Lease>, now: u64, t: Timing) -> (Claim, Option<Lease>) {
    if job.is_final() {
        return (Claim::Finished, lease);
    }
    // The run's own deadline (set by its claim, heartbeat or save: nothing sent again since).
    if job.status == Status::Processing && lease.is_some_and(|l| l.resends == 0 && now < l.until_ms) {
        return (Claim::Busy, lease);
    }
    job.attempts += 1;
    job.begin_run();
    (Claim::Run, Some(Lease { until_ms: now + t.lease_ms, resends: 0 }))
}

/// Whether a run's write may replace the stored job: only the latest attempt's, and never over
/// a result.
pub fn may_save(stored: &Job, attempt: u32) -> bool {
    !stored.is_final() && stored.attempts == attempt
}

/// The webhook attempt the job still owes, if any.
pub fn owed_delivery(job: &Job) -> Option<u32> {
    if !job.is_final() || job.options.webhook.is_none() {
        return None;
    }
    match &job.webhook {
        None => Some(1),
        Some(w) if w.status == "pending" && w.attempts < webhook::MAX_ATTEMPTS => Some(w.attempts + 1),
        Some(_) => None,
    }
}

/// The deadline after the job was written (or its work sent again `resends` times); `None` once
/// nothing is owed.
pub fn after_write(job: &Job, now: u64, t: Timing, resends: u32) -> Option<Lease> {
    let wait = t.lease_ms << resends.min(MAX_DOUBLINGS);
    let until_ms = match owed_delivery(job) {
        _ if !job.is_final() || !job.settled => now + wait,
        Some(n) => {
            let retry_ms = if resends == 0 { webhook::retry_delay_seconds(t.webhook_retry_base_seconds, n) } else { 0 };
            now + u64::from(retry_ms) * 1000 + wait + webhook::TIMEOUT.as_millis() as u64
        }
        None => return None,
    };
    Some(Lease { until_ms, resends })
}

/// What to do when the alarm rings.
pub fn follow_up(job: &Job, lease: Lease, now: u64) -> FollowUp {
    if now < lease.until_ms {
        return FollowUp::Wait(lease.until_ms);
    }
    if !job.is_final() {
        return FollowUp::RunAgain;
    }
    if !job.settled {
        return FollowUp::Settle;
    }
    match owed_delivery(job) {
        Some(n) => FollowUp::Deliver(n),
        None => FollowUp::Done,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::{JobOptions, Step, WebhookState};

    const T: Timing = Timing { lease_ms: 5_000, webhook_retry_base_seconds: 10 };

    fn job(status: Status, webhook: Option<&str>) -> Job {
        Job {
            job_id: "job_0123456789abcdef".into(),
            batch_id: None,
            key_hash: "k".into(),
            webhook_secret: "s".into(),
            source_url: "https://example.com/v.mp4".into(),
            status,
            progress: 0,
            current_step: None,
            estimated_time_remaining: None,
            input_file: None,
            output_file: None,
            options: JobOptions { filename: None, webhook: webhook.map(str::to_string), priority: "normal".into() },
            output: serde_json::json!({"format": "aac"}),
            plan: None,
            error: None,
            webhook: None,
            created_at: "2026-01-01T00:00:00Z".into(),
            started_at: None,
            completed_at: None,
            expires_at_ms: None,
            attempts: 0,
            max_source_bytes: 1,
            output_upload: None,
            // Finished jobs here were settled by their run (the unsettled case has its own test).
            settled: matches!(status, Status::Completed | Status::Failed),
        }
    }

    #[test]
    fn a_queued_job_is_claimed_once() {
        let mut j = job(Status::Queued, None);
        let (c, lease) = claim(&mut j, Some(Lease { until_ms: 9_000, resends: 2 }), 1_000, T);
        assert_eq!(c, Claim::Run);
        assert_eq!((j.status, j.attempts, j.current_step), (Status::Processing, 1, Some(Step::DownloadingVideo)));
        assert_eq!(lease, Some(Lease { until_ms: 6_000, resends: 0 }));
        // A duplicate message while the run's lease is live.
        let (again, _) = claim(&mut j, lease, 2_000, T);
        assert_eq!(again, Claim::Busy);
        assert_eq!(j.attempts, 1);
    }

    #[test]
    fn a_silent_run_is_claimed_again_and_counted() {
        let mut j = job(Status::Processing, None);
        j.attempts = 1;
        j.progress = 60;
        j.current_step = Some(Step::ExtractingAudio);
        j.plan = Some(serde_json::json!({"mode": "copy"}));
        let (c, lease) = claim(&mut j, Some(Lease { until_ms: 6_000, resends: 1 }), 6_000, T);
        assert_eq!(c, Claim::Run);
        assert_eq!(j.attempts, 2);
        assert_eq!(lease.map(|l| l.until_ms), Some(11_000));
        // From the source again: nothing of the interrupted run shows.
        assert_eq!((j.progress, j.plan.clone(), j.current_step), (0, None, Some(Step::DownloadingVideo)));
    }

    #[test]
    fn once_the_work_was_sent_again_the_next_message_takes_over() {
        let mut j = job(Status::Processing, None);
        j.attempts = 1;
        // The alarm sent the work again and set the next deadline.
        let (c, _) = claim(&mut j, Some(Lease { until_ms: 14_000, resends: 1 }), 7_000, T);
        assert_eq!(c, Claim::Run);
        assert_eq!(j.attempts, 2);
    }

    #[test]
    fn a_finished_job_is_never_claimed() {
        for status in [Status::Completed, Status::Failed] {
            let mut j = job(status, None);
            assert_eq!(claim(&mut j, None, 0, T).0, Claim::Finished);
            assert_eq!((j.status, j.attempts), (status, 0));
        }
    }

    #[test]
    fn only_the_latest_attempt_saves_and_never_over_a_result() {
        let mut j = job(Status::Processing, None);
        j.attempts = 2;
        assert!(may_save(&j, 2));
        assert!(!may_save(&j, 1));
        j.status = Status::Completed;
        assert!(!may_save(&j, 2));
    }

    #[test]
    fn waits_double_while_the_work_is_sent_again() {
        let until = |resends| after_write(&job(Status::Queued, None), 0, T, resends).map(|l| l.until_ms);
        assert_eq!(until(0), Some(5_000));
        assert_eq!(until(2), Some(20_000));
        assert_eq!(until(50), Some(5_000 << MAX_DOUBLINGS));
    }

    #[test]
    fn an_owed_webhook_is_due_after_its_retry_delay_the_lease_and_the_timeout() {
        let mut j = job(Status::Completed, Some("https://example.com/hook"));
        let until = |j: &Job, resends| after_write(j, 0, T, resends).map(|l| l.until_ms);
        assert_eq!(owed_delivery(&j), Some(1));
        assert_eq!(until(&j, 0), Some(5_000 + 10_000));
        j.webhook = Some(WebhookState { status: "pending".into(), attempts: 2, ..Default::default() });
        assert_eq!(owed_delivery(&j), Some(3));
        // Attempt 3 is sent 30 s after attempt 2.
        assert_eq!(until(&j, 0), Some(30_000 + 5_000 + 10_000));
        // Sent again by the alarm: no retry delay.
        assert_eq!(until(&j, 1), Some(10_000 + 10_000));
        for status in ["delivered", "failed"] {
            j.webhook = Some(WebhookState { status: status.into(), attempts: 5, ..Default::default() });
            assert_eq!(owed_delivery(&j), None);
            assert_eq!(until(&j, 0), None);
        }
        assert_eq!(until(&job(Status::Failed, None), 0), None);
    }

    #[test]
    fn a_result_its_run_did_not_settle_is_settled_before_anything_else() {
        let mut j = job(Status::Completed, Some("https://example.com/hook"));
        j.settled = false;
        // Watched for one lease from the result, as a running job (not the webhook's later deadline).
        assert_eq!(after_write(&j, 1_000, T, 0), Some(Lease { until_ms: 6_000, resends: 0 }));
        assert_eq!(follow_up(&j, Lease { until_ms: 6_000, resends: 0 }, 5_999), FollowUp::Wait(6_000));
        assert_eq!(follow_up(&j, Lease { until_ms: 6_000, resends: 0 }, 6_000), FollowUp::Settle);
        // Sent again while nobody settles it: the waits double.
        assert_eq!(after_write(&j, 6_000, T, 1).map(|l| l.until_ms), Some(16_000));
        j.settled = true;
        assert_eq!(follow_up(&j, Lease { until_ms: 6_000, resends: 0 }, 6_000), FollowUp::Deliver(1));
        let mut failed = job(Status::Failed, None);
        failed.settled = false;
        assert_eq!(follow_up(&failed, Lease { until_ms: 6_000, resends: 0 }, 9_000), FollowUp::Settle);
    }

    #[test]
    fn the_alarm_runs_again_delivers_or_stops() {
        let lease = Lease { until_ms: 5_000, resends: 0 };
        let queued = job(Status::Queued, None);
        assert_eq!(follow_up(&queued, lease, 4_999), FollowUp::Wait(5_000));
        assert_eq!(follow_up(&queued, lease, 5_000), FollowUp::RunAgain);
        assert_eq!(follow_up(&job(Status::Processing, None), lease, 9_000), FollowUp::RunAgain);
        assert_eq!(
            follow_up(&job(Status::Failed, Some("https://example.com/hook")), lease, 9_000),
            FollowUp::Deliver(1)
        );
        assert_eq!(follow_up(&job(Status::Completed, None), lease, 9_000), FollowUp::Done);
    }
}
