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
