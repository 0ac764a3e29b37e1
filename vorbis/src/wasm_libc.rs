//! The C library functions libvorbis calls that `wasm32-unknown-unknown` lacks. Rust's
//! `compiler_builtins` already provides the `string.h` and `math.h` ones there (`memcpy`,
//! `sin`, `exp`, …); what remains is defined here, so the module imports nothing:
//!
//! - `malloc`, `calloc`, `realloc`, `free` on top of Rust's global allocator (a C allocator
//!   such as wasi-libc's would manage the same linear memory as Rust's without knowing of it);
//! - `qsort` (codebook and floor set-up);
//! - `exit`, which libvorbis calls only on an internal inconsistency: it panics, which aborts.
//!
//! Without these, rustc's wasm linking turns each into an import from `env`, which browsers and
//! Workers cannot satisfy.
//!
//! Each allocated block starts with a 16-byte header holding the size asked for, so `free` and `realloc`
//! can rebuild the layout; the pointer handed to C follows the header, aligned to 16 bytes
//! (what C's `malloc` guarantees, `alignof(max_align_t)`).

use std::alloc::{alloc, alloc_zeroed, dealloc, realloc as grow, Layout};
use std::ffi::{c_int, c_void};

const HEADER: usize = 16;

fn layout(size: usize) -> Option<Layout> {
    Layout::from_size_align(size.checked_add(HEADER)?, HEADER).ok()
}

/// Allocates `size` bytes (zeroed if `zeroed`); null when out of memory.
fn allocate(size: usize, zeroed: bool) -> *mut c_void {
    let Some(layout) = layout(size) else {
        return std::ptr::null_mut();
    };
    // SAFETY: the layout has a non-zero size (the header); the header is written inside the
    // block before the pointer after it is returned.
    unsafe {
        let base = if zeroed { alloc_zeroed(layout) } else { alloc(layout) };
        if base.is_null() {
            return std::ptr::null_mut();
        }
        base.cast::<usize>().write(size);
        base.add(HEADER).cast()
    }
}

/// The block's start and layout, from a pointer this module returned.
///
/// # Safety
/// `p` must be non-null and come from `malloc`, `calloc` or `realloc` below, not yet freed.
unsafe fn block(p: *mut c_void) -> (*mut u8, Layout) {
    // SAFETY: per the contract, the header sits `HEADER` bytes before `p` and holds the size
    // the block was allocated with, for which `layout` succeeded then.
    unsafe {
        let base = p.cast::<u8>().sub(HEADER);
        let size = base.cast::<usize>().read();
        (base, Layout::from_size_align_unchecked(size + HEADER, HEADER))
    }
}

/// C's `malloc`.
#[no_mangle]
pub extern "C" fn malloc(size: usize) -> *mut c_void {
    allocate(size, false)
}

/// C's `calloc`.
#[no_mangle]
pub extern "C" fn calloc(count: usize, size: usize) -> *mut c_void {
    match count.checked_mul(size) {
        Some(total) => allocate(total, true),
        None => std::ptr::null_mut(),
    }
}

/// C's `realloc`.
///
/// # Safety
/// `p` must be null or come from this module's functions, not yet freed.
#[no_mangle]
pub unsafe extern "C" fn realloc(p: *mut c_void, size: usize) -> *mut c_void {
    if p.is_null() {
        return malloc(size);
    }
    let Some(new) = layout(size) else {
        return std::ptr::null_mut();
    };
    // SAFETY: `p` is a live block of this module (contract); `grow` keeps the header and
    // contents (up to the smaller size) and the new size is written into the header.
    unsafe {
        let (base, old) = block(p);
        let moved = grow(base, old, new.size());
        if moved.is_null() {
            return std::ptr::null_mut(); // `p` stays valid, as C requires
        }
        moved.cast::<usize>().write(size);
        moved.add(HEADER).cast()
    }
}

/// C's `free`.
///
/// # Safety
/// `p` must be null or come from this module's functions, not yet freed.
#[no_mangle]
pub unsafe extern "C" fn free(p: *mut c_void) {
    if p.is_null() {
        return;
    }
    // SAFETY: `p` is a live block of this module (contract), freed with its own layout.
    unsafe {
        let (base, layout) = block(p);
        dealloc(base, layout);
    }
}

/// C's `qsort`: sorts `count` elements of `size` bytes at `base` with `compare` (stable).
///
/// # Safety
/// `base` must point at `count * size` initialised, writable bytes, and `compare` must be a
/// valid comparison function for two pointers into them that does not write to them.
#[no_mangle]
pub unsafe extern "C" fn qsort(
    base: *mut c_void,
    count: usize,
    size: usize,
    compare: unsafe extern "C" fn(*const c_void, *const c_void) -> c_int,
) {
    if count < 2 || size == 0 || base.is_null() {
        return;
    }
    let base = base.cast::<u8>();
    let mut order: Vec<usize> = (0..count).collect();
    // SAFETY: both pointers are to elements inside the array (contract), which is only read
    // while sorting: no Rust reference to it exists until the sort is done.
    order.sort_by(|&a, &b| unsafe { compare(base.add(a * size).cast(), base.add(b * size).cast()) }.cmp(&0));
    // SAFETY: the array is `count * size` bytes (contract); nothing else refers to it now.
    let bytes = unsafe { std::slice::from_raw_parts_mut(base, count * size) };
    let sorted: Vec<u8> = order.iter().flat_map(|&i| bytes[i * size..(i + 1) * size].iter().copied()).collect();
    bytes.copy_from_slice(&sorted);
}

/// C's `exit`: libvorbis calls it only on an internal inconsistency (a floor fit it cannot
/// make), which cannot be recovered from here; the panic aborts the module.
#[no_mangle]
pub extern "C" fn exit(status: c_int) -> ! {
    panic!("libvorbis called exit({status})")
}
