//! Probing, track choice and bad inputs: the right error code, never a panic or a hang.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::mpsc;
use std::time::Duration;

use converso_core::{
    plan, probe, Container, ErrorCode, ExtractOptions, Extraction, Mode, OutputFormat, SliceSource, TrackKind,
    TranscodeReason, VecSink,
};
use converso_test_support as ts;

/// Containers converso does not read yet (ffprobe's names).
const UNREAD_CONTAINERS: [&str; 4] = ["avi", "flv", "mpegts", "mpeg"];

fn extract_bytes(bytes: Vec<u8>, options: &ExtractOptions) -> converso_core::Result<Vec<u8>> {
    let mut ex = Extraction::new(SliceSource::new(bytes), options, VecSink::default())?;
    ex.run(|_| {})?;
    Ok(ex.into_sink().bytes)
}

fn extract_file(file: &str, options: &ExtractOptions) -> converso_core::Result<Vec<u8>> {
    extract_bytes(std::fs::read(ts::fixture(file).path()).unwrap(), options)
}

fn error_of(file: &str, format: OutputFormat) -> converso_core::Error {
    extract_file(file, &ExtractOptions::new(format)).expect_err(file)
}

#[test]
fn broken_inputs_get_the_right_code() {
    for (file, code, says) in [
        ("broken_empty.mp4", ErrorCode::InvalidVideo, "empty"),
        ("broken_text_as.mp4", ErrorCode::InvalidVideo, "not a video"),
        ("broken_truncated_half_moov_at_end.mp4", ErrorCode::InvalidVideo, "not a video"),
        ("broken_truncated_half_faststart.mp4", ErrorCode::ExtractionFailed, "breaks off"),
        ("mp4_h264_noaudio.mp4", ErrorCode::InvalidVideo, "no audio track"),
        ("avi_mpeg4_mp3.avi", ErrorCode::InvalidVideo, "AVI"),
        ("ts_h264_aac.ts", ErrorCode::InvalidVideo, "transport stream"),
        ("flv_h264_aac.flv", ErrorCode::InvalidVideo, "FLV"),
        ("mpg_mpeg2_mp2.mpg", ErrorCode::InvalidVideo, "program stream"),
        ("mkv_h264_ac3_5.1.mkv", ErrorCode::InvalidVideo, "ac3"),
    ] {
        for format in [OutputFormat::Wav, OutputFormat::Aac] {
            let e = error_of(file, format);
            assert_eq!(e.code, code, "{file} → {format:?}: {e}");
            assert!(e.message.contains(says), "{file}: message {:?} should say {says:?}", e.message);
        }
    }
}

#[test]
fn probe_matches_ffprobe() {
    let mut checked = 0;
    for fx in ts::fixtures().into_iter().filter(|f| f.expect == "ok") {
        let Ok(info) = probe(SliceSource::new(std::fs::read(fx.path()).unwrap())) else {
            assert!(UNREAD_CONTAINERS.contains(&fx.container.as_deref().unwrap()), "{} should probe", fx.file);
            continue;
        };
        let audio: Vec<_> = info.audio_tracks().collect();
        assert_eq!(audio.len(), fx.audio.len(), "{}", fx.file);
        for (ours, theirs) in audio.iter().zip(&fx.audio) {
            let codec = if theirs.codec.starts_with("pcm_") { "pcm" } else { theirs.codec.as_str() };
            assert_eq!(ours.codec, codec, "{}", fx.file);
            assert_eq!(ours.channels, Some(theirs.channels), "{}", fx.file);
            assert_eq!(ours.sample_rate, Some(theirs.sample_rate), "{}", fx.file);
            assert_eq!(ours.language, theirs.language, "{}", fx.file);
            assert!(ours.bitrate.is_some_and(|b| b > 8000), "{}: bitrate {:?}", fx.file, ours.bitrate);
        }
        let videos = info.tracks.iter().filter(|t| t.kind == TrackKind::Video).count();
        assert_eq!(videos, usize::from(!fx.file.starts_with("ogg_")), "{}", fx.file);
        let d = info.duration.expect("duration");
        assert!((d - fx.duration_s.unwrap()).abs() < 0.05, "{}: {d} vs {:?}", fx.file, fx.duration_s);
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} fixtures probed");
}

#[test]
fn containers_are_named() {
    for (file, container) in [
        ("mp4_h264_aac_stereo44k.mp4", Container::Mp4),
        ("mov_h264_aac.mov", Container::Mov),
        ("mkv_h264_flac.mkv", Container::Mkv),
        ("webm_vp9_opus.webm", Container::Webm),
        ("ogg_vorbis.ogg", Container::Ogg),
    ] {
        let info = probe(SliceSource::new(std::fs::read(ts::fixture(file).path()).unwrap())).unwrap();
        assert_eq!(info.container, container, "{file}");
    }
}

#[test]
fn tags_are_read() {
    let info = probe(SliceSource::new(std::fs::read(ts::fixture("mp4_h264_aac_tagged.mp4").path()).unwrap())).unwrap();
    assert_eq!(info.tags.title.as_deref(), Some("Test Title"));
    assert_eq!(info.tags.artist.as_deref(), Some("Test Artist"));
    assert_eq!(info.tags.album.as_deref(), Some("Test Album"));
    assert_eq!(info.tags.date.as_deref(), Some("2024"));
    assert_eq!(info.tags.comment.as_deref(), Some("Test comment"));
    // Vorbis comments as ffmpeg writes them: the comment as DESCRIPTION; LANGUAGE is also the
    // stream's language.
    let info = probe(SliceSource::new(std::fs::read(ts::fixture("ogg_vorbis_tagged.ogg").path()).unwrap())).unwrap();
    assert_eq!(info.tags.title.as_deref(), Some("Tagged Ogg – Título"));
    assert_eq!(info.tags.comment.as_deref(), Some("Ogg comment"));
    assert_eq!(info.tags.language.as_deref(), Some("spa"));
    assert_eq!(info.tracks[0].language.as_deref(), Some("spa"));
}

