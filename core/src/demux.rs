//! Demuxing through symphonia: the only module, with `transcode::decode`, that names symphonia
//! types.
//!
//! It opens a [`ByteSource`], refuses containers we cannot read (see `sniff`), and translates
//! symphonia's tracks and packets into converso's own types, adding what symphonia's readers
//! leave out (MP4 edit lists, default flags and languages; Opus headers from MP4). In MP4 files
//! it leaves the samples of tracks nobody wants unread (see `mp4_samples`).

use std::io::{self, Read, Seek, SeekFrom};
use std::sync::{Arc, Mutex};

use symphonia::core::codecs::audio::well_known as ids;
use symphonia::core::codecs::audio::{AudioCodecId, AudioCodecParameters};
use symphonia::core::codecs::video::VideoCodecId;
use symphonia::core::codecs::CodecParameters;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, TrackFlags};
use symphonia::core::io::{MediaSource, MediaSourceStream, MediaSourceStreamOptions};
use symphonia::core::meta::{MetadataOptions, StandardTag};

use crate::codec::opus;
use crate::error::{Error, Result};
use crate::info::{AudioCodec, Container, MediaInfo, Tags, TrackInfo, TrackKind};
use crate::limits::{
    BITRATE_PROBE_BYTES, BITRATE_PROBE_PACKETS, MAX_CODEC_HEADER_BYTES, MAX_PACKET_BYTES, MAX_SPAN_READ_BYTES,
    SNIFF_BYTES,
};
use crate::mp4_boxes::{self, Mp4Tracks};
use crate::mp4_samples::{self, Span, Unread};
use crate::sniff::{sniff, Sniffed};
use crate::source::{read_full, ByteSource};

/// A source the demuxer can open more than once (probe, then extract).
pub(crate) type SharedSource = Arc<Mutex<Box<dyn ByteSource>>>;

/// Everything about an audio track that muxers and decoders need (some fields only decoders
/// read, and copy-only builds have none).
#[derive(Clone)]
#[cfg_attr(not(feature = "transcode"), allow(dead_code))]
pub(crate) struct AudioTrack {
    /// The public description.
    pub info: TrackInfo,
    /// Container track id (packets carry it).
    pub id: u32,
    pub codec: AudioCodec,
    pub sample_rate: u32,
    pub channels: u32,
    pub bits_per_sample: Option<u32>,
    /// Codec setup bytes: AudioSpecificConfig, OpusHead, FLAC STREAMINFO, Vorbis headers, ….
    pub extra_data: Vec<u8>,
    /// Seconds per timestamp tick.
    pub time_base: Option<(u32, u32)>,
    /// Decoded frames to drop at the start (encoder priming, Opus pre-skip).
    pub trim_start: u64,
    /// Frames to keep after the trim, when the container says.
    pub keep_frames: Option<u64>,
    /// symphonia's parameters, for the decoder.
    pub(crate) params: AudioCodecParameters,
}

impl AudioTrack {
    /// Seconds of a timestamp on this track.
    pub fn seconds(&self, ts: i64) -> Option<f64> {
        self.time_base.map(|(n, d)| ts as f64 * n as f64 / d as f64)
    }
}

/// One compressed packet.
#[cfg_attr(not(feature = "transcode"), allow(dead_code))]
pub(crate) struct Packet {
    pub track_id: u32,
    pub pts: i64,
    pub data: Box<[u8]>,
    /// Decoded frames of this packet to drop at its start and end (Ogg signals priming and
    /// padding per packet through granule positions).
    pub trim_start: u32,
    pub trim_end: u32,
}

/// Which tracks' packets carry their data. The packets of every track are still handed out, but
/// in MP4 files the others' bytes are not read: their packets hold zeros.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wanted {
    /// Every track.
    All,
    /// The audio tracks (probing: bitrates, channel counts of the first frames).
    Audio,
    /// One track, by id.
    Track(u32),
}

/// An open input.
pub(crate) struct Demuxer {
    reader: Box<dyn FormatReader>,
    pub info: MediaInfo,
    pub audio: Vec<AudioTrack>,
    /// What is left unread.
    pub unread: Option<Arc<Unread>>,
}

