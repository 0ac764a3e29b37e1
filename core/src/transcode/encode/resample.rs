//! Streaming sample-rate conversion for encoders that need another rate (rubato's FFT
//! resampler: a fixed ratio, BlackmanHarris-windowed anti-aliasing filter).
//!
//! Memory is one input chunk (about 1024 frames) and one output chunk, whatever the length of
//! the audio. The resampler's own delay is taken off the front and the tail is flushed at the
//! end, so `n` input frames become `round(n × to / from)` output frames aligned with the input:
//! the output is what a zero-delay resampler would give.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler as _};

use crate::error::{Error, Result};

/// Input frames per processing chunk (rubato rounds it to a multiple the ratio allows).
const CHUNK: usize = 1024;

pub(crate) struct Resampler {
    inner: Fft<f32>,
    from: u32,
    to: u32,
    channels: usize,
    /// Interleaved input not yet processed (less than one chunk between calls).
    pending: Vec<f32>,
    /// One chunk of output.
    chunk_out: Vec<f32>,
    /// Output frames of start-up delay still to drop.
    delay: usize,
    frames_in: u64,
    frames_out: u64,
}

fn failed(e: impl std::fmt::Display) -> Error {
    Error::extraction_failed("the audio could not be resampled").with_details(e.to_string())
}

impl Resampler {
    pub fn new(from: u32, to: u32, channels: usize) -> Result<Resampler> {
        let inner = Fft::<f32>::new(from as usize, to as usize, CHUNK, channels, FixedSync::Input).map_err(failed)?;
        let delay = inner.output_delay();
        let chunk_out = vec![0.0; inner.output_frames_max() * channels];
        Ok(Resampler { inner, from, to, channels, pending: Vec::new(), chunk_out, delay, frames_in: 0, frames_out: 0 })
    }

    /// Resamples interleaved `input` (whole frames), appending what is ready to `out`.
    pub fn process(&mut self, input: &[f32], out: &mut Vec<f32>) -> Result<()> {
        self.frames_in += (input.len() / self.channels) as u64;
        self.pending.extend_from_slice(input);
        self.run(out, u64::MAX)
    }

    /// Flushes the tail: appends the rest of the output to `out`.
    pub fn finish(&mut self, out: &mut Vec<f32>) -> Result<()> {
        let want = (self.frames_in * u64::from(self.to) + u64::from(self.from) / 2) / u64::from(self.from);
        while self.frames_out < want {
            let need = self.inner.input_frames_next() * self.channels;
            self.pending.resize(self.pending.len().max(need), 0.0);
            self.run(out, want)?;
        }
        Ok(())
    }

    /// Processes every whole chunk in `pending`, emitting at most up to `limit` output frames.
    fn run(&mut self, out: &mut Vec<f32>, limit: u64) -> Result<()> {
        let ch = self.channels;
        let mut used = 0;
        loop {
            let need = self.inner.input_frames_next();
            if self.pending.len() - used < need * ch {
                break;
            }
            let input = InterleavedSlice::new(&self.pending[used..used + need * ch], ch, need).map_err(failed)?;
            let capacity = self.chunk_out.len() / ch;
            let mut output = InterleavedSlice::new_mut(&mut self.chunk_out, ch, capacity).map_err(failed)?;
            let (consumed, produced) = self.inner.process_into_buffer(&input, &mut output, None).map_err(failed)?;
            used += consumed * ch;
            let skip = self.delay.min(produced);
            self.delay -= skip;
            let room = limit.saturating_sub(self.frames_out).min((produced - skip) as u64) as usize;
            out.extend_from_slice(&self.chunk_out[skip * ch..(skip + room) * ch]);
            self.frames_out += room as u64;
        }
        self.pending.drain(..used);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(rate: u32, hz: f64, frames: usize) -> Vec<f32> {
        (0..frames).map(|i| (0.5 * (std::f64::consts::TAU * hz * i as f64 / f64::from(rate)).sin()) as f32).collect()
    }

    #[test]
    fn length_and_alignment_match_the_ratio() {
        let input = sine(44100, 1000.0, 44100);
        let mut r = Resampler::new(44100, 48000, 1).unwrap();
        let mut out = Vec::new();
        for c in input.chunks(999) {
            r.process(c, &mut out).unwrap();
        }
        r.finish(&mut out).unwrap();
        assert_eq!(out.len(), 48000);
        // The output is the same sine at the new rate, from sample 0 on (edges aside).
        let want = sine(48000, 1000.0, 48000);
        let (mut sig, mut err) = (0.0f64, 0.0f64);
        for (a, b) in want[1000..47000].iter().zip(&out[1000..47000]) {
            sig += f64::from(*a).powi(2);
            err += f64::from(a - b).powi(2);
        }
        let snr = 10.0 * (sig / err).log10();
        assert!(snr > 80.0, "SNR {snr:.1} dB");
    }

    #[test]
    fn short_and_empty_inputs() {
        let mut r = Resampler::new(48000, 16000, 2).unwrap();
        let mut out = Vec::new();
        r.process(&[0.1; 6], &mut out).unwrap();
        r.finish(&mut out).unwrap();
        assert_eq!(out.len(), 2);
        let mut r = Resampler::new(22050, 44100, 2).unwrap();
        let mut out = Vec::new();
        r.finish(&mut out).unwrap();
        assert!(out.is_empty());
    }
}
