//! Float PCM → Opus in Ogg (RFC 6716, RFC 7845), through `opus-pure`'s encoder (a pure-Rust
//! port of libopus: SILK, CELT and hybrid modes, constrained VBR by default) and this crate's
//! Ogg writer (`mux::ogg`, shared with the Opus stream copy).
//!
//! Channels: mono and stereo in one stream (mapping family 0); three to eight channels as a
//! multistream in Vorbis channel order (mapping family 1: coupled pairs for the front and
//! surround pairs, mono streams for centre and LFE), reordered here from WAV order
//! (`encode::vorbis_channel_order`).
//!
//! Framing: 20 ms packets. Length: the encoder's lookahead (`OpusHead` pre-skip, 312 samples at
//! 48 kHz for the audio application) is taken off the start by decoders; the input is padded
//! with silence until the lookahead has passed the last input sample, and the final granule
//! position (pre-skip + input length at 48 kHz) trims that padding, so the stream decodes to
//! exactly the input's length.

use opus_pure::{Application, OpusMSEncoder, MAX_PACKET_BYTES};

use super::{vorbis_channel_order, FloatEncoder};
use crate::codec::opus::tags_packet;
use crate::error::{Error, Result};
use crate::mux::ogg::{Granules, Ogg};
use crate::mux::PacketMuxer;
use crate::sink::ByteSink;

enum Codec {
    Single(Box<opus_pure::OpusEncoder>),
    Multi(Box<OpusMSEncoder>),
}

pub(crate) struct OpusEncoder {
    enc: Codec,
    /// Surround: for each Vorbis-order channel, its index in the (WAV-order) input.
    order: Option<&'static [usize]>,
    reordered: Vec<f32>,
    ogg: Ogg,
    channels: usize,
    /// Samples per channel per packet at the encoder's rate (20 ms).
    frame: usize,
    /// 48 kHz samples per sample at the encoder's rate (1, 2, 3, 4 or 6).
    upsample: u64,
    /// Interleaved input not yet in a packet.
    pending: Vec<f32>,
    /// Samples per channel received and sent to the encoder.
    input: u64,
    encoded: u64,
    /// The encoder's delay at its own rate.
    lookahead: u64,
    packet: Vec<u8>,
}

fn failed(e: impl std::fmt::Display) -> Error {
    Error::extraction_failed("the Opus encoder failed").with_details(e.to_string())
}

impl OpusEncoder {
    /// Starts an Ogg Opus stream of `channels` (1 to 8, in WAV order) at `rate` (8, 12, 16, 24 or
    /// 48 kHz) and `bitrate` bits per second (in all); `source_rate` is recorded in the header
    /// for information, `comments` (`KEY=value`) in the OpusTags packet.
    pub fn begin(
        sink: &mut dyn ByteSink,
        rate: u32,
        channels: usize,
        bitrate: u32,
        source_rate: u32,
        comments: &[String],
    ) -> Result<OpusEncoder> {
        let refused = |e: opus_pure::Error| {
            Error::invalid_output("Opus cannot store this audio").with_details(format!("{channels} ch {rate} Hz: {e}"))
        };
        let upsample = u64::from(48_000 / rate);
        let (enc, lookahead, head, order) = if channels <= 2 {
            let mut enc = opus_pure::OpusEncoder::new(rate as i32, channels, Application::Audio).map_err(refused)?;
            enc.bitrate_bps = bitrate as i32;
            let lookahead = enc.lookahead() as u64;
            let pre_skip = u16::try_from(lookahead * upsample).map_err(failed)?;
            (Codec::Single(Box::new(enc)), lookahead, opus_head(channels as u8, pre_skip, source_rate, None), None)
        } else {
            let order =
                vorbis_channel_order(channels).ok_or_else(|| refused(opus_pure::Error::InvalidArgument("layout")))?;
            let mut enc = OpusMSEncoder::new(rate as i32, channels, 1, Application::Audio).map_err(refused)?;
            enc.set_bitrate(bitrate as i32);
            let lookahead = enc.streams()[0].lookahead() as u64;
            let pre_skip = u16::try_from(lookahead * upsample).map_err(failed)?;
            let l = enc.layout();
            let map = (l.nb_streams as u8, l.nb_coupled_streams as u8, l.mapping.as_slice());
            let head = opus_head(channels as u8, pre_skip, source_rate, Some(map));
            (Codec::Multi(Box::new(enc)), lookahead, head, Some(order))
        };
        let ogg = Ogg::begin(sink, &[head, tags_packet(comments)], Granules::Opus, 48_000, None)?;
        Ok(OpusEncoder {
            enc,
            order,
            reordered: Vec::new(),
            ogg,
            channels,
            frame: rate as usize / 50,
            upsample,
            pending: Vec::new(),
            input: 0,
            encoded: 0,
            lookahead,
            packet: vec![0; MAX_PACKET_BYTES * channels],
        })
    }

