//! The MP4 box walk and sample-table follow-up on arbitrary bytes: every range left unread is
//! sorted, non-empty, apart from the next, and inside an `mdat` payload.
#![no_main]

use converso_core::fuzzing::mp4_unread;
use libfuzzer_sys::fuzz_target;

fn check(ranges: &[(u64, u64)], mdat: &[(u64, u64)]) {
    for w in ranges.windows(2) {
        assert!(w[0].1 < w[1].0, "ranges overlap or touch: {w:?}");
    }
    for &(s, e) in ranges {
        assert!(s < e);
        assert!(mdat.iter().any(|&(ms, me)| ms <= s && e <= me), "{s}..{e} outside every mdat");
    }
}

fuzz_target!(|data: &[u8]| {
    let Some(found) = mp4_unread(data) else {
        return;
    };
    check(&found.audio, &found.mdat);
    for (_, ranges) in &found.per_track {
        check(ranges, &found.mdat);
    }
});
