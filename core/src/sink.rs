//! Output.
//!
//! Muxers write through [`ByteSink`] in order. Some formats know sizes only at the end (WAV chunk
//! sizes, FLAC total samples); they patch earlier bytes with [`ByteSink::write_at`] when the sink
//! [can](ByteSink::can_write_at), and otherwise leave the "unknown size" values their format
//! allows, so non-seekable outputs (a pipe, a network stream) still work.

use std::io;

/// Where the output bytes go.
pub trait ByteSink {
    /// Appends bytes.
    fn write(&mut self, data: &[u8]) -> io::Result<()>;

    /// Whether [`ByteSink::write_at`] works.
    fn can_write_at(&self) -> bool {
        false
    }

    /// Overwrites bytes already written at `offset` (header fix-ups).
    fn write_at(&mut self, _offset: u64, _data: &[u8]) -> io::Result<()> {
        Err(io::Error::new(io::ErrorKind::Unsupported, "this output cannot be patched"))
    }

    /// Called once after the last byte; flush buffers here.
    fn finish(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<S: ByteSink + ?Sized> ByteSink for &mut S {
    fn write(&mut self, data: &[u8]) -> io::Result<()> {
        (**self).write(data)
    }
    fn can_write_at(&self) -> bool {
        (**self).can_write_at()
    }
    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        (**self).write_at(offset, data)
    }
    fn finish(&mut self) -> io::Result<()> {
        (**self).finish()
    }
}

impl<S: ByteSink + ?Sized> ByteSink for Box<S> {
    fn write(&mut self, data: &[u8]) -> io::Result<()> {
        (**self).write(data)
    }
    fn can_write_at(&self) -> bool {
        (**self).can_write_at()
    }
    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        (**self).write_at(offset, data)
    }
    fn finish(&mut self) -> io::Result<()> {
        (**self).finish()
    }
}

/// A sink that collects the output in memory (tests, small outputs, the browser's `Blob`).
#[derive(Clone, Debug, Default)]
pub struct VecSink {
    /// The bytes written so far.
    pub bytes: Vec<u8>,
}

impl ByteSink for VecSink {
    fn write(&mut self, data: &[u8]) -> io::Result<()> {
        self.bytes.extend_from_slice(data);
        Ok(())
    }

    fn can_write_at(&self) -> bool {
        true
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        let start = usize::try_from(offset).map_err(io::Error::other)?;
        let end = start + data.len();
        if end > self.bytes.len() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "patch past the end"));
        }
        self.bytes[start..end].copy_from_slice(data);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vec_sink_patches_in_place() {
        let mut s = VecSink::default();
        s.write(b"RIFF0000").unwrap();
        s.write_at(4, b"1234").unwrap();
        assert_eq!(s.bytes, b"RIFF1234");
        assert!(s.write_at(6, b"xyz").is_err());
    }
}
