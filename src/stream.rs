//! The Rust API of Server-Sent Events: [`EventStream`], over the `eventsource` or `fetch`
//! transport, with listeners ([`EventStream::on`]) and a [`futures::Stream`] of `message`
//! events.
//!
//! Owns the connection lifecycle (connect, open, fail, reconnect timer, close), delegating every
//! decision to [`crate::sse::Policy`] and every byte to [`crate::sse::Parser`]; the browser is
//! reached only through the drivers in [`crate::web::eventsource`] and
//! [`crate::web::fetch_stream`]. Callbacks hold a `Weak` reference and a connection generation:
//! a late event from a closed connection is ignored.
//!
//! **No `RefCell` borrow is held across a call into JS**, browser API or user code: every
//! transition takes one short borrow and leaves the calls into the browser (`fetch`,
//! `new EventSource`, `addEventListener`, `setTimeout`/`clearTimeout`, `close`/`abort` when a
//! connection is released) and the listeners to run after it. A page that wraps those globals
//! and reads `readyState` or calls `close()` inside its wrapper, or a listener that does, sees a
//! consistent stream; a connection opened for a stream that was closed meanwhile is dropped.
//! Nothing is delivered after [`EventStream::close`], not even what the `Stream` had buffered.
//!
//! Server event types named like the lifecycle events (`open`, `error`, `close`,
//! `reconnecting`, `giveUp`) arrive as [`StreamEvent::Message`] to [`EventStream::on_any`]
//! listeners only: they never reach `on("error")` and friends and change no state.
//!
//! Bounds: one event's data is capped at 1 MiB ([`crate::sse::MAX_EVENT_BYTES`]; a bigger event
//! is dropped and reported as an `error` of kind [`ErrorKind::Oversized`]); the `Stream` buffers
//! at most [`STREAM_BUFFER`] events and drops the oldest past that.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};

use futures::future::LocalBoxFuture;
use gloo_timers::callback::Timeout;
use wasm_bindgen::prelude::*;

use crate::proto::backoff::{BackoffConfig, XorShift};
use crate::sse::{FailKind, Next, Output, Parser, Policy, Response};
use crate::web::eventsource::{EsInput, EventSourceConn};
use crate::web::fetch_stream::{FetchConn, FetchInput};

/// Events buffered for the `Stream` consumer; past this the oldest are dropped.
pub const STREAM_BUFFER: usize = 1024;

/// Which browser API carries the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Transport {
    /// The browser `EventSource` (cannot send headers; resumes via `lastEventIdParam`).
    #[default]
    EventSource,
    /// `fetch` + a streamed body parsed by sockline (headers, status policy, `Last-Event-ID`).
    Fetch,
}

/// An async function returning extra request headers, called before every `fetch` attempt.
pub type GetHeaders =
    Rc<dyn Fn() -> LocalBoxFuture<'static, Result<Vec<(String, String)>, String>>>;

/// Options of [`EventStream::new`] (API.md, EventStream).
#[derive(Clone)]
pub struct EventStreamOptions {
    pub transport: Transport,
    pub with_credentials: bool,
    pub backoff: BackoffConfig,
    pub last_event_id: Option<String>,
    pub last_event_id_param: String,
    pub headers: Vec<(String, String)>,
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

/// `readyState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadyState {
    Connecting = 0,
    Open = 1,
    Closed = 2,
}

/// A `message` or named event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageEvent {
    pub event_type: String,
    pub data: String,
    pub last_event_id: String,
}

/// What went wrong, for `error` events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// An HTTP status that is not retried (404, …), or a retried one (429/5xx).
    Status,
    /// 200 without `text/event-stream`.
    ContentType,
    /// 401/403 with no (more) `getHeaders` retry.
    Unauthorized,
    /// The connection could not be made or dropped (status unknown).
    Network,
    /// The server ended the response.
    Ended,
    /// An event over the 1 MiB cap was dropped (the stream goes on).
    Oversized,
    /// `getHeaders` threw or returned something that is not a header map.
    Headers,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Status => "status",
            ErrorKind::ContentType => "contentType",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::Network => "network",
            ErrorKind::Ended => "ended",
            ErrorKind::Oversized => "oversized",
            ErrorKind::Headers => "headers",
        }
    }
}

