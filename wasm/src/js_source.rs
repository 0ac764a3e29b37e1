//! The input as JavaScript hands it over: a length and a read function.
//!
//! The engine needs a `Send + Sync` source, and JavaScript values are neither, so the source
//! holds only an id into a per-thread table of read functions (wasm32 here has one thread).
//! The read function is `(offset: number, length: number) => Uint8Array`: in the browser worker
//! it slices the `File` with `FileReaderSync`, in Node it calls `fs.readSync`, for bytes in
//! memory it returns a subarray, so the input is never copied whole into the module.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::io;

use converso_core::ByteSource;
use js_sys::{Function, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};

thread_local! {
    static READERS: RefCell<HashMap<u32, Function>> = RefCell::new(HashMap::new());
    static NEXT_ID: Cell<u32> = const { Cell::new(0) };
}

/// A [`ByteSource`] reading through a JavaScript function.
pub struct JsSource {
    id: u32,
    len: u64,
}

impl JsSource {
    /// Registers `read` for an input of `len` bytes.
    pub fn new(read: Function, len: u64) -> Self {
        let id = NEXT_ID.with(|n| {
            let id = n.get();
            n.set(id.wrapping_add(1));
            id
        });
        READERS.with(|r| r.borrow_mut().insert(id, read));
        JsSource { id, len }
    }
}

impl Drop for JsSource {
    fn drop(&mut self) {
        READERS.with(|r| r.borrow_mut().remove(&self.id));
    }
}

impl ByteSource for JsSource {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        if offset >= self.len || buf.is_empty() {
            return Ok(0);
        }
        // In u64: on wasm32 a usize cannot hold what remains of an input over 4 GiB.
        let want = (buf.len() as u64).min(self.len - offset) as usize;
        let bytes = READERS.with(|r| {
            let readers = r.borrow();
            let read = readers.get(&self.id).ok_or_else(|| io::Error::other("the input was closed"))?;
            read.call2(&JsValue::NULL, &JsValue::from_f64(offset as f64), &JsValue::from_f64(want as f64))
                .map_err(|e| io::Error::other(describe(&e)))
        })?;
        let bytes = bytes
            .dyn_into::<Uint8Array>()
            .map_err(|_| io::Error::other("the input's read function did not return a Uint8Array"))?;
        let n = (bytes.length() as usize).min(want);
        bytes.subarray(0, n as u32).copy_to(&mut buf[..n]);
        Ok(n)
    }
}

/// A thrown JavaScript value as text (an `Error`'s message, else its string form).
fn describe(e: &JsValue) -> String {
    js_sys::Reflect::get(e, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "the input could not be read".into())
}
