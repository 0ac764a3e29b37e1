//! The `converso` binary: output naming, exit codes, JSON, pipes, and no half-written files.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use converso_test_support as ts;

fn converso(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_converso")).args(args).output().unwrap()
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap()
}

/// A fresh folder holding a copy of `fixture`.
fn workdir(name: &str, fixture: &str) -> (PathBuf, PathBuf) {
    let dir = ts::out_dir("cli").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join(fixture);
    std::fs::copy(ts::fixture(fixture).path(), &input).unwrap();
    (dir, input)
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    v.sort();
    v
}

#[test]
fn probe_json_describes_tracks() {
    let o = converso(&["probe", "--json", ts::fixture("mp4_h264_aac_2tracks.mp4").path().to_str().unwrap()]);
    assert_eq!(code(&o), 0);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["container"], "mp4");
    let audio: Vec<_> = v["tracks"].as_array().unwrap().iter().filter(|t| t["kind"] == "audio").collect();
    assert_eq!(audio.len(), 2);
    assert_eq!(audio[1]["language"], "spa");
    assert_eq!(audio[1]["sampleRate"], 48000);
    assert_eq!(audio[0]["default"], true);
}

#[test]
fn probe_text_lists_audio_tracks() {
    let o = converso(&["probe", ts::fixture("webm_vp9_opus.webm").path().to_str().unwrap()]);
    assert_eq!(code(&o), 0);
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.contains("container: webm"), "{text}");
    assert!(text.contains("audio opus, 2 ch, 48000 Hz") && text.contains("[audio track 0]"), "{text}");
}

#[test]
fn extract_names_the_output_after_the_input_and_refuses_to_overwrite() {
    let (dir, input) = workdir("naming", "mp4_h264_aac_stereo44k.mp4");
    let o = converso(&["extract", input.to_str().unwrap(), "-f", "aac"]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("lossless copy"));
    let out = dir.join("mp4_h264_aac_stereo44k.aac");
    assert_eq!(ts::ffprobe(&out).codec, "aac");
    let before = std::fs::read(&out).unwrap();
    let o = converso(&["extract", input.to_str().unwrap(), "-f", "aac"]);
    assert_eq!(code(&o), 6);
    assert!(String::from_utf8_lossy(&o.stderr).contains("already exists"));
    assert_eq!(std::fs::read(&out).unwrap(), before);
    assert_eq!(code(&converso(&["extract", input.to_str().unwrap(), "-f", "aac", "-y"])), 0);
    assert_eq!(files_in(&dir), ["mp4_h264_aac_stereo44k.aac", "mp4_h264_aac_stereo44k.mp4"]);
}

