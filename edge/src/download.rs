//! Fetching a job's source into R2 (`inputs/<jobId>`) without ever holding it whole in memory.
//!
//! With a `Content-Length` (and no content encoding) the body goes into one R2 put through a
//! `FixedLengthStream` of that length. Otherwise (chunked, or decoded by the runtime) it goes
//! into an R2 multipart upload, one part in memory at a time. Either way the body is read in
//! large pieces (a BYOB reader with a 1 MiB buffer, reused), so the Worker does a few thousand
//! reads for a gigabyte, and counts every byte: more than the plan's limit, or a count that
//! differs from the declared length, fails the job with `DOWNLOAD_FAILED` and nothing is kept.
//! A source that does not answer within `SOURCE_ANSWER_SECONDS`, or then sends nothing for
//! `SOURCE_STALL_SECONDS`, fails the same way; progress is saved as the bytes arrive.

use std::time::Duration;

use converso_core::{Error, ErrorCode};
use futures_util::future::{join, select, Either};
use worker::wasm_bindgen::{JsCast, JsValue};
use worker::wasm_bindgen_futures::JsFuture;
use worker::{
    js_sys, web_sys, worker_sys, AbortSignal, Bucket, Data, Delay, Fetch, Method, Request, RequestInit,
    RequestRedirect, Response, ResponseBody,
};

use crate::config::Config;
use crate::fetch_guard;
use crate::jobs::{now_ms, Job, Step};
use crate::process::{fail, infra, input_key, Progress};

/// R2 multipart part size (all parts but the last must have the same size, at least 5 MiB).
const PART: usize = 8 << 20;
/// The buffer each read of the body fills (at most).
const READ_BUFFER: u32 = 1 << 20;
/// Redirects followed for a source, each checked again.
const MAX_REDIRECTS: u32 = 5;
/// How often a waiting read checks for a stall.
const TICK: Duration = Duration::from_secs(1);

pub fn download_failed(details: impl Into<String>) -> Error {
    fail(ErrorCode::DownloadFailed, "the video could not be downloaded", details)
}

fn js_error(e: JsValue) -> worker::Error {
    worker::Error::from(e)
}

/// Fetches the source (checking every redirect) and stores it in R2 as `inputs/<jobId>`.
/// Returns its size.
pub async fn download(cfg: &Config, job: &mut Job, bucket: &Bucket, p: &mut Progress<'_>) -> Result<u64, Error> {
    let (resp, ctrl) = fetch_source(cfg, &job.source_url).await?;
    let limit = job.max_source_bytes;
    let headers = resp.headers();
    let declared: Option<u64> = headers.get("Content-Length").ok().flatten().and_then(|v| v.trim().parse().ok());
    // The runtime decodes compressed bodies, so their length is not the declared one.
    let encoded =
        headers.get("Content-Encoding").ok().flatten().is_some_and(|e| !e.trim().eq_ignore_ascii_case("identity"));
    if let Some(n) = declared.filter(|&n| n > limit) {
        ctrl.abort();
        return Err(download_failed(format!("the source is {n} bytes; the limit is {limit}")));
    }
    let key = input_key(&job.job_id);
    let body = match resp.body() {
        ResponseBody::Stream(body) => Some(body.clone()),
        _ => None,
    };
    let stored = match (body, declared.filter(|_| !encoded)) {
        (None, _) | (_, Some(0)) => Ok(0),
        (Some(body), len) => match BodyReader::new(&body, cfg.source_stall_seconds) {
            Err(e) => Err(infra(js_error(e))),
            Ok(reader) => match len {
                Some(len) => store_whole(reader, len, limit, job, bucket, &key, p).await,
                None => store_in_parts(reader, limit, job, bucket, &key, p).await,
            },
        },
    };
    let total = match stored {
        Ok(total) => total,
        Err(e) => {
            ctrl.abort();
            let _ = bucket.delete(key).await;
            return Err(e);
        }
    };
    if total == 0 {
        let _ = bucket.delete(key).await;
        return Err(fail(ErrorCode::InvalidVideo, "the input is empty", "the source sent no bytes"));
    }
    Ok(total)
}

