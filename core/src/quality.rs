//! What a lossy re-encode produces: bitrate, sample rate and channels, per format.
//!
//! Bitrates per quality level (`medium` is the default; `bitrate` overrides the level):
//!
//! | format | low | medium | high | extreme | `bitrate` accepted |
//! |---|---|---|---|---|---|
//! | `mp3` | 96k | 128k | 192k | 320k | the Layer III bitrates of the MPEG version the sample rate selects: 32k–320k (MPEG-1: 32, 44.1, 48 kHz), 8k–160k (MPEG-2 and 2.5: 8–24 kHz); a value between two of them takes the nearest |
//! | `aac` | 96k | 128k | 192k | 256k | 32k–320k, and at most 6144 bits per channel per frame (AAC's limit: 264.6k for mono at 44.1 kHz) |
//! | `opus` | 48k | 64k | 96k | 160k | 6k–256k per channel, 510k at most |
//!
//! The levels are for mono and stereo. Surround output (aac, opus) gets the level's bitrate per
//! pair of channels (5.1 aac at `medium`: 384k), and accepts 16k–160k per channel for aac,
//! 6k–256k per channel for opus.
//!
//! A level above what the output can carry (mp3 `extreme` at 22.05 kHz, aac `high` for mono
//! 8 kHz) takes the highest bitrate it can; an explicit `bitrate` outside the range is
//! `INVALID_OUTPUT` naming the range.
//!
//! Sample rates: mp3 keeps a legal Layer III rate (8, 11.025, 12, 16, 22.05, 24, 32, 44.1,
//! 48 kHz) and resamples anything else to the nearest of them; aac keeps the same nine rates
//! (higher ones are resampled to 48 kHz: 128–256k spent above 24 kHz is wasted); opus encodes
//! at 8, 12, 16, 24 or 48 kHz as the source is, and resamples anything else to 48 kHz.
//!
//! Channels: mono and stereo are kept everywhere. aac keeps 3.0, 5.0, 5.1 and 7.1 (AAC's channel
//! configurations 3, 5, 6 and 7), opus any layout of up to eight channels (mapping family 1);
//! every other layout, and anything above stereo for mp3, is downmixed to stereo (see
//! `encode::downmix`).

use crate::error::{Error, Result};
use crate::options::{OutputFormat, Quality};

/// Layer III sample rates: MPEG-2.5, MPEG-2, MPEG-1 (three each).
pub(crate) const MP3_RATES: [u32; 9] = [8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000];
/// Layer III bitrates in kbps (ISO 11172-3 and 13818-3, the "free" and forbidden indices left out).
const MP3_KBPS_V1: [u32; 14] = [32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320];
const MP3_KBPS_V2: [u32; 14] = [8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160];
/// Rates the Opus encoder takes as they are.
const OPUS_RATES: [u32; 5] = [8000, 12000, 16000, 24000, 48000];
const AAC_MIN_BPS: u32 = 32_000;
const AAC_MAX_BPS: u32 = 320_000;
const OPUS_MIN_BPS: u32 = 6_000;
const OPUS_MAX_BPS_PER_CHANNEL: u32 = 256_000;
const OPUS_MAX_BPS: u32 = 510_000;

/// What the encoder of a lossy format is set up to produce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Target {
    /// Bits per second.
    pub bitrate: u32,
    /// Sample rate the encoder is fed.
    pub sample_rate: u32,
    /// Channels the encoder is fed.
    pub channels: u32,
}

/// The bitrate of a quality level, before the format's limits.
pub(crate) fn level_bps(format: OutputFormat, quality: Quality) -> Option<u32> {
    let kbps = match format {
        OutputFormat::Mp3 => [96, 128, 192, 320],
        OutputFormat::Aac => [96, 128, 192, 256],
        OutputFormat::Opus => [48, 64, 96, 160],
        OutputFormat::Ogg | OutputFormat::Flac | OutputFormat::Wav => return None,
    };
    let i = match quality {
        Quality::Low => 0,
        Quality::Medium => 1,
        Quality::High => 2,
        Quality::Extreme => 3,
    };
    Some(kbps[i] * 1000)
}

/// The sample rate a format's encoder is fed for a source at `rate`.
pub(crate) fn encoder_rate(format: OutputFormat, rate: u32) -> u32 {
    match format {
        OutputFormat::Mp3 | OutputFormat::Aac => nearest(&MP3_RATES, rate),
        OutputFormat::Opus if OPUS_RATES.contains(&rate) => rate,
        _ => 48_000,
    }
}

/// The closest of `rates` (ascending) to `rate`; a tie goes to the higher one.
fn nearest(rates: &[u32], rate: u32) -> u32 {
    rates.iter().copied().min_by_key(|r| (r.abs_diff(rate), u32::MAX - r)).unwrap_or(rate)
}

