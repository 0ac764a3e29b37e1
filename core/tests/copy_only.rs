//! The engine built without the `transcode` feature (`cargo test -p converso-core
//! --no-default-features`), against the `converso` command built with every feature: probes
//! describe inputs identically, stream copies are the same bytes (tags included), and every
//! plan that re-encodes is refused with `INVALID_OUTPUT`, its reason in the details.
//!
//! Inputs: every short fixture × every format, and bare ADTS, MP3, FLAC and WAV files with tags,
//! remuxed here by ffmpeg (`-c copy`, packets untouched) from the fixtures.

#![cfg(not(feature = "transcode"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use converso_core::{
    plan, probe, ErrorCode, ExtractOptions, Extraction, Mode, OutputFormat, SliceSource, TranscodeReason, VecSink,
};
use converso_test_support as ts;

const FORMATS: [OutputFormat; 6] = [
    OutputFormat::Aac,
    OutputFormat::Mp3,
    OutputFormat::Opus,
    OutputFormat::Ogg,
    OutputFormat::Flac,
    OutputFormat::Wav,
];

/// The `converso` command with every feature, built on first use (a no-op when up to date).
fn cli() -> &'static Path {
    static CLI: OnceLock<PathBuf> = OnceLock::new();
    CLI.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let out = Command::new(cargo)
            .args(["build", "-p", "converso-cli", "--locked", "--message-format=json-render-diagnostics"])
            .current_dir(ts::root())
            .output()
            .expect("cargo build -p converso-cli");
        assert!(out.status.success(), "cargo build -p converso-cli failed");
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find_map(|m| Some(PathBuf::from(m.get("executable")?.as_str()?)))
            .expect("the converso executable")
    })
}

/// The CLI's extraction of `input` as `format` (with `--preserve-metadata` when `tags`), or its
/// message (`converso: CODE: …`).
fn cli_extract(input: &Path, format: OutputFormat, tags: bool, name: &str) -> Result<Vec<u8>, String> {
    let out = ts::out_dir("copy-only").join(format!("{name}.cli.{}", format.extension()));
    let mut cmd = Command::new(cli());
    cmd.arg("extract").arg(input).args(["-f", format.as_str(), "-y", "-o"]).arg(&out);
    if tags {
        cmd.arg("--preserve-metadata");
    }
    let r = cmd.output().unwrap();
    match r.status.success() {
        true => Ok(std::fs::read(out).unwrap()),
        false => Err(String::from_utf8_lossy(&r.stderr).into_owned()),
    }
}

/// What the copy-only engine does with `input` as `format`, checked against the full build:
/// a copy gives the CLI's bytes, a re-encode is refused. Returns whether it copied.
fn check(input: &Path, format: OutputFormat, tags: bool, name: &str) -> bool {
    let bytes = std::fs::read(input).unwrap();
    let mut options = ExtractOptions::new(format);
    options.preserve_metadata = tags;
    let what = format!("{name} → {}", format.as_str());
    let Ok(info) = probe(SliceSource::new(bytes.clone())) else {
        return false; // unreadable inputs: the same code paths in both builds (tests/inputs.rs)
    };
    let planned = plan(&info, &options);
    let extraction = Extraction::new(SliceSource::new(bytes), &options, VecSink::default());
    match planned.map(|p| p.mode) {
        Err(e) => {
            assert_eq!(extraction.err(), Some(e), "{what}: the plan's error");
            false
        }
        Ok(Mode::Copy) => {
            let ours = extraction.and_then(|mut ex| ex.run(|_| {}).map(|_| ex.into_sink().bytes));
            match (ours, cli_extract(input, format, tags, name)) {
                (Ok(ours), Ok(full)) => assert!(ours == full, "{what}: not the full build's bytes"),
                (Err(e), Err(full)) => assert!(full.contains(e.code.as_str()), "{what}: {e}, the full build: {full}"),
                (ours, full) => panic!("{what}: {:?}, the full build: {:?}", ours.err(), full.err()),
            }
            true
        }
        Ok(Mode::Transcode { reason }) => {
            let e = extraction.err().unwrap_or_else(|| panic!("{what}: a re-encode was not refused"));
            assert_refused(&e, &reason, &what);
            false
        }
    }
}

fn assert_refused(e: &converso_core::Error, reason: &TranscodeReason, what: &str) {
    assert_eq!(e.code, ErrorCode::InvalidOutput, "{what}: {e}");
    assert!(e.message.contains("needs re-encoding"), "{what}: {}", e.message);
    assert!(e.message.ends_with("which the copy-only build of converso does not include"), "{what}: {}", e.message);
    assert!(e.message.contains(&reason.describe()), "{what}: {}", e.message);
    let details: serde_json::Value = serde_json::from_str(e.details.as_deref().unwrap()).unwrap();
    assert_eq!(details, serde_json::json!({ "reason": reason, "build": "copy-only" }), "{what}");
}

