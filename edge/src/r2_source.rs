//! The engine reads synchronously (`ByteSource::read_at`), but R2 reads are asynchronous and a
//! Worker cannot block. So the input is read through a block cache that the job fills with
//! ranged R2 reads *between* engine calls: before opening (retrying the open after each miss,
//! which only re-parses headers) and before each small step (reading ahead of the most recent
//! read, since demuxing moves forward through the file). A read the cache cannot serve in the
//! middle of a step (the first packet after an index at the end of the file, or a jump) makes
//! the job start the extraction again with that region fetched. Memory stays at the cache size
//! whatever the input size.

use std::collections::{BTreeMap, VecDeque};
use std::io;
use std::sync::{Arc, Mutex};

use converso_core::ByteSource;
use worker::{Bucket, Range};

/// Cache block size.
pub const BLOCK: u64 = 1 << 20;
/// Blocks kept (LRU).
const MAX_BLOCKS: usize = 40;
/// Blocks read ahead of the furthest offset read.
pub const READ_AHEAD_BLOCKS: u64 = 8;

struct Cache {
    len: u64,
    blocks: BTreeMap<u64, Vec<u8>>,
    lru: VecDeque<u64>,
    /// The first block a read needed and did not find since the last fill.
    miss: Option<u64>,
    /// End of the most recent read: where the demuxer reads next.
    cursor: u64,
}

/// A cloneable handle: the engine reads through one clone while the job fills another.
#[derive(Clone)]
pub struct CachedSource(Arc<Mutex<Cache>>);

impl CachedSource {
    pub fn new(len: u64) -> Self {
        CachedSource(Arc::new(Mutex::new(Cache {
            len,
            blocks: BTreeMap::new(),
            lru: VecDeque::new(),
            miss: None,
            cursor: 0,
        })))
    }

    fn with<T>(&self, f: impl FnOnce(&mut Cache) -> T) -> io::Result<T> {
        let mut c = self.0.lock().map_err(|_| io::Error::other("cache lock poisoned"))?;
        Ok(f(&mut c))
    }

    /// The block a read missed since the last call, if any.
    pub fn take_miss(&self) -> Option<u64> {
        self.with(|c| c.miss.take()).ok().flatten()
    }

    /// Blocks from `first` on (at most `count`, within the input) that are not cached.
    fn missing(&self, first: u64, count: u64) -> Vec<u64> {
        self.with(|c| {
            let last = c.len.div_ceil(BLOCK);
            (first..(first + count).min(last)).filter(|b| !c.blocks.contains_key(b)).collect()
        })
        .unwrap_or_default()
    }

    /// Blocks from the most recent read on that are not cached yet.
    pub fn read_ahead(&self) -> Vec<u64> {
        let cursor = self.with(|c| c.cursor).unwrap_or(0);
        self.missing(cursor / BLOCK, READ_AHEAD_BLOCKS)
    }

    /// `block` and the read-ahead after it, not cached yet.
    pub fn ahead_of(&self, block: u64) -> Vec<u64> {
        self.missing(block, READ_AHEAD_BLOCKS)
    }

    fn insert(&self, block: u64, data: Vec<u8>) {
        let _ = self.with(|c| {
            c.blocks.insert(block, data);
            c.lru.retain(|b| *b != block);
            c.lru.push_back(block);
            while c.lru.len() > MAX_BLOCKS {
                if let Some(old) = c.lru.pop_front() {
                    c.blocks.remove(&old);
                }
            }
        });
    }

    /// Reads `blocks` (and the next few after each miss) from `key`, one ranged read per run of
    /// consecutive blocks.
    pub async fn fill(&self, bucket: &Bucket, key: &str, blocks: &[u64]) -> worker::Result<()> {
        let len = self.with(|c| c.len).map_err(|e| worker::Error::RustError(e.to_string()))?;
        let mut i = 0;
        while i < blocks.len() {
            let start = blocks[i];
            let mut end = start + 1;
            while i + 1 < blocks.len() && blocks[i + 1] == end {
                end += 1;
                i += 1;
            }
            i += 1;
            let offset = start * BLOCK;
            let length = (end * BLOCK).min(len) - offset;
            let gone = || worker::Error::RustError(format!("input object {key} is gone"));
            let object =
                bucket.get(key).range(Range::OffsetWithLength { offset, length }).execute().await?.ok_or_else(gone)?;
            let bytes = object.body().ok_or_else(gone)?.bytes().await?;
            for (k, chunk) in bytes.chunks(BLOCK as usize).enumerate() {
                self.insert(start + k as u64, chunk.to_vec());
            }
        }
        Ok(())
    }
}

impl ByteSource for CachedSource {
    fn len(&self) -> u64 {
        self.with(|c| c.len).unwrap_or(0)
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        self.with(|c| {
            if offset >= c.len || buf.is_empty() {
                return Ok(0);
            }
            let block = offset / BLOCK;
            let Some(data) = c.blocks.get(&block) else {
                c.miss.get_or_insert(block);
                return Err(io::Error::other("input range not fetched yet"));
            };
            let at = (offset - block * BLOCK) as usize;
            let n = buf.len().min(data.len().saturating_sub(at));
            buf[..n].copy_from_slice(&data[at..at + n]);
            c.cursor = offset + n as u64;
            Ok(n)
        })?
    }
}
