//! # converso-vorbis
//!
//! The Vorbis encoder of libvorbis (the aoTuV build, through `aotuv_lancer_vorbis_sys`) behind
//! a small safe API. No pure-Rust Vorbis encoder exists, so this crate is where converso's C code
//! and `unsafe` FFI live; `converso-core` itself forbids `unsafe`.
//!
//! ```text
//! let (mut enc, headers) = Encoder::new(channels, rate, Mode::Quality(0.4))?;
//! enc.write(&interleaved, &order)?;        // any number of whole frames, repeatedly
//! while let Some(p) = enc.packet()? { … }  // the audio packets ready so far
//! enc.end()?;                              // then packet() until None: the last ones
//! ```
//!
//! Packets come with libvorbis's granule positions; the last one carries the end-of-stream flag
//! and a granule position equal to the number of frames written, so a decoder trims the padding
//! of the last block. The stream starts at granule 0 with no encoder delay to remove.
//!
//! On `wasm32-unknown-unknown` the C is compiled by clang against wasi-libc's headers (the
//! repository's `.cargo/config.toml` sets that up), but no C library is linked: Rust's
//! `compiler_builtins` has the string and math functions, and `wasm_libc` defines the rest
//! (`malloc` and friends on Rust's allocator, `qsort`, `exit`), so the module imports nothing.

// FFI into libvorbis is unsafe by nature; every block says why it is sound.
#![allow(unsafe_code)]
#![warn(missing_docs)]

use std::ffi::{c_int, c_long};
use std::fmt;
use std::mem::MaybeUninit;
use std::ptr;

use aotuv_lancer_vorbis_sys as sys;
use ogg_next_sys::ogg_packet;

#[cfg(target_arch = "wasm32")]
mod wasm_libc;

/// How the encoder spends bits.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Mode {
    /// Variable bitrate at a quality from -0.1 to 1.0 (`oggenc -q 4` is 0.4).
    Quality(f32),
    /// Average bitrate (bitrate management on average only), in bits per second for the whole
    /// stream.
    Average(u32),
}

/// A failure reported by libvorbis.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    /// The libvorbis function that failed.
    pub call: &'static str,
    /// Its return value (`OV_E…`).
    pub code: i32,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.code {
            sys::OV_EFAULT => "internal fault",
            sys::OV_EINVAL => "invalid argument",
            sys::OV_EIMPL => "unsupported mode for these channels, rate and quality or bitrate",
            _ => "error",
        };
        write!(f, "{} returned {} ({what})", self.call, self.code)
    }
}

impl std::error::Error for Error {}

/// Maps a libvorbis return value to a `Result`.
fn check(call: &'static str, code: c_int) -> Result<c_int, Error> {
    if code < 0 {
        Err(Error { call, code })
    } else {
        Ok(code)
    }
}

/// The three Vorbis header packets of a stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Headers {
    /// Identification header.
    pub ident: Vec<u8>,
    /// Comment header, as libvorbis writes it (its vendor string, no comments).
    pub comment: Vec<u8>,
    /// Setup header (codebooks, floors, residues, mappings, modes).
    pub setup: Vec<u8>,
}

/// One audio packet, borrowed from the encoder until its next call.
#[derive(Debug)]
pub struct Packet<'a> {
    /// The packet's bytes.
    pub data: &'a [u8],
    /// Granule position at the end of the packet: frames decoded up to it.
    pub granule: i64,
    /// Whether this is the last packet of the stream.
    pub end_of_stream: bool,
}

/// libvorbis's encoder state. The three structures point at each other (`vorbis_dsp_state`
/// at the `vorbis_info`, `vorbis_block` at the `vorbis_dsp_state`), so they live together in one
/// heap allocation that never moves.
struct State {
    info: sys::vorbis_info,
    dsp: sys::vorbis_dsp_state,
    block: sys::vorbis_block,
}

/// How far [`State`] was initialised: what `Drop` must clear.
#[derive(Clone, Copy, PartialEq, PartialOrd)]
enum Stage {
    Info,
    Dsp,
    Block,
}

/// A Vorbis encoder for one stream.
pub struct Encoder {
    state: Box<State>,
    stage: Stage,
    channels: usize,
    /// A block has been analysed and may still have packets to flush.
    flushing: bool,
    ended: bool,
}

// SAFETY: the encoder owns all of libvorbis's state for its stream (no global mutable state in
// libvorbis, no thread-local storage); moving it to another thread moves that state with it.
unsafe impl Send for Encoder {}

