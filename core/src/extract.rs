//! The step-wise extraction driver.
//!
//! [`Extraction::step`] does a bounded amount of work and returns progress, so the caller
//! decides when to continue: a CLI loops, a browser worker checks its abort signal between
//! steps, an edge job checks its CPU budget. Dropping the extraction cancels it; the caller owns
//! the sink and discards what was written.
//!
//! The chosen track's packets go through a [`Pipeline`]: a copy muxer, or (with the `transcode`
//! feature) a decoder and an encoder. With `normalize` the work is two passes over the input:
//! the first decodes the whole track and measures it, writing nothing after the header; the
//! second opens the input again from its start and writes the output with the gain applied.
//! Progress runs over both: the measuring pass is the first half.

use std::sync::{Arc, Mutex};

use serde::Serialize;

use crate::codec::aac::AdtsConfig;
use crate::codec::{opus, vorbis};
use crate::demux::{AudioTrack, Demuxer, Packet, SharedSource, Wanted};
use crate::error::{Error, Result};
use crate::info::{MediaInfo, Tags};
use crate::limits::PACKETS_PER_STEP;
use crate::loudness::Normalization;
use crate::mux::adts::Adts;
use crate::mux::flac::FlacCopy;
use crate::mux::ogg::{Granules, Ogg};
use crate::mux::tags;
use crate::mux::wav::{default_channel_mask, Wav, WavSpec};
use crate::mux::{PacketMuxer, RawFrames};
use crate::options::{ExtractOptions, OutputFormat};
use crate::plan::{plan, Mode, Plan};
use crate::sink::ByteSink;
use crate::source::ByteSource;
#[cfg(feature = "transcode")]
use crate::transcode::Transcode;

/// What one [`Extraction::step`] reached.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// More work remains; the value is the fraction of the media done (0.0–1.0).
    Progress(f64),
    /// The output is complete.
    Done(Summary),
}

/// What a finished extraction produced.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Bytes written to the sink.
    pub bytes: u64,
    /// Audio packets read from the source track.
    pub packets: u64,
    /// Packets that could not be decoded and were skipped (transcodes only).
    pub skipped_packets: u64,
    /// Output duration in seconds, when known from the samples written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<f64>,
    /// With `normalize`: the source's loudness and true peak, and the gain applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub normalization: Option<Normalization>,
}

/// What becomes of the chosen track's packets on their way to the output.
pub(crate) trait Pipeline {
    /// Passes over the input: 2 when the whole track is measured before any of it is written.
    fn passes(&self) -> u32 {
        1
    }
    /// Takes one packet of the track.
    fn packet(&mut self, sink: &mut dyn ByteSink, packet: &Packet) -> Result<()>;
    /// Ends a pass: `None` when the input is to be read again, else what the output holds.
    fn end_pass(&mut self, sink: &mut dyn ByteSink) -> Result<Option<Made>>;
}

/// What a [`Pipeline`] made, for the [`Summary`].
#[derive(Default)]
pub(crate) struct Made {
    pub skipped_packets: u64,
    pub duration: Option<f64>,
    pub normalization: Option<Normalization>,
}

/// Stream copy: the output's container takes each packet as it is.
impl<M: PacketMuxer> Pipeline for M {
    fn packet(&mut self, sink: &mut dyn ByteSink, packet: &Packet) -> Result<()> {
        self.write_packet(sink, &packet.data)?;
        self.trim_end(u64::from(packet.trim_end));
        Ok(())
    }

    fn end_pass(&mut self, sink: &mut dyn ByteSink) -> Result<Option<Made>> {
        self.finish(sink)?;
        Ok(Some(Made::default()))
    }
}

