//! The JavaScript class `EventStream`: a thin adapter over [`crate::stream::EventStream`]. It
//! parses the options object defensively (a wrongly typed option throws
//! `InvalidArgumentsError` naming it), turns Rust events into JS values, and delivers them to
//! `on`/`once`/`addEventListener` listeners (the shared `Emitter`), to `onopen`/`onmessage`/
//! `onerror`, and to `for await` iterators (bounded queues of 1000 `message` events that drop the
//! oldest when the consumer falls behind, and end on `close`; `close()` also drops what they hold
//! unread).
//!
//! A server event whose type is a lifecycle name (`open`, `error`, `close`, `reconnecting`,
//! `giveUp`) goes to a second registry that only `addEventListener` listens to, as a native
//! `EventSource` would deliver it: `on`, `once`, `onerror`/`onopen` and `for await` only ever see
//! the SDK's own lifecycle events.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Function, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use crate::js::emitter::{AsyncQueue, Emitter};
use crate::js::errors::{invalid_arguments, make_error, object, set_field};
use crate::proto::backoff::BackoffConfig;
use crate::stream::{
    EventStream, EventStreamOptions, GetHeaders, ReadyState, StreamEvent, Transport,
};

/// `for await` buffer: `message` events kept for a slow consumer before the oldest is dropped.
pub const ITERATOR_BUFFER: u32 = 1000;

