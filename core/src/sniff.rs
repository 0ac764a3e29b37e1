//! Container recognition from the first bytes, before the demuxer sees the input.
//!
//! Two jobs: refuse video containers we cannot read yet with a message that names them (the
//! MP3 reader would otherwise scan an MPEG-PS or TS file for frame syncs, "succeed" and yield
//! garbage), and tell apart containers the demuxer reports under one name (MP4/MOV/M4A,
//! Matroska/WebM).

/// What the first bytes say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sniffed {
    /// A container converso does not read; the value names it.
    Unsupported(&'static str),
    /// ISO base media with this major brand.
    IsoBrand([u8; 4]),
    /// EBML (Matroska) whose DocType is `webm`.
    Webm,
    /// Anything else: left to the demuxer's own probe.
    Other,
}

/// Looks at the start of the input.
pub(crate) fn sniff(head: &[u8]) -> Sniffed {
    let at = |i: usize, magic: &[u8]| head.get(i..i + magic.len()) == Some(magic);
    if at(0, b"RIFF") && at(8, b"AVI ") {
        return Sniffed::Unsupported("AVI");
    }
    if at(0, &[0, 0, 1, 0xBA]) {
        return Sniffed::Unsupported("MPEG program stream (.mpg/.vob)");
    }
    if at(0, &[0, 0, 1, 0xB3]) {
        return Sniffed::Unsupported("MPEG video elementary stream");
    }
    if at(0, b"FLV\x01") {
        return Sniffed::Unsupported("FLV");
    }
    if at(0, &[0x30, 0x26, 0xB2, 0x75, 0x8E, 0x66, 0xCF, 0x11]) {
        return Sniffed::Unsupported("ASF/WMV");
    }
    if at(0, b".RMF") {
        return Sniffed::Unsupported("RealMedia");
    }
    if is_transport_stream(head, 188, 0) || is_transport_stream(head, 192, 4) {
        return Sniffed::Unsupported("MPEG transport stream (.ts/.m2ts)");
    }
    if at(4, b"ftyp") {
        if let Some(brand) = head.get(8..12) {
            let mut b = [0u8; 4];
            b.copy_from_slice(brand);
            return Sniffed::IsoBrand(b);
        }
    }
    if at(0, &[0x1A, 0x45, 0xDF, 0xA3]) {
        // The DocType element (0x4282) sits in the EBML header, within the first few dozen bytes.
        let window = &head[..head.len().min(64)];
        if window.windows(6).any(|w| w == [0x42, 0x82, 0x84, b'w', b'e', b'b']) {
            return Sniffed::Webm;
        }
    }
    Sniffed::Other
}

/// Sync byte 0x47 at the start of at least three packets of `size` bytes.
fn is_transport_stream(head: &[u8], size: usize, offset: usize) -> bool {
    (0..3).all(|i| head.get(offset + i * size) == Some(&0x47))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_unreadable_containers() {
        let mut avi = b"RIFF\0\0\0\0AVI LIST".to_vec();
        avi.resize(64, 0);
        assert_eq!(sniff(&avi), Sniffed::Unsupported("AVI"));
        assert!(matches!(sniff(&[0, 0, 1, 0xBA, 0x44]), Sniffed::Unsupported(n) if n.contains("program")));
        let mut ts = vec![0u8; 600];
        for i in 0..3 {
            ts[i * 188] = 0x47;
        }
        assert!(matches!(sniff(&ts), Sniffed::Unsupported(n) if n.contains("transport")));
        assert_eq!(sniff(b"FLV\x01\x05"), Sniffed::Unsupported("FLV"));
    }

    #[test]
    fn wav_is_not_avi_and_mp4_brands_are_read() {
        assert_eq!(sniff(b"RIFF\0\0\0\0WAVEfmt "), Sniffed::Other);
        assert_eq!(sniff(b"\0\0\0\x20ftypqt  \0\0\0\0"), Sniffed::IsoBrand(*b"qt  "));
        assert_eq!(sniff(b""), Sniffed::Other);
    }
}
