//! Every fixture × every output format, checked with ffprobe and ffmpeg as the oracle.
//!
//! Copies must decode to exactly the samples of the source track (bit-exact, at the offset of
//! the priming the source's container hides); lossless transcodes must match ffmpeg's decode of
//! the source at offset 0, bit-exact from lossless sources and within an SNR floor from lossy
//! ones. Lossy transcodes (mp3, aac, opus, ogg) are checked for codec, rate, channels, bitrate
//! (ogg's quality levels are VBR: reported, not checked), length, alignment and an SNR floor
//! against ffmpeg's decode of the source at the output rate.

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
    match decodable {
        false => Expect::Fail(ErrorCode::InvalidVideo),
        true => Expect::Transcode,
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

/// The lossy encoders' medium quality (the default), bits per second; none for ogg, whose
/// levels are Vorbis VBR qualities.
fn default_bitrate(format: OutputFormat) -> Option<u32> {
    match format {
        OutputFormat::Opus => Some(64_000),
        OutputFormat::Ogg => None,
        _ => Some(128_000),
    }
}

/// The codec ffprobe names for a lossy format.
fn codec_name(format: OutputFormat) -> &'static str {
    match format {
        OutputFormat::Ogg => "vorbis",
        f => f.as_str(),
    }
}

/// Sample rate of a lossy output for a source rate: Opus decodes at 48 kHz; MP3 and AAC keep
/// the nine MPEG rates, Vorbis any rate from 8 to 48 kHz (all fixtures are at 44.1 or 48 kHz).
fn lossy_rate(format: OutputFormat, source: u32) -> u32 {
    match format {
        OutputFormat::Opus => 48_000,
        _ => source,
    }
}

/// Samples of delay a lossy output decodes with, and of padding it may decode with at the
/// end. ADTS has no way to signal AAC's 1024 samples of encoder priming nor the padding of its
/// last frame (ffmpeg's own ADTS output decodes with both too); the MP3 Info frame and the Opus
/// pre-skip and final granule let decoders trim theirs exactly.
fn lossy_delay_and_padding(format: OutputFormat) -> (i64, i64) {
    match format {
        OutputFormat::Aac => (1024, 1023),
        _ => (0, 0),
    }
}

/// Lowest SNR accepted between ffmpeg's decode of a lossy output and ffmpeg's decode of the
/// source (resampled by ffmpeg to the output rate), at the output's documented delay. Measured
/// at the default quality on the fixtures' −6 dBFS tones: mp3 63–76 dB (128k), aac 50–59 dB
/// (128k), opus 39–46 dB (64k), ogg 39–41 dB (Vorbis q4, and 40–41 dB at every level: on
/// these tones libvorbis's floor quantisation sets the noise, ffmpeg's libvorbis measures the
/// same 39–41 dB); the lower ends are lossy sources, whose own coding noise adds in (Vorbis for
/// mp3, Opus for aac and ogg). The floors sit 10 dB or more below the lowest
/// measurement, so a real defect (a channel swapped, a gap, drift, a level error of more than
/// a few percent) fails while a change of encoder tuning does not; and all are above the
/// 18–22 dB that a one-sample misalignment of these tones gives, so they also prove the
/// alignment to a fraction of a sample.
fn lossy_snr_floor(format: OutputFormat) -> f64 {
    match format {
        OutputFormat::Mp3 => 50.0,
        OutputFormat::Aac => 40.0,
        _ => 29.0, // opus, ogg
    }
}

fn extract(fx: &ts::Fixture, format: OutputFormat) -> converso_core::Result<(Vec<u8>, Mode)> {
    extract_with(fx, &ExtractOptions::new(format))
}

