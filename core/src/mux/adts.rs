//! Raw AAC frames → ADTS: a 7-byte header before each frame.

use super::PacketMuxer;
use crate::codec::aac::AdtsConfig;
use crate::error::Result;
use crate::sink::ByteSink;

pub(crate) struct Adts {
    config: AdtsConfig,
}

impl Adts {
    pub fn new(config: AdtsConfig) -> Self {
        Adts { config }
    }
}

impl PacketMuxer for Adts {
    fn write_packet(&mut self, sink: &mut dyn ByteSink, data: &[u8]) -> Result<()> {
        sink.write(&self.config.header(data.len())?)?;
        Ok(sink.write(data)?)
    }

    fn finish(&mut self, _sink: &mut dyn ByteSink) -> Result<()> {
        Ok(())
    }
}
