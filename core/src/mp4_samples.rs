//! Where the samples of MP4 tracks are, so that demuxing one track leaves the others unread.
//!
//! symphonia's MP4 reader has no track selection: it hands out the packets of every track in
//! file order and reads each one's bytes, so extracting the audio of a video would read the
//! whole file, video included. From the sample tables (`stsc`, `stsz`, `stco`/`co64`) and the
//! `trun`s of movie fragments this module works out where each track's samples are, locating
//! them the way symphonia does; the demuxer's reader answers reads of the other tracks' samples
//! with zeros instead of reading them (those packets are dropped). Only bytes inside `mdat`
//! payloads are ever left unread, never any that a kept track's sample covers; when a kept
//! track's table cannot be followed, or the tables are too large, everything is read.

use std::io;

use crate::limits::{MAX_SAMPLE_RANGES, TABLE_READ_BYTES};
use crate::mp4_boxes::{Mp4Track, Mp4Tracks, SampleTable};
use crate::source::{read_full, ByteSource};

/// Byte ranges of the input left unread: sorted, disjoint and apart.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Unread {
    ranges: Vec<(u64, u64)>,
}

/// What is at a position of the input.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Span {
    /// Bytes left unread, up to the given end.
    Unread(u64),
    /// Bytes to read, up to the next unread range (`u64::MAX` if none follows).
    Read(u64),
}

impl Unread {
    pub fn span(&self, pos: u64) -> Span {
        let i = self.ranges.partition_point(|r| r.1 <= pos);
        match self.ranges.get(i) {
            Some(&(start, end)) if start <= pos => Span::Unread(end),
            Some(&(start, _)) => Span::Read(start),
            None => Span::Read(u64::MAX),
        }
    }

    /// The ranges, as (start, end).
    pub fn ranges(&self) -> &[(u64, u64)] {
        &self.ranges
    }
}

/// What can be left unread when only the tracks `keep` accepts are demuxed for their data;
/// `None` when nothing can.
pub(crate) fn unread(
    src: &mut dyn ByteSource,
    mp4: &Mp4Tracks,
    keep: &dyn Fn(u32, &Mp4Track) -> bool,
) -> io::Result<Option<Unread>> {
    let (mut kept, mut other) = (Vec::new(), Vec::new());
    let mut any_kept = false;
    let mut ids: Vec<u32> = mp4.tracks.keys().copied().collect();
    ids.sort_unstable();
    for id in ids {
        let t = &mp4.tracks[&id];
        if keep(id, t) {
            any_kept = true;
            if t.unsized_fragments || !chunk_ranges(src, &t.table, &mut kept, other.len())? {
                return Ok(None);
            }
        } else {
            // What an unreadable table left out is simply read.
            chunk_ranges(src, &t.table, &mut other, kept.len())?;
        }
        if kept.len() + other.len() > MAX_SAMPLE_RANGES {
            return Ok(None);
        }
    }
    if !any_kept {
        return Ok(None);
    }
    for run in &mp4.fragment_runs {
        let Some(t) = mp4.tracks.get(&run.track) else {
            continue;
        };
        let into = if keep(run.track, t) { &mut kept } else { &mut other };
        push(into, run.start, run.start + run.len);
    }
    if kept.len() + other.len() > MAX_SAMPLE_RANGES {
        return Ok(None);
    }
    let (kept, other, mdat) = (merged(kept), merged(other), merged(mp4.mdat.clone()));
    let mut ranges = subtract(&intersect(&other, &mdat), &kept);
    if ranges.is_empty() {
        return Ok(None);
    }
    ranges.shrink_to_fit();
    Ok(Some(Unread { ranges }))
}

