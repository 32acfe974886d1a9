//! The WebSocket driver: opens a browser `WebSocket`, forwards open/text/close to a handler,
//! and removes its handlers (and closes the socket) when dropped.
//!
//! A text frame of up to `SMALL_FRAME` units reaches wasm in one call: `support.js`'s
//! `readFrame` encodes it (`TextEncoder.encodeInto`, or a plain loop for a short ASCII frame)
//! straight into the connection's frame buffer, which is reused (it grows to 3 bytes per unit
//! of the longest such frame, at most 192 KiB). The page keeps that frame (`heldFrame`, the
//! last one read) and it is numbered ([`held_frame`]), so a face can slice channel messages
//! out of its text instead of copying them back out of wasm.
//!
//! Inbound frames are size-checked against `max_payload` (UTF-8 bytes, as on the wire) before
//! they are handed on, and a larger frame is copied exactly once, into a buffer of its exact
//! size (wasm memory never shrinks).

#[allow(unused_imports)]
use crate::prelude::*;

use alloc::borrow::Cow;
use alloc::rc::Rc;
use core::sync::atomic::{AtomicU32, Ordering::Relaxed};

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::proto::codec::utf8_lossy;

/// What the socket reports.
#[derive(Debug)]
pub enum WsEvent<'a> {
    Open,
    /// A text frame (borrowed from the frame buffer, or a large one owned, so that it can be
    /// freed before its events are handled), with its [`held_frame`] number when `support.js`
    /// holds it and it is ASCII (so that its byte offsets are its UTF-16 offsets).
    Text(Cow<'a, str>, Option<u32>),
    /// A frame bigger than `max_payload` (not copied).
    TooBig,
    Close {
        code: u16,
        reason: String,
    },
}

/// One browser WebSocket and its handler (the page's `WebSocket` is driven through
/// `support.js`'s `ws*` functions: a handful of coarse calls instead of one import per
/// property).
pub struct WsConn {
    ws: JsValue,
    _on: Closure<dyn FnMut(u32, JsValue)>,
}

