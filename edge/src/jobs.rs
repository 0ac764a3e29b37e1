//! Jobs and their store: one Durable Object per job (named by the job id) holding its record
//! and its lease (see `lease`), one coordinator object that counts queued + processing jobs for
//! backpressure, and one object per batch.

use std::collections::BTreeMap;

use converso_core::Error;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use worker::{
    durable_object, js_sys, DurableObject, Env, Method, Request, RequestInit, Response, ScheduledTime, State,
};

use crate::config::{Config, JOBS};
use crate::lease::{self, Claim, FollowUp, Lease};
use crate::places::Places;
use crate::work;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Queued,
    Processing,
    Completed,
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Processing => "processing",
            Status::Completed => "completed",
            Status::Failed => "failed",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    DownloadingVideo,
    AnalyzingVideo,
    ExtractingAudio,
    Finalizing,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InputFile {
    pub name: String,
    pub size: u64,
    pub duration: Option<f64>,
    pub format: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutputFile {
    pub filename: String,
    pub url: String,
    pub size: u64,
    pub duration: Option<f64>,
    pub format: String,
    pub bitrate: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobOptions {
    pub filename: Option<String>,
    pub webhook: Option<String>,
    pub priority: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookState {
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    pub attempts: u32,
    pub last_error: Option<String>,
    /// `WEBHOOK_FAILED` once every attempt failed.
    pub code: Option<String>,
    pub delivered_at: Option<String>,
}

/// Everything known about a job.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    pub job_id: String,
    pub batch_id: Option<String>,
    pub key_hash: String,
    pub webhook_secret: String,
    pub source_url: String,
    pub status: Status,
    pub progress: u8,
    pub current_step: Option<Step>,
    pub estimated_time_remaining: Option<u32>,
    pub input_file: Option<InputFile>,
    pub output_file: Option<OutputFile>,
    pub options: JobOptions,
    /// The request's `output` object, as validated.
    pub output: Value,
    pub plan: Option<Value>,
    pub error: Option<Error>,
    pub webhook: Option<WebhookState>,
    pub created_at: String,
    pub started_at: Option<String>,
    pub completed_at: Option<String>,
    /// Milliseconds since the epoch after which the output is gone.
    pub expires_at_ms: Option<u64>,
    /// Runs started so far (counted when a run claims the job; see `lease`).
    pub attempts: u32,
    /// Largest source the key's plan allows.
    pub max_source_bytes: u64,
    /// The output's multipart upload the latest run began and has not completed or aborted: a
    /// run that dies leaves it to the next, which aborts it.
    pub output_upload: Option<String>,
    /// What follows the result is done (see `process::settle`); until then the job's alarm
    /// watches it.
    #[serde(default)]
    pub settled: bool,
}

impl Job {
    /// The relative path of a route for this job.
    pub fn path(&self, route: &str) -> String {
        format!("/audio-extract/v1/{route}/{}", self.job_id)
    }

    pub fn is_final(&self) -> bool {
        matches!(self.status, Status::Completed | Status::Failed)
    }

    /// A run starts from the source, whatever an interrupted run before it got to.
    pub fn begin_run(&mut self) {
        self.status = Status::Processing;
        self.current_step = Some(Step::DownloadingVideo);
        self.progress = 0;
        self.input_file = None;
        self.plan = None;
    }

    /// The `data` of a status response.
    pub fn status_view(&self) -> Value {
        let mut v = serde_json::json!({
            "jobId": self.job_id,
            "status": self.status.as_str(),
            "progress": self.progress,
            "currentStep": self.current_step,
            "estimatedTimeRemaining": self.estimated_time_remaining,
            "inputFile": self.input_file,
            "outputFile": self.output_file,
            "options": self.options,
            "output": self.output,
            "plan": self.plan,
            "createdAt": self.created_at,
            "completedAt": self.completed_at,
            "expiresAt": self.expires_at_ms.map(iso_from_ms),
        });
        if let Some(obj) = v.as_object_mut() {
            if self.status == Status::Completed {
                obj.insert("downloadUrl".into(), self.path("download").into());
            }
            if let Some(e) = &self.error {
                obj.insert("error".into(), serde_json::to_value(e).unwrap_or(Value::Null));
            }
            if let Some(b) = &self.batch_id {
                obj.insert("batchId".into(), b.clone().into());
            }
            if let Some(w) = &self.webhook {
                obj.insert("webhook".into(), serde_json::to_value(w).unwrap_or(Value::Null));
            }
        }
        v
    }
}

/// Now, in milliseconds since the epoch.
pub fn now_ms() -> u64 {
    worker::Date::now().as_millis()
}

/// ISO 8601 UTC without fractions, e.g. `2026-01-21T12:34:56Z`.
pub fn iso_from_ms(ms: u64) -> String {
    let iso: String = worker::js_sys::Date::new(&(ms as f64).into()).to_iso_string().into();
    // toISOString gives `2026-01-21T12:34:56.789Z`.
    match iso.find('.') {
        Some(dot) => format!("{}Z", &iso[..dot]),
        None => iso,
    }
}

pub fn now_iso() -> String {
    iso_from_ms(now_ms())
}

/// A batch and its jobs.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Batch {
    pub batch_id: String,
    pub key_hash: String,
    pub job_ids: Vec<String>,
    pub created_at: String,
}

/// Whether the coordinator admitted a job.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Admission {
    pub admitted: bool,
    /// `global` or `key` when refused.
    pub scope: Option<String>,
}

