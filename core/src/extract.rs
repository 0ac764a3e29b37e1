//! The step-wise extraction driver.
//!
//! [`Extraction::step`] does a bounded amount of work and returns progress, so the caller
//! decides when to continue: a CLI loops, a browser worker checks its abort signal between
//! steps, an edge job checks its CPU budget. Dropping the extraction cancels it; the caller owns
//! the sink and discards what was written.
//!
//! With `normalize` the work is two passes over the input (see `loudness`): the first decodes
//! the whole track and measures it, writing nothing after the header; the second opens the
//! input again from its start and writes the output with the gain applied. Progress runs over
//! both: the measuring pass is the first half.

use std::sync::{Arc, Mutex};

use serde::Serialize;

use crate::codec::aac::AdtsConfig;
use crate::codec::{opus, vorbis};
use crate::decode::Decoder;
use crate::demux::{AudioTrack, Demuxer, SharedSource, Wanted};
use crate::encode::aac::AacEncoder;
use crate::encode::flac::FlacEncoder;
use crate::encode::mp3::Mp3Encoder;
use crate::encode::opus::OpusEncoder;
use crate::encode::vorbis::VorbisEncoder;
use crate::encode::wav::WavEncoder;
use crate::encode::{Encoder, Lossy, Prep};
use crate::error::{Error, Result};
use crate::info::{AudioCodec, MediaInfo, Tags};
use crate::limits::PACKETS_PER_STEP;
use crate::loudness::{Gain, Meter, Normalization};
use crate::mux::adts::Adts;
use crate::mux::flac::FlacCopy;
use crate::mux::ogg::{Granules, Ogg};
use crate::mux::tags;
use crate::mux::wav::{default_channel_mask, Wav, WavSpec};
use crate::mux::{PacketMuxer, RawFrames};
use crate::options::{ExtractOptions, OutputFormat};
use crate::plan::{plan, Mode, Plan};
use crate::quality;
use crate::sink::ByteSink;
use crate::source::ByteSource;

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

enum Pipeline {
    Copy(Box<dyn PacketMuxer>),
    Transcode {
        decoder: Box<Decoder>,
        encoder: Box<dyn Encoder>,
        samples: Vec<i32>,
        frames: u64,
        /// `normalize`'s gain, once measured.
        gain: Option<Gain>,
    },
}

/// Where an extraction is. Without `normalize` there is one pass, writing the output.
enum Pass {
    /// Decoding and measuring the whole track; nothing is written.
    Measure(Box<Measure>),
    /// Measured: the next step opens the input again from its start.
    Rewind(Normalization),
    /// Writing the output.
    Output,
}

/// `normalize`'s first pass: its own decoder, and a meter fed what the encoder will be fed.
struct Measure {
    decoder: Decoder,
    meter: Meter,
    samples: Vec<i32>,
    packets: u64,
}

