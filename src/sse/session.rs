//! The `EventStream` session, sans-IO: the whole lifecycle of one stream, driven by inputs and
//! drained by polls, like [`crate::proto::Session`].
//!
//! Owns: connect and reconnect scheduling (the shared [`BackoffConfig`] through [`Policy`]),
//! the connection generation, the ready state, the last event id and the id de-duplication rule,
//! the `fetch` status/content-type policy, the server `retry:` field (clamped to `maxDelay`), the
//! 1 MiB cap on one event (the parser's for `fetch`; the driver's for `eventsource`), close
//! reasons and giving up. It does not touch a browser, a clock or a random source: `now` (ms)
//! comes with every input that needs it, the jitter comes from a seeded [`XorShift`].
//!
//! Inputs are the `handle_*` methods; each tagged with the connection generation it belongs to
//! (a late input of an older connection is ignored). Outputs:
//! - [`Session::poll_commands`]: what the engine must do to the browser ([`Command`]: open an
//!   `EventSource`, ask `getHeaders`, start a `fetch`, listen to a named type, release the
//!   connection);
//! - [`Session::poll_timeout`]: the deadline (ms, same clock as `now`) of the reconnect timer,
//!   `None` when no timer must be armed; [`Session::handle_timeout`] when it passes;
//! - [`Session::poll_events`]: the user-visible [`StreamEvent`]s, in order.
//!
//! After [`Session::close`] or [`Session::shutdown`] no command but [`Command::Release`] and no
//! event but the one `close` comes out, and no timer is armed.

#[allow(unused_imports)]
use crate::prelude::*;

use super::parser::{Output, Parser};
use super::policy::{header_value, with_query_param, FailKind, Next, Policy, Response};
use crate::proto::backoff::{BackoffConfig, XorShift};
use crate::proto::codec::push_u64;

/// Which browser API carries the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Transport {
    /// The browser `EventSource` (cannot send headers; resumes via `lastEventIdParam`).
    #[default]
    EventSource,
    /// `fetch` + a streamed body parsed by sockline (headers, status policy, `Last-Event-ID`).
    Fetch,
}

/// `readyState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadyState {
    /// Connecting or waiting to reconnect.
    Connecting = 0,
    /// Receiving.
    Open = 1,
    /// Closed for good.
    Closed = 2,
}

/// A `message` or named event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageEvent {
    /// `message` or the event's `event:` type.
    pub event_type: String,
    /// The data (lines joined with `\n`).
    pub data: String,
    /// The last event id after this event.
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
    /// The JS `type` text.
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
    /// What went wrong.
    pub kind: ErrorKind,
    /// The HTTP status, when there was one.
    pub status: Option<u16>,
    /// A description.
    pub message: String,
}

