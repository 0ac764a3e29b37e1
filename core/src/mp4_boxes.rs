//! Reads the per-track MP4 facts the demuxer leaves out: edit lists (the AAC encoder priming to
//! skip and the presented duration), the track-enabled flag (ffmpeg's "default" disposition) and
//! the `mdhd` language; and where each track's samples are (the sample table boxes, the `trun`s
//! of movie fragments, the `mdat` boxes), for `mp4_samples`. Only box headers and small boxes
//! are read, so memory stays small whatever the file size.

use std::collections::HashMap;
use std::io;

use crate::limits::MAX_MP4_BOXES;
use crate::source::{read_full, ByteSource};

/// What `moov` says about one track.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Mp4Track {
    /// `tkhd` flag 0x1: the track is enabled (ffmpeg writes it for the default track).
    pub enabled: bool,
    /// `mdhd` language (ISO 639-2/T), `None` for `und`.
    pub language: Option<String>,
    /// Media timescale from `mdhd`.
    pub media_timescale: u32,
    /// First edit's start in media time (priming to skip), if there is an edit list.
    pub edit_media_time: Option<u64>,
    /// First edit's duration in movie timescale (0 means "to the end" in fragmented files).
    pub edit_duration: Option<u64>,
    /// Sum of the sample durations in movie fragments (media timescale); 0 if unfragmented.
    pub fragment_duration: u64,
    /// `hdlr` handler type: `soun` for audio, `vide` for video, ….
    pub handler: [u8; 4],
    /// Where the sample table boxes are.
    pub table: SampleTable,
    /// A movie fragment's `trun` of this track could not be measured.
    pub unsized_fragments: bool,
    /// `trex` default sample duration, used by fragments that state none.
    default_sample_duration: u32,
    /// `trex` default sample size, used by fragments that state none.
    default_sample_size: u32,
}

/// Payloads (start, end) of a track's sample table boxes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct SampleTable {
    pub stsc: Option<(u64, u64)>,
    pub stsz: Option<(u64, u64)>,
    /// `stco`, or `co64` when `wide`.
    pub chunk_offsets: Option<(u64, u64)>,
    pub wide: bool,
}

/// The sample data of one `trun`: `len` bytes at `start`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FragmentRun {
    pub track: u32,
    pub start: u64,
    pub len: u64,
}

/// Per-track facts by `tkhd` track id, plus the movie timescale.
#[derive(Clone, Debug, Default)]
pub(crate) struct Mp4Tracks {
    pub movie_timescale: u32,
    pub tracks: HashMap<u32, Mp4Track>,
    /// Payloads (start, end) of the top-level `mdat` boxes, in file order.
    pub mdat: Vec<(u64, u64)>,
    /// Where the samples of movie fragments are, one entry per `trun`.
    pub fragment_runs: Vec<FragmentRun>,
}

struct BoxHeader {
    kind: [u8; 4],
    /// Offset of the box.
    start: u64,
    /// Offset of the payload.
    body: u64,
    /// End of the box.
    end: u64,
}

fn read_header(src: &mut dyn ByteSource, at: u64, limit: u64) -> io::Result<Option<BoxHeader>> {
    if at + 8 > limit {
        return Ok(None);
    }
    let mut h = [0u8; 16];
    if read_full(src, at, &mut h[..8])? < 8 {
        return Ok(None);
    }
    let size32 = u32::from_be_bytes([h[0], h[1], h[2], h[3]]) as u64;
    let kind = [h[4], h[5], h[6], h[7]];
    // The 64-bit size only when there is one: the bytes after a header may be samples left
    // unread.
    let wide = size32 == 1 && at + 16 <= limit && read_full(src, at + 8, &mut h[8..])? == 8;
    let (size, header_len) = match size32 {
        0 => (limit - at, 8),
        1 if wide => (u64::from_be_bytes([h[8], h[9], h[10], h[11], h[12], h[13], h[14], h[15]]), 16),
        s => (s, 8),
    };
    if size < header_len || at.checked_add(size).is_none_or(|end| end > limit) {
        return Ok(None);
    }
    Ok(Some(BoxHeader { kind, start: at, body: at + header_len, end: at + size }))
}

/// Reads `len` bytes of a box payload, capped to keep allocations small.
fn read_body(src: &mut dyn ByteSource, b: &BoxHeader, cap: usize) -> io::Result<Vec<u8>> {
    // In u64 first: on wasm32 a usize cannot hold the size of a box over 4 GiB.
    let len = (b.end - b.body).min(cap as u64) as usize;
    let mut buf = vec![0u8; len];
    let n = read_full(src, b.body, &mut buf)?;
    buf.truncate(n);
    Ok(buf)
}

