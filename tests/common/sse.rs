//! Helpers shared by the EventStream browser tests (`tests/sse.rs`, `tests/sse_hardening.rs`):
//! the SSE fixture's routes and stats, stream construction, and recorded listener calls.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::Array;
use sockline::js::event_stream::JsEventStream;
use wasm_bindgen::JsValue;

use super::{control, get, js, recorder, sse_url, until_async};

pub const ES: &str = "eventsource";
pub const FETCH: &str = "fetch";
/// Fast, deterministic backoff for tests (no jitter).
pub const FAST: &str = "{initialDelay: 40, multiplier: 2, maxDelay: 2000, jitter: 0}";

/// A fixture key of its own for one test (the fixture keeps per-key state and stats).
pub fn key(name: &str) -> String {
    format!("{name}-{}", (js_sys::Math::random() * 1e12) as u64)
}

/// The SSE fixture's URL for `path`.
pub fn sse(path: &str) -> String {
    format!("{}{path}", sse_url())
}

/// Stream options: `transport`, the fast backoff, and `extra` (JS object members).
pub fn opts(transport: &str, extra: &str) -> String {
    format!("{{transport: '{transport}', autoReconnectOptions: {FAST}, {extra}}}")
}

pub fn open(url: &str, opts: &str) -> JsEventStream {
    JsEventStream::new(url.into(), js(opts)).expect("new EventStream")
}

/// The argument lists a listener was called with.
pub type Calls = Rc<RefCell<Vec<Array>>>;

pub fn listen(es: &JsEventStream, name: &str) -> Calls {
    let (f, calls) = recorder();
    es.on(name.into(), f.into()).expect("on");
    calls
}

pub fn count(c: &Calls) -> usize {
    c.borrow().len()
}

/// The `data` of every recorded event.
pub fn datas(c: &Calls) -> Vec<String> {
    c.borrow()
        .iter()
        .map(|a| get(&a.get(0), "data").as_string().unwrap_or_default())
        .collect()
}

pub async fn stats(key: &str) -> JsValue {
    control(&format!("/sse/stats?key={key}"), None).await
}

pub async fn stat_num(key: &str, field: &str) -> f64 {
    get(&stats(key).await, field).as_f64().unwrap_or(-1.0)
}

/// Waits until the fixture sees no open connection for `key`.
pub async fn fixture_sees_closed(key: &str) -> bool {
    let k = key.to_string();
    // Generous: on a loaded machine the server can hear of an aborted fetch late.
    until_async(10_000, move || {
        let k = k.clone();
        async move { stat_num(&k, "open").await == 0.0 }
    })
    .await
}
