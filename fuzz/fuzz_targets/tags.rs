//! `preserveMetadata`'s tag writers, read back: the RIFF `INFO` chunk by the engine's WAV tag
//! reader, the ID3v2 tag by the `id3` crate, and the Vorbis comments as written. Each carries
//! exactly the cut, cleaned values.
#![no_main]

use converso_core::fuzzing::{riff_info_tags, tag_forms};
use converso_core::limits::MAX_TAG_BYTES;
use converso_core::Tags;
use id3::TagLike;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|fields: [Option<String>; 6]| {
    let [title, artist, album, date, comment, language] = fields;
    let forms = tag_forms(&Tags { title, artist, album, date, comment, language });
    let w = &forms.written;
    let values = [&w.title, &w.artist, &w.album, &w.date, &w.comment, &w.language];
    for v in values.into_iter().flatten() {
        assert!(!v.is_empty() && v.len() <= MAX_TAG_BYTES && !v.contains('\0'));
    }

    let names = ["TITLE", "ARTIST", "ALBUM", "DATE", "COMMENT", "LANGUAGE"];
    let expected: Vec<String> =
        names.iter().zip(values).filter_map(|(k, v)| Some(format!("{k}={}", v.as_ref()?))).collect();
    assert_eq!(forms.vorbis, expected);

    let mut wav = b"RIFF\0\0\0\0WAVE".to_vec();
    wav.extend_from_slice(&forms.riff_info);
    wav.extend_from_slice(b"data\0\0\0\0");
    assert_eq!(&riff_info_tags(&wav), w);

    let id3 = forms.id3v2;
    if w.is_empty() {
        assert!(id3.is_empty());
        return;
    }
    let tag = id3::Tag::read_from2(std::io::Cursor::new(&id3)).expect("the ID3 tag reads back");
    assert_eq!(tag.title(), w.title.as_deref());
    assert_eq!(tag.artist(), w.artist.as_deref());
    assert_eq!(tag.album(), w.album.as_deref());
    assert_eq!(tag.comments().next().map(|c| c.text.as_str()), w.comment.as_deref());
    assert_eq!(tag.get("TLAN").and_then(|f| f.content().text()), w.language.as_deref());
});