/// Sets up `info` (already `vorbis_info_init`ed) for `mode`.
///
/// # Safety
/// `info` must point at a `vorbis_info` initialised with `vorbis_info_init` and not yet set up.
unsafe fn setup(info: *mut sys::vorbis_info, channels: u32, rate: u32, mode: Mode) -> Result<(), Error> {
    let (ch, rate) = (channels as c_long, rate.min(i32::MAX as u32) as c_long);
    // SAFETY: `info` is valid per this function's contract; the arguments are plain values.
    unsafe {
        match mode {
            Mode::Quality(q) => check("vorbis_encode_setup_vbr", sys::vorbis_encode_setup_vbr(info, ch, rate, q))?,
            Mode::Average(bps) => {
                let bps = bps.min(i32::MAX as u32) as c_long;
                check("vorbis_encode_setup_managed", sys::vorbis_encode_setup_managed(info, ch, rate, -1, bps, -1))?
            }
        };
        check("vorbis_encode_setup_init", sys::vorbis_encode_setup_init(info))?;
    }
    Ok(())
}

/// Whether libvorbis has an encoder set-up for `channels` at `rate` in `mode` (cheap: nothing
/// is encoded).
pub fn supports(channels: u32, rate: u32, mode: Mode) -> bool {
    if channels == 0 || rate == 0 {
        return false;
    }
    let mut info = MaybeUninit::<sys::vorbis_info>::uninit();
    // SAFETY: `vorbis_info_init` initialises the structure it is given; `setup` gets it
    // initialised; `vorbis_info_clear` frees what the setup allocated, once.
    unsafe {
        sys::vorbis_info_init(info.as_mut_ptr());
        let ok = setup(info.as_mut_ptr(), channels, rate, mode).is_ok();
        sys::vorbis_info_clear(info.as_mut_ptr());
        ok
    }
}

impl Encoder {
    /// Starts a stream of `channels` (1 to 255) at `rate` Hz, returning the encoder and the
    /// stream's headers.
    ///
    /// Errors: `OV_EIMPL` when libvorbis has no set-up for the combination (e.g. an average
    /// bitrate outside what its tables cover for that rate and channel count), `OV_EINVAL` for
    /// invalid arguments.
    ///
    /// Known libvorbis leak: its 5.1 set-up (6 channels at 40–70 kHz) allocates one residue twice
    /// and loses 2,879 bytes per encoder (upstream xiph/vorbis#91; see `fuzz/lsan.supp`).
    pub fn new(channels: u32, rate: u32, mode: Mode) -> Result<(Encoder, Headers), Error> {
        if channels == 0 || channels > 255 || rate == 0 || rate > i32::MAX as u32 {
            return Err(Error { call: "vorbis_encode_setup", code: sys::OV_EINVAL });
        }
        // SAFETY: all-zero bytes are a valid value of these C structures (integers, floats and
        // null pointers); each is initialised by libvorbis below before it is used.
        let state: Box<State> = Box::new(unsafe { std::mem::zeroed() });
        let mut enc = Encoder { state, stage: Stage::Info, channels: channels as usize, flushing: false, ended: false };
        let s = &mut *enc.state;
        // SAFETY: the pointers are to fields of the boxed state, which stays at its address for
        // the encoder's life. Each init runs once, in libvorbis's order (info, set-up, dsp,
        // block); `stage` records what `Drop` must clear if a later step fails.
        unsafe {
            sys::vorbis_info_init(&mut s.info);
            setup(&mut s.info, channels, rate, mode)?;
            check("vorbis_analysis_init", sys::vorbis_analysis_init(&mut s.dsp, &mut s.info))?;
            enc.stage = Stage::Dsp;
            check("vorbis_block_init", sys::vorbis_block_init(&mut s.dsp, &mut s.block))?;
            enc.stage = Stage::Block;
        }
        let headers = enc.headers()?;
        Ok((enc, headers))
    }

    /// The three headers, copied out of libvorbis.
    fn headers(&mut self) -> Result<Headers, Error> {
        let s = &mut *self.state;
        let mut comment = MaybeUninit::<sys::vorbis_comment>::uninit();
        let mut p = [MaybeUninit::<ogg_packet>::uninit(); 3];
        // SAFETY: `dsp` is initialised for analysis; `comment` is initialised before use and
        // cleared after; on success `vorbis_analysis_headerout` fills the three packets, whose
        // buffers stay valid until the next libvorbis call on `dsp`, and are copied before it.
        unsafe {
            sys::vorbis_comment_init(comment.as_mut_ptr());
            let r = sys::vorbis_analysis_headerout(
                &mut s.dsp,
                comment.as_mut_ptr(),
                p[0].as_mut_ptr(),
                p[1].as_mut_ptr(),
                p[2].as_mut_ptr(),
            );
            sys::vorbis_comment_clear(comment.as_mut_ptr());
            check("vorbis_analysis_headerout", r)?;
            let copy = |p: &MaybeUninit<ogg_packet>| bytes(p.assume_init_ref()).to_vec();
            Ok(Headers { ident: copy(&p[0]), comment: copy(&p[1]), setup: copy(&p[2]) })
        }
    }

