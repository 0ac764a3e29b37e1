//! Vorbis headers: splitting codec private data, and the block size of each packet from the
//! setup header's mode table. Input: pieces (see `pieces`): the codec private data, then packets.
#![no_main]

use converso_core::fuzzing::{vorbis_block_sizes, vorbis_headers};
use converso_fuzz::pieces;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let p = pieces(data);
    let Some((extra, packets)) = p.split_first() else {
        return;
    };
    if let Ok([ident, comment, setup]) = vorbis_headers(extra) {
        assert!(ident.len() + comment.len() + setup.len() <= extra.len() + 64);
    }
    if let Ok(sizes) = vorbis_block_sizes(extra, packets) {
        assert_eq!(sizes.len(), packets.len());
        for s in sizes.into_iter().flatten() {
            assert!(s.is_power_of_two() && (64..=8192).contains(&s), "{s}");
        }
    }
});
