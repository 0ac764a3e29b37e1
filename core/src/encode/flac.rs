//! Integer PCM → FLAC with `flacenc`, one fixed-size frame at a time so memory stays at one
//! block whatever the length. STREAMINFO is written first with the totals unknown and patched
//! (total samples, MD5) at the end when the sink allows.

use flacenc::bitsink::MemSink;
use flacenc::component::{BitRepr, StreamInfo};
use flacenc::config;
use flacenc::error::{Verified, Verify};
use flacenc::source::{Context, Fill, FrameBuf};

use super::Encoder;
use crate::error::{Error, Result};
use crate::sink::ByteSink;

/// Samples per channel per frame (the FLAC reference encoder's default).
const BLOCK_SIZE: usize = 4096;

pub(crate) struct FlacEncoder {
    config: Verified<config::Encoder>,
    /// Fallback for frames where the predictive coder does worse than storing samples verbatim
    /// (flacenc caps the Rice parameter, which can happen on noisy high-bit-depth audio).
    verbatim: Verified<config::Encoder>,
    bits: usize,
    channels: usize,
    info: StreamInfo,
    frame: FrameBuf,
    context: Context,
    pending: Vec<i32>,
    out: MemSink<u8>,
}

fn failed(e: impl std::fmt::Debug) -> Error {
    Error::extraction_failed("FLAC encoding failed").with_details(format!("{e:?}"))
}

impl FlacEncoder {
    pub fn begin(sink: &mut dyn ByteSink, sample_rate: u32, channels: usize, bits: u32) -> Result<FlacEncoder> {
        let bits = bits as usize;
        let mut c = config::Encoder::default();
        c.block_size = BLOCK_SIZE;
        c.subframe_coding.use_lpc = false;
        let mut v = c.clone();
        v.subframe_coding.use_fixed = false;
        v.subframe_coding.use_lpc = false;
        let enc = FlacEncoder {
            config: c.into_verified().map_err(failed)?,
            verbatim: v.into_verified().map_err(failed)?,
            bits,
            channels,
            info: StreamInfo::new(sample_rate as usize, channels, bits).map_err(|e| {
                Error::invalid_output("FLAC cannot store this audio layout").with_details(format!("{e:?}"))
            })?,
            frame: FrameBuf::with_size(channels, BLOCK_SIZE).map_err(failed)?,
            context: Context::new(bits, channels),
            pending: Vec::with_capacity(BLOCK_SIZE * channels),
            out: MemSink::new(),
        };
        sink.write(&enc.header()?)?;
        Ok(enc)
    }

    /// `fLaC` + STREAMINFO marked as the last metadata block.
    fn header(&self) -> Result<Vec<u8>> {
        let mut info = self.info.clone();
        info.set_block_sizes(BLOCK_SIZE, BLOCK_SIZE).map_err(failed)?;
        if info.max_frame_size() == 0 {
            info.set_frame_sizes(0, 0).map_err(failed)?;
        }
        let mut s = MemSink::<u8>::new();
        info.write(&mut s).map_err(failed)?;
        let body = s.as_slice();
        let mut out = b"fLaC".to_vec();
        out.push(0x80);
        out.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        out.extend_from_slice(body);
        Ok(out)
    }

    fn emit(&mut self, sink: &mut dyn ByteSink, samples: &[i32]) -> Result<()> {
        (&mut self.frame, &mut self.context).fill_interleaved(samples).map_err(failed)?;
        let n = self.context.current_frame_number().ok_or_else(|| failed("no frame number"))?;
        let mut frame = flacenc::encode_fixed_size_frame(&self.config, &self.frame, n, &self.info).map_err(failed)?;
        if frame.count_bits() > samples.len() * self.bits + 512 {
            frame = flacenc::encode_fixed_size_frame(&self.verbatim, &self.frame, n, &self.info).map_err(failed)?;
        }
        self.info.update_frame_info(&frame);
        self.out.clear();
        frame.write(&mut self.out).map_err(failed)?;
        Ok(sink.write(self.out.as_slice())?)
    }
}

impl Encoder for FlacEncoder {
    fn encode(&mut self, sink: &mut dyn ByteSink, mut samples: &[i32]) -> Result<()> {
        let block = BLOCK_SIZE * self.channels;
        while !samples.is_empty() {
            let take = (block - self.pending.len()).min(samples.len());
            self.pending.extend_from_slice(&samples[..take]);
            samples = &samples[take..];
            if self.pending.len() == block {
                let full = std::mem::take(&mut self.pending);
                self.emit(sink, &full)?;
                self.pending = full;
                self.pending.clear();
            }
        }
        Ok(())
    }

    fn finish(&mut self, sink: &mut dyn ByteSink) -> Result<()> {
        if !self.pending.is_empty() {
            let rest = std::mem::take(&mut self.pending);
            self.emit(sink, &rest)?;
        }
        if sink.can_write_at() {
            self.info.set_md5_digest(&self.context.md5_digest());
            self.info.set_total_samples(self.context.total_samples());
            sink.write_at(0, &self.header()?)?;
        }
        Ok(())
    }
}
