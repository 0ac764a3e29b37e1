//! Tags of WAV inputs from their `LIST`/`INFO` chunk.
//!
//! symphonia 0.6.1's WAV reader parses the `INFO` list and then drops it (it hands on only
//! metadata found outside the file), so the chunks before `data` are walked here. The ids are
//! the ones `mux::tags` writes, which are also ffmpeg's: `INAM` title, `IART` artist, `IPRD`
//! album, `ICRD` date, `ICMT` comment, `ILNG` language. Values end at their NUL; bytes that are
//! not UTF-8 (older files use a Windows code page) are replaced.

use crate::info::Tags;
use crate::source::{read_full, ByteSource};

/// Chunks looked at before giving up on finding `data`.
const MAX_CHUNKS: usize = 64;
/// Largest `INFO` list read.
const MAX_INFO_BYTES: usize = 64 * 1024;

/// The tags of the `INFO` list before the `data` chunk of a WAV file, if any.
pub(crate) fn read(src: &mut dyn ByteSource) -> std::io::Result<Tags> {
    let mut tags = Tags::default();
    let mut head = [0u8; 12];
    if read_full(src, 0, &mut head)? < 12 || &head[..4] != b"RIFF" || &head[8..] != b"WAVE" {
        return Ok(tags);
    }
    let mut at = 12u64;
    for _ in 0..MAX_CHUNKS {
        let mut chunk = [0u8; 12];
        let n = read_full(src, at, &mut chunk)?;
        if n < 8 || &chunk[..4] == b"data" {
            break;
        }
        let len = u64::from(u32::from_le_bytes([chunk[4], chunk[5], chunk[6], chunk[7]]));
        if n == 12 && &chunk[..4] == b"LIST" && &chunk[8..] == b"INFO" && len >= 4 {
            let mut body = vec![0u8; (len as usize - 4).min(MAX_INFO_BYTES)];
            let got = read_full(src, at + 12, &mut body)?;
            body.truncate(got);
            fill(&mut tags, &body);
        }
        at += 8 + len + len % 2;
    }
    Ok(tags)
}

/// Reads the sub-chunks of an `INFO` list body (after the `INFO` id).
fn fill(tags: &mut Tags, mut body: &[u8]) {
    while body.len() >= 8 {
        let (id, rest) = body.split_at(4);
        let len = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        let value = &rest[4..][..len.min(rest.len() - 4)];
        let slot = match id {
            b"INAM" => Some(&mut tags.title),
            b"IART" => Some(&mut tags.artist),
            b"IPRD" => Some(&mut tags.album),
            b"ICRD" => Some(&mut tags.date),
            b"ICMT" => Some(&mut tags.comment),
            b"ILNG" => Some(&mut tags.language),
            _ => None,
        };
        let text = value.split(|&b| b == 0).next().unwrap_or_default();
        if let (Some(slot), false) = (slot, text.is_empty()) {
            slot.get_or_insert_with(|| String::from_utf8_lossy(text).into_owned());
        }
        let next = 8 + len + len % 2;
        body = body.get(next..).unwrap_or_default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mux::tags::riff_info;
    use crate::source::SliceSource;

    #[test]
    fn reads_what_the_writer_writes_before_data() {
        let tags = Tags {
            title: Some("Tïtle".into()),
            artist: Some("A".into()),
            album: None,
            date: Some("2024".into()),
            comment: None,
            language: Some("eng".into()),
        };
        let list = riff_info(&tags);
        let mut wav = b"RIFF\0\0\0\0WAVEfmt \x10\0\0\0".to_vec();
        wav.extend_from_slice(&[0; 16]);
        wav.extend_from_slice(b"JUNK\x03\0\0\0abc\0");
        wav.extend_from_slice(&list);
        wav.extend_from_slice(b"data\x04\0\0\0\x01\x02\x03\x04");
        assert_eq!(read(&mut SliceSource::new(wav)).unwrap(), tags);
        let mut no_riff = SliceSource::new(b"fLaC".to_vec());
        assert_eq!(read(&mut no_riff).unwrap(), Tags::default());
    }

    #[test]
    fn truncated_lists_do_not_panic() {
        let mut t = Tags::default();
        fill(&mut t, b"INAM\xff\0\0\0abc");
        assert_eq!(t.title.as_deref(), Some("abc"));
        fill(&mut t, b"IAR");
    }
}