impl core::fmt::Display for StreamError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
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
    /// The JS `reason` text.
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
    /// The response is open.
    Open,
    /// `message` and every named event.
    Message(MessageEvent),
    /// A failed or dropped connection, or an event dropped.
    Error(StreamError),
    /// A reconnect is scheduled.
    Reconnecting {
        /// Its number since the last open (1-based).
        attempt: u32,
        /// Its delay, ms.
        delay: f64,
    },
    /// `maxAttempts` reconnects failed: the stream is closed.
    GiveUp {
        /// How many were made.
        attempts: u32,
    },
    /// Closed for good.
    Close {
        /// Why.
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

/// What a session is configured with (options already checked by the face).
#[derive(Debug, Clone)]
pub struct Config {
    /// The resolved `http:`/`https:` URL.
    pub url: String,
    /// `EventSource` or `fetch`.
    pub transport: Transport,
    /// Reconnect delays.
    pub backoff: BackoffConfig,
    /// Resume after this id on the first request.
    pub last_event_id: Option<String>,
    /// The query parameter carrying the last id on `eventsource` reconnects.
    pub last_event_id_param: String,
    /// Static headers (`fetch` only).
    pub headers: Vec<(String, String)>,
    /// Whether a `getHeaders` function is called before every `fetch` attempt.
    pub get_headers: bool,
}

/// What the engine must do to the browser, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Open a browser `EventSource` on `url` for connection `gen`, listening to `names` (besides
    /// `message`, `open` and `error`). Its inputs: `handle_es_*`; if it cannot be constructed,
    /// [`Session::handle_open_failed`].
    OpenEventSource {
        /// The connection generation.
        gen: u64,
        /// The URL (with the last id parameter on a reconnect).
        url: String,
        /// Named event types to listen to.
        names: Vec<String>,
    },
    /// Call `getHeaders` for connection `gen`; answer with [`Session::handle_headers`].
    GetHeaders {
        /// The connection generation.
        gen: u64,
    },
    /// `GET url` with `headers` for connection `gen`. Its inputs: [`Session::handle_response`],
    /// then chunks, then the end or a failure; if `fetch` throws, `handle_open_failed`.
    Fetch {
        /// The connection generation.
        gen: u64,
        /// The URL.
        url: String,
        /// The request headers (`Last-Event-ID` included on a reconnect).
        headers: Vec<(String, String)>,
    },
    /// Add a native listener for the event type `name` to the `EventSource` of `gen`.
    Listen {
        /// The connection generation.
        gen: u64,
        /// The event type.
        name: String,
    },
    /// Let go of the current connection (close the `EventSource`, abort the `fetch`).
    Release,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Created; [`Session::handle_start`] not called yet.
    Idle,
    /// Waiting for `getHeaders` (fetch).
    Preparing,
    /// A connection is being made (`EventSource` or `fetch` before its head).
    Connecting,
    Open,
    /// Waiting for the reconnect timer.
    Waiting,
    Closed,
}

/// The lifecycle of one `EventStream` (see the module docs).
#[derive(Debug)]
pub struct Session {
    cfg: Config,
    policy: Policy,
    rng: XorShift,
    phase: Phase,
    gen: u64,
    /// A connection is held by the engine (released by [`Command::Release`]).
    has_conn: bool,
    /// The parser of the open `fetch` response.
    parser: Option<Parser>,
    /// Deadline of the reconnect timer.
    timer: Option<f64>,
    /// Event types listened to (registered with every `EventSource`); they grow only with the
    /// names the page asks for.
    names: Vec<String>,
    /// Plain `Vec`s: the engine takes all of each at once (no `VecDeque`, no taking from the
    /// front).
    commands: Vec<Command>,
    events: Vec<StreamEvent>,
}

impl Session {
    /// A session for `cfg`; `seed` drives the backoff jitter.
    pub fn new(cfg: Config, seed: u64) -> Session {
        let policy = Policy::new(cfg.backoff, cfg.last_event_id.clone());
        Session {
            cfg,
            policy,
            rng: XorShift::new(seed),
            phase: Phase::Idle,
            gen: 0,
            has_conn: false,
            parser: None,
            timer: None,
            names: Vec::new(),
            commands: Vec::new(),
            events: Vec::new(),
        }
    }

    /// `Connecting`, `Open` or `Closed`.
    pub fn ready_state(&self) -> ReadyState {
        match self.phase {
            Phase::Open => ReadyState::Open,
            Phase::Closed => ReadyState::Closed,
            _ => ReadyState::Connecting,
        }
    }

    /// The resolved URL.
    pub fn url(&self) -> &str {
        &self.cfg.url
    }

    /// The transport.
    pub fn transport(&self) -> Transport {
        self.cfg.transport
    }

    /// The id the next reconnect resumes after.
    pub fn last_event_id(&self) -> &str {
        self.policy.last_event_id()
    }

    /// The generation of the current (or last) connection.
    pub fn gen(&self) -> u64 {
        self.gen
    }

    /// Whether inputs of connection `gen` are still wanted (it is the current one and the stream
    /// is not closed): the engine keeps a connection it opened only then.
    pub fn is_current(&self, gen: u64) -> bool {
        gen == self.gen && self.phase != Phase::Closed
    }

    /// The event types listened to so far.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The commands for the engine, in order (all of them: the list is left empty).
    pub fn poll_commands(&mut self) -> Vec<Command> {
        core::mem::take(&mut self.commands)
    }

