//! `normalize`: outputs measured by ffmpeg's `ebur128` filter (EBU R128, the oracle) reach
//! −16 LUFS integrated within ±0.5 LU with the true peak at most −1 dBTP, or are held below the
//! target by the true-peak cap when the source is too peaky. Also: the plan re-encodes, progress
//! runs over both passes, and dropping the extraction part-way cancels it.
//!
//! Inputs: fixtures (AAC, Opus, FLAC sources at about −6.7 LUFS, i.e. loud) and WAV files made
//! here in memory (a quiet tone, a quiet tone with clicks).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::f64::consts::TAU;
use std::path::PathBuf;

use converso_core::{
    ErrorCode, ExtractOptions, Extraction, Mode, Normalization, OutputFormat, SliceSource, Step, TranscodeReason,
    VecSink, MAX_TRUE_PEAK_DBTP, TARGET_LUFS,
};
use converso_test_support as ts;

/// How far ffmpeg's integrated loudness of the output may be from the target.
const LOUDNESS_TOLERANCE_LU: f64 = 0.5;

/// How far above −1 dBTP ffmpeg may find the output's true peak. Lossless output carries the
/// samples the gain produced, so only the two meters' oversampling filters differ (and ffmpeg's
/// summary rounds to 0.1 dB). A lossy codec changes the waveform as it codes it, and decoded
/// peaks can end up above the input's; that is why EBU R128 asks for headroom below 0 dBTP in
/// the first place. Measured here the decoded peaks stayed below the cap (clicks came out at
/// −1.3 dBTP from mp3, −2.8 from opus); the margin allows half a dB of overshoot.
fn true_peak_tolerance(format: OutputFormat) -> f64 {
    if format.is_lossless() {
        0.15
    } else {
        0.5
    }
}

fn normalize(format: OutputFormat) -> ExtractOptions {
    let mut o = ExtractOptions::new(format);
    o.normalize = true;
    o
}

/// Extracts with `normalize`, writes the output under target/test-out/normalize/`name`.
fn run(name: &str, input: Vec<u8>, format: OutputFormat) -> (converso_core::Plan, Normalization, PathBuf) {
    let mut ex = Extraction::new(SliceSource::new(input), &normalize(format), VecSink::default()).unwrap();
    let plan = ex.plan().clone();
    let summary = ex.run(|_| {}).unwrap();
    let path = ts::out_dir("normalize").join(format!("{name}.{}", format.extension()));
    std::fs::write(&path, ex.into_sink().bytes).unwrap();
    (plan, summary.normalization.expect("a normalised extraction reports its gain"), path)
}

/// A stereo tone at `amplitude` (0.02 ≈ −34 dBFS), 10 s at 44.1 kHz.
fn quiet_tone() -> Vec<u8> {
    ts::wav_s16(44_100, 2, 441_000, |i, c| 0.02 * (TAU * [440.0, 660.0][c] * i as f64 / 44_100.0).sin())
}

/// A quiet mono tone with a click (one sample at 0.9, −0.9 dBFS) every half second, 10 s at
/// 48 kHz: quiet on average, so the loudness target would need +22 dB, but the clicks leave
/// room for almost none.
fn clicks() -> Vec<u8> {
    ts::wav_s16(48_000, 1, 480_000, |i, _| {
        let tone = 0.02 * (TAU * 1000.0 * i as f64 / 48_000.0).sin();
        if i % 24_000 == 12_000 {
            0.9
        } else {
            tone
        }
    })
}

fn fixture_bytes(file: &str) -> Vec<u8> {
    std::fs::read(ts::fixture(file).path()).unwrap()
}

