//! Random-access input.
//!
//! The engine reads its input through [`ByteSource`] so that the same code runs over a file
//! (CLI), a `Blob` read in slices (browser) or ranged reads from object storage (edge). MP4 files
//! with the index at the end need random access, so the trait is `read_at`, not a stream.

use std::io;

/// A random-access, read-only byte source of known length.
///
/// `Send + Sync` because the demuxer requires it; single-threaded hosts (wasm32) can wrap
/// their handles accordingly.
pub trait ByteSource: Send + Sync {
    /// Total length in bytes.
    fn len(&self) -> u64;

    /// Whether the source has no bytes at all.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Reads up to `buf.len()` bytes at `offset`; returns how many were read (0 at the end).
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<usize>;

    /// Told, each time the input is opened, which byte ranges (sorted, as `(start, end)`) the
    /// engine will leave unread: in MP4 files, the samples of the tracks it does not extract.
    /// Sources that fetch ahead of the reads can leave them out; empty when anything may be
    /// read. The default ignores it.
    fn unread(&mut self, ranges: &[(u64, u64)]) {
        let _ = ranges;
    }
}

/// A source over bytes already in memory.
#[derive(Clone, Debug)]
pub struct SliceSource<T> {
    bytes: T,
}

impl<T: AsRef<[u8]>> SliceSource<T> {
    /// Wraps `bytes` (a `Vec<u8>`, `&'static [u8]`, `Arc<[u8]>`, …).
    pub fn new(bytes: T) -> Self {
        SliceSource { bytes }
    }
}

impl<T: AsRef<[u8]> + Send + Sync> ByteSource for SliceSource<T> {
    fn len(&self) -> u64 {
        self.bytes.as_ref().len() as u64
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let bytes = self.bytes.as_ref();
        let start = usize::try_from(offset).unwrap_or(usize::MAX).min(bytes.len());
        let n = buf.len().min(bytes.len() - start);
        buf[..n].copy_from_slice(&bytes[start..start + n]);
        Ok(n)
    }
}

impl<S: ByteSource + ?Sized> ByteSource for Box<S> {
    fn len(&self) -> u64 {
        (**self).len()
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        (**self).read_at(offset, buf)
    }

    fn unread(&mut self, ranges: &[(u64, u64)]) {
        (**self).unread(ranges);
    }
}

/// Reads as many bytes as are available at `offset`, up to `buf.len()`.
pub(crate) fn read_full(src: &mut dyn ByteSource, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match src.read_at(offset + filled as u64, &mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slice_source_reads_within_bounds() {
        let mut s = SliceSource::new(vec![1u8, 2, 3, 4]);
        let mut buf = [0u8; 3];
        assert_eq!(s.read_at(2, &mut buf).unwrap(), 2);
        assert_eq!(&buf[..2], &[3, 4]);
        assert_eq!(s.read_at(10, &mut buf).unwrap(), 0);
        assert_eq!(s.len(), 4);
    }
}
