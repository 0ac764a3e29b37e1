//! # converso-core
//!
//! The audio extraction engine behind converso's CLI, browser package and edge API. It is
//! sans-IO and target-agnostic: input comes through [`ByteSource`] (random access), output goes
//! to a [`ByteSink`], and there is no file system, clock, thread or network inside, so the same
//! code runs natively and on `wasm32-unknown-unknown`. Memory is bounded by the codecs' needs,
//! not by the file size.
//!
//! ```text
//! probe(source) -> MediaInfo            what is in the file
//! plan(&info, &options) -> Plan         which track; lossless copy, or re-encode and why
//! Extraction::new(source, &options, sink)?.step() ... -> Step::Done(Summary)
//! ```
//!
//! | Input container | Read | Output | Copy from | Encode |
//! |---|---|---|---|---|
//! | MP4 / MOV / M4A (faststart, index at end, fragmented) | yes | `aac` (ADTS) | AAC-LC | any decodable source |
//! | Matroska / WebM | yes | `opus` (Ogg) | Opus | any decodable source |
//! | Ogg | yes | `ogg` (Ogg Vorbis) | Vorbis | not yet |
//! | WAV, FLAC, MP3, ADTS | yes | `mp3` | MP3 | any decodable source |
//! | AVI, MPEG-PS, MPEG-TS, FLV | refused with `INVALID_VIDEO` | `flac` | FLAC | any decodable source |
//! | | | `wav` | PCM (little-endian) | any decodable source |
//!
//! Decodable sources: AAC-LC (mono, stereo), MP3, MP2, Opus, Vorbis, FLAC, ALAC, PCM, ADPCM.
//! Lossy re-encodes take their bitrate from [`Quality`] or `bitrate` (the table is in
//! [`Quality`]'s documentation), resample and downmix when the encoder needs it, and say so in
//! the [`Plan`].
//! `normalize` brings the output to −16 LUFS with the true peak at most −1 dBTP, reading the
//! input twice (see [`Normalization`]); `preserveMetadata` writes the source's tags as ID3v2
//! (mp3), Vorbis comments (ogg, opus, flac) or a RIFF `INFO` list (wav); aac (ADTS) has no tags,
//! and the plan notes it.
//! Every failure is an [`Error`] with an [`ErrorCode`] from the Converso API.
//!
//! Decoding, encoding, resampling and loudness measurement are the `transcode` feature (on by
//! default). Without it the engine probes and stream-copies exactly as with it, and
//! [`Extraction::new`] refuses a plan that re-encodes with `INVALID_OUTPUT` (the small browser
//! build, `converso-audio/copy`).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod codec;
mod demux;
mod error;
mod extract;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod info;
pub mod limits;
mod loudness;
mod mp4_boxes;
mod mp4_samples;
mod mux;
mod options;
mod plan;
mod quality;
mod riff_info;
mod sink;
mod sniff;
mod source;
#[cfg(feature = "transcode")]
mod transcode;

pub use error::{Error, ErrorCode, Result};
pub use extract::{probe, Extraction, Step, Summary};
pub use info::{AudioCodec, Container, MediaInfo, Tags, TrackInfo, TrackKind};
pub use loudness::{Normalization, MAX_TRUE_PEAK_DBTP, TARGET_LUFS};
pub use options::{parse_bitrate, ExtractOptions, OutputFormat, Quality};
pub use plan::{plan, Conversion, Mode, Plan, TranscodeReason};
pub use sink::{ByteSink, ChunkSink, VecSink};
pub use source::{ByteSource, SliceSource};
