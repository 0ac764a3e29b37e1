//! What probing and extracting read of their input. Probing estimates bitrates from a bounded
//! number of bytes. Extracting from MP4 reads the index and the extracted track's samples,
//! never the video's. symphonia hands out the packets of every track; the engine answers the
//! reads of other tracks' samples with zeros instead of asking the source for them. ffprobe's
//! packet positions are the oracle.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use converso_core::limits::{BITRATE_PROBE_BYTES, SNIFF_BYTES};
use converso_core::{probe, ByteSource, ExtractOptions, Extraction, Mode, OutputFormat, VecSink};
use converso_test_support as ts;

/// A file read at offsets, never held in memory.
struct FileSource {
    file: File,
    len: u64,
}

impl FileSource {
    fn open(path: &Path) -> FileSource {
        let file = File::open(path).unwrap();
        let len = file.metadata().unwrap().len();
        FileSource { file, len }
    }
}

impl ByteSource for FileSource {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        self.file.read_at(buf, offset)
    }
}

/// Notes every range read through it, and what it was last told stays unread.
struct Recorder {
    inner: FileSource,
    reads: Arc<Mutex<Vec<(u64, u64)>>>,
    told: Arc<Mutex<Vec<(u64, u64)>>>,
}

impl ByteSource for Recorder {
    fn len(&self) -> u64 {
        self.inner.len()
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read_at(offset, buf)?;
        self.reads.lock().unwrap().push((offset, offset + n as u64));
        Ok(n)
    }

    fn unread(&mut self, ranges: &[(u64, u64)]) {
        *self.told.lock().unwrap() = ranges.to_vec();
    }
}

/// What an extraction read.
struct Reads {
    ranges: Vec<(u64, u64)>,
    output: Vec<u8>,
    unread: Vec<(u64, u64)>,
}

impl Reads {
    fn total(&self) -> u64 {
        self.ranges.iter().map(|r| r.1 - r.0).sum()
    }
}

fn extract(path: &Path, options: &ExtractOptions) -> (Reads, Mode) {
    let (reads, told) = (Arc::new(Mutex::new(Vec::new())), Arc::new(Mutex::new(Vec::new())));
    let source = Recorder { inner: FileSource::open(path), reads: reads.clone(), told: told.clone() };
    let mut ex = Extraction::new(source, options, VecSink::default()).unwrap();
    let mode = ex.plan().mode.clone();
    ex.run(|_| {}).unwrap();
    let unread = ex.unread_input().to_vec();
    assert!(!unread.is_empty(), "{}: nothing left unread", path.display());
    assert_eq!(*told.lock().unwrap(), unread, "{}: the source was told otherwise", path.display());
    let output = ex.into_sink().bytes;
    let ranges = std::mem::take(&mut *reads.lock().unwrap());
    (Reads { ranges, output, unread }, mode)
}

/// One packet as ffprobe places it.
struct Packet {
    stream: usize,
    pos: u64,
    size: u64,
}

/// The packets of a file in file order, and whether each stream is audio.
fn packets(path: &Path) -> (Vec<Packet>, Vec<bool>) {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "packet=stream_index,pos,size:stream=index,codec_type", "-of", "json"])
        .arg(path)
        .output()
        .expect("ffprobe is needed");
    assert!(out.status.success(), "ffprobe failed on {}", path.display());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let num = |x: &serde_json::Value| x.as_str().and_then(|s| s.parse().ok()).or_else(|| x.as_u64()).unwrap();
    let audio = v["streams"].as_array().unwrap().iter().map(|s| s["codec_type"] == "audio").collect();
    let mut packets: Vec<Packet> = v["packets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| Packet { stream: num(&p["stream_index"]) as usize, pos: num(&p["pos"]), size: num(&p["size"]) })
        .collect();
    packets.sort_by_key(|p| p.pos);
    (packets, audio)
}