#[wasm_bindgen(inline_js = "
export function wireQueue(emitter, queue, closed) {
  if (closed) { queue.end(); return queue; }
  const offs = [
    emitter.on('message', (ev) => queue.push(ev)),
    // After close() nothing is delivered, not even what the loop has not read yet.
    emitter.on('close', (ev) => { if (ev.reason === 'client') queue.return(); else queue.end(); }),
  ];
  queue.onReturn = () => { for (const off of offs) off(); };
  return queue;
}
// A header map -> [[name, value], ...] (numbers become strings), or the text of what is wrong.
// Checked by `new Headers`, so `fetch` cannot fail on it later; page objects may throw anywhere.
export function headerPairs(v) {
  try {
    if (v === null || typeof v !== 'object') return 'an object of header names to strings';
    const src = typeof Headers === 'function' && v instanceof Headers ? Array.from(v)
      : Array.isArray(v) ? v : Object.entries(v);
    const out = [];
    for (const p of src) {
      if (!Array.isArray(p)) return 'pairs of strings';
      const k = p[0], x = p[1];
      if (typeof k !== 'string') return 'string header names';
      if (typeof x === 'number') out.push([k, String(x)]);
      else if (typeof x === 'string') out.push([k, x]);
      else return 'a string for header ' + k;
      if (out.length > 256) return 'at most 256 headers';
    }
    new Headers(out);
    return out;
  } catch (e) {
    return 'a readable map of valid header names and ISO-8859-1 values';
  }
}
// getHeaders() (sync or async) -> header pairs, or the text of the failure. Never rejects.
export async function callGetHeaders(fn) {
  let v;
  try {
    v = await fn();
  } catch (e) {
    try {
      if (typeof e === 'string') return e;
      if (e !== null && typeof e === 'object' && typeof e.message === 'string') return e.message;
    } catch (_) {}
    return 'getHeaders threw or rejected';
  }
  if (v === undefined || v === null) return [];
  const h = headerPairs(v);
  return typeof h === 'string' ? 'getHeaders must return ' + h : h;
}
export function callHandler(fn, self, arg) {
  try { fn.call(self, arg); } catch (e) {
    if (typeof globalThis.reportError === 'function') globalThis.reportError(e); else setTimeout(() => { throw e; });
  }
}
")]
extern "C" {
    #[wasm_bindgen(js_name = wireQueue)]
    fn wire_queue(emitter: &Emitter, queue: &AsyncQueue, closed: bool) -> AsyncQueue;
    #[wasm_bindgen(js_name = callHandler)]
    fn call_handler(f: &Function, this: &JsValue, arg: &JsValue);
    #[wasm_bindgen(js_name = headerPairs)]
    fn header_pairs_js(v: &JsValue) -> JsValue;
    #[wasm_bindgen(js_name = callGetHeaders)]
    fn call_get_headers(f: &Function) -> Promise;
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
"#;

/// `onopen`, `onmessage`, `onerror`.
#[derive(Default)]
struct Handlers {
    open: Option<Function>,
    message: Option<Function>,
    error: Option<Function>,
}

/// `new EventStream(url, options)`: Server-Sent Events with reconnection, resume and the
/// status policy of API.md.
#[wasm_bindgen(js_name = EventStream)]
pub struct JsEventStream {
    stream: Rc<EventStream>,
    emitter: Emitter,
    /// `addEventListener` listeners of lifecycle names, for server events of those types.
    server: Emitter,
    handlers: Rc<RefCell<Handlers>>,
}

thread_local! {
    static FREE_PATCHED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

#[wasm_bindgen(js_class = EventStream)]
impl JsEventStream {
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "string | URL")] url: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "EventStreamOptions")] options: JsValue,
    ) -> Result<JsEventStream, JsValue> {
        crate::js::init_once();
        let url = parse_url(&url)?;
        let opts = parse_options(&options)?;
        let stream = EventStream::new(&url, opts).map_err(|what| {
            invalid_arguments(&format!("Invalid EventStream option or url: {what}"))
        })?;
        let emitter = Emitter::new();
        let server = Emitter::new();
        let handlers = Rc::new(RefCell::new(Handlers::default()));
        let (em, sv, hs) = (emitter.clone(), server.clone(), handlers.clone());
        let stream = Rc::new(stream);
        let key = Rc::as_ptr(&stream) as usize;
        stream.on_any(move |ev| {
            dispatch(&em, &sv, &hs, ev);
            if matches!(ev, StreamEvent::Close { .. }) {
                super::let_go(key);
            }
        });
        // Open streams live on when the page drops its last reference (like `EventSource`);
        // an explicit `free()` closes the stream first.
        super::keep_alive(key, Box::new(stream.clone()));
        let es = JsEventStream {
            stream,
            emitter,
            server,
            handlers,
        };
        super::close_on_free_once(&FREE_PATCHED, || {
            JsEventStream {
                stream: es.stream.clone(),
                emitter: es.emitter.clone(),
                server: es.server.clone(),
                handlers: es.handlers.clone(),
            }
            .into()
        });
        Ok(es)
    }

    /// What an explicit `free()` does before releasing the object: `close()`.
    #[wasm_bindgen(js_name = "__close", skip_typescript)]
    pub fn close_for_free(&self) {
        self.close();
    }

    /// 0 connecting (also while waiting to reconnect), 1 open, 2 closed.
    #[wasm_bindgen(getter, js_name = readyState, unchecked_return_type = "0 | 1 | 2")]
    pub fn ready_state(&self) -> u8 {
        self.stream.ready_state() as u8
    }

    #[wasm_bindgen(getter)]
    pub fn url(&self) -> String {
        self.stream.url()
    }

    #[wasm_bindgen(getter, js_name = lastEventId)]
    pub fn last_event_id(&self) -> String {
        self.stream.last_event_id()
    }

    /// Closes for good and releases every listener, timer and request it holds.
    pub fn close(&self) {
        self.stream.close();
    }

    /// Adds a listener; returns the function that removes it.
    #[wasm_bindgen(unchecked_return_type = "() => void")]
    pub fn on(
        &self,
        #[wasm_bindgen(unchecked_param_type = "EventStreamEventName")] name: JsValue,
        #[wasm_bindgen(unchecked_param_type = "(payload: any) => void")] listener: JsValue,
    ) -> Result<Function, JsValue> {
        let n = event_name(&name)?;
        let remover = self.emitter.on(&name, &listener)?;
        self.stream.watch(&n);
        Ok(remover)
    }

    /// The first payload of `name`; rejects with `TimeoutError` after `timeoutMs`.
    #[wasm_bindgen(unchecked_return_type = "Promise<any>")]
    #[allow(non_snake_case)]
    pub fn once(
        &self,
        #[wasm_bindgen(unchecked_param_type = "EventStreamEventName")] name: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "number")] timeoutMs: JsValue,
    ) -> Promise {
        let n = match event_name(&name) {
            Ok(n) => n,
            Err(e) => return Promise::reject(&e),
        };
        self.stream.watch(&n);
        self.emitter.once(&n, &timeoutMs)
    }

    /// Removes `listener` from `name`, or every listener of `name` when omitted (those added
    /// with `addEventListener` too).
    pub fn off(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "EventStreamEventName")] name: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "(payload: any) => void")] listener: JsValue,
    ) {
        self.emitter.off(&name, &listener);
        self.server.off(&name, &listener);
    }

    /// Like `on`, and for a lifecycle name also the server events of that type (as a native
    /// `EventSource` delivers a server `event: error` to `addEventListener('error')`).

    #[wasm_bindgen(js_name = addEventListener)]
    pub fn add_event_listener(
        &self,
        #[wasm_bindgen(unchecked_param_type = "EventStreamEventName")] name: JsValue,
        #[wasm_bindgen(unchecked_param_type = "((payload: any) => void) | null")] listener: JsValue,
    ) -> Result<(), JsValue> {
        if listener.is_null() || listener.is_undefined() {
            return Ok(());
        }
        let n = event_name(&name)?;
        self.emitter.on(&name, &listener)?;
        if crate::stream::is_lifecycle_name(&n) {
            self.server.on(&name, &listener)?;
        }
        self.stream.watch(&n);
        Ok(())
    }

    #[wasm_bindgen(js_name = removeEventListener)]
    pub fn remove_event_listener(
        &self,
        #[wasm_bindgen(unchecked_param_type = "EventStreamEventName")] name: JsValue,
        #[wasm_bindgen(unchecked_param_type = "((payload: any) => void) | null")] listener: JsValue,
    ) {
        if listener.is_null() || listener.is_undefined() {
            return;
        }
        self.emitter.off(&name, &listener);
        self.server.off(&name, &listener);
    }

    #[wasm_bindgen(
        getter,
        unchecked_return_type = "((ev: {type: 'open'}) => void) | null"
    )]
    pub fn onopen(&self) -> JsValue {
        opt(&self.handlers.borrow().open)
    }
    #[wasm_bindgen(setter)]
    pub fn set_onopen(
        &self,
        #[wasm_bindgen(unchecked_param_type = "((ev: {type: 'open'}) => void) | null")] f: JsValue,
    ) {
        self.handlers.borrow_mut().open = f.dyn_into().ok();
    }
    #[wasm_bindgen(
        getter,
        unchecked_return_type = "((ev: EventStreamMessage) => void) | null"
    )]
    pub fn onmessage(&self) -> JsValue {
        opt(&self.handlers.borrow().message)
    }
    #[wasm_bindgen(setter)]
    pub fn set_onmessage(
        &self,
        #[wasm_bindgen(unchecked_param_type = "((ev: EventStreamMessage) => void) | null")]
        f: JsValue,
    ) {
        self.handlers.borrow_mut().message = f.dyn_into().ok();
    }
    #[wasm_bindgen(
        getter,
        unchecked_return_type = "((err: EventStreamError) => void) | null"
    )]
    pub fn onerror(&self) -> JsValue {
        opt(&self.handlers.borrow().error)
    }
    #[wasm_bindgen(setter)]
    pub fn set_onerror(
        &self,
        #[wasm_bindgen(unchecked_param_type = "((err: EventStreamError) => void) | null")]
        f: JsValue,
    ) {
        self.handlers.borrow_mut().error = f.dyn_into().ok();
    }

    /// `for await (const ev of es)`: `message` events; ends on `close`. Holds at most 1000
    /// unread events, dropping the oldest.
    #[wasm_bindgen(
        js_name = "[Symbol.asyncIterator]",
        unchecked_return_type = "AsyncIterableIterator<EventStreamMessage>"
    )]
    pub fn async_iterator(&self) -> AsyncQueue {
        let queue = AsyncQueue::new(ITERATOR_BUFFER, &JsValue::UNDEFINED);
        let closed = self.stream.ready_state() == ReadyState::Closed;
        wire_queue(&self.emitter, &queue, closed)
    }
}

