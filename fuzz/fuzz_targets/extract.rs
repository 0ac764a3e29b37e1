//! A whole extraction on arbitrary bytes, bounded (see `extract_bounded`). The first byte picks
//! the options: bits 0–3 the format (modulo 6), 4–5 the quality, 6 `normalize`, 7
//! `preserveMetadata`; the rest is the input file.
#![no_main]

use converso_core::{ExtractOptions, OutputFormat, Quality};
use converso_fuzz::extract_bounded;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&choice, media)) = data.split_first() else {
        return;
    };
    let mut options = ExtractOptions::new(OutputFormat::ALL[usize::from(choice & 0x0F) % 6]);
    options.quality =
        Some([Quality::Low, Quality::Medium, Quality::High, Quality::Extreme][usize::from(choice >> 4) & 3]);
    options.normalize = choice & 0x40 != 0;
    options.preserve_metadata = choice & 0x80 != 0;
    extract_bounded(media, &options);
});
