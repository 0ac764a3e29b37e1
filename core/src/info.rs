//! What a probe finds: the container, its tracks and its tags.

use serde::Serialize;

/// Container formats converso reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Container {
    /// ISO base media (MP4), including fragmented MP4.
    Mp4,
    /// QuickTime.
    Mov,
    /// MPEG-4 audio (`M4A ` brand).
    M4a,
    /// Matroska.
    Mkv,
    /// WebM (Matroska subset).
    Webm,
    /// Ogg.
    Ogg,
    /// RIFF WAVE.
    Wav,
    /// A bare FLAC stream.
    Flac,
    /// A bare MP3 stream.
    Mp3,
    /// A bare ADTS AAC stream.
    Adts,
}

impl Container {
    /// Short name, e.g. `mp4` (the API's `inputFile.format`).
    pub fn as_str(self) -> &'static str {
        match self {
            Container::Mp4 => "mp4",
            Container::Mov => "mov",
            Container::M4a => "m4a",
            Container::Mkv => "mkv",
            Container::Webm => "webm",
            Container::Ogg => "ogg",
            Container::Wav => "wav",
            Container::Flac => "flac",
            Container::Mp3 => "mp3",
            Container::Adts => "aac",
        }
    }
}

/// Audio codecs converso recognises.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AudioCodec {
    /// AAC (any profile; see [`TrackInfo::profile`]).
    Aac,
    /// MPEG-1/2 Layer III.
    Mp3,
    /// MPEG-1/2 Layer I or II.
    Mp2,
    /// Opus.
    Opus,
    /// Vorbis.
    Vorbis,
    /// FLAC.
    Flac,
    /// Apple Lossless.
    Alac,
    /// Uncompressed PCM (see [`TrackInfo::profile`] for the sample format).
    Pcm,
    /// ADPCM variants.
    Adpcm,
    /// Dolby Digital.
    Ac3,
    /// Dolby Digital Plus.
    Eac3,
    /// Anything else.
    Other,
}

impl AudioCodec {
    /// Every codec, `Other` last.
    pub const ALL: [AudioCodec; 12] = [
        AudioCodec::Aac,
        AudioCodec::Mp3,
        AudioCodec::Mp2,
        AudioCodec::Opus,
        AudioCodec::Vorbis,
        AudioCodec::Flac,
        AudioCodec::Alac,
        AudioCodec::Pcm,
        AudioCodec::Adpcm,
        AudioCodec::Ac3,
        AudioCodec::Eac3,
        AudioCodec::Other,
    ];

    /// Short name, e.g. `aac`.
    pub fn as_str(self) -> &'static str {
        match self {
            AudioCodec::Aac => "aac",
            AudioCodec::Mp3 => "mp3",
            AudioCodec::Mp2 => "mp2",
            AudioCodec::Opus => "opus",
            AudioCodec::Vorbis => "vorbis",
            AudioCodec::Flac => "flac",
            AudioCodec::Alac => "alac",
            AudioCodec::Pcm => "pcm",
            AudioCodec::Adpcm => "adpcm",
            AudioCodec::Ac3 => "ac3",
            AudioCodec::Eac3 => "eac3",
            AudioCodec::Other => "other",
        }
    }
}

/// Kind of a track.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TrackKind {
    /// Audio.
    Audio,
    /// Video.
    Video,
    /// Subtitles.
    Subtitle,
    /// A track the demuxer could not classify.
    Unknown,
}

/// One track of the input.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrackInfo {
    /// Position among all tracks, from 0.
    pub index: usize,
    /// Position among audio tracks, from 0 (what `--track` selects); `None` for other kinds.
    pub audio_index: Option<usize>,
    /// Audio, video or subtitle.
    pub kind: TrackKind,
    /// Codec name (`aac`, `opus`, `h264`, …).
    pub codec: String,
    /// Codec profile or sample format where it matters (`lc`, `he`, `s16le`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// Audio channels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channels: Option<u32>,
    /// Audio sample rate in Hz.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample_rate: Option<u32>,
    /// Bits per sample of lossless audio.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bits_per_sample: Option<u32>,
    /// Bitrate in bits per second: exact for PCM, else measured over the first packets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bitrate: Option<u32>,
    /// Duration in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<f64>,
    /// ISO 639 language code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Whether the container marks this track as the default of its kind.
    pub default: bool,
}

/// Descriptive tags of the input (container level).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Tags {
    /// Title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Artist.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artist: Option<String>,
    /// Album.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub album: Option<String>,
    /// Recording date.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// Comment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Language.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

impl Tags {
    /// Whether no tag is set.
    pub fn is_empty(&self) -> bool {
        *self == Tags::default()
    }
}

/// Everything [`crate::probe`] learns about an input.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaInfo {
    /// The container format.
    pub container: Container,
    /// Input size in bytes.
    pub size: u64,
    /// Duration in seconds (the longest track).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<f64>,
    /// Every track, in container order.
    pub tracks: Vec<TrackInfo>,
    /// Container-level tags.
    pub tags: Tags,
}

impl MediaInfo {
    /// The audio tracks, in container order.
    pub fn audio_tracks(&self) -> impl Iterator<Item = &TrackInfo> {
        self.tracks.iter().filter(|t| t.kind == TrackKind::Audio)
    }
}
