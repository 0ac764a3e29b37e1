//! FLAC frames from another container → a native FLAC stream: the `fLaC` marker, STREAMINFO as
//! the only (last) metadata block, then the frames unchanged.

use super::PacketMuxer;
use crate::error::{Error, Result};
use crate::sink::ByteSink;

/// Length of a STREAMINFO block body.
pub(crate) const STREAMINFO_LEN: usize = 34;

/// Writes the stream header: marker plus STREAMINFO as the last metadata block.
pub(crate) fn write_header(sink: &mut dyn ByteSink, streaminfo: &[u8]) -> Result<()> {
    let info = streaminfo_of(streaminfo)?;
    sink.write(b"fLaC")?;
    sink.write(&[0x80, 0, 0, STREAMINFO_LEN as u8])?;
    Ok(sink.write(info)?)
}

/// The STREAMINFO body from codec private data: bare, or behind a `fLaC` marker and block header.
fn streaminfo_of(extra: &[u8]) -> Result<&[u8]> {
    let body = match extra.strip_prefix(b"fLaC") {
        Some(rest) => rest.get(4..),
        None => Some(extra),
    };
    body.and_then(|b| b.get(..STREAMINFO_LEN))
        .ok_or_else(|| Error::invalid_video("the FLAC track has no STREAMINFO header"))
}

pub(crate) struct FlacCopy;

impl FlacCopy {
    pub fn begin(sink: &mut dyn ByteSink, extra: &[u8]) -> Result<FlacCopy> {
        write_header(sink, extra)?;
        Ok(FlacCopy)
    }
}

impl PacketMuxer for FlacCopy {
    fn write_packet(&mut self, sink: &mut dyn ByteSink, data: &[u8]) -> Result<()> {
        Ok(sink.write(data)?)
    }

    fn finish(&mut self, _sink: &mut dyn ByteSink) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::VecSink;

    #[test]
    fn header_from_bare_or_marked_streaminfo() {
        let si = [7u8; STREAMINFO_LEN];
        let mut a = VecSink::default();
        write_header(&mut a, &si).unwrap();
        let mut marked = b"fLaC\x80\0\0\x22".to_vec();
        marked.extend_from_slice(&si);
        let mut b = VecSink::default();
        write_header(&mut b, &marked).unwrap();
        assert_eq!(a.bytes, b.bytes);
        assert_eq!(a.bytes.len(), 8 + STREAMINFO_LEN);
        assert!(write_header(&mut VecSink::default(), &[1, 2, 3]).is_err());
    }
}
