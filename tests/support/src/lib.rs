//! Shared by converso's test suites: the generated fixtures and their manifest, and ffmpeg /
//! ffprobe used as an oracle (never to produce converso's output).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde::Deserialize;

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// Where generated test outputs go (under `target/`, never committed).
pub fn out_dir(name: &str) -> PathBuf {
    let d = root().join("target/test-out").join(name);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// One audio stream of a fixture, as ffprobe saw it when the fixture was made.
#[derive(Clone, Debug, Deserialize)]
pub struct FixtureAudio {
    pub index: u32,
    pub codec: String,
    pub profile: Option<String>,
    pub channels: u32,
    pub sample_rate: u32,
    pub language: Option<String>,
    pub tones_hz: Option<Vec<u32>>,
}

/// One fixture file.
#[derive(Clone, Debug, Deserialize)]
pub struct Fixture {
    pub file: String,
    pub expect: String,
    pub container: Option<String>,
    pub duration_s: Option<f64>,
    pub audio: Vec<FixtureAudio>,
    #[serde(default)]
    pub tags: serde_json::Map<String, serde_json::Value>,
}

impl Fixture {
    pub fn path(&self) -> PathBuf {
        fixtures_dir().join(&self.file)
    }
}

#[derive(Deserialize)]
struct Manifest {
    files: Vec<Fixture>,
}

/// The fixture folder, generated on first use by `scripts/make-fixtures` (a no-op when up to
/// date).
pub fn fixtures_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = root().join("target/fixtures");
        let status = Command::new(root().join("scripts/make-fixtures"))
            .arg(&dir)
            .stdout(std::process::Stdio::null())
            .status()
            .expect("scripts/make-fixtures could not be started (bash and ffmpeg are needed)");
        assert!(status.success(), "scripts/make-fixtures failed");
        dir
    })
    .clone()
}

/// Every short fixture listed in the manifest.
pub fn fixtures() -> Vec<Fixture> {
    let text = std::fs::read_to_string(fixtures_dir().join("manifest.json")).unwrap();
    let m: Manifest = serde_json::from_str(&text).unwrap();
    m.files.into_iter().filter(|f| !f.file.starts_with("long_")).collect()
}

/// The fixture named `file`.
pub fn fixture(file: &str) -> Fixture {
    fixtures().into_iter().find(|f| f.file == file).unwrap_or_else(|| panic!("no fixture {file}"))
}

/// What ffprobe says about the first audio stream of a file.
#[derive(Clone, Debug, PartialEq)]
pub struct Probed {
    pub codec: String,
    pub channels: u32,
    pub sample_rate: u32,
    pub bits_per_raw_sample: Option<u32>,
    pub format: String,
}

pub fn ffprobe(path: &Path) -> Probed {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "a:0", "-show_entries"])
        .arg("stream=codec_name,channels,sample_rate,bits_per_raw_sample,sample_fmt:format=format_name")
        .args(["-of", "json"])
        .arg(path)
        .output()
        .expect("ffprobe is needed");
    assert!(out.status.success(), "ffprobe failed on {}: {}", path.display(), String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let s = &v["streams"][0];
    let num = |x: &serde_json::Value| x.as_str().and_then(|s| s.parse().ok()).or_else(|| x.as_u64().map(|n| n as u32));
    Probed {
        codec: s["codec_name"].as_str().unwrap_or_default().to_string(),
        channels: s["channels"].as_u64().unwrap_or(0) as u32,
        sample_rate: num(&s["sample_rate"]).unwrap_or(0),
        bits_per_raw_sample: num(&s["bits_per_raw_sample"]),
        format: v["format"]["format_name"].as_str().unwrap_or_default().to_string(),
    }
}

/// Decodes audio stream `stream` of `path` with ffmpeg to interleaved 32-bit samples (full
/// scale), keeping the source's channels and rate.
pub fn ffmpeg_decode(path: &Path, stream: usize) -> Vec<i32> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-nostdin", "-i"])
        .arg(path)
        .args(["-map", &format!("0:a:{stream}"), "-f", "s32le", "-acodec", "pcm_s32le", "-"])
        .output()
        .expect("ffmpeg is needed");
    assert!(out.status.success(), "ffmpeg failed on {}: {}", path.display(), String::from_utf8_lossy(&out.stderr));
    out.stdout.chunks_exact(4).map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
}