    /// Channels of the stream.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Queues `interleaved` samples (whole frames, nominally in [-1, 1]) for encoding;
    /// `order[c]` is the index within a frame of the sample for Vorbis channel `c` (the identity
    /// when the input already is in Vorbis order). Call [`Encoder::packet`] afterwards.
    ///
    /// # Panics
    /// If `order` does not have one valid index per channel, or after [`Encoder::end`].
    pub fn write(&mut self, interleaved: &[f32], order: &[usize]) -> Result<(), Error> {
        let ch = self.channels;
        assert!(order.len() == ch && order.iter().all(|&i| i < ch), "one input index per channel");
        assert!(!self.ended, "write after end");
        // Chunks small enough for a C `int` and libvorbis's buffer growth.
        for chunk in interleaved.chunks(ch * 65_536) {
            let frames = chunk.len() / ch;
            if frames == 0 {
                continue;
            }
            let s = &mut *self.state;
            // SAFETY: `vorbis_analysis_buffer` returns `channels` pointers, each to room for at
            // least `frames` floats, valid until `vorbis_analysis_wrote`; the slices made from
            // them are dropped before that call and do not overlap (one buffer per channel).
            unsafe {
                let bufs = sys::vorbis_analysis_buffer(&mut s.dsp, frames as c_int);
                if bufs.is_null() {
                    return Err(Error { call: "vorbis_analysis_buffer", code: sys::OV_EFAULT });
                }
                for (c, &from) in order.iter().enumerate() {
                    let dst = std::slice::from_raw_parts_mut(*bufs.add(c), frames);
                    for (d, frame) in dst.iter_mut().zip(chunk.chunks_exact(ch)) {
                        *d = frame[from];
                    }
                }
                check("vorbis_analysis_wrote", sys::vorbis_analysis_wrote(&mut s.dsp, frames as c_int))?;
            }
        }
        Ok(())
    }

    /// Marks the end of the input: the packets still to come include the last, partial block.
    pub fn end(&mut self) -> Result<(), Error> {
        if !self.ended {
            self.ended = true;
            // SAFETY: `dsp` is initialised; 0 frames written means end of stream.
            check("vorbis_analysis_wrote", unsafe { sys::vorbis_analysis_wrote(&mut self.state.dsp, 0) })?;
        }
        Ok(())
    }

    /// The next finished packet, or `None` until more input is written (or, after
    /// [`Encoder::end`], when the stream is complete).
    pub fn packet(&mut self) -> Result<Option<Packet<'_>>, Error> {
        let s = &mut *self.state;
        let mut op = MaybeUninit::<ogg_packet>::uninit();
        loop {
            if self.flushing {
                // SAFETY: `dsp` is initialised; on 1 the packet is filled, its buffer valid
                // until the next libvorbis call on this stream, which needs `&mut self`, so the
                // returned borrow cannot outlive it.
                unsafe {
                    if check(
                        "vorbis_bitrate_flushpacket",
                        sys::vorbis_bitrate_flushpacket(&mut s.dsp, op.as_mut_ptr()),
                    )? == 1
                    {
                        let op = op.assume_init_ref();
                        return Ok(Some(Packet {
                            data: bytes(op),
                            granule: op.granulepos,
                            end_of_stream: op.e_o_s != 0,
                        }));
                    }
                }
                self.flushing = false;
            }
            // SAFETY: `dsp` and `block` are initialised and belong together; analysis of a block
            // is followed by handing it to the bitrate manager, as libvorbis requires.
            unsafe {
                if check("vorbis_analysis_blockout", sys::vorbis_analysis_blockout(&mut s.dsp, &mut s.block))? == 0 {
                    return Ok(None);
                }
                check("vorbis_analysis", sys::vorbis_analysis(&mut s.block, ptr::null_mut()))?;
                check("vorbis_bitrate_addblock", sys::vorbis_bitrate_addblock(&mut s.block))?;
            }
            self.flushing = true;
        }
    }
}

/// The bytes of a packet libvorbis filled in.
///
/// # Safety
/// `op` must have been filled by libvorbis, its buffer still valid for the returned lifetime.
unsafe fn bytes<'a>(op: &ogg_packet) -> &'a [u8] {
    let len = usize::try_from(op.bytes).unwrap_or(0);
    if op.packet.is_null() || len == 0 {
        return &[];
    }
    // SAFETY: libvorbis's packet points at `bytes` initialised bytes (this function's contract).
    unsafe { std::slice::from_raw_parts(op.packet, len) }
}

