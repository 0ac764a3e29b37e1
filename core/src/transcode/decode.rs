//! Decoding compressed packets to interleaved integer PCM.
//!
//! symphonia decodes everything but Opus (it has no Opus decoder); Opus goes through the
//! pure-Rust `opus-pure`. Output is interleaved `i32` samples at the bit depth the encoder
//! wants, in WAV channel order, with the container's priming and padding trimmed.

use symphonia::core::audio::{Audio, GenericAudioBufferRef};
use symphonia::core::codecs::audio::{AudioDecoder, AudioDecoderOptions};
use symphonia::core::packet::Packet as SymPacket;
use symphonia::core::units::{Duration, Timestamp};

use crate::codec::opus::valid_head;
use crate::demux::{AudioTrack, Packet};
use crate::error::{Error, Result};
use crate::info::AudioCodec;
use crate::limits::{MAX_CHANNELS, SAMPLE_RATES};

/// Consecutive undecodable packets tolerated before the extraction fails.
const MAX_CONSECUTIVE_ERRORS: u32 = 32;

enum Inner {
    Symphonia(Box<dyn AudioDecoder>),
    Opus(OpusDecoder),
}

/// Decodes one track's packets.
pub(crate) struct Decoder {
    inner: Inner,
    channels: usize,
    bits: u32,
    /// Frames still to drop at the start.
    skip: u64,
    /// Frames still to emit, when the container bounds the length.
    remaining: Option<u64>,
    consecutive_errors: u32,
    decoded_any: bool,
    /// Packets that could not be decoded and were skipped.
    pub skipped_packets: u64,
    scratch_i16: Vec<i16>,
    scratch_i32: Vec<i32>,
    scratch_f32: Vec<f32>,
}

impl Decoder {
    /// A decoder for `track` that produces samples of `bits` (16, 24 or 32) bits.
    pub fn new(track: &AudioTrack, bits: u32) -> Result<Decoder> {
        let channels = track.channels as usize;
        if channels == 0 || channels > MAX_CHANNELS || !SAMPLE_RATES.contains(&track.sample_rate) {
            return Err(Error::invalid_video("the audio track has no valid channel count or sample rate"));
        }
        let inner = if track.codec == AudioCodec::Opus {
            Inner::Opus(OpusDecoder::new(&track.extra_data)?)
        } else {
            let opts = AudioDecoderOptions::default();
            let dec = symphonia::default::get_codecs().make_audio_decoder(&track.params, &opts).map_err(|e| {
                Error::invalid_video(format!("the {} audio cannot be decoded", track.info.codec))
                    .with_details(e.to_string())
            })?;
            Inner::Symphonia(dec)
        };
        Ok(Decoder {
            inner,
            channels,
            bits,
            skip: track.trim_start,
            remaining: track.keep_frames,
            consecutive_errors: 0,
            decoded_any: false,
            skipped_packets: 0,
            scratch_i16: Vec::new(),
            scratch_i32: Vec::new(),
            scratch_f32: Vec::new(),
        })
    }

    /// Channels of the output.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Decodes a packet and appends its samples (after trimming) to `out`.
    pub fn decode(&mut self, packet: &Packet, out: &mut Vec<i32>) -> Result<()> {
        let start = out.len();
        match self.decode_raw(&packet.data, out) {
            Ok(()) => {
                self.consecutive_errors = 0;
                self.decoded_any = true;
            }
            Err(e) => {
                out.truncate(start);
                self.skipped_packets += 1;
                self.consecutive_errors += 1;
                if self.consecutive_errors >= MAX_CONSECUTIVE_ERRORS {
                    return Err(if self.decoded_any {
                        Error::extraction_failed("too many consecutive audio packets could not be decoded")
                            .with_details(e.to_string())
                    } else {
                        Error::invalid_video("the audio cannot be decoded").with_details(e.to_string())
                    });
                }
                return Ok(());
            }
        }
        let frames = (out.len() - start) / self.channels;
        let end = frames.saturating_sub(packet.trim_end as usize);
        out.truncate(start + end * self.channels);
        let front = (packet.trim_start as usize).min(end);
        out.drain(start..start + front * self.channels);
        self.trim(out, start);
        Ok(())
    }

