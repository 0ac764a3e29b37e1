//! Deciding what an extraction will do, before doing it: which audio track, and whether its
//! packets can be copied as they are (lossless, fast) or must be decoded and re-encoded, and why.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::info::{AudioCodec, MediaInfo, TrackInfo};
use crate::options::{ExtractOptions, OutputFormat};
use crate::quality;

/// Why the audio is re-encoded rather than copied. Closed: every reason is listed here.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum TranscodeReason {
    /// The source codec is not the output format's codec.
    #[serde(rename_all = "camelCase")]
    CodecDiffers {
        /// Source codec.
        from: AudioCodec,
        /// Requested format.
        to: OutputFormat,
    },
    /// The source is PCM in a byte order or sample type WAV does not store (big-endian, planar,
    /// A-law, …).
    #[serde(rename_all = "camelCase")]
    PcmLayout {
        /// The source's sample format.
        from: String,
    },
    /// Loudness normalisation changes every sample.
    Normalize,
    /// A bitrate was asked for that differs from the source's.
    #[serde(rename_all = "camelCase")]
    BitrateChange {
        /// The source's bitrate, when known.
        from: Option<u32>,
        /// The requested bitrate.
        to: u32,
    },
}

impl TranscodeReason {
    /// One sentence for people.
    pub fn describe(&self) -> String {
        match self {
            TranscodeReason::CodecDiffers { from, to } => {
                format!("the source audio is {}, and {} output needs a different codec", from.as_str(), to.as_str())
            }
            TranscodeReason::PcmLayout { from } => {
                format!("the source PCM is {from}, which WAV stores differently")
            }
            TranscodeReason::Normalize => "loudness normalisation changes the samples".into(),
            TranscodeReason::BitrateChange { from, to } => match from {
                Some(f) => format!("a bitrate of {} kbps was asked for; the source has {} kbps", to / 1000, f / 1000),
                None => format!("a bitrate of {} kbps was asked for", to / 1000),
            },
        }
    }
}

/// Copy or re-encode.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "mode", rename_all = "camelCase")]
pub enum Mode {
    /// The packets are copied unchanged into the new container: lossless and fast.
    Copy,
    /// The audio is decoded and encoded again.
    Transcode {
        /// Why copying is not possible.
        reason: TranscodeReason,
    },
}

/// What an extraction will do.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// The chosen audio track.
    pub track: TrackInfo,
    /// The output format.
    pub format: OutputFormat,
    /// Copy or re-encode.
    #[serde(flatten)]
    pub mode: Mode,
    /// Lossy re-encodes: the bitrate the encoder produces, in bits per second (from `quality`,
    /// or `bitrate` as the format allows it; an average for ogg). `None` for ogg at a quality
    /// level, which is [`Plan::vbr_quality`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bitrate: Option<u32>,
    /// Ogg Vorbis re-encodes at a quality level: the VBR quality on libvorbis's scale (2, 4, 6
    /// or 9 for `low` to `extreme`), which sets no bitrate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vbr_quality: Option<u8>,
    /// Re-encodes whose encoder cannot take the source's sample rate: from it to the rate
    /// encoded (Hz).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resample: Option<Conversion>,
    /// Re-encodes whose format carries fewer channels than the source: from the source's
    /// channel count to the one encoded (standard downmix coefficients).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub downmix: Option<Conversion>,
    /// What an option cannot do for this input and format, for people (e.g. `preserveMetadata`
    /// with `aac` output, which has no tag format). Not errors: the extraction goes ahead.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// A change of sample rate or channel count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Conversion {
    /// The source's value.
    pub from: u32,
    /// The output's value.
    pub to: u32,
}

impl Plan {
    /// "lossless copy" or `re-encode because <reason>`, with the bitrate, resampling and
    /// downmix of lossy re-encodes.
    pub fn describe(&self) -> String {
        let reason = match &self.mode {
            Mode::Copy => return "lossless copy of the audio packets".into(),
            Mode::Transcode { reason } => reason.describe(),
        };
        let mut how = Vec::new();
        let asked = matches!(self.mode, Mode::Transcode { reason: TranscodeReason::BitrateChange { to, .. } } if Some(to) == self.bitrate);
        if let (Some(b), false) = (self.bitrate, asked) {
            how.push(format!("{} kbps", b / 1000));
        }
        if let Some(q) = self.vbr_quality {
            how.push(format!("VBR quality {q}"));
        }
        if let Some(r) = self.resample {
            how.push(format!("resampled from {} Hz to {} Hz", r.from, r.to));
        }
        if let Some(d) = self.downmix {
            how.push(format!("downmixed from {} to {} channels", d.from, d.to));
        }
        match how.is_empty() {
            true => format!("re-encode because {reason}"),
            false => format!("re-encode because {reason} ({})", how.join(", ")),
        }
    }
}

/// Chooses the track and the mode for `options`.
///
/// Errors: `INVALID_VIDEO` when there is no audio track or its codec cannot be decoded;
/// `INVALID_OUTPUT` when an option is invalid or the output cannot be produced.
pub fn plan(info: &MediaInfo, options: &ExtractOptions) -> Result<Plan> {
    options.validate()?;
    let track = select_track(info, options.track)?;
    let codec = codec_of(track);
    let format = options.format;
    let mode = match copy_blocker(track, codec, options)? {
        None => Mode::Copy,
        Some(reason) => Mode::Transcode { reason },
    };
    let mut plan = Plan {
        track: track.clone(),
        format,
        mode,
        bitrate: None,
        vbr_quality: None,
        resample: None,
        downmix: None,
        notes: Vec::new(),
    };
    if let Mode::Transcode { .. } = &plan.mode {
        check_transcode(track, codec)?;
        lossy_settings(&mut plan, options)?;
    }
    if options.preserve_metadata {
        if format == OutputFormat::Aac {
            plan.notes.push("aac output (ADTS) has no tag format: the source's tags are not written".into());
        } else if crate::mux::tags::of_source(info, track).is_empty() {
            plan.notes.push("the input has no title, artist, album, date, comment or language to copy".into());
        }
    }
    Ok(plan)
}