/// An `error` event's value; JS sees an `Error` named `EventStreamError` with `type` and
/// `status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamError {
    pub kind: ErrorKind,
    pub status: Option<u16>,
    pub message: String,
}

impl std::fmt::Display for StreamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Why the stream closed for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// `close()` was called (or the `EventStream` dropped).
    Client,
    /// The server answered 204.
    NoContent,
    /// `maxAttempts` reconnects failed.
    GiveUp,
    /// A non-retryable error (status, content type, unauthorized).
    Error,
}

impl CloseReason {
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::Client => "client",
            CloseReason::NoContent => "noContent",
            CloseReason::GiveUp => "giveUp",
            CloseReason::Error => "error",
        }
    }
}

/// Everything an `EventStream` emits.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum StreamEvent {
    Open,
    /// `message` and every named event.
    Message(MessageEvent),
    Error(StreamError),
    Reconnecting {
        attempt: u32,
        delay: f64,
    },
    GiveUp {
        attempts: u32,
    },
    Close {
        reason: CloseReason,
    },
}

impl StreamEvent {
    /// The listener name this event goes to (`message`, the event type, `open`, …).
    pub fn name(&self) -> &str {
        match self {
            StreamEvent::Open => "open",
            StreamEvent::Message(m) => &m.event_type,
            StreamEvent::Error(_) => "error",
            StreamEvent::Reconnecting { .. } => "reconnecting",
            StreamEvent::GiveUp { .. } => "giveUp",
            StreamEvent::Close { .. } => "close",
        }
    }
}

/// Names that are lifecycle events, not server event types.
const LIFECYCLE: [&str; 5] = ["open", "error", "reconnecting", "giveUp", "close"];

/// Whether `name` is one of the lifecycle event names (`open`, `error`, `reconnecting`,
/// `giveUp`, `close`).
pub fn is_lifecycle_name(name: &str) -> bool {
    LIFECYCLE.contains(&name)
}

/// A listener handle, for [`EventStream::off`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListenerId(u64);

type Listener = Rc<dyn Fn(&StreamEvent)>;

enum Conn {
    None,
    /// Waiting for `getHeaders` before the request.
    Preparing,
    Es(Rc<EventSourceConn>),
    Fetch {
        _conn: FetchConn,
        parser: Option<Parser>,
    },
}

struct Inner {
    url: String,
    opts: EventStreamOptions,
    state: ReadyState,
    policy: Policy,
    gen: u64,
    conn: Conn,
    timer: Option<Timeout>,
    /// Event types the page listens to (registered with every `EventSource`); no limit, on
    /// either transport: they grow only with the names the page asks for.
    names: Vec<String>,
    rng: XorShift,
    listeners: Vec<(ListenerId, Option<String>, Listener)>,
    next_listener: u64,
    queue: VecDeque<MessageEvent>,
    queue_enabled: bool,
    waker: Option<Waker>,
    me: Weak<RefCell<Inner>>,
}

/// A Server-Sent Events stream that reconnects by itself and resumes from the last event id.
///
/// Dropping it closes it (like [`EventStream::close`], without a `close` event).
pub struct EventStream {
    inner: Rc<RefCell<Inner>>,
}

impl std::fmt::Debug for EventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let i = self.inner.borrow();
        f.debug_struct("EventStream")
            .field("url", &i.url)
            .field("state", &i.state)
            .finish()
    }
}

impl EventStream {
    /// Connects to `url` (resolved against the page). Errors name the offending option.
    pub fn new(url: &str, opts: EventStreamOptions) -> Result<EventStream, String> {
        let url = resolve_url(url)?;
        opts.backoff.validate().map_err(str::to_string)?;
        if opts.last_event_id_param.is_empty() {
            return Err("lastEventIdParam".into());
        }
        let policy = Policy::new(opts.backoff, opts.last_event_id.clone());
        let inner = Rc::new_cyclic(|me| {
            RefCell::new(Inner {
                url,
                opts,
                state: ReadyState::Connecting,
                policy,
                gen: 0,
                conn: Conn::None,
                timer: None,
                names: Vec::new(),
                rng: XorShift::new(crate::web::random_seed()),
                listeners: Vec::new(),
                next_listener: 1,
                queue: VecDeque::new(),
                queue_enabled: false,
                waker: None,
                me: me.clone(),
            })
        });
        // Connect once the caller had the chance to add listeners (the first events are
        // asynchronous anyway; this keeps `open` from being missed).
        let weak = Rc::downgrade(&inner);
        let gen = inner.borrow().gen;
        wasm_bindgen_futures::spawn_local(async move {
            if let Some(rc) = weak.upgrade() {
                let after = connect(&rc, gen);
                finish(&rc, after);
            }
        });
        Ok(EventStream { inner })
    }

