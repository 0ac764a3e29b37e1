//! AudioSpecificConfig → ADTS header: any header made says what it was given.
#![no_main]

use arbitrary::Arbitrary;
use converso_core::fuzzing::adts_header;
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input {
    asc: Vec<u8>,
    rate: u32,
    channels: u32,
    payload_len: u16,
}

fuzz_target!(|i: Input| {
    let Ok(h) = adts_header(&i.asc, i.rate, i.channels, usize::from(i.payload_len)) else {
        return;
    };
    // Sync word, MPEG-4, no CRC.
    assert_eq!((h[0], h[1]), (0xFF, 0xF1));
    let sampling_index = (h[2] >> 2) & 0x0F;
    let channels = ((h[2] & 1) << 2) | (h[3] >> 6);
    let len = ((usize::from(h[3]) & 3) << 11) | (usize::from(h[4]) << 3) | (usize::from(h[5]) >> 5);
    assert!(sampling_index <= 12 && (1..=7).contains(&channels));
    assert_eq!(len, usize::from(i.payload_len) + 7);
});