#[test]
fn exit_codes_carry_the_error_code() {
    let (dir, _) = workdir("codes", "mp4_h264_aac_stereo44k.mp4");
    let f = |name: &str| ts::fixture(name).path().to_str().unwrap().to_string();
    let out = dir.join("out.wav");
    let out = out.to_str().unwrap();
    for (args, want, says) in [
        (vec!["extract", &f("mp4_h264_noaudio.mp4"), "-f", "wav", "-o", out], 3, "INVALID_VIDEO"),
        (vec!["extract", &f("webm_vp9_opus.webm"), "-f", "ogg", "-b", "600k", "-o", out], 4, "32k to 500k"),
        (vec!["extract", &f("webm_vp9_opus.webm"), "-f", "mp3", "-b", "999k", "-o", out], 4, "32k to 320k"),
        (vec!["extract", &f("broken_truncated_half_faststart.mp4"), "-f", "wav", "-o", out], 5, "EXTRACTION_FAILED"),
        (vec!["extract", "/nonexistent/video.mp4", "-f", "wav", "-o", out], 6, "cannot read"),
        (vec!["extract", &f("webm_vp9_opus.webm"), "-f", "wma"], 2, "mp3, aac"),
        (vec!["extract", &f("webm_vp9_opus.webm"), "-f", "opus", "-b", "fast", "-o", out], 4, "output.bitrate"),
    ] {
        let o = converso(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(code(&o), want, "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    // The failed runs left nothing behind, not even a partial file.
    assert_eq!(files_in(&dir), ["mp4_h264_aac_stereo44k.mp4"]);
}

#[test]
fn stdout_and_stdin_pipes() {
    let (dir, input) = workdir("pipes", "mkv_h264_flac.mkv");
    let file_out = dir.join("a.wav");
    assert_eq!(
        code(&converso(&["extract", input.to_str().unwrap(), "-f", "wav", "-o", file_out.to_str().unwrap()])),
        0
    );
    let piped = converso(&["extract", input.to_str().unwrap(), "-f", "wav", "-o", "-"]);
    assert_eq!(code(&piped), 0);
    let file_bytes = std::fs::read(&file_out).unwrap();
    // Same samples; the piped header cannot be patched, so it says "size unknown".
    assert_eq!(piped.stdout.len(), file_bytes.len());
    assert_eq!(piped.stdout[44..], file_bytes[44..]);
    assert_eq!(&piped.stdout[40..44], &[0xFF; 4]);
    let piped_path = dir.join("piped.wav");
    std::fs::write(&piped_path, &piped.stdout).unwrap();
    assert_eq!(ts::ffmpeg_decode(&piped_path, 0), ts::ffmpeg_decode(&file_out, 0));

    let mut child = Command::new(env!("CARGO_BIN_EXE_converso"))
        .args(["extract", "-", "-f", "wav", "-o", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let bytes = std::fs::read(&input).unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&bytes));
    let o = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(o.stdout, piped.stdout);
}

#[test]
fn extract_json_reports_plan_and_summary() {
    let (dir, input) = workdir("json", "webm_vp8_vorbis.webm");
    let out = dir.join("x.flac");
    let o = converso(&["extract", input.to_str().unwrap(), "-f", "flac", "-o", out.to_str().unwrap(), "--json"]);
    assert_eq!(code(&o), 0);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["plan"]["mode"], "transcode");
    assert_eq!(v["plan"]["reason"]["kind"], "codecDiffers");
    assert_eq!(v["plan"]["reason"]["from"], "vorbis");
    assert_eq!(v["summary"]["bytes"], std::fs::metadata(&out).unwrap().len());
    let d = v["summary"]["duration"].as_f64().unwrap();
    assert!((d - 10.0).abs() < 0.05, "{d}");
}

/// Ogg Vorbis from another codec: the quality level is a VBR quality, in the plan and in the
/// message on stderr.
#[test]
fn ogg_reencode_names_its_vbr_quality() {
    let (dir, input) = workdir("ogg", "webm_vp9_opus.webm");
    let out = dir.join("x.ogg");
    let o = converso(&[
        "extract",
        input.to_str().unwrap(),
        "-f",
        "ogg",
        "-q",
        "high",
        "-o",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!((&v["plan"]["mode"], &v["plan"]["vbrQuality"]), (&"transcode".into(), &6.into()));
    assert!(v["plan"].get("bitrate").is_none(), "{v}");
    let probed = ts::ffprobe(&out);
    assert_eq!((probed.codec.as_str(), probed.channels, probed.sample_rate), ("vorbis", 2, 48000));
    let o =
        converso(&["extract", input.to_str().unwrap(), "-f", "ogg", "-b", "96k", "-o", out.to_str().unwrap(), "-y"]);
    assert_eq!(code(&o), 0);
    assert!(String::from_utf8_lossy(&o.stderr).contains("(96 kbps)"), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn track_option_selects_the_audio_track() {
    let (dir, input) = workdir("track", "mp4_h264_aac_2tracks.mp4");
    let out = dir.join("spa.flac");
    let o = converso(&["extract", input.to_str().unwrap(), "-f", "flac", "-t", "1", "-o", out.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(ts::ffprobe(&out).sample_rate, 48000);
}

#[test]
fn normalize_and_preserve_metadata_flags() {
    let (dir, input) = workdir("options", "mp4_h264_aac_tagged.mp4");
    let out = dir.join("n.flac");
    let args = ["extract", input.to_str().unwrap(), "-f", "flac", "-o", out.to_str().unwrap()];
    let o = converso(&[&args[..], &["--normalize", "--preserve-metadata", "--json"]].concat());
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let gain = v["summary"]["normalization"]["gainDb"].as_f64().unwrap();
    assert!(gain < -5.0, "a loud source is turned down: {gain}");
    let (lufs, _) = ts::ffmpeg_loudness(&out);
    assert!((lufs + 16.0).abs() <= 0.5, "{lufs}");
    assert_eq!(ts::ffprobe_tags(&out).get("title").map(String::as_str), Some("Test Title"));
    // aac cannot carry tags: a note on stderr, and the extraction still succeeds.
    let aac = dir.join("t.aac");
    let o = converso(&[
        "extract",
        input.to_str().unwrap(),
        "-f",
        "aac",
        "-o",
        aac.to_str().unwrap(),
        "--preserve-metadata",
    ]);
    assert_eq!(code(&o), 0);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("note: aac output (ADTS) has no tag format"), "{err}");
}
