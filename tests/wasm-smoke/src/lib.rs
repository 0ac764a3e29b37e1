//! converso-core behind four plain wasm exports, so a test can run the engine in Node without
//! any JavaScript glue: if the module needs imports (`env`, wasm-bindgen), instantiation with an
//! empty import object fails.
//!
//! Protocol: `alloc(len)` returns a buffer for the input; `extract(ptr, len, format)` runs an
//! extraction (format as in the API: 0 mp3, 1 aac, 2 flac, 3 wav, 4 ogg, 5 opus, plus
//! [`NORMALIZE`] for `normalize`) and returns 0 or an error; `output_ptr()`/`output_len()` give
//! the output or the error message.

// Raw exports exchange pointers with the host; that needs unsafe.
#![allow(unsafe_code)]

use std::cell::RefCell;

use converso_core::{ExtractOptions, Extraction, OutputFormat, SliceSource, VecSink};

thread_local! {
    static OUTPUT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Flag added to the format index to ask for `normalize`.
pub const NORMALIZE: u32 = 0x100;

/// Runs one extraction of `input` to the format with index `format & 0xFF` (with `normalize`
/// when [`NORMALIZE`] is set).
pub fn run(input: Vec<u8>, format: u32) -> Result<Vec<u8>, String> {
    let mut options = ExtractOptions::new(*OutputFormat::ALL.get((format & 0xFF) as usize).ok_or("no such format")?);
    options.normalize = format & NORMALIZE != 0;
    let mut ex = Extraction::new(SliceSource::new(input), &options, VecSink::default()).map_err(|e| e.to_string())?;
    ex.run(|_| {}).map_err(|e| e.to_string())?;
    Ok(ex.into_sink().bytes)
}

/// Allocates `len` bytes for the input and leaks them to the host.
#[no_mangle]
pub extern "C" fn alloc(len: usize) -> *mut u8 {
    let mut v = vec![0u8; len];
    let p = v.as_mut_ptr();
    std::mem::forget(v);
    p
}

/// Extracts from the `len` bytes at `ptr` (from [`alloc`], consumed here). Returns 0 on success.
///
/// # Safety
/// `ptr` must come from `alloc(len)` and not be used again.
#[no_mangle]
pub unsafe extern "C" fn extract(ptr: *mut u8, len: usize, format: u32) -> u32 {
    // SAFETY: the host passes back exactly what `alloc(len)` returned.
    let input = unsafe { Vec::from_raw_parts(ptr, len, len) };
    let (code, bytes) = match run(input, format) {
        Ok(out) => (0, out),
        Err(e) => (1, e.into_bytes()),
    };
    OUTPUT.with(|o| *o.borrow_mut() = bytes);
    code
}

/// The last output (or error message).
#[no_mangle]
pub extern "C" fn output_ptr() -> *const u8 {
    OUTPUT.with(|o| o.borrow().as_ptr())
}

/// Length of the last output.
#[no_mangle]
pub extern "C" fn output_len() -> usize {
    OUTPUT.with(|o| o.borrow().len())
}
