//! Running a job: fetch the source into R2, probe it, extract through ranged reads into an R2
//! multipart upload, record the result and settle it. Progress and the current step are saved as
//! it goes, and a heartbeat keeps the run's lease (see `lease`).

use std::future::Future;
use std::pin::pin;
use std::time::Duration;

use converso_core::{ChunkSink, Error, ErrorCode, ExtractOptions, Extraction, Step as EngineStep};
use futures_util::future::{select, Either};
use worker::{Bucket, Delay, Env, UploadedPart};

use crate::config::{Config, MEDIA};
use crate::download::download;
use crate::jobs::{now_iso, now_ms, InputFile, Job, OutputFile, Status, Step, Store};
use crate::lease;
use crate::r2_source::{CachedSource, Evict, BLOCK, MAX_BLOCKS, READ_AHEAD_BLOCKS};
use crate::request::name_from_url;
use crate::work;

/// R2 multipart part size of the output (all parts but the last must have the same size, at
/// least 5 MiB).
const PART: usize = 8 << 20;
/// Processing attempts before a job that keeps crashing the worker is failed.
const MAX_ATTEMPTS: u32 = 3;
/// Packets per engine step: small, so the read-ahead covers what a step reads.
const PACKETS_PER_STEP: usize = 32;
/// Engine opens retried after cache misses before giving up.
const MAX_OPEN_ROUNDS: u32 = 64;
/// Cache blocks while the extraction opens (headers and the bitrate measurement).
const OPEN_BLOCKS: usize = 32;
/// Most blocks read ahead before a step.
const MAX_AHEAD_BLOCKS: u64 = 16;
/// Extractions started again after a read out of order, before giving up.
const MAX_RESTARTS: u32 = 8;
/// Save progress at most this often.
const SAVE_EVERY_MS: u64 = 1000;

pub fn input_key(job_id: &str) -> String {
    format!("inputs/{job_id}")
}

pub fn output_key(job_id: &str) -> String {
    format!("outputs/{job_id}")
}

pub(crate) fn fail(code: ErrorCode, message: impl Into<String>, details: impl Into<String>) -> Error {
    Error::new(code, message.into()).with_details(details)
}

/// Size of the Worker's Wasm linear memory, which only grows: its peak so far.
fn wasm_memory_mib() -> usize {
    #[cfg(target_arch = "wasm32")]
    return core::arch::wasm32::memory_size::<0>() * 64 / 1024;
    #[cfg(not(target_arch = "wasm32"))]
    0
}

/// Runs the job behind a queue message. `Err` only for infrastructure failures (retried).
pub async fn run(env: &Env, job_id: &str) -> worker::Result<()> {
    let store = Store::new(env);
    // Finished, running under another attempt's live lease, or unknown: a duplicate message.
    let Some(mut job) = store.claim(job_id).await? else { return Ok(()) };
    let attempt = job.attempts;
    // A run that died left its upload open.
    abort_upload(env, &mut job).await?;
    let result = if attempt > MAX_ATTEMPTS {
        Err(fail(
            ErrorCode::ExtractionFailed,
            "the job was interrupted too many times",
            format!("{} attempts", attempt - 1),
        ))
    } else {
        let mut p = Progress { store: &store, last_save: now_ms(), started: now_ms() };
        let lease = Duration::from_secs(Config::from_env(env).job_lease_seconds);
        let outcome = with_heartbeat(&store, job_id, attempt, lease, pipeline(env, &mut job, &mut p)).await;
        // An upload the pipeline left open (on an error, or stopped as a newer attempt took
        // over) is this run's own; a completed one is closed.
        abort_upload(env, &mut job).await?;
        match outcome {
            Some(result) => result,
            None => return Ok(()),
        }
    };
    match result {
        Ok(()) => {
            let cfg = Config::from_env(env);
            job.status = Status::Completed;
            job.progress = 100;
            job.current_step = Some(Step::Finalizing);
            job.estimated_time_remaining = Some(0);
            job.completed_at = Some(now_iso());
            job.expires_at_ms = Some(now_ms() + cfg.output_ttl_seconds * 1000);
        }
        Err(e) => {
            worker::console_log!("job {job_id} failed: {e}");
            job.status = Status::Failed;
            job.estimated_time_remaining = None;
            job.completed_at = Some(now_iso());
            job.error = Some(e);
        }
    }
    worker::console_log!("job {job_id} {}: Wasm memory {} MiB", job.status.as_str(), wasm_memory_mib());
    // Only the latest attempt records a result, and only it may touch the stored objects: a run
    // that was given up on must not delete its successor's output.
    if !store.save(&job).await? {
        worker::console_log!("job {job_id}: attempt {attempt} was taken over; its result is dropped");
        return Ok(());
    }
    if Config::from_env(env).stop_after_result {
        worker::console_log!("job {job_id}: the run stops after recording its result (DEV_STOP_AFTER_RESULT)");
        return Ok(());
    }
    settle(env, &job).await
}

