//! The engine compiled to wasm32 gives the same output as the native engine, one fixture per
//! source codec, copies and transcodes. `scripts/test` builds the wasm module before this runs.
//!
//! Copies and lossless paths are byte-identical. Three differences are expected and bounded here:
//! - FLAC encoding picks predictors with floating-point maths whose last bits differ between
//!   the platforms' math libraries (glibc natively, Rust's libm on wasm32), so the bytes may
//!   differ while the decoded samples are identical;
//! - lossy decoders (AAC, MP3, Opus) build their transforms with `sin`/`cos` from those same
//!   libraries, so a sample may differ by one least significant bit;
//! - lossy encoders (MP3, AAC, Opus, Vorbis) may then make a different quantisation choice, and
//!   so may they from identical input: the resampler's FFT runs SIMD code natively and scalar
//!   code on wasm32, libvorbis runs SSE code natively and scalar C on wasm32, and the encoders'
//!   own analysis uses those math libraries. From such a choice on,
//!   the outputs differ by coding noise; both still meet the quality floor, so the bound is
//!   that floor between the native and the wasm output (`lossy_floor`). Measured: pcm → aac
//!   identical; flac → mp3 decodes identically (one byte of one frame differs, and so the
//!   Info frame's checksums); aac or flac at 44.1 kHz → opus about 42 dB apart at 64k (the
//!   codec's own noise level on these tones); flac → ogg identical, aac → ogg 61 dB apart.
//!
//! `normalize` cases add the loudness measurement (f64 filters whose coefficients come from
//! those math libraries too) and the gain: the same bounds apply.

use std::process::Command;

use converso_test_support as ts;

const CASES: [(&str, &str); 21] = [
    ("mp4_h264_aac_stereo44k.mp4", "aac"),
    ("mkv_h264_flac.mkv", "mp3"),
    ("mov_h264_pcm_s16le.mov", "aac"),
    ("mp4_h264_aac_stereo44k.mp4", "opus"),
    ("mkv_h264_flac.mkv", "opus"),
    ("mp4_h264_aac_stereo44k.mp4", "wav"),
    ("webm_vp9_opus.webm", "opus"),
    ("webm_vp9_opus.webm", "flac"),
    ("webm_vp8_vorbis.webm", "ogg"),
    ("webm_vp8_vorbis.webm", "wav"),
    ("mkv_h264_mp3.mkv", "mp3"),
    ("mkv_h264_mp3.mkv", "flac"),
    ("mkv_h264_flac.mkv", "flac"),
    ("mkv_h264_flac.mkv", "wav"),
    ("mp4_h264_alac.mp4", "flac"),
    ("mov_h264_pcm_s16le.mov", "wav"),
    ("mkv_h264_flac.mkv", "flac+normalize"),
    ("mp4_h264_aac_stereo44k.mp4", "mp3+normalize"),
    ("mp4_h264_aac_stereo44k.mp4", "ogg"),
    ("mkv_h264_flac.mkv", "ogg"),
    ("webm_vp9_opus.webm", "ogg+normalize"),
];

#[test]
fn wasm_output_equals_native() {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| ts::root().join("target"), Into::into);
    let wasm = target.join("wasm32-unknown-unknown/wasm/converso_wasm_smoke.wasm");
    assert!(wasm.exists(), "{} is missing: scripts/test builds it before the tests", wasm.display());
    let dir = ts::out_dir("wasm-parity");
    let formats = ["mp3", "aac", "flac", "wav", "ogg", "opus"];
    let mut cases = Vec::new();
    for (file, case) in CASES {
        let fx = ts::fixture(file);
        let (format, normalize) = split(case);
        let mut index = formats.iter().position(|f| *f == format).unwrap() as u32;
        if normalize {
            index |= converso_wasm_smoke::NORMALIZE;
        }
        let out = converso_wasm_smoke::run(std::fs::read(fx.path()).unwrap(), index).unwrap();
        std::fs::write(dir.join(output_name("", file, case)), out).unwrap();
        cases.push(serde_json::json!({ "file": file, "format": format, "normalize": normalize }));
    }
    std::fs::write(dir.join("cases.json"), serde_json::to_string(&cases).unwrap()).unwrap();
    let o = Command::new("node")
        .arg(ts::root().join("tests/wasm-smoke/run.mjs"))
        .args([&wasm, &ts::fixtures_dir(), &dir])
        .output()
        .expect("node is needed");
    assert!(o.status.success(), "the wasm run failed: {}", String::from_utf8_lossy(&o.stderr));
    let mut identical = 0;
    for (file, case) in CASES {
        let (format, _) = split(case);
        let native = dir.join(output_name("", file, case));
        let wasm = dir.join(output_name("wasm-", file, case));
        if std::fs::read(&native).unwrap() == std::fs::read(&wasm).unwrap() {
            identical += 1;
            println!("{file} -> {case}: identical bytes");
            continue;
        }
        let (a, b) = (ts::ffmpeg_decode(&native, 0), ts::ffmpeg_decode(&wasm, 0));
        assert_eq!(a.len(), b.len(), "{file} -> {case}: lengths differ");
        let copy = format == "ogg" && ts::fixture(file).audio[0].codec == "vorbis";
        if let Some(floor) = lossy_floor(format).filter(|_| !copy) {
            let snr = ts::snr_db(&a, &b);
            println!("{file} -> {case}: bytes differ, native and wasm decodes {snr:.1} dB apart (SNR)");
            assert!(snr >= floor, "{file} -> {case}: native and wasm only {snr:.1} dB apart");
            continue;
        }
        // In 16-bit steps (the decode is 32-bit full scale).
        let max_diff = a.iter().zip(&b).map(|(x, y)| (i64::from(*x) - i64::from(*y)).abs() >> 16).max().unwrap_or(0);
        let lossy_source = ["aac", "mp3", "opus", "vorbis"].iter().any(|c| ts::fixture(file).audio[0].codec == *c);
        println!("{file} -> {case}: bytes differ, decoded samples differ by at most {max_diff} LSB");
        assert!(max_diff <= u64::from(lossy_source) as i64, "{file} -> {case}: {max_diff} LSB apart");
    }
    assert!(identical >= CASES.len() / 2, "only {identical} of {} identical", CASES.len());
}

/// `"mp3+normalize"` → (`"mp3"`, true).
fn split(case: &str) -> (&str, bool) {
    match case.strip_suffix("+normalize") {
        Some(format) => (format, true),
        None => (case, false),
    }
}

/// The output file of a case, as run.mjs names it.
fn output_name(prefix: &str, file: &str, case: &str) -> String {
    match split(case) {
        (format, true) => format!("{prefix}{file}.normalized.{format}"),
        (format, false) => format!("{prefix}{file}.{format}"),
    }
}

/// Lossy encoders decide by thresholds: an input or an analysis that differs in its last bits
/// can flip a quantisation choice, and from there the two outputs differ by coding noise. The
/// bound: the native and wasm outputs must agree at least as well as each must agree with the
/// source (the SNR floors of core/tests/formats.rs).
fn lossy_floor(format: &str) -> Option<f64> {
    match format {
        "mp3" => Some(50.0),
        "aac" => Some(40.0),
        "opus" | "ogg" => Some(29.0),
        _ => None,
    }
}
