//! PCM → RIFF WAVE.
//!
//! Hand-written rather than `hound`: hound needs `Seek` over the whole output, while converso
//! must also stream to pipes. The header is written first with the sizes unknown (0xFFFFFFFF,
//! which ffmpeg and most players accept for streams) and patched through `write_at` when the
//! sink allows. Tags go in a `LIST`/`INFO` chunk between `fmt ` and `data` (see `mux::tags`), so
//! readers of a stream meet them before the samples.

use super::PacketMuxer;
use crate::error::{Error, Result};
use crate::limits::{MAX_CHANNELS, SAMPLE_RATES};
use crate::sink::ByteSink;

/// The sample layout of a WAV file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct WavSpec {
    pub channels: u16,
    pub sample_rate: u32,
    pub bits: u16,
    pub float: bool,
    /// WAVEFORMATEXTENSIBLE speaker mask; the extensible header is used for more than 2 channels.
    pub channel_mask: u32,
}

/// The usual speaker mask for a channel count (WAVEFORMATEXTENSIBLE order).
pub(crate) fn default_channel_mask(channels: u32) -> u32 {
    match channels {
        1 => 0x4,
        2 => 0x3,
        3 => 0x7,
        4 => 0x33,
        5 => 0x37,
        6 => 0x3F,
        7 => 0x13F,
        8 => 0x63F,
        _ => 0,
    }
}

const HEADER_PCM: usize = 44;
const HEADER_EXTENSIBLE: usize = 68;

pub(crate) struct Wav {
    header_len: usize,
    data_len: u64,
}

impl Wav {
    /// Writes the header; `info` is a complete `LIST` chunk (word-aligned) or empty.
    pub fn begin(sink: &mut dyn ByteSink, spec: WavSpec, info: &[u8]) -> Result<Wav> {
        // Within these limits the header's byte rate and block size fit their fields.
        let channels_ok = (1..=MAX_CHANNELS).contains(&usize::from(spec.channels));
        if !channels_ok || !SAMPLE_RATES.contains(&spec.sample_rate) || !matches!(spec.bits, 8 | 16 | 24 | 32) {
            return Err(Error::invalid_video("the audio has no valid PCM layout for WAV"));
        }
        let header = header(spec, info);
        sink.write(&header)?;
        Ok(Wav { header_len: header.len(), data_len: 0 })
    }
}

/// The header with both sizes unknown (0xFFFFFFFF).
fn header(spec: WavSpec, info: &[u8]) -> Vec<u8> {
    let extensible = spec.channels > 2;
    let block_align = spec.channels * (spec.bits / 8);
    let header_len = if extensible { HEADER_EXTENSIBLE } else { HEADER_PCM };
    let mut h = Vec::with_capacity(header_len);
    h.extend_from_slice(b"RIFF");
    h.extend_from_slice(&u32::MAX.to_le_bytes());
    h.extend_from_slice(b"WAVEfmt ");
    h.extend_from_slice(&(if extensible { 40u32 } else { 16 }).to_le_bytes());
    let tag: u16 = if extensible {
        0xFFFE
    } else if spec.float {
        3
    } else {
        1
    };
    h.extend_from_slice(&tag.to_le_bytes());
    h.extend_from_slice(&spec.channels.to_le_bytes());
    h.extend_from_slice(&spec.sample_rate.to_le_bytes());
    h.extend_from_slice(&(spec.sample_rate * u32::from(block_align)).to_le_bytes());
    h.extend_from_slice(&block_align.to_le_bytes());
    h.extend_from_slice(&spec.bits.to_le_bytes());
    if extensible {
        h.extend_from_slice(&22u16.to_le_bytes());
        h.extend_from_slice(&spec.bits.to_le_bytes());
        h.extend_from_slice(&spec.channel_mask.to_le_bytes());
        let format: u32 = if spec.float { 3 } else { 1 };
        h.extend_from_slice(&format.to_le_bytes());
        h.extend_from_slice(&[0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71]);
    }
    h.extend_from_slice(info);
    h.extend_from_slice(b"data");
    h.extend_from_slice(&u32::MAX.to_le_bytes());
    h
}

impl PacketMuxer for Wav {
    fn write_packet(&mut self, sink: &mut dyn ByteSink, data: &[u8]) -> Result<()> {
        self.data_len += data.len() as u64;
        Ok(sink.write(data)?)
    }

    fn finish(&mut self, sink: &mut dyn ByteSink) -> Result<()> {
        if self.data_len % 2 == 1 {
            sink.write(&[0])?;
        }
        if sink.can_write_at() {
            // Only the two size fields change: RIFF size at 4, data size just before the samples.
            let riff = self.data_len + self.data_len % 2 + self.header_len as u64 - 8;
            let (riff, data) =
                if riff <= u64::from(u32::MAX) { (riff as u32, self.data_len as u32) } else { (u32::MAX, u32::MAX) };
            sink.write_at(4, &riff.to_le_bytes())?;
            sink.write_at(self.header_len as u64 - 4, &data.to_le_bytes())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::VecSink;

    fn spec(channels: u16) -> WavSpec {
        WavSpec {
            channels,
            sample_rate: 8000,
            bits: 16,
            float: false,
            channel_mask: default_channel_mask(channels.into()),
        }
    }

    #[test]
    fn sizes_are_patched_and_odd_data_padded() {
        let mut sink = VecSink::default();
        let mut w = Wav::begin(&mut sink, spec(1), &[]).unwrap();
        w.write_packet(&mut sink, &[1, 2, 3]).unwrap();
        w.finish(&mut sink).unwrap();
        let b = &sink.bytes;
        assert_eq!(b.len(), 44 + 4);
        assert_eq!(u32::from_le_bytes(b[4..8].try_into().unwrap()), 40);
        assert_eq!(u32::from_le_bytes(b[40..44].try_into().unwrap()), 3);
    }

    #[test]
    fn multichannel_uses_the_extensible_header() {
        let mut sink = VecSink::default();
        Wav::begin(&mut sink, spec(6), &[]).unwrap().finish(&mut sink).unwrap();
        assert_eq!(sink.bytes.len(), 68);
        assert_eq!(&sink.bytes[20..22], &0xFFFEu16.to_le_bytes());
        assert!(Wav::begin(&mut VecSink::default(), spec(0), &[]).is_err());
    }

    #[test]
    fn info_chunk_sits_before_data_and_sizes_count_it() {
        let info = b"LIST\x0c\0\0\0INFOINAM\x00\0\0\0";
        let mut sink = VecSink::default();
        let mut w = Wav::begin(&mut sink, spec(1), info).unwrap();
        w.write_packet(&mut sink, &[1, 2]).unwrap();
        w.finish(&mut sink).unwrap();
        let b = &sink.bytes;
        assert_eq!(&b[36..36 + info.len()], info);
        let data = 36 + info.len();
        assert_eq!(&b[data..data + 4], b"data");
        assert_eq!(u32::from_le_bytes(b[data + 4..data + 8].try_into().unwrap()), 2);
        assert_eq!(u32::from_le_bytes(b[4..8].try_into().unwrap()) as usize, b.len() - 8);
    }
}