/// Probes `source` and describes its container, tracks and tags.
///
/// Errors: `INVALID_VIDEO` for empty, unreadable or unsupported inputs.
pub fn probe(source: impl ByteSource + 'static) -> Result<MediaInfo> {
    let shared: SharedSource = Arc::new(Mutex::new(Box::new(source)));
    let mut demuxer = Demuxer::open(&shared, Wanted::Audio)?;
    demuxer.measure_bitrates()?;
    Ok(demuxer.info)
}

/// An extraction in progress.
pub struct Extraction<K: ByteSink> {
    /// The input, opened again for a second pass.
    shared: SharedSource,
    demuxer: Demuxer,
    track: AudioTrack,
    info: MediaInfo,
    plan: Plan,
    sink: CountingSink<K>,
    pipeline: Box<dyn Pipeline>,
    /// The pass over the input under way, from 0.
    pass: u32,
    /// A pass has ended and the next step opens the input again from its start.
    rewind: bool,
    /// Packets of the track read in this pass.
    packets: u64,
    progress: f64,
    done: bool,
}

impl<K: ByteSink> Extraction<K> {
    /// Probes `source`, plans for `options` and writes the output's header to `sink`.
    ///
    /// Errors: `INVALID_VIDEO` (unreadable input, no audio, undecodable audio) and
    /// `INVALID_OUTPUT` (bad options, an output that cannot be produced, or one that needs
    /// re-encoding in a build without the `transcode` feature).
    pub fn new(source: impl ByteSource + 'static, options: &ExtractOptions, sink: K) -> Result<Self> {
        let shared: SharedSource = Arc::new(Mutex::new(Box::new(source)));
        let mut probed = Demuxer::open(&shared, Wanted::Audio)?;
        probed.measure_bitrates()?;
        let plan = plan(&probed.info, options)?;
        let track = probed
            .audio
            .iter()
            .find(|a| a.info.index == plan.track.index)
            .cloned()
            .ok_or_else(|| Error::extraction_failed("the chosen track is not an audio track"))?;
        let info = probed.info;
        let mut sink = CountingSink { inner: sink, bytes: 0 };
        let tags = match options.preserve_metadata {
            true => tags::of_source(&info, &track.info),
            false => Tags::default(),
        };
        // Whether to re-encode is decided here, once: copy-only builds refuse it.
        let pipeline: Box<dyn Pipeline> = match &plan.mode {
            Mode::Copy => copy_muxer(&mut sink, &track, plan.format, &tags)?,
            #[cfg(feature = "transcode")]
            Mode::Transcode { .. } => Box::new(Transcode::begin(&mut sink, &track, &plan, &tags, options.normalize)?),
            #[cfg(not(feature = "transcode"))]
            Mode::Transcode { reason } => return Err(copy_only(&info, &plan, reason)),
        };
        // A fresh reader for the run: measuring bitrates consumed packets. It reads the chosen
        // track's samples only.
        let demuxer = Demuxer::open(&shared, Wanted::Track(track.id))?;
        Ok(Extraction {
            shared,
            demuxer,
            track,
            info,
            plan,
            sink,
            pipeline,
            pass: 0,
            rewind: false,
            packets: 0,
            progress: 0.0,
            done: false,
        })
    }

    /// What the probe found.
    pub fn info(&self) -> &MediaInfo {
        &self.info
    }

    /// What this extraction does.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Byte ranges `(start, end)` of the input this extraction leaves unread, sorted: in MP4
    /// files, the samples of the tracks other than the one extracted (their packets are dropped
    /// unread). The source is told them too ([`ByteSource::unread`]), so hosts that fetch input
    /// ahead of the engine's reads can leave them out. Empty when everything is read.
    pub fn unread_input(&self) -> &[(u64, u64)] {
        self.demuxer.unread.as_deref().map_or(&[], |u| u.ranges())
    }

    /// Whether the next step reads the input again from its start: with `normalize`, the step
    /// after the measuring pass. Hosts that fetch input ahead of each step fetch its start (and
    /// what an index at the end needs) now; a step that fails here because input was missing
    /// can be called again once it is there.
    pub fn rereads_input(&self) -> bool {
        self.rewind
    }

