//! Thin browser drivers: each turns one browser API into plain inputs for the sans-IO cores and
//! releases every listener, timer and request it holds when dropped (RAII, no `Closure::forget`).

pub mod page;
pub mod storage;
pub mod websocket;

/// Wall-clock milliseconds (`Date.now()`): keeps counting while a page sleeps or is frozen,
/// which is what staleness checks need.
pub fn now() -> f64 {
    js_sys::Date::now()
}

/// A seed for the backoff jitter from the host's `Math.random()`.
pub fn random_seed() -> u64 {
    let hi = (js_sys::Math::random() * 4_294_967_296.0) as u64;
    let lo = (js_sys::Math::random() * 4_294_967_296.0) as u64;
    (hi << 32) | lo
}
pub mod eventsource;
pub mod fetch_stream;
