//! Opus header and packet facts on arbitrary bytes: the MP4 `dOps` rewrite, OpusHead checks and
//! TOC durations.
#![no_main]

use converso_core::fuzzing::{opus_head_from_dops, opus_packet_samples, opus_pre_skip};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(head) = opus_head_from_dops(data) {
        // Same length, version 1, and the fields byte-swapped.
        assert_eq!(head.len(), data.len());
        assert_eq!(head[8], 1);
        assert_eq!(head[9], data[9]);
        if let Some(skip) = opus_pre_skip(&head) {
            assert_eq!(skip, u16::from_be_bytes([data[10], data[11]]));
        }
    }
    if let Some(skip) = opus_pre_skip(data) {
        assert_eq!(skip, u16::from_le_bytes([data[10], data[11]]));
    }
    if let Some(n) = opus_packet_samples(data) {
        // 2.5 ms to 120 ms, in 2.5 ms steps.
        assert!((120..=5760).contains(&n) && n % 120 == 0, "{n}");
    }
});
