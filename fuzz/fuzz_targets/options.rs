//! The API's `output` object: `ExtractOptions::from_json` and `plan` for a track described by
//! the first bytes. Options that parse serialise and parse back the same, and any plan is for
//! the format asked, of an audio track. Input: 8 bytes of track description, then the JSON.
#![no_main]

use converso_core::{plan, AudioCodec, Container, ExtractOptions, MediaInfo, Tags, TrackInfo, TrackKind};
use libfuzzer_sys::fuzz_target;

const PROFILES: [Option<&str>; 4] = [None, Some("lc"), Some("he"), Some("f32le")];

fn media(d: &[u8; 8]) -> MediaInfo {
    let codec = AudioCodec::ALL[usize::from(d[0]) % AudioCodec::ALL.len()];
    let track = TrackInfo {
        index: 0,
        audio_index: Some(0),
        kind: if d[1] & 0x80 == 0 { TrackKind::Audio } else { TrackKind::Video },
        codec: codec.as_str().into(),
        profile: PROFILES[usize::from(d[1]) & 3].map(str::to_string),
        channels: Some(u32::from(d[2] % 40)).filter(|&c| c > 0),
        sample_rate: Some(u32::from(u16::from_le_bytes([d[3], d[4]])) * 8).filter(|&r| r > 0),
        bits_per_sample: Some(u32::from(d[5] % 40)).filter(|&b| b > 0),
        bitrate: Some(u32::from(d[6]) * 4000).filter(|&b| b > 0),
        duration: Some(f64::from(d[7])),
        language: (d[7] & 1 == 1).then(|| "eng".into()),
        default: d[1] & 0x40 != 0,
    };
    let tags = Tags { title: (d[7] & 2 == 2).then(|| "t".into()), ..Tags::default() };
    MediaInfo { container: Container::Mp4, size: 1, duration: None, tracks: vec![track], tags }
}

fuzz_target!(|data: &[u8]| {
    let Some((head, json)) = data.split_first_chunk::<8>() else {
        return;
    };
    let Ok(json) = std::str::from_utf8(json) else {
        return;
    };
    let Ok(options) = ExtractOptions::from_json(json) else {
        return;
    };
    let again = serde_json::to_string(&options).expect("options serialise");
    assert_eq!(ExtractOptions::from_json(&again).expect("serialised options parse"), options);
    if let Ok(p) = plan(&media(head), &options) {
        assert_eq!(p.format, options.format);
        assert_eq!(p.track.kind, TrackKind::Audio);
    }
});