/// What follows a recorded result: the input deleted (and a failed job's output), the output's
/// expiry scheduled, the job's capacity place given back, its webhook's first attempt queued,
/// then the job marked settled. Every step may run again (a repeated webhook message sends
/// nothing once its attempt is made), so a run that dies part-way (or an error, retried by the
/// queue) leaves the job unsettled and its alarm sends `Work::Settle` (see `lease`): no finished
/// job keeps its place.
async fn settle(env: &Env, job: &Job) -> worker::Result<()> {
    let store = Store::new(env);
    let bucket = env.bucket(MEDIA)?;
    let id = &job.job_id;
    bucket.delete(input_key(id)).await?;
    if job.status == Status::Failed {
        bucket.delete(output_key(id)).await?;
    }
    if let Some(at) = job.expires_at_ms {
        store.schedule_expiry(id, at).await?;
    }
    store.release(std::slice::from_ref(id)).await?;
    if lease::owed_delivery(job) == Some(1) {
        work::enqueue_webhook(env, id, 1, 0).await?;
    }
    store.settled(id).await
}

/// Settles a finished job its run did not settle (`Work::Settle`).
pub async fn settle_unsettled(env: &Env, job_id: &str) -> worker::Result<()> {
    match Store::new(env).get(job_id).await? {
        Some(job) if job.is_final() && !job.settled => settle(env, &job).await,
        _ => Ok(()),
    }
}

/// Aborts the output's multipart upload the job records as open, so that none of its parts stay
/// in R2; the job's next save records it gone. (An upload already gone fails to abort: ignored.)
async fn abort_upload(env: &Env, job: &mut Job) -> worker::Result<()> {
    if let Some(upload_id) = job.output_upload.take() {
        let upload = env.bucket(MEDIA)?.resume_multipart_upload(output_key(&job.job_id), upload_id)?;
        let _ = upload.abort().await;
    }
    Ok(())
}

/// Runs `work` while renewing the run's lease three times per lease, so waits without progress
/// (a slow source's first byte) keep it too. `None` once a newer attempt holds the job: this
/// run stops where it is. A heartbeat that fails is tried again at the next beat; should the
/// lease lapse meanwhile, the run's next save is refused.
async fn with_heartbeat<T>(
    store: &Store<'_>,
    job_id: &str,
    attempt: u32,
    lease: Duration,
    work: impl Future<Output = T>,
) -> Option<T> {
    let beat = async {
        loop {
            Delay::from(lease / 3).await;
            if let Ok(false) = store.heartbeat(job_id, attempt).await {
                worker::console_log!("job {job_id}: attempt {attempt} was taken over; it stops");
                return;
            }
        }
    };
    match select(pin!(work), pin!(beat)).await {
        Either::Left((result, _)) => Some(result),
        Either::Right(_) => None,
    }
}

/// Saves progress to the job store, throttled.
pub(crate) struct Progress<'a> {
    store: &'a Store<'a>,
    last_save: u64,
    started: u64,
}

impl Progress<'_> {
    pub(crate) async fn set(&mut self, job: &mut Job, step: Step, percent: u8, force: bool) -> Result<(), Error> {
        let now = now_ms();
        let changed_step = job.current_step != Some(step);
        job.current_step = Some(step);
        job.progress = percent.min(99);
        if percent > 0 {
            let elapsed = (now - self.started) as f64 / 1000.0;
            job.estimated_time_remaining =
                Some((elapsed / f64::from(percent) * f64::from(100 - percent.min(100))).ceil() as u32);
        }
        if force || changed_step || now - self.last_save >= SAVE_EVERY_MS {
            self.save(job).await?;
        }
        Ok(())
    }

    /// Saves the job now.
    pub(crate) async fn save(&mut self, job: &Job) -> Result<(), Error> {
        self.last_save = now_ms();
        if !self.store.save(job).await.map_err(infra)? {
            return Err(fail(ErrorCode::ExtractionFailed, "the job was taken over by a newer attempt", ""));
        }
        Ok(())
    }
}

pub(crate) fn infra(e: worker::Error) -> Error {
    fail(ErrorCode::ExtractionFailed, "the service could not store the job's data", e.to_string())
}