    /// The events for the face, in order (all of them: the list is left empty).
    pub fn poll_events(&mut self) -> Vec<StreamEvent> {
        core::mem::take(&mut self.events)
    }

    /// The deadline of the reconnect timer, if one must be armed.
    pub fn poll_timeout(&self) -> Option<f64> {
        self.timer
    }

    /// Makes the first connection (once).
    pub fn handle_start(&mut self) {
        if self.phase == Phase::Idle {
            self.connect();
        }
    }

    /// The reconnect timer's deadline passed (`now` is at or after it).
    pub fn handle_timeout(&mut self, now: f64) {
        if self.timer.is_some_and(|d| now >= d) {
            self.timer = None;
            self.connect();
        }
    }

    /// Closes for good: releases the connection, cancels the timer, emits `close {reason:
    /// 'client'}` (once).
    pub fn close(&mut self) {
        self.close_with(CloseReason::Client);
    }

    /// Like [`Self::close`] without the `close` event (the owner went away).
    pub fn shutdown(&mut self) {
        if self.phase != Phase::Closed {
            self.enter_closed();
        }
    }

    /// Makes sure events of type `name` are received (on the `eventsource` transport, a native
    /// listener now and on every reconnect). `message`, `open` and `error` always are.
    pub fn watch(&mut self, name: &str) {
        if matches!(name, "message" | "open" | "error") || self.names.iter().any(|n| n == name) {
            return;
        }
        self.names.push(name.to_string());
        if self.cfg.transport == Transport::EventSource
            && self.has_conn
            && self.phase != Phase::Closed
        {
            self.commands.push(Command::Listen {
                gen: self.gen,
                name: name.to_string(),
            });
        }
    }

    // ---- inputs of the connection ----

    /// The `EventSource` could not be constructed, or `fetch` threw: `msg` says why.
    pub fn handle_open_failed(&mut self, gen: u64, msg: &str, now: f64) {
        if !self.is_current(gen) {
            return;
        }
        self.has_conn = false;
        match self.cfg.transport {
            Transport::EventSource => {
                let err = error(ErrorKind::Network, None, &["EventSource failed: ", msg]);
                self.fatal(err);
            }
            Transport::Fetch => {
                let err = error(ErrorKind::Network, None, &["fetch failed: ", msg]);
                self.fail(err, None, now);
            }
        }
    }

    /// `getHeaders` answered for connection `gen`: extra headers, or the text of its failure.
    pub fn handle_headers(
        &mut self,
        gen: u64,
        extra: Result<Vec<(String, String)>, String>,
        now: f64,
    ) {
        if !self.is_current(gen) || self.phase != Phase::Preparing {
            return;
        }
        match extra {
            Ok(extra) => {
                self.phase = Phase::Connecting;
                self.start_fetch(extra);
            }
            Err(msg) => {
                let err = error(ErrorKind::Headers, None, &["getHeaders failed: ", &msg]);
                self.fail(err, None, now);
            }
        }
    }

    /// The `EventSource` of `gen` opened.
    pub fn handle_es_open(&mut self, gen: u64) {
        if self.is_current(gen) {
            self.opened();
        }
    }

    /// A `message` or named event of the `EventSource` of `gen`; `id` is its `lastEventId` as the
    /// browser reports it (`None`: over the cap, ignored).
    pub fn handle_es_message(
        &mut self,
        gen: u64,
        event_type: String,
        data: String,
        id: Option<&str>,
    ) {
        if self.is_current(gen) {
            self.message(event_type, data, id);
        }
    }

    /// The `EventSource` of `gen` dropped an event over the cap.
    pub fn handle_es_oversized(&mut self, gen: u64) {
        if self.is_current(gen) {
            self.events.push(oversized());
        }
    }

    /// The `EventSource` of `gen` failed or dropped.
    pub fn handle_es_error(&mut self, gen: u64, now: f64) {
        if !self.is_current(gen) {
            return;
        }
        let err = if self.phase == Phase::Open {
            error(
                ErrorKind::Ended,
                None,
                &["the event stream was interrupted"],
            )
        } else {
            error(
                ErrorKind::Network,
                None,
                &["the event stream could not be opened"],
            )
        };
        self.fail(err, None, now);
    }

