//! Integer PCM → WAV.

use super::{pack_le, Encoder};
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
        pack_le(samples, self.bytes_per_sample, &mut self.buf);
        self.wav.write_packet(sink, &self.buf)
    }

    fn finish(&mut self, sink: &mut dyn ByteSink) -> Result<()> {
        self.wav.finish(sink)
    }
}
