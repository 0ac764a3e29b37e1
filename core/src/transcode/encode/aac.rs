//! Float PCM → AAC-LC in ADTS, through `syom`'s encoder (pure Rust: psychoacoustic model,
//! block switching, TNS, mid/side stereo; average-bitrate control within a few percent on
//! non-silent audio). Mono, stereo and the surround layouts of AAC's channel configurations
//! 3, 5, 6 and 7 (3.0, 5.0, 5.1, 7.1), whose channels syom takes in WAV order.
//!
//! Length: AAC-LC delays the audio by one frame (1024 samples of priming) and pads the last
//! frame. ADTS has no field to say so (MP4 would use an edit list), so decoders play the 1024
//! priming samples as silence at the start, as they do for ffmpeg's own ADTS output.

use super::FloatEncoder;
use crate::error::{Error, Result};
use crate::sink::ByteSink;

pub(crate) struct AacEncoder {
    enc: syom::Encoder,
    channels: usize,
    planes: Vec<Vec<f32>>,
    /// ADTS frames made during one call, written after it (syom's callback cannot do I/O
    /// errors of ours).
    out: Vec<u8>,
    fed: bool,
}

fn failed(e: impl std::fmt::Display) -> Error {
    Error::extraction_failed("the AAC encoder failed").with_details(e.to_string())
}

impl AacEncoder {
    /// An encoder of `channels` (1, 2, 3, 5, 6 or 8) at `rate` (an ADTS rate) and `bitrate` bits
    /// per second.
    pub fn new(rate: u32, channels: usize, bitrate: u32) -> Result<AacEncoder> {
        let opts = syom::EncodeOptions::adts().with_bitrate_bps(bitrate);
        let enc = syom::Encoder::new(rate, channels, &opts).map_err(|e| {
            Error::invalid_output("AAC cannot store this audio")
                .with_details(format!("{channels} channel(s) at {rate} Hz, {bitrate} bps: {e}"))
        })?;
        Ok(AacEncoder { enc, channels, planes: vec![Vec::new(); channels], out: Vec::new(), fed: false })
    }
}

impl FloatEncoder for AacEncoder {
    fn encode(&mut self, sink: &mut dyn ByteSink, samples: &[f32]) -> Result<()> {
        if samples.is_empty() {
            return Ok(());
        }
        for (c, plane) in self.planes.iter_mut().enumerate() {
            plane.clear();
            // syom refuses samples outside [-1, 1] (resampling can overshoot a little).
            plane.extend(samples.iter().skip(c).step_by(self.channels).map(|s| s.clamp(-1.0, 1.0)));
        }
        let planes: Vec<&[f32]> = self.planes.iter().map(Vec::as_slice).collect();
        let out = &mut self.out;
        self.enc
            .feed(&planes, |f| {
                out.extend_from_slice(f.au);
                Ok(())
            })
            .map_err(failed)?;
        self.fed = true;
        sink.write(&self.out)?;
        self.out.clear();
        Ok(())
    }

    fn finish(&mut self, sink: &mut dyn ByteSink) -> Result<()> {
        if !self.fed {
            // An empty track still makes a valid (silent, one frame) stream.
            let silence = vec![0.0; self.channels];
            self.encode(sink, &silence)?;
        }
        let out = &mut self.out;
        self.enc
            .finish(|f| {
                out.extend_from_slice(f.au);
                Ok(())
            })
            .map_err(failed)?;
        sink.write(&self.out)?;
        self.out.clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::VecSink;

    #[test]
    fn adts_frames_with_the_asked_bitrate() {
        let mut sink = VecSink::default();
        let mut enc = AacEncoder::new(44100, 2, 128_000).unwrap();
        let tone: Vec<f32> = (0..441_000 * 2).map(|i| 0.5 * ((i / 2) as f32 * 0.0627).sin()).collect();
        for c in tone.chunks(4000) {
            enc.encode(&mut sink, c).unwrap();
        }
        enc.finish(&mut sink).unwrap();
        assert_eq!(&sink.bytes[..2], &[0xFF, 0xF1]);
        let kbps = sink.bytes.len() as f64 * 8.0 / 10.0 / 1000.0;
        assert!((115.0..141.0).contains(&kbps), "{kbps} kbps");
    }

    #[test]
    fn empty_input_is_one_silent_stream() {
        let mut sink = VecSink::default();
        let mut enc = AacEncoder::new(48000, 1, 96_000).unwrap();
        enc.finish(&mut sink).unwrap();
        assert_eq!(&sink.bytes[..2], &[0xFF, 0xF1]);
    }
}