#[test]
fn outputs_reach_the_target_in_every_format() {
    let cases: Vec<(&str, Vec<u8>, Vec<OutputFormat>)> = vec![
        ("mp4_h264_aac_stereo44k.mp4", fixture_bytes("mp4_h264_aac_stereo44k.mp4"), OutputFormat::ALL.to_vec()),
        ("webm_vp9_opus.webm", fixture_bytes("webm_vp9_opus.webm"), vec![OutputFormat::Opus, OutputFormat::Wav]),
        ("mkv_h264_flac.mkv", fixture_bytes("mkv_h264_flac.mkv"), vec![OutputFormat::Flac, OutputFormat::Mp3]),
        ("mp4_h264_aac_mono48k.mp4", fixture_bytes("mp4_h264_aac_mono48k.mp4"), vec![OutputFormat::Aac]),
        ("quiet.wav", quiet_tone(), vec![OutputFormat::Wav, OutputFormat::Mp3, OutputFormat::Opus, OutputFormat::Ogg]),
        ("ogg_vorbis.ogg", fixture_bytes("ogg_vorbis.ogg"), vec![OutputFormat::Ogg]),
    ];
    let mut checked = 0;
    for (name, input, formats) in cases {
        let src_path = ts::out_dir("normalize").join(format!("src-{name}"));
        std::fs::write(&src_path, &input).unwrap();
        let (src_lufs, _) = ts::ffmpeg_loudness(&src_path);
        for format in formats {
            let what = format!("{name} -> {}", format.as_str());
            let (plan, n, out) = run(name, input.clone(), format);
            let Mode::Transcode { reason } = &plan.mode else { panic!("{what}: normalize must re-encode") };
            let copyable = matches!(
                (name, format),
                ("mp4_h264_aac_stereo44k.mp4" | "mp4_h264_aac_mono48k.mp4", OutputFormat::Aac)
                    | ("webm_vp9_opus.webm", OutputFormat::Opus)
                    | ("mkv_h264_flac.mkv", OutputFormat::Flac)
                    | ("quiet.wav", OutputFormat::Wav)
                    | ("ogg_vorbis.ogg", OutputFormat::Ogg)
            );
            if copyable {
                assert_eq!(*reason, TranscodeReason::Normalize, "{what}");
            }
            // Our measurement of the source agrees with ffmpeg's (lossy outputs are measured
            // after resampling, hence the tolerance).
            assert!((n.input_lufs.unwrap() - src_lufs).abs() <= 0.3, "{what}: {n:?} vs ffmpeg {src_lufs}");
            assert!(!n.peak_limited, "{what}: {n:?}");
            let (lufs, peak) = ts::ffmpeg_loudness(&out);
            println!("{what}: source {src_lufs} LUFS, gain {:+.2} dB -> {lufs} LUFS, {peak} dBTP", n.gain_db);
            assert!((lufs - TARGET_LUFS).abs() <= LOUDNESS_TOLERANCE_LU, "{what}: {lufs} LUFS");
            assert!(peak <= MAX_TRUE_PEAK_DBTP + true_peak_tolerance(format), "{what}: {peak} dBTP");
            // A loud source gets quieter, a quiet one louder.
            assert_eq!(n.gain_db > 0.0, src_lufs < TARGET_LUFS, "{what}: {n:?}");
            checked += 1;
        }
    }
    assert_eq!(checked, 16);
}

#[test]
fn a_peaky_source_is_held_back_by_the_true_peak_cap() {
    let input = clicks();
    let src_path = ts::out_dir("normalize").join("src-clicks.wav");
    std::fs::write(&src_path, &input).unwrap();
    let (src_lufs, src_peak) = ts::ffmpeg_loudness(&src_path);
    for format in [OutputFormat::Wav, OutputFormat::Flac, OutputFormat::Mp3, OutputFormat::Opus] {
        let (_, n, out) = run("clicks", input.clone(), format);
        let (lufs, peak) = ts::ffmpeg_loudness(&out);
        println!(
            "clicks -> {}: source {src_lufs} LUFS {src_peak} dBTP, {n:?} -> {lufs} LUFS, {peak} dBTP",
            format.as_str()
        );
        assert!(n.peak_limited, "{format:?}: {n:?}");
        // The gain puts the measured true peak exactly on the cap.
        assert!((n.input_true_peak.unwrap() + n.gain_db - MAX_TRUE_PEAK_DBTP).abs() < 1e-9);
        assert!(n.gain_db < TARGET_LUFS - n.input_lufs.unwrap());
        assert!(peak <= MAX_TRUE_PEAK_DBTP + true_peak_tolerance(format), "{format:?}: {peak} dBTP");
        // Below the target, by the gain the cap allowed.
        assert!(lufs < TARGET_LUFS - LOUDNESS_TOLERANCE_LU, "{format:?}: {lufs}");
        assert!((lufs - (src_lufs + n.gain_db)).abs() <= 0.3, "{format:?}: {lufs} vs {src_lufs} {:+}", n.gain_db);
    }
}

