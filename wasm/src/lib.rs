//! converso-core for JavaScript: the engine inside the `converso-audio` npm package.
//!
//! The package's hand-written JavaScript (`wasm/js/`) drives these bindings from a Web Worker
//! in the browser or directly in Node: it hands over the input as a read function
//! ([`js_source`]), steps an [`Job`] while checking its abort signal, and collects the output
//! in chunks as they are produced, so neither input nor output sits whole in wasm memory.
//! Structured values cross as JSON text; errors are thrown as `{code, message, details}`
//! objects that the JavaScript side turns into `ConversoError`s.

mod js_source;

use converso_core::{ChunkSink, Error, ExtractOptions, Extraction, Mode, Plan, Step, Summary};
use js_sys::{Array, Function, Uint8Array};
use serde::Serialize;
use wasm_bindgen::prelude::*;

use js_source::JsSource;

/// Output bytes kept in wasm memory until the end, for the header fix-ups some formats make
/// (WAV sizes, FLAC STREAMINFO, the MP3 Info frame are all within the first few KiB).
const HEAD: usize = 64 << 10;
/// Output is handed to JavaScript in chunks of this size.
const CHUNK: usize = 1 << 20;

/// Describes the media behind `read` (`(offset, length) => Uint8Array`) of `len` bytes: the
/// container, duration, tracks and tags, as JSON.
#[wasm_bindgen]
pub fn probe(read: Function, len: f64) -> Result<String, JsValue> {
    let info = converso_core::probe(JsSource::new(read, len as u64)).map_err(to_js)?;
    json(&info)
}

/// Checks an API `output` object (JSON) the way an extraction would, without an input.
#[wasm_bindgen(js_name = validateOptions)]
pub fn validate_options(options: &str) -> Result<(), JsValue> {
    ExtractOptions::from_json(options).map(drop).map_err(to_js)
}

/// One extraction in progress.
#[wasm_bindgen]
pub struct Job {
    ex: Extraction<ChunkSink>,
    summary: Option<Summary>,
}

#[wasm_bindgen]
impl Job {
    /// Probes the input, plans for `options` (the API's `output` object as JSON) and writes the
    /// output's header.
    #[wasm_bindgen(constructor)]
    pub fn new(read: Function, len: f64, options: &str) -> Result<Job, JsValue> {
        let options = ExtractOptions::from_json(options).map_err(to_js)?;
        let ex =
            Extraction::new(JsSource::new(read, len as u64), &options, ChunkSink::new(HEAD, CHUNK)).map_err(to_js)?;
        Ok(Job { ex, summary: None })
    }

    /// The input's media info, as JSON.
    pub fn info(&self) -> Result<String, JsValue> {
        json(self.ex.info())
    }

    /// What the extraction does (track, copy or re-encode and why, and that in words as
    /// `description`), as JSON.
    pub fn plan(&self) -> Result<String, JsValue> {
        let plan = self.ex.plan();
        let mut value = serde_json::to_value(plan).map_err(|e| to_js(Error::extraction_failed(e.to_string())))?;
        value["description"] = plan.describe().into();
        json(&value)
    }

    /// Does a bounded amount of work; returns the fraction done (1 when finished).
    pub fn step(&mut self) -> Result<f64, JsValue> {
        if self.summary.is_some() {
            return Ok(1.0);
        }
        match self.ex.step().map_err(to_js)? {
            Step::Progress(p) => Ok(p.min(0.999)),
            Step::Done(s) => {
                self.summary = Some(s);
                Ok(1.0)
            }
        }
    }

    /// Output chunks completed since the last call, in order.
    #[wasm_bindgen(js_name = takeChunks)]
    pub fn take_chunks(&mut self) -> Array {
        self.ex.sink_mut().take_chunks().iter().map(|c| Uint8Array::from(c.as_slice())).collect()
    }

    /// After the last step: `{head, tail, output}` — the output's first bytes (which go before
    /// every chunk), its last bytes (after them) and a description of the output as JSON.
    pub fn finish(self) -> Result<Finished, JsValue> {
        let summary = self.summary.ok_or_else(|| to_js(Error::extraction_failed("the extraction has not finished")))?;
        let output = json(&OutputInfo::new(self.ex.plan(), &summary))?;
        let (head, tail) = self.ex.into_sink().into_parts();
        Ok(Finished { head: head.as_slice().into(), tail: tail.unwrap_or_default().as_slice().into(), output })
    }
}

/// What [`Job::finish`] returns.
#[wasm_bindgen(getter_with_clone)]
pub struct Finished {
    /// The first bytes of the output.
    pub head: Uint8Array,
    /// The last bytes of the output.
    pub tail: Uint8Array,
    /// The output's description ([`OutputInfo`]) as JSON.
    pub output: String,
}

/// The output as a caller sees it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OutputInfo {
    format: &'static str,
    mime_type: &'static str,
    extension: &'static str,
    size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    duration: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    channels: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sample_rate: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bitrate: Option<u32>,
    lossless_copy: bool,
}

impl OutputInfo {
    fn new(plan: &Plan, summary: &Summary) -> Self {
        let copy = plan.mode == Mode::Copy;
        let duration = summary.duration.or(plan.track.duration);
        // Ogg Vorbis at a quality level has no set bitrate: its average, measured.
        let vbr = match (plan.vbr_quality, duration) {
            (Some(_), Some(d)) if d > 0.0 => Some((summary.bytes as f64 * 8.0 / d).round() as u32),
            _ => None,
        };
        OutputInfo {
            format: plan.format.as_str(),
            mime_type: plan.format.mime_type(),
            extension: plan.format.extension(),
            size: summary.bytes,
            duration,
            channels: plan.downmix.map(|d| d.to).or(plan.track.channels),
            sample_rate: plan.resample.map(|r| r.to).or(plan.track.sample_rate),
            bitrate: if copy { plan.track.bitrate } else { plan.bitrate.or(vbr) },
            lossless_copy: copy,
        }
    }
}

fn json(value: &impl Serialize) -> Result<String, JsValue> {
    serde_json::to_string(value).map_err(|e| to_js(Error::extraction_failed(e.to_string())))
}

/// An engine error as the `{code, message, details}` object JavaScript receives.
fn to_js(e: Error) -> JsValue {
    serde_json::to_string(&e)
        .ok()
        .and_then(|text| js_sys::JSON::parse(&text).ok())
        .unwrap_or_else(|| JsValue::from_str(&e.message))
}