/// Sorted, joined ranges.
fn merged(mut v: Vec<(u64, u64)>) -> Vec<(u64, u64)> {
    v.sort_unstable();
    let mut out: Vec<(u64, u64)> = Vec::new();
    for (s, e) in v {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

/// Bytes of `a` inside `b` (both merged).
fn overlap(a: &[(u64, u64)], b: &[(u64, u64)]) -> u64 {
    let (mut i, mut j, mut total) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        let (lo, hi) = (a[i].0.max(b[j].0), a[i].1.min(b[j].1));
        total += hi.saturating_sub(lo);
        if a[i].1 <= b[j].1 {
            i += 1;
        } else {
            j += 1;
        }
    }
    total
}

/// Bytes of the file outside `mdat` payloads: the index (`moov`, `moof`s) and small boxes.
fn index_bytes(path: &Path) -> u64 {
    let mut f = FileSource::open(path);
    let (len, mut at, mut mdat) = (f.len(), 0u64, 0u64);
    while at + 8 <= len {
        let mut h = [0u8; 16];
        f.read_at(at, &mut h).unwrap();
        let (mut size, mut head) = (u64::from(u32::from_be_bytes(h[..4].try_into().unwrap())), 8);
        if size == 1 {
            (size, head) = (u64::from_be_bytes(h[8..].try_into().unwrap()), 16);
        } else if size == 0 {
            size = len - at;
        }
        if &h[4..8] == b"mdat" {
            mdat += size - head;
        }
        at += size.max(8);
    }
    len - mdat
}

/// Checks one extraction: no byte of another track's samples read (beyond the container
/// sniffer's first bytes), every byte of the extracted track's read, and no more read in all
/// than its samples, what the probe reads of each audio track (its first packets, for
/// bitrates), the index a few times over (probe and run each read it, and follow its tables)
/// and a little slack.
fn check(path: &Path, track: usize, options: &ExtractOptions) -> (Reads, Mode) {
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    let (reads, mode) = extract(path, options);
    let (packets, audio) = packets(path);
    let audio_streams: Vec<usize> = (0..audio.len()).filter(|&i| audio[i]).collect();
    let stream = audio_streams[track];
    // The probe reads packets until every audio track has had 200 (for bitrates).
    let probe_end = audio_streams
        .iter()
        .filter_map(|&s| packets.iter().filter(|p| p.stream == s).take(200).last().map(|p| p.pos + p.size))
        .max()
        .unwrap();
    let ranges_of = |keep: &dyn Fn(&Packet) -> bool| {
        merged(packets.iter().filter(|p| keep(p)).map(|p| (p.pos, p.pos + p.size)).collect())
    };
    let extracted = ranges_of(&|p| p.stream == stream);
    let video = ranges_of(&|p| !audio[p.stream]);
    let read = merged(reads.ranges.clone());
    let past_sniff = merged(read.iter().map(|&(s, e)| (s.max(SNIFF_BYTES as u64), e)).filter(|r| r.0 < r.1).collect());
    let video_read = overlap(&past_sniff, &video);
    assert_eq!(video_read, 0, "{name}: {video_read} bytes of video samples read");
    // Other audio tracks: what the probe reads, to the end of the stretch of audio it is in.
    let other_audio = ranges_of(&|p| p.stream != stream && audio[p.stream] && p.pos >= probe_end);
    let other_read = overlap(&read, &other_audio);
    assert!(other_read <= 65536, "{name}: {other_read} bytes of other audio tracks' samples read");
    let wanted: u64 = extracted.iter().map(|r| r.1 - r.0).sum();
    assert_eq!(overlap(&read, &extracted), wanted, "{name}: the extracted track's samples were not all read");
    assert_eq!(overlap(&merged(reads.unread.clone()), &extracted), 0, "{name}: extracted samples left unread");

    let probed: u64 = packets.iter().filter(|p| audio[p.stream] && p.pos < probe_end).map(|p| p.size).sum();
    let index = index_bytes(path);
    let allowed = (1.2 * (wanted + probed + 3 * index) as f64) as u64 + 4 * 65536;
    println!(
        "{name} → {:?}: read {} bytes in {} reads (samples {wanted}, probe {probed}, index {index}, file {})",
        options.format,
        reads.total(),
        reads.ranges.len(),
        std::fs::metadata(path).unwrap().len()
    );
    assert!(reads.total() <= allowed, "{name}: read {} bytes, more than {allowed}", reads.total());
    (reads, mode)
}

/// ffmpeg's ADTS copy of an audio stream (the engine's AAC copy is the same, byte for byte).
fn ffmpeg_adts(path: &Path, track: usize) -> Vec<u8> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-nostdin", "-i"])
        .arg(path)
        .args(["-map", &format!("0:a:{track}"), "-c", "copy", "-f", "adts", "-"])
        .output()
        .expect("ffmpeg is needed");
    assert!(out.status.success(), "ffmpeg failed on {}", path.display());
    out.stdout
}