/// Bitrate, sample rate and channels of a lossy re-encode (nothing for lossless formats).
fn lossy_settings(plan: &mut Plan, options: &ExtractOptions) -> Result<()> {
    if plan.format.is_lossless() {
        return Ok(());
    }
    let (Some(rate), Some(channels)) = (plan.track.sample_rate, plan.track.channels) else {
        return Err(Error::invalid_video("the audio track has no valid channel count or sample rate"));
    };
    let quality = options.quality.unwrap_or_default();
    let Some(target) = quality::target(plan.format, rate, channels, quality, options.bitrate_bps()?)? else {
        return Ok(());
    };
    plan.bitrate = target.bitrate;
    plan.vbr_quality = target.vbr_quality;
    plan.resample = (target.sample_rate != rate).then_some(Conversion { from: rate, to: target.sample_rate });
    plan.downmix = (target.channels != channels).then_some(Conversion { from: channels, to: target.channels });
    Ok(())
}

fn select_track(info: &MediaInfo, wanted: Option<usize>) -> Result<&TrackInfo> {
    let audio: Vec<&TrackInfo> = info.audio_tracks().collect();
    if audio.is_empty() {
        return Err(Error::invalid_video("the input has no audio track"));
    }
    match wanted {
        Some(i) => audio.get(i).copied().ok_or_else(|| {
            Error::invalid_output(format!("there is no audio track {i}"))
                .with_details(format!("the input has {} audio track(s), numbered from 0", audio.len()))
        }),
        None => Ok(audio.iter().find(|t| t.default).unwrap_or(&audio[0])),
    }
}

pub(crate) fn codec_of(track: &TrackInfo) -> AudioCodec {
    AudioCodec::ALL.into_iter().find(|c| c.as_str() == track.codec).unwrap_or(AudioCodec::Other)
}

/// PCM sample formats WAV stores byte for byte.
const WAV_PCM: [&str; 5] = ["u8", "s16le", "s24le", "s32le", "f32le"];

/// Why the packets cannot simply be copied, if they cannot.
fn copy_blocker(track: &TrackInfo, codec: AudioCodec, o: &ExtractOptions) -> Result<Option<TranscodeReason>> {
    let same_codec = matches!(
        (codec, o.format),
        (AudioCodec::Aac, OutputFormat::Aac)
            | (AudioCodec::Mp3, OutputFormat::Mp3)
            | (AudioCodec::Opus, OutputFormat::Opus)
            | (AudioCodec::Vorbis, OutputFormat::Ogg)
            | (AudioCodec::Flac, OutputFormat::Flac)
            | (AudioCodec::Pcm, OutputFormat::Wav)
    );
    if !same_codec {
        return Ok(Some(TranscodeReason::CodecDiffers { from: codec, to: o.format }));
    }
    if codec == AudioCodec::Pcm {
        let layout = track.profile.clone().unwrap_or_default();
        if !WAV_PCM.contains(&layout.as_str()) {
            return Ok(Some(TranscodeReason::PcmLayout { from: layout }));
        }
    }
    if o.normalize {
        return Ok(Some(TranscodeReason::Normalize));
    }
    if let (Some(want), false) = (o.bitrate_bps()?, o.format.is_lossless()) {
        // Within 5 % counts as the same: measured bitrates of VBR sources wander.
        let close = track.bitrate.is_some_and(|have| (f64::from(have) / f64::from(want) - 1.0).abs() <= 0.05);
        if !close {
            return Ok(Some(TranscodeReason::BitrateChange { from: track.bitrate, to: want }));
        }
    }
    Ok(None)
}

/// Source codecs converso can decode. AAC: LC profile, mono or stereo (symphonia's decoder).
pub(crate) fn decodable(track: &TrackInfo, codec: AudioCodec) -> bool {
    match codec {
        AudioCodec::Aac => track.profile.as_deref() == Some("lc") && track.channels.unwrap_or(0) <= 2,
        AudioCodec::Mp3
        | AudioCodec::Mp2
        | AudioCodec::Opus
        | AudioCodec::Vorbis
        | AudioCodec::Flac
        | AudioCodec::Alac
        | AudioCodec::Pcm
        | AudioCodec::Adpcm => true,
        AudioCodec::Ac3 | AudioCodec::Eac3 | AudioCodec::Other => false,
    }
}

/// A re-encode needs a source that can be decoded.
fn check_transcode(track: &TrackInfo, codec: AudioCodec) -> Result<()> {
    if !decodable(track, codec) {
        let what = match (codec, track.profile.as_deref()) {
            (AudioCodec::Aac, Some(p)) => format!("AAC ({p} profile, {} channels)", track.channels.unwrap_or(0)),
            _ => track.codec.clone(),
        };
        return Err(Error::invalid_video(format!("the {what} audio of this input cannot be decoded"))
            .with_details("decodable: AAC-LC mono/stereo, MP3, MP2, Opus, Vorbis, FLAC, ALAC, PCM, ADPCM"));
    }
    Ok(())
}