impl Demuxer {
    /// Opens `source`, reads the container's headers and describes every track.
    pub fn open(source: &SharedSource, wanted: Wanted) -> Result<Demuxer> {
        let (len, head, mp4, unread) = {
            let mut src = source.lock().map_err(|_| poisoned())?;
            let len = src.len();
            if len == 0 {
                return Err(Error::invalid_video("the input is empty"));
            }
            // In u64 first: on wasm32 a usize cannot hold the length of an input over 4 GiB.
            let mut head = vec![0u8; (SNIFF_BYTES as u64).min(len) as usize];
            let n = read_full(&mut **src, 0, &mut head).map_err(read_error)?;
            head.truncate(n);
            let sniffed = sniff(&head);
            if let Sniffed::Unsupported(name) = sniffed {
                return Err(Error::invalid_video(format!("{name} files are not supported"))
                    .with_details("readable containers: MP4, MOV, M4A, MKV, WebM, Ogg, WAV, FLAC, MP3, ADTS"));
            }
            let mp4 = match sniffed {
                Sniffed::IsoBrand(_) => mp4_boxes::read(&mut **src).map_err(read_error)?,
                _ => None,
            };
            let unread = match (&mp4, wanted) {
                (Some(m), Wanted::Audio) => mp4_samples::unread(&mut **src, m, &|_, t| &t.handler == b"soun"),
                (Some(m), Wanted::Track(id)) => mp4_samples::unread(&mut **src, m, &|t, _| t == id),
                _ => Ok(None),
            }
            .map_err(read_error)?
            .map(Arc::new);
            src.unread(unread.as_deref().map_or(&[], |u| u.ranges()));
            (len, sniffed, mp4, unread)
        };
        let mss = MediaSourceStream::new(
            Box::new(SourceReader::new(source.clone(), len, unread.clone())),
            MediaSourceStreamOptions::default(),
        );
        let mut reader = symphonia::default::get_probe()
            .probe(&Hint::new(), mss, FormatOptions::default(), MetadataOptions::default())
            .map_err(|e| {
                Error::invalid_video("the input is not a video or audio file converso can read")
                    .with_details(e.to_string())
            })?;
        let container = container_of(reader.format_info().short_name, head)?;
        let mut tags = read_tags(reader.as_mut());
        if container == Container::Wav && tags.is_empty() {
            // Best effort: unreadable tags leave the extraction as it is.
            let mut src = source.lock().map_err(|_| poisoned())?;
            tags = crate::riff_info::read(&mut **src).unwrap_or_default();
        }
        let container_duration = {
            let m = reader.media_info();
            m.time_base.zip(m.duration).and_then(|(tb, d)| tb.calc_duration(d)).map(|d| d.as_secs_f64())
        };
        // Matroska passes on neither Opus pre-skip nor DiscardPadding: the track is trimmed by
        // its OpusHead and the segment duration.
        let matroska = matches!(container, Container::Mkv | Container::Webm);
        let matroska_duration = container_duration.filter(|_| matroska);
        let mut audio = Vec::new();
        let mut tracks = Vec::new();
        for (index, t) in reader.tracks().iter().enumerate() {
            let mp4t = mp4.as_ref().and_then(|m| m.tracks.get(&t.id));
            let language = t
                .language
                .clone()
                .filter(|l| !l.is_empty() && l != "und")
                .or_else(|| mp4t.and_then(|m| m.language.clone()))
                // Ogg's tags are the stream's own comment header, its LANGUAGE the stream's.
                .or_else(|| tags.language.clone().filter(|_| container == Container::Ogg));
            let duration = t
                .time_base
                .zip(t.duration)
                .and_then(|(tb, d)| tb.calc_duration(d))
                .map(|d| d.as_secs_f64())
                .filter(|&d| d > 0.0)
                .or_else(|| {
                    let m = mp4t?;
                    (m.fragment_duration > 0 && m.media_timescale > 0)
                        .then(|| m.fragment_duration as f64 / f64::from(m.media_timescale))
                });
            let default = t.flags.contains(TrackFlags::DEFAULT) || mp4t.is_some_and(|m| m.enabled);
            let mut info = TrackInfo {
                index,
                audio_index: None,
                kind: TrackKind::Unknown,
                codec: "unknown".into(),
                profile: None,
                channels: None,
                sample_rate: None,
                bits_per_sample: None,
                bitrate: None,
                duration,
                language,
                default,
            };
            match &t.codec_params {
                Some(CodecParameters::Audio(p)) => {
                    info.kind = TrackKind::Audio;
                    info.audio_index = Some(audio.len());
                    let track = audio_track(
                        info.clone(),
                        t.id,
                        p,
                        t.time_base.map(|tb| (tb.numer.get(), tb.denom.get())),
                        mp4.as_ref(),
                        matroska_duration,
                    )?;
                    info = track.info.clone();
                    audio.push(track);
                }
                Some(CodecParameters::Video(v)) => {
                    info.kind = TrackKind::Video;
                    info.codec = video_codec_name(v.codec);
                }
                Some(CodecParameters::Subtitle(s)) => {
                    info.kind = TrackKind::Subtitle;
                    info.codec = s.codec.to_string();
                }
                _ => {}
            }
            tracks.push(info);
        }
        let duration = tracks
            .iter()
            .filter_map(|t| t.duration)
            .chain(container_duration)
            .filter(|&d| d > 0.0)
            .fold(None, |m: Option<f64>, d| Some(m.map_or(d, |m| m.max(d))));
        // The handler types said which tracks are audio; should symphonia find audio elsewhere,
        // read everything.
        let handler = |id| mp4.as_ref().and_then(|m| m.tracks.get(&id)).map(|t| &t.handler);
        if unread.is_some() && wanted == Wanted::Audio && audio.iter().any(|a| handler(a.id) != Some(b"soun")) {
            return Demuxer::open(source, Wanted::All);
        }
        let info = MediaInfo { container, size: len, duration, tracks, tags };
        Ok(Demuxer { reader, info, audio, unread })
    }

