//! What the fuzz targets in `fuzz_targets/` share: how an input is cut into pieces, and a
//! bounded extraction.

use std::sync::Arc;

use converso_core::{ExtractOptions, Extraction, SliceSource, Step, VecSink};

/// Cuts fuzz input into pieces, each behind a 2-byte little-endian length; the last piece takes
/// what is left. Seeds in this form stay readable by hand and mutate into every split.
pub fn pieces(mut data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while data.len() >= 2 {
        let len = usize::from(u16::from_le_bytes([data[0], data[1]]));
        let rest = &data[2..];
        let (piece, after) = rest.split_at(len.min(rest.len()));
        out.push(piece);
        data = after;
    }
    out
}

/// Steps run per input, and packets per step: an input's work is bounded by these, not by how
/// long its media claims to be.
pub const MAX_STEPS: usize = 64;
/// See [`MAX_STEPS`].
pub const PACKETS_PER_STEP: usize = 16;
/// Output bytes after which an extraction stops early.
pub const MAX_OUTPUT_BYTES: usize = 256 * 1024;

/// Runs an extraction of `media` for at most [`MAX_STEPS`] steps or [`MAX_OUTPUT_BYTES`] of
/// output, checking what every finished or stopped run must keep: progress within 0–1 and never
/// going back, the summary's byte count matching the output, and no step after the end.
/// Returns the output when the extraction finished.
pub fn extract_bounded(media: &[u8], options: &ExtractOptions) -> Option<Vec<u8>> {
    let mut x = Extraction::new(SliceSource::new(Arc::<[u8]>::from(media)), options, VecSink::default()).ok()?;
    let mut last = 0.0;
    for _ in 0..MAX_STEPS {
        match x.step_packets(PACKETS_PER_STEP) {
            Ok(Step::Progress(p)) => {
                assert!((last..=1.0).contains(&p), "progress {p} after {last}");
                last = p;
            }
            Ok(Step::Done(summary)) => {
                assert_eq!(summary.bytes, x.sink_mut().bytes.len() as u64);
                assert!(x.step().is_err(), "a step after the end");
                return Some(x.into_sink().bytes);
            }
            Err(_) => return None,
        }
        if x.sink_mut().bytes.len() > MAX_OUTPUT_BYTES {
            return None;
        }
    }
    None
}
