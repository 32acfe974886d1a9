//! The Rust face of Server-Sent Events: [`EventStream`], over the `eventsource` or `fetch`
//! transport, with listeners ([`EventStream::on`]) and a [`futures::Stream`] of `message`
//! events.
//!
//! It stands on [`crate::engine::sse::SseEngine`] (the pump over the sans-IO
//! [`crate::sse::session::Session`], which owns every lifecycle rule: reconnects, last id, status
//! policy) side by side with the JS face; it owns only its listeners and the `Stream` buffer.
//! The engine hands it the events of one pump in one call; it delivers them with **no `RefCell`
//! borrow held** across a listener, so a listener may call back into the stream (even
//! `close()`). Nothing is delivered after [`EventStream::close`], not even what the `Stream` had
//! buffered.
//!
//! Server event types named like the lifecycle events (`open`, `error`, `close`,
//! `reconnecting`, `giveUp`) arrive as [`StreamEvent::Message`] to [`EventStream::on_any`]
//! listeners only: they never reach `on("error")` and friends and change no state.
//!
//! Bounds: one event's data is capped at 1 MiB ([`crate::sse::MAX_EVENT_BYTES`]; a bigger event
//! is dropped and reported as an `error` of kind [`ErrorKind::Oversized`]); the `Stream` buffers
//! at most [`STREAM_BUFFER`] events and drops the oldest past that.

use crate::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};

use futures::future::LocalBoxFuture;
use wasm_bindgen::prelude::*;

use crate::engine::sse::SseEngine;
use crate::error::{ConfigError, Error};
use crate::proto::backoff::BackoffConfig;
use crate::sse::session::Config;

pub use crate::sse::session::{
    is_lifecycle_name, CloseReason, ErrorKind, MessageEvent, ReadyState, StreamError, StreamEvent,
    Transport,
};

/// An async function returning extra request headers, called before every `fetch` attempt
/// (`getHeaders`). An `Err` is an `error` event of kind [`ErrorKind::Headers`] whose message
/// carries the error's, and the attempt is retried on the backoff.
pub type GetHeaders = Rc<dyn Fn() -> LocalBoxFuture<'static, Result<Vec<(String, String)>, Error>>>;

/// Events buffered for the `Stream` consumer; past this the oldest are dropped.
pub const STREAM_BUFFER: usize = 1024;

/// Options of [`EventStream::new`] (API.md, EventStream).
#[derive(Clone)]
pub struct EventStreamOptions {
    /// `EventSource` (default) or `fetch`.
    pub transport: Transport,
    /// Send cookies cross-origin (`withCredentials`).
    pub with_credentials: bool,
    /// Reconnect delays (`autoReconnectOptions`).
    pub backoff: BackoffConfig,
    /// Resume after this id on the first request (`lastEventId`).
    pub last_event_id: Option<String>,
    /// The query parameter that carries the last id on `eventsource` reconnects
    /// (`lastEventIdParam`, default `lastEventId`).
    pub last_event_id_param: String,
    /// Request headers (`fetch` only).
    pub headers: Vec<(String, String)>,
    /// Headers asked for before every `fetch` attempt (`getHeaders`).
    pub get_headers: Option<GetHeaders>,
}

impl Default for EventStreamOptions {
    fn default() -> Self {
        EventStreamOptions {
            transport: Transport::EventSource,
            with_credentials: false,
            backoff: BackoffConfig::default(),
            last_event_id: None,
            last_event_id_param: "lastEventId".into(),
            headers: Vec::new(),
            get_headers: None,
        }
    }
}

/// A listener handle, for [`EventStream::off`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListenerId(u64);

type Listener = Rc<dyn Fn(&StreamEvent)>;

/// What the Rust face keeps: listeners and the `Stream` buffer.
struct Face {
    listeners: Vec<(ListenerId, Option<String>, Listener)>,
    next_listener: u64,
    queue: VecDeque<MessageEvent>,
    queue_enabled: bool,
    waker: Option<Waker>,
    /// The `close` event was delivered (or the stream dropped): nothing more is.
    closed: bool,
}

