//! Re-encoding (the `transcode` feature): the track is decoded to integer PCM and encoded in the
//! output format. Builds without the feature only copy (see `extract`).
//!
//! With `normalize` there are two passes over the input (see `loudness`): the first decodes the
//! whole track with a decoder of its own and measures it, writing nothing after the header; the
//! second decodes again and writes the output with the gain applied.

pub(crate) mod decode;
pub(crate) mod encode;
mod meter;

use decode::Decoder;
use encode::aac::AacEncoder;
use encode::flac::FlacEncoder;
use encode::mp3::Mp3Encoder;
use encode::opus::OpusEncoder;
use encode::vorbis::VorbisEncoder;
use encode::wav::WavEncoder;
use encode::{Encoder, Lossy, Prep};
use meter::{Gain, Meter};

use crate::demux::{AudioTrack, Packet};
use crate::error::Result;
use crate::extract::{Made, Pipeline};
use crate::info::{AudioCodec, Tags};
use crate::loudness::Normalization;
use crate::mux::tags;
use crate::mux::wav::{default_channel_mask, WavSpec};
use crate::options::OutputFormat;
use crate::plan::Plan;
use crate::quality;
use crate::sink::ByteSink;

/// A decoder feeding an encoder.
pub(crate) struct Transcode {
    decoder: Decoder,
    encoder: Box<dyn Encoder>,
    samples: Vec<i32>,
    /// Frames decoded for the output.
    frames: u64,
    sample_rate: u32,
    /// Bits of the decoded samples (what the gain is applied to).
    bits: u32,
    /// `normalize`'s first pass, until it has measured the track.
    measure: Option<Box<Measure>>,
    /// `normalize`'s gain, once measured.
    gain: Option<(Gain, Normalization)>,
    passes: u32,
}

impl Transcode {
    /// The decoder and encoder for `plan`, the encoder's header (with `tags`) written.
    pub fn begin(
        sink: &mut dyn ByteSink,
        track: &AudioTrack,
        plan: &Plan,
        tags: &Tags,
        normalize: bool,
    ) -> Result<Transcode> {
        let bits = output_bits(track, plan.format);
        let decoder = Decoder::new(track, bits)?;
        let encoder = encoder(sink, track, plan, bits, decoder.channels(), tags)?;
        let measure = match normalize {
            true => Some(Box::new(Measure::new(track, plan.format, bits)?)),
            false => None,
        };
        Ok(Transcode {
            decoder,
            encoder,
            samples: Vec::new(),
            frames: 0,
            sample_rate: track.sample_rate,
            bits,
            passes: if normalize { 2 } else { 1 },
            measure,
            gain: None,
        })
    }
}

impl Pipeline for Transcode {
    fn passes(&self) -> u32 {
        self.passes
    }

    fn packet(&mut self, sink: &mut dyn ByteSink, packet: &Packet) -> Result<()> {
        if let Some(m) = &mut self.measure {
            m.samples.clear();
            m.decoder.decode(packet, &mut m.samples)?;
            return m.meter.add(&m.samples);
        }
        self.samples.clear();
        self.decoder.decode(packet, &mut self.samples)?;
        self.frames += (self.samples.len() / self.decoder.channels()) as u64;
        if let Some((g, _)) = &self.gain {
            g.apply(&mut self.samples);
        }
        self.encoder.encode(sink, &self.samples)
    }

    fn end_pass(&mut self, sink: &mut dyn ByteSink) -> Result<Option<Made>> {
        if let Some(m) = self.measure.take() {
            let n = m.meter.finish()?;
            self.gain = Some((Gain::new(n.gain_db, self.bits), n));
            return Ok(None);
        }
        self.encoder.finish(sink)?;
        Ok(Some(Made {
            skipped_packets: self.decoder.skipped_packets,
            duration: Some(self.frames as f64 / f64::from(self.sample_rate)),
            normalization: self.gain.as_ref().map(|(_, n)| *n),
        }))
    }
}

/// `normalize`'s first pass: its own decoder, and a meter fed what the encoder will be fed.
struct Measure {
    decoder: Decoder,
    meter: Meter,
    samples: Vec<i32>,
}

impl Measure {
    fn new(track: &AudioTrack, format: OutputFormat, bits: u32) -> Result<Measure> {
        let decoder = Decoder::new(track, bits)?;
        let channels = decoder.channels();
        let (out_channels, rate) = encoded_layout(format, track, channels);
        let prep = Prep::new(channels, track.sample_rate, bits, out_channels, rate)?;
        Ok(Measure { decoder, meter: Meter::new(prep, out_channels, rate)?, samples: Vec::new() })
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
            let id3 = tags::id3v2(tags);
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
