//! Entry points into the engine's hand-written parsers and writers for the fuzz targets in
//! `fuzz/` (built only with the `fuzzing` feature; not a stable API). Each is a thin wrapper
//! over crate-private code, so the targets reach it directly instead of only through a whole
//! container.

use crate::codec::aac::AdtsConfig;
use crate::codec::{opus, vorbis};
use crate::error::Result;
use crate::info::{MediaInfo, Tags, TrackInfo};
use crate::mux::ogg::{Granules, Ogg};
use crate::mux::{flac, tags, PacketMuxer};
use crate::sink::VecSink;
use crate::source::SliceSource;
use crate::transcode::encode::flac::FlacEncoder;
use crate::transcode::encode::Encoder;

/// The ADTS header of a `payload_len`-byte frame for an AudioSpecificConfig (`rate` and
/// `channels` stand in for a missing one).
pub fn adts_header(asc: &[u8], rate: u32, channels: u32, payload_len: usize) -> Result<[u8; 7]> {
    AdtsConfig::from_asc(asc, rate, channels)?.header(payload_len)
}

/// MP4 `dOps` (behind "OpusHead") rewritten as an Ogg OpusHead.
pub fn opus_head_from_dops(extra: &[u8]) -> Option<Vec<u8>> {
    opus::head_from_mp4_dops(extra)
}

/// The pre-skip of a valid OpusHead.
pub fn opus_pre_skip(head: &[u8]) -> Option<u16> {
    opus::pre_skip(head)
}

/// Samples at 48 kHz in an Opus packet, from its TOC.
pub fn opus_packet_samples(packet: &[u8]) -> Option<u32> {
    opus::packet_samples(packet)
}

/// The three Vorbis headers of codec private data (identification, comment, setup).
pub fn vorbis_headers(extra: &[u8]) -> Result<[Vec<u8>; 3]> {
    let h = vorbis::split_headers(extra)?;
    Ok([h.ident, h.comment, h.setup])
}

/// The block size of each Vorbis audio packet, by the headers in `extra`.
pub fn vorbis_block_sizes(extra: &[u8], packets: &[&[u8]]) -> Result<Vec<Option<u32>>> {
    let sizes = vorbis::BlockSizes::new(&vorbis::split_headers(extra)?)?;
    Ok(packets.iter().map(|p| sizes.of_packet(p)).collect())
}

/// The codec whose granule positions an Ogg stream follows.
#[derive(Clone, Copy, Debug)]
pub enum OggCodec {
    /// Opus: `extra` is the OpusHead, granules at 48 kHz.
    Opus,
    /// Vorbis: `extra` is the codec private data, split into the three headers.
    Vorbis,
}

/// An Ogg stream as the stream copy writes it: the headers, then `packets`, each with the
/// frames the source marks as padding at its end; `end_limit` caps the last granule.
pub fn ogg_stream(codec: OggCodec, extra: &[u8], packets: &[(&[u8], u32)], end_limit: Option<u64>) -> Result<Vec<u8>> {
    let (headers, granules, rate) = match codec {
        OggCodec::Opus => (vec![extra.to_vec(), opus::tags_packet(&[])], Granules::Opus, 48_000),
        OggCodec::Vorbis => {
            let h = vorbis::split_headers(extra)?;
            let sizes = vorbis::BlockSizes::new(&h)?;
            let rate = h.ident.get(12..16).map_or(0, |r| u32::from_le_bytes([r[0], r[1], r[2], r[3]]));
            (vec![h.ident, h.comment, h.setup], Granules::Vorbis { sizes, prev: None }, rate)
        }
    };
    let mut sink = VecSink::default();
    let mut ogg = Ogg::begin(&mut sink, &headers, granules, rate, end_limit)?;
    for &(data, trim_end) in packets {
        ogg.write_packet(&mut sink, data)?;
        ogg.trim_end(u64::from(trim_end));
    }
    ogg.finish(&mut sink)?;
    Ok(sink.bytes)
}

