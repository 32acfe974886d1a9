//! The `EventSource` driver of `EventStream` (`transport: 'eventsource'`), and the connection
//! handle both SSE drivers return ([`SseConn`]; the `fetch` one is [`super::fetch_stream`]).
//!
//! The browser calls are plain functions of `src/js/event_stream.js` (`esOpen`, `esListen`,
//! `sseStop`): one import each where web-sys would take one per constructor, method, getter and
//! setter. A connection reports to one callback, whose arguments [`SseConn`] turns into an
//! [`SseInput`] for the handler. Dropping the [`SseConn`] closes the `EventSource` and removes
//! every listener it added, or aborts the `fetch` (RAII, no `Closure::forget`); nothing reaches
//! the handler after that.
//!
//! It owns no policy: it does not reconnect (the caller closes it on the first error and opens a
//! new one after its own backoff) and does not de-duplicate. It tells the browser's own `open`
//! and `error` events (plain `Event`s) from server events of those types (`MessageEvent`s), and
//! holds the 1 MiB cap of [`crate::sse::MAX_EVENT_BYTES`] by looking at the length of the JS
//! strings before copying them into wasm memory.

#[allow(unused_imports)]
use crate::prelude::*;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::sse::MAX_EVENT_BYTES;

#[wasm_bindgen(module = "/src/js/event_stream.js")]
extern "C" {
    /// The connection (a JS function), or the text of what `new EventSource` threw.
    #[wasm_bindgen(js_name = esOpen)]
    fn es_open(url: &str, with_credentials: bool, cap: u32, cb: &JsValue) -> JsValue;
    #[wasm_bindgen(js_name = esListen)]
    fn es_listen(conn: &JsValue, name: &str);
    #[wasm_bindgen(js_name = sseStop)]
    fn stop(conn: &JsValue);
    /// A `Retry-After` HTTP-date as ms since the epoch; NaN when `v` is not one.
    #[wasm_bindgen(js_name = httpDate)]
    fn http_date(v: &JsValue) -> f64;
}

/// What a connection reports. `EventSource`: `Open`, `Message`s, `Oversized`, `Error`. `fetch`:
/// `Head`, then `Chunk`s, then `End` or `Failed`.
#[derive(Debug)]
pub enum SseInput {
    /// The `EventSource` opened.
    Open,
    /// A `message` or named event, as the browser parsed it.
    Message {
        event_type: String,
        data: String,
        /// `None` when the id is over the cap: it is ignored, as the `fetch` parser ignores an
        /// over-long `id` line.
        last_event_id: Option<String>,
    },
    /// An event whose data reached [`MAX_EVENT_BYTES`] was dropped without being copied.
    Oversized,
    /// The `EventSource` failed or dropped (the status is not visible to scripts).
    Error,
    /// The `fetch` response head. The handler returns whether to read the body.
    Head {
        status: u16,
        content_type: Option<String>,
        retry_after: Option<String>,
        /// An HTTP-date `Retry-After` as ms since the epoch (`fetchStart` reads it).
        retry_at: Option<f64>,
    },
    /// Body bytes.
    Chunk(Vec<u8>),
    /// The body ended normally.
    End,
    /// The request or the read failed (network error, CORS, abort).
    Failed(String),
}

/// The callback a connection reports to: `(kind, number, a, b, c)` (see `event_stream.js`); it
/// returns whether a `fetch` reads on.
type Callback = Closure<dyn FnMut(u32, f64, JsValue, JsValue, JsValue) -> bool>;

/// One connection of either driver and its callback. Dropping it closes the connection.
pub struct SseConn {
    conn: JsValue,
    _cb: Callback,
}

/// The callback that hands each report of a connection to `handler`, as an [`SseInput`].
pub(crate) fn callback<F: FnMut(SseInput) -> bool + 'static>(mut handler: F) -> Callback {
    Closure::new(move |kind, n: f64, a: JsValue, b: JsValue, c: JsValue| {
        let text = |v: JsValue| v.as_string().unwrap_or_default();
        handler(match kind {
            0 => SseInput::Open,
            1 => {
                let data = text(b);
                if data.len() >= MAX_EVENT_BYTES {
                    SseInput::Oversized
                } else {
                    SseInput::Message {
                        event_type: text(a),
                        data,
                        last_event_id: c.as_string(),
                    }
                }
            }
            2 => SseInput::Oversized,
            3 => SseInput::Error,
            4 => SseInput::Head {
                status: n as u16,
                content_type: a.as_string(),
                retry_after: b.as_string(),
                retry_at: Some(http_date(&b)).filter(|t| !t.is_nan()),
            },
            5 => SseInput::Chunk(super::bytes_of(a.unchecked_ref())),
            6 => SseInput::End,
            _ => SseInput::Failed(text(a)),
        })
    })
}

impl SseConn {
    /// `conn` as `esOpen` / `fetchStart` returned it: the connection, or the text of why it
    /// could not be made.
    pub(crate) fn made(conn: JsValue, cb: Callback) -> Result<SseConn, String> {
        match conn.as_string() {
            Some(why) => Err(why),
            None => Ok(SseConn { conn, _cb: cb }),
        }
    }

    /// Opens a browser `EventSource` on `url`; `handler` gets every input until the connection
    /// is dropped. It listens to `message` (and `open`, `error`); more event types with
    /// [`Self::listen`]. `Err`: the text of what the constructor threw.
    pub fn event_source<F: FnMut(SseInput) -> bool + 'static>(
        url: &str,
        with_credentials: bool,
        handler: F,
    ) -> Result<SseConn, String> {
        let cb = callback(handler);
        let conn = es_open(url, with_credentials, MAX_EVENT_BYTES as u32, cb.as_ref());
        SseConn::made(conn, cb)
    }

    /// Adds a native listener for the event type `name` (once per name) to an `EventSource`.
    pub fn listen(&self, name: &str) {
        es_listen(&self.conn, name);
    }
}

impl Drop for SseConn {
    fn drop(&mut self) {
        stop(&self.conn);
    }
}
