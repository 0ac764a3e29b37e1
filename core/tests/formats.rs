//! Every fixture × every output format, checked with ffprobe and ffmpeg as the oracle.
//!
//! Copies must decode to exactly the samples of the source track (bit-exact, at the offset of
//! the priming the source's container hides); transcodes must match ffmpeg's decode of the
//! source at offset 0, bit-exact from lossless sources and within an SNR floor from lossy ones.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use converso_core::{ErrorCode, ExtractOptions, Extraction, Mode, OutputFormat, Step, VecSink};
use converso_test_support as ts;

/// What the engine must do with a fixture and a format.
#[derive(Debug, PartialEq)]
enum Expect {
    Copy,
    Transcode,
    Fail(ErrorCode),
}

fn copy_pair(codec: &str, format: OutputFormat) -> bool {
    matches!(
        (codec, format),
        ("aac", OutputFormat::Aac)
            | ("mp3", OutputFormat::Mp3)
            | ("opus", OutputFormat::Opus)
            | ("vorbis", OutputFormat::Ogg)
            | ("flac", OutputFormat::Flac)
            | ("pcm_s16le", OutputFormat::Wav)
    )
}

fn expectation(fx: &ts::Fixture, format: OutputFormat) -> Expect {
    let container = fx.container.as_deref().unwrap_or_default();
    if ["avi", "flv", "mpegts", "mpeg"].contains(&container) {
        return Expect::Fail(ErrorCode::InvalidVideo);
    }
    let a = &fx.audio[0];
    if copy_pair(&a.codec, format) {
        return Expect::Copy;
    }
    // symphonia's AAC decoder handles mono and stereo AAC-LC only; AC-3 has no decoder.
    let decodable = match a.codec.as_str() {
        "aac" => a.channels <= 2,
        "ac3" => false,
        _ => true,
    };
    match (decodable, format.is_lossless()) {
        (false, _) => Expect::Fail(ErrorCode::InvalidVideo),
        (true, true) => Expect::Transcode,
        // Encoders for lossy formats come later; until then re-encoding to them is refused.
        (true, false) => Expect::Fail(ErrorCode::InvalidOutput),
    }
}

/// Samples per frame of the source codec: the duration tolerance.
fn frame_len(codec: &str, rate: u32) -> usize {
    match codec {
        "aac" => 1024,
        "mp3" => 1152,
        "opus" => (rate / 50) as usize,
        "vorbis" => 2048,
        "flac" => 4608,
        "alac" => 4096,
        _ => 1,
    }
}

/// Lowest SNR accepted between ffmpeg's decode of a lossy source and ours written as 16-bit PCM.
/// Both decoders are float implementations of the same standard; the floor is set well below
/// the ~80–100 dB measured so that a real defect (wrong channel, gap, drift) shows, while
/// rounding differences between decoders do not.
const LOSSY_SNR_FLOOR_DB: f64 = 60.0;

fn extract(fx: &ts::Fixture, format: OutputFormat) -> converso_core::Result<(Vec<u8>, Mode)> {
    let bytes = std::fs::read(fx.path()).unwrap();
    let mut ex =
        Extraction::new(converso_core::SliceSource::new(bytes), &ExtractOptions::new(format), VecSink::default())?;
    let mode = ex.plan().mode.clone();
    let mut last = 0.0;
    loop {
        match ex.step()? {
            Step::Progress(p) => {
                assert!((last..=1.0).contains(&p), "progress must rise within 0..1: {last} then {p}");
                last = p;
            }
            Step::Done(summary) => {
                let out = ex.into_sink().bytes;
                assert_eq!(summary.bytes, out.len() as u64);
                return Ok((out, mode));
            }
        }
    }
}

