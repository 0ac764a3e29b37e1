//! The FLAC encoder, lossless round trip: any samples it takes are what the engine decodes from
//! its output (through symphonia's FLAC reader), shifted up to the 16- or 24-bit output.
#![no_main]

use arbitrary::Arbitrary;
use converso_core::fuzzing::flac_encode;
use converso_core::{ExtractOptions, OutputFormat};
use converso_fuzz::extract_bounded;
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input {
    rate: u32,
    channels: u8,
    bits: u8,
    /// Frames per `encode` call.
    chunk: u16,
    samples: Vec<i32>,
}

fuzz_target!(|i: Input| {
    let channels = usize::from(i.channels % 8) + 1;
    let bits = u32::from(i.bits % 17) + 8;
    // FLAC's rates (to 655350 Hz) that the engine decodes (from 1 kHz).
    let rate = i.rate % (655_350 - 1_000 + 1) + 1_000;
    // Whole frames of values within `bits`.
    let frames = i.samples.len() / channels;
    let samples: Vec<i32> = i.samples[..frames * channels].iter().map(|&s| (s << (32 - bits)) >> (32 - bits)).collect();
    let flac = flac_encode(rate, channels, bits, &samples, usize::from(i.chunk)).expect("a valid layout encodes");
    let Some(wav) = extract_bounded(&flac, &ExtractOptions::new(OutputFormat::Wav)) else {
        assert!(samples.is_empty(), "the encoder's output does not decode ({channels} ch, {bits} bits, {rate} Hz)");
        return;
    };
    let out_bits = if bits > 16 { 24 } else { 16 };
    let width = out_bits as usize / 8;
    let data = wav.windows(4).position(|w| w == b"data").expect("a data chunk") + 8;
    let decoded: Vec<i32> = wav[data..]
        .chunks_exact(width)
        .map(|b| {
            let mut v = [0u8; 4];
            v[4 - width..].copy_from_slice(b);
            i32::from_le_bytes(v) >> (32 - out_bits)
        })
        .collect();
    let expected: Vec<i32> = samples.iter().map(|&s| s << (out_bits - bits)).collect();
    assert!(decoded == expected, "{channels} ch, {bits} bits, {rate} Hz: the samples changed");
});