    /// Reads packets of the first seconds to fill in bitrates the container does not state.
    pub fn measure_bitrates(&mut self) -> Result<()> {
        let mut bytes = vec![0u64; self.audio.len()];
        let mut first_last = vec![None::<(i64, i64)>; self.audio.len()];
        let mut count = vec![0usize; self.audio.len()];
        let mut read = 0u64;
        while count.iter().any(|&c| c < BITRATE_PROBE_PACKETS) && read < BITRATE_PROBE_BYTES {
            // A damaged input is still described; the extraction reports the damage.
            let Ok(Some(p)) = self.next_packet() else {
                break;
            };
            read += p.data.len() as u64;
            self.fill_from_first_packet(&p);
            if let Some(i) = self.audio.iter().position(|a| a.id == p.track_id) {
                bytes[i] += p.data.len() as u64;
                count[i] += 1;
                let fl = first_last[i].get_or_insert((p.pts, p.pts));
                fl.1 = p.pts;
            }
        }
        for (i, a) in self.audio.iter_mut().enumerate() {
            if a.info.bitrate.is_some() || count[i] < 3 {
                continue;
            }
            // Span from first to last packet start covers count-1 packets.
            if let Some(((f, l), secs)) = first_last[i].and_then(|(f, l)| Some(((f, l), a.seconds(l - f)?))) {
                if secs > 0.0 && l > f {
                    let per_packet = bytes[i] as f64 / count[i] as f64;
                    let bps = per_packet * (count[i] - 1) as f64 * 8.0 / secs;
                    a.info.bitrate = Some(bps.round() as u32);
                }
            }
            self.info.tracks[a.info.index].bitrate = a.info.bitrate;
        }
        Ok(())
    }

    /// Fills in what some containers leave to the first frame (MP3 in MP4 has no channel count).
    fn fill_from_first_packet(&mut self, p: &Packet) {
        for a in self.audio.iter_mut().filter(|a| a.id == p.track_id && a.channels == 0) {
            if matches!(a.codec, AudioCodec::Mp3 | AudioCodec::Mp2) && p.data.len() >= 4 && p.data[0] == 0xFF {
                a.channels = if p.data[3] >> 6 == 3 { 1 } else { 2 };
                a.info.channels = Some(a.channels);
                self.info.tracks[a.info.index].channels = Some(a.channels);
            }
        }
    }

    /// The next packet of any track; `None` at the end.
    pub fn next_packet(&mut self) -> Result<Option<Packet>> {
        match self.reader.next_packet() {
            Ok(Some(p)) => {
                if p.data.len() > MAX_PACKET_BYTES {
                    return Err(Error::extraction_failed("the input has an impossibly large packet")
                        .with_details(format!("{} bytes", p.data.len())));
                }
                Ok(Some(Packet {
                    track_id: p.track_id,
                    pts: p.pts.get(),
                    trim_start: u32::try_from(p.trim_start.get()).unwrap_or(u32::MAX),
                    trim_end: u32::try_from(p.trim_end.get()).unwrap_or(u32::MAX),
                    data: p.data,
                }))
            }
            Ok(None) => Ok(None),
            // Readers return `None` at a clean end, so any error, end-of-file included, means
            // the input breaks off or is damaged part-way.
            Err(e) => Err(Error::extraction_failed("the input breaks off or is damaged part-way through")
                .with_details(e.to_string())),
        }
    }
}

