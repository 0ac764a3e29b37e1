//! Encoders: interleaved integer PCM in, a finished file out. The set is closed and chosen
//! with one `match` in `extract.rs`.
//!
//! Lossless encoders (FLAC, WAV) take the decoded integers as they are. Lossy ones (MP3, AAC,
//! Opus, Vorbis) are [`Lossy`]: the samples become floats in [-1, 1], are downmixed and resampled when
//! the codec cannot carry the source's layout or rate ([`Prep`]), and go to the codec.

pub(crate) mod aac;
pub(crate) mod downmix;
pub(crate) mod flac;
pub(crate) mod mp3;
pub(crate) mod opus;
pub(crate) mod resample;
pub(crate) mod vorbis;
pub(crate) mod wav;

use crate::error::Result;
use crate::sink::ByteSink;
use downmix::Downmix;
use resample::Resampler;

/// One output format's encoder (container included).
pub(crate) trait Encoder {
    /// Encodes interleaved samples (any number of whole frames).
    fn encode(&mut self, sink: &mut dyn ByteSink, samples: &[i32]) -> Result<()>;
    /// Flushes buffered audio and closes the file.
    fn finish(&mut self, sink: &mut dyn ByteSink) -> Result<()>;
}

/// Packs samples as little-endian integers of `width` bytes (2, 3 or 4) into `out`: WAV's
/// sample layout, and the byte stream FLAC's MD5 covers.
pub(crate) fn pack_le(samples: &[i32], width: usize, out: &mut Vec<u8>) {
    out.resize(samples.len() * width, 0);
    // One loop per width so each compiles to a tight, vectorised copy.
    match width {
        1 => out.iter_mut().zip(samples).for_each(|(d, s)| *d = *s as u8),
        2 => out.chunks_exact_mut(2).zip(samples).for_each(|(d, s)| d.copy_from_slice(&(*s as i16).to_le_bytes())),
        3 => out.chunks_exact_mut(3).zip(samples).for_each(|(d, s)| d.copy_from_slice(&s.to_le_bytes()[..3])),
        _ => out.chunks_exact_mut(4).zip(samples).for_each(|(d, s)| d.copy_from_slice(&s.to_le_bytes())),
    }
}

/// Vorbis channel order (Vorbis I §4.3.9, also Opus's mapping family 1: RFC 7845 §5.1.1.2) from
/// the decoders' WAV order (`mux::wav::default_channel_mask`): for each Vorbis channel, its index
/// in a WAV-order frame. One to eight channels.
pub(crate) fn vorbis_channel_order(channels: usize) -> Option<&'static [usize]> {
    Some(match channels {
        1 => &[0],
        2 => &[0, 1],
        3 => &[0, 2, 1],                // FL FR FC → L C R
        4 => &[0, 1, 2, 3],             // FL FR BL BR
        5 => &[0, 2, 1, 3, 4],          // FL FR FC BL BR → FL C FR RL RR
        6 => &[0, 2, 1, 4, 5, 3],       // FL FR FC LFE BL BR → FL C FR RL RR LFE
        7 => &[0, 2, 1, 4, 5, 6, 3],    // FL FR FC LFE BL BR BC → FL C FR SL SR RC LFE
        8 => &[0, 2, 1, 6, 7, 4, 5, 3], // FL FR FC LFE BL BR SL SR → FL C FR SL SR RL RR LFE
        _ => return None,
    })
}

/// A lossy codec with its container, fed interleaved floats in [-1, 1] at its own rate and
/// channel count.
pub(crate) trait FloatEncoder {
    /// Encodes interleaved samples (any number of whole frames).
    fn encode(&mut self, sink: &mut dyn ByteSink, samples: &[f32]) -> Result<()>;
    /// Flushes buffered audio and closes the file.
    fn finish(&mut self, sink: &mut dyn ByteSink) -> Result<()>;
}

/// Integer PCM → floats at the codec's layout and rate.
pub(crate) struct Prep {
    channels: usize,
    scale: f32,
    downmix: Option<Downmix>,
    resampler: Option<Resampler>,
    floats: Vec<f32>,
    mixed: Vec<f32>,
}

impl Prep {
    /// From `channels` at `rate` with samples of `bits` bits, to `out_channels` (the same, or 2 by
    /// downmixing) at `out_rate`.
    pub fn new(channels: usize, rate: u32, bits: u32, out_channels: usize, out_rate: u32) -> Result<Prep> {
        let downmix = (channels != out_channels).then(|| Downmix::to_stereo(channels));
        let resampler = match rate == out_rate {
            true => None,
            false => Some(Resampler::new(rate, out_rate, out_channels)?),
        };
        Ok(Prep {
            channels,
            scale: 1.0 / (1u64 << (bits - 1)) as f32,
            downmix,
            resampler,
            floats: Vec::new(),
            mixed: Vec::new(),
        })
    }

    /// Converts interleaved integer `samples` (whole frames of the source's channels); the
    /// result replaces the contents of `out`.
    pub fn process(&mut self, samples: &[i32], out: &mut Vec<f32>) -> Result<()> {
        debug_assert_eq!(samples.len() % self.channels, 0);
        out.clear();
        self.floats.clear();
        self.floats.extend(samples.iter().map(|&s| s as f32 * self.scale));
        let mut current = &self.floats;
        if let Some(d) = &self.downmix {
            self.mixed.clear();
            d.apply(current, &mut self.mixed);
            current = &self.mixed;
        }
        match &mut self.resampler {
            Some(r) => r.process(current, out),
            None => {
                out.extend_from_slice(current);
                Ok(())
            }
        }
    }

    /// What is still buffered at the end (the resampler's tail); replaces the contents of `out`.
    pub fn finish(&mut self, out: &mut Vec<f32>) -> Result<()> {
        out.clear();
        match &mut self.resampler {
            Some(r) => r.finish(out),
            None => Ok(()),
        }
    }
}

/// A lossy encoder: [`Prep`] in front of a [`FloatEncoder`].
pub(crate) struct Lossy<E> {
    prep: Prep,
    codec: E,
    buf: Vec<f32>,
}

impl<E: FloatEncoder> Lossy<E> {
    pub fn new(prep: Prep, codec: E) -> Lossy<E> {
        Lossy { prep, codec, buf: Vec::new() }
    }
}

impl<E: FloatEncoder> Encoder for Lossy<E> {
    fn encode(&mut self, sink: &mut dyn ByteSink, samples: &[i32]) -> Result<()> {
        self.prep.process(samples, &mut self.buf)?;
        self.codec.encode(sink, &self.buf)
    }

    fn finish(&mut self, sink: &mut dyn ByteSink) -> Result<()> {
        self.prep.finish(&mut self.buf)?;
        self.codec.encode(sink, &self.buf)?;
        self.codec.finish(sink)
    }
}
