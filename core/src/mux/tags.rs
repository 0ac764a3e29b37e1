//! The source's tags (`preserveMetadata`) in each output's own form.
//!
//! | output | form | title | artist | album | date | comment | language |
//! |---|---|---|---|---|---|---|---|
//! | `mp3` | ID3v2.4 tag at the start | `TIT2` | `TPE1` | `TALB` | `TDRC` | `COMM` | `TLAN` |
//! | `ogg`, `opus`, `flac` | Vorbis comments (comment header, `OpusTags`, `VORBIS_COMMENT` block) | `TITLE` | `ARTIST` | `ALBUM` | `DATE` | `COMMENT` | `LANGUAGE` |
//! | `wav` | `LIST`/`INFO` chunk before the samples | `INAM` | `IART` | `IPRD` | `ICRD` | `ICMT` | `ILNG` |
//! | `aac` | none: ADTS has no place for tags (the plan says so) | | | | | | |
//!
//! All three are a few length-prefixed strings, written here. The ID3v2.4 tag is six frames in
//! UTF-8 (text frames, and `COMM` with its language): the `id3` crate wrote it before, but took
//! some 50 KB of code into the browser package with `flate2` for compressed frames never
//! written; the tests check the bytes against it. `codec::vorbis` already writes the comment list
//! for the Ogg headers; no RIFF crate writes to a stream without `Seek`.
//! `ILNG` is not among the `INFO` ids of the original RIFF specification (which has no language
//! id); it is the one ffmpeg, symphonia and exiftool read and write for a language. `INFO`
//! strings are written as UTF-8, as ffmpeg writes and reads them.
//!
//! Language is the container's language tag, else the chosen track's language. Each value is cut
//! to [`MAX_TAG_BYTES`] (at a character boundary), so headers that are patched at the end stay
//! near the start of the output.

use crate::info::{MediaInfo, Tags, TrackInfo};
use crate::limits::MAX_TAG_BYTES;

/// The tags to write for `track` of `info`: the container's, with the track's language when the
/// container has none. Values are cut to [`MAX_TAG_BYTES`]; empty ones are dropped.
pub(crate) fn of_source(info: &MediaInfo, track: &TrackInfo) -> Tags {
    let t = &info.tags;
    let clean = |v: &Option<String>| v.as_deref().map(cut).filter(|s| !s.is_empty()).map(str::to_string);
    Tags {
        title: clean(&t.title),
        artist: clean(&t.artist),
        album: clean(&t.album),
        date: clean(&t.date),
        comment: clean(&t.comment),
        language: clean(&t.language).or_else(|| clean(&track.language)),
    }
}

