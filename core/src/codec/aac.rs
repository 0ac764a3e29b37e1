//! AAC AudioSpecificConfig → ADTS frame headers (ISO/IEC 14496-3 §1.6.2.1, §1.A.2.2).

use crate::error::{Error, Result};

/// What an ADTS header needs from the AudioSpecificConfig.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct AdtsConfig {
    /// Audio object type − 1 (ADTS's 2-bit profile).
    profile: u8,
    sampling_index: u8,
    channel_config: u8,
}

const RATES: [u32; 13] = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

impl AdtsConfig {
    /// Reads an AudioSpecificConfig. Falls back to `rate`/`channels` when it is absent.
    pub fn from_asc(asc: &[u8], rate: u32, channels: u32) -> Result<AdtsConfig> {
        let (object_type, sampling_index, channel_config) = if asc.len() >= 2 {
            let object_type = asc[0] >> 3;
            let idx = ((asc[0] & 0x07) << 1) | (asc[1] >> 7);
            let ch = (asc[1] >> 3) & 0x0F;
            if idx == 0x0F {
                // Explicit 24-bit rate: map it to an index if it is a standard rate.
                let bits = u32::from_be_bytes([0, asc[1] & 0x7F, *asc.get(2).unwrap_or(&0), *asc.get(3).unwrap_or(&0)]);
                let explicit = (bits >> 7) & 0xFF_FFFF;
                let idx = rate_index(explicit).ok_or_else(|| cannot("a non-standard sample rate"))?;
                let ch = (asc.get(4).copied().unwrap_or(0) >> 3) & 0x0F;
                (object_type, idx, ch)
            } else {
                (object_type, idx, ch)
            }
        } else {
            (2, rate_index(rate).ok_or_else(|| cannot("a non-standard sample rate"))?, channels as u8)
        };
        if !(1..=4).contains(&object_type) {
            return Err(cannot(match object_type {
                5 | 29 => "HE-AAC (SBR/PS) signalling",
                _ => "this AAC object type",
            }));
        }
        if sampling_index > 12 {
            return Err(cannot("this sampling frequency index"));
        }
        if channel_config == 0 || channel_config > 7 {
            return Err(cannot("a channel layout given by a program config element"));
        }
        Ok(AdtsConfig { profile: object_type - 1, sampling_index, channel_config })
    }

    /// The 7-byte ADTS header (no CRC) for a raw frame of `payload_len` bytes.
    pub fn header(&self, payload_len: usize) -> Result<[u8; 7]> {
        let len = payload_len + 7;
        if len >= 1 << 13 {
            return Err(Error::extraction_failed("an AAC frame is too large for ADTS"));
        }
        let len = len as u32;
        Ok([
            0xFF,
            0xF1, // sync, MPEG-4, layer 0, no CRC
            (self.profile << 6) | (self.sampling_index << 2) | (self.channel_config >> 2),
            ((self.channel_config & 3) << 6) | ((len >> 11) as u8 & 0x03),
            (len >> 3) as u8,
            (((len & 7) << 5) as u8) | 0x1F, // buffer fullness 0x7FF (VBR)
            0xFC,                            // fullness low bits, 1 raw data block
        ])
    }
}

fn rate_index(rate: u32) -> Option<u8> {
    RATES.iter().position(|&r| r == rate).map(|i| i as u8)
}

fn cannot(what: &str) -> Error {
    Error::invalid_output(format!("ADTS cannot carry {what}"))
        .with_details("choose m4a-free formats such as flac or wav, or another source")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lc_stereo_44k() {
        let c = AdtsConfig::from_asc(&[0x12, 0x10], 44100, 2).unwrap();
        assert_eq!(c, AdtsConfig { profile: 1, sampling_index: 4, channel_config: 2 });
        let h = c.header(100).unwrap();
        assert_eq!(h[0..2], [0xFF, 0xF1]);
        let len = ((u32::from(h[3]) & 3) << 11) | (u32::from(h[4]) << 3) | (u32::from(h[5]) >> 5);
        assert_eq!(len, 107);
    }

    #[test]
    fn refuses_what_adts_cannot_say() {
        assert!(AdtsConfig::from_asc(&[0x2B, 0x92, 0x08, 0x00], 24000, 2).is_err()); // HE-AAC
        assert!(AdtsConfig::from_asc(&[0x12, 0x00], 44100, 0).is_err()); // PCE layout
        assert!(AdtsConfig::from_asc(&[0x12, 0x10], 44100, 2).unwrap().header(9000).is_err());
    }
}