/// Requests the source, following at most [`MAX_REDIRECTS`] redirects, each checked again.
/// Returns the 200 response and the controller that aborts it (and its body).
async fn fetch_source(cfg: &Config, source_url: &str) -> Result<(Response, web_sys::AbortController), Error> {
    let mut url = source_url.to_string();
    let mut redirects = 0;
    let mut retried = false;
    loop {
        fetch_guard::check(&url, cfg.allow_loopback).map_err(|why| download_failed(format!("{url}: {why}")))?;
        let mut init = RequestInit::new();
        init.with_method(Method::Get).with_redirect(RequestRedirect::Manual);
        let req = Request::new_with_init(&url, &init).map_err(|e| download_failed(e.to_string()))?;
        let ctrl = web_sys::AbortController::new().map_err(|e| infra(js_error(e)))?;
        let signal = AbortSignal::from(ctrl.signal());
        let request = Fetch::Request(req);
        let fetch = Box::pin(request.send_with_signal(&signal));
        let answer = Duration::from_secs(cfg.source_answer_seconds);
        let resp = match select(fetch, Box::pin(Delay::from(answer))).await {
            Either::Left((Ok(resp), _)) => resp,
            // Once: a kept-alive connection the source closed just then ("Network connection lost").
            Either::Left((Err(_), _)) if !retried => {
                retried = true;
                continue;
            }
            Either::Left((Err(e), _)) => {
                return Err(download_failed(format!("the source could not be reached: {e}")));
            }
            Either::Right(_) => {
                ctrl.abort();
                return Err(download_failed(format!("no answer within {} s", cfg.source_answer_seconds)));
            }
        };
        match resp.status_code() {
            200 => return Ok((resp, ctrl)),
            301 | 302 | 303 | 307 | 308 => {
                // The redirect's own body is not read; let its connection go.
                ctrl.abort();
                redirects += 1;
                if redirects > MAX_REDIRECTS {
                    return Err(download_failed(format!("more than {MAX_REDIRECTS} redirects")));
                }
                let location = resp
                    .headers()
                    .get("Location")
                    .ok()
                    .flatten()
                    .ok_or_else(|| download_failed("a redirect without a Location"))?;
                url = url::Url::parse(&url)
                    .and_then(|base| base.join(&location))
                    .map_err(|e| download_failed(e.to_string()))?
                    .to_string();
            }
            s => {
                ctrl.abort();
                return Err(download_failed(format!("the source answered HTTP {s}")));
            }
        }
    }
}

/// Percent of the whole job that the download stands for.
fn percent(done: u64, of: Option<u64>) -> u8 {
    of.map_or(10, |d| (done.min(d) * 30 / d.max(1)) as u8)
}

/// Reads a response body in pieces of up to [`READ_BUFFER`] bytes, with stall detection.
struct BodyReader {
    reader: JsValue,
    /// A BYOB reader reads into `spare`, which comes back with each piece for the next read.
    byob: bool,
    spare: Option<js_sys::ArrayBuffer>,
    /// The read under way, kept while [`BodyReader::next`] gives up waiting for a tick.
    pending: Option<JsFuture>,
    /// Bytes read so far and when the last piece arrived.
    bytes: u64,
    last_piece_ms: u64,
    /// How long the source may send nothing.
    stall_ms: u64,
}

impl BodyReader {
    fn new(body: &web_sys::ReadableStream, stall_seconds: u64) -> Result<Self, JsValue> {
        let get_reader: js_sys::Function = js_sys::Reflect::get(body, &"getReader".into())?.dyn_into()?;
        let options = js_sys::Object::new();
        js_sys::Reflect::set(&options, &"mode".into(), &"byob".into())?;
        // Not every stream is a byte stream: fall back to the default reader.
        let (reader, byob) = match get_reader.call1(body, &options) {
            Ok(reader) => (reader, true),
            Err(_) => (get_reader.call0(body)?, false),
        };
        Ok(BodyReader {
            reader,
            byob,
            spare: None,
            pending: None,
            bytes: 0,
            last_piece_ms: now_ms(),
            stall_ms: stall_seconds * 1000,
        })
    }