fn check_output(
    fx: &ts::Fixture,
    format: OutputFormat,
    expect: &Expect,
    out: &std::path::Path,
) -> Result<String, String> {
    let a = &fx.audio[0];
    let probed = ts::ffprobe(out);
    let want_codec = match format {
        OutputFormat::Ogg => "vorbis",
        OutputFormat::Wav => probed.codec.as_str(),
        f => f.as_str(),
    };
    if probed.codec != want_codec || (format == OutputFormat::Wav && !probed.codec.starts_with("pcm_s")) {
        return Err(format!("codec {} (want {want_codec})", probed.codec));
    }
    if probed.channels != a.channels || probed.sample_rate != a.sample_rate {
        return Err(format!(
            "{} ch {} Hz (want {} ch {} Hz)",
            probed.channels, probed.sample_rate, a.channels, a.sample_rate
        ));
    }
    let ch = a.channels as usize;
    let src = ts::ffmpeg_decode(&fx.path(), 0);
    let ours = ts::ffmpeg_decode(out, 0);
    let (src_frames, our_frames) = ((src.len() / ch) as i64, (ours.len() / ch) as i64);
    let frame = frame_len(&a.codec, a.sample_rate) as i64;
    let diff = our_frames - src_frames;
    if *expect == Expect::Copy {
        // ADTS cannot signal the 1024 priming samples MP4 hides with an edit list, nor the
        // padding: the copy decodes to them too.
        let (lo, hi) = if format == OutputFormat::Aac { (0, 2 * frame) } else { (-frame, frame) };
        if !(lo..=hi).contains(&diff) {
            return Err(format!("{our_frames} frames decoded vs {src_frames} in the source"));
        }
        let offset = ts::exact_offset(&ours, &src, ch, 4096).ok_or("decoded samples differ from the source's")?;
        return Ok(format!("copy, bit-exact at offset {offset}, {diff:+} frames"));
    }
    if diff.abs() > frame {
        return Err(format!("{our_frames} frames decoded vs {src_frames} in the source"));
    }
    let lossless_source = ["flac", "alac"].contains(&a.codec.as_str()) || a.codec.starts_with("pcm_");
    if lossless_source {
        if ts::exact_offset(&ours, &src, ch, 0) != Some(0) {
            return Err("samples differ from the lossless source".into());
        }
        return Ok(format!("transcode, bit-exact, {diff:+} frames"));
    }
    let (offset, snr) = ts::best_alignment(&src, &ours, ch, 2048);
    if offset != 0 || snr < LOSSY_SNR_FLOOR_DB {
        return Err(format!("best match at offset {offset} with SNR {snr:.1} dB"));
    }
    Ok(format!("transcode, SNR {snr:.1} dB, {diff:+} frames"))
}

#[test]
fn every_fixture_to_every_format() {
    let out_dir = ts::out_dir("formats");
    let mut failures = Vec::new();
    let mut report = Vec::new();
    for fx in ts::fixtures().into_iter().filter(|f| f.expect == "ok") {
        for format in OutputFormat::ALL {
            let expect = expectation(&fx, format);
            let name = format!("{} → {}", fx.file, format.as_str());
            match (extract(&fx, format), &expect) {
                (Ok((bytes, mode)), Expect::Copy | Expect::Transcode) => {
                    let copied = mode == Mode::Copy;
                    if copied != (expect == Expect::Copy) {
                        failures.push(format!("{name}: plan {mode:?}, expected {expect:?}"));
                        continue;
                    }
                    let path = out_dir.join(format!("{}.{}", fx.file, format.extension()));
                    std::fs::write(&path, bytes).unwrap();
                    match check_output(&fx, format, &expect, &path) {
                        Ok(note) => report.push(format!("{name}: {note}")),
                        Err(e) => failures.push(format!("{name}: {e}")),
                    }
                }
                (Err(e), Expect::Fail(code)) if e.code == *code => report.push(format!("{name}: {}", e.code)),
                (Ok(_), Expect::Fail(code)) => failures.push(format!("{name}: succeeded, expected {code}")),
                (Err(e), _) => failures.push(format!("{name}: {e}, expected {expect:?}")),
            }
        }
    }
    println!("{}", report.join("\n"));
    assert!(report.len() > 100, "too few cases ran: {}", report.len());
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}
