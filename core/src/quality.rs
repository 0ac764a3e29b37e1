//! What a lossy re-encode produces: bitrate (or Vorbis quality), sample rate and channels, per
//! format.
//!
//! Bitrates per quality level (`medium` is the default; `bitrate` overrides the level):
//!
//! | format | low | medium | high | extreme | `bitrate` accepted |
//! |---|---|---|---|---|---|
//! | `mp3` | 96k | 128k | 192k | 320k | the Layer III bitrates of the MPEG version the sample rate selects: 32k–320k (MPEG-1: 32, 44.1, 48 kHz), 8k–160k (MPEG-2 and 2.5: 8–24 kHz); a value between two of them takes the nearest |
//! | `aac` | 96k | 128k | 192k | 256k | 32k–320k, and at most 6144 bits per channel per frame (AAC's limit: 264.6k for mono at 44.1 kHz) |
//! | `opus` | 48k | 64k | 96k | 160k | 6k–256k per channel, 510k at most |
//! | `ogg` | q2 | q4 | q6 | q9 | what libvorbis's average-bitrate set-ups cover at the rate and channel count: stereo 32k–500k at 40–48 kHz (10k–84k at 8 kHz), other channel counts 28k–240k per channel at 40–48 kHz (8k–42k at 8 kHz), 5.1 12k–240k per channel at 40–48 kHz ([`vorbis_range`]) |
//!
//! `ogg` levels are Vorbis VBR qualities (libvorbis's scale, as `oggenc -q`; for stereo at
//! 44.1 kHz about 96k, 128k, 192k and 320k), which set no bitrate: the output takes what the
//! audio needs. A `bitrate` makes it average-bitrate (ABR) at that rate instead.
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
//! at 8, 12, 16, 24 or 48 kHz as the source is, and resamples anything else to 48 kHz; ogg keeps
//! any rate from 8 to 48 kHz and resamples higher ones to 48 kHz, lower ones to 8 kHz (libvorbis
//! tunes its set-ups for 8–48 kHz, and has none with an average bitrate outside them).
//!
//! Channels: mono and stereo are kept everywhere. aac keeps 3.0, 5.0, 5.1 and 7.1 (AAC's channel
//! configurations 3, 5, 6 and 7), opus and ogg any layout of up to eight channels (Vorbis channel
//! order); every other layout, and anything above stereo for mp3, is downmixed to stereo (see
//! `transcode::encode::downmix`).

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
/// Lowest and highest kbps (per channel for Vorbis).
type KbpsRange = (u32, u32);
/// Vorbis VBR qualities of the levels low, medium, high, extreme (libvorbis's −1…10 scale).
pub(crate) const VORBIS_QUALITIES: [u8; 4] = [2, 4, 6, 9];
/// Average bitrates libvorbis's encoder set-ups (vorbisenc's templates) cover, per band of sample
/// rates: the band's lowest rate, then the lowest and highest kbps per channel for stereo
/// (coupled) and for every other channel count (uncoupled). 5.1 at 40 kHz and above has a set-up
/// of its own ([`VORBIS_51_KBPS`]). A test checks the table against libvorbis.
const VORBIS_KBPS: [(u32, KbpsRange, KbpsRange); 6] = [
    (40_000, (16, 250), (28, 240)),
    (26_000, (14, 190), (26, 190)),
    (19_000, (14, 90), (22, 90)),
    (15_000, (10, 100), (16, 100)),
    (9_000, (8, 50), (14, 50)),
    (8_000, (5, 42), (8, 42)),
];
const VORBIS_51_KBPS: KbpsRange = (12, 240);

/// What the encoder of a lossy format is set up to produce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Target {
    /// Bits per second (an average for ogg); `None` for a Vorbis VBR quality.
    pub bitrate: Option<u32>,
    /// Vorbis VBR quality (libvorbis's scale): ogg at a quality level.
    pub vbr_quality: Option<u8>,
    /// Sample rate the encoder is fed.
    pub sample_rate: u32,
    /// Channels the encoder is fed.
    pub channels: u32,
}

fn level_index(quality: Quality) -> usize {
    match quality {
        Quality::Low => 0,
        Quality::Medium => 1,
        Quality::High => 2,
        Quality::Extreme => 3,
    }
}

/// The bitrate of a quality level, before the format's limits (`None` for formats without
/// one: ogg's levels are qualities, lossless formats have none).
pub(crate) fn level_bps(format: OutputFormat, quality: Quality) -> Option<u32> {
    let kbps = match format {
        OutputFormat::Mp3 => [96, 128, 192, 320],
        OutputFormat::Aac => [96, 128, 192, 256],
        OutputFormat::Opus => [48, 64, 96, 160],
        OutputFormat::Ogg | OutputFormat::Flac | OutputFormat::Wav => return None,
    };
    Some(kbps[level_index(quality)] * 1000)
}