/// A Server-Sent Events stream that reconnects by itself and resumes from the last event id.
///
/// Dropping it closes it (like [`EventStream::close`], without a `close` event).
pub struct EventStream {
    engine: Rc<SseEngine>,
    face: Rc<RefCell<Face>>,
}

impl std::fmt::Debug for EventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStream")
            .field("url", &self.engine.url())
            .field("state", &self.engine.ready_state())
            .finish()
    }
}

impl EventStream {
    /// Connects to `url` (resolved against the page). Errors name the offending option.
    pub fn new(url: &str, opts: EventStreamOptions) -> Result<EventStream, ConfigError> {
        let bad = |option: &'static str| ConfigError {
            option,
            message: format!("Invalid EventStream option or url: {option}"),
        };
        let url = resolve_url(url).map_err(|_| bad("url"))?;
        opts.backoff.validate().map_err(bad)?;
        if opts.last_event_id_param.is_empty() {
            return Err(bad("lastEventIdParam"));
        }
        let face = Rc::new(RefCell::new(Face {
            listeners: Vec::new(),
            next_listener: 1,
            queue: VecDeque::new(),
            queue_enabled: false,
            waker: None,
            closed: false,
        }));
        let weak = Rc::downgrade(&face);
        let cfg = Config {
            url,
            transport: opts.transport,
            backoff: opts.backoff,
            last_event_id: opts.last_event_id,
            last_event_id_param: opts.last_event_id_param,
            headers: opts.headers,
            get_headers: opts.get_headers.is_some(),
        };
        // The engine (shared with the JS face) hands the session the failure's text.
        let get_headers = opts.get_headers.map(|f| -> crate::engine::sse::GetHeaders {
            Rc::new(move |done| {
                let f = f.clone();
                // (`f` is called in the task: not from inside the engine's pump)
                wasm_bindgen_futures::spawn_local(async move {
                    done(f().await.map_err(|e| e.to_string()));
                });
            })
        });
        let engine = SseEngine::new(
            cfg,
            opts.with_credentials,
            get_headers,
            Rc::new(move |events| deliver(&weak, events)),
        );
        Ok(EventStream { engine, face })
    }

    /// `Connecting`, `Open` or `Closed`.
    pub fn ready_state(&self) -> ReadyState {
        self.engine.ready_state()
    }

    /// The resolved URL.
    pub fn url(&self) -> String {
        self.engine.url()
    }

    /// The id the next reconnect resumes after.
    pub fn last_event_id(&self) -> String {
        self.engine.last_event_id()
    }

    /// Closes for good: aborts the request or closes the `EventSource`, cancels a pending
    /// reconnect, emits `close {reason: 'client'}` (once) and ends the `Stream`.
    pub fn close(&self) {
        self.engine.close();
    }

    /// Calls `f` for every event named `name` (`open`, `message`, a named event type, `error`,
    /// `reconnecting`, `giveUp`, `close`). A server event whose type is a lifecycle name is not
    /// delivered here (see [`Self::on_any`]).
    pub fn on(&self, name: &str, f: impl Fn(&StreamEvent) + 'static) -> ListenerId {
        self.watch(name);
        self.add_listener(Some(name.to_string()), Rc::new(f))
    }

    /// Calls `f` for every event, server events named like lifecycle events included (as
    /// [`StreamEvent::Message`]). Named server events are delivered only for names passed to
    /// [`Self::watch`] (the `eventsource` transport must register them natively).
    pub fn on_any(&self, f: impl Fn(&StreamEvent) + 'static) -> ListenerId {
        self.add_listener(None, Rc::new(f))
    }

    /// Removes a listener.
    pub fn off(&self, id: ListenerId) {
        let removed = {
            let mut face = self.face.borrow_mut();
            let i = face.listeners.iter().position(|(i, _, _)| *i == id);
            i.map(|i| face.listeners.remove(i))
        };
        drop(removed); // a listener's captures may call into JS when dropped
    }

    /// Makes sure events of type `name` are received (registers a native `EventSource` listener
    /// for it, now and on every reconnect).
    pub fn watch(&self, name: &str) {
        self.engine.watch(name);
    }

    /// The next `message` event, or `None` once closed.
    pub fn next(&self) -> NextMessage<'_> {
        NextMessage { stream: self }
    }

    fn add_listener(&self, name: Option<String>, f: Listener) -> ListenerId {
        let mut face = self.face.borrow_mut();
        let id = ListenerId(face.next_listener);
        face.next_listener += 1;
        face.listeners.push((id, name, f));
        id
    }

    fn poll_message(&self, cx: &mut Context<'_>) -> Poll<Option<MessageEvent>> {
        let mut face = self.face.borrow_mut();
        face.queue_enabled = true;
        if let Some(m) = face.queue.pop_front() {
            return Poll::Ready(Some(m));
        }
        if face.closed || self.engine.ready_state() == ReadyState::Closed {
            return Poll::Ready(None);
        }
        face.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl Drop for EventStream {
    fn drop(&mut self) {
        if let Ok(mut face) = self.face.try_borrow_mut() {
            face.closed = true;
        }
        self.engine.shutdown(); // releases the connection and the timer, no borrow held
    }
}

/// Future of [`EventStream::next`].
pub struct NextMessage<'a> {
    stream: &'a EventStream,
}