#[test]
fn mp4_extractions_read_the_audio_track_only() {
    let fixtures = [
        ("mp4_faststart_h264_aac.mp4", 0),
        ("mp4_h264_aac_stereo44k.mp4", 0),
        ("mov_h264_aac.mov", 0),
        ("mp4_frag_h264_aac.mp4", 0),
        ("mp4_h264_aac_2tracks.mp4", 1),
        ("mp4_h264_aac_5.1_48k.mp4", 0),
        ("mov_h264_pcm_s16le.mov", 0),
        ("mp4_h264_alac.mp4", 0),
        ("mp4_h264_opus.mp4", 0),
        ("mp4_h264_mp3.mp4", 0),
        ("long_mp4_h264_aac_stereo44k_10min.mp4", 0),
    ];
    for (file, track) in fixtures {
        let path = ts::fixtures_dir().join(file);
        let aac = file.contains("_aac");
        let copy_format = match () {
            _ if aac => OutputFormat::Aac,
            _ if file.contains("pcm") => OutputFormat::Wav,
            _ if file.contains("alac") => OutputFormat::Flac,
            _ if file.contains("opus") => OutputFormat::Opus,
            _ => OutputFormat::Mp3,
        };
        let mut copy = ExtractOptions::new(copy_format);
        copy.track = Some(track);
        let (reads, mode) = check(&path, track, &copy);
        if aac {
            assert_eq!(mode, Mode::Copy, "{file}");
            assert!(reads.output == ffmpeg_adts(&path, track), "{file}: the copy differs from ffmpeg's");
        }
        if file.contains("5.1") {
            // Copied, not decodable.
            continue;
        }
        // A transcode (WAV is a copy from PCM: then MP3).
        let format = if file.contains("pcm") { OutputFormat::Mp3 } else { OutputFormat::Wav };
        let mut transcode = ExtractOptions::new(format);
        transcode.track = Some(track);
        let (_, mode) = check(&path, track, &transcode);
        assert!(matches!(mode, Mode::Transcode { .. }), "{file} → {format:?}: {mode:?}");
    }
}

/// A temporary folder, deleted when dropped.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs ffmpeg with `args`, split at spaces.
fn ffmpeg(args: &str) {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-nostdin", "-y"])
        .args(args.split_whitespace())
        .output()
        .expect("ffmpeg is needed");
    assert!(out.status.success(), "ffmpeg {args}: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn a_large_video_track_stays_unread() {
    let dir = TempDir(std::env::temp_dir().join(format!("converso-reads-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0).unwrap();
    let (seg, big) = (dir.0.join("seg.mp4"), dir.0.join("big.mp4"));
    let (seg_name, big_name) = (seg.to_str().unwrap(), big.to_str().unwrap());
    // Ten seconds of noise at the highest MPEG-4 quality (about 90 MB) with 128 kb/s stereo
    // AAC, looped by copy to 500 MB.
    ffmpeg(&format!(
        "-f lavfi -i color=c=gray:s=640x360:r=25,noise=alls=100:allf=t -f lavfi -i sine=f=440:sample_rate=44100 \
         -t 10 -c:v mpeg4 -q:v 1 -c:a aac -b:a 128k -ac 2 {seg_name}"
    ));
    ffmpeg(&format!("-stream_loop -1 -i {seg_name} -c copy -fs 500000000 {big_name}"));
    std::fs::remove_file(&seg).unwrap();
    let size = std::fs::metadata(&big).unwrap().len();
    assert!(size > 400_000_000, "{size} bytes");
    for format in [OutputFormat::Aac, OutputFormat::Wav] {
        let (reads, _) = check(&big, 0, &ExtractOptions::new(format));
        assert!(reads.total() < size / 100, "{format:?}: read {} of {size} bytes", reads.total());
        if format == OutputFormat::Aac {
            assert!(reads.output == ffmpeg_adts(&big, 0), "the copy differs from ffmpeg's");
        }
    }
}

#[test]
fn probing_next_to_high_bitrate_video_reads_a_bounded_amount() {
    let dir = TempDir(std::env::temp_dir().join(format!("converso-probe-reads-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0).unwrap();
    let path = dir.0.join("noise.mkv");
    // Six seconds of noise at the highest MPEG-4 quality (about 9 MB a second) beside 128 kb/s
    // AAC, interleaved: the 200 audio packets the estimate would like lie some 40 MB in.
    ffmpeg(&format!(
        "-f lavfi -i color=c=gray:s=640x360:r=25,noise=alls=100:allf=t -f lavfi -i sine=f=440:sample_rate=44100 \
         -t 6 -c:v mpeg4 -q:v 1 -c:a aac -b:a 128k -ac 2 {}",
        path.to_str().unwrap()
    ));
    let size = std::fs::metadata(&path).unwrap().len();
    assert!(size > 4 * BITRATE_PROBE_BYTES, "{size} bytes");
    let reads = Arc::new(Mutex::new(Vec::new()));
    let source = Recorder { inner: FileSource::open(&path), reads: reads.clone(), told: Arc::default() };
    let info = probe(source).unwrap();
    let read: u64 = reads.lock().unwrap().iter().map(|r| r.1 - r.0).sum();
    // The packets counted, the last one (a video frame of well under 1 MB) and the headers.
    assert!(read < BITRATE_PROBE_BYTES + (2 << 20), "read {read} of {size} bytes");
    let audio = info.tracks.iter().find(|t| t.bitrate.is_some() && t.channels.is_some()).expect("an audio bitrate");
    let kbps = f64::from(audio.bitrate.unwrap()) / 1000.0;
    assert!((100.0..160.0).contains(&kbps), "estimated {kbps} kb/s for 128 kb/s AAC");
}