/// The Durable Object behind every job, the coordinator and batches.
#[durable_object]
pub struct JobStore {
    state: State,
    env: Env,
}

impl JobStore {
    /// The coordinator's capacity places. Those kept under `active` (job id → key hash) before
    /// places were confirmed are taken over as confirmed, so an upgrade keeps every job counted.
    async fn places(&self) -> worker::Result<Places> {
        let storage = self.state.storage();
        if let Some(places) = storage.get("places").await? {
            return Ok(places);
        }
        let active: Option<BTreeMap<String, String>> = storage.get("active").await?;
        let places = Places::from_held(active.unwrap_or_default(), now_ms());
        storage.put("places", &places).await?;
        storage.delete("active").await?;
        Ok(places)
    }

    /// Applies `change` to the coordinator's places and stores them; what `change` returns.
    async fn change_places<T>(&self, change: impl FnOnce(&mut Places) -> T) -> worker::Result<T> {
        let mut places = self.places().await?;
        let out = change(&mut places);
        self.state.storage().put("places", &places).await?;
        Ok(out)
    }

    /// Moves the job's deadline after a write (or after its work was sent again `resends` times).
    async fn watch(&self, job: &Job, resends: u32) -> worker::Result<()> {
        let timing = Config::from_env(&self.env).lease_timing();
        match lease::after_write(job, now_ms(), timing, resends) {
            Some(lease) => self.set_lease(lease).await,
            None => self.unwatch().await,
        }
    }

    async fn unwatch(&self) -> worker::Result<()> {
        let storage = self.state.storage();
        storage.delete("lease").await?;
        storage.delete_alarm().await
    }

    /// Stores the deadline and makes sure the alarm rings by then. An alarm already set no later
    /// stays: ringing early, it re-arms itself for the deadline it finds (`FollowUp::Wait`), so
    /// heartbeats and progress saves write one key and leave the alarm alone rather than
    /// re-scheduling it at every write.
    async fn set_lease(&self, lease: Lease) -> worker::Result<()> {
        let storage = self.state.storage();
        storage.put("lease", lease).await?;
        if storage.get_alarm().await?.is_some_and(|at| at <= lease.until_ms as i64) {
            return Ok(());
        }
        let at = js_sys::Date::new(&(lease.until_ms as f64).into());
        storage.set_alarm(ScheduledTime::new(at)).await
    }

    /// The stored job, if a run of `attempt` may still write it.
    async fn writable(&self, attempt: u32) -> worker::Result<Option<Job>> {
        let stored = self.state.storage().get::<Job>("job").await?;
        Ok(stored.filter(|s| lease::may_save(s, attempt)))
    }
}

impl DurableObject for JobStore {
    fn new(state: State, env: Env) -> Self {
        Self { state, env }
    }

