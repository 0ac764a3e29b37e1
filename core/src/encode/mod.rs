//! Encoders: interleaved integer PCM in, a finished file out. The set is closed and chosen
//! with one `match` in `extract.rs`.

pub(crate) mod flac;
pub(crate) mod wav;

use crate::error::Result;
use crate::sink::ByteSink;

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