impl WsConn {
    /// Opens `url`. The handler is called for every event until the connection is dropped.
    pub fn open(
        url: &str,
        max_payload: usize,
        handler: Rc<dyn Fn(WsEvent<'_>)>,
    ) -> Result<WsConn, JsValue> {
        crate::web::share_memory();
        let h = handler;
        // The frame buffer: reused for every frame up to SMALL_FRAME units (grown on demand).
        let mut buf: Vec<u8> = Vec::new();
        let units = max_payload.min(SMALL_FRAME as usize) as u32;
        let on = Closure::<dyn FnMut(u32, JsValue)>::new(move |kind: u32, e: JsValue| {
            match kind {
                0 => return h(WsEvent::Open),
                1 => {}
                _ => {
                    return h(WsEvent::Close {
                        code: (kind - 2) as u16,
                        reason: e.as_string().unwrap_or_default(),
                    })
                }
            }
            // The common case in one crossing: a text frame of at most `units` units, copied
            // into `buf` by the page. (UTF-8 may still be longer than `max_payload`: up to 3
            // bytes per unit)
            let mut n = read_frame(&e, units, buf.as_mut_ptr(), buf.len() as u32);
            // (more room: at most 3 bytes a unit; a page's readFrame is not trusted beyond that)
            let need = (-2 - i64::from(n)) as usize;
            if n < -1 && need <= 3 * units as usize {
                // (a fresh zeroed buffer, as `bytes_of` makes one: no `resize` code; the frame
                // is read into it again)
                buf = vec![0; need];
                n = read_frame(&e, units, buf.as_mut_ptr(), buf.len() as u32);
            }
            if let Some(bytes) = usize::try_from(n).ok().and_then(|n| buf.get(..n)) {
                let seq = HELD.load(Relaxed).wrapping_add(1);
                HELD.store(seq, Relaxed);
                // (the page's encoder writes UTF-8; a patched one may not)
                let s = utf8_lossy(bytes);
                let held = matches!(s, Cow::Borrowed(b) if b.is_ascii()).then_some(seq);
                return h(checked(s, max_payload, held));
            }
            // A large text frame, or a binary one (the server decodes binary frames as UTF-8
            // JSON; accept the same inbound), encoded or viewed in the JS heap, its exact size
            // checked, then copied once.
            let b = frame_bytes(&e, max_payload as f64);
            if b.is_null() {
                h(WsEvent::TooBig);
            } else if let Some(b) = b.dyn_ref::<crate::web::Bytes>() {
                h(WsEvent::Text(utf8(crate::web::bytes_of(b)), None));
            }
        });
        let ws = ws_open(url, &on);
        if ws.is_null() {
            return Err(ws);
        }
        Ok(WsConn { ws, _on: on })
    }

    /// Sends a text frame; `false` when the socket is not open or the send failed.
    pub fn send(&self, text: &str) -> bool {
        ws_send(&self.ws, text)
    }

    /// Closes with `code` (only 1000 and 3000–4999 can be sent by a browser; others become 1000)
    /// and a reason cut to 123 bytes.
    pub fn close(&self, code: u16, reason: &str) {
        let code = if code == 1000 || (3000..=4999).contains(&code) {
            code
        } else {
            1000
        };
        let mut end = reason.len().min(123);
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        ws_close(&self.ws, code, reason.get(..end).unwrap_or(""));
    }
}

/// How many frames `readFrame` read; `support.js`'s `heldFrame` is the last of them.
static HELD: AtomicU32 = AtomicU32::new(0);

/// The number of the frame `support.js` holds (see [`WsEvent::Text`]).
pub fn held_frame() -> u32 {
    HELD.load(Relaxed)
}

/// Frames up to this many UTF-16 units go through the connection's frame buffer (room for 3
/// bytes per unit: at most 192 KiB).
const SMALL_FRAME: u32 = 64 * 1024;

// (in the package's `support.js`, which the module imports anyway: an `inline_js` snippet would
// be one more module for a page, and a test runner, to fetch)
#[wasm_bindgen(module = "/src/js/support.js")]
extern "C" {
    /// A `WebSocket` to `url` (binary frames as ArrayBuffers) whose events call `on`: (0) open,
    /// (1, event) a message, (2 + code, reason) closed. `null` when the page's `WebSocket`
    /// threw (it is dropped again if setting it up threw): no `catch` import, whose glue
    /// (`handleError`, the externref table) nothing else needs.
    #[wasm_bindgen(js_name = wsOpen)]
    fn ws_open(url: &str, on: &Closure<dyn FnMut(u32, JsValue)>) -> JsValue;
    /// Sends `text` when the socket is open: whether it was sent (never throws).
    #[wasm_bindgen(js_name = wsSend)]
    fn ws_send(ws: &JsValue, text: &str) -> bool;
    /// `close(code, reason)` (never throws).
    #[wasm_bindgen(js_name = wsClose)]
    fn ws_close(ws: &JsValue, code: u16, reason: &str);
    /// Removes the handlers, and closes the socket unless it is closing or closed (never
    /// throws).
    #[wasm_bindgen(js_name = wsDrop)]
    fn ws_drop(ws: &JsValue);
    /// Copies `e.data`, when it is a string of at most `units` UTF-16 units (kept as
    /// `heldFrame`), as UTF-8 into the `room` bytes at `at`: its byte length; -1 when it is not
    /// such a string; `-2 - need` when it needs `need` bytes of room.
    #[wasm_bindgen(js_name = readFrame)]
    fn read_frame(e: &JsValue, units: u32, at: *mut u8, room: u32) -> i32;
    /// The UTF-8 bytes of `e.data` (a string encoded, an ArrayBuffer viewed) when at most
    /// `max` long; `null` when longer; `undefined` when it is neither.
    #[wasm_bindgen(js_name = frameBytes)]
    fn frame_bytes(e: &JsValue, max: f64) -> JsValue;
}

/// `s` as a text frame, or `TooBig` when its UTF-8 is longer than `max_payload` (a frame read
/// by its UTF-16 length may still be up to 3 bytes per unit).
fn checked(s: Cow<'_, str>, max_payload: usize, held: Option<u32>) -> WsEvent<'_> {
    if s.len() > max_payload {
        WsEvent::TooBig
    } else {
        WsEvent::Text(s, held)
    }
}

/// `v` as text, moved when it is UTF-8 (invalid sequences become U+FFFD).
fn utf8(v: Vec<u8>) -> Cow<'static, str> {
    Cow::Owned(match String::from_utf8(v) {
        Ok(s) => s,
        Err(e) => utf8_lossy(e.as_bytes()).into_owned(),
    })
}

impl Drop for WsConn {
    fn drop(&mut self) {
        ws_drop(&self.ws);
    }
}
