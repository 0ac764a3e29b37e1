//! Output options, exactly as the API's `output` object names them.
//!
//! Parsed once with serde (edge, browser) or built in code (CLI), then checked by
//! [`ExtractOptions::validate`]. Every failure is `INVALID_OUTPUT` with the field and the
//! allowed values in the message.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// An output audio format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    /// MPEG-1/2 Layer III (`audio/mpeg`).
    Mp3,
    /// AAC-LC in ADTS (`audio/aac`).
    Aac,
    /// FLAC (`audio/flac`), lossless.
    Flac,
    /// RIFF WAVE with PCM (`audio/wav`), uncompressed.
    Wav,
    /// Vorbis in Ogg (`audio/ogg`).
    Ogg,
    /// Opus in Ogg (`audio/opus`).
    Opus,
}

impl OutputFormat {
    /// Every format, in the API's order.
    pub const ALL: [OutputFormat; 6] = [
        OutputFormat::Mp3,
        OutputFormat::Aac,
        OutputFormat::Flac,
        OutputFormat::Wav,
        OutputFormat::Ogg,
        OutputFormat::Opus,
    ];

    /// The API name, also the file extension: `mp3`, `aac`, `flac`, `wav`, `ogg`, `opus`.
    pub fn as_str(self) -> &'static str {
        match self {
            OutputFormat::Mp3 => "mp3",
            OutputFormat::Aac => "aac",
            OutputFormat::Flac => "flac",
            OutputFormat::Wav => "wav",
            OutputFormat::Ogg => "ogg",
            OutputFormat::Opus => "opus",
        }
    }

    /// The file extension (same as the API name).
    pub fn extension(self) -> &'static str {
        self.as_str()
    }

    /// The `Content-Type` the API documents for this format.
    pub fn mime_type(self) -> &'static str {
        match self {
            OutputFormat::Mp3 => "audio/mpeg",
            OutputFormat::Aac => "audio/aac",
            OutputFormat::Flac => "audio/flac",
            OutputFormat::Wav => "audio/wav",
            OutputFormat::Ogg => "audio/ogg",
            OutputFormat::Opus => "audio/opus",
        }
    }

    /// Whether the format keeps every sample exactly.
    pub fn is_lossless(self) -> bool {
        matches!(self, OutputFormat::Flac | OutputFormat::Wav)
    }

    /// Parses an API name (`"mp3"`, …).
    pub fn parse(s: &str) -> Result<Self> {
        OutputFormat::ALL.into_iter().find(|f| f.as_str() == s).ok_or_else(|| {
            Error::invalid_output(format!("output.format \"{s}\" is not supported"))
                .with_details("allowed: mp3, aac, flac, wav, ogg, opus")
        })
    }
}

/// The API's quality levels: the bitrate of lossy re-encodes (lossless formats ignore them, and
/// a copy is never re-encoded for them).
///
/// | format | `low` | `medium` | `high` | `extreme` |
/// |---|---|---|---|---|
/// | `mp3` | 96k | 128k | 192k | 320k |
/// | `aac` | 96k | 128k | 192k | 256k |
/// | `opus` | 48k | 64k | 96k | 160k |
///
/// `bitrate` overrides the level, within what the format allows: mp3 the Layer III bitrates of
/// the MPEG version (32k–320k at 32–48 kHz, 8k–160k below; others snap to the nearest), aac
/// 32k–320k and at most 6144 bits per channel per frame, opus 6k–256k per channel and 510k in
/// all. Outside that range it is `INVALID_OUTPUT` with the range in `details`. A level above
/// what the output allows (mp3 `extreme` at 22.05 kHz) takes the highest bitrate it can.
/// Surround aac and opus output (5.1 and the like are kept there) gets the level's bitrate per
/// pair of channels, and accepts 16k–160k (aac) or 6k–256k (opus) per channel.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Quality {
    /// Smallest files.
    Low,
    /// The default.
    #[default]
    Medium,
    /// Transparent for most listeners.
    High,
    /// The most the format offers.
    Extreme,
}

impl Quality {
    /// Parses an API name (`"low"`, …).
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "low" => Ok(Quality::Low),
            "medium" => Ok(Quality::Medium),
            "high" => Ok(Quality::High),
            "extreme" => Ok(Quality::Extreme),
            _ => Err(Error::invalid_output(format!("output.quality \"{s}\" is not supported"))
                .with_details("allowed: low, medium, high, extreme")),
        }
    }
}

/// The API's `output` object.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExtractOptions {
    /// Output format. Required.
    pub format: OutputFormat,
    /// Quality level. Default: `medium` (ignored by lossless formats).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality: Option<Quality>,
    /// Bitrate such as `"192k"` or `"192000"`; overrides `quality`. Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bitrate: Option<String>,
    /// Loudness normalisation to −16 LUFS integrated (EBU R128 / ITU-R BS.1770), true peak at
    /// most −1 dBTP; always re-encodes. Default: `false`.
    #[serde(default)]
    pub normalize: bool,
    /// Copy the source's title, artist, album, date, comment and language into the output's
    /// own tag form (ID3v2, Vorbis comments, RIFF `INFO`; `aac` has none). Default: `false`.
    #[serde(default)]
    pub preserve_metadata: bool,
    /// Which audio track to extract, counting audio tracks from 0 (not an API field; the CLI's
    /// `--track`). Default: the container's default audio track, else the first.
    #[serde(skip)]
    pub track: Option<usize>,
}