async fn pipeline(env: &Env, job: &mut Job, p: &mut Progress<'_>) -> Result<(), Error> {
    let cfg = Config::from_env(env);
    let bucket = env.bucket(MEDIA).map_err(infra)?;
    let options = ExtractOptions::from_json(&job.output.to_string())?;
    let size = download(&cfg, job, &bucket, p).await?;
    let name = name_from_url(&job.source_url, "").unwrap_or_else(|| "video".into());
    let file_name = url::Url::parse(&job.source_url)
        .ok()
        .and_then(|u| u.path_segments().and_then(|mut s| s.next_back().map(str::to_string)))
        .filter(|s| !s.is_empty())
        .unwrap_or(name);
    job.input_file = Some(InputFile { name: file_name, size, duration: None, format: None });
    p.set(job, Step::AnalyzingVideo, 30, true).await?;

    let key = input_key(&job.job_id);
    let source = CachedSource::new(size);
    let mut restarts = 0;
    let (ex, upload, parts, summary) = loop {
        let mut ex = open(&bucket, &key, &source, &options).await?;
        if job.plan.is_none() {
            let info = ex.info();
            if let Some(input) = &mut job.input_file {
                input.duration = info.duration;
                input.format = Some(info.container.as_str().to_string());
            }
            job.plan = serde_json::to_value(ex.plan()).ok();
            p.set(job, Step::ExtractingAudio, 35, true).await?;
        }
        let upload = bucket.create_multipart_upload(output_key(&job.job_id)).execute().await.map_err(infra)?;
        // Recorded so that, should this run die, the next one aborts it.
        job.output_upload = Some(upload.upload_id().await);
        p.save(job).await?;
        let mut parts: Vec<UploadedPart> = Vec::new();
        // `None`: a read missed the cache; start again with that region fetched.
        let mut ahead_blocks = READ_AHEAD_BLOCKS;
        // The blocks the first step read: where the demuxer starts reading packets.
        let mut first_blocks: Option<Vec<u64>> = None;
        let outcome = loop {
            if ex.rereads_input() {
                match rewind(&bucket, &key, &source, &mut ex, first_blocks.as_deref().unwrap_or_default()).await {
                    Ok(()) => continue,
                    Err(e) => break Err(e),
                }
            }
            let ahead = source.read_ahead(ahead_blocks);
            if !ahead.is_empty() {
                source.fill(&bucket, &key, &ahead).await.map_err(infra)?;
            }
            // An engine step is CPU work that awaits nothing: without a turn given back, the
            // isolate answers no other request (status polls, submissions) until the run ends.
            Delay::from(Duration::ZERO).await;
            let before = source.cursor();
            if first_blocks.is_none() {
                source.begin_round();
            }
            let step = ex.step_packets(PACKETS_PER_STEP);
            if first_blocks.is_none() {
                first_blocks = Some(source.touched_blocks());
            }
            // Read twice as far ahead as the last step went (high-bitrate video moves fast).
            let advance = source.cursor().saturating_sub(before);
            ahead_blocks = (2 * advance / BLOCK + 1).clamp(READ_AHEAD_BLOCKS, MAX_AHEAD_BLOCKS);
            if let Some(block) = source.take_miss() {
                source.fill(&bucket, &key, &source.ahead_of(block)).await.map_err(infra)?;
                break Ok(None);
            }
            for part in ex.sink_mut().take_chunks() {
                let number = parts.len() as u16 + 2;
                parts.push(upload.upload_part(number, part).await.map_err(infra)?);
            }
            match step {
                Ok(EngineStep::Progress(f)) => p.set(job, Step::ExtractingAudio, 35 + (f * 60.0) as u8, false).await?,
                Ok(EngineStep::Done(summary)) => break Ok(Some(summary)),
                Err(e) => break Err(e),
            }
        };
        // On an error the run aborts the upload (`abort_upload`).
        match outcome {
            Ok(Some(summary)) => break (ex, upload, parts, summary),
            Ok(None) if restarts < MAX_RESTARTS => {
                restarts += 1;
                let _ = upload.abort().await;
            }
            Ok(None) => return Err(out_of_order(format!("{MAX_RESTARTS} restarts"))),
            Err(e) => return Err(e),
        }
    };
    let info = ex.info().clone();
    p.set(job, Step::Finalizing, 96, true).await?;
    let sink = ex.into_sink();
    let (first, last) = sink.into_parts();
    let mut all = Vec::with_capacity(parts.len() + 2);
    all.push(upload.upload_part(1, first).await.map_err(infra)?);
    all.extend(parts);
    if let Some(last) = last {
        all.push(upload.upload_part(all.len() as u16 + 1, last).await.map_err(infra)?);
    }
    upload.complete(all).await.map_err(infra)?;
    job.output_upload = None;

    let format = options.format;
    let duration = summary.duration.or(info.duration);
    let bitrate = match (format.is_lossless(), duration) {
        (false, Some(d)) if d > 0.0 => Some(format!("{}k", ((summary.bytes as f64 * 8.0 / d) / 1000.0).round() as u64)),
        _ => None,
    };
    let filename = job
        .options
        .filename
        .clone()
        .or_else(|| name_from_url(&job.source_url, format.extension()))
        .unwrap_or_else(|| job.job_id.clone());
    job.output_file = Some(OutputFile {
        filename: format!("{filename}.{}", format.extension()),
        url: job.path("download"),
        size: summary.bytes,
        duration,
        format: format.as_str().to_string(),
        bitrate,
    });
    Ok(())
}