    pub fn ready_state(&self) -> ReadyState {
        self.inner.borrow().state
    }

    pub fn url(&self) -> String {
        self.inner.borrow().url.clone()
    }

    pub fn last_event_id(&self) -> String {
        self.inner.borrow().policy.last_event_id().to_string()
    }

    /// Closes for good: aborts the request or closes the `EventSource`, cancels a pending
    /// reconnect, emits `close {reason: 'client'}` (once) and ends the `Stream`.
    pub fn close(&self) {
        let after = close_with(&self.inner, CloseReason::Client);
        finish(&self.inner, after);
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

    pub fn off(&self, id: ListenerId) {
        let removed = {
            let mut inner = self.inner.borrow_mut();
            let i = inner.listeners.iter().position(|(i, _, _)| *i == id);
            i.map(|i| inner.listeners.remove(i))
        };
        drop(removed); // a listener's captures may call into JS when dropped
    }

    /// Makes sure events of type `name` are received (registers a native `EventSource` listener
    /// for it, now and on every reconnect).
    pub fn watch(&self, name: &str) {
        // `message`, `open` and `error` are always listened to.
        if matches!(name, "message" | "open" | "error") {
            return;
        }
        let conn = {
            let mut inner = self.inner.borrow_mut();
            if inner.names.iter().any(|n| n == name) {
                return;
            }
            inner.names.push(name.to_string());
            match &inner.conn {
                Conn::Es(conn) => Some(conn.clone()),
                _ => None,
            }
        };
        if let Some(conn) = conn {
            conn.listen(name);
        }
    }

    /// The next `message` event, or `None` once closed.
    pub fn next(&self) -> NextMessage<'_> {
        NextMessage { stream: self }
    }

    fn add_listener(&self, name: Option<String>, f: Listener) -> ListenerId {
        let mut inner = self.inner.borrow_mut();
        let id = ListenerId(inner.next_listener);
        inner.next_listener += 1;
        inner.listeners.push((id, name, f));
        id
    }