    /// The head of the `fetch` response of `gen`; `retry_at`: the time (epoch ms) of an
    /// HTTP-date `Retry-After`, which `now` (epoch ms) makes a delay. Returns whether to read the
    /// body.
    pub fn handle_response(
        &mut self,
        gen: u64,
        status: u16,
        content_type: Option<&str>,
        retry_after: Option<&str>,
        retry_at: Option<f64>,
        now: f64,
    ) -> bool {
        if !self.is_current(gen) || self.phase != Phase::Connecting {
            return false;
        }
        let verdict = self.policy.on_response(
            status,
            content_type,
            retry_after,
            retry_at,
            self.cfg.get_headers,
            now,
        );
        match verdict {
            Response::Open => {
                // Like a new native EventSource: no id until the server sends one.
                self.parser = Some(Parser::new(String::new()));
                self.opened();
                return true;
            }
            Response::Close => self.close_with(CloseReason::NoContent),
            Response::Retry { retry_after } => {
                let mut m = String::from("the server answered ");
                push_u64(&mut m, u64::from(status));
                m.push_str("; retrying");
                let err = error(ErrorKind::Status, Some(status), &[&m]);
                self.fail(err, retry_after, now);
            }
            Response::RetryAuth => {
                if let Next::Reconnect { attempt, delay } = self.policy.on_auth_retry() {
                    self.release();
                    self.phase = Phase::Waiting;
                    self.timer = Some(now + delay);
                    self.events
                        .push(StreamEvent::Reconnecting { attempt, delay });
                }
            }
            Response::Fail { status, kind } => {
                let mut m = String::from("the server answered ");
                push_u64(&mut m, u64::from(status));
                let kind = match kind {
                    FailKind::ContentType => {
                        m.push_str(" with Content-Type \"");
                        m.push_str(content_type.unwrap_or_default());
                        m.push_str("\", not text/event-stream");
                        ErrorKind::ContentType
                    }
                    FailKind::Unauthorized => ErrorKind::Unauthorized,
                    FailKind::Status => ErrorKind::Status,
                };
                self.fatal(error(kind, Some(status), &[&m]));
            }
        }
        false
    }

    /// Body bytes of the `fetch` of `gen`. Returns whether to read on.
    pub fn handle_chunk(&mut self, gen: u64, bytes: &[u8]) -> bool {
        if !self.is_current(gen) || self.phase != Phase::Open {
            return false;
        }
        // (out of `self` while it feeds, so that each output is handled at once: no list)
        let Some(mut parser) = self.parser.take() else {
            return false;
        };
        parser.feed(bytes, &mut |o| match o {
            Output::Event(e) => self.message(e.event_type, e.data, Some(&e.last_event_id)),
            Output::Retry(ms) => self.policy.on_retry_field(ms),
            Output::LastEventId(id) => self.policy.on_last_event_id(&id),
            Output::Oversized => self.events.push(oversized()),
        });
        self.parser = Some(parser);
        true
    }

    /// The body of the `fetch` of `gen` ended normally.
    pub fn handle_end(&mut self, gen: u64, now: f64) {
        if self.is_current(gen) {
            let err = error(
                ErrorKind::Ended,
                None,
                &["the server ended the event stream"],
            );
            self.fail(err, None, now);
        }
    }

    /// The `fetch` of `gen` failed (network error, CORS, abort, a read error).
    pub fn handle_fetch_failed(&mut self, gen: u64, msg: &str, now: f64) {
        if self.is_current(gen) {
            let err = error(
                ErrorKind::Network,
                None,
                &["the event stream failed: ", msg],
            );
            self.fail(err, None, now);
        }
    }

    // ---- transitions ----

    fn release(&mut self) {
        self.parser = None;
        if self.has_conn {
            self.has_conn = false;
            self.commands.push(Command::Release);
        }
    }