    fn decode_raw(&mut self, data: &[u8], out: &mut Vec<i32>) -> Result<(), String> {
        match &mut self.inner {
            Inner::Symphonia(dec) => {
                let packet = SymPacket::new(0, Timestamp::new(0), Duration::new(0), data);
                let buf = dec.decode(&packet).map_err(|e| e.to_string())?;
                if buf.spec().channels().count() != self.channels {
                    return Err("the channel count changed mid-stream".into());
                }
                if let GenericAudioBufferRef::F32(planes) = &buf {
                    // The float decoders (AAC, MP3, Vorbis): each channel converted in a loop
                    // that vectorises, then interleaved.
                    let to_int = FloatToInt::new(self.bits);
                    let frames = planes.frames();
                    self.scratch_i32.clear();
                    for plane in planes.iter_planes() {
                        to_int.extend(plane, &mut self.scratch_i32);
                    }
                    interleave(&self.scratch_i32, frames, self.channels, out);
                } else if self.bits == 16 {
                    buf.copy_to_vec_interleaved(&mut self.scratch_i16);
                    out.extend(self.scratch_i16.iter().map(|&s| i32::from(s)));
                } else {
                    buf.copy_to_vec_interleaved(&mut self.scratch_i32);
                    let shift = 32 - self.bits;
                    out.extend(self.scratch_i32.iter().map(|&s| s >> shift));
                }
            }
            Inner::Opus(dec) => {
                let n = dec.decode(data, &mut self.scratch_f32)?;
                let pcm = &self.scratch_f32[..n * self.channels];
                let start = out.len();
                FloatToInt::new(self.bits).extend(pcm, out);
                if let Some(order) = wav_order(self.channels, dec.family) {
                    let mut frame = [0i32; 8];
                    for f in out[start..].chunks_exact_mut(self.channels) {
                        frame[..f.len()].copy_from_slice(f);
                        for (d, &c) in f.iter_mut().zip(order) {
                            *d = frame[c];
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Drops priming frames and frames past the presented length.
    fn trim(&mut self, out: &mut Vec<i32>, start: usize) {
        let frames = ((out.len() - start) / self.channels) as u64;
        let drop = self.skip.min(frames);
        self.skip -= drop;
        out.drain(start..start + drop as usize * self.channels);
        if let Some(rem) = &mut self.remaining {
            let keep = (frames - drop).min(*rem);
            *rem -= keep;
            out.truncate(start + keep as usize * self.channels);
        }
    }
}

/// Float samples (±1.0 full scale) to integers of a given width, rounded and clamped.
#[derive(Clone, Copy)]
struct FloatToInt {
    scale: f32,
    lo: f32,
    hi: f32,
}

/// 1.5 · 2^23: added to a float of magnitude below 2^22, it leaves that float rounded to an
/// integer (half to even) in the low bits of the mantissa.
const ROUNDER: f32 = 12_582_912.0;

impl FloatToInt {
    fn new(bits: u32) -> FloatToInt {
        let scale = (1i64 << (bits - 1)) as f32;
        FloatToInt { scale, lo: -scale, hi: scale - 1.0 }
    }

    /// Appends `src` converted to `out`. Up to 16 bits, rounding goes through the mantissa (see
    /// [`ROUNDER`]) rather than a float-to-int conversion, which costs a saturation check per
    /// sample on wasm32 and baseline x86-64; above, it rounds half away from zero by hand
    /// (`f32::round` is a libm call there). Both loops vectorise, and write `out` without
    /// zeroing it first.
    fn extend(self, src: &[f32], out: &mut Vec<i32>) {
        if self.scale <= 32_768.0 {
            let bias = ROUNDER.to_bits() as i32;
            out.extend(src.iter().map(|&s| (self.clamped(s) + ROUNDER).to_bits() as i32 - bias));
        } else {
            out.extend(src.iter().map(|&s| {
                let v = self.clamped(s);
                (v + 0.5f32.copysign(v)) as i32
            }));
        }
    }

    /// The scaled sample within range, NaN at the low end. Comparisons rather than
    /// `f32::max`/`min`, which are libm calls on wasm32.
    #[inline]
    fn clamped(self, s: f32) -> f32 {
        let v = s * self.scale;
        let v = if v >= self.lo { v } else { self.lo };
        if v <= self.hi {
            v
        } else {
            self.hi
        }
    }
}

/// Appends `planar` (`channels` planes of `frames` samples, one after another) to `out`,
/// interleaved; mono and stereo, nearly every source, without a per-sample index.
fn interleave(planar: &[i32], frames: usize, channels: usize, out: &mut Vec<i32>) {
    match channels {
        1 => out.extend_from_slice(planar),
        2 => {
            let (left, right) = planar.split_at(frames);
            out.extend(left.iter().zip(right).flat_map(|(&l, &r)| [l, r]));
        }
        _ => out.extend((0..frames).flat_map(|f| planar[f..].iter().step_by(frames).copied())),
    }
}

/// Opus channel order (Vorbis order, RFC 7845 §5.1.1.2) → WAV order, as source indices; `None`
/// where they agree.
fn wav_order(channels: usize, family: u8) -> Option<&'static [usize]> {
    match (family, channels) {
        (1, 3) => Some(&[0, 2, 1]),
        (1, 5) => Some(&[0, 2, 1, 3, 4]),
        (1, 6) => Some(&[0, 2, 1, 5, 3, 4]),
        (1, 7) => Some(&[0, 2, 1, 6, 5, 3, 4]),
        (1, 8) => Some(&[0, 2, 1, 7, 5, 6, 3, 4]),
        _ => None,
    }
}

/// Opus through `opus-pure`: mapping family 0 (mono/stereo) or 1 (standard surround layouts).
struct OpusDecoder {
    family: u8,
    channels: usize,
    dec: OpusInner,
}

enum OpusInner {
    Single(Box<opus_pure::OpusDecoder>),
    Multi(opus_pure::OpusMSDecoder),
}

impl OpusDecoder {
    fn new(head: &[u8]) -> Result<OpusDecoder> {
        let bad = |d: String| Error::invalid_video("the Opus track cannot be decoded").with_details(d);
        let head = valid_head(head).ok_or_else(|| bad("missing or malformed OpusHead".into()))?;
        let channels = usize::from(head[9]);
        let family = head[18];
        let gain = i32::from(i16::from_le_bytes([head[16], head[17]]));
        let dec = match family {
            0 => {
                let mut d = opus_pure::OpusDecoder::new(48_000, channels).map_err(|e| bad(e.to_string()))?;
                d.gain_q8 = gain;
                OpusInner::Single(Box::new(d))
            }
            1 => {
                let std = opus_pure::ChannelLayout::surround(channels, 1).map_err(|e| bad(e.to_string()))?;
                let (streams, coupled, map) = (head[19], head[20], &head[21..21 + channels]);
                if std.nb_streams != usize::from(streams)
                    || std.nb_coupled_streams != usize::from(coupled)
                    || std.mapping != map
                {
                    return Err(bad("non-standard Opus channel mapping".into()));
                }
                let mut d = opus_pure::OpusMSDecoder::new(48_000, channels, 1).map_err(|e| bad(e.to_string()))?;
                for s in d.streams_mut() {
                    s.gain_q8 = gain;
                }
                OpusInner::Multi(d)
            }
            f => return Err(bad(format!("Opus channel mapping family {f} is not supported"))),
        };
        Ok(OpusDecoder { family, channels, dec })
    }

    /// Decodes one packet into `out` (resized as needed); returns frames decoded.
    fn decode(&mut self, data: &[u8], out: &mut Vec<f32>) -> Result<usize, String> {
        let max = opus_pure::MAX_PACKET_SAMPLES;
        out.resize(max * self.channels, 0.0);
        match &mut self.dec {
            OpusInner::Single(d) => d.decode(data, max, out),
            OpusInner::Multi(d) => d.decode(data, max, out),
        }
        .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::{interleave, FloatToInt};

    #[test]
    fn floats_become_rounded_clamped_integers() {
        let lsb = 1.0 / 32_768.0;
        let src = [0.0, 0.4 * lsb, 0.6 * lsb, -1.6 * lsb, 2.5 * lsb, -1.0, 1.0, 3.0, -3.0, f32::NAN];
        let mut dst = vec![7];
        FloatToInt::new(16).extend(&src, &mut dst);
        // 2.5 rounds to even through the mantissa.
        assert_eq!(dst, [7, 0, 0, 1, -2, 2, -32_768, 32_767, 32_767, -32_768, -32_768]);
        let lsb = 1.0 / 8_388_608.0;
        let src = [0.6 * lsb, -2.5 * lsb, 1.0, -3.0, f32::NAN];
        let mut dst = Vec::new();
        FloatToInt::new(24).extend(&src, &mut dst);
        assert_eq!(dst, [1, -3, 8_388_607, -8_388_608, -8_388_608]);
    }

    #[test]
    fn planes_are_interleaved_after_what_is_there() {
        for channels in 1..=3 {
            let frames = 4;
            let planar: Vec<i32> = (0..channels).flat_map(|c| (0..frames).map(move |f| 10 * f + c)).collect();
            let mut out = vec![-1];
            interleave(&planar, frames as usize, channels as usize, &mut out);
            let want: Vec<i32> =
                [-1].into_iter().chain((0..frames).flat_map(|f| (0..channels).map(move |c| 10 * f + c))).collect();
            assert_eq!(out, want, "{channels} channels");
        }
    }
}
