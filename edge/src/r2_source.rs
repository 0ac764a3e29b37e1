//! The engine reads synchronously (`ByteSource::read_at`), but R2 reads are asynchronous and a
//! Worker cannot block. So the input is read through a block cache that the job fills with
//! ranged R2 reads *between* engine calls: before opening (retrying the open after each miss,
//! which only re-parses headers) and before each small step (reading ahead of the most recent
//! read, since demuxing moves forward through the file). A read the cache cannot serve in the
//! middle of a step (the first packet after an index at the end of the file, or a jump) makes
//! the job start the extraction again with that region fetched. Memory stays at the cache size
//! whatever the input size. Blocks that hold only bytes the engine said it leaves unread (the
//! video samples of an MP4) are never fetched: reading ahead passes over them.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::io;
use std::sync::{Arc, Mutex};

use converso_core::ByteSource;
use futures_util::StreamExt;
use worker::{Bucket, Range};

/// Cache block size.
pub const BLOCK: u64 = 1 << 20;
/// Blocks kept while extracting.
pub const MAX_BLOCKS: usize = 32;
/// Blocks read ahead of the furthest offset read, at least.
pub const READ_AHEAD_BLOCKS: u64 = 8;

/// Which blocks make room for new ones.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Evict {
    /// The least recently used: while opening, when reads jump between the headers, the index
    /// and the first packets, and each attempt reads them again.
    Lru,
    /// Those behind the most recent read, then those furthest ahead of it: while extracting,
    /// when the demuxer moves forward.
    Behind,
}

struct Cache {
    len: u64,
    blocks: BTreeMap<u64, Vec<u8>>,
    lru: VecDeque<u64>,
    capacity: usize,
    policy: Evict,
    /// The first block a read needed and did not find since the last `take_misses`, and how many
    /// reads missed.
    miss: Option<u64>,
    misses: u32,
    /// Blocks read since the last `begin_round`.
    touched: BTreeSet<u64>,
    /// End of the most recent read: where the demuxer reads next.
    cursor: u64,
    /// Byte ranges the engine leaves unread, sorted (`ByteSource::unread`).
    unread: Vec<(u64, u64)>,
}

impl Cache {
    /// Whether all of `block` lies in one unread range; if so, the block where that range ends.
    fn unread_until(&self, block: u64) -> Option<u64> {
        let (start, end) = (block * BLOCK, ((block + 1) * BLOCK).min(self.len));
        let i = self.unread.partition_point(|r| r.1 <= start);
        let &(s, e) = self.unread.get(i)?;
        (s <= start && e >= end).then_some((e / BLOCK).max(block + 1))
    }

