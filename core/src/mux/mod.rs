//! Output containers. Each writes through a [`ByteSink`] in one pass; the set is closed and
//! chosen with one `match` in `extract.rs`.

pub(crate) mod adts;
pub(crate) mod flac;
pub(crate) mod ogg;
pub(crate) mod tags;
pub(crate) mod wav;

use crate::error::Result;
use crate::sink::ByteSink;

/// A container that takes one compressed packet at a time (stream copy).
pub(crate) trait PacketMuxer {
    /// Writes one packet of the source track.
    fn write_packet(&mut self, sink: &mut dyn ByteSink, data: &[u8]) -> Result<()>;
    /// Notes that the source marks `frames` at the end of the last packet as padding; formats
    /// that can signal it (Ogg, through the final granule position) keep it out of playback.
    fn trim_end(&mut self, _frames: u64) {}
    /// Writes what closes the file; header fix-ups go through `write_at` where the sink allows.
    fn finish(&mut self, sink: &mut dyn ByteSink) -> Result<()>;
}

/// MP3 frames need no container: the output is the frames back to back.
pub(crate) struct RawFrames;

impl PacketMuxer for RawFrames {
    fn write_packet(&mut self, sink: &mut dyn ByteSink, data: &[u8]) -> Result<()> {
        Ok(sink.write(data)?)
    }

    fn finish(&mut self, _sink: &mut dyn ByteSink) -> Result<()> {
        Ok(())
    }
}