#[test]
fn default_track_and_track_choice() {
    let fx = ts::fixture("mp4_h264_aac_2tracks.mp4");
    let info = probe(SliceSource::new(std::fs::read(fx.path()).unwrap())).unwrap();
    let mut o = ExtractOptions::new(OutputFormat::Wav);
    let p = plan(&info, &o).unwrap();
    assert_eq!((p.track.audio_index, p.track.language.as_deref()), (Some(0), Some("eng")));
    o.track = Some(1);
    let p = plan(&info, &o).unwrap();
    assert_eq!((p.track.audio_index, p.track.sample_rate), (Some(1), Some(48000)));
    // The second track decodes to what ffmpeg decodes for it (300/500 Hz, not 440/660 Hz).
    let path = ts::out_dir("inputs").join("track1.wav");
    std::fs::write(&path, extract_file(&fx.file, &o).unwrap()).unwrap();
    let (offset, snr) = ts::best_alignment(&ts::ffmpeg_decode(&fx.path(), 1), &ts::ffmpeg_decode(&path, 0), 2, 2048);
    assert_eq!(offset, 0);
    assert!(snr > 60.0, "SNR {snr}");
    o.track = Some(2);
    let e = plan(&info, &o).unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidOutput);
    assert!(e.details.unwrap().contains("2 audio track"));
}

#[test]
fn options_errors_name_the_field() {
    let info = probe(SliceSource::new(std::fs::read(ts::fixture("webm_vp9_opus.webm").path()).unwrap())).unwrap();
    let mut o = ExtractOptions::new(OutputFormat::Ogg);
    o.bitrate = Some("900k".into());
    let e = plan(&info, &o).unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidOutput);
    assert!(e.message.contains("output.bitrate") && e.details.as_deref().unwrap().contains("32k to 500k"), "{e}");
    o.format = OutputFormat::Mp3;
    o.bitrate = Some("500k".into());
    let e = plan(&info, &o).unwrap_err();
    assert!(e.message.contains("output.bitrate") && e.details.unwrap().contains("32k to 320k"));
    o.format = OutputFormat::Opus;
    o.bitrate = Some("fast".into());
    assert!(plan(&info, &o).unwrap_err().message.contains("output.bitrate"));
    o.bitrate = None;
    // normalize re-encodes, even what could be copied.
    o.normalize = true;
    assert_eq!(plan(&info, &o).unwrap().mode, Mode::Transcode { reason: TranscodeReason::Normalize });
    o.format = OutputFormat::Ogg;
    let p = plan(&info, &o).unwrap();
    assert!(matches!(p.mode, Mode::Transcode { reason: TranscodeReason::CodecDiffers { .. } }));
    assert_eq!((p.bitrate, p.vbr_quality), (None, Some(4)));
    o.format = OutputFormat::Wav;
    assert!(matches!(plan(&info, &o).unwrap().mode, Mode::Transcode { reason: TranscodeReason::CodecDiffers { .. } }));
    o.normalize = false;
    o.preserve_metadata = true;
    assert!(plan(&info, &o).is_ok());
}

/// Runs an extraction of `bytes` on another thread and waits at most `limit`: a panic or a hang
/// fails the test with the case's name.
fn must_end(name: String, bytes: Vec<u8>, format: OutputFormat, limit: Duration) {
    let (tx, rx) = mpsc::channel();
    let worker = std::thread::spawn(move || {
        let r = extract_bytes(bytes, &ExtractOptions::new(format));
        let _ = tx.send(r.map(|_| ()).map_err(|e| e.code));
    });
    match rx.recv_timeout(limit) {
        Ok(_) => worker.join().unwrap(),
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("{name}: panicked"),
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{name}: did not end within {limit:?}"),
    }
}

#[test]
fn truncated_and_bit_flipped_inputs_never_panic_or_hang() {
    let mut cases = 0;
    for fx in ts::fixtures()
        .into_iter()
        .filter(|f| f.expect == "ok" && !UNREAD_CONTAINERS.contains(&f.container.as_deref().unwrap()))
    {
        let bytes = std::fs::read(fx.path()).unwrap();
        let format = if fx.audio[0].codec == "aac" { OutputFormat::Aac } else { OutputFormat::Wav };
        let n = bytes.len();
        for i in 1..12 {
            let cut = n * i / 12;
            must_end(format!("{} cut at {cut}", fx.file), bytes[..cut].to_vec(), format, Duration::from_secs(30));
            let mut flipped = bytes.clone();
            // Spread flips over headers (dense at the start) and data.
            for k in 0..4 {
                let at = (i * 131 + k * 7919) % n.min(4096 + i * n / 12);
                flipped[at] ^= 1 << ((i + k) % 8);
            }
            must_end(format!("{} flipped near {}", fx.file, i * 131), flipped, format, Duration::from_secs(30));
            cases += 2;
        }
    }
    assert!(cases > 400, "only {cases} cases");
}
