//! The JS face of `EventStream`, wasm side: the `EventStream` export (which makes objects of the
//! hand-written class in `event_stream.js`) and five calls that class makes (`SseEngine.open`,
//! `close`, `watch`, `state`, `lastId`) over [`crate::engine::sse::SseEngine`], and the one
//! batched call that hands each pump's events to the class (which owns the listeners, handlers,
//! `once`, `for await`, option checks and event objects).
//!
//! Open streams are kept alive here until they close, like a browser keeps an open
//! `EventSource` alive: a page that drops its last reference keeps receiving events until it is
//! closed. The engine holds the JS object (its face) until then.
//!
//! [`JsEventStream`] is a binding of the JS class for Rust callers (the browser tests), with the
//! class's own method names.

#[allow(unused_imports)]
use crate::prelude::*;

use alloc::rc::Rc;

use wasm_bindgen::prelude::*;

use super::{set_backoff, utf16_len, Engines};
use crate::cell::global;
use crate::engine::sse::{GetHeaders, SseEngine};
use crate::proto::backoff::BackoffConfig;
use crate::sse::session::{Config, StreamEvent, Transport};

#[wasm_bindgen(module = "/src/js/support.js")]
extern "C" {
    #[wasm_bindgen(js_name = setSseHost)]
    fn set_host(host: SseHost);
    /// `a[i]` of a JS array of numbers (as `js::socket`'s).
    #[wasm_bindgen(js_name = numAt)]
    fn num_at(a: &JsValue, i: f64) -> f64;
    /// `a[i]` of a JS array (as `js::socket`'s).
    #[wasm_bindgen(js_name = valueAt)]
    fn value_at(a: &JsValue, i: f64) -> JsValue;
}

#[wasm_bindgen(module = "/src/js/event_stream.js")]
extern "C" {
    /// The events of one pump, encoded (see `event_stream.js`): one call per pump. `nums` is
    /// the `len` numbers at `at` in wasm memory (as `js::socket`'s `deliver`), which the class
    /// copies first; `text` is a view of wasm memory for the length of the call.
    fn deliver(face: &JsValue, at: *const f64, len: usize, text: &str);
    #[wasm_bindgen(js_name = callGetHeaders)]
    fn call_get_headers(f: &JsValue) -> JsValue;
    #[wasm_bindgen(js_name = iteratorOf)]
    fn iterator_of(es: &JsEventStream) -> JsValue;

    /// The JS class `EventStream` (what `import { EventStream } from 'sockline'` gives).
    #[wasm_bindgen(js_name = EventStream)]
    #[derive(Clone)]
    pub type JsEventStream;
    #[wasm_bindgen(constructor, catch, js_class = EventStream)]
    fn construct(url: JsValue, options: JsValue) -> Result<JsEventStream, JsValue>;
    /// 0 connecting (also while waiting to reconnect), 1 open, 2 closed.
    #[wasm_bindgen(method, getter, js_class = EventStream, js_name = readyState)]
    pub fn ready_state(this: &JsEventStream) -> u8;
    #[wasm_bindgen(method, getter, js_class = EventStream)]
    pub fn url(this: &JsEventStream) -> String;
    #[wasm_bindgen(method, getter, js_class = EventStream, js_name = lastEventId)]
    pub fn last_event_id(this: &JsEventStream) -> String;
    #[wasm_bindgen(method, js_class = EventStream)]
    pub fn close(this: &JsEventStream);
    #[wasm_bindgen(method, js_class = EventStream)]
    pub fn off(this: &JsEventStream, name: JsValue, listener: JsValue);
    #[wasm_bindgen(method, catch, js_class = EventStream, js_name = addEventListener)]
    pub fn add_event_listener(
        this: &JsEventStream,
        name: JsValue,
        listener: JsValue,
    ) -> Result<(), JsValue>;
    #[wasm_bindgen(method, js_class = EventStream, js_name = removeEventListener)]
    pub fn remove_event_listener(this: &JsEventStream, name: JsValue, listener: JsValue);
    #[wasm_bindgen(method, getter, js_class = EventStream)]
    pub fn onopen(this: &JsEventStream) -> JsValue;
    #[wasm_bindgen(method, setter, js_class = EventStream)]
    pub fn set_onopen(this: &JsEventStream, f: JsValue);
    #[wasm_bindgen(method, getter, js_class = EventStream)]
    pub fn onmessage(this: &JsEventStream) -> JsValue;
    #[wasm_bindgen(method, setter, js_class = EventStream)]
    pub fn set_onmessage(this: &JsEventStream, f: JsValue);
    #[wasm_bindgen(method, getter, js_class = EventStream)]
    pub fn onerror(this: &JsEventStream) -> JsValue;
    #[wasm_bindgen(method, setter, js_class = EventStream)]
    pub fn set_onerror(this: &JsEventStream, f: JsValue);
}