impl JsEventStream {
    /// The Rust stream underneath (for Rust callers holding the JS class).
    pub fn stream(&self) -> &EventStream {
        &self.stream
    }
}

fn opt(f: &Option<Function>) -> JsValue {
    f.as_ref().map_or(JsValue::NULL, |f| f.clone().into())
}

fn event_name(name: &JsValue) -> Result<String, JsValue> {
    name.as_string()
        .ok_or_else(|| invalid_arguments("The event name must be a string"))
}

/// Rust event → JS payload → listeners (`on*` handler first, then the emitter). A server event
/// named like a lifecycle event goes to `server` (the `addEventListener` listeners) only.
fn dispatch(
    emitter: &Emitter,
    server: &Emitter,
    handlers: &Rc<RefCell<Handlers>>,
    ev: &StreamEvent,
) {
    let payload: JsValue = match ev {
        StreamEvent::Open => object(&[("type", "open".into())]),
        StreamEvent::Message(m) => object(&[
            ("type", JsValue::from_str(&m.event_type)),
            ("data", JsValue::from_str(&m.data)),
            ("lastEventId", JsValue::from_str(&m.last_event_id)),
        ]),
        StreamEvent::Error(e) => {
            let err = make_error("EventStreamError", &e.message);
            set_field(&err, "type", &JsValue::from_str(e.kind.as_str()));
            if let Some(status) = e.status {
                set_field(&err, "status", &JsValue::from(status));
            }
            err.into()
        }
        StreamEvent::Reconnecting { attempt, delay } => object(&[
            ("attempt", JsValue::from(*attempt)),
            ("delay", JsValue::from(*delay)),
        ]),
        StreamEvent::GiveUp { attempts } => object(&[("attempts", JsValue::from(*attempts))]),
        StreamEvent::Close { reason } => object(&[("reason", JsValue::from_str(reason.as_str()))]),
    };
    let name = ev.name();
    if let StreamEvent::Message(m) = ev {
        if crate::stream::is_lifecycle_name(&m.event_type) {
            server.emit(name, &payload, &JsValue::UNDEFINED);
            return;
        }
    }
    let handler = {
        let h = handlers.borrow();
        match name {
            "open" => h.open.clone(),
            "message" => h.message.clone(),
            "error" => h.error.clone(),
            _ => None,
        }
    };
    if let Some(f) = handler {
        call_handler(&f, &JsValue::UNDEFINED, &payload);
    }
    emitter.emit(name, &payload, &JsValue::UNDEFINED);
}