fn poisoned() -> Error {
    Error::extraction_failed("the input is no longer readable")
}

fn read_error(e: io::Error) -> Error {
    Error::extraction_failed("the input could not be read").with_details(e.to_string())
}

fn container_of(short_name: &str, head: Sniffed) -> Result<Container> {
    Ok(match (short_name, head) {
        ("isomp4", Sniffed::IsoBrand(b)) if &b == b"qt  " => Container::Mov,
        ("isomp4", Sniffed::IsoBrand(b)) if &b == b"M4A " || &b == b"M4B " => Container::M4a,
        ("isomp4", _) => Container::Mp4,
        ("matroska" | "mkv", Sniffed::Webm) => Container::Webm,
        ("matroska" | "mkv", _) => Container::Mkv,
        ("ogg", _) => Container::Ogg,
        ("wave" | "wav" | "riff", _) => Container::Wav,
        ("flac", _) => Container::Flac,
        ("mp3" | "mp2" | "mp1", _) => Container::Mp3,
        ("aac", _) => Container::Adts,
        (other, _) => {
            return Err(Error::invalid_video(format!("{other} files are not supported")));
        }
    })
}

fn read_tags(reader: &mut dyn FormatReader) -> Tags {
    let mut tags = Tags::default();
    let mut meta = reader.metadata();
    let Some(rev) = meta.skip_to_latest() else {
        return tags;
    };
    // ffmpeg writes the comment as DESCRIPTION in Vorbis comments and as a TXXX "comment"
    // frame in ID3v2: taken when there is no comment proper.
    let mut description = None;
    for tag in &rev.media.tags {
        let raw = &tag.raw;
        let txxx_comment = raw.key == "TXXX"
            && raw.sub_fields.iter().flatten().any(|f| f.value.to_string().eq_ignore_ascii_case("comment"));
        if tag.std.is_none() && txxx_comment {
            description.get_or_insert_with(|| raw.value.to_string());
        }
        let slot = match &tag.std {
            Some(StandardTag::TrackTitle(v)) => Some((&mut tags.title, v)),
            Some(StandardTag::Artist(v)) => Some((&mut tags.artist, v)),
            Some(StandardTag::Album(v)) => Some((&mut tags.album, v)),
            Some(StandardTag::RecordingDate(v) | StandardTag::ReleaseDate(v)) => Some((&mut tags.date, v)),
            Some(StandardTag::Comment(v)) => Some((&mut tags.comment, v)),
            Some(StandardTag::Description(v)) => Some((&mut description, v)),
            Some(StandardTag::Language(v)) => Some((&mut tags.language, v)),
            _ => None,
        };
        if let Some((slot, v)) = slot {
            slot.get_or_insert_with(|| v.to_string());
        }
    }
    tags.comment = tags.comment.or(description);
    tags
}

fn codec_of(id: AudioCodecId) -> (AudioCodec, Option<&'static str>) {
    let pcm = |name| (AudioCodec::Pcm, Some(name));
    match id {
        ids::CODEC_ID_AAC => (AudioCodec::Aac, None),
        ids::CODEC_ID_MP3 => (AudioCodec::Mp3, None),
        ids::CODEC_ID_MP1 | ids::CODEC_ID_MP2 => (AudioCodec::Mp2, None),
        ids::CODEC_ID_OPUS => (AudioCodec::Opus, None),
        ids::CODEC_ID_VORBIS => (AudioCodec::Vorbis, None),
        ids::CODEC_ID_FLAC => (AudioCodec::Flac, None),
        ids::CODEC_ID_ALAC => (AudioCodec::Alac, None),
        ids::CODEC_ID_AC3 => (AudioCodec::Ac3, None),
        ids::CODEC_ID_EAC3 => (AudioCodec::Eac3, None),
        ids::CODEC_ID_PCM_U8 => pcm("u8"),
        ids::CODEC_ID_PCM_S16LE => pcm("s16le"),
        ids::CODEC_ID_PCM_S24LE => pcm("s24le"),
        ids::CODEC_ID_PCM_S32LE => pcm("s32le"),
        ids::CODEC_ID_PCM_F32LE => pcm("f32le"),
        ids::CODEC_ID_PCM_S16BE => pcm("s16be"),
        ids::CODEC_ID_PCM_S24BE => pcm("s24be"),
        ids::CODEC_ID_PCM_S32BE => pcm("s32be"),
        ids::CODEC_ID_PCM_F32BE => pcm("f32be"),
        ids::CODEC_ID_PCM_F64LE | ids::CODEC_ID_PCM_F64BE => pcm("f64"),
        ids::CODEC_ID_PCM_S8 => pcm("s8"),
        ids::CODEC_ID_PCM_ALAW => pcm("alaw"),
        ids::CODEC_ID_PCM_MULAW => pcm("mulaw"),
        id if (ids::CODEC_ID_PCM_S32LE..=ids::CODEC_ID_PCM_MULAW).contains(&id) => pcm("pcm"),
        id if (ids::CODEC_ID_ADPCM_G722..ids::CODEC_ID_VORBIS).contains(&id) => (AudioCodec::Adpcm, None),
        _ => (AudioCodec::Other, None),
    }
}