/// Appends the byte range of each chunk of a non-fragmented track's samples, as symphonia
/// locates them (`stsc` maps samples to chunks, `stco`/`co64` places the chunks, `stsz` sizes
/// the samples). `false` when the table cannot be followed; nothing is appended past
/// [`MAX_SAMPLE_RANGES`] (with `others` ranges held elsewhere).
fn chunk_ranges(
    src: &mut dyn ByteSource,
    table: &SampleTable,
    out: &mut Vec<(u64, u64)>,
    others: usize,
) -> io::Result<bool> {
    let (Some(stsc), Some(stsz)) = (table.stsc, table.stsz) else {
        return Ok(false);
    };
    let mut sizes = Cursor::new(stsz);
    let Some(head) = sizes.take::<12>(src)? else {
        return Ok(false);
    };
    let (constant, count) = (u32::from_be_bytes(word(&head, 4)), u64::from(u32::from_be_bytes(word(&head, 8))));
    if count == 0 {
        return Ok(true);
    }
    if constant == 0 && sizes.left() < 4 * count {
        return Ok(false);
    }
    let Some(co) = table.chunk_offsets else {
        return Ok(false);
    };
    let width = if table.wide { 8 } else { 4 };
    let mut offsets = Cursor::new(co);
    let Some(head) = offsets.take::<8>(src)? else {
        return Ok(false);
    };
    let chunks = u64::from(u32::from_be_bytes(word(&head, 4)));
    if offsets.left() < width * chunks {
        return Ok(false);
    }
    let mut map = Cursor::new(stsc);
    let Some(head) = map.take::<8>(src)? else {
        return Ok(false);
    };
    let mut entries = u64::from(u32::from_be_bytes(word(&head, 4)));
    if entries == 0 || map.left() < 12 * entries {
        return Ok(false);
    }
    // (first chunk counted from 0, samples per chunk); symphonia refuses a table breaking these
    // rules, so the file is not read at all then.
    let mut entry = |map: &mut Cursor, src: &mut dyn ByteSource| -> io::Result<Option<Option<(u64, u64)>>> {
        if entries == 0 {
            return Ok(Some(None));
        }
        entries -= 1;
        let Some(e) = map.take::<12>(src)? else {
            return Ok(None);
        };
        let (first, per_chunk) = (u32::from_be_bytes(word(&e, 0)), u32::from_be_bytes(word(&e, 4)));
        if first == 0 || per_chunk == 0 {
            return Ok(None);
        }
        Ok(Some(Some((u64::from(first - 1), u64::from(per_chunk)))))
    };
    let Some(Some(mut current)) = entry(&mut map, src)? else {
        return Ok(false);
    };
    let Some(mut next) = entry(&mut map, src)? else {
        return Ok(false);
    };
    let mut chunk = current.0;
    offsets.skip(chunk * width);
    let mut sample = 0u64;
    while sample < count && chunk < chunks {
        while let Some(n) = next.filter(|n| chunk >= n.0) {
            if n.0 < current.0 {
                return Ok(false);
            }
            current = n;
            let Some(after) = entry(&mut map, src)? else {
                return Ok(false);
            };
            next = after;
        }
        let offset = match table.wide {
            true => offsets.take::<8>(src)?.map(u64::from_be_bytes),
            false => offsets.take::<4>(src)?.map(|b| u64::from(u32::from_be_bytes(b))),
        };
        let Some(offset) = offset else {
            return Ok(false);
        };
        let n = current.1.min(count - sample);
        let size = match constant {
            0 => {
                let mut total = 0u64;
                for _ in 0..n {
                    let Some(b) = sizes.take::<4>(src)? else {
                        return Ok(false);
                    };
                    total += u64::from(u32::from_be_bytes(b));
                }
                total
            }
            c => n * u64::from(c),
        };
        let Some(end) = offset.checked_add(size) else {
            return Ok(false);
        };
        push(out, offset, end);
        if out.len() + others > MAX_SAMPLE_RANGES {
            return Ok(true);
        }
        sample += n;
        chunk += 1;
    }
    Ok(true)
}

fn word<const N: usize>(b: &[u8; N], at: usize) -> [u8; 4] {
    [b[at], b[at + 1], b[at + 2], b[at + 3]]
}

/// Appends `start..end`, joined to the last range when it goes on from there.
fn push(v: &mut Vec<(u64, u64)>, start: u64, end: u64) {
    match v.last_mut() {
        _ if start >= end => {}
        Some(last) if last.1 == start => last.1 = end,
        _ => v.push((start, end)),
    }
}

