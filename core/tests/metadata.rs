//! `preserveMetadata`: the source's title, artist, album, date, comment and language end up in
//! the output's own tag form, as ffprobe (the oracle) reads it, for re-encodes and stream copies;
//! without the option no tag is written; `aac` output says in the plan that it cannot carry
//! tags.
//!
//! Sources: the two tagged fixtures (tags of an MP4, and Vorbis comments of an Ogg file with a
//! non-ASCII title) for re-encodes; for stream copies, untagged fixtures remuxed here by ffmpeg
//! (`-c copy`, packets untouched) into the native containers with tags added, because a copy
//! needs a source already in the output's codec.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use converso_core::{probe, ExtractOptions, Extraction, Mode, OutputFormat, Plan, SliceSource, VecSink};
use converso_test_support as ts;

const KEYS: [&str; 6] = ["title", "artist", "album", "date", "comment", "language"];

/// The tags of the MP4 fixture, with the language of its audio track.
fn mp4_tags() -> BTreeMap<&'static str, &'static str> {
    BTreeMap::from([
        ("title", "Test Title"),
        ("artist", "Test Artist"),
        ("album", "Test Album"),
        ("date", "2024"),
        ("comment", "Test comment"),
        ("language", "eng"),
    ])
}

/// The Vorbis comments of the Ogg fixture.
fn ogg_tags() -> BTreeMap<&'static str, &'static str> {
    BTreeMap::from([
        ("title", "Tagged Ogg – Título"),
        ("artist", "Ogg Artist"),
        ("album", "Ogg Album"),
        ("date", "2023-05-01"),
        ("comment", "Ogg comment"),
        ("language", "spa"),
    ])
}

fn extract(name: &str, input: &Path, format: OutputFormat, preserve: bool) -> (Plan, PathBuf) {
    let mut o = ExtractOptions::new(format);
    o.preserve_metadata = preserve;
    let bytes = std::fs::read(input).unwrap();
    let mut ex = Extraction::new(SliceSource::new(bytes), &o, VecSink::default()).unwrap();
    let plan = ex.plan().clone();
    ex.run(|_| {}).unwrap();
    let out = ts::out_dir("metadata").join(format!("{name}.{}", format.extension()));
    std::fs::write(&out, ex.into_sink().bytes).unwrap();
    (plan, out)
}

/// The six tags as ffprobe reads them from `path` (absent ones left out).
fn six(path: &Path) -> BTreeMap<String, String> {
    ts::ffprobe_tags(path).into_iter().filter(|(k, _)| KEYS.contains(&k.as_str())).collect()
}

fn assert_tags(path: &Path, want: &BTreeMap<&str, &str>, what: &str) {
    let got = six(path);
    let want: BTreeMap<String, String> = want.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    assert_eq!(got, want, "{what}: ffprobe's tags");
    // The output still decodes: the tags did not break the stream.
    assert!(!ts::ffmpeg_decode(path, 0).is_empty(), "{what}: no audio");
    // And converso reads back what it wrote.
    let info = probe(SliceSource::new(std::fs::read(path).unwrap())).unwrap();
    let t = &info.tags;
    let read = [&t.title, &t.artist, &t.album, &t.date, &t.comment, &t.language];
    for (k, v) in KEYS.iter().zip(read) {
        // RIFF INFO and Vorbis comments carry the language as a tag; ID3v2's TLAN too.
        assert_eq!(v.as_deref(), want.get(*k).map(String::as_str), "{what}: {k} read back by converso");
    }
}

#[test]
fn reencodes_carry_the_tags_in_each_format() {
    let sources = [("mp4", ts::fixture("mp4_h264_aac_tagged.mp4").path(), mp4_tags())];
    let ogg = [("ogg", ts::fixture("ogg_vorbis_tagged.ogg").path(), ogg_tags())];
    for (name, path, want) in sources.into_iter().chain(ogg) {
        for format in [OutputFormat::Mp3, OutputFormat::Opus, OutputFormat::Flac, OutputFormat::Wav, OutputFormat::Ogg]
        {
            // The Ogg fixture is Vorbis already: to ogg it is a copy (see below).
            if name == "ogg" && format == OutputFormat::Ogg {
                continue;
            }
            let (plan, out) = extract(&format!("{name}-tagged"), &path, format, true);
            assert!(matches!(plan.mode, Mode::Transcode { .. }), "{name} -> {format:?}");
            assert!(plan.notes.is_empty(), "{:?}", plan.notes);
            assert_tags(&out, &want, &format!("{name} -> {}", format.as_str()));
        }
    }
}