/// Names of the video codecs worth naming in a probe.
fn video_codec_name(id: VideoCodecId) -> String {
    use symphonia::core::codecs::video::well_known as v;
    let known = [
        (v::CODEC_ID_H264, "h264"),
        (v::CODEC_ID_HEVC, "hevc"),
        (v::CODEC_ID_VP8, "vp8"),
        (v::CODEC_ID_VP9, "vp9"),
        (v::CODEC_ID_AV1, "av1"),
        (v::CODEC_ID_MPEG4, "mpeg4"),
        (v::CODEC_ID_MPEG2, "mpeg2video"),
        (v::CODEC_ID_MPEG1, "mpeg1video"),
        (v::CODEC_ID_THEORA, "theora"),
        (v::CODEC_ID_MJPEG, "mjpeg"),
        (v::CODEC_ID_VVC, "vvc"),
    ];
    known.iter().find(|(k, _)| *k == id).map_or_else(|| format!("video {id}"), |(_, n)| n.to_string())
}

fn audio_track(
    mut info: TrackInfo,
    id: u32,
    p: &AudioCodecParameters,
    time_base: Option<(u32, u32)>,
    mp4: Option<&Mp4Tracks>,
    matroska_duration: Option<f64>,
) -> Result<AudioTrack> {
    let (codec, pcm_name) = codec_of(p.codec);
    let sample_rate = p.sample_rate.unwrap_or(0);
    let channels = p.channels.as_ref().map_or(0, |c| c.count() as u32);
    let mut extra_data = p.extra_data.as_deref().unwrap_or_default().to_vec();
    if extra_data.len() > MAX_CODEC_HEADER_BYTES {
        return Err(Error::invalid_video("the audio track's codec header is too large"));
    }
    let mut params = p.clone();
    if codec == AudioCodec::Opus {
        if let Some(head) = opus::head_from_mp4_dops(&extra_data) {
            params.extra_data = Some(head.clone().into_boxed_slice());
            extra_data = head;
        }
    }
    info.codec = codec.as_str().to_string();
    if codec == AudioCodec::Other {
        info.codec = format!("audio {}", p.codec);
    }
    info.profile = pcm_name.map(str::to_string).or_else(|| aac_profile(codec, &extra_data));
    info.channels = (channels > 0).then_some(channels);
    info.sample_rate = (sample_rate > 0).then_some(sample_rate);
    let bits_per_sample =
        p.bits_per_sample.or_else(|| (codec == AudioCodec::Alac).then(|| alac_bit_depth(&extra_data)).flatten());
    info.bits_per_sample =
        bits_per_sample.filter(|_| matches!(codec, AudioCodec::Pcm | AudioCodec::Flac | AudioCodec::Alac));
    if codec == AudioCodec::Pcm {
        // Header fields: their product may not fit (then the bitrate is left unknown).
        info.bitrate = p.bits_per_sample.and_then(|b| b.checked_mul(channels)?.checked_mul(sample_rate));
    }

    // What to cut from the decoded audio so its length is what the container presents.
    // MP4 with an edit list; Opus by its pre-skip (and Matroska's segment duration for the end,
    // since `DiscardPadding` is not passed on); Ogg's padding is per packet (see `Packet`).
    let (mut trim_start, mut keep_frames) = (0, None);
    if let Some((t, movie_ts)) = mp4.and_then(|m| m.tracks.get(&id).map(|t| (t, m.movie_timescale))) {
        if let (Some(media_time), true) = (t.edit_media_time, t.media_timescale > 0 && sample_rate > 0) {
            trim_start = media_time * u64::from(sample_rate) / u64::from(t.media_timescale);
            keep_frames = t
                .edit_duration
                .filter(|&d| d > 0 && movie_ts > 0)
                .map(|d| d * u64::from(sample_rate) / u64::from(movie_ts));
        }
    } else if codec == AudioCodec::Opus {
        trim_start = opus::pre_skip(&extra_data).map_or(0, u64::from);
        keep_frames = matroska_duration.map(|d| (d * f64::from(sample_rate)).round() as u64);
    }
    if let Some(k) = keep_frames {
        info.duration = Some(k as f64 / f64::from(sample_rate.max(1)));
    }
    Ok(AudioTrack {
        info,
        id,
        codec,
        sample_rate,
        channels,
        bits_per_sample,
        extra_data,
        time_base,
        trim_start,
        keep_frames,
        params,
    })
}