    fn evict(&mut self) {
        while self.lru.len() > self.capacity {
            let victim = match self.policy {
                Evict::Lru => self.lru.front().copied(),
                Evict::Behind => {
                    let here = self.cursor / BLOCK;
                    self.lru.iter().copied().max_by_key(|&b| if b < here { (1, here - b) } else { (0, b - here) })
                }
            };
            let Some(victim) = victim else { break };
            self.lru.retain(|b| *b != victim);
            self.blocks.remove(&victim);
        }
    }
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
            capacity: MAX_BLOCKS,
            policy: Evict::Behind,
            miss: None,
            misses: 0,
            touched: BTreeSet::new(),
            cursor: 0,
            unread: Vec::new(),
        })))
    }

    fn with<T>(&self, f: impl FnOnce(&mut Cache) -> T) -> io::Result<T> {
        let mut c = self.0.lock().map_err(|_| io::Error::other("cache lock poisoned"))?;
        Ok(f(&mut c))
    }

    /// The block a read missed since the last call, if any.
    pub fn take_miss(&self) -> Option<u64> {
        self.take_misses().map(|(block, _)| block)
    }

    /// The first block a read missed since the last call and how many reads missed, if any did.
    pub fn take_misses(&self) -> Option<(u64, u32)> {
        self.with(|c| {
            let count = std::mem::take(&mut c.misses);
            c.miss.take().map(|block| (block, count))
        })
        .ok()
        .flatten()
    }

    /// Starts counting the blocks read afresh (see [`CachedSource::touched`]).
    pub fn begin_round(&self) {
        let _ = self.with(|c| c.touched.clear());
    }

    /// How many distinct blocks were read (or missed) since [`CachedSource::begin_round`].
    pub fn touched(&self) -> usize {
        self.with(|c| c.touched.len()).unwrap_or(0)
    }

    /// The blocks read (or missed) since [`CachedSource::begin_round`], in order.
    pub fn touched_blocks(&self) -> Vec<u64> {
        self.with(|c| c.touched.iter().copied().collect()).unwrap_or_default()
    }

    /// Moves the cursor to the start of `block`: the demuxer will read there next (after it
    /// opened the input again), so reading ahead and eviction work from there.
    pub fn expect_reads_at(&self, block: u64) {
        let _ = self.with(|c| c.cursor = block * BLOCK);
    }

    /// Changes how many blocks are kept and which make room, dropping any beyond the new size.
    pub fn set_capacity(&self, blocks: usize, policy: Evict) {
        let _ = self.with(|c| {
            c.capacity = blocks;
            c.policy = policy;
            c.evict();
        });
    }

    /// End of the most recent read.
    pub fn cursor(&self) -> u64 {
        self.with(|c| c.cursor).unwrap_or(0)
    }

    /// Of the `count` blocks from `first` on (within the input) that hold bytes the engine may
    /// read, those not cached.
    fn missing(&self, first: u64, count: u64) -> Vec<u64> {
        self.with(|c| {
            let last = c.len.div_ceil(BLOCK);
            let (mut block, mut taken, mut out) = (first, 0, Vec::new());
            while block < last && taken < count {
                if let Some(next) = c.unread_until(block) {
                    block = next;
                    continue;
                }
                if !c.blocks.contains_key(&block) {
                    out.push(block);
                }
                taken += 1;
                block += 1;
            }
            out
        })
        .unwrap_or_default()
    }

    /// `count` blocks from the most recent read on that are not cached yet.
    pub fn read_ahead(&self, count: u64) -> Vec<u64> {
        self.missing(self.cursor() / BLOCK, count)
    }

    /// Those of `blocks` not cached.
    pub fn uncached(&self, blocks: &[u64]) -> Vec<u64> {
        self.with(|c| blocks.iter().copied().filter(|b| !c.blocks.contains_key(b)).collect()).unwrap_or_default()
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
            c.evict();
        });
    }

    /// Reads `blocks` from `key`, one ranged read per run of consecutive blocks, streamed into
    /// the cache block by block (no copy of the whole run is held).
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
            let mut stream = object.body().ok_or_else(gone)?.stream()?;
            let mut block = start;
            let mut data = Vec::with_capacity(BLOCK.min(length) as usize);
            let mut read = 0u64;
            while let Some(chunk) = stream.next().await {
                let mut chunk = &chunk?[..];
                read += chunk.len() as u64;
                while !chunk.is_empty() {
                    let n = (BLOCK as usize - data.len()).min(chunk.len());
                    data.extend_from_slice(&chunk[..n]);
                    chunk = &chunk[n..];
                    if data.len() == BLOCK as usize {
                        self.insert(block, std::mem::replace(&mut data, Vec::with_capacity(BLOCK as usize)));
                        block += 1;
                    }
                }
            }
            if read != length {
                return Err(worker::Error::RustError(format!("a ranged read of {key} gave {read} of {length} bytes")));
            }
            if !data.is_empty() {
                self.insert(block, data);
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
            c.touched.insert(block);
            let Some(data) = c.blocks.get(&block) else {
                c.miss.get_or_insert(block);
                c.misses += 1;
                return Err(io::Error::other("input range not fetched yet"));
            };
            let at = (offset - block * BLOCK) as usize;
            let n = buf.len().min(data.len().saturating_sub(at));
            buf[..n].copy_from_slice(&data[at..at + n]);
            c.cursor = offset + n as u64;
            if c.lru.back() != Some(&block) {
                c.lru.retain(|b| *b != block);
                c.lru.push_back(block);
            }
            Ok(n)
        })?
    }

    fn unread(&mut self, ranges: &[(u64, u64)]) {
        let _ = self.with(|c| c.unread = ranges.to_vec());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reading_ahead_passes_over_blocks_left_unread() {
        let mut source = CachedSource::new(20 * BLOCK + 5);
        assert_eq!(source.read_ahead(4), [0, 1, 2, 3]);
        // Blocks 2 to 8 lie wholly in unread ranges; 1 and 9 only in part. The last block (20,
        // five bytes) is unread too.
        source.unread(&[(BLOCK + BLOCK / 2, 9 * BLOCK), (9 * BLOCK + 7, 9 * BLOCK + 9), (20 * BLOCK, 20 * BLOCK + 5)]);
        assert_eq!(source.read_ahead(4), [0, 1, 9, 10]);
        assert_eq!(source.ahead_of(5), [9, 10, 11, 12, 13, 14, 15, 16]);
        assert_eq!(source.missing(18, 8), [18, 19]);
        source.unread(&[]);
        assert_eq!(source.read_ahead(4), [0, 1, 2, 3]);
    }
}