impl ExtractOptions {
    /// Options for `format` with every other field at its default.
    pub fn new(format: OutputFormat) -> Self {
        ExtractOptions { format, quality: None, bitrate: None, normalize: false, preserve_metadata: false, track: None }
    }

    /// Parses the API's `output` object from JSON. Errors name the field and its allowed values.
    pub fn from_json(json: &str) -> Result<Self> {
        let bad = |e: String| Error::invalid_output("output is not a valid output object").with_details(e);
        let value: serde_json::Value = serde_json::from_str(json).map_err(|e| bad(e.to_string()))?;
        // The fields people get wrong, checked one by one for a message that names them.
        match value.get("format") {
            None | Some(serde_json::Value::Null) => {
                return Err(Error::invalid_output("output.format is required")
                    .with_details("allowed: mp3, aac, flac, wav, ogg, opus"));
            }
            Some(serde_json::Value::String(f)) => {
                OutputFormat::parse(f)?;
            }
            Some(_) => return Err(Error::invalid_output("output.format must be a string")),
        }
        if let Some(q) = value.get("quality").filter(|q| !q.is_null()) {
            Quality::parse(q.as_str().unwrap_or_default())?;
        }
        if let Some(b) = value.get("bitrate").filter(|b| !b.is_null()) {
            let text = b.as_str().ok_or_else(|| {
                Error::invalid_output("output.bitrate must be a string").with_details("like \"192k\" or \"192000\"")
            })?;
            parse_bitrate(text)?;
        }
        let opts: ExtractOptions = serde_json::from_value(value).map_err(|e| bad(e.to_string()))?;
        opts.validate()?;
        Ok(opts)
    }

    /// Checks what serde cannot: the bitrate syntax.
    pub fn validate(&self) -> Result<()> {
        self.bitrate_bps()?;
        Ok(())
    }

    /// The requested bitrate in bits per second, if any.
    pub fn bitrate_bps(&self) -> Result<Option<u32>> {
        self.bitrate.as_deref().map(parse_bitrate).transpose()
    }
}

/// Parses `"192k"` (kilobits) or `"192000"` (bits) into bits per second.
pub fn parse_bitrate(s: &str) -> Result<u32> {
    let bad = || {
        Error::invalid_output(format!("output.bitrate \"{s}\" is not a bitrate"))
            .with_details("write kilobits with a k, like \"192k\", or bits per second, like \"192000\"")
    };
    let (digits, scale) = match s.strip_suffix(['k', 'K']) {
        Some(d) => (d, 1000),
        None => (s, 1),
    };
    if digits.is_empty() || digits.len() > 9 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let n: u32 = digits.parse().map_err(|_| bad())?;
    n.checked_mul(scale).filter(|&b| b > 0).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_spec_example() {
        let o = ExtractOptions::from_json(r#"{"format":"mp3","quality":"medium"}"#).unwrap();
        assert_eq!(o.format, OutputFormat::Mp3);
        assert_eq!(o.quality, Some(Quality::Medium));
        assert!(!o.normalize);
        assert!(!o.preserve_metadata);
        let o = ExtractOptions::from_json(r#"{"format":"mp3","quality":"medium","normalize":true}"#).unwrap();
        assert!(o.normalize);
        let o = ExtractOptions::from_json(r#"{"format":"opus","preserveMetadata":true}"#).unwrap();
        assert!(o.preserve_metadata && !o.normalize);
    }

    #[test]
    fn bitrates() {
        assert_eq!(parse_bitrate("192k").unwrap(), 192_000);
        assert_eq!(parse_bitrate("128000").unwrap(), 128_000);
        for bad in ["", "k", "12.5k", "-3k", "0k", "fast", "99999999999"] {
            assert_eq!(parse_bitrate(bad).unwrap_err().code, crate::ErrorCode::InvalidOutput, "{bad}");
        }
    }

    #[test]
    fn bad_fields_are_invalid_output_naming_the_values() {
        let e = ExtractOptions::from_json(r#"{"format":"wma"}"#).unwrap_err();
        assert_eq!(e.code, crate::ErrorCode::InvalidOutput);
        assert!(e.details.unwrap().contains("mp3"));
        let e = ExtractOptions::from_json(r#"{"format":"mp3","quality":"ultra"}"#).unwrap_err();
        assert!(e.details.unwrap().contains("extreme"));
        let e = ExtractOptions::from_json(r#"{"quality":"low"}"#).unwrap_err();
        assert!(e.message.contains("output.format"));
        let e = ExtractOptions::from_json(r#"{"format":"wma"}"#).unwrap_err();
        assert!(e.message.contains("output.format \"wma\""));
        let e = ExtractOptions::from_json(r#"{"format":"mp3","normalize":"yes"}"#).unwrap_err();
        assert_eq!(e.code, crate::ErrorCode::InvalidOutput);
        let e = ExtractOptions::from_json(r#"{"format":"mp3","bitrate":"fast"}"#).unwrap_err();
        assert!(e.message.contains("bitrate"));
    }

    #[test]
    fn format_names_and_types() {
        for f in OutputFormat::ALL {
            assert_eq!(OutputFormat::parse(f.as_str()).unwrap(), f);
            assert!(f.mime_type().starts_with("audio/"));
        }
    }
}
