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
    /// Writes the header; `info` is a `LIST` chunk of tags, or empty.
    pub fn begin(sink: &mut dyn ByteSink, spec: WavSpec, info: &[u8]) -> Result<WavEncoder> {
        let wav = Wav::begin(sink, spec, info)?;
        Ok(WavEncoder { wav, bytes_per_sample: usize::from(spec.bits / 8), buf: Vec::new() })
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