    /// A job's deadline passed: its work is sent again.
    async fn alarm(&self) -> worker::Result<Response> {
        let storage = self.state.storage();
        let (Some(job), Some(lease)) = (storage.get::<Job>("job").await?, storage.get::<Lease>("lease").await?) else {
            return Response::empty();
        };
        let id = &job.job_id;
        // The next deadline is set before the work is sent: a run that claims the job at once
        // must find its own lease, not this one.
        match lease::follow_up(&job, lease, now_ms()) {
            FollowUp::Wait(until_ms) => self.set_lease(Lease { until_ms, ..lease }).await?,
            FollowUp::RunAgain => {
                worker::console_log!("job {id}: no sign of life from attempt {}; its work is sent again", job.attempts);
                self.watch(&job, lease.resends + 1).await?;
                work::enqueue_job(&self.env, &job).await?;
            }
            FollowUp::Settle => {
                worker::console_log!("job {id}: its result was recorded but not settled; it is settled again");
                self.watch(&job, lease.resends + 1).await?;
                work::enqueue_settle(&self.env, id).await?;
            }
            FollowUp::Deliver(attempt) => {
                worker::console_log!("job {id}: webhook attempt {attempt} was not made in time; it is sent again");
                self.watch(&job, lease.resends + 1).await?;
                work::enqueue_webhook(&self.env, id, attempt, 0).await?;
            }
            FollowUp::Done => self.unwatch().await?,
        }
        Response::empty()
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        let storage = self.state.storage();
        let path = req.path();
        match (req.method(), path.as_str()) {
            (Method::Get, "/job") => match storage.get::<Job>("job").await? {
                Some(job) => Response::from_json(&job),
                None => Response::error("no job", 404),
            },
            (Method::Put, "/job") => {
                let mut job: Job = req.json().await?;
                // A webhook delivery writes the job as it read it before sending: a settling
                // done meanwhile stays done.
                job.settled |= storage.get::<Job>("job").await?.is_some_and(|stored| stored.settled);
                storage.put("job", &job).await?;
                self.watch(&job, 0).await?;
                Response::empty()
            }
            // A message asks to run the job: the job, if this run may go ahead.
            (Method::Post, "/claim") => {
                let Some(mut job) = storage.get::<Job>("job").await? else { return Response::from_json(&None::<Job>) };
                let timing = Config::from_env(&self.env).lease_timing();
                let (claim, lease) = lease::claim(&mut job, storage.get("lease").await?, now_ms(), timing);
                if claim != Claim::Run {
                    return Response::from_json(&None::<Job>);
                }
                job.started_at.get_or_insert_with(now_iso);
                storage.put("job", &job).await?;
                if let Some(lease) = lease {
                    self.set_lease(lease).await?;
                }
                Response::from_json(&Some(job))
            }
            // A run's write, refused (false) once a newer attempt took over or a result stands.
            (Method::Post, "/save") => {
                let job: Job = req.json().await?;
                if self.writable(job.attempts).await?.is_none() {
                    return Response::from_json(&false);
                }
                storage.put("job", &job).await?;
                self.watch(&job, 0).await?;
                Response::from_json(&true)
            }
            // What follows the result is done (see `process::settle`).
            (Method::Post, "/settled") => {
                if let Some(mut job) = storage.get::<Job>("job").await?.filter(Job::is_final) {
                    job.settled = true;
                    storage.put("job", &job).await?;
                    self.watch(&job, 0).await?;
                }
                Response::empty()
            }
            // A run's heartbeat: false once it no longer holds the job.
            (Method::Post, "/heartbeat") => {
                let attempt: u32 = req.json().await?;
                let Some(job) = self.writable(attempt).await? else { return Response::from_json(&false) };
                self.watch(&job, 0).await?;
                Response::from_json(&true)
            }
            (Method::Post, "/admit") => {
                let ask: AdmitRequest = req.json().await?;
                let cfg = Config::from_env(&self.env);
                let now = now_ms();
                let admitted = self
                    .change_places(|places| {
                        for id in places.reclaim(now, cfg.admission_grace_seconds * 1000) {
                            worker::console_log!("job {id}: its place is given back, the job was never stored");
                        }
                        places.admit(&ask.job_ids, &ask.key_hash, now, cfg.queue_capacity, cfg.key_capacity)
                    })
                    .await?;
                let scope = admitted.err().map(|full| full.as_str().to_string());
                Response::from_json(&Admission { admitted: scope.is_none(), scope })
            }
            (Method::Post, "/confirm") => {
                let ids: Vec<String> = req.json().await?;
                self.change_places(|places| places.confirm(&ids)).await?;
                Response::empty()
            }
            (Method::Post, "/release") => {
                let ids: Vec<String> = req.json().await?;
                self.change_places(|places| places.release(&ids)).await?;
                Response::empty()
            }
            (Method::Post, "/expiry") => {
                let (job_id, at): (String, u64) = req.json().await?;
                let mut due: BTreeMap<String, u64> = storage.get("expiry").await?.unwrap_or_default();
                due.insert(job_id, at);
                storage.put("expiry", &due).await?;
                Response::empty()
            }
            (Method::Post, "/expired") => {
                let now: u64 = req.json().await?;
                let mut due: BTreeMap<String, u64> = storage.get("expiry").await?.unwrap_or_default();
                let expired: Vec<String> = due.iter().filter(|(_, at)| **at <= now).map(|(id, _)| id.clone()).collect();
                for id in &expired {
                    due.remove(id);
                }
                storage.put("expiry", &due).await?;
                Response::from_json(&expired)
            }
            (Method::Put, "/batch") => {
                let batch: Batch = req.json().await?;
                storage.put("batch", &batch).await?;
                Response::empty()
            }
            (Method::Get, "/batch") => match storage.get::<Batch>("batch").await? {
                Some(b) => Response::from_json(&b),
                None => Response::error("no batch", 404),
            },
            _ => Response::error("not found", 404),
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AdmitRequest {
    job_ids: Vec<String>,
    key_hash: String,
}

/// Talks to the job store objects.
pub struct Store<'a> {
    env: &'a Env,
}

const COORDINATOR: &str = "coordinator";

impl<'a> Store<'a> {
    pub fn new(env: &'a Env) -> Self {
        Store { env }
    }

    async fn call(&self, object: &str, method: Method, path: &str, body: Option<String>) -> worker::Result<Response> {
        let stub = self.env.durable_object(JOBS)?.id_from_name(object)?.get_stub()?;
        let mut init = RequestInit::new();
        init.with_method(method);
        if let Some(b) = body {
            init.with_body(Some(b.into()));
        }
        let req = Request::new_with_init(&format!("https://jobs{path}"), &init)?;
        stub.fetch_with_request(req).await
    }

    fn json<T: Serialize>(v: &T) -> worker::Result<String> {
        serde_json::to_string(v).map_err(|e| worker::Error::RustError(e.to_string()))
    }

    pub async fn get(&self, job_id: &str) -> worker::Result<Option<Job>> {
        let mut resp = self.call(job_id, Method::Get, "/job", None).await?;
        if resp.status_code() == 404 {
            return Ok(None);
        }
        resp.json().await.map(Some)
    }

    /// Stores the job as it is (a new job, or a finished job's webhook state).
    pub async fn put(&self, job: &Job) -> worker::Result<()> {
        self.call(&job.job_id, Method::Put, "/job", Some(Self::json(job)?)).await.map(|_| ())
    }

    /// Takes the job for a run (see `lease::claim`): `None` when it is finished, running
    /// elsewhere, or unknown.
    pub async fn claim(&self, job_id: &str) -> worker::Result<Option<Job>> {
        self.call(job_id, Method::Post, "/claim", None).await?.json().await
    }

    /// Stores a run's view of the job, unless a newer attempt took over or a result stands
    /// (`false`).
    pub async fn save(&self, job: &Job) -> worker::Result<bool> {
        self.call(&job.job_id, Method::Post, "/save", Some(Self::json(job)?)).await?.json().await
    }

    /// Renews the lease of the run of `attempt`: `false` once it no longer holds the job.
    pub async fn heartbeat(&self, job_id: &str, attempt: u32) -> worker::Result<bool> {
        self.call(job_id, Method::Post, "/heartbeat", Some(Self::json(&attempt)?)).await?.json().await
    }

    /// Marks a finished job settled (see `process::settle`).
    pub async fn settled(&self, job_id: &str) -> worker::Result<()> {
        self.call(job_id, Method::Post, "/settled", None).await.map(|_| ())
    }

    /// Takes capacity places for `job_ids` (all or none; see `places`).
    pub async fn admit(&self, job_ids: &[String], key_hash: &str) -> worker::Result<Admission> {
        let ask = AdmitRequest { job_ids: job_ids.to_vec(), key_hash: key_hash.to_string() };
        self.call(COORDINATOR, Method::Post, "/admit", Some(Self::json(&ask)?)).await?.json().await
    }

    /// Confirms the places of `job_ids`, whose jobs are stored.
    pub async fn confirm(&self, job_ids: &[String]) -> worker::Result<()> {
        self.call(COORDINATOR, Method::Post, "/confirm", Some(Self::json(&job_ids)?)).await.map(|_| ())
    }

    /// Gives back the capacity places of `job_ids` (those not held any more are skipped).
    pub async fn release(&self, job_ids: &[String]) -> worker::Result<()> {
        self.call(COORDINATOR, Method::Post, "/release", Some(Self::json(&job_ids)?)).await.map(|_| ())
    }

    /// Remembers when a job's output expires, for the cleanup.
    pub async fn schedule_expiry(&self, job_id: &str, at_ms: u64) -> worker::Result<()> {
        self.call(COORDINATOR, Method::Post, "/expiry", Some(Self::json(&(job_id, at_ms))?)).await.map(|_| ())
    }

    /// Jobs whose output expired by `now_ms` (forgotten once returned).
    pub async fn take_expired(&self, now_ms: u64) -> worker::Result<Vec<String>> {
        self.call(COORDINATOR, Method::Post, "/expired", Some(Self::json(&now_ms)?)).await?.json().await
    }

    pub async fn put_batch(&self, batch: &Batch) -> worker::Result<()> {
        self.call(&batch.batch_id, Method::Put, "/batch", Some(Self::json(batch)?)).await.map(|_| ())
    }

    pub async fn get_batch(&self, batch_id: &str) -> worker::Result<Option<Batch>> {
        let mut resp = self.call(batch_id, Method::Get, "/batch", None).await?;
        if resp.status_code() == 404 {
            return Ok(None);
        }
        resp.json().await.map(Some)
    }
}