    fn start_read(&mut self) -> Result<JsFuture, JsValue> {
        let read: js_sys::Function = js_sys::Reflect::get(&self.reader, &"read".into())?.dyn_into()?;
        let promise = if self.byob {
            let buffer = self.spare.take().unwrap_or_else(|| js_sys::ArrayBuffer::new(READ_BUFFER));
            read.call1(&self.reader, &js_sys::Uint8Array::new_with_byte_offset_and_length(&buffer, 0, READ_BUFFER))?
        } else {
            read.call0(&self.reader)?
        };
        Ok(JsFuture::from(js_sys::Promise::from(promise)))
    }

    /// The next piece of the body (`None` at its end). Fails when the connection breaks or the
    /// source sends nothing for `stall_ms`.
    async fn next(&mut self) -> Result<Option<js_sys::Uint8Array>, Error> {
        let broke = |bytes: u64, e: JsValue| {
            download_failed(format!("the connection broke after {bytes} bytes: {}", js_error(e)))
        };
        let mut pending = match self.pending.take() {
            Some(p) => p,
            None => self.start_read().map_err(|e| broke(self.bytes, e))?,
        };
        loop {
            match select(pending, Box::pin(Delay::from(TICK))).await {
                Either::Left((result, _)) => {
                    let result = result.map_err(|e| broke(self.bytes, e))?;
                    let done = js_sys::Reflect::get(&result, &"done".into()).map_err(|e| broke(self.bytes, e))?;
                    if done.as_bool() == Some(true) {
                        return Ok(None);
                    }
                    let value = js_sys::Reflect::get(&result, &"value".into()).map_err(|e| broke(self.bytes, e))?;
                    let piece: js_sys::Uint8Array = value.dyn_into().map_err(|e| broke(self.bytes, e))?;
                    self.bytes += u64::from(piece.byte_length());
                    self.last_piece_ms = now_ms();
                    return Ok(Some(piece));
                }
                Either::Right((_, still)) => {
                    if now_ms().saturating_sub(self.last_piece_ms) >= self.stall_ms {
                        self.cancel();
                        return Err(download_failed(format!(
                            "the source stalled for {} s after {} bytes",
                            self.stall_ms / 1000,
                            self.bytes
                        )));
                    }
                    pending = still;
                }
            }
        }
    }

    /// Hands back a piece the caller is done with: a BYOB reader reads into its buffer next.
    fn recycle(&mut self, piece: js_sys::Uint8Array) {
        if self.byob {
            self.spare = Some(piece.buffer());
        }
    }

    fn cancel(&self) {
        if let Ok(cancel) = js_sys::Reflect::get(&self.reader, &"cancel".into()) {
            if let Ok(cancel) = cancel.dyn_into::<js_sys::Function>() {
                let _ = cancel.call0(&self.reader);
            }
        }
    }
}

/// The check made on every piece: never more than the limit, nor than the declared length.
fn check_count(bytes: u64, limit: u64, declared: Option<u64>) -> Result<(), Error> {
    if bytes > limit {
        return Err(download_failed(format!("the source is larger than the limit of {limit} bytes")));
    }
    match declared {
        Some(d) if bytes > d => Err(download_failed(format!("the source sent more than the {d} bytes it announced"))),
        _ => Ok(()),
    }
}