impl Measure {
    fn new(track: &AudioTrack, format: OutputFormat, bits: u32) -> Result<Measure> {
        let decoder = Decoder::new(track, bits)?;
        let channels = decoder.channels();
        let (out_channels, rate) = encoded_layout(format, track, channels);
        let prep = Prep::new(channels, track.sample_rate, bits, out_channels, rate)?;
        Ok(Measure { decoder, meter: Meter::new(prep, out_channels, rate)?, samples: Vec::new(), packets: 0 })
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
    /// The input, opened again for `normalize`'s second pass.
    shared: SharedSource,
    demuxer: Demuxer,
    track: AudioTrack,
    info: MediaInfo,
    plan: Plan,
    sink: CountingSink<K>,
    pipeline: Pipeline,
    pass: Pass,
    /// Bits of the decoded samples (what the gain is applied to).
    bits: u32,
    normalization: Option<Normalization>,
    packets: u64,
    progress: f64,
    done: bool,
}

impl<K: ByteSink> Extraction<K> {
    /// Probes `source`, plans for `options` and writes the output's header to `sink`.
    ///
    /// Errors: `INVALID_VIDEO` (unreadable input, no audio, undecodable audio) and
    /// `INVALID_OUTPUT` (bad options, an output that cannot be produced).
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
        // A fresh reader for the run: measuring bitrates consumed packets. It reads the chosen
        // track's samples only.
        let demuxer = Demuxer::open(&shared, Wanted::Track(track.id))?;
        let mut sink = CountingSink { inner: sink, bytes: 0 };
        let tags = match options.preserve_metadata {
            true => tags::of_source(&info, &track.info),
            false => Tags::default(),
        };
        let bits = output_bits(&track, plan.format);
        let pipeline = match &plan.mode {
            Mode::Copy => Pipeline::Copy(copy_muxer(&mut sink, &track, plan.format, &tags)?),
            Mode::Transcode { .. } => {
                let decoder = Box::new(Decoder::new(&track, bits)?);
                let encoder = encoder(&mut sink, &track, &plan, bits, decoder.channels(), &tags)?;
                Pipeline::Transcode { decoder, encoder, samples: Vec::new(), frames: 0, gain: None }
            }
        };
        // The plan re-encodes whenever `normalize` is set.
        let pass = match (&pipeline, options.normalize) {
            (Pipeline::Transcode { .. }, true) => Pass::Measure(Box::new(Measure::new(&track, plan.format, bits)?)),
            _ => Pass::Output,
        };
        Ok(Extraction {
            shared,
            demuxer,
            track,
            info,
            plan,
            sink,
            pipeline,
            pass,
            bits,
            normalization: None,
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
        matches!(self.pass, Pass::Rewind(_))
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
        let result = match self.pass {
            Pass::Measure(_) => self.measure(max_packets.max(1)),
            Pass::Rewind(_) => self.rewind(),
            Pass::Output => self.output(max_packets.max(1)),
        };
        let retry = result.is_err() && self.rereads_input();
        if !retry && !matches!(result, Ok(Step::Progress(_))) {
            self.done = true;
        }
        result
    }

    /// Moves progress to where a packet at `pts` is, within `[base, base + span]`.
    fn advance(&mut self, pts: i64, base: f64, span: f64) {
        if let (Some(t), Some(d)) = (self.track.seconds(pts), self.info.duration) {
            if d > 0.0 {
                self.progress = (base + span * (t / d).min(1.0)).clamp(self.progress, 1.0);
            }
        }
    }

    /// `normalize`'s first pass: decodes and measures, writes nothing.
    fn measure(&mut self, max_packets: usize) -> Result<Step> {
        for _ in 0..max_packets {
            let Some(packet) = self.demuxer.next_packet()? else {
                let Pass::Measure(m) = std::mem::replace(&mut self.pass, Pass::Output) else {
                    return Err(Error::extraction_failed("the loudness measurement was not running"));
                };
                if m.packets == 0 {
                    return Err(Error::invalid_video("the audio track has no packets"));
                }
                self.pass = Pass::Rewind(m.meter.finish()?);
                self.progress = self.progress.max(0.5);
                return Ok(Step::Progress(self.progress));
            };
            if packet.track_id != self.track.id {
                continue;
            }
            self.advance(packet.pts, 0.0, 0.5);
            let Pass::Measure(m) = &mut self.pass else {
                return Err(Error::extraction_failed("the loudness measurement was not running"));
            };
            m.packets += 1;
            m.samples.clear();
            m.decoder.decode(&packet, &mut m.samples)?;
            m.meter.add(&m.samples)?;
        }
        Ok(Step::Progress(self.progress))
    }

    /// Opens the input again for the second pass and sets the gain. On failure nothing changes,
    /// so the step can be retried.
    fn rewind(&mut self) -> Result<Step> {
        let demuxer = Demuxer::open(&self.shared, Wanted::Track(self.track.id))?;
        let Pass::Rewind(n) = std::mem::replace(&mut self.pass, Pass::Output) else {
            return Err(Error::extraction_failed("the loudness measurement has not finished"));
        };
        self.demuxer = demuxer;
        if let Pipeline::Transcode { gain, .. } = &mut self.pipeline {
            *gain = Some(Gain::new(n.gain_db, self.bits));
        }
        self.normalization = Some(n);
        Ok(Step::Progress(self.progress))
    }

    /// Writes the output (the second pass with `normalize`).
    fn output(&mut self, max_packets: usize) -> Result<Step> {
        let (base, span) = if self.normalization.is_some() { (0.5, 0.5) } else { (0.0, 1.0) };
        for _ in 0..max_packets {
            let Some(packet) = self.demuxer.next_packet()? else {
                return self.finish();
            };
            if packet.track_id != self.track.id {
                continue;
            }
            self.packets += 1;
            self.advance(packet.pts, base, span);
            match &mut self.pipeline {
                Pipeline::Copy(muxer) => {
                    muxer.write_packet(&mut self.sink, &packet.data)?;
                    muxer.trim_end(u64::from(packet.trim_end));
                }
                Pipeline::Transcode { decoder, encoder, samples, frames, gain } => {
                    samples.clear();
                    decoder.decode(&packet, samples)?;
                    *frames += (samples.len() / decoder.channels()) as u64;
                    if let Some(g) = gain {
                        g.apply(samples);
                    }
                    encoder.encode(&mut self.sink, samples)?;
                }
            }
        }
        Ok(Step::Progress(self.progress))
    }

    fn finish(&mut self) -> Result<Step> {
        if self.packets == 0 {
            return Err(Error::invalid_video("the audio track has no packets"));
        }
        let (skipped_packets, duration) = match &mut self.pipeline {
            Pipeline::Copy(muxer) => {
                muxer.finish(&mut self.sink)?;
                (0, None)
            }
            Pipeline::Transcode { decoder, encoder, frames, .. } => {
                encoder.finish(&mut self.sink)?;
                (decoder.skipped_packets, Some(*frames as f64 / f64::from(self.track.sample_rate)))
            }
        };
        self.sink.finish()?;
        Ok(Step::Done(Summary {
            bytes: self.sink.bytes,
            packets: self.packets,
            skipped_packets,
            duration,
            normalization: self.normalization,
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

/// Bit depth of decoded samples: the source's for lossless sources, else 16.
fn output_bits(track: &AudioTrack, format: OutputFormat) -> u32 {
    let lossless_source = matches!(track.codec, AudioCodec::Flac | AudioCodec::Alac | AudioCodec::Pcm);
    let bits = match track.bits_per_sample {
        Some(b) if lossless_source && b > 16 => {
            if b > 24 && format == OutputFormat::Wav {
                32
            } else {
                24
            }
        }
        _ => 16,
    };
    if track.info.profile.as_deref().is_some_and(|p| p.starts_with('f')) {
        return 24;
    }
    bits
}

/// The stream-copy container for `format`, its header (with `tags` in the format's own form)
/// written.
fn copy_muxer(
    sink: &mut dyn ByteSink,
    track: &AudioTrack,
    format: OutputFormat,
    tags: &Tags,
) -> Result<Box<dyn PacketMuxer>> {
    Ok(match format {
        // ADTS has no place for tags (the plan notes it).
        OutputFormat::Aac => {
            Box::new(Adts::new(AdtsConfig::from_asc(&track.extra_data, track.sample_rate, track.channels)?))
        }
        OutputFormat::Mp3 => {
            sink.write(&tags::id3v2(tags)?)?;
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

/// Channels and rate the encoder is fed: the decoder's for lossless formats, the plan's (after
/// downmix and resampling) for lossy ones.
fn encoded_layout(format: OutputFormat, track: &AudioTrack, channels: usize) -> (usize, u32) {
    if format.is_lossless() {
        return (channels, track.sample_rate);
    }
    let out_channels = quality::encoder_channels(format, channels as u32) as usize;
    (out_channels, quality::encoder_rate(format, track.sample_rate))
}

/// The encoder for the plan's format, its header (with `tags` in the format's own form) written.
fn encoder(
    sink: &mut dyn ByteSink,
    track: &AudioTrack,
    plan: &Plan,
    bits: u32,
    channels: usize,
    tags: &Tags,
) -> Result<Box<dyn Encoder>> {
    // What lossy encoders are fed (the plan's rate and channels, from the decoder's own values).
    let (out_channels, rate) = encoded_layout(plan.format, track, channels);
    let prep = || Prep::new(channels, track.sample_rate, bits, out_channels, rate);
    let bitrate = plan.bitrate.unwrap_or(128_000);
    Ok(match plan.format {
        OutputFormat::Wav => Box::new(WavEncoder::begin(
            sink,
            WavSpec {
                channels: channels as u16,
                sample_rate: track.sample_rate,
                bits: bits as u16,
                float: false,
                channel_mask: default_channel_mask(channels as u32),
            },
            &tags::riff_info(tags),
        )?),
        OutputFormat::Flac => {
            Box::new(FlacEncoder::begin(sink, track.sample_rate, channels, bits, &tags::vorbis_comments(tags))?)
        }
        OutputFormat::Mp3 => {
            let id3 = tags::id3v2(tags)?;
            Box::new(Lossy::new(prep()?, Mp3Encoder::begin(sink, rate, out_channels, bitrate / 1000, &id3)?))
        }
        // ADTS has no place for tags (the plan notes it).
        OutputFormat::Aac => Box::new(Lossy::new(prep()?, AacEncoder::new(rate, out_channels, bitrate)?)),
        OutputFormat::Opus => {
            let comments = tags::vorbis_comments(tags);
            let opus = OpusEncoder::begin(sink, rate, out_channels, bitrate, track.sample_rate, &comments)?;
            Box::new(Lossy::new(prep()?, opus))
        }
        OutputFormat::Ogg => {
            let mode = match plan.vbr_quality {
                Some(q) => converso_vorbis::Mode::Quality(f32::from(q) / 10.0),
                None => converso_vorbis::Mode::Average(bitrate),
            };
            let comments = tags::vorbis_comments(tags);
            Box::new(Lossy::new(prep()?, VorbisEncoder::begin(sink, rate, out_channels, mode, &comments)?))
        }
    })
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