    /// Encodes every whole packet in `pending`.
    fn packets(&mut self, sink: &mut dyn ByteSink) -> Result<()> {
        let len = self.frame * self.channels;
        let mut off = 0;
        while self.pending.len() - off >= len {
            let pcm = &self.pending[off..off + len];
            let n = match (&mut self.enc, self.order) {
                (Codec::Single(enc), _) => enc.encode(pcm, self.frame, &mut self.packet[..MAX_PACKET_BYTES]),
                (Codec::Multi(enc), order) => {
                    let order = order.unwrap_or_default();
                    self.reordered.clear();
                    for frame in pcm.chunks_exact(self.channels) {
                        self.reordered.extend(order.iter().map(|&c| frame[c]));
                    }
                    enc.encode(&self.reordered, self.frame, &mut self.packet)
                }
            }
            .map_err(failed)?;
            self.ogg.write_packet(sink, &self.packet[..n])?;
            self.encoded += self.frame as u64;
            off += len;
        }
        self.pending.drain(..off);
        Ok(())
    }
}

/// An `OpusHead` (RFC 7845 §5.1), no output gain: mapping family 0 (mono or stereo), or 1 with
/// the stream count, coupled count and channel mapping.
fn opus_head(channels: u8, pre_skip: u16, input_rate: u32, family1: Option<(u8, u8, &[u8])>) -> Vec<u8> {
    let mut h = b"OpusHead".to_vec();
    h.push(1);
    h.push(channels);
    h.extend_from_slice(&pre_skip.to_le_bytes());
    h.extend_from_slice(&input_rate.to_le_bytes());
    h.extend_from_slice(&0i16.to_le_bytes());
    match family1 {
        None => h.push(0),
        Some((streams, coupled, mapping)) => {
            h.extend_from_slice(&[1, streams, coupled]);
            h.extend_from_slice(mapping);
        }
    }
    h
}

impl FloatEncoder for OpusEncoder {
    fn encode(&mut self, sink: &mut dyn ByteSink, samples: &[f32]) -> Result<()> {
        self.input += (samples.len() / self.channels) as u64;
        self.pending.extend_from_slice(samples);
        self.packets(sink)
    }

    fn finish(&mut self, sink: &mut dyn ByteSink) -> Result<()> {
        // Silence until the encoder has put out the last input sample (its lookahead later).
        let needed = self.input + self.lookahead;
        let packets = needed.saturating_sub(self.encoded).div_ceil(self.frame as u64).max(1) as usize;
        self.pending.resize(packets * self.frame * self.channels, 0.0);
        self.packets(sink)?;
        // The last granule is pre-skip + input; the rest of the last packet is padding.
        let end = (self.lookahead + self.input) * self.upsample;
        self.ogg.trim_end(self.encoded * self.upsample - end);
        self.ogg.finish(sink)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::VecSink;

    fn pages(bytes: Vec<u8>) -> Vec<(u64, bool, usize)> {
        let mut r = ogg::reading::PacketReader::new(std::io::Cursor::new(bytes));
        let mut out = Vec::new();
        while let Some(p) = r.read_packet().unwrap() {
            out.push((p.absgp_page(), p.last_in_stream(), p.data.len()));
        }
        out
    }

    #[test]
    fn head_pre_skip_and_final_granule() {
        for (rate, n) in [(48_000u32, 48_000usize), (16_000, 1234), (48_000, 0)] {
            let mut sink = VecSink::default();
            let mut enc = OpusEncoder::begin(&mut sink, rate, 2, 96_000, 44_100, &[]).unwrap();
            let tone: Vec<f32> = (0..n * 2).map(|i| 0.5 * (i as f32 * 0.03).sin()).collect();
            for c in tone.chunks(1000) {
                enc.encode(&mut sink, c).unwrap();
            }
            enc.finish(&mut sink).unwrap();
            let head = &sink.bytes[28..47];
            assert_eq!(&head[..8], b"OpusHead");
            let pre_skip = u64::from(u16::from_le_bytes([head[10], head[11]]));
            assert_eq!(pre_skip, 312, "{rate}");
            assert_eq!(u32::from_le_bytes([head[12], head[13], head[14], head[15]]), 44_100);
            let p = pages(sink.bytes);
            let (granule, eos, _) = *p.last().unwrap();
            assert!(eos);
            assert_eq!(granule, pre_skip + n as u64 * u64::from(48_000 / rate), "{rate} Hz, {n} samples");
        }
    }

    #[test]
    fn surround_head_has_the_family_1_mapping() {
        let mut sink = VecSink::default();
        let mut enc = OpusEncoder::begin(&mut sink, 48_000, 6, 192_000, 48_000, &[]).unwrap();
        enc.encode(&mut sink, &vec![0.1; 6 * 2000]).unwrap();
        enc.finish(&mut sink).unwrap();
        let head = &sink.bytes[28..28 + 27];
        assert_eq!(&head[..8], b"OpusHead");
        // 6 channels; family 1, 4 streams of which 2 coupled; Vorbis 5.1 mapping.
        assert_eq!((head[9], head[18], head[19], head[20]), (6, 1, 4, 2));
        assert_eq!(&head[21..27], &[0, 4, 1, 2, 3, 5]);
        assert!(crate::codec::opus::valid_head(head).is_some());
        assert!(OpusEncoder::begin(&mut VecSink::default(), 48_000, 9, 192_000, 48_000, &[]).is_err());
    }
}
