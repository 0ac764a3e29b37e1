//! Float PCM → Vorbis in Ogg (Vorbis I), through libvorbis's encoder (the aoTuV build, behind
//! the `converso-vorbis` crate's safe API) and this crate's Ogg writer (`mux::ogg`, shared with
//! the Vorbis stream copy).
//!
//! Modes: a VBR quality (the quality levels, libvorbis's scale: `low` 2 … `extreme` 9) or an
//! average bitrate (`bitrate`), see `quality`. Channels: one to eight, reordered from WAV order
//! to Vorbis order (`encode::vorbis_channel_order`); libvorbis has a 5.1 set-up of its own and
//! codes other layouts channel by channel, stereo with channel coupling.
//!
//! Headers: libvorbis's identification and setup headers, and a comment header of converso's
//! (its vendor string and the tags asked for), as the Vorbis copy writes it. Length: Vorbis has
//! no encoder delay to remove (the first packet decodes to nothing and granule positions start
//! at 0); libvorbis pads the last block, and the final granule position (the number of frames
//! encoded) trims that padding, so the stream decodes to exactly the input's length.

use converso_vorbis::Mode;

use super::{vorbis_channel_order, FloatEncoder};
use crate::codec::vorbis::{self, BlockSizes, Headers};
use crate::error::{Error, Result};
use crate::mux::ogg::{Granules, Ogg};
use crate::mux::PacketMuxer;
use crate::sink::ByteSink;

pub(crate) struct VorbisEncoder {
    enc: converso_vorbis::Encoder,
    /// For each Vorbis channel, its index in a (WAV-order) input frame.
    order: &'static [usize],
    ogg: Ogg,
}

fn failed(e: converso_vorbis::Error) -> Error {
    Error::extraction_failed("the Vorbis encoder failed").with_details(e.to_string())
}

impl VorbisEncoder {
    /// Starts an Ogg Vorbis stream of `channels` (1 to 8, in WAV order) at `rate` Hz, at a VBR
    /// quality or an average bitrate; `comments` (`KEY=value`) go into the comment header.
    pub fn begin(
        sink: &mut dyn ByteSink,
        rate: u32,
        channels: usize,
        mode: Mode,
        comments: &[String],
    ) -> Result<VorbisEncoder> {
        let what = || match mode {
            Mode::Quality(q) => format!("{channels} ch {rate} Hz, quality {:.0}", q * 10.0),
            Mode::Average(b) => format!("{channels} ch {rate} Hz, {b} bps"),
        };
        let order = vorbis_channel_order(channels)
            .ok_or_else(|| Error::invalid_output("Vorbis output carries one to eight channels").with_details(what()))?;
        let (enc, h) = converso_vorbis::Encoder::new(channels as u32, rate, mode).map_err(|e| {
            Error::invalid_output("Vorbis cannot store this audio").with_details(format!("{}: {e}", what()))
        })?;
        // The comment header is converso's own: its vendor string and the tags asked for.
        let headers = Headers { ident: h.ident, comment: vorbis::comment_header(comments), setup: h.setup };
        let granules = Granules::Vorbis { sizes: BlockSizes::new(&headers)?, prev: None };
        let all = [headers.ident, headers.comment, headers.setup];
        let ogg = Ogg::begin(sink, &all, granules, rate, None)?;
        Ok(VorbisEncoder { enc, order, ogg })
    }

    /// Writes every packet libvorbis has finished.
    fn drain(&mut self, sink: &mut dyn ByteSink) -> Result<()> {
        while let Some(p) = self.enc.packet().map_err(failed)? {
            self.ogg.write_packet(sink, p.data)?;
            if p.end_of_stream {
                // libvorbis's last granule is the number of frames encoded: it trims the padding.
                self.ogg.limit_end(u64::try_from(p.granule).unwrap_or(0));
            } else if i64::try_from(self.ogg.granule()).ok() != Some(p.granule) {
                // The Ogg writer counts granules from the block sizes; libvorbis agrees.
                return Err(Error::extraction_failed("the Vorbis encoder failed").with_details(format!(
                    "granule position {} from the block sizes, {} from libvorbis",
                    self.ogg.granule(),
                    p.granule
                )));
            }
        }
        Ok(())
    }
}

