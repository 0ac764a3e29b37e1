//! Inputs the fuzz targets in `fuzz/` found to break the engine, each kept as a test of the fix.
//! A test only needs the call not to panic, abort or run away; the input's verdict is checked
//! where it matters.

use converso_core::{probe, ErrorCode, ExtractOptions, Extraction, OutputFormat, SliceSource, Step, VecSink};

/// Runs every output format on `bytes` to the end (the inputs are tiny, so this is bounded).
fn extract_all_formats(bytes: Vec<u8>) {
    for format in OutputFormat::ALL {
        let Ok(mut x) =
            Extraction::new(SliceSource::new(bytes.clone()), &ExtractOptions::new(format), VecSink::default())
        else {
            continue;
        };
        while let Ok(Step::Progress(_)) = x.step() {}
    }
}

/// A PCM WAV header with no samples.
fn wav(channels: u16, rate: u32, bits: u16) -> Vec<u8> {
    let mut w = b"RIFF\x24\0\0\0WAVEfmt \x10\0\0\0\x01\0".to_vec();
    w.extend_from_slice(&channels.to_le_bytes());
    w.extend_from_slice(&rate.to_le_bytes());
    w.extend_from_slice(&0u32.to_le_bytes()); // byte rate, unused
    w.extend_from_slice(&(channels * bits / 8).to_le_bytes());
    w.extend_from_slice(&bits.to_le_bytes());
    w.extend_from_slice(b"data\0\0\0\0");
    w
}

#[test]
fn wav_whose_pcm_bitrate_overflows_a_u32() {
    // bits × channels × rate does not fit: the bitrate is unknown instead of a panic.
    let info = probe(SliceSource::new(wav(16, u32::MAX, 32))).expect("a WAV file");
    assert_eq!(info.tracks[0].bitrate, None);
}

#[test]
fn sample_rates_past_the_limit_are_refused_before_resampling() {
    // A header's 4294967295 Hz made the resampler build a filter of hundreds of millions of
    // points (minutes of work and gigabytes) before the first sample.
    let e = Extraction::new(
        SliceSource::new(wav(2, u32::MAX, 16)),
        &ExtractOptions::new(OutputFormat::Mp3),
        VecSink::default(),
    )
    .err()
    .expect("refused");
    assert_eq!(e.code, ErrorCode::InvalidVideo);
}

#[test]
fn wav_copy_at_a_rate_whose_byte_rate_overflows() {
    // The stream copy to WAV wrote rate × block size into the header's u32 byte rate.
    extract_all_formats(wav(16, u32::MAX, 32));
}

#[test]
fn sample_rates_below_the_limit_are_refused_before_resampling() {
    // A 14 KB WAV claiming 11 Hz became minutes of 48 kHz audio for the Opus encoder.
    let e =
        Extraction::new(SliceSource::new(wav(2, 11, 16)), &ExtractOptions::new(OutputFormat::Opus), VecSink::default())
            .err()
            .expect("refused");
    assert_eq!(e.code, ErrorCode::InvalidVideo);
}