#[test]
fn silence_is_left_as_it_is() {
    let input = ts::wav_s16(48_000, 2, 96_000, |_, _| 0.0);
    let (_, n, out) = run("silence", input, OutputFormat::Wav);
    assert_eq!((n.input_lufs, n.input_true_peak, n.gain_db, n.peak_limited), (None, None, 0.0, false));
    assert!(ts::ffmpeg_decode(&out, 0).iter().all(|&s| s == 0));
}

#[test]
fn progress_runs_over_both_passes() {
    let input = fixture_bytes("mp4_h264_aac_stereo44k.mp4");
    let mut ex = Extraction::new(SliceSource::new(input), &normalize(OutputFormat::Wav), VecSink::default()).unwrap();
    let header = ex.sink_mut().bytes.len();
    let mut seen = Vec::new();
    let mut reread_at = None;
    let summary = loop {
        if ex.rereads_input() {
            reread_at = Some(seen.len());
            // Nothing but the header was written while measuring.
            assert_eq!(ex.sink_mut().bytes.len(), header);
        }
        match ex.step_packets(16).unwrap() {
            Step::Progress(p) => seen.push(p),
            Step::Done(s) => break s,
        }
    };
    let reread_at = reread_at.expect("the second pass reads the input again");
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "progress goes back: {seen:?}");
    assert!(seen[..reread_at].iter().all(|&p| p <= 0.5), "measuring is the first half: {seen:?}");
    assert!(seen[..reread_at - 1].iter().any(|&p| p > 0.2 && p < 0.5), "{seen:?}");
    assert!(seen[reread_at..].iter().any(|&p| p > 0.7 && p < 1.0), "{seen:?}");
    assert!(seen.len() > 20, "steps of 16 packets over two passes of ~430: {}", seen.len());
    // Packets are counted once, for the output.
    assert!(summary.packets > 400 && summary.packets < 450, "{summary:?}");
}

#[test]
fn dropping_the_extraction_part_way_cancels_it() {
    let input = fixture_bytes("mp4_h264_aac_stereo44k.mp4");
    for stop_at in [0.25, 0.75] {
        let mut sink = VecSink::default();
        {
            let mut ex =
                Extraction::new(SliceSource::new(input.clone()), &normalize(OutputFormat::Flac), &mut sink).unwrap();
            loop {
                match ex.step_packets(8).unwrap() {
                    Step::Progress(p) if p >= stop_at => break,
                    Step::Progress(_) => {}
                    Step::Done(_) => panic!("finished before {stop_at}"),
                }
            }
        }
        // What was written stays as it was: the header alone while measuring, part of the
        // output while writing.
        let written = sink.bytes.len();
        if stop_at < 0.5 {
            assert!(written < 200, "{written} bytes while measuring");
        } else {
            assert!(written > 10_000, "{written} bytes in the second half");
        }
    }
}

/// A source whose reads fail while `missing` is set, like a host's cache that does not hold the
/// start of the input any more.
struct Flaky {
    bytes: Vec<u8>,
    missing: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl converso_core::ByteSource for Flaky {
    fn len(&self) -> u64 {
        self.bytes.len() as u64
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.missing.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(std::io::Error::other("not fetched yet"));
        }
        SliceSource::new(&self.bytes[..]).read_at(offset, buf)
    }
}

#[test]
fn the_step_that_reads_the_input_again_can_be_retried() {
    let input = fixture_bytes("mkv_h264_flac.mkv");
    let missing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let source = Flaky { bytes: input.clone(), missing: missing.clone() };
    let mut ex = Extraction::new(source, &normalize(OutputFormat::Wav), VecSink::default()).unwrap();
    while !ex.rereads_input() {
        assert!(matches!(ex.step().unwrap(), Step::Progress(_)));
    }
    missing.store(true, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(ex.step().unwrap_err().code, ErrorCode::ExtractionFailed);
    assert!(ex.rereads_input(), "still waiting to read the input again");
    missing.store(false, std::sync::atomic::Ordering::SeqCst);
    ex.run(|_| {}).unwrap();
    let (_, _, reference) = run("retried-reference", input, OutputFormat::Wav);
    assert_eq!(ex.into_sink().bytes, std::fs::read(reference).unwrap());
}
