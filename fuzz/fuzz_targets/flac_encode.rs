//! The FLAC encoder, lossless round trip: any samples it takes are what an independent FLAC
//! decoder (claxon) reads back from its output. (Not the engine's own reader: symphonia skips
//! its frame-header CRC check when built for fuzzing, so inside a fuzz build it can take a
//! sync code in the middle of a frame for the next frame's start.)
#![no_main]

use arbitrary::Arbitrary;
use converso_core::fuzzing::flac_encode;
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
    // The depths a frame header can state (claxon reads no other; the engine writes 16 or 24).
    let bits = [8, 12, 16, 20, 24][usize::from(i.bits % 5)];
    // FLAC's rates (to 655350 Hz) that the engine decodes (from 1 kHz).
    let rate = i.rate % (655_350 - 1_000 + 1) + 1_000;
    // Whole frames of values within `bits`.
    let frames = i.samples.len() / channels;
    let samples: Vec<i32> = i.samples[..frames * channels].iter().map(|&s| (s << (32 - bits)) >> (32 - bits)).collect();
    let flac = flac_encode(rate, channels, bits, &samples, usize::from(i.chunk)).expect("a valid layout encodes");
    let mut reader = claxon::FlacReader::new(&flac[..]).expect("the encoder's output has valid headers");
    let info = reader.streaminfo();
    assert_eq!((info.channels as usize, info.bits_per_sample, info.sample_rate), (channels, bits, rate));
    let decoded: Vec<i32> = reader.samples().collect::<Result<_, _>>().unwrap_or_else(|e| {
        panic!("the encoder's output does not decode ({channels} ch, {bits} bits, {rate} Hz): {e}")
    });
    assert!(decoded == samples, "{channels} ch, {bits} bits, {rate} Hz: the samples changed");
});