// (the methods whose values are js-sys types, for Rust callers: feature `rust`)
#[cfg(feature = "rust")]
#[wasm_bindgen(module = "/src/js/event_stream.js")]
extern "C" {
    #[wasm_bindgen(method, catch, js_class = EventStream)]
    pub fn on(
        this: &JsEventStream,
        name: JsValue,
        listener: JsValue,
    ) -> Result<js_sys::Function, JsValue>;
    #[wasm_bindgen(method, js_class = EventStream)]
    pub fn once(this: &JsEventStream, name: JsValue, timeout_ms: JsValue) -> js_sys::Promise;
}

#[wasm_bindgen(typescript_custom_section)]
const TS_EVENT_STREAM: &'static str = r#"
export interface EventStreamOptions {
  transport?: 'eventsource' | 'fetch';
  withCredentials?: boolean;
  autoReconnectOptions?: BackoffOptions;
  lastEventId?: string;
  lastEventIdParam?: string;
  /** `fetch` transport only. */
  headers?: Record<string, string> | Headers | [string, string][];
  /** `fetch` transport only: called (and awaited) before every attempt. */
  getHeaders?: () => Record<string, string> | Headers | [string, string][] | null | undefined
    | Promise<Record<string, string> | Headers | [string, string][] | null | undefined>;
}
export interface EventStreamMessage { type: string; data: string; lastEventId: string; }
export interface EventStreamError extends Error {
  name: 'EventStreamError';
  type: 'status' | 'contentType' | 'unauthorized' | 'network' | 'ended' | 'oversized' | 'headers';
  status?: number;
}
export type EventStreamEventName =
  | 'open' | 'message' | 'error' | 'reconnecting' | 'giveUp' | 'close' | (string & {});
/**
 * `new EventStream(url, options)`: Server-Sent Events with reconnection, resume and the
 * status policy of API.md.
 */