impl Future for NextMessage<'_> {
    type Output = Option<MessageEvent>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.stream.poll_message(cx)
    }
}

impl futures::Stream for EventStream {
    type Item = MessageEvent;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<MessageEvent>> {
        self.poll_message(cx)
    }
}

/// Delivers the events of one pump to the listeners and the `Stream`, with no borrow held
/// across a listener. Once `close` was delivered (a listener may close the stream between two
/// events of the batch), nothing more is.
fn deliver(face: &Weak<RefCell<Face>>, events: Vec<StreamEvent>) {
    let Some(face) = face.upgrade() else { return };
    for ev in events {
        let (listeners, waker) = {
            let Ok(mut f) = face.try_borrow_mut() else {
                return;
            };
            if f.closed {
                break;
            }
            let mut waker = None;
            // A server event named like a lifecycle event reaches only `on_any` listeners.
            let mut named = true;
            match &ev {
                StreamEvent::Message(m) => {
                    named = !is_lifecycle_name(&m.event_type);
                    if m.event_type == "message" && f.queue_enabled {
                        if f.queue.len() >= STREAM_BUFFER {
                            f.queue.pop_front();
                        }
                        f.queue.push_back(m.clone());
                        waker = f.waker.take();
                    }
                }
                StreamEvent::Close { reason } => {
                    f.closed = true;
                    if *reason == CloseReason::Client {
                        // Nothing is delivered after `close()`, not even what the `Stream` had
                        // buffered.
                        f.queue.clear();
                    }
                    waker = f.waker.take();
                }
                _ => {}
            }
            let name = ev.name();
            let listeners: Vec<Listener> = f
                .listeners
                .iter()
                .filter(|(_, n, _)| n.as_deref().is_none_or(|n| named && n == name))
                .map(|(_, _, f)| f.clone())
                .collect();
            (listeners, waker)
        };
        if let Some(w) = waker {
            w.wake();
        }
        for f in listeners {
            f(&ev);
        }
    }
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = URL)]
    type JsUrl;
    #[wasm_bindgen(constructor, catch, js_class = URL)]
    fn new(url: &str, base: &str) -> Result<JsUrl, JsValue>;
    #[wasm_bindgen(method, getter, js_class = URL)]
    fn href(this: &JsUrl) -> String;
    #[wasm_bindgen(method, getter, js_class = URL)]
    fn protocol(this: &JsUrl) -> String;
}

/// Resolves `url` against the page (or worker) location; only `http:`/`https:` are accepted.
fn resolve_url(url: &str) -> Result<String, String> {
    let base = js_sys::Reflect::get(&js_sys::global(), &"location".into())
        .ok()
        .and_then(|l| js_sys::Reflect::get(&l, &"href".into()).ok())
        .and_then(|h| h.as_string())
        .unwrap_or_else(|| "http://localhost/".to_string());
    let u = JsUrl::new(url, &base).map_err(|_| "url".to_string())?;
    match u.protocol().as_str() {
        "http:" | "https:" => Ok(u.href()),
        _ => Err("url".into()),
    }
}
