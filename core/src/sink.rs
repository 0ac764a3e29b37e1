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

/// A sink that passes its output on in chunks as it is produced, keeping only the first bytes
/// (where formats patch their headers) until the end: the browser builds a `Blob` from the
/// chunks, the edge uploads them as multipart parts. Memory stays at `head + chunk` bytes plus
/// the chunks not yet taken.
#[derive(Clone, Debug)]
pub struct ChunkSink {
    head: Vec<u8>,
    head_len: usize,
    current: Vec<u8>,
    chunk_len: usize,
    full: Vec<Vec<u8>>,
}

impl ChunkSink {
    /// Keeps the first `head_len` bytes for patches and cuts the rest into `chunk_len`-byte chunks.
    pub fn new(head_len: usize, chunk_len: usize) -> Self {
        ChunkSink { head: Vec::new(), head_len, current: Vec::new(), chunk_len: chunk_len.max(1), full: Vec::new() }
    }

    /// The complete chunks written since the last call, in order (they follow the head).
    pub fn take_chunks(&mut self) -> Vec<Vec<u8>> {
        std::mem::take(&mut self.full)
    }

    /// After the last write: the head and the unfinished last chunk, if any. The whole output
    /// is the head, then every chunk taken, then this last one.
    pub fn into_parts(self) -> (Vec<u8>, Option<Vec<u8>>) {
        (self.head, Some(self.current).filter(|c| !c.is_empty()))
    }
}

impl ByteSink for ChunkSink {
    fn write(&mut self, mut data: &[u8]) -> io::Result<()> {
        if self.head.len() < self.head_len {
            let n = (self.head_len - self.head.len()).min(data.len());
            self.head.extend_from_slice(&data[..n]);
            data = &data[n..];
        }
        while !data.is_empty() {
            let n = (self.chunk_len - self.current.len()).min(data.len());
            self.current.extend_from_slice(&data[..n]);
            data = &data[n..];
            if self.current.len() == self.chunk_len {
                self.full.push(std::mem::take(&mut self.current));
            }
        }
        Ok(())
    }

    fn can_write_at(&self) -> bool {
        true
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        let start = usize::try_from(offset).map_err(io::Error::other)?;
        match self.head.get_mut(start..start + data.len()) {
            Some(slot) => {
                slot.copy_from_slice(data);
                Ok(())
            }
            None => Err(io::Error::new(io::ErrorKind::Unsupported, "patch outside the kept head of the output")),
        }
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

    #[test]
    fn chunk_sink_keeps_head_and_cuts_the_rest() {
        let mut s = ChunkSink::new(4, 3);
        s.write(b"RIFF0").unwrap();
        s.write(b"123456").unwrap();
        s.write_at(1, b"XY").unwrap();
        assert!(s.write_at(3, b"zz").is_err(), "past the head");
        assert_eq!(s.take_chunks(), vec![b"012".to_vec(), b"345".to_vec()]);
        assert!(s.take_chunks().is_empty());
        s.write(b"7").unwrap();
        assert_eq!(s.into_parts(), (b"RXYF".to_vec(), Some(b"67".to_vec())));
    }
}