/// Stores a body of known length `len` with one R2 put of a `FixedLengthStream`.
async fn store_whole(
    mut reader: BodyReader,
    len: u64,
    limit: u64,
    job: &mut Job,
    bucket: &Bucket,
    key: &str,
    p: &mut Progress<'_>,
) -> Result<u64, Error> {
    let js = |e: JsValue| infra(js_error(e));
    let fixed = worker_sys::FixedLengthStream::new_big_int(js_sys::BigInt::from(len)).map_err(js)?;
    let fixed: &web_sys::TransformStream = fixed.unchecked_ref();
    let writer = fixed.writable().get_writer().map_err(js)?;
    let put = bucket.put(key, Data::ReadableStream(fixed.readable())).execute();
    let feed = async {
        let fed = async {
            while let Some(piece) = reader.next().await? {
                check_count(reader.bytes, limit, Some(len))?;
                JsFuture::from(writer.write_with_chunk(&piece)).await.map_err(js)?;
                reader.recycle(piece);
                p.set(job, Step::DownloadingVideo, percent(reader.bytes, Some(len)), false).await?;
            }
            if reader.bytes != len {
                return Err(download_failed(format!("the source sent {} bytes but announced {len}", reader.bytes)));
            }
            JsFuture::from(writer.close()).await.map_err(js)?;
            Ok(reader.bytes)
        }
        .await;
        if fed.is_err() {
            reader.cancel();
            // Fails the put: nothing is stored.
            let _ = JsFuture::from(writer.abort()).await;
        }
        fed
    };
    let (put, fed) = join(put, feed).await;
    let total = fed?;
    let object = put.map_err(infra)?.ok_or_else(|| infra(worker::Error::RustError(format!("{key} was not stored"))))?;
    if object.size() != len {
        return Err(download_failed(format!("{} bytes were stored but the source announced {len}", object.size())));
    }
    Ok(total)
}

/// Stores a body of unknown length as R2 multipart parts, one part in memory at a time.
async fn store_in_parts(
    mut reader: BodyReader,
    limit: u64,
    job: &mut Job,
    bucket: &Bucket,
    key: &str,
    p: &mut Progress<'_>,
) -> Result<u64, Error> {
    let upload = bucket.create_multipart_upload(key.to_string()).execute().await.map_err(infra)?;
    let result = async {
        let mut parts = Vec::new();
        let mut buf: Vec<u8> = Vec::with_capacity(PART);
        while let Some(piece) = reader.next().await? {
            check_count(reader.bytes, limit, None)?;
            let mut at = 0;
            let n = piece.byte_length();
            while at < n {
                let take = (n - at).min((PART - buf.len()) as u32);
                let start = buf.len();
                buf.resize(start + take as usize, 0);
                piece.subarray(at, at + take).copy_to(&mut buf[start..]);
                at += take;
                if buf.len() == PART {
                    let part = std::mem::replace(&mut buf, Vec::with_capacity(PART));
                    parts.push(upload.upload_part(parts.len() as u16 + 1, part).await.map_err(infra)?);
                }
            }
            reader.recycle(piece);
            p.set(job, Step::DownloadingVideo, percent(reader.bytes, None), false).await?;
        }
        if reader.bytes > 0 && (!buf.is_empty() || parts.is_empty()) {
            parts.push(upload.upload_part(parts.len() as u16 + 1, buf).await.map_err(infra)?);
        }
        Ok(parts)
    }
    .await;
    match result {
        Ok(parts) if reader.bytes > 0 => {
            upload.complete(parts).await.map_err(infra)?;
            Ok(reader.bytes)
        }
        other => {
            reader.cancel();
            let _ = upload.abort().await;
            other.map(|_| 0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_held_to_the_limit_and_the_declared_length() {
        assert!(check_count(500, 500, None).is_ok());
        assert!(check_count(500, 500, Some(500)).is_ok());
        let over = check_count(501, 500, None).unwrap_err();
        assert_eq!(over.code, ErrorCode::DownloadFailed);
        assert!(over.details.as_deref().unwrap_or("").contains("limit of 500 bytes"));
        let more = check_count(301, 500, Some(300)).unwrap_err();
        assert_eq!(more.code, ErrorCode::DownloadFailed);
        assert!(more.details.as_deref().unwrap_or("").contains("more than the 300 bytes"));
    }

    #[test]
    fn the_download_is_the_first_30_percent() {
        assert_eq!(percent(0, Some(1000)), 0);
        assert_eq!(percent(500, Some(1000)), 15);
        assert_eq!(percent(2000, Some(1000)), 30);
        assert_eq!(percent(123, None), 10);
    }
}