#[test]
fn every_fixture_and_format_copies_as_the_full_build_or_is_refused() {
    let mut copies = 0;
    for fx in ts::fixtures() {
        for format in FORMATS {
            copies += usize::from(check(&fx.path(), format, false, &fx.file));
        }
    }
    // Every codec the copy paths take: AAC, MP3, Opus, Vorbis, FLAC and PCM fixtures.
    assert!(copies >= 15, "{copies} copies");
}

#[test]
fn tagged_copies_are_the_full_builds() {
    let ogg = ts::fixture("ogg_vorbis_tagged.ogg").path();
    assert!(check(&ogg, OutputFormat::Ogg, true, "ogg_vorbis_tagged"));
    for format in [OutputFormat::Opus, OutputFormat::Aac] {
        let src =
            ts::fixture(if format == OutputFormat::Opus { "webm_vp9_opus.webm" } else { "mp4_h264_aac_tagged.mp4" });
        assert!(check(&src.path(), format, true, &src.file));
    }
}

/// Bare audio files (what `What it reads` lists besides containers), tagged: probed as the CLI
/// probes them, copied to their own format as the CLI copies them, refused otherwise.
#[test]
fn bare_audio_files_probe_and_copy_as_the_full_build() {
    for (fixture, ext, format) in [
        ("mp4_h264_aac_stereo44k.mp4", "aac", OutputFormat::Aac),
        ("mkv_h264_mp3.mkv", "mp3", OutputFormat::Mp3),
        ("mkv_h264_flac.mkv", "flac", OutputFormat::Flac),
        ("mov_h264_pcm_s16le.mov", "wav", OutputFormat::Wav),
    ] {
        let src = tagged_remux(fixture, ext);
        let info = probe(SliceSource::new(std::fs::read(&src).unwrap())).unwrap();
        let r = Command::new(cli()).arg("probe").arg(&src).arg("--json").output().unwrap();
        assert!(r.status.success(), "converso probe {}", src.display());
        let cli_info: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
        assert_eq!(serde_json::to_value(&info).unwrap(), cli_info, "{ext}: the probe");
        if ext != "aac" {
            assert!(info.tags.title.is_some(), "{ext}: tags read");
        }
        let name = format!("bare-{ext}");
        assert!(check(&src, format, true, &name), "{ext}: a copy");
        let other = if format == OutputFormat::Wav { OutputFormat::Flac } else { OutputFormat::Wav };
        assert!(!check(&src, other, true, &name), "{ext} → {}: refused", other.as_str());
    }
}

/// `fixture`'s audio remuxed by ffmpeg without re-encoding into a bare `ext` file, tagged.
fn tagged_remux(fixture: &str, ext: &str) -> PathBuf {
    let out = ts::out_dir("copy-only").join(format!("src-{fixture}.{ext}"));
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-v", "error", "-nostdin", "-y", "-i"]).arg(ts::fixture(fixture).path());
    cmd.args(["-map", "0:a:0", "-c", "copy", "-map_metadata", "-1"]);
    for tag in ["title=Bare Title", "artist=Bare Artist", "date=2022", "comment=Bare comment"] {
        cmd.args(["-metadata", tag]);
    }
    let status = cmd.arg(&out).status().expect("ffmpeg is needed");
    assert!(status.success(), "ffmpeg remux of {fixture} to {ext}");
    out
}

#[test]
fn options_that_change_samples_are_refused_on_a_copyable_source() {
    let src = ts::fixture("mp4_h264_aac_stereo44k.mp4").path();
    let bytes = std::fs::read(&src).unwrap();
    for json in [r#"{"format":"aac","normalize":true}"#, r#"{"format":"aac","bitrate":"64k"}"#] {
        let options = ExtractOptions::from_json(json).unwrap();
        let info = probe(SliceSource::new(bytes.clone())).unwrap();
        let Mode::Transcode { reason } = plan(&info, &options).unwrap().mode else {
            panic!("{json}: the plan re-encodes");
        };
        let e = Extraction::new(SliceSource::new(bytes.clone()), &options, VecSink::default()).err().unwrap();
        assert_refused(&e, &reason, json);
        assert!(e.message.starts_with("mp4 aac → aac needs re-encoding"), "{}", e.message);
    }
}