/// The encoder set-up for a source of `rate` Hz and `channels` channels. `bitrate` (bits per
/// second) overrides `quality`.
///
/// Errors: `INVALID_OUTPUT` for a `bitrate` the format cannot produce at that rate, with the
/// allowed range in `details`; `None` for formats without a lossy encoder here.
pub(crate) fn target(
    format: OutputFormat,
    rate: u32,
    channels: u32,
    quality: Quality,
    bitrate: Option<u32>,
) -> Result<Option<Target>> {
    let Some(level) = level_bps(format, quality) else {
        return Ok(None);
    };
    let sample_rate = encoder_rate(format, rate);
    let channels = encoder_channels(format, channels);
    let (lo, hi) = bitrate_range(format, sample_rate, channels);
    let bitrate = match bitrate {
        None => (level * channels.max(2) / 2).clamp(lo, hi),
        Some(b) if (lo..=hi).contains(&b) => b,
        Some(b) => {
            return Err(Error::invalid_output(format!(
                "output.bitrate {} kbps is outside what {} output allows here",
                kbps(b),
                format.as_str()
            ))
            .with_details(allowed(format, sample_rate, channels)));
        }
    };
    // MP3 frames come in a fixed set of bitrates: take the nearest.
    let bitrate = if format == OutputFormat::Mp3 {
        let table = mp3_kbps(sample_rate);
        table.iter().map(|k| k * 1000).min_by_key(|k| (k.abs_diff(bitrate), *k)).unwrap_or(bitrate)
    } else {
        bitrate
    };
    Ok(Some(Target { bitrate, sample_rate, channels }))
}

fn mp3_kbps(rate: u32) -> &'static [u32; 14] {
    if rate >= 32_000 {
        &MP3_KBPS_V1
    } else {
        &MP3_KBPS_V2
    }
}

/// The channels a format's encoder is fed for a source of `channels`: the same when the
/// format carries that layout, else 2 (a downmix).
pub(crate) fn encoder_channels(format: OutputFormat, channels: u32) -> u32 {
    let carried = match format {
        OutputFormat::Aac => matches!(channels, 1 | 2 | 3 | 5 | 6 | 8),
        OutputFormat::Opus => (1..=8).contains(&channels),
        _ => (1..=2).contains(&channels),
    };
    if carried {
        channels
    } else {
        2
    }
}

/// The lowest and highest bitrate (bits per second) of a format at an encoder rate and channels.
fn bitrate_range(format: OutputFormat, rate: u32, channels: u32) -> (u32, u32) {
    let surround = channels > 2;
    match format {
        OutputFormat::Mp3 => {
            let t = mp3_kbps(rate);
            (t[0] * 1000, t[t.len() - 1] * 1000)
        }
        OutputFormat::Aac if surround => {
            (AAC_MIN_BPS / 2 * channels, (AAC_MAX_BPS / 2 * channels).min(aac_cap(rate, channels)))
        }
        OutputFormat::Aac => (AAC_MIN_BPS, AAC_MAX_BPS.min(aac_cap(rate, channels))),
        _ if surround => (OPUS_MIN_BPS * channels, OPUS_MAX_BPS_PER_CHANNEL * channels),
        _ => (OPUS_MIN_BPS, (OPUS_MAX_BPS_PER_CHANNEL * channels).min(OPUS_MAX_BPS)),
    }
}

/// AAC's ceiling: 6144 bits per channel in a frame of 1024 samples.
fn aac_cap(rate: u32, channels: u32) -> u32 {
    (6144 * u64::from(channels) * u64::from(rate) / 1024) as u32
}

fn kbps(bps: u32) -> String {
    if bps.is_multiple_of(1000) {
        format!("{}", bps / 1000)
    } else {
        format!("{:.3}", f64::from(bps) / 1000.0)
    }
}

