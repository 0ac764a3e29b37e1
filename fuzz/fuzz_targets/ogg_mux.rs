//! The Ogg stream copy (Opus or Vorbis packets → pages), read back with the `ogg` crate: every
//! packet comes back whole and in order, granule positions never go back, and the stream ends.
//! Input: a choice byte (bit 0: Vorbis, else Opus; bit 1: cap the last granule), then pieces
//! (see `pieces`): the codec's header data, then packets, each behind a byte of end padding.
#![no_main]

use converso_core::fuzzing::{ogg_stream, OggCodec};
use converso_fuzz::pieces;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&choice, rest)) = data.split_first() else {
        return;
    };
    let p = pieces(rest);
    let Some((extra, packets)) = p.split_first() else {
        return;
    };
    let packets: Vec<(&[u8], u32)> =
        packets.iter().filter_map(|p| p.split_first()).map(|(&trim, data)| (data, u32::from(trim))).collect();
    let codec = if choice & 1 == 1 { OggCodec::Vorbis } else { OggCodec::Opus };
    let end_limit = (choice & 2 != 0).then(|| u64::from(choice >> 2) * 120);
    let Ok(stream) = ogg_stream(codec, extra, &packets, end_limit) else {
        return;
    };
    let mut reader = ogg::reading::PacketReader::new(std::io::Cursor::new(stream));
    let mut read = Vec::new();
    let mut last_granule = 0;
    let mut ended = false;
    while let Some(p) = reader.read_packet().expect("the stream reads back") {
        assert!(!ended, "a packet after the end of the stream");
        ended = p.last_in_stream();
        if p.last_in_page() {
            assert!(p.absgp_page() >= last_granule, "granule went back");
            last_granule = p.absgp_page();
        }
        read.push(p.data);
    }
    let headers = match codec {
        OggCodec::Opus => 2,
        OggCodec::Vorbis => 3,
    };
    let written: Vec<&[u8]> = packets.iter().map(|p| p.0).filter(|d| !d.is_empty()).collect();
    assert_eq!(read.len(), headers + written.len());
    assert!(read[headers..].iter().zip(&written).all(|(r, w)| r == w), "packets changed");
    assert_eq!(ended, !written.is_empty());
});