/// Sorted, with overlapping and touching ranges joined.
fn merged(mut v: Vec<(u64, u64)>) -> Vec<(u64, u64)> {
    v.sort_unstable();
    let mut out: Vec<(u64, u64)> = Vec::with_capacity(v.len());
    for (s, e) in v {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

/// What two merged range lists have in common.
fn intersect(a: &[(u64, u64)], b: &[(u64, u64)]) -> Vec<(u64, u64)> {
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < a.len() && j < b.len() {
        let (lo, hi) = (a[i].0.max(b[j].0), a[i].1.min(b[j].1));
        if lo < hi {
            out.push((lo, hi));
        }
        if a[i].1 <= b[j].1 {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// The parts of merged ranges `a` outside merged ranges `b`.
fn subtract(a: &[(u64, u64)], b: &[(u64, u64)]) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    let mut j = 0;
    for &(s, e) in a {
        while j < b.len() && b[j].1 <= s {
            j += 1;
        }
        let mut at = s;
        for &(bs, be) in &b[j..] {
            if bs >= e || at >= e {
                break;
            }
            if bs > at {
                out.push((at, bs));
            }
            at = at.max(be);
        }
        if at < e {
            out.push((at, e));
        }
    }
    out
}

/// Reads a box payload front to back in blocks, so large tables never sit whole in memory.
struct Cursor {
    at: u64,
    end: u64,
    buf: Vec<u8>,
    used: usize,
}

impl Cursor {
    fn new((start, end): (u64, u64)) -> Cursor {
        Cursor { at: start, end, buf: Vec::new(), used: 0 }
    }

    /// Bytes not taken yet.
    fn left(&self) -> u64 {
        (self.end - self.at) + (self.buf.len() - self.used) as u64
    }

    /// Passes over `n` bytes.
    fn skip(&mut self, n: u64) {
        let buffered = (self.buf.len() - self.used) as u64;
        if n <= buffered {
            self.used += n as usize;
        } else {
            self.at = (self.at + (n - buffered)).min(self.end);
            self.buf.clear();
            self.used = 0;
        }
    }

    fn take<const N: usize>(&mut self, src: &mut dyn ByteSource) -> io::Result<Option<[u8; N]>> {
        if self.buf.len() - self.used < N {
            self.buf.drain(..self.used);
            self.used = 0;
            let want = (self.end - self.at).min(TABLE_READ_BYTES as u64) as usize;
            let have = self.buf.len();
            self.buf.resize(have + want, 0);
            let n = read_full(src, self.at, &mut self.buf[have..])?;
            self.buf.truncate(have + n);
            self.at += n as u64;
            if n < want {
                // The input ends inside the box.
                self.end = self.at;
            }
            if self.buf.len() < N {
                return Ok(None);
            }
        }
        let mut out = [0u8; N];
        out.copy_from_slice(&self.buf[self.used..self.used + N]);
        self.used += N;
        Ok(Some(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SliceSource;

    #[test]
    fn range_arithmetic() {
        let a = merged(vec![(10, 20), (0, 5), (5, 8), (30, 40), (35, 50)]);
        assert_eq!(a, [(0, 8), (10, 20), (30, 50)]);
        assert_eq!(intersect(&a, &[(4, 12), (19, 31)]), [(4, 8), (10, 12), (19, 20), (30, 31)]);
        assert_eq!(subtract(&a, &[(2, 3), (6, 11), (15, 16), (29, 60)]), [(0, 2), (3, 6), (11, 15), (16, 20)]);
        assert_eq!(subtract(&a, &[]), a);
        let u = Unread { ranges: vec![(10, 20), (30, 40)] };
        assert_eq!(u.span(0), Span::Read(10));
        assert_eq!(u.span(10), Span::Unread(20));
        assert_eq!(u.span(19), Span::Unread(20));
        assert_eq!(u.span(20), Span::Read(30));
        assert_eq!(u.span(40), Span::Read(u64::MAX));
    }

    fn be(words: &[u32]) -> Vec<u8> {
        words.iter().flat_map(|w| w.to_be_bytes()).collect()
    }

    /// A table in memory: its boxes' payloads laid one after another.
    fn table(stsc: &[u32], stsz: &[u32], stco: &[u32]) -> (SliceSource<Vec<u8>>, SampleTable) {
        let parts = [be(stsc), be(stsz), be(stco)];
        let mut at = 0u64;
        let mut spans = Vec::new();
        for p in &parts {
            spans.push((at, at + p.len() as u64));
            at += p.len() as u64;
        }
        let t = SampleTable { stsc: Some(spans[0]), stsz: Some(spans[1]), chunk_offsets: Some(spans[2]), wide: false };
        (SliceSource::new(parts.concat()), t)
    }

    #[test]
    fn chunks_follow_the_sample_table() {
        // Chunks 1-2 hold 2 samples each, chunks 3 on 3 each; 8 samples in 4 chunks, the last
        // one short.
        let (mut src, t) =
            table(&[0, 2, 1, 2, 1, 3, 3, 1], &[0, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8], &[0, 4, 1000, 2000, 3000, 4000]);
        let mut out = Vec::new();
        assert!(chunk_ranges(&mut src, &t, &mut out, 0).unwrap());
        assert_eq!(out, [(1000, 1003), (2000, 2007), (3000, 3018), (4000, 4008)]);

        // Constant sizes; samples beyond the chunks are not placed.
        let (mut src, t) = table(&[0, 1, 1, 4, 1], &[0, 100, 20], &[0, 2, 0, 400]);
        let mut out = Vec::new();
        assert!(chunk_ranges(&mut src, &t, &mut out, 0).unwrap());
        assert_eq!(out, [(0, 800)]);

        // A first chunk of 0 is refused (by symphonia too).
        let (mut src, t) = table(&[0, 1, 0, 4, 1], &[0, 100, 4], &[0, 1, 0]);
        assert!(!chunk_ranges(&mut src, &t, &mut Vec::new(), 0).unwrap());
    }

    #[test]
    fn leaves_other_tracks_unread_within_mdat_but_never_kept_samples() {
        use crate::mp4_boxes::FragmentRun;
        // Empty moov tables (a fragmented file's).
        let (src, table) = table(&[0, 0], &[0, 0, 0], &[0, 0]);
        let mut mp4 = Mp4Tracks::default();
        for (id, handler) in [(1, b"soun"), (2, b"vide")] {
            let mut t = Mp4Track::default();
            (t.handler, t.table) = (*handler, table);
            mp4.tracks.insert(id, t);
        }
        mp4.mdat = vec![(50, 950)];
        let run = |track, start, end| FragmentRun { track, start, len: end - start };
        mp4.fragment_runs =
            vec![run(1, 100, 130), run(2, 90, 200), run(2, 250, 320), run(1, 300, 310), run(2, 900, 1000)];
        let mut src = src;
        let audio = unread(&mut src, &mp4, &|_, t| &t.handler == b"soun").unwrap().unwrap();
        assert_eq!(audio.ranges(), [(90, 100), (130, 200), (250, 300), (310, 320), (900, 950)]);
        // Nothing to keep, or a kept track whose fragments cannot be measured: nothing unread.
        assert_eq!(unread(&mut src, &mp4, &|id, _| id == 3).unwrap(), None);
        mp4.tracks.get_mut(&1).unwrap().unsized_fragments = true;
        assert_eq!(unread(&mut src, &mp4, &|id, _| id == 1).unwrap(), None);
    }

    #[test]
    fn cursor_reads_across_blocks() {
        let words: Vec<u32> = (0..(TABLE_READ_BYTES as u32 / 4 * 3 + 7)).collect();
        let bytes = be(&words);
        let len = bytes.len() as u64;
        let mut src = SliceSource::new(bytes);
        let mut c = Cursor::new((0, len));
        c.skip(8);
        for w in 2..words.len() as u32 {
            assert_eq!(c.take::<4>(&mut src).unwrap(), Some(w.to_be_bytes()));
        }
        assert_eq!(c.take::<4>(&mut src).unwrap(), None);
    }
}