/// Opens the extraction, fetching whatever the engine asked for and retrying until it has all
/// it needs to read the headers.
///
/// The engine opens the input twice and measures the source's bitrate in between, from its
/// first packets (a few seconds of media, video included). Both opens read the same headers, so
/// a header read that missed the cache misses twice; a single miss in a successful open was in
/// the measurement, which then stops early. While the cache may grow the open is retried with
/// the missing region fetched; once it would exceed [`OPEN_BLOCKS`] (very high bitrates), the
/// bitrate measured so far is taken.
async fn open(
    bucket: &Bucket,
    key: &str,
    source: &CachedSource,
    options: &ExtractOptions,
) -> Result<Extraction<ChunkSink>, Error> {
    source.set_capacity(OPEN_BLOCKS, Evict::Lru);
    let result = open_rounds(bucket, key, source, options).await;
    // The opened demuxer has read up to its first packet: keep what lies ahead of that.
    source.set_capacity(MAX_BLOCKS, Evict::Behind);
    result
}

async fn open_rounds(
    bucket: &Bucket,
    key: &str,
    source: &CachedSource,
    options: &ExtractOptions,
) -> Result<Extraction<ChunkSink>, Error> {
    let spread = || {
        fail(ErrorCode::InvalidVideo, "the video's headers could not be read", "they are spread over too many places")
    };
    source.fill(bucket, key, &[0]).await.map_err(infra)?;
    for _ in 0..MAX_OPEN_ROUNDS {
        source.begin_round();
        let result = Extraction::new(source.clone(), options, part_sink());
        let Some((block, misses)) = source.take_misses() else { return result };
        let full = source.touched() + READ_AHEAD_BLOCKS as usize > OPEN_BLOCKS;
        match result {
            Ok(ex) if misses == 1 && full => return Ok(ex),
            _ if full => return Err(spread()),
            _ => source.fill(bucket, key, &source.ahead_of(block)).await.map_err(infra)?,
        }
    }
    Err(spread())
}

/// `normalize`'s second pass opens the input again, from its start: long gone from the cache by
/// then. Fetches it and retries that step after each miss (the engine allows it there), then
/// fetches what the first step read, where the second pass starts reading packets.
async fn rewind(
    bucket: &Bucket,
    key: &str,
    source: &CachedSource,
    ex: &mut Extraction<ChunkSink>,
    first_blocks: &[u64],
) -> Result<(), Error> {
    source.set_capacity(OPEN_BLOCKS, Evict::Lru);
    source.fill(bucket, key, &source.ahead_of(0)).await.map_err(infra)?;
    let mut result = Err(out_of_order(format!("{MAX_OPEN_ROUNDS} reads while opening the input again")));
    for _ in 0..MAX_OPEN_ROUNDS {
        let step = ex.step_packets(PACKETS_PER_STEP);
        match source.take_miss() {
            Some(block) if ex.rereads_input() => {
                source.fill(bucket, key, &source.ahead_of(block)).await.map_err(infra)?
            }
            _ => {
                result = step.map(|_| ());
                break;
            }
        }
    }
    source.set_capacity(MAX_BLOCKS, Evict::Behind);
    if let Some(&start) = first_blocks.first() {
        source.expect_reads_at(start);
        source.fill(bucket, key, &source.uncached(first_blocks)).await.map_err(infra)?;
    }
    result
}

fn out_of_order(details: String) -> Error {
    fail(ErrorCode::ExtractionFailed, "the input's layout needs too many reads out of order", details)
}

/// Output in R2 multipart parts: the first part stays in memory to the end for the engine's
/// header fix-ups (WAV sizes, FLAC STREAMINFO); later full parts are uploaded as they fill.
fn part_sink() -> ChunkSink {
    ChunkSink::new(PART, PART)
}

/// Deletes outputs whose retention ended (the cron trigger).
pub async fn delete_expired_outputs(env: &Env) -> worker::Result<()> {
    let store = Store::new(env);
    let due = store.take_expired(now_ms()).await?;
    let bucket = env.bucket(MEDIA)?;
    for id in &due {
        bucket.delete(output_key(id)).await?;
    }
    if !due.is_empty() {
        worker::console_log!("deleted {} expired outputs", due.len());
    }
    Ok(())
}