impl FloatEncoder for VorbisEncoder {
    fn encode(&mut self, sink: &mut dyn ByteSink, samples: &[f32]) -> Result<()> {
        self.enc.write(samples, self.order).map_err(failed)?;
        self.drain(sink)
    }

    fn finish(&mut self, sink: &mut dyn ByteSink) -> Result<()> {
        self.enc.end().map_err(failed)?;
        self.drain(sink)?;
        self.ogg.finish(sink)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::VecSink;

    /// (page granule, end of stream, packet length) of every packet.
    fn packets(bytes: Vec<u8>) -> Vec<(u64, bool, Vec<u8>)> {
        let mut r = ogg::reading::PacketReader::new(std::io::Cursor::new(bytes));
        let mut out = Vec::new();
        while let Some(p) = r.read_packet().unwrap() {
            out.push((p.absgp_page(), p.last_in_stream(), p.data));
        }
        out
    }

    fn encode(rate: u32, channels: usize, mode: Mode, frames: usize, comments: &[String]) -> Vec<u8> {
        let mut sink = VecSink::default();
        let mut enc = VorbisEncoder::begin(&mut sink, rate, channels, mode, comments).unwrap();
        let tone: Vec<f32> = (0..frames * channels).map(|i| 0.5 * (i as f32 * 0.03).sin()).collect();
        for c in tone.chunks(999 * channels) {
            enc.encode(&mut sink, c).unwrap();
        }
        enc.finish(&mut sink).unwrap();
        sink.bytes
    }

    #[test]
    fn headers_final_granule_and_eos() {
        for (rate, ch, n) in [(44_100u32, 2usize, 44_100usize), (8_000, 1, 1234), (48_000, 6, 4800), (22_050, 2, 0)] {
            let p = packets(encode(rate, ch, Mode::Quality(0.4), n, &["TITLE=t".into()]));
            let ident = &p[0].2;
            assert!(ident.starts_with(b"\x01vorbis"));
            assert_eq!((ident[11] as usize, u32::from_le_bytes(ident[12..16].try_into().unwrap())), (ch, rate));
            assert_eq!(p[1].2, vorbis::comment_header(&["TITLE=t".into()]));
            assert!(p[2].2.starts_with(b"\x05vorbis"));
            let (granule, eos, _) = p.last().unwrap();
            assert!(eos, "{rate} Hz {ch} ch");
            assert_eq!(*granule, n as u64, "{rate} Hz {ch} ch, {n} frames");
            assert_eq!(p.iter().filter(|p| p.1).count(), 1);
        }
    }

    #[test]
    fn refusals() {
        let mut sink = VecSink::default();
        let e = VorbisEncoder::begin(&mut sink, 44_100, 9, Mode::Quality(0.4), &[]).err().unwrap();
        assert_eq!(e.code, crate::ErrorCode::InvalidOutput);
        let e = VorbisEncoder::begin(&mut sink, 44_100, 2, Mode::Average(900_000), &[]).err().unwrap();
        assert_eq!(e.code, crate::ErrorCode::InvalidOutput);
        assert!(e.details.unwrap().contains("vorbis_encode_setup_managed"));
    }

    /// The average-bitrate table says exactly what libvorbis accepts (to the kbps) at the rates
    /// ogg output is encoded at, for one to eight channels; every quality level is accepted.
    #[test]
    fn vorbis_table_matches_libvorbis() {
        use crate::quality::{vorbis_range, VORBIS_QUALITIES};
        use converso_vorbis::supports;
        for rate in [8000, 8500, 11025, 12000, 16000, 22050, 24000, 32000, 37800, 44100, 48000] {
            for ch in 1..=8 {
                let (lo, hi) = vorbis_range(rate, ch);
                let abr = |b: u32| supports(ch, rate, Mode::Average(b));
                assert!(abr(lo) && abr(hi), "{ch} ch {rate} Hz: {lo}..{hi}");
                assert!(!abr(lo - 1000) && !abr(hi + 1000), "{ch} ch {rate} Hz: {lo}..{hi} is not the widest");
                for q in VORBIS_QUALITIES {
                    assert!(supports(ch, rate, Mode::Quality(f32::from(q) / 10.0)), "{ch} ch {rate} Hz q{q}");
                }
            }
        }
    }
}
