//! The WAV `LIST`/`INFO` tag reader on arbitrary bytes: no panic, and only non-empty values.
#![no_main]

use converso_core::fuzzing::riff_info_tags;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let t = riff_info_tags(data);
    for v in [t.title, t.artist, t.album, t.date, t.comment, t.language].into_iter().flatten() {
        assert!(!v.is_empty() && !v.contains('\0'));
    }
});
