//! Thin browser drivers: each turns one browser API into plain inputs for the sans-IO cores and
//! releases every listener, timer and request it holds when dropped (RAII, no `Closure::forget`).
//!
//! This module holds what the drivers and engines share: the engines' timer (`Timer`), the
//! wait for a Promise (`on_settled`, `later`), a `Uint8Array`'s bytes (`bytes_of`), the
//! clock, the jitter seed and a thrown value's text, over the few globals bound here (`Date.now`,
//! `Math.random`, `Reflect.get`, `Uint8Array`) instead of js-sys, which the npm build does not
//! link.

#[allow(unused_imports)]
use crate::prelude::*;

pub mod page;
pub mod storage;
pub mod websocket;

use crate::cell::RefCell;
use alloc::rc::Rc;

use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

// The few globals the drivers use, bound here rather than through js-sys (see `rust` in
// Cargo.toml: the npm build links no js-sys).
#[wasm_bindgen]
extern "C" {
    /// A `Uint8Array` (a frame's bytes from `frameBytes`).
    #[wasm_bindgen(js_name = Uint8Array)]
    pub type Bytes;
    #[wasm_bindgen(method, getter)]
    fn length(this: &Bytes) -> u32;
    #[wasm_bindgen(js_namespace = Date, js_name = now)]
    fn date_now() -> f64;
    #[wasm_bindgen(js_namespace = Math, js_name = random)]
    fn math_random() -> f64;
    #[wasm_bindgen(js_namespace = Reflect, js_name = get, catch)]
    fn reflect_get(target: &JsValue, key: &JsValue) -> Result<JsValue, JsValue>;
}

#[wasm_bindgen(module = "/src/js/support.js")]
extern "C" {
    /// (`at`: a pointer, as an `f64`: every argument passes as it is, so the wasm imports the
    /// function itself, with no glue shim)
    #[wasm_bindgen(js_name = copyBytes)]
    fn copy_bytes(src: &Bytes, at: f64);
    #[wasm_bindgen(js_name = setMemory)]
    fn set_memory(memory: JsValue);
    #[wasm_bindgen(js_name = whenSettled)]
    fn when_settled(p: &JsValue, f: &Closure<dyn FnMut(u32, JsValue)>);
    /// (`ms` as an `f64`: no glue shim, as `copy_bytes`)
    #[wasm_bindgen(js_name = timerStart)]
    fn timer_start(ms: f64, f: &Closure<dyn FnMut(u32, JsValue)>) -> JsValue;
    #[wasm_bindgen(js_name = timerStop)]
    fn timer_stop(handle: &JsValue);
}

/// A one-shot timer: the page's `setTimeout` (through `support.js`'s `timerStart`, on the
/// drivers' one closure type), cleared when dropped (`clearTimeout`). Dropping it from inside
/// its own callback is fine.
pub struct Timer {
    handle: JsValue,
    _f: Closure<dyn FnMut(u32, JsValue)>,
}

impl Timer {
    /// Calls `f` once, after `ms` milliseconds; `None` when the page's `setTimeout` threw
    /// (nothing unwinds through the wasm, and the caller can try again later).
    pub fn new(ms: u32, f: impl FnOnce() + 'static) -> Option<Timer> {
        let f: Closure<dyn FnMut(u32, JsValue)> = Closure::once(move |_: u32, _: JsValue| f());
        let handle = timer_start(f64::from(ms), &f);
        (!handle.is_undefined()).then_some(Timer { handle, _f: f })
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        timer_stop(&self.handle);
    }
}

/// Tells `support.js` which wasm memory its copies (`readFrame`, `copyBytes`) write into.
pub fn share_memory() {
    set_memory(wasm_bindgen::memory());
}

/// The bytes of `a`: `Uint8Array::to_vec` without its length assertion (whose message formats
/// integers: the last such panic path in the wasm keeps core's integer formatting).
pub fn bytes_of(a: &Bytes) -> Vec<u8> {
    let mut v = vec![0; a.length() as usize];
    if !v.is_empty() {
        share_memory();
        copy_bytes(a, v.as_mut_ptr() as usize as f64);
    }
    v
}

/// What [`on_settled`] calls: with the value a Promise resolved to, or the reason it rejected
/// with.
pub type Settled = Box<dyn FnOnce(Result<JsValue, JsValue>)>;

/// Calls `f` once `promise` settles (in the microtask the host runs its handlers in). The
/// handler (`whenSettled` in support.js calls it from both of the Promise's reactions) owns
/// itself until then, as `JsFuture`'s do: it drops itself when it runs, so nothing is left once
/// the promise settles (a promise that never settles keeps it, as it would keep a `JsFuture`).
/// The drivers' one way to wait for a Promise: no futures executor in the wasm. `undefined`
/// stands for a resolved Promise (see [`later`]).
pub fn on_settled(promise: &JsValue, f: Settled) {
    // (the closure type of the WebSocket driver: one invoke shim for both)
    type Handler = Closure<dyn FnMut(u32, JsValue)>;
    type Slot = Rc<RefCell<Option<(Settled, Option<Handler>)>>>;
    let slot: Slot = Rc::new(RefCell::new(Some((f, None))));
    let own = slot.clone();
    let handler = Closure::once(move |ok: u32, v: JsValue| {
        let taken = own.borrow_mut().take();
        if let Some((f, me)) = taken {
            drop(me);
            f(if ok != 0 { Ok(v) } else { Err(v) });
        }
    });
    when_settled(promise, &handler);
    let mut pending = slot.borrow_mut();
    if let Some(s) = pending.as_mut() {
        s.1 = Some(handler);
    }
}

/// Calls `f` in a microtask (once the current task, and the microtasks queued before, ran).
pub fn later(f: Box<dyn FnOnce()>) {
    on_settled(&JsValue::UNDEFINED, Box::new(move |_| f()));
}

/// Wall-clock milliseconds (`Date.now()`): keeps counting while a page sleeps or is frozen,
/// which is what staleness checks need.
pub fn now() -> f64 {
    date_now()
}

/// The text of a thrown or rejected value: the value itself when it is a string, else its
/// `message` when that is a string (an `Error`'s, or any object's). `None` for anything else
/// (a number, `null`, an `Error` whose `message` was replaced by an object): never throws.
pub fn error_text(e: &JsValue) -> Option<String> {
    if let Some(s) = e.as_string() {
        return Some(s);
    }
    if !e.is_object() {
        return None;
    }
    reflect_get(e, &JsValue::from_str("message"))
        .ok()
        .and_then(|m| m.as_string())
}

/// A seed for the backoff jitter from the host's `Math.random()`.
pub fn random_seed() -> u64 {
    let hi = (math_random() * 4_294_967_296.0) as u64;
    let lo = (math_random() * 4_294_967_296.0) as u64;
    (hi << 32) | lo
}
#[cfg(feature = "sse")]
pub mod eventsource;
#[cfg(feature = "sse")]
pub mod fetch_stream;