fn parse_url(url: &JsValue) -> Result<String, JsValue> {
    if let Some(s) = url.as_string() {
        return Ok(s);
    }
    // A `URL` object (or anything with a string `href`).
    if url.is_object() {
        if let Some(h) = Reflect::get(url, &"href".into())
            .ok()
            .and_then(|h| h.as_string())
        {
            return Ok(h);
        }
    }
    Err(invalid_arguments("url must be a string or a URL"))
}

fn get(obj: &JsValue, key: &str) -> JsValue {
    Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn absent(v: &JsValue) -> bool {
    v.is_undefined() || v.is_null()
}

fn wrong(option: &str, expected: &str) -> JsValue {
    invalid_arguments(&format!("The {option} option must be {expected}"))
}

fn parse_options(options: &JsValue) -> Result<EventStreamOptions, JsValue> {
    let mut o = EventStreamOptions::default();
    if absent(options) {
        return Ok(o);
    }
    if !options.is_object() || options.is_function() {
        return Err(invalid_arguments("options must be an object"));
    }
    let v = get(options, "transport");
    if !absent(&v) {
        o.transport = match v.as_string().as_deref() {
            Some("eventsource") => Transport::EventSource,
            Some("fetch") => Transport::Fetch,
            _ => return Err(wrong("transport", "'eventsource' or 'fetch'")),
        };
    }
    let v = get(options, "withCredentials");
    if !absent(&v) {
        o.with_credentials = v
            .as_bool()
            .ok_or_else(|| wrong("withCredentials", "a boolean"))?;
    }
    let v = get(options, "autoReconnectOptions");
    if !absent(&v) {
        o.backoff = parse_backoff(&v)?;
    }
    let v = get(options, "lastEventId");
    if !absent(&v) {
        o.last_event_id = Some(match (v.as_string(), v.as_f64()) {
            // A server cannot send NUL, CR or LF in an id, and no header can carry them.
            (Some(s), _) if !s.contains(['\0', '\r', '\n']) => s,
            (None, Some(n)) if n.is_finite() => super::socket::js_number(n),
            _ => return Err(wrong("lastEventId", "a string without NUL, CR or LF")),
        });
    }
    let v = get(options, "lastEventIdParam");
    if !absent(&v) {
        match v.as_string() {
            Some(s) if !s.is_empty() => o.last_event_id_param = s,
            _ => return Err(wrong("lastEventIdParam", "a non-empty string")),
        }
    }
    let v = get(options, "headers");
    if !absent(&v) {
        o.headers = header_pairs(&header_pairs_js(&v)).map_err(|why| wrong("headers", &why))?;
    }
    let v = get(options, "getHeaders");
    if !absent(&v) {
        let f: Function = v
            .dyn_into()
            .map_err(|_| wrong("getHeaders", "a function"))?;
        o.get_headers = Some(wrap_get_headers(f));
    }
    if o.transport == Transport::EventSource && (!o.headers.is_empty() || o.get_headers.is_some()) {
        return Err(invalid_arguments(
            "The headers and getHeaders options need transport: 'fetch' (EventSource cannot send headers)",
        ));
    }
    Ok(o)
}

fn parse_backoff(v: &JsValue) -> Result<BackoffConfig, JsValue> {
    if !v.is_object() {
        return Err(wrong("autoReconnectOptions", "an object"));
    }
    let mut c = BackoffConfig::default();
    let num = |key: &str| -> Result<Option<f64>, JsValue> {
        let x = get(v, key);
        if absent(&x) {
            return Ok(None);
        }
        x.as_f64()
            .map(Some)
            .ok_or_else(|| wrong(&format!("autoReconnectOptions.{key}"), "a number"))
    };
    if let Some(x) = num("initialDelay")? {
        c.initial_delay = x;
    }
    if let Some(x) = num("multiplier")? {
        c.multiplier = x;
    }
    if let Some(x) = num("maxDelay")? {
        c.max_delay = x;
    }
    if let Some(x) = num("jitter")? {
        c.jitter = x;
    }
    if let Some(x) = num("randomness")? {
        c.randomness = x;
    }
    if let Some(x) = num("maxAttempts")? {
        c.max_attempts = if x == f64::INFINITY {
            None
        } else if x >= 1.0 && x.fract() == 0.0 && x <= f64::from(u32::MAX) {
            Some(x as u32)
        } else {
            return Err(wrong(
                "autoReconnectOptions.maxAttempts",
                "a positive integer or Infinity",
            ));
        };
    }
    c.validate()
        .map_err(|what| invalid_arguments(&format!("Invalid option {what}")))?;
    Ok(c)
}

/// What `headerPairs`/`callGetHeaders` returned → pairs, or the text of what is wrong.
fn header_pairs(v: &JsValue) -> Result<Vec<(String, String)>, String> {
    if let Some(why) = v.as_string() {
        return Err(why);
    }
    if !Array::is_array(v) {
        return Err("getHeaders failed".into());
    }
    let pairs: &Array = v.unchecked_ref();
    Ok(pairs
        .iter()
        .map(|p| {
            let p: Array = p.unchecked_into();
            let text = |i| p.get(i).as_string().unwrap_or_default();
            (text(0), text(1))
        })
        .collect())
}

/// `getHeaders()` (sync or async) → the Rust `GetHeaders`. Whatever it throws, rejects with or
/// returns, the result is headers or a message (a `headers` error, retried).
fn wrap_get_headers(f: Function) -> GetHeaders {
    Rc::new(move || {
        let p = call_get_headers(&f);
        Box::pin(async move {
            let v = JsFuture::from(p).await.unwrap_or_default();
            header_pairs(&v)
        })
    })
}