/// Bit depth from an ALAC magic cookie (ALACSpecificConfig: frame length u32, compatible
/// version u8, bit depth u8, …), possibly still wrapped in its 12-byte `alac` box header.
fn alac_bit_depth(cookie: &[u8]) -> Option<u32> {
    let config = match cookie.get(4..8) {
        Some(b"alac") => cookie.get(12..)?,
        _ => cookie,
    };
    config.get(5).map(|&b| u32::from(b)).filter(|b| (8..=32).contains(b))
}

fn aac_profile(codec: AudioCodec, asc: &[u8]) -> Option<String> {
    if codec != AudioCodec::Aac {
        return None;
    }
    let object_type = asc.first()? >> 3;
    Some(
        match object_type {
            1 => "main",
            2 => "lc",
            3 => "ssr",
            4 => "ltp",
            5 => "he",
            29 => "he-v2",
            _ => "other",
        }
        .to_string(),
    )
}

/// Presents a [`SharedSource`] as symphonia's `Read + Seek` media source, with zeros for what
/// is left unread.
struct SourceReader {
    src: SharedSource,
    pos: u64,
    len: u64,
    unread: Option<Arc<Unread>>,
    /// With `unread`: bytes read between two unread ranges, from `kept_at`. symphonia hands out
    /// packets in time order, so it goes back and forth between an audio chunk and the video
    /// around it; each stretch is read once, whole (up to `MAX_SPAN_READ_BYTES`).
    kept: Vec<u8>,
    kept_at: u64,
}

impl SourceReader {
    fn new(src: SharedSource, len: u64, unread: Option<Arc<Unread>>) -> SourceReader {
        SourceReader { src, pos: 0, len, unread, kept: Vec::new(), kept_at: 0 }
    }

    fn lock(&self) -> io::Result<std::sync::MutexGuard<'_, Box<dyn ByteSource>>> {
        self.src.lock().map_err(|_| io::Error::other("input lock poisoned"))
    }
}

impl Read for SourceReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let next = match self.unread.as_ref().map(|u| u.span(self.pos)) {
            None => {
                let n = self.lock()?.read_at(self.pos, buf)?;
                self.pos += n as u64;
                return Ok(n);
            }
            Some(Span::Unread(end)) => {
                // In u64 first: the range may be longer than a usize holds on wasm32.
                let n = (end - self.pos).min(buf.len() as u64) as usize;
                buf[..n].fill(0);
                self.pos += n as u64;
                return Ok(n);
            }
            Some(Span::Read(next)) => next,
        };
        let kept_end = self.kept_at + self.kept.len() as u64;
        if !(self.kept_at..kept_end).contains(&self.pos) {
            let want = (next.min(self.len).saturating_sub(self.pos)).min(MAX_SPAN_READ_BYTES as u64) as usize;
            let mut kept = std::mem::take(&mut self.kept);
            kept.clear();
            kept.resize(want, 0);
            let n = read_full(&mut **self.lock()?, self.pos, &mut kept)?;
            kept.truncate(n);
            self.kept = kept;
            self.kept_at = self.pos;
        }
        let at = (self.pos - self.kept_at) as usize;
        let n = (self.kept.len() - at).min(buf.len());
        buf[..n].copy_from_slice(&self.kept[at..at + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for SourceReader {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let target = match pos {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = target.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))?;
        Ok(self.pos)
    }
}

impl MediaSource for SourceReader {
    fn is_seekable(&self) -> bool {
        true
    }

    fn byte_len(&self) -> Option<u64> {
        Some(self.len)
    }
}
