//! Named caps that keep memory and time bounded whatever the input claims.

/// Bytes of the input the container sniffer looks at.
pub const SNIFF_BYTES: usize = 4096;

/// Largest packet accepted from a demuxer; a larger one is treated as corrupt input.
pub const MAX_PACKET_BYTES: usize = 16 * 1024 * 1024;

/// Largest codec header (extra data) accepted, e.g. Vorbis setup headers.
pub const MAX_CODEC_HEADER_BYTES: usize = 1024 * 1024;

/// Packets read per [`crate::Extraction::step`]: small enough to report progress and honour
/// cancellation often, large enough that the per-step overhead does not matter.
pub const PACKETS_PER_STEP: usize = 256;

/// Packets probed per audio track to estimate a bitrate the container does not state.
pub const BITRATE_PROBE_PACKETS: usize = 200;

/// Bytes of packets (of every track) read at most while estimating those bitrates: next to
/// high-bitrate video a few seconds of audio can lie tens of megabytes in, and hosts that fetch
/// the input in ranges (the edge) hold what the probe reads in a bounded cache.
pub const BITRATE_PROBE_BYTES: u64 = 8 << 20;

/// Most MP4 boxes walked while looking for edit lists.
pub const MAX_MP4_BOXES: usize = 10_000;

/// Most byte ranges of MP4 sample data (chunks, fragment runs, before merging) followed to
/// leave the other tracks' samples unread (16 bytes each); beyond, the whole file is read.
pub const MAX_SAMPLE_RANGES: usize = 1 << 20;

/// Bytes of an MP4 sample table read at a time while following it.
pub const TABLE_READ_BYTES: usize = 64 * 1024;

/// Most bytes read at once between two unread ranges of an MP4 file (an audio chunk, the index).
pub const MAX_SPAN_READ_BYTES: usize = 256 * 1024;

/// Most channels accepted in a decoded stream.
pub const MAX_CHANNELS: usize = 32;

/// Sample rates accepted in a decoded stream: 1 kHz (below any recording format; lossy encoders
/// resample to their own rate, so a claimed 11 Hz made each input frame over 4000 output frames)
/// to 16 × 48 kHz (beyond any recording format; the resampler's filter grows with the rate).
pub const SAMPLE_RATES: std::ops::RangeInclusive<u32> = 1_000..=768_000;

/// Bytes kept of each tag value that `preserveMetadata` copies (cut at a character boundary):
/// the tags, and the header fields patched after them at the end (the MP3 Info frame, WAV
/// sizes), stay within the first 32 KB of the output.
pub const MAX_TAG_BYTES: usize = 4096;
