//! Integer PCM → WAV.

use super::Encoder;
use crate::error::Result;
use crate::mux::wav::{Wav, WavSpec};
use crate::mux::PacketMuxer;
use crate::sink::ByteSink;

pub(crate) struct WavEncoder {
    wav: Wav,
    bytes_per_sample: usize,
    buf: Vec<u8>,
}

impl WavEncoder {
    pub fn begin(sink: &mut dyn ByteSink, spec: WavSpec) -> Result<WavEncoder> {
        Ok(WavEncoder { wav: Wav::begin(sink, spec)?, bytes_per_sample: usize::from(spec.bits / 8), buf: Vec::new() })
    }
}

impl Encoder for WavEncoder {
    fn encode(&mut self, sink: &mut dyn ByteSink, samples: &[i32]) -> Result<()> {
        let n = self.bytes_per_sample;
        self.buf.resize(samples.len() * n, 0);
        // One loop per width so each compiles to a tight, vectorised copy.
        match n {
            2 => self
                .buf
                .chunks_exact_mut(2)
                .zip(samples)
                .for_each(|(d, s)| d.copy_from_slice(&(*s as i16).to_le_bytes())),
            3 => self.buf.chunks_exact_mut(3).zip(samples).for_each(|(d, s)| d.copy_from_slice(&s.to_le_bytes()[..3])),
            _ => self.buf.chunks_exact_mut(4).zip(samples).for_each(|(d, s)| d.copy_from_slice(&s.to_le_bytes())),
        }
        self.wav.write_packet(sink, &self.buf)
    }

    fn finish(&mut self, sink: &mut dyn ByteSink) -> Result<()> {
        self.wav.finish(sink)
    }
}