impl Drop for Encoder {
    fn drop(&mut self) {
        let s = &mut *self.state;
        // SAFETY: each structure is cleared once, in reverse order of initialisation, and only
        // if it was initialised (`stage`); `vorbis_info_init` always ran.
        unsafe {
            if self.stage >= Stage::Block {
                sys::vorbis_block_clear(&mut s.block);
            }
            if self.stage >= Stage::Dsp {
                sys::vorbis_dsp_clear(&mut s.dsp);
            }
            sys::vorbis_info_clear(&mut s.info);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Encodes `frames` of a tone per channel with some noise (so an average bitrate has
    /// something to spend its bits on).
    fn encode(channels: u32, rate: u32, mode: Mode, frames: usize) -> (Headers, Vec<(Vec<u8>, i64, bool)>) {
        let (mut enc, headers) = Encoder::new(channels, rate, mode).unwrap();
        let ch = channels as usize;
        let order: Vec<usize> = (0..ch).collect();
        let mut seed = 1u32;
        let mut noise = move || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5
        };
        let tone: Vec<f32> =
            (0..frames * ch).map(|i| 0.4 * ((i / ch) as f32 * 0.05 + (i % ch) as f32).sin() + 0.2 * noise()).collect();
        let mut out = Vec::new();
        for c in tone.chunks(ch * 1000) {
            enc.write(c, &order).unwrap();
            while let Some(p) = enc.packet().unwrap() {
                out.push((p.data.to_vec(), p.granule, p.end_of_stream));
            }
        }
        enc.end().unwrap();
        while let Some(p) = enc.packet().unwrap() {
            out.push((p.data.to_vec(), p.granule, p.end_of_stream));
        }
        (headers, out)
    }

    #[test]
    fn headers_and_granules() {
        for (channels, rate, frames) in [(2, 44_100, 44_100), (1, 8_000, 1234), (6, 48_000, 5000), (2, 48_000, 0)] {
            let (h, packets) = encode(channels, rate, Mode::Quality(0.4), frames);
            assert!(h.ident.starts_with(b"\x01vorbis") && h.ident.len() == 30);
            assert_eq!(h.ident[11], channels as u8);
            assert_eq!(u32::from_le_bytes(h.ident[12..16].try_into().unwrap()), rate);
            assert!(h.comment.starts_with(b"\x03vorbis"));
            assert!(h.setup.starts_with(b"\x05vorbis"));
            let (_, last, eos) = packets.last().unwrap();
            assert!(eos, "{channels} ch {rate} Hz");
            assert_eq!(*last, frames as i64, "{channels} ch {rate} Hz");
            assert_eq!(packets.iter().filter(|p| p.2).count(), 1);
            assert!(packets.windows(2).all(|w| w[0].1 <= w[1].1));
        }
    }

    #[test]
    fn average_bitrate_and_limits() {
        assert!(supports(2, 44_100, Mode::Average(128_000)));
        assert!(!supports(2, 44_100, Mode::Average(2_000_000)));
        assert!(!supports(0, 44_100, Mode::Quality(0.4)));
        let (_, packets) = encode(2, 44_100, Mode::Average(96_000), 44_100 * 4);
        let bytes: usize = packets.iter().map(|p| p.0.len()).sum();
        let kbps = bytes as f64 * 8.0 / 4.0 / 1000.0;
        assert!((80.0..112.0).contains(&kbps), "{kbps} kbps");
        let e = Encoder::new(2, 44_100, Mode::Average(5_000_000)).err().unwrap();
        assert_eq!(e.code, sys::OV_EIMPL);
        assert!(e.to_string().contains("vorbis_encode_setup_managed"), "{e}");
    }

    /// Prints the lowest and highest average bitrate libvorbis accepts per rate and channels.
    #[test]
    #[ignore]
    fn print_bitrate_ranges() {
        for ch in [1u32, 2, 3, 4, 5, 6, 7, 8] {
            for rate in [8000u32, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 7350, 37800, 96000] {
                let ok = |b: u32| supports(ch, rate, Mode::Average(b));
                let accepted: Vec<u32> = (1..=2000).map(|k| k * 1000).filter(|&b| ok(b)).collect();
                let (lo, hi) = (accepted.first().copied().unwrap_or(0), accepted.last().copied().unwrap_or(0));
                let gaps = accepted.windows(2).filter(|w| w[1] - w[0] > 1000).count();
                println!(
                    "{ch} ch {rate:6} Hz: {}k..{}k ({} values, {gaps} gaps)",
                    lo / 1000,
                    hi / 1000,
                    accepted.len()
                );
            }
        }
    }
}