/// The allowed bitrates, for an error's `details`.
fn allowed(format: OutputFormat, rate: u32, channels: u32) -> String {
    let (lo, hi) = bitrate_range(format, rate, channels);
    match format {
        OutputFormat::Mp3 => {
            let version = match rate {
                32_000.. => "MPEG-1",
                16_000.. => "MPEG-2",
                _ => "MPEG-2.5",
            };
            let list: Vec<String> = mp3_kbps(rate).iter().map(|k| format!("{k}k")).collect();
            format!(
                "mp3 at {rate} Hz ({version} Layer III) allows {}k to {}k: {}",
                lo / 1000,
                hi / 1000,
                list.join(", ")
            )
        }
        OutputFormat::Aac => format!(
            "aac allows {}k to {}k for {channels} channel(s) at {rate} Hz (32k to 320k for mono and stereo, 16k to 160k per channel for surround, at most 6144 bits per channel per frame)",
            kbps(lo),
            kbps(hi)
        ),
        _ => format!(
            "opus allows {}k to {}k for {channels} channel(s) (6k to 256k per channel, 510k at most for stereo)",
            kbps(lo),
            kbps(hi)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(format: OutputFormat, rate: u32, ch: u32, q: Quality, b: Option<u32>) -> Result<Target> {
        Ok(target(format, rate, ch, q, b)?.unwrap())
    }

    #[test]
    fn levels_per_format() {
        let mp3: Vec<u32> = [Quality::Low, Quality::Medium, Quality::High, Quality::Extreme]
            .into_iter()
            .map(|q| t(OutputFormat::Mp3, 44100, 2, q, None).unwrap().bitrate)
            .collect();
        assert_eq!(mp3, [96_000, 128_000, 192_000, 320_000]);
        assert_eq!(t(OutputFormat::Aac, 48000, 2, Quality::Extreme, None).unwrap().bitrate, 256_000);
        assert_eq!(t(OutputFormat::Opus, 48000, 2, Quality::Low, None).unwrap().bitrate, 48_000);
        assert!(target(OutputFormat::Ogg, 44100, 2, Quality::Medium, None).unwrap().is_none());
        assert!(target(OutputFormat::Flac, 44100, 2, Quality::Medium, None).unwrap().is_none());
    }

    #[test]
    fn rates() {
        assert_eq!(encoder_rate(OutputFormat::Mp3, 44100), 44100);
        assert_eq!(encoder_rate(OutputFormat::Mp3, 96000), 48000);
        assert_eq!(encoder_rate(OutputFormat::Mp3, 88200), 48000);
        assert_eq!(encoder_rate(OutputFormat::Mp3, 37800), 32000);
        assert_eq!(encoder_rate(OutputFormat::Mp3, 7350), 8000);
        assert_eq!(encoder_rate(OutputFormat::Aac, 22050), 22050);
        assert_eq!(encoder_rate(OutputFormat::Aac, 96000), 48000);
        assert_eq!(encoder_rate(OutputFormat::Opus, 44100), 48000);
        assert_eq!(encoder_rate(OutputFormat::Opus, 16000), 16000);
        assert_eq!(encoder_rate(OutputFormat::Opus, 22050), 48000);
    }

    #[test]
    fn limits_clamp_levels_and_refuse_bitrates() {
        // MPEG-2 tops out at 160k: the level is clamped, an explicit 192k refused.
        assert_eq!(t(OutputFormat::Mp3, 22050, 2, Quality::Extreme, None).unwrap().bitrate, 160_000);
        let e = t(OutputFormat::Mp3, 22050, 2, Quality::Medium, Some(192_000)).unwrap_err();
        assert_eq!(e.code, crate::ErrorCode::InvalidOutput);
        assert!(e.details.as_deref().unwrap().contains("8k to 160k"), "{e:?}");
        // A bitrate between two legal ones takes the nearest.
        assert_eq!(t(OutputFormat::Mp3, 44100, 2, Quality::Medium, Some(100_000)).unwrap().bitrate, 96_000);
        assert_eq!(
            t(OutputFormat::Mp3, 44100, 1, Quality::Medium, Some(330_000)).unwrap_err().code,
            crate::ErrorCode::InvalidOutput
        );
        // AAC mono at 8 kHz carries at most 48k.
        assert_eq!(t(OutputFormat::Aac, 8000, 1, Quality::High, None).unwrap().bitrate, 48_000);
        let e = t(OutputFormat::Aac, 44100, 2, Quality::Medium, Some(16_000)).unwrap_err();
        assert!(e.details.as_deref().unwrap().contains("32k to 320k"), "{e:?}");
        let e = t(OutputFormat::Opus, 48000, 1, Quality::Medium, Some(300_000)).unwrap_err();
        assert!(e.details.as_deref().unwrap().contains("6k to 256k"), "{e:?}");
        assert_eq!(t(OutputFormat::Opus, 48000, 2, Quality::Medium, Some(300_000)).unwrap().bitrate, 300_000);
        // Surround: kept where the format carries the layout, with the level per channel pair.
        let five_one = t(OutputFormat::Aac, 48000, 6, Quality::Medium, None).unwrap();
        assert_eq!((five_one.channels, five_one.bitrate), (6, 384_000));
        assert_eq!(t(OutputFormat::Opus, 48000, 6, Quality::Medium, None).unwrap().bitrate, 192_000);
        assert_eq!(t(OutputFormat::Opus, 48000, 9, Quality::Medium, None).unwrap().channels, 2);
        assert_eq!(t(OutputFormat::Aac, 48000, 4, Quality::Medium, None).unwrap().channels, 2);
        assert_eq!(t(OutputFormat::Mp3, 48000, 6, Quality::Medium, None).unwrap().channels, 2);
        let e = t(OutputFormat::Aac, 48000, 6, Quality::Medium, Some(1_200_000)).unwrap_err();
        assert!(e.details.as_deref().unwrap().contains("96k to 960k"), "{e:?}");
    }
}