fn be32(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(i..i + 4)?.try_into().ok()?))
}

fn be64(b: &[u8], i: usize) -> Option<u64> {
    Some(u64::from_be_bytes(b.get(i..i + 8)?.try_into().ok()?))
}

/// Walks the boxes of `moov`. Returns `None` when the file has no readable `moov`.
pub(crate) fn read(src: &mut dyn ByteSource) -> io::Result<Option<Mp4Tracks>> {
    let len = src.len();
    let mut budget = MAX_MP4_BOXES;
    let mut at = 0;
    let mut moov = None;
    let mut moofs = Vec::new();
    let mut mdat = Vec::new();
    while let Some(b) = read_header(src, at, len)? {
        at = b.end;
        match &b.kind {
            b"moov" => moov = Some(read_moov(src, &b, &mut budget)?),
            b"moof" => moofs.push(b),
            b"mdat" => mdat.push((b.body, b.end)),
            _ => {}
        }
        budget = budget.saturating_sub(1);
        if budget == 0 {
            break;
        }
    }
    let Some(mut moov) = moov else {
        return Ok(None);
    };
    moov.mdat = mdat;
    for moof in moofs {
        read_moof(src, &moof, &mut moov, &mut budget)?;
    }
    Ok(Some(moov))
}

/// Adds the sample durations of one movie fragment to its tracks, and notes where its samples
/// are.
fn read_moof(src: &mut dyn ByteSource, moof: &BoxHeader, moov: &mut Mp4Tracks, budget: &mut usize) -> io::Result<()> {
    for traf in children(src, moof, budget)?.into_iter().filter(|b| &b.kind == b"traf") {
        let mut track = None;
        let mut default_duration = 0;
        let mut default_size = 0;
        // Where the samples of the `trun`s are counted from, as symphonia locates them: the
        // `tfhd` base data offset, else the start of the `moof`.
        let mut base = moof.start;
        let mut next = base;
        for b in children(src, &traf, budget)? {
            match &b.kind {
                b"tfhd" => {
                    let body = read_body(src, &b, 40)?;
                    let flags = be32(&body, 0).unwrap_or(0) & 0xFF_FFFF;
                    track = be32(&body, 4);
                    let mut at = 8;
                    if flags & 0x1 != 0 {
                        base = be64(&body, at).unwrap_or(base);
                        at += 8;
                    }
                    next = base;
                    at += if flags & 0x2 != 0 { 4 } else { 0 };
                    let t = track.and_then(|id| moov.tracks.get(&id));
                    default_duration = match flags & 0x8 {
                        0 => t.map_or(0, |t| t.default_sample_duration),
                        _ => be32(&body, at).unwrap_or(0),
                    };
                    at += if flags & 0x8 != 0 { 4 } else { 0 };
                    default_size = match flags & 0x10 {
                        0 => t.map_or(0, |t| t.default_sample_size),
                        _ => be32(&body, at).unwrap_or(0),
                    };
                }
                b"trun" => {
                    let Some((id, t)) = track.and_then(|id| Some(id).zip(moov.tracks.get_mut(&id))) else {
                        continue;
                    };
                    let body = read_body(src, &b, 1 << 20)?;
                    t.fragment_duration += trun_duration(&body, default_duration);
                    match trun_data(&body, default_size) {
                        Some((offset, len)) => {
                            let start = match offset {
                                Some(o) => base.checked_add_signed(i64::from(o)),
                                None => Some(next),
                            };
                            match start.and_then(|s| Some(s).zip(s.checked_add(len))) {
                                Some((start, end)) => {
                                    moov.fragment_runs.push(FragmentRun { track: id, start, len });
                                    next = end;
                                }
                                None => t.unsized_fragments = true,
                            }
                        }
                        None => t.unsized_fragments = true,
                    }
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// A `trun`'s data offset, if it states one, and the total size of its samples; `None` when the
/// box is cut short.
fn trun_data(body: &[u8], default_size: u32) -> Option<(Option<i32>, u64)> {
    let flags = be32(body, 0)? & 0xFF_FFFF;
    let count = be32(body, 4)?;
    let offset = match flags & 0x1 {
        0 => None,
        _ => Some(be32(body, 8)? as i32),
    };
    if flags & 0x200 == 0 {
        return Some((offset, u64::from(count) * u64::from(default_size)));
    }
    let mut at = 8 + if flags & 0x1 != 0 { 4 } else { 0 } + if flags & 0x4 != 0 { 4 } else { 0 };
    let entry = 4 * [0x100, 0x200, 0x400, 0x800].iter().filter(|&&f| flags & f != 0).count();
    at += if flags & 0x100 != 0 { 4 } else { 0 };
    let mut total = 0;
    for _ in 0..count {
        total += u64::from(be32(body, at)?);
        at += entry;
    }
    Some((offset, total))
}

/// Total duration of a `trun`'s samples.
fn trun_duration(body: &[u8], default_duration: u32) -> u64 {
    let flags = be32(body, 0).unwrap_or(0) & 0xFF_FFFF;
    let count = u64::from(be32(body, 4).unwrap_or(0));
    if flags & 0x100 == 0 {
        return count * u64::from(default_duration);
    }
    let mut at = 8 + if flags & 0x1 != 0 { 4 } else { 0 } + if flags & 0x4 != 0 { 4 } else { 0 };
    let entry = 4 * [0x100, 0x200, 0x400, 0x800].iter().filter(|&&f| flags & f != 0).count();
    let mut total = 0;
    for _ in 0..count {
        let Some(d) = be32(body, at) else { break };
        total += u64::from(d);
        at += entry;
    }
    total
}

fn children(src: &mut dyn ByteSource, parent: &BoxHeader, budget: &mut usize) -> io::Result<Vec<BoxHeader>> {
    let mut out = Vec::new();
    let mut at = parent.body;
    while *budget > 0 {
        let Some(b) = read_header(src, at, parent.end)? else {
            break;
        };
        *budget -= 1;
        at = b.end;
        out.push(b);
    }
    Ok(out)
}

fn read_moov(src: &mut dyn ByteSource, moov: &BoxHeader, budget: &mut usize) -> io::Result<Mp4Tracks> {
    let mut out = Mp4Tracks::default();
    let mut order = Vec::new();
    let mut trexs = Vec::new();
    for b in children(src, moov, budget)? {
        match &b.kind {
            b"mvhd" => {
                let body = read_body(src, &b, 32)?;
                // version 0: 4 flags + 4 ctime + 4 mtime + timescale; version 1: 8-byte times.
                let off = if body.first() == Some(&1) { 20 } else { 12 };
                out.movie_timescale = be32(&body, off).unwrap_or(0);
            }
            b"trak" => {
                if let Some((id, t)) = read_trak(src, &b, budget)? {
                    order.push(id);
                    out.tracks.insert(id, t);
                }
            }
            b"mvex" => {
                for trex in children(src, &b, budget)?.into_iter().filter(|b| &b.kind == b"trex") {
                    // flags, track id, default description index, duration, size, flags.
                    let body = read_body(src, &trex, 24)?;
                    if let (Some(id), Some(d), Some(size)) = (be32(&body, 4), be32(&body, 12), be32(&body, 16)) {
                        trexs.push((id, d, size));
                    }
                }
            }
            _ => {}
        }
    }
    // symphonia pairs the n-th `trex` with the n-th track: where they do not line up, fragments
    // are not followed.
    let aligned = trexs.is_empty() || trexs.iter().map(|t| t.0).eq(order.iter().copied());
    for (id, duration, size) in trexs {
        if let Some(t) = out.tracks.get_mut(&id) {
            t.default_sample_duration = duration;
            t.default_sample_size = size;
        }
    }
    if !aligned {
        out.tracks.values_mut().for_each(|t| t.unsized_fragments = true);
    }
    Ok(out)
}

fn read_trak(src: &mut dyn ByteSource, trak: &BoxHeader, budget: &mut usize) -> io::Result<Option<(u32, Mp4Track)>> {
    let mut id = None;
    let mut t = Mp4Track::default();
    for b in children(src, trak, budget)? {
        match &b.kind {
            b"tkhd" => {
                let body = read_body(src, &b, 32)?;
                t.enabled = body.get(3).is_some_and(|f| f & 1 == 1);
                let off = if body.first() == Some(&1) { 20 } else { 12 };
                id = be32(&body, off);
            }
            b"edts" => {
                for e in children(src, &b, budget)? {
                    if &e.kind == b"elst" {
                        read_elst(&read_body(src, &e, 64)?, &mut t);
                    }
                }
            }
            b"mdia" => {
                for m in children(src, &b, budget)? {
                    match &m.kind {
                        b"mdhd" => read_mdhd(&read_body(src, &m, 40)?, &mut t),
                        b"hdlr" => {
                            let body = read_body(src, &m, 12)?;
                            if let Some(h) = body.get(8..12) {
                                t.handler.copy_from_slice(h);
                            }
                        }
                        b"minf" => {
                            let stbl = children(src, &m, budget)?.into_iter().rfind(|b| &b.kind == b"stbl");
                            if let Some(stbl) = stbl {
                                t.table = read_stbl(src, &stbl, budget)?;
                            }
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    Ok(id.map(|id| (id, t)))
}

/// Where the boxes of a sample table are: the last of each kind, and `stco` before `co64`, as
/// symphonia reads them.
fn read_stbl(src: &mut dyn ByteSource, stbl: &BoxHeader, budget: &mut usize) -> io::Result<SampleTable> {
    let mut table = SampleTable::default();
    let (mut stco, mut co64) = (None, None);
    for b in children(src, stbl, budget)? {
        let at = Some((b.body, b.end));
        match &b.kind {
            b"stsc" => table.stsc = at,
            b"stsz" => table.stsz = at,
            b"stco" => stco = at,
            b"co64" => co64 = at,
            _ => {}
        }
    }
    table.wide = stco.is_none() && co64.is_some();
    table.chunk_offsets = stco.or(co64);
    Ok(table)
}

/// The first edit that is not an empty edit (media_time -1).
fn read_elst(body: &[u8], t: &mut Mp4Track) {
    let v1 = body.first() == Some(&1);
    let count = be32(body, 4).unwrap_or(0) as usize;
    let entry = if v1 { 20 } else { 12 };
    for i in 0..count.min(2) {
        let at = 8 + i * entry;
        let (dur, time) = if v1 {
            (be64(body, at), be64(body, at + 8).map(|x| x as i64))
        } else {
            (be32(body, at).map(u64::from), be32(body, at + 4).map(|x| x as i32 as i64))
        };
        match (dur, time) {
            (Some(d), Some(m)) if m >= 0 => {
                t.edit_duration = Some(d);
                t.edit_media_time = Some(m as u64);
                return;
            }
            _ => continue,
        }
    }
}

fn read_mdhd(body: &[u8], t: &mut Mp4Track) {
    let v1 = body.first() == Some(&1);
    let (ts_at, lang_at) = if v1 { (20, 32) } else { (12, 20) };
    t.media_timescale = be32(body, ts_at).unwrap_or(0);
    if let Some(l) = body.get(lang_at..lang_at + 2) {
        let packed = u16::from_be_bytes([l[0], l[1]]);
        let code: String = [10u16, 5, 0].iter().map(|s| (((packed >> s) & 0x1F) as u8 + 0x60) as char).collect();
        if code.chars().all(|c| c.is_ascii_lowercase()) && code != "und" {
            t.language = Some(code);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SliceSource;

    fn mp4box(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut v = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        v.extend_from_slice(kind);
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn reads_edit_list_language_and_enabled_flag() {
        let mut tkhd = vec![0, 0, 0, 3];
        tkhd.extend_from_slice(&[0; 8]);
        tkhd.extend_from_slice(&7u32.to_be_bytes());
        tkhd.extend_from_slice(&[0; 16]);
        let mut elst = vec![0, 0, 0, 0, 0, 0, 0, 1];
        elst.extend_from_slice(&1000u32.to_be_bytes());
        elst.extend_from_slice(&1024u32.to_be_bytes());
        elst.extend_from_slice(&[0, 1, 0, 0]);
        let mut mdhd = vec![0; 12];
        mdhd.extend_from_slice(&44100u32.to_be_bytes());
        mdhd.extend_from_slice(&[0; 4]);
        // "spa" packed: s=19 p=16 a=1
        mdhd.extend_from_slice(&((19u16 << 10) | (16 << 5) | 1).to_be_bytes());
        let trak = [
            mp4box(b"tkhd", &tkhd),
            mp4box(b"edts", &mp4box(b"elst", &elst)),
            mp4box(b"mdia", &mp4box(b"mdhd", &mdhd)),
        ]
        .concat();
        let file = [mp4box(b"ftyp", b"isom"), mp4box(b"moov", &mp4box(b"trak", &trak))].concat();
        let got = read(&mut SliceSource::new(file)).unwrap().unwrap();
        let t = &got.tracks[&7];
        assert!(t.enabled);
        assert_eq!(t.language.as_deref(), Some("spa"));
        assert_eq!(t.media_timescale, 44100);
        assert_eq!(t.edit_media_time, Some(1024));
        assert_eq!(t.edit_duration, Some(1000));
    }

    fn be(words: &[u32]) -> Vec<u8> {
        words.iter().flat_map(|w| w.to_be_bytes()).collect()
    }

    #[test]
    fn locates_sample_tables_and_fragment_runs() {
        let trak = |id: u32, handler: &[u8; 4], stbl: Vec<u8>| {
            let mut tkhd = vec![0, 0, 0, 1];
            tkhd.extend_from_slice(&be(&[0, 0, id, 0, 0]));
            let mut hdlr = be(&[0, 0]);
            hdlr.extend_from_slice(handler);
            let mdia = [mp4box(b"hdlr", &hdlr), mp4box(b"minf", &mp4box(b"stbl", &stbl))].concat();
            mp4box(b"trak", &[mp4box(b"tkhd", &tkhd), mp4box(b"mdia", &mdia)].concat())
        };
        let empty = [mp4box(b"stsc", &be(&[0, 0])), mp4box(b"stsz", &be(&[0, 0, 0])), mp4box(b"co64", &be(&[0, 0]))];
        let mvex = [mp4box(b"trex", &be(&[0, 1, 1, 1024, 0, 0])), mp4box(b"trex", &be(&[0, 2, 1, 512, 100, 0]))];
        let moov = mp4box(
            b"moov",
            &[trak(1, b"soun", empty.concat()), trak(2, b"vide", Vec::new()), mp4box(b"mvex", &mvex.concat())].concat(),
        );
        // Track 1: two samples of 10 and 20 bytes at 200 bytes from the moof (default base);
        // track 2: three samples of the tfhd's default 7 bytes, from the moof's start on.
        let traf1 = [mp4box(b"tfhd", &be(&[0x2_0000, 1])), mp4box(b"trun", &be(&[0x201, 2, 200, 10, 20]))];
        let traf2 = [mp4box(b"tfhd", &be(&[0x10, 2, 7])), mp4box(b"trun", &be(&[0, 3]))];
        let moof = mp4box(b"moof", &[mp4box(b"traf", &traf1.concat()), mp4box(b"traf", &traf2.concat())].concat());
        let head = [mp4box(b"ftyp", b"isom"), moov].concat();
        let moof_at = head.len() as u64;
        let mdat_at = moof_at + moof.len() as u64;
        let file = [head, moof, mp4box(b"mdat", &[0; 300])].concat();
        let got = read(&mut SliceSource::new(file)).unwrap().unwrap();
        assert_eq!(got.mdat, [(mdat_at + 8, mdat_at + 308)]);
        assert_eq!(
            got.fragment_runs,
            [
                FragmentRun { track: 1, start: moof_at + 200, len: 30 },
                FragmentRun { track: 2, start: moof_at, len: 21 }
            ]
        );
        let (a, v) = (&got.tracks[&1], &got.tracks[&2]);
        assert_eq!((&a.handler, &v.handler), (b"soun", b"vide"));
        assert!(a.table.stsc.is_some() && a.table.stsz.is_some() && a.table.chunk_offsets.is_some() && a.table.wide);
        assert_eq!(v.table, SampleTable::default());
        assert_eq!((a.fragment_duration, v.fragment_duration), (2048, 1536));
        assert!(!a.unsized_fragments && !v.unsized_fragments);
    }

    #[test]
    fn trun_sizes() {
        // Sizes stated, with a data offset, first-sample flags and durations before the sizes.
        assert_eq!(trun_data(&be(&[0x305, 2, (-8i32) as u32, 0, 1, 10, 1, 20]), 0), Some((Some(-8), 30)));
        // The default size; a cut-off list of sizes.
        assert_eq!(trun_data(&be(&[0, 4]), 5), Some((None, 20)));
        assert_eq!(trun_data(&be(&[0x200, 3, 10, 20]), 0), None);
    }

    #[test]
    fn garbage_yields_nothing() {
        assert!(read(&mut SliceSource::new(vec![0xFFu8; 100])).unwrap().is_none());
        assert!(read(&mut SliceSource::new(Vec::<u8>::new())).unwrap().is_none());
    }
}