export class EventStream {
  constructor(url: string | URL, options?: EventStreamOptions);
  /** 0 connecting (also while waiting to reconnect), 1 open, 2 closed. */
  readonly readyState: 0 | 1 | 2;
  readonly url: string;
  readonly lastEventId: string;
  /** Closes for good and releases every listener, timer and request it holds. */
  close(): void;
  /** Adds a listener; returns the function that removes it. */
  on(name: EventStreamEventName, listener: (payload: any) => void): () => void;
  /** The first payload of `name`; rejects with `TimeoutError` after `timeoutMs`. */
  once(name: EventStreamEventName, timeoutMs?: number): Promise<any>;
  /**
   * Removes `listener` from `name`, or every listener of `name` when omitted (those added
   * with `addEventListener` too).
   */
  off(name?: EventStreamEventName, listener?: (payload: any) => void): void;
  /**
   * Like `on`, and for a lifecycle name also the server events of that type (as a native
   * `EventSource` delivers a server `event: error` to `addEventListener('error')`).
   */
  addEventListener(name: EventStreamEventName, listener: ((payload: any) => void) | null): void;
  removeEventListener(name: EventStreamEventName, listener: ((payload: any) => void) | null): void;
  onopen: ((ev: {type: 'open'}) => void) | null;
  onmessage: ((ev: EventStreamMessage) => void) | null;
  onerror: ((err: EventStreamError) => void) | null;
  /**
   * `for await (const ev of es)`: `message` events; ends on `close`. Holds at most 1000
   * unread events, dropping the oldest.
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<EventStreamMessage>;
}
"#;

#[cfg(feature = "rust")]
impl JsEventStream {
    /// `new EventStream(url, options)`; throws what the class throws (`InvalidArgumentsError`).
    pub fn new(url: JsValue, options: JsValue) -> Result<JsEventStream, JsValue> {
        install();
        JsEventStream::construct(url, options)
    }

    /// `es[Symbol.asyncIterator]()`.
    pub fn async_iterator(&self) -> JsValue {
        iterator_of(self)
    }
}

/// `new EventStream(url, options)` as the glue of a build with the Rust face exports it (see
/// `js::socket::new_socket`; the npm build re-exports the class itself).
#[cfg(feature = "rust")]
#[wasm_bindgen(js_name = EventStream, skip_typescript)]
pub fn new_event_stream(url: JsValue, options: JsValue) -> Result<JsEventStream, JsValue> {
    JsEventStream::new(url, options)
}

/// Hands the exports to `event_stream.js` before its first object is made. Idempotent.
pub fn install() {
    global!(
        static DONE: core::cell::Cell<bool> = core::cell::Cell::new(false);
    );
    if !DONE.with(|d| d.replace(true)) {
        crate::web::share_memory(); // (for `deliver`'s numbers)
        set_host(SseHost);
    }
}

global! {
    /// Open streams by id (see the module docs).
    static STREAMS: Engines<SseEngine> = Engines::new();
}

fn engine(id: u32) -> Option<Rc<SseEngine>> {
    STREAMS.with(|s| s.get(id))
}

fn let_go(id: u32) {
    STREAMS.with(|s| s.remove(id));
}

/// The exports the JS class calls (static methods; see `event_stream.js`).
#[wasm_bindgen(js_name = SseEngine, skip_typescript)]
pub struct SseHost;

#[wasm_bindgen(js_class = SseEngine)]
impl SseHost {
    /// Opens a stream for the JS object `face` (options checked by the class): its id, or the
    /// name of the backoff option that is out of range. `args` (a JS array, read by index, as
    /// `SocketEngine.open`'s) holds the url, `flags` (1 `fetch`, 2 `withCredentials`, `4 << i`
    /// the `i`th backoff number was given: no `Option` to encode), the six backoff numbers, the
    /// last event id (a string, or undefined), its query parameter, the flat headers
    /// (`name\nvalue\n…`) and `getHeaders` (the function, or undefined).
    pub fn open(face: JsValue, args: JsValue) -> JsValue {
        crate::js::init_once();
        let n = |i: u8| num_at(&args, f64::from(i));
        let value = |i: u8| value_at(&args, f64::from(i));
        let (url, flags) = (value(0).as_string().unwrap_or_default(), n(1) as u32);
        let (initial_delay, multiplier, max_delay, jitter, randomness, max_attempts) =
            (n(2), n(3), n(4), n(5), n(6), n(7));
        let last_event_id = value(8).as_string();
        let last_event_id_param = value(9).as_string().unwrap_or_default();
        let headers = value(10).as_string().unwrap_or_default();
        let get_headers = value(11);
        let given = |i: u32, v: f64| (flags & (4 << i) != 0).then_some(v);
        let mut b = BackoffConfig::default();
        set_backoff(
            &mut b,
            [
                given(0, initial_delay),
                given(1, multiplier),
                given(2, max_delay),
                given(3, jitter),
                given(4, randomness),
            ],
            given(5, max_attempts),
        );
        if let Err(what) = b.validate() {
            return JsValue::from_str(what);
        }
        let id = STREAMS.with(Engines::next_id);
        let cfg = Config {
            url,
            transport: if flags & 1 != 0 {
                Transport::Fetch
            } else {
                Transport::EventSource
            },
            backoff: b,
            last_event_id,
            last_event_id_param,
            headers: pairs(&headers),
            get_headers: !get_headers.is_undefined(),
        };
        let get_headers = (!get_headers.is_undefined()).then(|| wrap_get_headers(get_headers));
        let engine = SseEngine::new(
            cfg,
            flags & 2 != 0,
            get_headers,
            Rc::new(move |events| sink(&face, id, events)),
        );
        STREAMS.with(|s| s.insert(id, engine));
        JsValue::from(id)
    }

    pub fn close(id: u32) {
        if let Some(e) = engine(id) {
            e.close();
        }
    }

    pub fn watch(id: u32, name: String) {
        if let Some(e) = engine(id) {
            e.watch(&name);
        }
    }

    pub fn state(id: u32) -> u8 {
        engine(id).map_or(2, |e| e.ready_state() as u8)
    }

    #[wasm_bindgen(js_name = lastId)]
    pub fn last_id(id: u32) -> String {
        engine(id).map(|e| e.last_event_id()).unwrap_or_default()
    }
}

/// Encodes the events of one pump and hands them to the face in one call; after `close` the
/// stream is let go.
fn sink(face: &JsValue, id: u32, events: Vec<StreamEvent>) {
    let mut nums = Vec::with_capacity(events.len() * 4);
    let mut text = String::new();
    let mut closed = false;
    for ev in &events {
        match ev {
            StreamEvent::Open => nums.push(0.0),
            StreamEvent::Message(m) => {
                let lens = [
                    put(&mut text, &m.event_type),
                    put(&mut text, &m.data),
                    put(&mut text, &m.last_event_id),
                ];
                nums.push(1.0);
                nums.extend_from_slice(&lens);
            }
            StreamEvent::Error(e) => {
                let len = put(&mut text, &e.message);
                nums.extend_from_slice(&[
                    2.0,
                    f64::from(e.kind as u8),
                    e.status.map_or(-1.0, f64::from),
                    len,
                ]);
            }
            StreamEvent::Reconnecting { attempt, delay } => {
                nums.extend_from_slice(&[3.0, f64::from(*attempt), *delay]);
            }
            StreamEvent::GiveUp { attempts } => {
                nums.extend_from_slice(&[4.0, f64::from(*attempts)])
            }
            StreamEvent::Close { reason } => {
                let last = engine(id).map(|e| e.last_event_id()).unwrap_or_default();
                let len = put(&mut text, &last);
                nums.extend_from_slice(&[5.0, f64::from(*reason as u8), len]);
                closed = true;
            }
        }
    }
    if closed {
        let_go(id);
    }
    deliver(face, nums.as_ptr(), nums.len(), &text);
}

/// Appends `s` to `text`; its length in UTF-16 code units (what JS slices by).
fn put(text: &mut String, s: &str) -> f64 {
    text.push_str(s);
    utf16_len(s)
}

/// `"name\nvalue\n..."` → pairs.
fn pairs(flat: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = Some(flat);
    while let Some(r) = rest {
        let (k, Some(r)) = crate::proto::codec::cut(r, b'\n') else {
            break;
        };
        let (v, next) = crate::proto::codec::cut(r, b'\n');
        out.push((k.to_string(), v.to_string()));
        rest = next;
    }
    out
}

/// `getHeaders()` (sync or async) → the engine's `GetHeaders`. Whatever it throws, rejects with
/// or returns, the result is headers or a message (a `headers` error, retried).
fn wrap_get_headers(f: JsValue) -> GetHeaders {
    Rc::new(move |done| {
        let p = call_get_headers(&f);
        crate::web::on_settled(
            &p,
            Box::new(move |r| {
                done(match r {
                    Ok(v) => Ok(pairs(&v.as_string().unwrap_or_default())),
                    Err(e) => Err(e.as_string().unwrap_or_else(|| "getHeaders failed".into())),
                })
            }),
        );
    })
}
