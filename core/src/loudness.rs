//! Loudness normalisation (`normalize`): EBU R128 measurement (ITU-R BS.1770-4) and the one gain
//! applied to the whole output.
//!
//! Target: **−16 LUFS** integrated loudness, true peak at most **−1 dBTP**.
//!
//! Method: two passes over the source, nothing buffered in between. The first pass decodes the
//! track and measures it with the `ebur128` crate (a port of libebur128): gated integrated
//! loudness, in histogram mode so memory does not grow with the duration, and the true peak
//! (4× oversampled below 96 kHz, 2× below 192 kHz). It measures exactly the signal the encoder
//! is fed: after the downmix and resampling of lossy re-encodes, with the channel weights of
//! BS.1770 (LFE left out, surround channels +1.5 dB). The second pass decodes again and
//! multiplies every sample by one constant gain:
//!
//! ```text
//! gain = min(−16 − integrated, −1 − true peak)      (dB)
//! ```
//!
//! that is the loudness target, unless reaching it would push the true peak above −1 dBTP; then
//! the true-peak cap sets the gain and the output stays below −16 LUFS (as quiet as it has to
//! be: nothing is limited or compressed, so the dynamics are the source's). Silence (no
//! gating block above the −70 LUFS absolute gate) is left as it is.
//!
//! The cap holds for the samples handed to the encoder, so lossless output (flac, wav) meets it
//! exactly. A lossy codec (mp3, aac, opus) changes the waveform a little as it codes it, which
//! can raise the peaks of the decoded output by a fraction of a dB.

/// Integrated loudness the output is brought to, in LUFS.
pub const TARGET_LUFS: f64 = -16.0;
/// Highest true peak the gain may produce, in dBTP.
pub const MAX_TRUE_PEAK_DBTP: f64 = -1.0;

/// What normalisation measured on the source and the gain it applied.
///
/// `normalize` targets [`TARGET_LUFS`] integrated loudness (EBU R128 / ITU-R BS.1770-4) with the
/// true peak at most [`MAX_TRUE_PEAK_DBTP`]. A first pass decodes the whole track and measures
/// it (on what the encoder is fed, after downmix and resampling); a second pass decodes again
/// and applies one gain, `min(TARGET_LUFS − loudness, MAX_TRUE_PEAK_DBTP − true peak)` dB, so a
/// peaky source is raised only as far as the true-peak cap allows (nothing is limited or
/// compressed). Silence keeps a gain of 0 dB. Lossless output meets the cap exactly; a lossy
/// codec can raise decoded peaks by a fraction of a dB.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Normalization {
    /// Integrated loudness of the source, in LUFS; `None` when it is silent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_lufs: Option<f64>,
    /// True peak of the source, in dBTP; `None` when every sample is zero.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_true_peak: Option<f64>,
    /// The gain applied to every sample, in dB.
    pub gain_db: f64,
    /// Whether the true-peak cap set the gain, leaving the output below the loudness target.
    pub peak_limited: bool,
}