    /// Does a bounded amount of work.
    ///
    /// Errors: `EXTRACTION_FAILED` when the media breaks off unreadably part-way or the output
    /// cannot be written; `INVALID_VIDEO` when no audio packet can be decoded. After an error or
    /// [`Step::Done`], further calls return an error, except after a failed step that was to
    /// read the input again (see [`Extraction::rereads_input`]), which can be retried.
    pub fn step(&mut self) -> Result<Step> {
        self.step_packets(PACKETS_PER_STEP)
    }

    /// Like [`Extraction::step`], reading at most `max_packets` packets (of any track): hosts that
    /// must fetch input ahead of each step (ranged reads at the edge) keep steps small.
    pub fn step_packets(&mut self, max_packets: usize) -> Result<Step> {
        if self.done {
            return Err(Error::extraction_failed("the extraction has already ended"));
        }
        let result = match self.rewind {
            true => self.rewind(),
            false => self.read(max_packets.max(1)),
        };
        let retry = result.is_err() && self.rereads_input();
        if !retry && !matches!(result, Ok(Step::Progress(_))) {
            self.done = true;
        }
        result
    }

    /// Opens the input again for the next pass. On failure nothing changes, so the step can be
    /// retried.
    fn rewind(&mut self) -> Result<Step> {
        self.demuxer = Demuxer::open(&self.shared, Wanted::Track(self.track.id))?;
        self.rewind = false;
        self.pass += 1;
        self.packets = 0;
        Ok(Step::Progress(self.progress))
    }

    /// Hands packets of the track to the pipeline; at the end of the input, ends the pass.
    fn read(&mut self, max_packets: usize) -> Result<Step> {
        let passes = f64::from(self.pipeline.passes());
        let (base, span) = (f64::from(self.pass) / passes, 1.0 / passes);
        for _ in 0..max_packets {
            let Some(packet) = self.demuxer.next_packet()? else {
                return self.end_pass(base + span);
            };
            if packet.track_id != self.track.id {
                continue;
            }
            self.packets += 1;
            self.advance(packet.pts, base, span);
            self.pipeline.packet(&mut self.sink, &packet)?;
        }
        Ok(Step::Progress(self.progress))
    }

    /// Moves progress to where a packet at `pts` is, within `[base, base + span]`.
    fn advance(&mut self, pts: i64, base: f64, span: f64) {
        if let (Some(t), Some(d)) = (self.track.seconds(pts), self.info.duration) {
            if d > 0.0 {
                self.progress = (base + span * (t / d).min(1.0)).clamp(self.progress, 1.0);
            }
        }
    }

    /// The input has ended: the pipeline ends its pass, and either the input is read again
    /// (progress moves to `reached`) or the output is complete.
    fn end_pass(&mut self, reached: f64) -> Result<Step> {
        if self.packets == 0 {
            return Err(Error::invalid_video("the audio track has no packets"));
        }
        let Some(made) = self.pipeline.end_pass(&mut self.sink)? else {
            self.rewind = true;
            self.progress = self.progress.max(reached);
            return Ok(Step::Progress(self.progress));
        };
        self.sink.finish()?;
        Ok(Step::Done(Summary {
            bytes: self.sink.bytes,
            packets: self.packets,
            skipped_packets: made.skipped_packets,
            duration: made.duration,
            normalization: made.normalization,
        }))
    }

    /// Runs to the end, calling `progress` after each step.
    pub fn run(&mut self, mut progress: impl FnMut(f64)) -> Result<Summary> {
        loop {
            match self.step()? {
                Step::Progress(p) => progress(p),
                Step::Done(s) => return Ok(s),
            }
        }
    }

    /// The sink, between steps (hosts that upload output as it is produced drain it here).
    pub fn sink_mut(&mut self) -> &mut K {
        &mut self.sink.inner
    }

