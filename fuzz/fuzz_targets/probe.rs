//! `probe` on arbitrary bytes: no panic, and a description that serialises.
#![no_main]

use std::sync::Arc;

use converso_core::{probe, SliceSource};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(info) = probe(SliceSource::new(Arc::<[u8]>::from(data))) {
        assert_eq!(info.size, data.len() as u64);
        assert!(serde_json::to_string(&info).is_ok());
    }
});