/// A FLAC stream header from codec private data (a STREAMINFO, bare or behind `fLaC`).
pub fn flac_header(streaminfo: &[u8], comments: &[String]) -> Result<Vec<u8>> {
    let mut sink = VecSink::default();
    flac::write_header(&mut sink, streaminfo, comments)?;
    Ok(sink.bytes)
}

/// A whole FLAC file from interleaved samples of `bits` bits, fed in `chunk`-frame pieces.
pub fn flac_encode(rate: u32, channels: usize, bits: u32, samples: &[i32], chunk: usize) -> Result<Vec<u8>> {
    let mut sink = VecSink::default();
    let mut enc = FlacEncoder::begin(&mut sink, rate, channels, bits, &[])?;
    for piece in samples.chunks(chunk.max(1) * channels) {
        enc.encode(&mut sink, piece)?;
    }
    enc.finish(&mut sink)?;
    Ok(sink.bytes)
}

/// What the MP4 box walk finds in `bytes`: the `mdat` payloads, and the ranges left unread when
/// only the audio tracks are demuxed and when only each track is (by track id). `None` when
/// there is no `moov`.
pub fn mp4_unread(bytes: &[u8]) -> Option<Mp4Unread> {
    let mut src = SliceSource::new(bytes);
    let mp4 = crate::mp4_boxes::read(&mut src).ok()??;
    let mut ranges = |keep: &dyn Fn(u32, &crate::mp4_boxes::Mp4Track) -> bool| {
        let unread = crate::mp4_samples::unread(&mut src, &mp4, keep).ok().flatten();
        unread.map(|u| u.ranges().to_vec()).unwrap_or_default()
    };
    let audio = ranges(&|_, t| &t.handler == b"soun");
    let mut ids: Vec<u32> = mp4.tracks.keys().copied().collect();
    ids.sort_unstable();
    let per_track = ids.iter().map(|&id| (id, ranges(&|t, _| t == id))).collect();
    Some(Mp4Unread { mdat: mp4.mdat.clone(), audio, per_track })
}

/// See [`mp4_unread`]. Ranges are `(start, end)`.
#[derive(Debug)]
pub struct Mp4Unread {
    /// Payloads of the top-level `mdat` boxes.
    pub mdat: Vec<(u64, u64)>,
    /// Left unread for the audio tracks.
    pub audio: Vec<(u64, u64)>,
    /// Left unread for each track alone.
    pub per_track: Vec<(u32, Vec<(u64, u64)>)>,
}

/// The tags of a WAV file's `LIST`/`INFO` chunk.
pub fn riff_info_tags(bytes: &[u8]) -> Tags {
    crate::riff_info::read(&mut SliceSource::new(bytes)).unwrap_or_default()
}

/// The tags `preserveMetadata` writes for `tags` (cut and cleaned as for a source), in each
/// output's form.
pub fn tag_forms(tags: &Tags) -> TagForms {
    let info =
        MediaInfo { container: crate::Container::Mp4, size: 0, duration: None, tracks: Vec::new(), tags: tags.clone() };
    let track = TrackInfo {
        index: 0,
        audio_index: Some(0),
        kind: crate::TrackKind::Audio,
        codec: "aac".into(),
        profile: None,
        channels: None,
        sample_rate: None,
        bits_per_sample: None,
        bitrate: None,
        duration: None,
        language: None,
        default: true,
    };
    let written = tags::of_source(&info, &track);
    TagForms {
        vorbis: tags::vorbis_comments(&written),
        id3v2: tags::id3v2(&written),
        riff_info: tags::riff_info(&written),
        written,
    }
}

/// See [`tag_forms`].
#[derive(Debug)]
pub struct TagForms {
    /// The tags after cutting and cleaning: what every form carries.
    pub written: Tags,
    /// `KEY=value` Vorbis comments.
    pub vorbis: Vec<String>,
    /// The ID3v2.4 tag.
    pub id3v2: Vec<u8>,
    /// The RIFF `LIST`/`INFO` chunk.
    pub riff_info: Vec<u8>,
}
