//! Opus header and packet facts (RFC 6716 §3.1, RFC 7845 §5.1).

/// Samples at 48 kHz in one Opus packet, from its TOC byte and frame count; `None` if malformed.
pub(crate) fn packet_samples(packet: &[u8]) -> Option<u32> {
    let toc = *packet.first()?;
    let config = toc >> 3;
    let frame = match config {
        0..=11 => [480, 960, 1920, 2880][(config % 4) as usize],
        12..=15 => [480, 960][(config % 2) as usize],
        _ => [120, 240, 480, 960][(config % 4) as usize],
    };
    let frames = match toc & 3 {
        0 => 1,
        1 | 2 => 2,
        _ => u32::from(*packet.get(1)? & 0x3F),
    };
    let total = frame * frames;
    // A packet holds at most 120 ms.
    (frames > 0 && total <= 5760).then_some(total)
}

/// MP4 readers hand over "OpusHead" followed by the big-endian `dOps` box body (version 0).
/// Ogg needs the little-endian OpusHead (version 1); rewrite it. `None` if `extra` is not that.
pub(crate) fn head_from_mp4_dops(extra: &[u8]) -> Option<Vec<u8>> {
    let body = extra.strip_prefix(b"OpusHead")?;
    if body.len() < 11 || body[0] != 0 {
        return None;
    }
    let mut head = b"OpusHead".to_vec();
    head.push(1);
    head.push(body[1]);
    head.extend_from_slice(&u16::from_be_bytes([body[2], body[3]]).to_le_bytes());
    head.extend_from_slice(&u32::from_be_bytes([body[4], body[5], body[6], body[7]]).to_le_bytes());
    head.extend_from_slice(&i16::from_be_bytes([body[8], body[9]]).to_le_bytes());
    head.push(body[10]);
    // Mapping family > 0: stream count, coupled count and the channel map are byte-for-byte.
    head.extend_from_slice(&body[11..]);
    Some(head)
}

/// Validates an OpusHead (RFC 7845 §5.1) and returns it, or `None`.
pub(crate) fn valid_head(head: &[u8]) -> Option<&[u8]> {
    let ok = head.len() >= 19
        && head.starts_with(b"OpusHead")
        && head[8] == 1
        && head[9] > 0
        && (head[18] != 0 || head[9] <= 2)
        && (head[18] == 0 || head.len() >= 21 + usize::from(head[9]));
    ok.then_some(head)
}

/// Samples to drop at the start of decoding, from an OpusHead.
pub(crate) fn pre_skip(head: &[u8]) -> Option<u16> {
    let head = valid_head(head)?;
    Some(u16::from_le_bytes([head[10], head[11]]))
}

/// An OpusTags packet with converso as vendor and the given `KEY=value` comments.
pub(crate) fn tags_packet(comments: &[String]) -> Vec<u8> {
    let mut p = b"OpusTags".to_vec();
    super::vorbis::write_comment_list(&mut p, comments);
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toc_durations() {
        assert_eq!(packet_samples(&[0xFC]), Some(960)); // CELT 20 ms, 1 frame
        assert_eq!(packet_samples(&[0xFD]), Some(1920)); // 2 frames
        assert_eq!(packet_samples(&[0x1B, 0x03]), None); // 3 × 60 ms > 120 ms
        assert_eq!(packet_samples(&[0x1B, 0x02]), Some(5760));
        assert_eq!(packet_samples(&[0x0B, 0x03]), Some(2880)); // 3 × 20 ms
        assert_eq!(packet_samples(&[0x03, 0x00]), None);
        assert_eq!(packet_samples(&[]), None);
    }

    #[test]
    fn dops_becomes_little_endian_opushead() {
        let mut dops = b"OpusHead".to_vec();
        dops.extend_from_slice(&[0, 2, 0x01, 0x38, 0, 0, 0xBB, 0x80, 0, 0, 0]);
        let head = head_from_mp4_dops(&dops).unwrap();
        assert_eq!(pre_skip(&head), Some(312));
        assert_eq!(&head[12..16], &48000u32.to_le_bytes());
        assert!(head_from_mp4_dops(&head).is_none(), "already an OpusHead");
    }
}