fn extract_with(fx: &ts::Fixture, options: &ExtractOptions) -> converso_core::Result<(Vec<u8>, Mode)> {
    let bytes = std::fs::read(fx.path()).unwrap();
    let mut ex = Extraction::new(converso_core::SliceSource::new(bytes), options, VecSink::default())?;
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
    if *expect == Expect::Transcode && !format.is_lossless() {
        return check_lossy(fx, format, default_bitrate(format), out);
    }
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

/// A lossy re-encode: codec, rate and channels by ffprobe; bitrate within 10 % of `bitrate`
/// (when there is one: ogg's quality levels are VBR);
/// length within one frame of the source's (after the output's documented delay and padding); and the SNR
/// against ffmpeg's decode of the source, resampled by ffmpeg to the output rate.
///
/// Alignment: the best offset is searched and reported, but the tones are periodic, so several
/// offsets match about as well once coding noise is in; what is required is the SNR floor at
/// the offset the format documents (0, or AAC's 1024), which a misalignment of even one
/// sample would miss.
fn check_lossy(
    fx: &ts::Fixture,
    format: OutputFormat,
    bitrate: Option<u32>,
    out: &std::path::Path,
) -> Result<String, String> {
    let a = &fx.audio[0];
    let probed = ts::ffprobe(out);
    let rate = lossy_rate(format, a.sample_rate);
    let channels = a.channels.min(2);
    if probed.codec != codec_name(format) || probed.sample_rate != rate || probed.channels != channels {
        return Err(format!(
            "{} {} ch {} Hz (want {} {channels} ch {rate} Hz)",
            probed.codec,
            probed.channels,
            probed.sample_rate,
            codec_name(format)
        ));
    }
    let ch = channels as usize;
    let reference = ts::ffmpeg_decode_as(&fx.path(), 0, rate, None);
    let ours = ts::ffmpeg_decode(out, 0);
    let (ref_frames, our_frames) = ((reference.len() / ch) as i64, (ours.len() / ch) as i64);
    // The source's own length is known to a frame of its codec (as for lossless transcodes).
    let (delay, padding) = lossy_delay_and_padding(format);
    let frame = (frame_len(&a.codec, a.sample_rate) as u64 * u64::from(rate)).div_ceil(u64::from(a.sample_rate)) as i64;
    let diff = our_frames - delay - ref_frames;
    if !(-frame..=frame + padding).contains(&diff) {
        return Err(format!("{our_frames} frames decoded vs {ref_frames} in the source (delay {delay})"));
    }
    let size = std::fs::metadata(out).unwrap().len() as f64;
    let kbps = size * 8.0 / (ref_frames as f64 / f64::from(rate)) / 1000.0;
    if let Some(bitrate) = bitrate {
        let want = f64::from(bitrate) / 1000.0;
        if (kbps / want - 1.0).abs() > 0.10 {
            return Err(format!("{kbps:.1} kbps, asked for {want} kbps"));
        }
    }
    let (best, best_snr) = ts::best_alignment(&reference, &ours, ch, 2048);
    let snr = ts::snr_at(&reference, &ours, ch, delay);
    if snr < lossy_snr_floor(format) {
        return Err(format!(
            "SNR {snr:.1} dB at offset {delay} (floor {} dB); best {best_snr:.1} dB at offset {best}",
            lossy_snr_floor(format)
        ));
    }
    Ok(format!("transcode, {kbps:.1} kbps, SNR {snr:.1} dB at offset {delay} (best at {best}), {diff:+} frames"))
}

/// Each quality level gives its documented bitrate (quality.rs), from a lossless and a lossy
/// source, with the same checks as the matrix (SNR floors included: they hold from `low` on).
/// ogg's levels are Vorbis VBR qualities: the plan names the quality, the bitrate is reported.
#[test]
fn every_quality_level() {
    use converso_core::Quality;
    let out_dir = ts::out_dir("quality");
    let mut failures = Vec::new();
    let levels = [Quality::Low, Quality::Medium, Quality::High, Quality::Extreme];
    let kbps = |format: OutputFormat| match format {
        OutputFormat::Mp3 => [Some(96), Some(128), Some(192), Some(320)],
        OutputFormat::Aac => [Some(96), Some(128), Some(192), Some(256)],
        OutputFormat::Ogg => [None; 4],
        _ => [Some(48), Some(64), Some(96), Some(160)],
    };
    let vbr_qualities = [2, 4, 6, 9];
    for file in ["mkv_h264_flac.mkv", "mp4_h264_aac_stereo44k.mp4"] {
        let fx = ts::fixture(file);
        for format in [OutputFormat::Mp3, OutputFormat::Aac, OutputFormat::Opus, OutputFormat::Ogg] {
            for ((level, k), q) in levels.into_iter().zip(kbps(format)).zip(vbr_qualities) {
                // An AAC source to aac is copied whatever the level (a copy beats any level).
                if file.contains("aac") && format == OutputFormat::Aac {
                    continue;
                }
                let mut options = ExtractOptions::new(format);
                options.quality = Some(level);
                let name = format!("{file} → {} {level:?}", format.as_str());
                let bytes = std::fs::read(fx.path()).unwrap();
                let ex = Extraction::new(converso_core::SliceSource::new(bytes), &options, VecSink::default()).unwrap();
                let want = (k.map(|k| k * 1000), (format == OutputFormat::Ogg).then_some(q));
                assert_eq!((ex.plan().bitrate, ex.plan().vbr_quality), want, "{name}");
                let (bytes, mode) = extract_with(&fx, &options).unwrap();
                assert_ne!(mode, Mode::Copy, "{name}");
                let path = out_dir.join(format!("{file}.{level:?}.{}", format.extension()));
                std::fs::write(&path, bytes).unwrap();
                match check_lossy(&fx, format, k.map(|k| k * 1000), &path) {
                    Ok(note) => println!("{name}: {note}"),
                    Err(e) => failures.push(format!("{name}: {e}")),
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}