#[test]
fn ogg_stream_copy_gets_its_own_comment_header() {
    let src = ts::fixture("ogg_vorbis_tagged.ogg").path();
    let (plan, out) = extract("ogg-copy-tagged", &src, OutputFormat::Ogg, true);
    assert_eq!(plan.mode, Mode::Copy);
    assert_tags(&out, &ogg_tags(), "ogg copy");
    // Without the option, the source's comments are not carried over either.
    let (_, plain) = extract("ogg-copy-plain", &src, OutputFormat::Ogg, false);
    assert!(six(&plain).is_empty(), "{:?}", six(&plain));
    assert_eq!(ts::ffmpeg_decode(&out, 0), ts::ffmpeg_decode(&plain, 0));
}

/// `fixture`'s audio remuxed by ffmpeg without re-encoding into `ext`, with the MP4 fixture's
/// tags: a tagged source in the output's own codec.
fn tagged_remux(fixture: &str, ext: &str) -> PathBuf {
    let out = ts::out_dir("metadata").join(format!("src-{fixture}.{ext}"));
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-v", "error", "-nostdin", "-y", "-i"]).arg(ts::fixture(fixture).path());
    cmd.args(["-map", "0:a:0", "-c", "copy", "-map_metadata", "-1"]);
    for (k, v) in mp4_tags() {
        cmd.args(["-metadata", &format!("{k}={v}")]);
    }
    let status = cmd.arg(&out).status().expect("ffmpeg is needed");
    assert!(status.success(), "ffmpeg could not remux {fixture}");
    out
}

#[test]
fn stream_copies_carry_the_tags_in_each_format() {
    for (fixture, ext, format) in [
        ("mkv_h264_mp3.mkv", "mp3", OutputFormat::Mp3),
        ("mkv_h264_flac.mkv", "flac", OutputFormat::Flac),
        ("webm_vp9_opus.webm", "opus", OutputFormat::Opus),
        ("mov_h264_pcm_s16le.mov", "wav", OutputFormat::Wav),
    ] {
        let src = tagged_remux(fixture, ext);
        let (plan, out) = extract(&format!("copy-{ext}"), &src, format, true);
        assert_eq!(plan.mode, Mode::Copy, "{fixture} -> {ext}");
        assert_tags(&out, &mp4_tags(), &format!("{fixture} remuxed -> {ext} copy"));
        // The same audio as an untagged copy.
        let (_, plain) = extract(&format!("copy-{ext}-plain"), &src, format, false);
        assert_eq!(ts::ffmpeg_decode(&out, 0), ts::ffmpeg_decode(&plain, 0), "{ext}");
    }
}

#[test]
fn off_by_default_no_tags_are_written() {
    assert!(!ExtractOptions::new(OutputFormat::Mp3).preserve_metadata);
    let src = ts::fixture("mp4_h264_aac_tagged.mp4").path();
    for format in [OutputFormat::Mp3, OutputFormat::Opus, OutputFormat::Flac, OutputFormat::Wav, OutputFormat::Ogg] {
        let (plan, out) = extract("mp4-untagged", &src, format, false);
        assert!(plan.notes.is_empty());
        assert!(six(&out).is_empty(), "{format:?}: {:?}", six(&out));
    }
}

#[test]
fn aac_output_has_no_tag_form_and_the_plan_says_so() {
    let src = ts::fixture("mp4_h264_aac_tagged.mp4").path();
    let (plan, out) = extract("mp4-tagged", &src, OutputFormat::Aac, true);
    assert_eq!(plan.mode, Mode::Copy);
    assert_eq!(plan.notes.len(), 1, "{:?}", plan.notes);
    assert!(plan.notes[0].contains("no tag format"), "{:?}", plan.notes);
    assert!(six(&out).is_empty());
    let json = serde_json::to_value(&plan).unwrap();
    assert_eq!(json["notes"][0], plan.notes[0]);
    // An input without tags gets a note too; without the option, no note at all.
    let untagged = ts::fixture("mp4_h264_aac_stereo44k.mp4").path();
    let (plan, _) = extract("untagged", &untagged, OutputFormat::Flac, true);
    assert!(plan.notes[0].contains("no title"), "{:?}", plan.notes);
    let (plan, _) = extract("untagged", &untagged, OutputFormat::Flac, false);
    assert!(plan.notes.is_empty() && serde_json::to_value(&plan).unwrap().get("notes").is_none());
}
