//! The `fetch` driver of `EventStream` (`transport: 'fetch'`): one `GET` with the given headers,
//! reporting the response head and then the body's byte chunks ([`SseInput::Head`],
//! [`SseInput::Chunk`], then [`SseInput::End`] or [`SseInput::Failed`]) to a handler. The request
//! and its read loop are `fetchStart` in `src/js/event_stream.js` (one import where web-sys
//! takes one per `RequestInit` setter, `Response` getter and reader step). Dropping the
//! [`SseConn`] aborts the request and ends the read loop (RAII). It does not parse (see
//! [`crate::sse::parser`]) or decide anything about statuses.

#[allow(unused_imports)]
use crate::prelude::*;

use wasm_bindgen::prelude::*;

use super::eventsource::{callback, SseConn, SseInput};

#[wasm_bindgen(module = "/src/js/event_stream.js")]
extern "C" {
    /// A fresh header object holding `Accept: text/event-stream`.
    #[wasm_bindgen(js_name = fetchHeaders)]
    fn new_headers() -> JsValue;
    #[wasm_bindgen(js_name = fetchHeader)]
    fn set_header(headers: &JsValue, name: &str, value: &str);
    /// The connection (a JS function), or the text of what the request threw.
    #[wasm_bindgen(js_name = fetchStart)]
    fn fetch_start(url: &str, headers: &JsValue, with_credentials: bool, cb: &JsValue) -> JsValue;
}

/// Starts `GET url` with `headers`. `handler` gets every input until the connection is dropped;
/// it returns `false` to stop reading. `Err`: the text of what the request threw.
pub fn start<F: FnMut(SseInput) -> bool + 'static>(
    url: &str,
    headers: &[(String, String)],
    with_credentials: bool,
    handler: F,
) -> Result<SseConn, String> {
    let h = new_headers();
    for (k, v) in headers {
        set_header(&h, k, v);
    }
    let cb = callback(handler);
    let conn = fetch_start(url, &h, with_credentials, cb.as_ref());
    SseConn::made(conn, cb)
}