/// `s` cut to at most [`MAX_TAG_BYTES`] bytes, at a character boundary, without a NUL.
fn cut(s: &str) -> &str {
    let s = s.split('\0').next().unwrap_or_default();
    let mut end = s.len().min(MAX_TAG_BYTES);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Each set tag with its name in one format's vocabulary, in a fixed order.
fn fields<'a>(t: &'a Tags, names: [&'a str; 6]) -> impl Iterator<Item = (&'a str, &'a str)> {
    let values = [&t.title, &t.artist, &t.album, &t.date, &t.comment, &t.language];
    names.into_iter().zip(values).filter_map(|(n, v)| Some((n, v.as_deref()?)))
}

/// `KEY=value` Vorbis comments (Ogg Vorbis, Ogg Opus, FLAC).
pub(crate) fn vorbis_comments(t: &Tags) -> Vec<String> {
    fields(t, ["TITLE", "ARTIST", "ALBUM", "DATE", "COMMENT", "LANGUAGE"]).map(|(k, v)| format!("{k}={v}")).collect()
}

/// An ID3v2.4 tag (no padding, no unsynchronisation), or nothing when no tag is set.
pub(crate) fn id3v2(t: &Tags) -> Vec<u8> {
    if t.is_empty() {
        return Vec::new();
    }
    let mut frames = Vec::new();
    for (id, v) in fields(t, ["TIT2", "TPE1", "TALB", "TDRC", "COMM", "TLAN"]) {
        let mut body = vec![3]; // UTF-8
        if id == "COMM" {
            // The comment's language field takes an ISO 639-2 code; "und" when there is none.
            // Then an empty description, ended by a NUL.
            let lang = t.language.as_deref().filter(|l| l.len() == 3 && l.bytes().all(|b| b.is_ascii_alphabetic()));
            body.extend_from_slice(lang.unwrap_or("und").to_ascii_lowercase().as_bytes());
            body.push(0);
        }
        body.extend_from_slice(v.as_bytes());
        frames.extend_from_slice(id.as_bytes());
        frames.extend_from_slice(&syncsafe(body.len()));
        frames.extend_from_slice(&[0, 0]); // frame flags
        frames.extend_from_slice(&body);
    }
    let mut tag = b"ID3\x04\x00\x00".to_vec(); // version 2.4.0, no flags
    tag.extend_from_slice(&syncsafe(frames.len()));
    tag.extend_from_slice(&frames);
    tag
}

/// An ID3v2 size: 28 bits, seven to a byte (values are cut, so a tag stays far below 256 MB).
fn syncsafe(n: usize) -> [u8; 4] {
    let n = n as u32;
    [(n >> 21) as u8 & 0x7f, (n >> 14) as u8 & 0x7f, (n >> 7) as u8 & 0x7f, n as u8 & 0x7f]
}

/// A RIFF `LIST` chunk of type `INFO`, or nothing when no tag is set.
pub(crate) fn riff_info(t: &Tags) -> Vec<u8> {
    let mut body = b"INFO".to_vec();
    for (id, v) in fields(t, ["INAM", "IART", "IPRD", "ICRD", "ICMT", "ILNG"]) {
        let len = v.len() + 1; // with the terminating NUL
        body.extend_from_slice(id.as_bytes());
        body.extend_from_slice(&(len as u32).to_le_bytes());
        body.extend_from_slice(v.as_bytes());
        body.push(0);
        if len % 2 == 1 {
            body.push(0); // chunks are word-aligned
        }
    }
    if body.len() == 4 {
        return Vec::new();
    }
    let mut chunk = b"LIST".to_vec();
    chunk.extend_from_slice(&(body.len() as u32).to_le_bytes());
    chunk.extend_from_slice(&body);
    chunk
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags() -> Tags {
        Tags {
            title: Some("Tïtle".into()),
            artist: Some("Artist".into()),
            album: None,
            date: Some("2024".into()),
            comment: Some("A comment".into()),
            language: Some("eng".into()),
        }
    }

    #[test]
    fn vorbis_comments_in_order() {
        assert_eq!(
            vorbis_comments(&tags()),
            ["TITLE=Tïtle", "ARTIST=Artist", "DATE=2024", "COMMENT=A comment", "LANGUAGE=eng"]
        );
        assert!(vorbis_comments(&Tags::default()).is_empty());
    }

    #[test]
    fn riff_info_chunks_are_word_aligned() {
        let c = riff_info(&tags());
        assert_eq!(&c[..4], b"LIST");
        assert_eq!(u32::from_le_bytes(c[4..8].try_into().unwrap()) as usize, c.len() - 8);
        assert_eq!(&c[8..12], b"INFO");
        // "Tïtle" is 6 bytes: 7 with the NUL, padded to 8.
        assert_eq!(&c[12..16], b"INAM");
        assert_eq!(u32::from_le_bytes(c[16..20].try_into().unwrap()), 7);
        assert_eq!(&c[20..28], b"T\xc3\xaftle\0\0");
        assert_eq!(&c[28..32], b"IART");
        assert!(c.len().is_multiple_of(2));
        assert!(riff_info(&Tags::default()).is_empty());
    }

    /// The bytes the `id3` crate writes for the same frames.
    fn id3_crate(t: &Tags, comment_lang: &str) -> Vec<u8> {
        use id3::frame::{Comment, Content, Frame};
        use id3::TagLike;
        let mut tag = id3::Tag::new();
        for (id, v) in fields(t, ["TIT2", "TPE1", "TALB", "TDRC", "COMM", "TLAN"]) {
            tag.add_frame(match id {
                "COMM" => Frame::with_content(
                    "COMM",
                    Content::Comment(Comment { lang: comment_lang.into(), description: String::new(), text: v.into() }),
                ),
                _ => Frame::text(id, v),
            });
        }
        let mut out = Vec::new();
        tag.write_to(&mut out, id3::Version::Id3v24).unwrap();
        out
    }

    #[test]
    fn id3v2_is_what_the_id3_crate_writes() {
        assert_eq!(id3v2(&tags()), id3_crate(&tags(), "eng"));
        let long = Tags { title: Some("é".repeat(MAX_TAG_BYTES / 2)), language: Some("FR".into()), ..tags() };
        assert_eq!(id3v2(&long), id3_crate(&long, "und"));
        let upper = Tags { artist: None, language: Some("DEU".into()), ..tags() };
        assert_eq!(id3v2(&upper), id3_crate(&upper, "deu"));
    }

    #[test]
    fn id3v2_reads_back() {
        let bytes = id3v2(&tags());
        assert_eq!(&bytes[..4], b"ID3\x04");
        let tag = id3::Tag::read_from2(std::io::Cursor::new(&bytes)).unwrap();
        use id3::TagLike;
        assert_eq!(tag.title(), Some("Tïtle"));
        assert_eq!(tag.artist(), Some("Artist"));
        assert_eq!(tag.get("TLAN").and_then(|f| f.content().text()), Some("eng"));
        let comment = tag.comments().next().unwrap();
        assert_eq!((comment.lang.as_str(), comment.text.as_str()), ("eng", "A comment"));
        assert!(id3v2(&Tags::default()).is_empty());
    }

    #[test]
    fn values_are_cut_at_a_character_boundary_and_language_falls_back_to_the_track() {
        let long = "é".repeat(MAX_TAG_BYTES);
        assert_eq!(cut(&long).len(), MAX_TAG_BYTES);
        assert_eq!(cut("a\0b"), "a");
        let info = MediaInfo {
            container: crate::info::Container::Mp4,
            size: 1,
            duration: None,
            tracks: Vec::new(),
            tags: Tags { title: Some(String::new()), ..Tags::default() },
        };
        let track = TrackInfo {
            index: 0,
            audio_index: Some(0),
            kind: crate::info::TrackKind::Audio,
            codec: "aac".into(),
            profile: None,
            channels: None,
            sample_rate: None,
            bits_per_sample: None,
            bitrate: None,
            duration: None,
            language: Some("spa".into()),
            default: true,
        };
        let t = of_source(&info, &track);
        assert_eq!((t.title, t.language.as_deref()), (None, Some("spa")));
    }
}
