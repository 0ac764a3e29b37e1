//! FLAC frames from another container → a native FLAC stream: the `fLaC` marker, STREAMINFO,
//! a VORBIS_COMMENT block when there are tags to write, then the frames unchanged.

use super::PacketMuxer;
use crate::error::{Error, Result};
use crate::sink::ByteSink;

/// Length of a STREAMINFO block body.
pub(crate) const STREAMINFO_LEN: usize = 34;

/// Metadata block type of VORBIS_COMMENT.
const VORBIS_COMMENT: u8 = 4;

/// Writes the stream header: marker, STREAMINFO, and a VORBIS_COMMENT block with `comments`
/// (`KEY=value`) when there are any.
pub(crate) fn write_header(sink: &mut dyn ByteSink, streaminfo: &[u8], comments: &[String]) -> Result<()> {
    let info = streaminfo_of(streaminfo)?;
    let last = if comments.is_empty() { 0x80 } else { 0 };
    sink.write(b"fLaC")?;
    sink.write(&[last, 0, 0, STREAMINFO_LEN as u8])?;
    sink.write(info)?;
    write_comment_block(sink, comments)
}

/// Writes a VORBIS_COMMENT block, marked as the last metadata block, unless `comments` is empty.
pub(crate) fn write_comment_block(sink: &mut dyn ByteSink, comments: &[String]) -> Result<()> {
    if comments.is_empty() {
        return Ok(());
    }
    let mut body = Vec::new();
    crate::codec::vorbis::write_comment_list(&mut body, comments);
    let len = u32::try_from(body.len())
        .ok()
        .filter(|&l| l < 1 << 24)
        .ok_or_else(|| Error::extraction_failed("the tags do not fit in a FLAC metadata block"))?;
    sink.write(&[0x80 | VORBIS_COMMENT])?;
    sink.write(&len.to_be_bytes()[1..])?;
    Ok(sink.write(&body)?)
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
    pub fn begin(sink: &mut dyn ByteSink, extra: &[u8], comments: &[String]) -> Result<FlacCopy> {
        write_header(sink, extra, comments)?;
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
        write_header(&mut a, &si, &[]).unwrap();
        let mut marked = b"fLaC\x80\0\0\x22".to_vec();
        marked.extend_from_slice(&si);
        let mut b = VecSink::default();
        write_header(&mut b, &marked, &[]).unwrap();
        assert_eq!(a.bytes, b.bytes);
        assert_eq!(a.bytes.len(), 8 + STREAMINFO_LEN);
        assert!(write_header(&mut VecSink::default(), &[1, 2, 3], &[]).is_err());
    }

    #[test]
    fn tags_go_in_a_last_vorbis_comment_block() {
        let mut s = VecSink::default();
        write_header(&mut s, &[7u8; STREAMINFO_LEN], &["TITLE=x".into()]).unwrap();
        let b = &s.bytes;
        assert_eq!(b[4], 0, "STREAMINFO is no longer the last block");
        let at = 8 + STREAMINFO_LEN;
        assert_eq!(b[at], 0x84);
        let len = u32::from_be_bytes([0, b[at + 1], b[at + 2], b[at + 3]]) as usize;
        assert_eq!(b.len(), at + 4 + len);
        assert!(b.ends_with(b"\x01\0\0\0\x07\0\0\0TITLE=x"));
    }
}
