//! Opus or Vorbis packets → an Ogg stream (RFC 3533; RFC 7845 for Opus; Vorbis I §A).
//!
//! Pages come from the `ogg` crate. What it does not know is each packet's granule position
//! (the running sample count at its end), which depends on the codec: Opus packets announce
//! their length in the TOC byte; Vorbis packets overlap half a block with their neighbours.
//! One packet is held back so the last one can carry the end-of-stream flag.
//!
//! A Vorbis stream's first audio packet (which decodes to nothing: granule 0) ends a page of its
//! own. A short stream would otherwise have one audio page, both first and last, whose granule
//! position (trimmed to the stream's length) decoders such as ffmpeg's read as samples to drop
//! from the start instead of the end.

use ogg::writing::{PacketWriteEndInfo, PacketWriter};

use super::PacketMuxer;
use crate::codec::{opus, vorbis};
use crate::error::{Error, Result};
use crate::sink::ByteSink;

/// How granule positions advance.
pub(crate) enum Granules {
    /// Opus: 48 kHz samples from each packet's TOC.
    Opus,
    /// Vorbis: (previous block + this block) / 4 per packet after the first.
    Vorbis { sizes: vorbis::BlockSizes, prev: Option<u32> },
}

pub(crate) struct Ogg {
    pages: PacketWriter<'static, Vec<u8>>,
    serial: u32,
    granules: Granules,
    granule: u64,
    /// Highest granule the last page may carry (pre-skip + presented length), when known.
    end_limit: Option<u64>,
    /// Padding the source marks at the end.
    padding: u64,
    /// Granule units per page: pages end about once a second so players can seek.
    page_span: u64,
    /// Granule at the end of the last page.
    page_start: u64,
    /// The held-back packet and the granules before and after it.
    pending: Option<(Vec<u8>, u64, u64)>,
    /// Audio packets written to pages so far.
    written: u64,
}

impl Ogg {
    /// Starts a stream whose header packets each end a page, as Opus and Vorbis require.
    /// `rate` is the granule rate (48 000 for Opus, the sample rate for Vorbis).
    pub fn begin(
        sink: &mut dyn ByteSink,
        headers: &[Vec<u8>],
        granules: Granules,
        rate: u32,
        end_limit: Option<u64>,
    ) -> Result<Ogg> {
        let mut ogg = Ogg {
            pages: PacketWriter::new(Vec::new()),
            serial: 0x636f_6e76, // "conv"
            granules,
            granule: 0,
            end_limit,
            padding: 0,
            page_span: u64::from(rate.max(1)),
            page_start: 0,
            pending: None,
            written: 0,
        };
        for h in headers {
            ogg.pages.write_packet(h.clone(), ogg.serial, PacketWriteEndInfo::EndPage, 0)?;
        }
        ogg.flush(sink)?;
        Ok(ogg)
    }

    fn flush(&mut self, sink: &mut dyn ByteSink) -> Result<()> {
        let bytes = std::mem::take(self.pages.inner_mut());
        Ok(sink.write(&bytes)?)
    }

    fn samples(&mut self, data: &[u8]) -> Result<u64> {
        let bad = |codec: &str| Error::extraction_failed(format!("the source has a malformed {codec} packet"));
        Ok(match &mut self.granules {
            Granules::Opus => u64::from(opus::packet_samples(data).ok_or_else(|| bad("Opus"))?),
            Granules::Vorbis { sizes, prev } => {
                let Some(cur) = sizes.of_packet(data) else {
                    return Err(bad("Vorbis"));
                };
                let n = prev.map_or(0, |p| u64::from(p / 4 + cur / 4));
                *prev = Some(cur);
                n
            }
        })
    }
}

/// For the encoders, which write through the same pages (`transcode`).
#[cfg_attr(not(feature = "transcode"), allow(dead_code))]
impl Ogg {
    /// Granule position after the last packet written (before any end trim).
    pub fn granule(&self) -> u64 {
        self.granule
    }

    /// Sets the highest granule the last page may carry: the presented length of a stream
    /// whose encoder knows it only at the end.
    pub fn limit_end(&mut self, granule: u64) {
        self.end_limit = Some(granule);
    }
}

impl PacketMuxer for Ogg {
    fn write_packet(&mut self, sink: &mut dyn ByteSink, data: &[u8]) -> Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        let before = self.granule;
        self.granule += self.samples(data)?;
        if let Some((prev, _, g)) = self.pending.replace((data.to_vec(), before, self.granule)) {
            let first_vorbis = self.written == 0 && matches!(self.granules, Granules::Vorbis { .. });
            self.written += 1;
            let end = if g - self.page_start >= self.page_span || first_vorbis {
                self.page_start = g;
                PacketWriteEndInfo::EndPage
            } else {
                PacketWriteEndInfo::NormalPacket
            };
            self.pages.write_packet(prev, self.serial, end, g)?;
            self.flush(sink)?;
        }
        Ok(())
    }

    fn trim_end(&mut self, frames: u64) {
        self.padding += frames;
    }

    fn finish(&mut self, sink: &mut dyn ByteSink) -> Result<()> {
        if let Some((last, before, after)) = self.pending.take() {
            // The end granule may be lower than the sample count, to trim the encoder's padding,
            // but never lower than the page before it.
            let limit = self.end_limit.unwrap_or(u64::MAX).min(after.saturating_sub(self.padding));
            let g = limit.clamp(before, after);
            self.pages.write_packet(last, self.serial, PacketWriteEndInfo::EndStream, g)?;
        }
        self.flush(sink)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::VecSink;

    #[test]
    fn opus_pages_have_running_granules_and_eos() {
        let mut sink = VecSink::default();
        let head = b"OpusHead\x01\x02\x38\x01\x80\xbb\0\0\0\0\0".to_vec();
        let mut ogg = Ogg::begin(&mut sink, &[head, opus::tags_packet(&[])], Granules::Opus, 48_000, None).unwrap();
        for _ in 0..3 {
            ogg.write_packet(&mut sink, &[0xFC, 1, 2, 3]).unwrap();
        }
        ogg.finish(&mut sink).unwrap();
        let mut r = ogg::reading::PacketReader::new(std::io::Cursor::new(sink.bytes));
        let mut last = None;
        let mut n = 0;
        while let Some(p) = r.read_packet().unwrap() {
            n += 1;
            last = Some((p.absgp_page(), p.last_in_stream()));
        }
        assert_eq!(n, 5);
        assert_eq!(last, Some((2880, true)));
    }

    #[test]
    fn malformed_packets_are_errors() {
        let mut sink = VecSink::default();
        let mut ogg = Ogg::begin(&mut sink, &[], Granules::Opus, 48_000, None).unwrap();
        assert!(ogg.write_packet(&mut sink, &[0x03, 0x00]).is_err());
    }
}