/// The sample rate a format's encoder is fed for a source at `rate`.
pub(crate) fn encoder_rate(format: OutputFormat, rate: u32) -> u32 {
    match format {
        OutputFormat::Mp3 | OutputFormat::Aac => nearest(&MP3_RATES, rate),
        OutputFormat::Opus if OPUS_RATES.contains(&rate) => rate,
        OutputFormat::Ogg => rate.clamp(8_000, 48_000),
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
/// allowed range in `details`; `None` for lossless formats.
pub(crate) fn target(
    format: OutputFormat,
    rate: u32,
    channels: u32,
    quality: Quality,
    bitrate: Option<u32>,
) -> Result<Option<Target>> {
    if format.is_lossless() {
        return Ok(None);
    }
    let sample_rate = encoder_rate(format, rate);
    let channels = encoder_channels(format, channels);
    let (lo, hi) = bitrate_range(format, sample_rate, channels);
    let bitrate = match (bitrate, level_bps(format, quality)) {
        // Vorbis levels are VBR qualities.
        (None, None) => {
            let vbr_quality = Some(VORBIS_QUALITIES[level_index(quality)]);
            return Ok(Some(Target { bitrate: None, vbr_quality, sample_rate, channels }));
        }
        (None, Some(level)) => (level * channels.max(2) / 2).clamp(lo, hi),
        (Some(b), _) if (lo..=hi).contains(&b) => b,
        (Some(b), _) => {
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
    Ok(Some(Target { bitrate: Some(bitrate), vbr_quality: None, sample_rate, channels }))
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
        OutputFormat::Opus | OutputFormat::Ogg => (1..=8).contains(&channels),
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
        OutputFormat::Ogg => vorbis_range(rate, channels),
        _ if surround => (OPUS_MIN_BPS * channels, OPUS_MAX_BPS_PER_CHANNEL * channels),
        _ => (OPUS_MIN_BPS, (OPUS_MAX_BPS_PER_CHANNEL * channels).min(OPUS_MAX_BPS)),
    }
}

/// The average bitrates (bits per second, in all) libvorbis can encode `channels` at `rate`
/// (8–48 kHz) with.
pub(crate) fn vorbis_range(rate: u32, channels: u32) -> (u32, u32) {
    let (_, stereo, other) = VORBIS_KBPS.iter().find(|b| rate >= b.0).unwrap_or(&VORBIS_KBPS[VORBIS_KBPS.len() - 1]);
    let (lo, hi) = match channels {
        2 => *stereo,
        6 if rate >= 40_000 => VORBIS_51_KBPS,
        _ => *other,
    };
    (lo * 1000 * channels, hi * 1000 * channels)
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
        OutputFormat::Ogg => format!(
            "ogg (Vorbis, average bitrate) allows {}k to {}k for {channels} channel(s) at {rate} Hz (libvorbis's range for that rate and channel count; the quality levels set no bitrate)",
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

    /// The target, its bitrate unwrapped (a field of the same name, for the formats with one).
    #[derive(Debug)]
    struct T {
        bitrate: u32,
        channels: u32,
    }

    fn t(format: OutputFormat, rate: u32, ch: u32, q: Quality, b: Option<u32>) -> Result<T> {
        let t = target(format, rate, ch, q, b)?.unwrap();
        Ok(T { bitrate: t.bitrate.unwrap(), channels: t.channels })
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
        assert!(target(OutputFormat::Flac, 44100, 2, Quality::Medium, None).unwrap().is_none());
        let ogg: Vec<Target> = [Quality::Low, Quality::Medium, Quality::High, Quality::Extreme]
            .into_iter()
            .map(|q| target(OutputFormat::Ogg, 44100, 2, q, None).unwrap().unwrap())
            .collect();
        assert_eq!(ogg.iter().map(|t| t.vbr_quality.unwrap()).collect::<Vec<_>>(), [2, 4, 6, 9]);
        assert!(ogg.iter().all(|t| t.bitrate.is_none()));
        let abr = target(OutputFormat::Ogg, 44100, 2, Quality::Low, Some(160_000)).unwrap().unwrap();
        assert_eq!((abr.bitrate, abr.vbr_quality), (Some(160_000), None));
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
        assert_eq!(encoder_rate(OutputFormat::Ogg, 22050), 22050);
        assert_eq!(encoder_rate(OutputFormat::Ogg, 37800), 37800);
        assert_eq!(encoder_rate(OutputFormat::Ogg, 96000), 48000);
        assert_eq!(encoder_rate(OutputFormat::Ogg, 7350), 8000);
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
        // Vorbis: libvorbis's average-bitrate range for the rate and channels.
        let e = t(OutputFormat::Ogg, 44100, 2, Quality::Medium, Some(600_000)).unwrap_err();
        assert!(e.details.as_deref().unwrap().contains("32k to 500k"), "{e:?}");
        let e = t(OutputFormat::Ogg, 8000, 1, Quality::Medium, Some(64_000)).unwrap_err();
        assert!(e.details.as_deref().unwrap().contains("8k to 42k"), "{e:?}");
        assert_eq!(t(OutputFormat::Ogg, 96000, 6, Quality::Medium, Some(448_000)).unwrap().channels, 6);
        assert_eq!(t(OutputFormat::Ogg, 48000, 9, Quality::Medium, Some(128_000)).unwrap().channels, 2);
    }
}
