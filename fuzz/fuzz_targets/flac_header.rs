//! The FLAC stream header of the stream copy from codec private data and tags: the output is a
//! chain of metadata blocks that ends exactly where the last one says.
//! Input: pieces (see `pieces`): the codec private data, then `KEY=value` comments.
#![no_main]

use converso_core::fuzzing::flac_header;
use converso_fuzz::pieces;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let p = pieces(data);
    let Some((streaminfo, comments)) = p.split_first() else {
        return;
    };
    let comments: Vec<String> = comments.iter().map(|c| String::from_utf8_lossy(c).into_owned()).collect();
    let Ok(out) = flac_header(streaminfo, &comments) else {
        return;
    };
    assert_eq!(&out[..4], b"fLaC");
    let mut at = 4;
    loop {
        let h = &out[at..at + 4];
        let len = usize::from(h[1]) << 16 | usize::from(h[2]) << 8 | usize::from(h[3]);
        at += 4 + len;
        if h[0] & 0x80 != 0 {
            break;
        }
    }
    assert_eq!(at, out.len());
});