    fn poll_message(&self, cx: &mut Context<'_>) -> Poll<Option<MessageEvent>> {
        let mut inner = self.inner.borrow_mut();
        inner.queue_enabled = true;
        if let Some(m) = inner.queue.pop_front() {
            return Poll::Ready(Some(m));
        }
        if inner.state == ReadyState::Closed {
            return Poll::Ready(None);
        }
        inner.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl Drop for EventStream {
    fn drop(&mut self) {
        let released = {
            let Ok(mut inner) = self.inner.try_borrow_mut() else {
                return;
            };
            inner.state = ReadyState::Closed;
            inner.gen += 1;
            (
                std::mem::replace(&mut inner.conn, Conn::None),
                inner.timer.take(),
            )
        };
        drop(released); // closes the connection, with no borrow held
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

// ---- the lifecycle (free functions over the shared state) ----
//
// Each transition runs under one short borrow and returns an [`After`]: the browser objects it
// released (their `Drop` calls into JS: `EventSource.close`, `AbortController.abort`,
// `clearTimeout`), the reconnect timer to arm and the events to deliver. [`finish`] does all of
// that with no borrow held, so a page that wraps `fetch`, `EventSource`, `setTimeout` or
// `addEventListener`, and any listener, may call back into the stream (even `close()`).

type Out = Vec<(u64, StreamEvent)>;

/// What a transition leaves to do once its borrow is released.
#[derive(Default)]
struct After {
    out: Out,
    conn: Option<Conn>,
    timer: Option<Timeout>,
    /// Arm the reconnect timer of connection `gen` after `delay` ms.
    arm: Option<(u64, f64)>,
}

impl After {
    fn events(out: Out) -> After {
        After {
            out,
            ..After::default()
        }
    }
}

/// Releases, arms and delivers what a transition left, with no borrow held.
fn finish(rc: &Rc<RefCell<Inner>>, after: After) {
    let After {
        out,
        conn,
        timer,
        arm,
    } = after;
    drop(conn);
    drop(timer);
    if let Some((gen, delay)) = arm {
        arm_timer(rc, gen, delay);
    }
    deliver(rc, out);
}

/// Delivers events to listeners with no borrow held. Each event carries the generation it was
/// produced under; one whose generation is gone (a listener closed the stream) is skipped.
fn deliver(rc: &Rc<RefCell<Inner>>, out: Out) {
    for (gen, ev) in out {
        let (listeners, waker) = {
            let mut inner = rc.borrow_mut();
            // Events of a connection that was closed or replaced meanwhile (by a listener).
            if inner.gen != gen {
                continue;
            }
            let mut waker = None;
            // A server event named like a lifecycle event reaches only `on_any` listeners.
            let mut named = true;
            if let StreamEvent::Message(m) = &ev {
                named = !is_lifecycle_name(&m.event_type);
                if m.event_type == "message" && inner.queue_enabled {
                    if inner.queue.len() >= STREAM_BUFFER {
                        inner.queue.pop_front();
                    }
                    inner.queue.push_back(m.clone());
                    waker = inner.waker.take();
                }
            }
            let name = ev.name();
            let listeners: Vec<Listener> = inner
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
    let waker = {
        let mut inner = rc.borrow_mut();
        if inner.state == ReadyState::Closed {
            inner.waker.take()
        } else {
            None
        }
    };
    if let Some(w) = waker {
        w.wake();
    }
}

fn close_with(rc: &Rc<RefCell<Inner>>, reason: CloseReason) -> After {
    let mut inner = rc.borrow_mut();
    if inner.state == ReadyState::Closed {
        return After::default();
    }
    inner.state = ReadyState::Closed;
    inner.gen += 1;
    if reason == CloseReason::Client {
        // Nothing is delivered after `close()`, not even what the `Stream` had buffered.
        inner.queue.clear();
    }
    After {
        out: vec![(inner.gen, StreamEvent::Close { reason })],
        conn: Some(std::mem::replace(&mut inner.conn, Conn::None)),
        timer: inner.timer.take(),
        arm: None,
    }
}

/// What [`connect`] starts once its borrow is released.
enum Plan {
    Es {
        url: String,
        names: Vec<String>,
        with_credentials: bool,
        handler: Rc<dyn Fn(EsInput)>,
    },
    Fetch {
        get_headers: Option<GetHeaders>,
        weak: Weak<RefCell<Inner>>,
    },
}

/// Starts connection `gen` (ignored if the stream moved on).
fn connect(rc: &Rc<RefCell<Inner>>, gen: u64) -> After {
    let (gen, plan, old) = {
        let mut inner = rc.borrow_mut();
        if inner.gen != gen || inner.state == ReadyState::Closed {
            return After::default();
        }
        inner.gen += 1;
        let gen = inner.gen;
        inner.state = ReadyState::Connecting;
        inner.policy.on_connect();
        let old = (
            std::mem::replace(&mut inner.conn, Conn::None),
            inner.timer.take(),
        );
        let plan = match inner.opts.transport {
            Transport::EventSource => {
                let last = inner.policy.last_event_id();
                let url = if last.is_empty() {
                    inner.url.clone()
                } else {
                    crate::sse::policy::with_query_param(
                        &inner.url,
                        &inner.opts.last_event_id_param,
                        last,
                    )
                };
                Plan::Es {
                    url,
                    names: inner.names.clone(),
                    with_credentials: inner.opts.with_credentials,
                    handler: es_handler(inner.me.clone(), gen),
                }
            }
            Transport::Fetch => {
                inner.conn = Conn::Preparing;
                Plan::Fetch {
                    get_headers: inner.opts.get_headers.clone(),
                    weak: inner.me.clone(),
                }
            }
        };
        (gen, plan, old)
    };
    drop(old);
    match plan {
        Plan::Es {
            url,
            names,
            with_credentials,
            handler,
        } => {
            let opened = EventSourceConn::open(
                &url,
                with_credentials,
                names.iter().map(String::as_str),
                handler,
            );
            let conn = match opened {
                Ok(conn) => Rc::new(conn),
                Err(e) => {
                    let err = StreamError {
                        kind: ErrorKind::Network,
                        status: None,
                        message: format!("EventSource failed: {}", js_text(&e)),
                    };
                    return fatal(rc, gen, err);
                }
            };
            // The page may have closed the stream, or listened to more names, meanwhile.
            let late = {
                let mut inner = rc.borrow_mut();
                if inner.gen == gen && inner.state != ReadyState::Closed {
                    inner.conn = Conn::Es(conn.clone());
                    inner.names.get(names.len()..).map(<[String]>::to_vec)
                } else {
                    None
                }
            };
            for name in late.iter().flatten() {
                conn.listen(name);
            }
            // When the stream moved on, this was the last reference: the `EventSource` closes.
            drop(conn);
        }
        Plan::Fetch { get_headers, weak } => {
            wasm_bindgen_futures::spawn_local(async move {
                let extra = match get_headers {
                    Some(f) => Some(f().await),
                    None => None,
                };
                let Some(rc) = weak.upgrade() else { return };
                let after = start_fetch(&rc, gen, extra);
                finish(&rc, after);
            });
        }
    }
    After::default()
}

fn start_fetch(
    rc: &Rc<RefCell<Inner>>,
    gen: u64,
    extra: Option<Result<Vec<(String, String)>, String>>,
) -> After {
    let (url, headers, with_credentials, handler) = {
        let inner = rc.borrow();
        if inner.gen != gen || !matches!(inner.conn, Conn::Preparing) {
            return After::default();
        }
        let mut headers = inner.opts.headers.clone();
        match extra {
            Some(Ok(h)) => headers.extend(h),
            Some(Err(msg)) => {
                drop(inner);
                let err = StreamError {
                    kind: ErrorKind::Headers,
                    status: None,
                    message: format!("getHeaders failed: {msg}"),
                };
                return fail(rc, gen, err, None);
            }
            None => {}
        }
        let last = inner.policy.last_event_id();
        if !last.is_empty() {
            headers.push((
                "Last-Event-ID".into(),
                crate::sse::policy::header_value(last),
            ));
        }
        (
            inner.url.clone(),
            headers,
            inner.opts.with_credentials,
            fetch_handler(inner.me.clone(), gen),
        )
    };
    match FetchConn::start(&url, &headers, with_credentials, handler) {
        Ok(conn) => {
            let stale = {
                let mut inner = rc.borrow_mut();
                if inner.gen == gen && matches!(inner.conn, Conn::Preparing) {
                    inner.conn = Conn::Fetch {
                        _conn: conn,
                        parser: None,
                    };
                    None
                } else {
                    Some(conn)
                }
            };
            drop(stale); // aborts a request the stream no longer wants
            After::default()
        }
        Err(e) => {
            let err = StreamError {
                kind: ErrorKind::Network,
                status: None,
                message: format!("fetch failed: {}", js_text(&e)),
            };
            fail(rc, gen, err, None)
        }
    }
}

/// A failure of connection `gen`: `error`, then a scheduled reconnect or `giveUp` + `close`.
fn fail(rc: &Rc<RefCell<Inner>>, gen: u64, err: StreamError, retry_after: Option<f64>) -> After {
    let mut after = After::default();
    let mut inner = rc.borrow_mut();
    if inner.gen != gen || inner.state == ReadyState::Closed {
        return after;
    }
    after.conn = Some(std::mem::replace(&mut inner.conn, Conn::None));
    inner.state = ReadyState::Connecting;
    let mut evs = vec![StreamEvent::Error(err)];
    let (u, u2) = (inner.rng.next_f64(), inner.rng.next_f64());
    match inner.policy.on_failure(retry_after, u, u2) {
        Next::Reconnect { attempt, delay } => {
            after.arm = Some((gen, delay));
            evs.push(StreamEvent::Reconnecting { attempt, delay });
        }
        Next::GiveUp { attempts } => {
            inner.state = ReadyState::Closed;
            inner.gen += 1;
            after.timer = inner.timer.take();
            evs.push(StreamEvent::GiveUp { attempts });
            evs.push(StreamEvent::Close {
                reason: CloseReason::GiveUp,
            });
        }
    }
    let g = inner.gen;
    after.out = evs.into_iter().map(|e| (g, e)).collect();
    after
}

/// A non-retryable failure of connection `gen`: `error`, then `close {reason: 'error'}`.
fn fatal(rc: &Rc<RefCell<Inner>>, gen: u64, err: StreamError) -> After {
    if rc.borrow().gen != gen {
        return After::default();
    }
    let mut after = close_with(rc, CloseReason::Error);
    if let Some(&(g, _)) = after.out.first() {
        after.out.insert(0, (g, StreamEvent::Error(err)));
    }
    after
}

/// Arms the reconnect timer of connection `gen` (dropped at once if the stream moved on while
/// the page's `setTimeout` ran).
fn arm_timer(rc: &Rc<RefCell<Inner>>, gen: u64, delay: f64) {
    let weak = Rc::downgrade(rc);
    let ms = delay.clamp(0.0, f64::from(u32::MAX)) as u32;
    let timer = Timeout::new(ms, move || {
        if let Some(rc) = weak.upgrade() {
            let after = connect(&rc, gen);
            finish(&rc, after);
        }
    });
    let stale = {
        let mut inner = rc.borrow_mut();
        if inner.gen == gen && inner.state == ReadyState::Connecting {
            inner.timer.replace(timer)
        } else {
            Some(timer)
        }
    };
    drop(stale);
}

fn opened(inner: &mut Inner, gen: u64) -> Out {
    inner.state = ReadyState::Open;
    inner.policy.on_open();
    vec![(gen, StreamEvent::Open)]
}

/// Routes one event through the de-duplication rule shared by both transports
/// ([`Policy::on_event`]); `id` is its last event id as a native `EventSource` reports it.
fn message(inner: &mut Inner, gen: u64, event_type: String, data: String, id: Option<&str>) -> Out {
    match inner.policy.on_event(id) {
        Some(last_event_id) => vec![(
            gen,
            StreamEvent::Message(MessageEvent {
                event_type,
                data,
                last_event_id,
            }),
        )],
        None => Vec::new(),
    }
}

fn oversized(gen: u64) -> (u64, StreamEvent) {
    (
        gen,
        StreamEvent::Error(StreamError {
            kind: ErrorKind::Oversized,
            status: None,
            message: format!(
                "an event over {} bytes was dropped",
                crate::sse::MAX_EVENT_BYTES
            ),
        }),
    )
}

fn es_handler(weak: Weak<RefCell<Inner>>, gen: u64) -> Rc<dyn Fn(EsInput)> {
    Rc::new(move |input: EsInput| {
        let Some(rc) = weak.upgrade() else { return };
        let after = {
            let Ok(mut inner) = rc.try_borrow_mut() else {
                return;
            };
            if inner.gen != gen || inner.state == ReadyState::Closed {
                return;
            }
            match input {
                EsInput::Open => After::events(opened(&mut inner, gen)),
                EsInput::Message {
                    event_type,
                    data,
                    last_event_id,
                } => After::events(message(
                    &mut inner,
                    gen,
                    event_type,
                    data,
                    last_event_id.as_deref(),
                )),
                EsInput::Oversized => After::events(vec![oversized(gen)]),
                EsInput::Error => {
                    let was_open = inner.state == ReadyState::Open;
                    drop(inner);
                    let err = StreamError {
                        kind: if was_open {
                            ErrorKind::Ended
                        } else {
                            ErrorKind::Network
                        },
                        status: None,
                        message: if was_open {
                            "the event stream was interrupted".into()
                        } else {
                            "the event stream could not be opened".into()
                        },
                    };
                    fail(&rc, gen, err, None)
                }
            }
        };
        finish(&rc, after);
    })
}

fn fetch_handler(weak: Weak<RefCell<Inner>>, gen: u64) -> Rc<dyn Fn(FetchInput) -> bool> {
    Rc::new(move |input: FetchInput| {
        let Some(rc) = weak.upgrade() else {
            return false;
        };
        // Read before the borrow: `Date.now` is a call into JS too.
        let now = match input {
            FetchInput::Head { .. } => crate::web::now(),
            _ => 0.0,
        };
        let (after, go_on) = {
            let Ok(mut inner) = rc.try_borrow_mut() else {
                return false;
            };
            if inner.gen != gen || inner.state == ReadyState::Closed {
                return false;
            }
            match input {
                FetchInput::Head {
                    status,
                    content_type,
                    retry_after,
                } => {
                    let can_refresh = inner.opts.get_headers.is_some();
                    let verdict = inner.policy.on_response(
                        status,
                        content_type.as_deref(),
                        retry_after.as_deref(),
                        can_refresh,
                        now,
                    );
                    match verdict {
                        Response::Open => {
                            // Like a new native EventSource: no id until the server sends one.
                            if let Conn::Fetch { parser: p, .. } = &mut inner.conn {
                                *p = Some(Parser::new(String::new()));
                            }
                            (After::events(opened(&mut inner, gen)), true)
                        }
                        Response::Close => {
                            drop(inner);
                            (close_with(&rc, CloseReason::NoContent), false)
                        }
                        Response::Retry { retry_after } => {
                            drop(inner);
                            let err = StreamError {
                                kind: ErrorKind::Status,
                                status: Some(status),
                                message: format!("the server answered {status}; retrying"),
                            };
                            (fail(&rc, gen, err, retry_after), false)
                        }
                        Response::RetryAuth => {
                            let Next::Reconnect { attempt, delay } = inner.policy.on_auth_retry()
                            else {
                                return false;
                            };
                            (
                                After {
                                    out: vec![(gen, StreamEvent::Reconnecting { attempt, delay })],
                                    conn: Some(std::mem::replace(&mut inner.conn, Conn::None)),
                                    timer: None,
                                    arm: Some((gen, delay)),
                                },
                                false,
                            )
                        }
                        Response::Fail { status, kind } => {
                            drop(inner);
                            let (kind, message) = match kind {
                                FailKind::ContentType => (
                                    ErrorKind::ContentType,
                                    format!(
                                        "the server answered {status} with Content-Type \"{}\", not text/event-stream",
                                        content_type.unwrap_or_default()
                                    ),
                                ),
                                FailKind::Unauthorized => {
                                    (ErrorKind::Unauthorized, format!("the server answered {status}"))
                                }
                                FailKind::Status => (ErrorKind::Status, format!("the server answered {status}")),
                            };
                            (
                                fatal(
                                    &rc,
                                    gen,
                                    StreamError {
                                        kind,
                                        status: Some(status),
                                        message,
                                    },
                                ),
                                false,
                            )
                        }
                    }
                }
                FetchInput::Chunk(bytes) => {
                    let Conn::Fetch {
                        parser: Some(parser),
                        ..
                    } = &mut inner.conn
                    else {
                        return false;
                    };
                    let mut outputs = Vec::new();
                    parser.feed(&bytes, &mut |o| outputs.push(o));
                    let mut out = Vec::new();
                    for o in outputs {
                        match o {
                            Output::Event(e) => out.extend(message(
                                &mut inner,
                                gen,
                                e.event_type,
                                e.data,
                                Some(&e.last_event_id),
                            )),
                            Output::Retry(ms) => inner.policy.on_retry_field(ms),
                            Output::LastEventId(id) => inner.policy.on_last_event_id(&id),
                            Output::Oversized => out.push(oversized(gen)),
                        }
                    }
                    (After::events(out), true)
                }
                FetchInput::End | FetchInput::Failed(_) => {
                    drop(inner);
                    let (kind, message) = match &input {
                        FetchInput::Failed(m) => {
                            (ErrorKind::Network, format!("the event stream failed: {m}"))
                        }
                        _ => (
                            ErrorKind::Ended,
                            "the server ended the event stream".to_string(),
                        ),
                    };
                    (
                        fail(
                            &rc,
                            gen,
                            StreamError {
                                kind,
                                status: None,
                                message,
                            },
                            None,
                        ),
                        false,
                    )
                }
            }
        };
        finish(&rc, after);
        go_on
            && weak
                .upgrade()
                .is_some_and(|rc| rc.try_borrow().is_ok_and(|i| i.gen == gen))
    })
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

fn js_text(e: &JsValue) -> String {
    crate::web::error_text(e).unwrap_or_else(|| "unknown error".into())
}