/// Like [`ffmpeg_decode`], resampled by ffmpeg to `rate` (its default resampler) and, when
/// `channels` is given, mixed by ffmpeg's `pan` filter with `pan` (e.g.
/// `"stereo|c0=c0+0.707*c2|c1=c1+0.707*c2"`): the reference a lossy re-encode at another rate or
/// layout is compared with.
pub fn ffmpeg_decode_as(path: &Path, stream: usize, rate: u32, pan: Option<&str>) -> Vec<i32> {
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-v", "error", "-nostdin", "-i"]).arg(path).args(["-map", &format!("0:a:{stream}")]);
    if let Some(p) = pan {
        cmd.args(["-af", &format!("pan={p}")]);
    }
    let out = cmd
        .args(["-ar", &rate.to_string(), "-f", "s32le", "-acodec", "pcm_s32le", "-"])
        .output()
        .expect("ffmpeg is needed");
    assert!(out.status.success(), "ffmpeg failed on {}: {}", path.display(), String::from_utf8_lossy(&out.stderr));
    out.stdout.chunks_exact(4).map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
}

/// SNR in dB of `test` against `reference` when `test` is shifted by `offset` frames (positive:
/// `test` starts later), over their overlap.
pub fn snr_at(reference: &[i32], test: &[i32], channels: usize, offset: i64) -> f64 {
    let shift = offset.unsigned_abs() as usize * channels;
    if offset >= 0 {
        snr_db(reference, test.get(shift..).unwrap_or(&[]))
    } else {
        snr_db(reference.get(shift..).unwrap_or(&[]), test)
    }
}

/// RMS level in dBFS of 32-bit full-scale samples, leaving out `skip` samples at each end.
pub fn rms_dbfs(samples: &[i32], skip: usize) -> f64 {
    let s = &samples[skip.min(samples.len())..samples.len().saturating_sub(skip)];
    let sum: f64 = s.iter().map(|&v| (f64::from(v) / 2_147_483_648.0).powi(2)).sum();
    10.0 * (sum / s.len().max(1) as f64).log10()
}

/// Where `inner` sits inside `outer` (both interleaved with `channels`), searching offsets of up
/// to `max_offset` frames: returns the offset whose overlap matches exactly, if any.
pub fn exact_offset(outer: &[i32], inner: &[i32], channels: usize, max_offset: usize) -> Option<usize> {
    (0..=max_offset).find(|&off| {
        let start = off * channels;
        let n = inner.len().min(outer.len().saturating_sub(start));
        n > 0 && n * 10 >= inner.len() * 9 && outer[start..start + n] == inner[..n]
    })
}

/// Signal-to-noise ratio in dB of `test` against `reference` over their common length.
pub fn snr_db(reference: &[i32], test: &[i32]) -> f64 {
    let n = reference.len().min(test.len());
    let (mut sig, mut noise) = (0f64, 0f64);
    for i in 0..n {
        let r = f64::from(reference[i]);
        let d = r - f64::from(test[i]);
        sig += r * r;
        noise += d * d;
    }
    if noise == 0.0 {
        return f64::INFINITY;
    }
    10.0 * (sig / noise).log10()
}

/// The offset in frames (within ±`max_offset`) at which `test` best matches `reference`, found
/// on a window from the middle of the reference, and the SNR over the whole overlap there.
/// Positive: `test` starts later.
pub fn best_alignment(reference: &[i32], test: &[i32], channels: usize, max_offset: usize) -> (i64, f64) {
    let frames = reference.len() / channels;
    let window = 4096.min(frames / 2);
    let mid = frames / 2 - window / 2;
    let reference_window = &reference[mid * channels..(mid + window) * channels];
    let mut best = (0i64, f64::NEG_INFINITY);
    for off in -(max_offset as i64)..=(max_offset as i64) {
        let start = mid as i64 + off;
        if start < 0 || (start as usize + window) * channels > test.len() {
            continue;
        }
        let t = &test[start as usize * channels..(start as usize + window) * channels];
        let snr = snr_db(reference_window, t);
        if snr > best.1 {
            best = (off, snr);
        }
    }
    let (r, t) = if best.0 >= 0 {
        (reference, test.get(best.0 as usize * channels..).unwrap_or(&[]))
    } else {
        (reference.get((-best.0) as usize * channels..).unwrap_or(&[]), test)
    };
    (best.0, snr_db(r, t))
}

