//! Vorbis header facts (Vorbis I spec §4.2): splitting the three headers a container stores
//! together, each audio packet's block size, which Ogg granule positions need, and the channel
//! order.
//!
//! The mode table sits at the end of the setup header after codebooks, floors and residues of
//! variable size, so it is found by scanning back from the framing bit (as ffmpeg's Vorbis parser
//! does) instead of decoding the whole header.

use crate::error::{Error, Result};

/// The three Vorbis headers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Headers {
    pub ident: Vec<u8>,
    pub comment: Vec<u8>,
    pub setup: Vec<u8>,
}

fn bad(what: &str) -> Error {
    Error::invalid_video("the Vorbis track has broken headers").with_details(what.to_string())
}

/// Splits codec private data: Xiph lacing (Matroska's `CodecPrivate`), or the headers back to
/// back. The demuxer hands over identification + setup only (it drops the comment header); a
/// missing comment header is replaced by an empty one.
pub(crate) fn split_headers(extra: &[u8]) -> Result<Headers> {
    if extra.first() == Some(&2) {
        let mut at = 1;
        let mut sizes = [0usize; 2];
        for s in &mut sizes {
            loop {
                let b = *extra.get(at).ok_or_else(|| bad("lacing runs past the end"))?;
                at += 1;
                *s += usize::from(b);
                if b < 255 {
                    break;
                }
            }
        }
        let ident_end = at + sizes[0];
        let comment_end = ident_end + sizes[1];
        if comment_end > extra.len() {
            return Err(bad("lacing sizes exceed the data"));
        }
        return Ok(Headers {
            ident: extra[at..ident_end].to_vec(),
            comment: extra[ident_end..comment_end].to_vec(),
            setup: extra[comment_end..].to_vec(),
        });
    }
    if !extra.starts_with(b"\x01vorbis") || extra.len() < 30 {
        return Err(bad("no identification header"));
    }
    let rest = &extra[30..];
    let comment_len = if rest.starts_with(b"\x05vorbis") {
        0
    } else {
        comment_header_len(rest).ok_or_else(|| bad("bad comment header"))?
    };
    let setup = &rest[comment_len..];
    if !setup.starts_with(b"\x05vorbis") {
        return Err(bad("no setup header"));
    }
    let comment = if comment_len == 0 { comment_header(&[]) } else { rest[..comment_len].to_vec() };
    Ok(Headers { ident: extra[..30].to_vec(), comment, setup: setup.to_vec() })
}

/// Length of a comment header at the start of `b`.
fn comment_header_len(b: &[u8]) -> Option<usize> {
    if !b.starts_with(b"\x03vorbis") {
        return None;
    }
    let u32_at = |i: usize| Some(u32::from_le_bytes(b.get(i..i + 4)?.try_into().ok()?) as usize);
    let mut at: usize = 7;
    at = at.checked_add(4 + u32_at(at)?)?;
    let count = u32_at(at)?;
    at += 4;
    for _ in 0..count {
        at = at.checked_add(4 + u32_at(at)?)?;
        if at > b.len() {
            return None;
        }
    }
    (at < b.len()).then_some(at + 1) // framing byte
}

/// A comment header with converso as vendor and the given `KEY=value` comments.
pub(crate) fn comment_header(comments: &[String]) -> Vec<u8> {
    let mut h = b"\x03vorbis".to_vec();
    write_comment_list(&mut h, comments);
    h.push(1);
    h
}

/// Appends a Vorbis comment list (vendor, count, `KEY=value` entries) to `out`.
pub(crate) fn write_comment_list(out: &mut Vec<u8>, comments: &[String]) {
    let vendor = concat!("converso ", env!("CARGO_PKG_VERSION"));
    out.extend_from_slice(&(vendor.len() as u32).to_le_bytes());
    out.extend_from_slice(vendor.as_bytes());
    out.extend_from_slice(&(comments.len() as u32).to_le_bytes());
    for c in comments {
        out.extend_from_slice(&(c.len() as u32).to_le_bytes());
        out.extend_from_slice(c.as_bytes());
    }
}

/// Per-packet block sizes of one stream.
#[derive(Clone, Debug)]
pub(crate) struct BlockSizes {
    short: u32,
    long: u32,
    /// Block flag of each mode.
    modes: Vec<bool>,
}

impl BlockSizes {
    /// Reads block sizes from the identification header and the mode table from the setup header.
    pub fn new(h: &Headers) -> Result<BlockSizes> {
        let id = &h.ident;
        if id.len() < 30 || !id.starts_with(b"\x01vorbis") {
            return Err(bad("no identification header"));
        }
        let (bs0, bs1) = (id[28] & 0x0F, id[28] >> 4);
        if !(6..=13).contains(&bs0) || !(bs0..=13).contains(&bs1) {
            return Err(bad("invalid block sizes"));
        }
        let modes = mode_flags(&h.setup).ok_or_else(|| bad("mode table not found"))?;
        Ok(BlockSizes { short: 1 << bs0, long: 1 << bs1, modes })
    }

