//! Thin browser drivers: each turns one browser API into plain inputs for the sans-IO cores and
//! releases every listener, timer and request it holds when dropped (RAII, no `Closure::forget`).

pub mod page;
pub mod storage;
pub mod websocket;

use wasm_bindgen::JsValue;

/// Wall-clock milliseconds (`Date.now()`): keeps counting while a page sleeps or is frozen,
/// which is what staleness checks need.
pub fn now() -> f64 {
    js_sys::Date::now()
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
    js_sys::Reflect::get(e, &JsValue::from_str("message"))
        .ok()
        .and_then(|m| m.as_string())
}

/// A seed for the backoff jitter from the host's `Math.random()`.
pub fn random_seed() -> u64 {
    let hi = (js_sys::Math::random() * 4_294_967_296.0) as u64;
    let lo = (js_sys::Math::random() * 4_294_967_296.0) as u64;
    (hi << 32) | lo
}
#[cfg(feature = "sse")]
pub mod eventsource;
#[cfg(feature = "sse")]
pub mod fetch_stream;