    /// Gives the sink back (after [`Step::Done`], it holds the whole output).
    pub fn into_sink(self) -> K {
        self.sink.inner
    }
}

/// The stream-copy container for `format`, its header (with `tags` in the format's own form)
/// written.
fn copy_muxer(
    sink: &mut dyn ByteSink,
    track: &AudioTrack,
    format: OutputFormat,
    tags: &Tags,
) -> Result<Box<dyn Pipeline>> {
    Ok(match format {
        // ADTS has no place for tags (the plan notes it).
        OutputFormat::Aac => {
            Box::new(Adts::new(AdtsConfig::from_asc(&track.extra_data, track.sample_rate, track.channels)?))
        }
        OutputFormat::Mp3 => {
            sink.write(&tags::id3v2(tags))?;
            Box::new(RawFrames)
        }
        OutputFormat::Flac => Box::new(FlacCopy::begin(sink, &track.extra_data, &tags::vorbis_comments(tags))?),
        OutputFormat::Opus => {
            let head = opus::valid_head(&track.extra_data)
                .ok_or_else(|| Error::invalid_video("the Opus track has no valid OpusHead"))?;
            let pre_skip = opus::pre_skip(head).map_or(0, u64::from);
            let end = track.keep_frames.map(|k| k + pre_skip);
            let headers = [head.to_vec(), opus::tags_packet(&tags::vorbis_comments(tags))];
            Box::new(Ogg::begin(sink, &headers, Granules::Opus, 48_000, end)?)
        }
        OutputFormat::Ogg => {
            let headers = vorbis::split_headers(&track.extra_data)?;
            let sizes = vorbis::BlockSizes::new(&headers)?;
            // The comment header is this output's own: the tags asked for, or none.
            let comment = vorbis::comment_header(&tags::vorbis_comments(tags));
            let all = [headers.ident, comment, headers.setup];
            let granules = Granules::Vorbis { sizes, prev: None };
            Box::new(Ogg::begin(sink, &all, granules, track.sample_rate, track.keep_frames)?)
        }
        OutputFormat::Wav => {
            // Header fields: a value past u16 becomes 0, which `Wav::begin` refuses.
            let bits = u16::try_from(track.bits_per_sample.unwrap_or(16)).unwrap_or(0);
            let float = track.info.profile.as_deref() == Some("f32le");
            let spec = WavSpec {
                channels: u16::try_from(track.channels).unwrap_or(0),
                sample_rate: track.sample_rate,
                bits,
                float,
                channel_mask: default_channel_mask(track.channels),
            };
            Box::new(Wav::begin(sink, spec, &tags::riff_info(tags))?)
        }
    })
}

/// Builds without the `transcode` feature have no decoders or encoders: a plan that re-encodes
/// is refused, naming what it would need.
#[cfg(not(feature = "transcode"))]
fn copy_only(info: &MediaInfo, plan: &Plan, reason: &crate::plan::TranscodeReason) -> Error {
    let details = serde_json::json!({ "reason": reason, "build": "copy-only" });
    Error::invalid_output(format!(
        "{} {} → {} needs re-encoding ({}), which the copy-only build of converso does not include",
        info.container.as_str(),
        plan.track.codec,
        plan.format.as_str(),
        reason.describe()
    ))
    .with_details(details.to_string())
}

/// Counts bytes on their way to the caller's sink.
struct CountingSink<K> {
    inner: K,
    bytes: u64,
}

impl<K: ByteSink> ByteSink for CountingSink<K> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<()> {
        self.inner.write(data)?;
        self.bytes += data.len() as u64;
        Ok(())
    }
    fn can_write_at(&self) -> bool {
        self.inner.can_write_at()
    }
    fn write_at(&mut self, offset: u64, data: &[u8]) -> std::io::Result<()> {
        self.inner.write_at(offset, data)
    }
    fn finish(&mut self) -> std::io::Result<()> {
        self.inner.finish()
    }
}