    /// Block size of an audio packet; `None` if it is not a valid audio packet.
    pub fn of_packet(&self, packet: &[u8]) -> Option<u32> {
        let first = *packet.first()?;
        if first & 1 != 0 {
            return None;
        }
        let bits = ilog(self.modes.len() as u32 - 1);
        let mode =
            ((u32::from_le_bytes([first, *packet.get(1).unwrap_or(&0), 0, 0]) >> 1) & ((1 << bits) - 1)) as usize;
        Some(if *self.modes.get(mode)? { self.long } else { self.short })
    }
}

fn ilog(v: u32) -> u32 {
    32 - v.leading_zeros()
}

/// Bit `i` of the packet, in Vorbis's LSB-first order.
fn bit(b: &[u8], i: usize) -> u32 {
    u32::from((b[i / 8] >> (i % 8)) & 1)
}

fn bits(b: &[u8], start: usize, n: usize) -> u32 {
    (0..n).fold(0, |acc, k| acc | (bit(b, start + k) << k))
}

/// Block flags of the modes, found backwards from the framing bit. Each mode is 41 bits:
/// blockflag(1) windowtype(16)=0 transformtype(16)=0 mapping(8); before them, count−1 in 6 bits.
fn mode_flags(setup: &[u8]) -> Option<Vec<bool>> {
    let last = *setup.last()?;
    if last == 0 {
        return None;
    }
    let framing = (setup.len() - 1) * 8 + (7 - last.leading_zeros() as usize);
    let mut consistent = 0;
    while consistent < 64 {
        let m = consistent + 1;
        let Some(start) = framing.checked_sub(41 * m) else {
            break;
        };
        if bits(setup, start + 1, 16) != 0 || bits(setup, start + 17, 16) != 0 {
            break;
        }
        consistent = m;
    }
    (1..=consistent).rev().find_map(|m| {
        let start = framing - 41 * m;
        let count_at = start.checked_sub(6)?;
        (bits(setup, count_at, 6) as usize == m - 1).then(|| (0..m).map(|i| bit(setup, start + 41 * i) == 1).collect())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A setup header tail: some earlier bits, the mode count, the modes and the framing bit.
    fn setup_with_modes(flags: &[bool]) -> Vec<u8> {
        let mut bitv: Vec<u8> = vec![1, 0, 1, 1, 0, 0, 1]; // stands in for the earlier fields
        let n = flags.len() as u32 - 1;
        bitv.extend((0..6).map(|k| ((n >> k) & 1) as u8));
        for &f in flags {
            bitv.push(f as u8);
            bitv.extend(std::iter::repeat_n(0, 32));
            bitv.extend(std::iter::repeat_n(0, 8));
        }
        bitv.push(1);
        let mut out = vec![0u8; bitv.len().div_ceil(8)];
        for (i, b) in bitv.iter().enumerate() {
            out[i / 8] |= b << (i % 8);
        }
        out
    }

    #[test]
    fn finds_mode_flags_from_the_end() {
        assert_eq!(mode_flags(&setup_with_modes(&[false, true])), Some(vec![false, true]));
        assert_eq!(mode_flags(&setup_with_modes(&[true])), Some(vec![true]));
        assert_eq!(mode_flags(&[]), None);
        assert_eq!(mode_flags(&[0]), None);
    }

    #[test]
    fn packet_block_sizes() {
        let b = BlockSizes { short: 256, long: 2048, modes: vec![false, true] };
        assert_eq!(b.of_packet(&[0b0000_0000]), Some(256));
        assert_eq!(b.of_packet(&[0b0000_0010]), Some(2048));
        assert_eq!(b.of_packet(&[0b0000_0001]), None, "header packet");
        let three = BlockSizes { short: 256, long: 2048, modes: vec![false, true, true] };
        assert_eq!(three.of_packet(&[0b0000_0110]), None, "mode 3 of 3 does not exist");
    }

    #[test]
    fn splits_xiph_laced_headers() {
        let mut ident = b"\x01vorbis".to_vec();
        ident.resize(30, 0);
        let comment = comment_header(&["TITLE=x".into()]);
        let setup = b"\x05vorbis-setup".to_vec();
        let mut laced = vec![2, ident.len() as u8, comment.len() as u8];
        laced.extend([ident.clone(), comment.clone(), setup.clone()].concat());
        let h = split_headers(&laced).unwrap();
        assert_eq!(
            (h.ident.clone(), h.comment.clone(), h.setup.clone()),
            (ident.clone(), comment.clone(), setup.clone())
        );
        let plain = split_headers(&[ident.clone(), comment, setup.clone()].concat()).unwrap();
        assert_eq!(plain, h);
        let no_comment = split_headers(&[ident, setup].concat()).unwrap();
        assert_eq!(no_comment.comment, comment_header(&[]));
        assert!(split_headers(&[2, 255]).is_err());
    }
}