    fn connect(&mut self) {
        self.release();
        self.timer = None;
        self.gen += 1;
        self.policy.on_connect();
        let gen = self.gen;
        match self.cfg.transport {
            Transport::EventSource => {
                let last = self.policy.last_event_id();
                let url = if last.is_empty() {
                    self.cfg.url.clone()
                } else {
                    with_query_param(&self.cfg.url, &self.cfg.last_event_id_param, last)
                };
                self.phase = Phase::Connecting;
                self.has_conn = true;
                self.commands.push(Command::OpenEventSource {
                    gen,
                    url,
                    names: self.names.clone(),
                });
            }
            Transport::Fetch if self.cfg.get_headers => {
                self.phase = Phase::Preparing;
                self.commands.push(Command::GetHeaders { gen });
            }
            Transport::Fetch => {
                self.phase = Phase::Connecting;
                self.start_fetch(Vec::new());
            }
        }
    }

    fn start_fetch(&mut self, mut extra: Vec<(String, String)>) {
        let mut headers = Vec::new();
        for (k, v) in &self.cfg.headers {
            headers.push((k.clone(), v.clone()));
        }
        headers.append(&mut extra);
        let last = self.policy.last_event_id();
        if !last.is_empty() {
            headers.push(("Last-Event-ID".into(), header_value(last)));
        }
        self.has_conn = true;
        self.commands.push(Command::Fetch {
            gen: self.gen,
            url: self.cfg.url.clone(),
            headers,
        });
    }

    fn opened(&mut self) {
        self.phase = Phase::Open;
        self.policy.on_open();
        self.events.push(StreamEvent::Open);
    }

    /// Routes one event through the de-duplication rule shared by both transports
    /// ([`Policy::on_event`]).
    fn message(&mut self, event_type: String, data: String, id: Option<&str>) {
        if let Some(last_event_id) = self.policy.on_event(id) {
            self.events.push(StreamEvent::Message(MessageEvent {
                event_type,
                data,
                last_event_id,
            }));
        }
    }

    /// A failure of the current connection: `error`, then a scheduled reconnect or `giveUp` +
    /// `close`.
    fn fail(&mut self, err: StreamError, retry_after: Option<f64>, now: f64) {
        self.release();
        self.phase = Phase::Waiting;
        self.events.push(StreamEvent::Error(err));
        let (u, u2) = (self.rng.next_f64(), self.rng.next_f64());
        match self.policy.on_failure(retry_after, u, u2) {
            Next::Reconnect { attempt, delay } => {
                self.timer = Some(now + delay);
                self.events
                    .push(StreamEvent::Reconnecting { attempt, delay });
            }
            Next::GiveUp { attempts } => {
                self.events.push(StreamEvent::GiveUp { attempts });
                self.close_with(CloseReason::GiveUp);
            }
        }
    }

    /// A non-retryable failure: `error`, then `close {reason: 'error'}`.
    fn fatal(&mut self, err: StreamError) {
        self.events.push(StreamEvent::Error(err));
        self.close_with(CloseReason::Error);
    }

    fn close_with(&mut self, reason: CloseReason) {
        if self.phase == Phase::Closed {
            return;
        }
        self.enter_closed();
        self.events.push(StreamEvent::Close { reason });
    }

    fn enter_closed(&mut self) {
        self.release();
        self.phase = Phase::Closed;
        self.timer = None;
        self.gen += 1;
        // (only the `Release`s stay, all alike: counted and pushed again, no `retain` code)
        let mut releases = 0;
        for c in &self.commands {
            releases += usize::from(matches!(c, Command::Release));
        }
        self.commands.clear();
        for _ in 0..releases {
            self.commands.push(Command::Release);
        }
    }
}

fn error(kind: ErrorKind, status: Option<u16>, parts: &[&str]) -> StreamError {
    StreamError {
        kind,
        status,
        message: {
            let mut m = String::new();
            for p in parts {
                m.push_str(p);
            }
            m
        },
    }
}

fn oversized() -> StreamEvent {
    StreamEvent::Error(error(
        ErrorKind::Oversized,
        None,
        &["an event over 1048576 bytes was dropped"],
    ))
}