/// Integrated loudness (LUFS) and true peak (dBTP) of the first audio stream of `path`, as
/// ffmpeg's `ebur128` filter measures them (EBU R128; its summary has one decimal).
pub fn ffmpeg_loudness(path: &Path) -> (f64, f64) {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-hide_banner", "-nostats", "-i"])
        .arg(path)
        .args(["-map", "0:a:0", "-af", "ebur128=peak=true", "-f", "null", "-"])
        .output()
        .expect("ffmpeg is needed");
    assert!(out.status.success(), "ffmpeg failed on {}: {}", path.display(), String::from_utf8_lossy(&out.stderr));
    let log = String::from_utf8_lossy(&out.stderr);
    let summary = &log[log.rfind("Summary:").expect("no ebur128 summary")..];
    let value = |label: &str, after: &str| -> f64 {
        let from = &summary[summary.find(after).unwrap_or(0)..];
        let line = from.lines().find(|l| l.trim_start().starts_with(label)).unwrap();
        let v = line.trim_start()[label.len()..].split_whitespace().next().unwrap();
        if v == "-inf" {
            f64::NEG_INFINITY
        } else {
            v.parse().unwrap()
        }
    };
    (value("I:", "Integrated loudness:"), value("Peak:", "True peak:"))
}

/// Tags of `path` as ffprobe reads them, container and first audio stream together (Ogg keeps
/// them on the stream), keys in lower case.
pub fn ffprobe_tags(path: &Path) -> std::collections::BTreeMap<String, String> {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "a:0", "-show_entries", "format_tags:stream_tags", "-of", "json"])
        .arg(path)
        .output()
        .expect("ffprobe is needed");
    assert!(out.status.success(), "ffprobe failed on {}: {}", path.display(), String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut tags = std::collections::BTreeMap::new();
    for t in [&v["format"]["tags"], &v["streams"][0]["tags"]] {
        for (k, val) in t.as_object().into_iter().flatten() {
            tags.insert(k.to_lowercase(), val.as_str().unwrap_or_default().to_string());
        }
    }
    tags
}

/// A 16-bit PCM WAV (plain header, no tags) of `frames` frames of `channels` channels at
/// `rate`, sample values from `f(frame, channel)` in [-1, 1]: inputs made in memory.
pub fn wav_s16(rate: u32, channels: u16, frames: usize, f: impl Fn(usize, usize) -> f64) -> Vec<u8> {
    let mut data = Vec::with_capacity(frames * usize::from(channels) * 2);
    for i in 0..frames {
        for c in 0..usize::from(channels) {
            let v = (f(i, c).clamp(-1.0, 1.0) * 32767.0).round() as i16;
            data.extend_from_slice(&v.to_le_bytes());
        }
    }
    let mut w = Vec::with_capacity(44 + data.len());
    w.extend_from_slice(b"RIFF");
    w.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
    w.extend_from_slice(b"WAVEfmt ");
    w.extend_from_slice(&16u32.to_le_bytes());
    w.extend_from_slice(&1u16.to_le_bytes());
    w.extend_from_slice(&channels.to_le_bytes());
    w.extend_from_slice(&rate.to_le_bytes());
    w.extend_from_slice(&(rate * u32::from(channels) * 2).to_le_bytes());
    w.extend_from_slice(&(channels * 2).to_le_bytes());
    w.extend_from_slice(&16u16.to_le_bytes());
    w.extend_from_slice(b"data");
    w.extend_from_slice(&(data.len() as u32).to_le_bytes());
    w.extend_from_slice(&data);
    w
}
